// Unit tests for Sigma filters: parsing, loading through RuleSet, lint
// warnings and suppression in SigmaDetector.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "detect/sigma/filter.h"
#include "detect/sigma/rule_set.h"
#include "detect/sigma/rule_tests.h"
#include "detect/sigma/sigma_detector.h"
#include "event/json_fields.h"

namespace vigil {
namespace {

const char kRule[] = R"(title: Secrets read
id: 9d1f0a52-0000-4000-8000-000000000001
name: secrets_read
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventSource: secretsmanager.amazonaws.com
        eventName: GetSecretValue
    condition: selection
)";

const char kOtherRule[] = R"(title: Parameters read
id: 9d1f0a52-0000-4000-8000-000000000002
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: GetParameter
    condition: selection
)";

std::string Filter(const std::string& rules, const std::string& logsource = "{product: aws, service: cloudtrail}",
                   const std::string& condition = "selection") {
  return "title: Ignore the deploy role\nid: 2c7e0000-0000-4000-8000-0000000000f1\nlogsource: " + logsource +
         "\nfilter:\n    rules: " + rules +
         "\n    selection:\n        userIdentity.arn|endswith: '/deploy'\n    condition: " + condition + "\n";
}

Event MakeEvent(std::string_view json) {
  Event e;
  auto f = ParseJsonFields(json);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  if (f.ok()) e.fields = *f;
  e.raw = std::string(json);
  return e;
}

constexpr std::string_view kByDeploy =
    R"({"eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue",
        "userIdentity":{"arn":"arn:aws:sts::111122223333:assumed-role/x/role/deploy"}})";
constexpr std::string_view kByAlice =
    R"({"eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue",
        "userIdentity":{"arn":"arn:aws:iam::111122223333:user/alice"}})";

