// The logsource map: the built-in data file loads and is consistent, a map
// with mistakes is refused with a reason, and rules compile through it (field
// renames, value rewrites, log types, lint notes, unsupported logsources).
#include <gtest/gtest.h>

#include <string>

#include "detect/sigma/logsource_map.h"
#include "detect/sigma/rule.h"
#include "detect/sigma/rule_set.h"
#include "detect/sigma/sigma_detector.h"
#include "event/json_fields.h"

namespace vigil {
namespace {

std::shared_ptr<const SigmaRule> Rule(const std::string& logsource, const std::string& detection) {
  auto r = SigmaRule::Parse("title: t\nid: t\nlogsource: " + logsource + "\ndetection:\n" + detection);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : nullptr;
}

Event MakeEvent(std::string_view type, std::string_view json) {
  Event e;
  auto f = ParseJsonFields(json);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  if (f.ok()) e.fields = *f;
  e.source_type = std::string(type);
  return e;
}

TEST(LogsourceMap, BuiltinLoads) {
  auto parsed = LogsourceMap::Parse(LogsourceMap::BuiltinText());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const LogsourceMap& map = LogsourceMap::Builtin();
  EXPECT_EQ(map.entries().size(), parsed->entries().size());
  const LogsourceMapping* dns = map.Find("", "DNS", "");
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(dns->log_type, "route53resolver");
  EXPECT_EQ(dns->fields.at("query").field, "query_domain");
  for (const char* category : {"firewall", "network_connection"}) {
    const LogsourceMapping* m = map.Find("", category, "");
    ASSERT_NE(m, nullptr) << category;
    EXPECT_EQ(m->log_type, "vpcflow");
  }
  ASSERT_NE(map.Find("", "webserver", ""), nullptr);
  EXPECT_EQ(map.Find("", "webserver", "")->log_type, "alb");
  EXPECT_EQ(map.Find("aws", "", "cloudtrail")->log_type, "cloudtrail");
  EXPECT_FALSE(map.Find("aws", "", "cloudtrail")->maps_fields);
  for (const char* type : {"route53resolver", "vpcflow", "alb", "s3access"}) {
    const LogsourceMapping* m = map.Find("aws", "", type);
    ASSERT_NE(m, nullptr) << type;
    EXPECT_EQ(m->log_type, type);
    EXPECT_FALSE(m->maps_fields) << type;
  }
  // An absent key matches only an absent key.
  EXPECT_EQ(map.Find("linux", "dns", ""), nullptr);
  EXPECT_EQ(map.Find("", "process_creation", ""), nullptr);
  // Unsupported entries cover every logsource with their keys.
  ASSERT_NE(map.Find("windows", "network_connection", "sysmon"), nullptr);
  EXPECT_FALSE(map.Find("windows", "network_connection", "")->unsupported.empty());
  ASSERT_NE(map.Find("zeek", "", "http"), nullptr);
  EXPECT_FALSE(map.Find("zeek", "", "http")->unsupported.empty());
  // Every mapping reads a field its log type lists (Parse checks it; the
  // built-in map passes that check, so each entry with fields has a list).
  for (const LogsourceMapping& m : map.entries())
    for (const auto& [sigma, fm] : m.fields) EXPECT_TRUE(m.IsLogField(fm.field)) << m.Describe() << " " << sigma;
}

TEST(LogsourceMap, MistakesAreRefusedWithTheReason) {
  const std::string types = "log_types:\n  vpcflow:\n    fields: [dstport, action]\n";
  auto error = [&](const std::string& yaml) {
    auto r = LogsourceMap::Parse(yaml);
    return r.ok() ? std::string("(parsed)") : r.status().message();
  };
  EXPECT_NE(error(types + "logsources:\n  - logsource: {category: firewall}\n    log_type: dns\n")
                .find("log type `dns` is not listed under `log_types`"),
            std::string::npos);
  EXPECT_NE(error(types + "logsources:\n  - logsource: {category: firewall}\n    log_type: vpcflow\n"
                          "    fields: {dst_port: dest_port}\n")
                .find("logsources[0].fields.dst_port maps onto `dest_port`, which is not a vpcflow field"),
            std::string::npos);
  EXPECT_NE(error(types + "logsources:\n  - logsource: {category: firewall}\n    log_type: vpcflow\n    colour: red\n")
                .find("logsources[0]: unknown key `colour`"),
            std::string::npos);
  EXPECT_NE(error(types + "logsources:\n  - logsource: {category: firewall}\n    log_type: vpcflow\n"
                          "  - logsource: {category: FIREWALL}\n    log_type: vpcflow\n")
                .find("a second entry for category: firewall"),
            std::string::npos);
  EXPECT_NE(error(types + "unsupported:\n  - logsource: {product: zeek}\n").find("needs a `reason`"),
            std::string::npos);
  EXPECT_NE(error("logsources: [").find("not valid YAML"), std::string::npos);
}

TEST(LogsourceMap, DnsRuleReadsTheQueryWithoutTrailingDot) {
  auto rule = Rule("{category: dns}",
                   "    sel:\n        query: api.telegram.org\n        record_type: A\n    condition: sel\n");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->log_type(), "route53resolver");
  EXPECT_TRUE(rule->logsource_notes().empty());
  EXPECT_TRUE(rule->Matches(MakeEvent("route53resolver", R"({"query_domain":"api.telegram.org","query_type":"A"})")));
  EXPECT_FALSE(rule->Matches(MakeEvent("route53resolver", R"({"query":"api.telegram.org","query_type":"A"})")));
}

TEST(LogsourceMap, FirewallValuesAreRewrittenToTheFlowLogs) {
  auto rule = Rule("{category: firewall}",
                   "    sel:\n        dst_port: 23\n        action: [allow, forward, 2]\n        protocol: tcp\n"
                   "    condition: sel\n");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->log_type(), "vpcflow");
  EXPECT_TRUE(rule->Matches(MakeEvent("vpcflow", R"({"dstport":23,"action":"ACCEPT","protocol":6})")));
  EXPECT_FALSE(rule->Matches(MakeEvent("vpcflow", R"({"dstport":23,"action":"REJECT","protocol":6})")));
  EXPECT_FALSE(rule->Matches(MakeEvent("vpcflow", R"({"dstport":23,"action":"ACCEPT","protocol":17})")));
  // `blocked` is read from the action.
  auto blocked = Rule("{category: firewall}", "    sel:\n        blocked: 'true'\n    condition: sel\n");
  ASSERT_TRUE(blocked);
  EXPECT_TRUE(blocked->Matches(MakeEvent("vpcflow", R"({"action":"REJECT"})")));
  EXPECT_FALSE(blocked->Matches(MakeEvent("vpcflow", R"({"action":"ACCEPT"})")));
  // With a modifier the value is compared as written, and lint says so.
  auto contains = Rule("{category: firewall}", "    sel:\n        action|contains: allow\n    condition: sel\n");
  ASSERT_TRUE(contains);
  ASSERT_EQ(contains->logsource_notes().size(), 1u);
  EXPECT_NE(contains->logsource_notes()[0].find("values are compared as written"), std::string::npos);
}

