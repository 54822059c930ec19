// Loads the reference Sigma AWS rules and runs them over the Stratus Red Team
// CloudTrail detonation logs.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>

#include "detect/sigma/rule_set.h"
#include "detect/sigma/sigma_detector.h"
#include "event/json_fields.h"

namespace vigil {
namespace {

const std::string kData = VIGIL_SHARED_DATA;

std::vector<Event> LoadRecords(const std::string& path) {
  std::vector<Event> out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  auto err = parser.load(path).get(root);
  EXPECT_FALSE(err) << path << ": " << simdjson::error_message(err);
  if (err) return out;
  simdjson::dom::array arr;
  if (root.get(arr) != simdjson::SUCCESS) {
    ADD_FAILURE() << path << " is not a JSON array";
    return out;
  }
  for (simdjson::dom::element rec : arr) {
    Event e;
    e.raw = simdjson::minify(rec);
    auto fields = ParseJsonFields(e.raw);
    EXPECT_TRUE(fields.ok()) << fields.status().ToString();
    if (!fields.ok()) continue;
    e.fields = *fields;
    e.source_type = "cloudtrail";
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Event> LoadAllStratus() {
  std::vector<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(kData + "/cloudtrail/stratus-red-team/docs/detonation-logs")) {
    if (entry.path().extension() == ".json") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<Event> events;
  for (const std::string& f : files) {
    auto recs = LoadRecords(f);
    events.insert(events.end(), std::make_move_iterator(recs.begin()), std::make_move_iterator(recs.end()));
  }
  return events;
}

TEST(SigmaCorpus, AwsRulesLoadCleanly) {
  RuleSet set;
  LintReport report;
  ASSERT_TRUE(set.LoadPath(kData + "/sigma/rules/cloud/aws", &report).ok());
  for (const auto& e : report.errors) ADD_FAILURE() << "error: " << e.file << ": " << e.reason;
  for (const auto& u : report.unsupported) ADD_FAILURE() << "unsupported: " << u.file << ": " << u.reason;
  EXPECT_GE(report.loaded, 50u);
  EXPECT_EQ(report.loaded, set.rules().size());
}

TEST(SigmaCorpus, UnsupportedCloudRulesSayWhy) {
  RuleSet set;
  LintReport report;
  ASSERT_TRUE(set.LoadPath(kData + "/sigma/unsupported/cloud", &report).ok());
  // `| count() by x > N` with `timeframe` loads as a base rule plus an
  // event_count correlation; `near` and a bare `timeframe` stay unsupported.
  EXPECT_EQ(report.loaded, 6u);
  EXPECT_EQ(report.correlations, 6u);
  for (const auto& e : report.errors) ADD_FAILURE() << "error: " << e.file << ": " << e.reason;
  EXPECT_EQ(report.unsupported.size(), 2u);
  for (const auto& u : report.unsupported) {
    EXPECT_NE(u.reason.find("(Sigma"), std::string::npos) << u.file << ": " << u.reason;
  }
}

TEST(SigmaCorpus, EveryRuleOverStratusAndPrefilterLosesNothing) {
  RuleSet set;
  LintReport report;
  ASSERT_TRUE(set.LoadPath(kData + "/sigma/rules/cloud/aws", &report).ok());
  auto rules = set.SharedRules();
  SigmaDetector det(rules);
  // Most rules should be reachable through the index.
  EXPECT_LT(det.unindexed_rule_count(), rules.size() / 4);
  std::vector<Event> events = LoadAllStratus();
  ASSERT_GT(events.size(), 100u);
  size_t total = 0;
  for (const Event& e : events) {
    std::vector<std::string> brute;
    for (const auto& r : rules)
      if (r->Matches(e)) brute.push_back(r->id());
    std::vector<std::string> got;
    det.Process(e, [&](const Event&, const Match& m) { got.emplace_back(m.rule_id); });
    EXPECT_EQ(got, brute) << e.raw.substr(0, 300);
    total += got.size();
  }
  EXPECT_GT(total, 0u);
  EXPECT_LT(det.stats().rules_evaluated, events.size() * rules.size() / 4);
}

TEST(SigmaCorpus, DisableLoggingMatchesStopLogging) {
  RuleSet set;
  LintReport report;
  ASSERT_TRUE(
      set.LoadPath(kData + "/sigma/rules/cloud/aws/cloudtrail/aws_cloudtrail_disable_logging.yml", &report).ok());
  ASSERT_EQ(report.loaded, 1u) << report.ToJson();
  const SigmaRule& rule = *set.rules().front().rule;
  auto stop =
      LoadRecords(kData + "/cloudtrail/stratus-red-team/docs/detonation-logs/aws.defense-evasion.cloudtrail-stop.json");
  ASSERT_FALSE(stop.empty());
  bool found = false;
  for (const Event& e : stop) {
    if (e.raw.find("\"StopLogging\"") != std::string::npos) {
      found = true;
      EXPECT_TRUE(rule.Matches(e)) << e.raw;
    }
  }
  EXPECT_TRUE(found);
  auto other = LoadRecords(
      kData + "/cloudtrail/stratus-red-team/docs/detonation-logs/aws.credential-access.ec2-get-password-data.json");
  ASSERT_FALSE(other.empty());
  for (const Event& e : other) EXPECT_FALSE(rule.Matches(e)) << e.raw;
}

}  // namespace
}  // namespace vigil