TEST(SigmaFilter, Parse) {
  auto f = SigmaFilter::Parse(Filter("[secrets_read, 9d1f0a52-0000-4000-8000-000000000002]"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->title(), "Ignore the deploy role");
  EXPECT_EQ((*f)->id(), "2c7e0000-0000-4000-8000-0000000000f1");
  EXPECT_EQ((*f)->rules().size(), 2u);
  EXPECT_EQ((*f)->logsource_service(), "cloudtrail");
  EXPECT_TRUE((*f)->Matches(MakeEvent(kByDeploy)));
  EXPECT_FALSE((*f)->Matches(MakeEvent(kByAlice)));

  auto rule = SigmaRule::Parse(kRule);
  ASSERT_TRUE(rule.ok());
  EXPECT_EQ((*rule)->name(), "secrets_read");
  EXPECT_TRUE((*f)->Names(**rule));  // by name
  EXPECT_TRUE((*f)->AppliesTo(**rule));

  // A single string is one reference.
  EXPECT_TRUE(SigmaFilter::Parse(Filter("secrets_read")).ok());
  // Not filters.
  EXPECT_EQ(SigmaFilter::Parse(kRule).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SigmaRule::Parse(Filter("[a]")).status().code(), StatusCode::kInvalidArgument);
  // Errors: no rules, no logsource, no condition, unknown identifier.
  EXPECT_EQ(SigmaFilter::Parse(Filter("[]")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      SigmaFilter::Parse("title: f\nfilter:\n    rules: [a]\n    sel: {a: 1}\n    condition: sel\n").status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(SigmaFilter::Parse("title: f\nlogsource: {product: aws}\nfilter:\n    rules: [a]\n    sel: {a: 1}\n")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SigmaFilter::Parse(Filter("[a]", "{product: aws}", "selecton")).status().code(),
            StatusCode::kInvalidArgument);
  // Unsupported inside a filter is unsupported, as for rules.
  EXPECT_EQ(SigmaFilter::Parse("title: f\nlogsource: {product: aws}\nfilter:\n    rules: [a]\n"
                               "    sel: {a|expand: '%undefined%'}\n    condition: sel\n")
                .status()
                .code(),
            StatusCode::kUnsupported);
}

TEST(SigmaFilter, LogsourceMustCoverTheRule) {
  auto rule = SigmaRule::Parse(kRule);
  ASSERT_TRUE(rule.ok());
  EXPECT_TRUE((*SigmaFilter::Parse(Filter("[secrets_read]", "{product: AWS}")))->AppliesTo(**rule));
  EXPECT_FALSE((*SigmaFilter::Parse(Filter("[secrets_read]", "{product: windows}")))->AppliesTo(**rule));
  EXPECT_FALSE(
      (*SigmaFilter::Parse(Filter("[secrets_read]", "{product: aws, category: process_creation}")))->AppliesTo(**rule));
}

TEST(SigmaFilter, SuppressesANamedRuleOnlyWhereItMatches) {
  RuleSet set;
  LintReport report;
  set.AddRuleText(kRule, "rules/secrets.yml", &report);
  set.AddRuleText(kOtherRule, "rules/params.yml", &report);
  set.AddRuleText(Filter("[9d1f0a52-0000-4000-8000-000000000001]"), "filters/deploy.yml", &report);
  EXPECT_EQ(report.loaded, 2u);
  EXPECT_EQ(report.filters, 1u);
  EXPECT_TRUE(report.errors.empty()) << report.ToJson();
  EXPECT_TRUE(report.warnings.empty()) << report.ToJson();
  EXPECT_NE(report.ToJson().find("\"filters\":1"), std::string::npos);

  SigmaDetector plain(set.SharedRules());
  SigmaDetector det(set.SharedRules(), set.SharedFilters());
  EXPECT_EQ(det.filter_count(), 1u);
  EXPECT_EQ(det.FilterCountOf(0), 1u);
  EXPECT_EQ(det.FilterCountOf(1), 0u);
  // Filters do not push rules off the indexed path.
  EXPECT_EQ(det.unindexed_rule_count(), plain.unindexed_rule_count());
  EXPECT_EQ(det.IndexFieldOf(0), "eventName");

  std::vector<std::string> got;
  MatchSink sink = [&](const Event&, const Match& m) { got.emplace_back(m.rule_id); };
  det.Process(MakeEvent(kByDeploy), sink);
  EXPECT_TRUE(got.empty());
  det.Process(MakeEvent(kByAlice), sink);
  EXPECT_EQ(got, std::vector<std::string>{"9d1f0a52-0000-4000-8000-000000000001"});
  // The filter does not name the other rule: its match on a deploy event stays.
  got.clear();
  det.Process(MakeEvent(R"({"eventName":"GetParameter","userIdentity":{"arn":"arn:x:role/deploy"}})"), sink);
  EXPECT_EQ(got, std::vector<std::string>{"9d1f0a52-0000-4000-8000-000000000002"});
  EXPECT_EQ(det.stats().suppressed, 1u);
  EXPECT_EQ(det.stats().matches, 2u);
}

TEST(SigmaFilter, UnknownRuleIsAWarningThatALaterLoadResolves) {
  RuleSet set;
  LintReport report;
  set.AddRuleText(Filter("[secrets_read, no-such-rule]"), "filters/deploy.yml", &report);
  EXPECT_EQ(report.filters, 1u);
  EXPECT_TRUE(report.errors.empty());
  ASSERT_EQ(report.warnings.size(), 2u) << report.ToJson();
  EXPECT_EQ(report.warnings[0].file, "filters/deploy.yml");
  EXPECT_NE(report.warnings[0].reason.find("`secrets_read`"), std::string::npos);
  set.AddRuleText(kRule, "rules/secrets.yml", &report);
  ASSERT_EQ(report.warnings.size(), 1u) << report.ToJson();
  EXPECT_NE(report.warnings[0].reason.find("`no-such-rule`"), std::string::npos);
}

TEST(SigmaFilter, LintWarnsOnLogsourceMismatchAndNegatedCondition) {
  RuleSet set;
  LintReport report;
  set.AddRuleText(kRule, "rules/secrets.yml", &report);
  set.AddRuleText(Filter("[secrets_read]", "{product: windows}"), "filters/win.yml", &report);
  ASSERT_EQ(report.warnings.size(), 1u) << report.ToJson();
  EXPECT_NE(report.warnings[0].reason.find("logsource"), std::string::npos);
  SigmaDetector det(set.SharedRules(), set.SharedFilters());
  EXPECT_EQ(det.FilterCountOf(0), 0u);

  LintReport neg;
  RuleSet set2;
  set2.AddRuleText(kRule, "rules/secrets.yml", &neg);
  set2.AddRuleText(Filter("[secrets_read]", "{product: aws}", "not selection"), "filters/neg.yml", &neg);
  ASSERT_EQ(neg.warnings.size(), 1u) << neg.ToJson();
  EXPECT_NE(neg.warnings[0].reason.find("negation"), std::string::npos);
}

TEST(SigmaFilter, LoadPathReadsFiltersBesideRulesAndRuleTestsSkipThem) {
  const auto dir = std::filesystem::temp_directory_path() / ("vigil_sigma_filter_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "filters");
  auto write = [&](const std::string& name, const std::string& text) { std::ofstream(dir / name) << text; };
  // The filter sorts before the rule it names: resolved after the whole load.
  write("filters/mf_deploy_role.yml", Filter("[secrets_read]"));
  write("secrets.yml", kRule);
  write("secrets.tests.yml",
        "- name: alice\n  expect: match\n  event: {eventSource: secretsmanager.amazonaws.com, "
        "eventName: GetSecretValue}\n");
  write("filters/mf_broken.yml",
        "title: broken\nlogsource: {product: aws}\nfilter:\n    selection: {a: 1}\n"
        "    condition: selection\n");
  RuleSet set;
  LintReport report;
  ASSERT_TRUE(set.LoadPath(dir.string(), &report).ok());
  EXPECT_EQ(report.loaded, 1u);
  EXPECT_EQ(report.filters, 1u);
  EXPECT_TRUE(report.warnings.empty()) << report.ToJson();
  ASSERT_EQ(report.errors.size(), 1u) << report.ToJson();
  EXPECT_NE(report.errors[0].file.find("mf_broken.yml"), std::string::npos);

  auto results = RunRuleTests(dir.string(), [](const std::string& json) -> Result<Event> {
    Event e;
    auto f = ParseJsonFields(json);
    if (!f.ok()) return f.status();
    e.fields = *f;
    return e;
  });
  ASSERT_TRUE(results.ok());
  // The rule's case, and the broken filter as a load failure; the good
  // filter adds nothing.
  ASSERT_EQ(results->size(), 2u);
  int passed = 0;
  for (const auto& r : *results) passed += r.passed;
  EXPECT_EQ(passed, 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil
