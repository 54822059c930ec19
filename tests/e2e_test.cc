// End-to-end: the `vigil` command on real CloudTrail (Stratus Red Team
// detonations), checked through its documented CLI contract.
#include "run_vigil.h"
#include "common/time.h"
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

namespace {

namespace fs = std::filesystem;

const fs::path kStratus = VIGIL_SHARED_DATA "/cloudtrail/stratus-red-team/docs/detonation-logs";

using vigil::testing::CmdResult;
using vigil::testing::Vigil;

class E2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-e2e-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Data() const { return "--data " + (dir_ / "data").string(); }
  fs::path dir_;
};

std::map<std::string, uint64_t> ParseSummary(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::map<std::string, uint64_t> out;
  if (parser.parse(json).get(doc)) return out;
  simdjson::dom::object obj;
  if (doc.get(obj)) return out;
  for (auto field : obj) {
    uint64_t v = 0;
    if (field.value.is_uint64()) v = field.value.get_uint64().value();
    else if (field.value.is_int64()) v = static_cast<uint64_t>(field.value.get_int64().value());
    else if (field.value.is_double()) v = 0;
    out[std::string(field.key)] = v;
  }
  return out;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    if (nl > start) out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

TEST_F(E2ETest, StratusIngestRaisesExactlyTheExpectedCisAlerts) {
  CmdResult ingest = Vigil("ingest --json " + Data() + " " + kStratus.string());
  ASSERT_EQ(ingest.exit_code, 0) << ingest.out;
  auto summary = ParseSummary(ingest.out);
  EXPECT_EQ(summary["files"], 35u);
  EXPECT_EQ(summary["events"], 310u);
  EXPECT_EQ(summary["errors"], 0u);
  EXPECT_EQ(summary["duplicates"], 0u);
  EXPECT_GT(summary["alerts"], 0u);

  // Which technique each event id came from.
  std::map<std::string, std::string> technique_of;
  simdjson::dom::parser parser;
  for (const auto& entry : fs::directory_iterator(kStratus)) {
    std::string technique = entry.path().stem().string();
    technique = technique.substr(technique.find('.') + 1);       // drop "aws."
    technique = technique.substr(technique.find('.') + 1);       // drop the tactic
    simdjson::dom::element doc;
    ASSERT_EQ(parser.load(entry.path().string()).get(doc), simdjson::SUCCESS);
    for (simdjson::dom::element rec : doc.get_array()) {
      std::string_view id;
      if (rec["eventID"].get(id) == simdjson::SUCCESS) technique_of[std::string(id)] = technique;
    }
  }

  CmdResult alerts = Vigil("alerts --json " + Data());
  ASSERT_EQ(alerts.exit_code, 0);
  std::set<std::pair<std::string, std::string>> got;  // (technique, cis control)
  for (const std::string& line : Lines(alerts.out)) {
    simdjson::dom::element a;
    ASSERT_EQ(parser.parse(line).get(a), simdjson::SUCCESS) << line;
    // The documented shape.
    for (const char* key : {"id", "rule_id", "title", "severity", "entity", "first_seen", "last_seen"}) {
      std::string_view v;
      EXPECT_EQ(a[key].get(v), simdjson::SUCCESS) << key << " in " << line;
    }
    uint64_t count = 0;
    EXPECT_EQ(a["count"].get(count), simdjson::SUCCESS);
    bool truncated = true;
    EXPECT_EQ(a["truncated"].get(truncated), simdjson::SUCCESS);
    EXPECT_FALSE(truncated);
    // Each alert explains itself: the selections that held and the values they saw.
    simdjson::dom::element match;
    ASSERT_EQ(a["match"].get(match), simdjson::SUCCESS) << line;
    if (line.find("CloudTrail configuration changes") != std::string::npos) {
      std::string_view name;
      ASSERT_EQ(match["fields"]["eventName"].get(name), simdjson::SUCCESS) << line;
      EXPECT_TRUE(name == "StopLogging" || name == "DeleteTrail") << line;
      EXPECT_GE(match["selections"].get_array().size(), 1u) << line;
    }
    std::vector<std::string> cis;
    for (simdjson::dom::element t : a["tags"].get_array()) {
      std::string_view tag = t.get_string().value();
      if (tag.substr(0, 8) == "cis.aws.") cis.emplace_back(tag.substr(8));
    }
    // A correlation alert counts firings, named by firing ids; its match says
    // which group and window fired.
    std::string_view correlation;
    if (match["correlation"].get(correlation) == simdjson::SUCCESS) {
      EXPECT_TRUE(cis.empty()) << line;
      continue;
    }
    size_t ids = 0;
    for (simdjson::dom::element e : a["event_ids"].get_array()) {
      ++ids;
      std::string id(e.get_string().value());
      ASSERT_TRUE(technique_of.count(id)) << "alert names unknown event " << id;
      for (const auto& c : cis) got.insert({technique_of[id], c});
    }
    EXPECT_EQ(ids, count);
  }
  std::set<std::pair<std::string, std::string>> want = {
      {"cloudtrail-stop", "4.5"},
      {"cloudtrail-delete", "4.5"},
      {"console-login-without-mfa", "4.2"},
      {"iam-create-admin-user", "4.4"},
      {"iam-create-backdoor-role", "4.4"},
      {"ec2-security-group-open-port-22-ingress", "4.10"},
      {"organizations-leave", "4.15"},
      {"organizations-leave", "4.1"},
      {"ec2-get-password-data", "4.1"},
      {"ec2-download-user-data", "4.1"},
      {"ec2-launch-unusual-instances", "4.1"},
  };
  EXPECT_EQ(got, want);
}

TEST_F(E2ETest, IngestingTheSameFilesTwiceChangesNothing) {
  CmdResult first = Vigil("ingest --json " + Data() + " " + kStratus.string());
  ASSERT_EQ(first.exit_code, 0);
  CmdResult alerts1 = Vigil("alerts --json " + Data());
  CmdResult hunt1 = Vigil("hunt --json " + Data() + " ''");
  CmdResult second = Vigil("ingest --json " + Data() + " " + kStratus.string());
  ASSERT_EQ(second.exit_code, 0);
  auto s2 = ParseSummary(second.out);
  EXPECT_EQ(s2["events"], 0u);
  EXPECT_EQ(s2["duplicates"], 310u);
  EXPECT_EQ(s2["alerts"], 0u);
  EXPECT_EQ(Vigil("alerts --json " + Data()).out, alerts1.out);
  CmdResult hunt2 = Vigil("hunt --json " + Data() + " ''");
  EXPECT_EQ(hunt2.out, hunt1.out);
  EXPECT_EQ(Lines(hunt2.out).size(), 310u);
}

TEST_F(E2ETest, HuntFindsRecordsByteExactNewestFirst) {
  ASSERT_EQ(Vigil("ingest --json " + Data() + " " + kStratus.string()).exit_code, 0);
  CmdResult r = Vigil("hunt --json " + Data() + " 'eventName=StopLogging OR eventName=DeleteTrail'");
  ASSERT_EQ(r.exit_code, 0);
  auto lines = Lines(r.out);
  ASSERT_GE(lines.size(), 2u);
  simdjson::dom::parser parser;
  std::string prev = "9999";
  for (const auto& line : lines) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(line).get(e), simdjson::SUCCESS);
    std::string_view name = e["eventName"].get_string().value();
    EXPECT_TRUE(name == "StopLogging" || name == "DeleteTrail") << name;
    std::string t(e["eventTime"].get_string().value());
    EXPECT_LE(t, prev);
    prev = t;
  }
  // Time bounds use event time.
  CmdResult none = Vigil("hunt --json " + Data() + " --to 2000-01-01T00:00:00Z 'eventName=StopLogging'");
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_TRUE(none.out.empty());
  // A bad query is a usage error pointing at the token.
  EXPECT_EQ(Vigil("hunt " + Data() + " 'eventName=X )'").exit_code, 2);
}

