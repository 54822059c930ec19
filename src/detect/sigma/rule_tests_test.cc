#include "detect/sigma/rule_tests.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/time.h"
#include "event/json_fields.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

Result<Event> MakeEvent(const std::string& json) {
  VIGIL_ASSIGN_OR_RETURN(auto fields, ParseJsonFields(json));
  Event e;
  e.raw = json;
  e.fields = fields;
  e.principal = e.FirstString(FieldPath("userIdentity.arn"));
  if (auto t = ParseTimestamp(e.FirstString(FieldPath("eventTime")))) e.time_ns = *t;
  return e;
}

class RuleTestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil_rule_tests_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "sub");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  fs::path dir_;
};

constexpr char kRule[] = R"(title: Trail stopped
id: trail-stopped
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: StopLogging
    condition: selection
rollup_window: 1h
)";

// A correlation's sequence fixture runs its events through the correlation
// engine; a correlation without one fails.
TEST_F(RuleTestsTest, CorrelationFixturesRunAndAreRequired) {
  const std::string corr = std::string(kRule) + R"(---
title: Trail stopped twice
id: stopped-twice
correlation:
    type: event_count
    rules: [trail-stopped]
    group-by: [userIdentity.arn]
    timespan: 10m
    condition: {gte: 2}
)";
  Write("sub/twice.yml", corr);
  Write("sub/twice.tests.yml", R"(
- name: twice within ten minutes
  correlation: stopped-twice
  alerts: 1
  events:
    - {eventName: StopLogging, eventTime: '2024-07-31T13:00:00Z', userIdentity: {arn: a}}
    - {eventName: StopLogging, eventTime: '2024-07-31T13:09:00Z', userIdentity: {arn: a}}
- name: too far apart
  correlation: stopped-twice
  alerts: 0
  events:
    - {eventName: StopLogging, eventTime: '2024-07-31T13:00:00Z', userIdentity: {arn: a}}
    - {eventName: StopLogging, eventTime: '2024-07-31T13:11:00Z', userIdentity: {arn: a}}
- name: wrong on purpose
  correlation: stopped-twice
  alerts: 1
  events:
    - {eventName: StopLogging, eventTime: '2024-07-31T13:00:00Z', userIdentity: {arn: a}}
    - {eventName: StopLogging, eventTime: '2024-07-31T13:01:00Z', userIdentity: {arn: b}}
- name: unknown correlation
  correlation: nope
  alerts: 0
  events: []
)");
  std::string other = kRule;
  other.replace(other.find("trail-stopped"), 13, "trail-stopped-2");
  Write("unfixtured.yml", other + "---\ntitle: t\nid: no-fixture\ncorrelation:\n    type: event_count\n"
                              "    rules: [trail-stopped-2]\n    timespan: 1h\n    condition: {gte: 2}\n");
  auto results = RunRuleTests(dir_.string(), MakeEvent);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  std::map<std::string, RuleTestResult> by_case;
  for (const auto& r : *results) by_case[r.case_name] = r;
  EXPECT_TRUE(by_case["twice within ten minutes"].passed) << by_case["twice within ten minutes"].detail;
  EXPECT_EQ(by_case["twice within ten minutes"].rule, "stopped-twice");
  EXPECT_TRUE(by_case["too far apart"].passed) << by_case["too far apart"].detail;
  EXPECT_FALSE(by_case["wrong on purpose"].passed);
  EXPECT_EQ(by_case["wrong on purpose"].detail, "expected 1 alerts, got 0 (0 firings over 2 events)");
  EXPECT_FALSE(by_case["unknown correlation"].passed);
  ASSERT_TRUE(by_case.count("(fixture)"));
  EXPECT_EQ(by_case["(fixture)"].rule, "no-fixture");
  EXPECT_FALSE(by_case["(fixture)"].passed);
}

TEST_F(RuleTestsTest, PassAndFailCases) {
  Write("sub/stop.yml", kRule);
  Write("sub/stop.tests.yml", R"(
- name: stop matches
  expect: match
  event:
    eventName: StopLogging
    eventTime: '2024-07-31T13:06:24Z'
    userIdentity: {arn: 'arn:aws:iam::1:user/a'}
- name: start does not match
  expect: no_match
  event: {eventName: StartLogging}
- name: wrong on purpose
  expect: match
  event: {eventName: StartLogging}
- name: two principals, two windows
  alerts: 3
  events:
    - {eventName: StopLogging, eventTime: '2024-07-31T13:00:00Z', userIdentity: {arn: a}}
    - {eventName: StopLogging, eventTime: '2024-07-31T13:59:59Z', userIdentity: {arn: a}}
    - {eventName: StopLogging, eventTime: '2024-07-31T14:00:00Z', userIdentity: {arn: a}}
    - {eventName: StopLogging, eventTime: '2024-07-31T13:10:00Z', userIdentity: {arn: b}}
    - {eventName: StartLogging, eventTime: '2024-07-31T13:10:00Z', userIdentity: {arn: c}}
- name: numbers and nulls convert
  expect: match
  event: {eventName: StopLogging, n: 5, f: 1.5, b: true, z: null, q: '5'}
- name: bad alerts
  alerts: 1
  events:
    - {eventName: StartLogging}
)");
  Write("plain.yml", "title: x\nid: plain\nlogsource: {}\ndetection:\n    s: {a: 1}\n    condition: s\n");
  auto results = RunRuleTests(dir_.string(), MakeEvent);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 6u);
  const auto& r = *results;
  EXPECT_TRUE(r[0].passed) << r[0].detail;
  EXPECT_EQ(r[0].rule, "trail-stopped");
  EXPECT_EQ(r[0].case_name, "stop matches");
  EXPECT_TRUE(r[1].passed) << r[1].detail;
  EXPECT_FALSE(r[2].passed);
  EXPECT_EQ(r[2].detail, "expected a match, got no match");
  EXPECT_TRUE(r[3].passed) << r[3].detail;
  EXPECT_TRUE(r[4].passed) << r[4].detail;
  EXPECT_FALSE(r[5].passed);
  EXPECT_NE(r[5].detail.find("expected 1 alerts, got 0"), std::string::npos) << r[5].detail;
  EXPECT_EQ(
      r[2].ToJson(),
      R"({"rule":"trail-stopped","case":"wrong on purpose","passed":false,"detail":"expected a match, got no match"})");
}

TEST_F(RuleTestsTest, BrokenTestsFileIsOneFailure) {
  Write("stop.yml", kRule);
  Write("stop.tests.yml", "- name: [unclosed\n");
  auto results = RunRuleTests(dir_.string(), MakeEvent);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_FALSE((*results)[0].passed);
  EXPECT_EQ((*results)[0].case_name, "(tests file)");
}

TEST_F(RuleTestsTest, BrokenRuleAndMissingPath) {
  Write("bad.yml", "title: bad\nid: bad\ndetection:\n    condition: nothing\n");
  auto results = RunRuleTests(dir_.string(), MakeEvent);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].case_name, "(load)");
  EXPECT_FALSE((*results)[0].passed);
  EXPECT_EQ(RunRuleTests((dir_ / "missing").string(), MakeEvent).status().code(), StatusCode::kNotFound);
}

TEST_F(RuleTestsTest, EventBuildFailureIsReported) {
  Write("stop.yml", kRule);
  Write("stop.tests.yml", "- name: x\n  expect: match\n  event: {eventName: StopLogging}\n");
  auto results = RunRuleTests(dir_.string(),
                              [](const std::string&) -> Result<Event> { return Status::InvalidArgument("no parser"); });
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_NE((*results)[0].detail.find("no parser"), std::string::npos);
}

}  // namespace
}  // namespace vigil