TEST(LogsourceMap, WebserverFieldsReadTheLoadBalancerRequest) {
  auto rule = Rule("{category: webserver}",
                   "    sel:\n        cs-method: GET\n        cs-uri-query|contains: '../../../etc/'\n"
                   "    filter:\n        sc-status: 404\n    condition: sel and not filter\n");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->log_type(), "alb");
  EXPECT_TRUE(rule->Matches(MakeEvent(
      "alb", R"({"request_verb":"GET","request_uri":"/x?f=../../../etc/passwd","elb_status_code":200})")));
  EXPECT_FALSE(rule->Matches(MakeEvent(
      "alb", R"({"request_verb":"GET","request_uri":"/x?f=../../../etc/passwd","elb_status_code":404})")));
}

TEST(LogsourceMap, UnmappedFieldsAreNotedForLint) {
  auto rule = Rule("{category: webserver}",
                   "    sel:\n        cs-referer: null\n        cs-user-agent: null\n        request_verb: POST\n"
                   "    condition: sel\n");
  ASSERT_TRUE(rule);
  // cs-referer has no mapping (load balancers do not log it); request_verb is
  // the log type's own field and needs none.
  ASSERT_EQ(rule->logsource_notes().size(), 1u);
  EXPECT_EQ(rule->logsource_notes()[0],
            "field `cs-referer` has no mapping for category: webserver and is not a field of log type alb, so it "
            "never has a value there");
  RuleSet set;
  LintReport report;
  set.AddRuleText("title: t\nid: t\nlogsource: {category: dns}\ndetection:\n    sel:\n        parent_domain: x\n"
                  "    condition: sel\n",
                  "dns.yml", &report);
  EXPECT_EQ(report.loaded, 1u);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_EQ(report.warnings[0].reason,
            "logsource: field `parent_domain` has no mapping for category: dns and is not a field of log type "
            "route53resolver, so it never has a value there");
}

TEST(LogsourceMap, HostOnlyLogsourcesAreUnsupported) {
  auto r = SigmaRule::Parse(
      "title: t\nid: t\nlogsource: {product: windows, category: network_connection}\ndetection:\n"
      "    sel:\n        DestinationPort: 4444\n        Initiated: 'true'\n    condition: sel\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("logsource product: windows, category: network_connection: needs the host"),
            std::string::npos)
      << r.status().message();
  // Without a product the category maps onto flow logs; Initiated has no
  // counterpart there.
  auto generic = Rule("{category: network_connection}",
                      "    sel:\n        DestinationPort: 4444\n        Initiated: 'true'\n    condition: sel\n");
  ASSERT_TRUE(generic);
  EXPECT_EQ(generic->log_type(), "vpcflow");
  ASSERT_EQ(generic->logsource_notes().size(), 1u);
  EXPECT_NE(generic->logsource_notes()[0].find("`Initiated`"), std::string::npos);
}

TEST(LogsourceMap, AggregationFieldsAreMappedToo) {
  auto docs = ParseSigmaFile(
      "title: t\nid: t\nlogsource: {category: dns}\ndetection:\n    sel:\n        record_type: TXT\n"
      "    timeframe: 1m\n    condition: sel | count() by src_ip > 50\n");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  ASSERT_TRUE((*docs)[0].rule && (*docs)[1].correlation);
  EXPECT_EQ((*docs)[0].rule->log_type(), "route53resolver");
  EXPECT_EQ((*docs)[1].correlation->group_by(), (std::vector<std::string>{"srcaddr"}));
}

TEST(LogsourceMap, CategoryRulesRunOnlyOnTheirLogType) {
  // Keywords look at every value of an event: without the log type a DNS
  // rule would match a CloudTrail record that mentions the domain.
  auto dns = Rule("{category: dns}", "    keywords:\n        - api.telegram.org\n    condition: keywords\n");
  ASSERT_TRUE(dns);
  SigmaDetector det({dns});
  auto fired = [&](std::string_view type) {
    size_t n = 0;
    det.Process(MakeEvent(type, R"({"eventName":"GetObject","query_domain":"api.telegram.org"})"),
                [&](const Event&, const Match&) { ++n; });
    return n;
  };
  EXPECT_EQ(fired("route53resolver"), 1u);
  EXPECT_EQ(fired("cloudtrail"), 0u);
  EXPECT_EQ(fired("alb"), 0u);
}

}  // namespace
}  // namespace vigil