// Pipe stages end to end: stats by a field equals a count made directly from
// the ingested files; --json prints one object per result row; the table
// output has a header and a row count; a bad stage is a usage error.
TEST_F(E2ETest, HuntPipesAggregateToJsonRowsAndTables) {
  ASSERT_EQ(Vigil("ingest --json " + Data() + " " + kStratus.string()).exit_code, 0);
  std::map<std::string, uint64_t> want;
  simdjson::dom::parser parser;
  for (const auto& entry : fs::directory_iterator(kStratus)) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.load(entry.path().string()).get(doc), simdjson::SUCCESS);
    for (simdjson::dom::element rec : doc.get_array()) ++want[std::string(rec["eventSource"].get_string().value())];
  }
  CmdResult r = Vigil("hunt --json " + Data() +
                      " 'source=cloudtrail | stats count() by eventSource | where count > 1 | sort -count | head 20'");
  ASSERT_EQ(r.exit_code, 0);
  auto lines = Lines(r.out);
  size_t expected_rows = 0;
  for (const auto& [src, n] : want) expected_rows += n > 1;
  ASSERT_EQ(lines.size(), std::min<size_t>(expected_rows, 20));
  uint64_t prev = UINT64_MAX;
  for (const auto& line : lines) {
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(line).get(e), simdjson::SUCCESS) << line;
    std::string src(e["eventSource"].get_string().value());
    uint64_t count = e["count"].get_uint64().value();  // a JSON number, not a string
    EXPECT_EQ(count, want[src]) << src;
    EXPECT_LE(count, prev);
    prev = count;
    EXPECT_EQ(e.get_object().size(), 2u);
  }
  // Table output: a header line, the rows, then the tally.
  CmdResult table = Vigil("hunt " + Data() + " '| top 2 eventSource'");
  ASSERT_EQ(table.exit_code, 0);
  auto tl = Lines(table.out);
  ASSERT_EQ(tl.size(), 4u) << table.out;
  EXPECT_EQ(tl[0].rfind("eventSource", 0), 0u) << tl[0];
  EXPECT_NE(tl[0].find("percent"), std::string::npos);
  EXPECT_EQ(tl[1].rfind("ssm.amazonaws.com", 0), 0u) << tl[1];
  EXPECT_EQ(tl[3], "2 rows (310 events matched, 310 scanned)");
  // Event-preserving stages keep printing the stored records.
  CmdResult events = Vigil("hunt --json " + Data() + " 'eventName=StopLogging | eval who = lower(userIdentity.type) | head 1'");
  ASSERT_EQ(events.exit_code, 0);
  auto el = Lines(events.out);
  ASSERT_EQ(el.size(), 1u);
  simdjson::dom::element ev;
  ASSERT_EQ(parser.parse(el[0]).get(ev), simdjson::SUCCESS) << el[0];
  EXPECT_EQ(std::string(ev["eventName"].get_string().value()), "StopLogging");
  EXPECT_FALSE(ev["who"].error());  // the computed column joins the record
  // Errors point at the stage; lookups read CSV files.
  EXPECT_EQ(Vigil("hunt " + Data() + " '| stats count() by x | sort -count | head 20x'").exit_code, 2);
  std::ofstream(dir_ / "owners.csv") << "eventSource,team\nssm.amazonaws.com,platform\n";
  CmdResult lk = Vigil("hunt --json --lookup owners=" + (dir_ / "owners.csv").string() + " " + Data() +
                       " '| lookup owners eventSource OUTPUT team | where isnotnull(team) | stats count() by team'");
  ASSERT_EQ(lk.exit_code, 0);
  EXPECT_EQ(lk.out, "{\"team\":\"platform\",\"count\":" + std::to_string(want["ssm.amazonaws.com"]) + "}\n");
  // Threat-intel feeds are lookup tables too: a CIDR entry matches the addresses inside it.
  std::map<std::string, uint64_t> by_ip;
  for (const auto& entry : fs::directory_iterator(kStratus)) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.load(entry.path().string()).get(doc), simdjson::SUCCESS);
    for (simdjson::dom::element rec : doc.get_array()) ++by_ip[std::string(rec["sourceIPAddress"].get_string().value())];
  }
  uint64_t in_range = 0;
  for (const auto& [ip, n] : by_ip) in_range += ip.rfind("18.236.", 0) == 0 ? n : 0;
  ASSERT_GT(in_range, 0u);
  std::ofstream(dir_ / "blocklist.txt") << "18.236.0.0/16\n";
  CmdResult intel = Vigil("hunt --json --intel " + (dir_ / "blocklist.txt").string() + " " + Data() +
                          " '| lookup intel sourceIPAddress | where isnotnull(indicator) | stats count() by indicator'");
  ASSERT_EQ(intel.exit_code, 0);
  EXPECT_EQ(intel.out, "{\"indicator\":\"18.236.0.0/16\",\"count\":" + std::to_string(in_range) + "}\n");
}

