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

namespace vigil {
namespace {

// Every SigmaHQ rule with a generic DNS, firewall or webserver logsource
// loads, runs only on the log type its category maps onto, and each file that
// cannot run in full is listed with the reason.
TEST(SigmaCorpus, GenericNetworkAndWebRulesCompileOntoAwsLogTypes) {
  struct Category {
    const char* name;
    const char* log_type;
    size_t files = 0, loaded = 0, correlations = 0, unsupported = 0, with_warnings = 0;
  };
  Category categories[] = {{"dns", "route53resolver"}, {"firewall", "vpcflow"}, {"webserver", "alb"}};
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kData + "/sigma"))
    if (entry.is_regular_file() && entry.path().extension() == ".yml") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    auto text = ReadRuleFile(file);
    ASSERT_TRUE(text.ok()) << file;
    Category* category = nullptr;
    for (Category& c : categories)
      if (text->find(std::string("    category: ") + c.name + "\n") != std::string::npos) category = &c;
    if (!category) continue;
    ++category->files;
    RuleSet set;
    LintReport report;
    ASSERT_TRUE(set.LoadPath(file, &report).ok());
    EXPECT_TRUE(report.errors.empty()) << file << ": " << report.errors.front().reason;
    const std::string name = std::filesystem::path(file).filename().string();
    for (const RuleIssue& u : report.unsupported) {
      ++category->unsupported;
      std::printf("  %-9s unsupported %s: %s\n", category->name, name.c_str(), u.reason.c_str());
    }
    if (!report.warnings.empty()) ++category->with_warnings;
    for (const RuleIssue& w : report.warnings)
      std::printf("  %-9s warning     %s: %s\n", category->name, name.c_str(), w.reason.c_str());
    for (const LoadedRule& r : set.rules()) {
      ++category->loaded;
      EXPECT_EQ(r.rule->log_type(), category->log_type) << file;
    }
    category->correlations += report.correlations;
  }
  for (const Category& c : categories)
    std::printf("category %-9s -> %-15s: %zu files, %zu rules run (%zu of them the base of a translated "
                "aggregation), %zu unsupported, %zu files with unmapped fields\n",
                c.name, c.log_type, c.files, c.loaded, c.correlations, c.unsupported, c.with_warnings);
  // The pinned corpus (shared/data/sigma): 18 DNS, 6 firewall and 13
  // webserver rule files. Two DNS files are unsupported (an aggregation
  // without a window, a condition that is no Sigma); four name fields no
  // AWS log has (question_length, query_length, query_etld_plus_one,
  // cs-referer), which lint reports.
  EXPECT_EQ(categories[0].files, 18u);
  EXPECT_EQ(categories[0].loaded, 16u);
  EXPECT_EQ(categories[0].unsupported, 2u);
  EXPECT_EQ(categories[0].with_warnings, 2u);
  EXPECT_EQ(categories[1].files, 6u);
  EXPECT_EQ(categories[1].loaded, 6u);
  EXPECT_EQ(categories[1].unsupported, 0u);
  EXPECT_EQ(categories[1].with_warnings, 0u);
  EXPECT_EQ(categories[2].files, 13u);
  EXPECT_EQ(categories[2].loaded, 13u);
  EXPECT_EQ(categories[2].with_warnings, 1u);
}

}  // namespace
}  // namespace vigil
