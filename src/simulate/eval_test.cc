#include "simulate/eval.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/time.h"

namespace vigil::sim {
namespace {

constexpr char kOrg[] = R"({"accounts":[{"id":"111122223333"}],
 "users":[{"arn":"arn:aws:iam::111122223333:user/alice","access_key":"AKIAALICE0000000000","office_ip":"81.2.69.10"},
          {"arn":"arn:aws:iam::111122223333:user/bob","access_key":"AKIABOB00000000000"},
          {"arn":"arn:aws:iam::444455556666:user/bob","access_key":"AKIABOB11111111111"}],
 "instances":[{"id":"i-0aaa","eni":"eni-0aaa","private_ip":"10.0.0.5","public_ip":"3.3.3.3",
               "role":"arn:aws:iam::111122223333:role/app-api"},
              {"id":"i-0bbb","eni":"eni-0bbb","private_ip":"10.0.0.6","public_ip":"",
               "role":"arn:aws:iam::111122223333:role/ops/worker"}],
 "buckets":[]})";

int64_t T(const char* s) { return *ParseTimestamp(s); }

std::vector<AttackLabel> Labels() {
  auto labels = ReadLabelsJsonl(
      R"({"id":"trail-stopped-1","scenario":"trail-stopped","finding_type":"Stealth:IAMUser/CloudTrailLoggingDisabled","entity_type":"principal","entity":"arn:aws:iam::111122223333:user/alice","account":"111122223333","start":"2025-03-05T10:00:00Z","end":"2025-03-05T10:01:00Z","log_types":["cloudtrail"],"records":3}
{"id":"portscan-from-instance-1","scenario":"portscan-from-instance","finding_type":"Recon:EC2/Portscan","entity_type":"instance","entity":"i-0aaa","account":"111122223333","start":"2025-03-06T12:00:00Z","end":"2025-03-06T12:05:00Z","log_types":["vpcflow"],"records":1000}
)");
  EXPECT_TRUE(labels.ok()) << labels.status().ToString();
  return labels.ok() ? *labels : std::vector<AttackLabel>{};
}

LabelMatcher Matcher() {
  auto m = LabelMatcher::FromOrgJson(kOrg);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : *LabelMatcher::FromOrgJson(R"({"instances":[]})");
}

bool Matches(const EvalAlert& a, const AttackLabel& l, const LabelMatcher& m) {
  return m.Matches(l, a.entity, a.first_seen_ns, a.last_seen_ns);
}

EvalAlert Alert(std::string entity, const char* first, const char* last, std::string severity = "high") {
  EvalAlert a;
  a.rule_id = "r-" + entity;
  a.title = "rule about " + entity;
  a.entity = std::move(entity);
  a.severity = std::move(severity);
  a.first_seen_ns = T(first);
  a.last_seen_ns = T(last);
  a.match = R"({"detector":"x"})";
  return a;
}

TEST(EvalTest, UsersGoByTheirKeyAndAnUnsharedName) {
  const LabelMatcher m = Matcher();
  AttackLabel alice;
  alice.entity_type = "principal";
  alice.entity = "arn:aws:iam::111122223333:user/alice";
  const auto names = m.EntityNames(alice);
  EXPECT_NE(std::find(names.begin(), names.end(), "alice"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "AKIAALICE0000000000"), names.end());
  // A name two accounts share names neither user; the key still does.
  AttackLabel bob = alice;
  bob.entity = "arn:aws:iam::444455556666:user/bob";
  const auto bob_names = m.EntityNames(bob);
  EXPECT_EQ(std::find(bob_names.begin(), bob_names.end(), "bob"), bob_names.end());
  EXPECT_NE(std::find(bob_names.begin(), bob_names.end(), "AKIABOB11111111111"), bob_names.end());
}

TEST(EvalTest, MatchNeedsTheEntityAndTheWindow) {
  const auto labels = Labels();
  ASSERT_EQ(labels.size(), 2u);
  const LabelMatcher m = Matcher();  // 1h slack
  const AttackLabel& trail = labels[0];
  EXPECT_TRUE(Matches(Alert("arn:aws:iam::111122223333:user/alice", "2025-03-05T10:00:30Z",
                                      "2025-03-05T10:00:30Z"), trail, m));
  // By an alias, and inside the slack after the window's end.
  EXPECT_TRUE(Matches(Alert("AKIAALICE0000000000", "2025-03-05T10:55:00Z", "2025-03-05T10:55:00Z"), trail, m));
  // Another entity in the window does not count.
  EXPECT_FALSE(Matches(Alert("arn:aws:iam::111122223333:user/bob", "2025-03-05T10:00:30Z",
                                       "2025-03-05T10:00:30Z"), trail, m));
  // The right entity outside the window does not count: before it, or after the slack.
  EXPECT_FALSE(Matches(Alert("alice", "2025-03-05T08:00:00Z", "2025-03-05T09:59:59Z"), trail, m));
  EXPECT_FALSE(Matches(Alert("alice", "2025-03-05T11:01:01Z", "2025-03-05T11:30:00Z"), trail, m));
  // An alert spanning the window counts (it was open while the attack ran).
  EXPECT_TRUE(Matches(Alert("alice", "2025-03-05T09:30:00Z", "2025-03-05T10:30:00Z"), trail, m));
  // A rule keyed on several fields: any part naming the instance counts.
  const AttackLabel& scan = labels[1];
  EXPECT_TRUE(Matches(Alert("198.51.100.7, 10.0.0.5", "2025-03-06T12:01:00Z", "2025-03-06T12:01:00Z"), scan, m));
  EXPECT_FALSE(Matches(Alert("198.51.100.7, 10.0.0.6", "2025-03-06T12:01:00Z", "2025-03-06T12:01:00Z"), scan, m));
  // A part must be the whole alias, not a piece of it.
  EXPECT_FALSE(Matches(Alert("10.0.0.50", "2025-03-06T12:01:00Z", "2025-03-06T12:01:00Z"), scan, m));
}