// A scheduled rule runs its hunt query over its window and raises one alert
// per result row; the same window never runs twice.
TEST_F(E2ETest, ScheduledRuleRaisesAnAlertPerResultRowOncePerWindow) {
  ASSERT_EQ(Vigil("ingest --no-detect --json " + Data() + " " + kStratus.string()).exit_code, 0);
  // Direct: calls per source address with event time in [2024-07-27, 2024-08-03).
  const int64_t from = *vigil::ParseTimestamp("2024-07-27T00:00:00Z"), to = *vigil::ParseTimestamp("2024-08-03T00:00:00Z");
  std::map<std::string, uint64_t> calls;
  simdjson::dom::parser parser;
  for (const auto& entry : fs::directory_iterator(kStratus)) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.load(entry.path().string()).get(doc), simdjson::SUCCESS);
    for (simdjson::dom::element rec : doc.get_array()) {
      const int64_t t = *vigil::ParseTimestamp(rec["eventTime"].get_string().value());
      if (t >= from && t < to) ++calls[std::string(rec["sourceIPAddress"].get_string().value())];
    }
  }
  std::map<std::string, uint64_t> want;
  for (const auto& [ip, n] : calls)
    if (n > 30) want[ip] = n;
  ASSERT_FALSE(want.empty());
  fs::create_directories(dir_ / "scheduled");
  std::ofstream(dir_ / "scheduled" / "busy.yml") << R"(title: Busy source address
