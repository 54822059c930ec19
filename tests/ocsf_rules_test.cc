// Rules and hunts that name OCSF attributes (`ocsf.` paths) find the same
// sample events their raw-field twins find: the OCSF form is reached through
// the event's field resolver, so Sigma rules, CloudWatch Logs filter patterns
// and hunt queries all get it.
#include <gtest/gtest.h>

#include <filesystem>

#include "detect/cloudwatch/filter_pattern.h"
#include "detect/sigma/rule.h"
#include "formats/test_sink.h"
#include "ocsf/normalizer.h"
#include "query/matcher.h"
#include "query/parser.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
const std::string kData = VIGIL_SHARED_DATA;

std::vector<Event> Load(const std::string& path) {
  std::vector<Event> out;
  std::vector<fs::path> files;
  if (fs::is_directory(path)) {
    for (const auto& e : fs::directory_iterator(path)) files.push_back(e.path());
  } else {
    files.push_back(path);
  }
  for (const auto& f : files) {
    const std::string text = testing::ReadFile(f);
    auto c = testing::ParseAs(testing::RecognisedAs(text), text);
    EXPECT_TRUE(c.dead.empty()) << f;
    for (auto& e : c.events) {
      ocsf::AttachOcsf(&e);
      out.push_back(std::move(e));
    }
  }
  return out;
}

const std::string kStratus = kData + "/cloudtrail/stratus-red-team/docs/detonation-logs";

size_t SigmaMatches(const std::string& yaml, const std::vector<Event>& events) {
  auto rule = SigmaRule::Parse(yaml);
  EXPECT_TRUE(rule.ok()) << rule.status().ToString();
  if (!rule.ok()) return 0;
  size_t n = 0;
  for (const auto& e : events) n += (*rule)->Matches(e);
  return n;
}

size_t HuntMatches(std::string_view query, const std::vector<Event>& events) {
  auto q = ParseQuery(query);
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  if (!q.ok()) return 0;
  auto m = Matcher::Compile(q->search);
  EXPECT_TRUE(m.ok());
  size_t n = 0;
  for (const auto& e : events) n += m->Matches(*e.fields);
  return n;
}

TEST(OcsfRules, SigmaRuleOnOcsfFieldsFiresOnTheConsoleLoginWithoutMfa) {
  const auto events = Load(kStratus);
  ASSERT_GT(events.size(), 300u);
  const std::string rule = R"(title: Console sign-in without MFA (OCSF attributes)
id: 0f1c2d3e-4b5a-4c6d-8e7f-901234567890
status: test
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    ocsf.class_uid: 3002
    ocsf.status: Success
    ocsf.is_mfa: 'false'
  condition: selection
level: medium
)";
  EXPECT_EQ(SigmaMatches(rule, events), 1u);
  // The same rule on raw fields agrees.
  const std::string raw_rule = R"(title: Console sign-in without MFA (raw fields)
id: 1f1c2d3e-4b5a-4c6d-8e7f-901234567890
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventName: ConsoleLogin
    responseElements.ConsoleLogin: Success
    additionalEventData.MFAUsed: 'No'
  condition: selection
)";
  EXPECT_EQ(SigmaMatches(raw_rule, events), 1u);
}

TEST(OcsfRules, SigmaRuleOnOcsfNetworkFieldsOverFlowLogs) {
  const auto events = Load(kData + "/vpcflow/awsdocs-examples.log");
  size_t rejected_ssh_or_rdp = 0;
  for (const auto& e : events)
    rejected_ssh_or_rdp += e.FirstString(FieldPath("action")) == "REJECT" &&
                           (e.FirstString(FieldPath("dstport")) == "22" || e.FirstString(FieldPath("dstport")) == "3389");
  ASSERT_GT(rejected_ssh_or_rdp, 0u);
  // The generic firewall logsource maps onto flow logs; OCSF attributes need
  // no field mapping there.
  const std::string rule = R"(title: Blocked remote administration (OCSF)
id: 2f1c2d3e-4b5a-4c6d-8e7f-901234567890
logsource: {category: firewall}
detection:
  selection:
    ocsf.disposition: Blocked
    ocsf.dst_endpoint.port: [22, 3389]
    ocsf.src_endpoint.ip|cidr: ['172.16.0.0/12', '203.0.113.0/24']
  condition: selection
)";
  size_t want = 0;
  for (const auto& e : events) {
    const std::string src = e.FirstString(FieldPath("srcaddr"));
    want += e.FirstString(FieldPath("action")) == "REJECT" &&
            (e.FirstString(FieldPath("dstport")) == "22" || e.FirstString(FieldPath("dstport")) == "3389") &&
            (src.rfind("172.31.", 0) == 0 || src.rfind("203.0.113.", 0) == 0);
  }
  EXPECT_EQ(SigmaMatches(rule, events), want);
  EXPECT_GT(want, 0u);
  auto parsed = SigmaRule::Parse(rule);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE((*parsed)->logsource_notes().empty()) << (*parsed)->logsource_notes().front();
}

TEST(OcsfRules, CloudWatchPatternOnOcsfFields) {
  const auto events = Load(kStratus);
  auto p = FilterPattern::Parse(R"({ ($.ocsf.class_uid = 6003) && ($.ocsf.api.operation = "DeleteTrail") })");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto raw = FilterPattern::Parse(R"({ $.eventName = "DeleteTrail" })");
  ASSERT_TRUE(raw.ok());
  size_t n = 0, want = 0;
  for (const auto& e : events) {
    n += p->Matches(*e.fields);
    want += raw->Matches(*e.fields);
  }
  EXPECT_GT(want, 0u);
  EXPECT_EQ(n, want);
}

TEST(OcsfRules, HuntQueriesOnOcsfFields) {
  const auto events = Load(kStratus);
  EXPECT_EQ(HuntMatches("ocsf.class_uid=3002", events), 1u);
  EXPECT_EQ(HuntMatches("ocsf.api.operation=DeleteTrail", events), HuntMatches("eventName=DeleteTrail", events));
  EXPECT_GT(HuntMatches("ocsf.api.operation=DeleteTrail", events), 0u);
  // The anonymised addresses are nowhere in the OCSF form but in unmapped.invalid.
  const size_t bad = HuntMatches("ocsf.unmapped.invalid.attribute=\"src_endpoint.ip\"", events);
  EXPECT_GT(bad, 100u);
  EXPECT_EQ(HuntMatches("ocsf.src_endpoint.ip=*", events) + bad, events.size() -
                                                                     HuntMatches("ocsf.src_endpoint.domain=*", events));
  EXPECT_EQ(HuntMatches("ocsf.actor.user.type=AssumedRole", events), HuntMatches("userIdentity.type=AssumedRole", events));
}

}  // namespace
}  // namespace vigil