TEST(EvalTest, ReportCountsRecallPrecisionAndFalseAlerts) {
  const auto labels = Labels();
  const LabelMatcher m = Matcher();
  std::vector<EvalAlert> alerts;
  alerts.push_back(Alert("alice", "2025-03-05T10:00:40Z", "2025-03-05T10:00:50Z"));  // detects label 0 after 40 s
  alerts.push_back(Alert("arn:aws:iam::111122223333:user/alice", "2025-03-05T10:00:20Z", "2025-03-05T10:00:20Z"));
  alerts.push_back(Alert("arn:aws:iam::111122223333:user/bob", "2025-03-05T10:00:20Z", "2025-03-05T10:00:20Z"));
  alerts.push_back(Alert("eni-0bbb", "2025-03-06T12:01:00Z", "2025-03-06T12:01:00Z"));  // another instance: false
  // Compliance and informational alerts are neither detections nor false alerts.
  EvalAlert cis = Alert("eni-0aaa", "2025-03-06T12:01:00Z", "2025-03-06T12:01:00Z");
  cis.tags = {"cis.aws.4.10"};
  alerts.push_back(cis);
  alerts.push_back(Alert("bob", "2025-03-07T00:00:00Z", "2025-03-07T00:00:00Z", "informational"));
  EvalAlert unexplained = Alert("10.0.0.99", "2025-03-07T00:00:00Z", "2025-03-07T00:00:00Z", "low");
  unexplained.match.clear();
  alerts.push_back(unexplained);

  const EvalReport r = Evaluate(labels, m, alerts, /*events=*/1'001'003);
  ASSERT_EQ(r.labels.size(), 2u);
  EXPECT_TRUE(r.labels[0].detected);
  EXPECT_EQ(r.labels[0].time_to_detect_ns, 20LL * 1'000'000'000);  // the earliest matching alert
  EXPECT_EQ(r.labels[0].rules.size(), 2u);
  EXPECT_FALSE(r.labels[1].detected);
  EXPECT_EQ(r.detected, 1u);
  EXPECT_DOUBLE_EQ(r.recall, 0.5);
  EXPECT_EQ(r.detections, 5u);
  EXPECT_EQ(r.not_counted, 2u);
  EXPECT_EQ(r.true_alerts, 2u);
  EXPECT_EQ(r.false_alerts, 3u);
  EXPECT_DOUBLE_EQ(r.precision, 0.4);
  EXPECT_EQ(r.attack_records, 1003u);
  EXPECT_EQ(r.benign_events, 1'000'000u);
  EXPECT_DOUBLE_EQ(r.false_per_million, 3.0);
  EXPECT_EQ(r.explained, 4u);
  const std::string json = EvalReportJson(r);
  EXPECT_NE(json.find("\"scenarios\":2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"all_explained\":false"), std::string::npos) << json;
}

TEST(EvalTest, BadInputsAreErrorsNamingTheLine) {
  auto bad = ReadLabelsJsonl("{\"id\":\"a\",\"entity\":\"x\",\"start\":\"2025-03-05T10:00:00Z\",\"end\":\"2025-03-05T10:00:00Z\"}\n"
                             "{\"id\":\"b\",\"entity\":\"x\",\"start\":\"yesterday\",\"end\":\"2025-03-05T10:00:00Z\"}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("labels.jsonl:2"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(ReadLabelsJsonl("not json\n").ok());
  EXPECT_FALSE(LabelMatcher::FromOrgJson("{\"users\":[]}").ok());
  EXPECT_FALSE(LabelMatcher::FromOrgJson("[").ok());
  EXPECT_FALSE(LabelMatcher::FromOrgJson(R"({"instances":[],"users":[{"mfa":true}]})").ok());
}

}  // namespace
}  // namespace vigil::sim