id: 7d3e0a52-1b8c-4f0e-9a7d-3c2b1e0f9a11
level: medium
tags: [attack.discovery]
schedule: 1d
window: 7d
query: >
  source=cloudtrail
  | stats count() AS calls by sourceIPAddress
  | where calls > 30
)";
  const std::string run = "rules run-scheduled --json --now 2024-08-03T06:00:00Z " + Data() + " " +
                          (dir_ / "scheduled").string();
  CmdResult first = Vigil(run);
  ASSERT_EQ(first.exit_code, 0) << first.out;
  simdjson::dom::element report;
  ASSERT_EQ(parser.parse(first.out).get(report), simdjson::SUCCESS) << first.out;
  EXPECT_EQ(std::string(report["rule"].get_string().value()), "7d3e0a52-1b8c-4f0e-9a7d-3c2b1e0f9a11");
  EXPECT_EQ(std::string(report["from"].get_string().value()), "2024-07-27T00:00:00Z");
  EXPECT_EQ(std::string(report["to"].get_string().value()), "2024-08-03T00:00:00Z");
  EXPECT_TRUE(report["ran"].get_bool().value());
  EXPECT_EQ(report["rows"].get_uint64().value(), want.size());
  // One alert per row: entity = the address, match = the row.
  auto alerts_of_rule = [&] {
    std::map<std::string, std::string> out;
    for (const auto& line : Lines(Vigil("alerts --json " + Data()).out)) {
      simdjson::dom::element a;
      EXPECT_EQ(parser.parse(line).get(a), simdjson::SUCCESS);
      if (std::string(a["rule_id"].get_string().value()) != "7d3e0a52-1b8c-4f0e-9a7d-3c2b1e0f9a11") continue;
      EXPECT_EQ(std::string(a["severity"].get_string().value()), "medium");
      out[std::string(a["entity"].get_string().value())] = simdjson::minify(a["match"]);
    }
    return out;
  };
  auto alerts = alerts_of_rule();
  ASSERT_EQ(alerts.size(), want.size());
  for (const auto& [ip, n] : want) {
    ASSERT_TRUE(alerts.count(ip)) << ip;
    EXPECT_EQ(alerts[ip], "{\"sourceIPAddress\":\"" + ip + "\",\"calls\":" + std::to_string(n) + "}");
  }
  // The same window again: not due, nothing changes.
  CmdResult again = Vigil(run);
  ASSERT_EQ(again.exit_code, 0);
  ASSERT_EQ(parser.parse(again.out).get(report), simdjson::SUCCESS) << again.out;
  EXPECT_FALSE(report["ran"].get_bool().value());
  EXPECT_EQ(alerts_of_rule(), alerts);
  // A broken rule file is a usage error naming the file and the token.
  std::ofstream(dir_ / "broken.yml") << "title: x\nid: y\nschedule: 1h\nquery: a=1 | stats cnt()\n";
  EXPECT_EQ(Vigil("rules run-scheduled " + Data() + " " + (dir_ / "broken.yml").string()).exit_code, 2);
}

TEST_F(E2ETest, UnrecognisedFilesAreSkippedInDirectoriesAndErrorsWhenNamed) {
  fs::create_directories(dir_ / "in");
  fs::copy_file(kStratus / "aws.defense-evasion.cloudtrail-stop.json", dir_ / "in" / "trail.json");
  {
    FILE* f = fopen((dir_ / "in" / "README.md").c_str(), "w");
    fputs("# not a log\n", f);
    fclose(f);
  }
  CmdResult dir = Vigil("ingest --json " + Data() + " " + (dir_ / "in").string());
  EXPECT_EQ(dir.exit_code, 0);
  auto s = ParseSummary(dir.out);
  EXPECT_EQ(s["files"], 1u);
  EXPECT_EQ(s["skipped"], 1u);
  CmdResult named = Vigil("ingest --json " + Data() + " " + (dir_ / "in" / "README.md").string());
  EXPECT_EQ(named.exit_code, 1);
  EXPECT_EQ(Vigil("ingest " + Data() + " " + (dir_ / "missing.json").string()).exit_code, 1);
}

TEST_F(E2ETest, MalformedRecordsAreDeadLetteredAndTheRestLands) {
  fs::create_directories(dir_);
  {
    FILE* f = fopen((dir_ / "mixed.json").c_str(), "w");
    fputs(R"([{"eventVersion":"1.08","eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com",)"
          R"("eventTime":"2024-07-31T13:06:24Z","eventID":"00000000-0000-0000-0000-000000000001",)"
          R"("userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}, {"eventName": tru},)"
          R"({"eventVersion":"1.08","eventName":"ListBuckets","eventSource":"s3.amazonaws.com","eventTime":"..."}])",
          f);
    fclose(f);
  }
  CmdResult r = Vigil("ingest --json " + Data() + " " + (dir_ / "mixed.json").string());
  EXPECT_EQ(r.exit_code, 1);
  auto s = ParseSummary(r.out);
  EXPECT_EQ(s["events"], 2u);
  EXPECT_EQ(s["errors"], 1u);
  EXPECT_EQ(Lines(Vigil("hunt --json " + Data() + " ''").out).size(), 2u);
}

TEST_F(E2ETest, RulesPackLintsCleanAndItsTestsPass) {
  CmdResult lint = Vigil("rules lint --json " VIGIL_SOURCE_DIR "/rules");
  EXPECT_EQ(lint.exit_code, 0) << lint.out;
  auto s = ParseSummary(lint.out);
  EXPECT_GE(s["loaded"], 15u);
  CmdResult test = Vigil("rules test --json " VIGIL_SOURCE_DIR "/rules");
  EXPECT_EQ(test.exit_code, 0) << test.out;
  EXPECT_GE(Lines(test.out).size(), 60u);
}

TEST_F(E2ETest, SigmaAwsRulesLintWithoutErrorsOrUnsupported) {
  CmdResult lint = Vigil("rules lint --json " VIGIL_SHARED_DATA "/sigma/rules/cloud/aws");
  EXPECT_EQ(lint.exit_code, 0) << lint.out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(lint.out).get(doc), simdjson::SUCCESS) << lint.out;
  EXPECT_GE(doc["loaded"].get_uint64().value(), 50u);
  EXPECT_EQ(doc["errors"].get_array().size(), 0u);
  EXPECT_EQ(doc["unsupported"].get_array().size(), 0u);
}

TEST_F(E2ETest, BacktestRaisesExactlyTheLiveAlerts) {
  ASSERT_EQ(Vigil("ingest --json " + Data() + " " + kStratus.string()).exit_code, 0);
  simdjson::dom::parser parser;
  std::map<std::string, std::string> live, backtest;  // alert id -> alert JSON, minified
  for (const std::string& line : Lines(Vigil("alerts --json " + Data()).out)) {
    simdjson::dom::element a;
    ASSERT_EQ(parser.parse(line).get(a), simdjson::SUCCESS);
    live[std::string(a["id"].get_string().value())] = simdjson::minify(a);
  }
  // Every shipped rule, as live ingest ran them.
  CmdResult bt = Vigil("rules backtest --json --examples 1000000 " + Data() + " " VIGIL_SOURCE_DIR "/rules");
  ASSERT_EQ(bt.exit_code, 0);
  size_t rules = 0;
  for (const std::string& line : Lines(bt.out)) {
    ++rules;
    simdjson::dom::element r;
    ASSERT_EQ(parser.parse(line).get(r), simdjson::SUCCESS) << line;
    EXPECT_EQ(r["events_scanned"].get_uint64().value(), 310u);
    for (simdjson::dom::element a : r["examples"].get_array()) {
      backtest[std::string(a["id"].get_string().value())] = simdjson::minify(a);
    }
  }
  EXPECT_GE(rules, 15u);
  EXPECT_FALSE(live.empty());
  // Correlation alerts fire eagerly on arrival: the Stratus files are not in
  // time order, so live ingest may complete a window at a later match than the
  // time-ordered backtest does (docs/rule-authoring.md). The same windows fire,
  // with the same counts; only the firing time (and the ids derived from it)
  // may differ. Behavioural alerts likewise judge events as they arrive (a
  // distinct-count window opens at the first event to arrive), so their
  // explanation's window and samples may differ. Everything else must be
  // identical.
  auto firing_time_free = [&](const std::string& json) {
    simdjson::dom::element a;
    EXPECT_EQ(parser.parse(json).get(a), simdjson::SUCCESS);
    std::string_view correlation;
    if (a["match"]["correlation"].get(correlation) != simdjson::SUCCESS &&
        a["match"]["detector"].get(correlation) != simdjson::SUCCESS)
      return json;
    std::string out;
    for (const char* key : {"id", "rule_id", "title", "severity", "entity"})
      out += std::string(a[key].get_string().value()) + "|";
    return out + std::to_string(a["count"].get_uint64().value());
  };
  size_t correlations = 0;
  for (auto* m : {&live, &backtest}) {
    for (auto& [id, json] : *m) {
      std::string reduced = firing_time_free(json);
      correlations += reduced != json;
      json = reduced;
    }
  }
  EXPECT_GT(correlations, 0u);
  EXPECT_EQ(backtest, live);
  // A time window narrows it; an unknown rule is a fatal error.
  CmdResult none = Vigil("rules backtest --json --to 2000-01-01T00:00:00Z " + Data() + " " VIGIL_SOURCE_DIR
                         "/rules/aws/cis/cis_4_05_cloudtrail_config_changes.yml");
  EXPECT_NE(none.out.find("\"alerts\":0"), std::string::npos) << none.out;
  EXPECT_EQ(Vigil("rules backtest " + Data() + " no-such-rule").exit_code, 2);
}

TEST_F(E2ETest, ImportedCloudWatchCisPatternsAgreeWithTheSigmaPackOnEveryCase) {
  // The CIS monitoring patterns as `aws logs describe-metric-filters` prints them.
  simdjson::dom::parser parser;
  simdjson::dom::element cis;
  ASSERT_EQ(parser.load(VIGIL_SHARED_DATA "/cis/cis-aws-monitoring-metric-filters.json").get(cis), simdjson::SUCCESS);
  std::string filters = "{\"metricFilters\":[";
  size_t n = 0;
  for (simdjson::dom::element c : cis["controls"].get_array()) {
    std::string_view id = c["cis_v3_0_id"].get_string().value();
    simdjson::dom::array sh = c["filter_pattern_securityhub_doc"].get_array();
    simdjson::dom::array pattern_list = sh.size() ? sh : c["filter_pattern_prowler"].get_array().value();
    std::string_view pattern = pattern_list.at(0).get_string().value();
    std::string escaped;
    for (char ch : pattern) {
      if (ch == '"' || ch == '\\') escaped.push_back('\\');
      escaped.push_back(ch);
    }
    filters += std::string(n++ ? "," : "") + "{\"filterName\":\"cis-" + std::string(id) + "\",\"filterPattern\":\"" +
               escaped + "\",\"logGroupName\":\"cloudtrail\"}";
  }
  filters += "]}";
  ASSERT_EQ(n, 15u);
  fs::create_directories(dir_);
  {
    FILE* f = fopen((dir_ / "filters.json").c_str(), "w");
    fputs(filters.c_str(), f);
    fclose(f);
  }
  fs::path out = dir_ / "imported";
  CmdResult imported = Vigil("rules import-cloudwatch --json --out " + out.string() + " " + (dir_ / "filters.json").string());
  ASSERT_EQ(imported.exit_code, 0) << imported.out;
  EXPECT_NE(imported.out.find("\"imported\":15"), std::string::npos) << imported.out;

  // Put the pack's cases beside the imported rule of the same control: cis_4_01_x.tests.yml -> cis_4_1.tests.yml.
  size_t cases_files = 0;
  for (const auto& entry : fs::directory_iterator(VIGIL_SOURCE_DIR "/rules/aws/cis")) {
    std::string name = entry.path().filename().string();
    if (name.size() < 10 || name.find(".tests.yml") == std::string::npos) continue;
    int control = std::stoi(name.substr(6, 2));
    fs::path target = out / ("cis_4_" + std::to_string(control) + ".tests.yml");
    ASSERT_TRUE(fs::exists(out / ("cis_4_" + std::to_string(control) + ".yml"))) << target;
    fs::copy_file(entry.path(), target);
    ++cases_files;
  }
  EXPECT_EQ(cases_files, 15u);
  CmdResult pack = Vigil("rules test --json " VIGIL_SOURCE_DIR "/rules/aws/cis");
  CmdResult test = Vigil("rules test --json " + out.string());
  EXPECT_EQ(test.exit_code, 0) << test.out;
  EXPECT_EQ(Lines(test.out).size(), Lines(pack.out).size());
  EXPECT_GE(Lines(test.out).size(), 90u);
  EXPECT_EQ(test.out.find("\"passed\":false"), std::string::npos) << test.out;
}

TEST_F(E2ETest, UsageErrorsExitTwo) {
  EXPECT_EQ(Vigil("ingest").exit_code, 2);
  EXPECT_EQ(Vigil("nonsense").exit_code, 2);
  EXPECT_EQ(Vigil("alerts " + Data() + " --from yesterday").exit_code, 2);
  EXPECT_EQ(Vigil("ingest --help").exit_code, 0);
}

}  // namespace

// A correlation whose window spans two `vigil ingest` runs fires: its state is
// checkpointed in the metadata store at the end of the first run.
// Text logs (VPC flow logs here) land, are hunted by their own field names and
// are backtested like JSON ones; `--rules DIR` takes one directory and leaves
// the inputs after it to the command.
TEST_F(E2ETest, FlowLogsAreHuntedAndBacktestedByTheirFieldNames) {
  fs::create_directories(dir_ / "flow-rules");
  FILE* f = fopen((dir_ / "flow-rules" / "rdp_rejected.yml").c_str(), "w");
  fputs("title: RDP connection rejected\nid: 6b7d1f0e-0d44-4c55-9f11-0a0f3c1b2d01\nlevel: low\n"
        "logsource: {product: aws}\ndetection:\n    sel: {dstport: 3389, action: REJECT}\n    condition: sel\n",
        f);
  fclose(f);
  CmdResult in = Vigil("ingest --json " + Data() + " --rules " + (dir_ / "flow-rules").string() + " " +
                       VIGIL_SHARED_DATA "/vpcflow " VIGIL_SHARED_DATA "/alb");
  ASSERT_EQ(in.exit_code, 0) << in.out;
  auto s = ParseSummary(in.out);
  EXPECT_GT(s["events"], 30u) << in.out;
  EXPECT_EQ(s["errors"], 0u);
  EXPECT_EQ(s["alerts"], 1u) << in.out;
  CmdResult hunt = Vigil("hunt --json " + Data() + " 'dstport=3389 action=REJECT'");
  ASSERT_EQ(hunt.exit_code, 0);
  auto lines = Lines(hunt.out);
  ASSERT_EQ(lines.size(), 1u) << hunt.out;
  simdjson::dom::parser parser;
  simdjson::dom::element rec;
  ASSERT_EQ(parser.parse(lines[0]).get(rec), simdjson::SUCCESS) << lines[0];
  EXPECT_EQ(std::string_view(rec["source_type"].get_string().value()), "vpcflow");
  EXPECT_NE(std::string_view(rec["raw"].get_string().value()).find(" 3389 6 20 4249 "), std::string::npos) << lines[0];
  CmdResult alb = Vigil("hunt --json " + Data() + " 'elb_status_code=502'");
  EXPECT_GE(Lines(alb.out).size(), 1u) << alb.out;
  CmdResult bt = Vigil("rules backtest --json " + Data() + " " + (dir_ / "flow-rules").string());
  ASSERT_EQ(bt.exit_code, 0) << bt.out;
  EXPECT_NE(bt.out.find("\"alerts\":1"), std::string::npos) << bt.out;
}

TEST_F(E2ETest, CorrelationWindowSpansTwoIngestRuns) {
  fs::create_directories(dir_ / "corr");
  auto write = [](const fs::path& p, const std::string& text) {
    FILE* f = fopen(p.c_str(), "w");
    fputs(text.c_str(), f);
    fclose(f);
  };
  write(dir_ / "corr" / "mr_denied_burst.yml",
        "title: Burst of denied calls\nid: 5d0f5a52-9a51-4c43-9d0e-2f1c2b0c0c01\nlevel: high\ncorrelation:\n"
        "    type: event_count\n    rules: [denied_call]\n    group-by: [userIdentity.arn]\n    timespan: 10m\n"
        "    condition: {gte: 3}\n---\ntitle: Denied call\nid: 5d0f5a52-9a51-4c43-9d0e-2f1c2b0c0c02\n"
        "name: denied_call\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n"
        "    sel: {errorCode: AccessDenied}\n    condition: sel\n");
  auto record = [](int n, const std::string& time) {
    return R"({"eventVersion":"1.08","eventName":"GetObject","eventSource":"s3.amazonaws.com","errorCode":"AccessDenied",)"
           R"("eventTime":")" + time + R"(","eventID":"00000000-0000-0000-0000-00000000010)" + std::to_string(n) +
           R"(","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/mallory"}})";
  };
  write(dir_ / "run1.json", "[" + record(1, "2024-07-31T13:00:00Z") + "," + record(2, "2024-07-31T13:02:00Z") + "]");
  write(dir_ / "run2.json", "[" + record(3, "2024-07-31T13:04:00Z") + "]");
  const std::string rules = " --rules " + (dir_ / "corr").string() + " ";
  ASSERT_EQ(Vigil("ingest --json " + Data() + rules + (dir_ / "run1.json").string()).exit_code, 0);
  EXPECT_EQ(Vigil("alerts --json " + Data()).out.find("Burst of denied calls"), std::string::npos);
  ASSERT_EQ(Vigil("ingest --json " + Data() + rules + (dir_ / "run2.json").string()).exit_code, 0);
  const std::string alerts = Vigil("alerts --json " + Data()).out;
  EXPECT_NE(alerts.find("Burst of denied calls"), std::string::npos) << alerts;
  EXPECT_NE(alerts.find("\"entity\":\"arn:aws:iam::1:user/mallory\""), std::string::npos) << alerts;
  // It says why: the group, and the window from the first run's first event
  // to the second run's event.
  EXPECT_NE(alerts.find(R"("match":{"correlation":"event_count","group_by":{"userIdentity.arn":)"
                        R"("arn:aws:iam::1:user/mallory"},"window_start":"2024-07-31T13:00:00Z",)"
                        R"("window_end":"2024-07-31T13:04:00Z","condition":"gte 3")"),
            std::string::npos)
      << alerts;
  // The base rule does not alert on its own (generate defaults to false).
  EXPECT_EQ(alerts.find("\"title\":\"Denied call\""), std::string::npos) << alerts;
  // A backtest of the same file over the stored events raises the same alert,
  // by the correlation's id, and nothing for the base rule.
  CmdResult bt = Vigil("rules backtest --json " + Data() + " " + (dir_ / "corr").string());
  ASSERT_EQ(bt.exit_code, 0) << bt.out;
  auto lines = Lines(bt.out);
  ASSERT_EQ(lines.size(), 2u) << bt.out;
  for (const auto& line : lines) {
    if (line.find("5d0f5a52-9a51-4c43-9d0e-2f1c2b0c0c01") != std::string::npos) {
      EXPECT_NE(line.find("\"alerts\":1"), std::string::npos) << line;
    } else {
      EXPECT_NE(line.find("\"alerts\":0"), std::string::npos) << line;
    }
  }
}
