// The AWS CloudTrail threat pack (rules/aws/threats) judged on an independent,
// labelled corpus: every CloudTrail rule of the Panther detection library with its
// test logs (shared/data/panther-tests). Each vigil rule names the Panther rules it
// stands in for in `covers`; their labelled logs become test cases of that vigil
// rule (`expected_result: true` -> `expect: match`, false -> `no_match`) and run
// through `vigil rules test --json`. Logs whose outcome depends on mocked helper
// state (`mocks`) cannot be decided from the record and are skipped. Every Panther
// CloudTrail rule must be covered by a vigil rule or listed, with its reason, in
// rules/aws/threats/UNCOVERED.md.
//
// The findings pack (rules/aws/findings) is judged the same way on Panther's
// GuardDuty and Security Finding Format rules, but each labelled log goes the
// way a delivered finding goes: content recognition must pick the guardduty or
// securityhub parser, which builds the event, and every shipped rule runs on it
// through the Sigma detector.
#include "run_vigil.h"
#include "test_files.h"
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "detect/sigma/rule_set.h"
#include "detect/sigma/sigma_detector.h"
#include "formats/guardduty.h"
#include "formats/parser.h"
#include "formats/securityhub.h"

namespace {

using vigil::testing::ReadFile;

namespace fs = std::filesystem;

const fs::path kPanther = VIGIL_SHARED_DATA "/panther-tests";
const fs::path kPack = VIGIL_SOURCE_DIR "/rules/aws/threats";

using vigil::testing::CmdResult;
using vigil::testing::Vigil;

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// A double-quoted YAML scalar (JSON string syntax, which YAML accepts).
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

struct PantherCase {
  std::string name;
  bool expected = false;
  bool mocked = false;
  bool other_log_type = false;  // multi-log-type rules also carry e.g. Okta logs
  std::string log_type;         // p_log_type; AWS.CloudTrail when absent
  std::string log_json;
};

struct PantherRule {
  std::string id;
  std::vector<PantherCase> cases;
};

// A Panther rule file's id and labelled logs; false when it has no rule_id.
bool ReadPantherRule(simdjson::dom::element doc, PantherRule* rule) {
  std::string_view id;
  if (doc["rule_id"].get(id)) return false;
  rule->id = std::string(id);
  simdjson::dom::array tests;
  if (doc["tests"].get(tests)) return true;
  for (simdjson::dom::element t : tests) {
    PantherCase c;
    std::string_view name;
    if (!t["name"].get(name)) c.name = std::string(name);
    bool expected = false;
    if (!t["expected_result"].get(expected)) c.expected = expected;
    simdjson::dom::element mocks;
    if (!t["mocks"].get(mocks) && !mocks.is_null()) {
      simdjson::dom::array arr;
      c.mocked = mocks.get(arr) ? true : arr.size() > 0;
    }
    simdjson::dom::element log;
    if (t["log"].get(log)) continue;
    std::string_view log_type;
    c.log_type = log["p_log_type"].get(log_type) ? "AWS.CloudTrail" : std::string(log_type);
    c.log_json = simdjson::minify(log);
    rule->cases.push_back(std::move(c));
  }
  return true;
}

// Every Panther rule whose log types include AWS.CloudTrail, with its labelled logs.
std::map<std::string, PantherRule> LoadPantherCloudTrailRules() {
  std::map<std::string, PantherRule> rules;
  simdjson::dom::parser index_parser;
  simdjson::dom::element index;
  if (index_parser.load((kPanther / "index.json").string()).get(index)) return rules;
  simdjson::dom::array entries;
  if (index["rules"].get(entries)) return rules;
  for (simdjson::dom::element entry : entries) {
    bool cloudtrail = false;
    simdjson::dom::array log_types;
    if (!entry["log_types"].get(log_types)) {
      for (simdjson::dom::element lt : log_types) {
        std::string_view v;
        if (!lt.get(v) && v == "AWS.CloudTrail") cloudtrail = true;
      }
    }
    if (!cloudtrail) continue;
    std::string_view file;
    if (entry["file"].get(file)) continue;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    PantherRule rule;
    if (parser.load((kPanther / std::string(file)).string()).get(doc) || !ReadPantherRule(doc, &rule)) continue;
    for (PantherCase& c : rule.cases) c.other_log_type = c.log_type != "AWS.CloudTrail";
    rules[rule.id] = std::move(rule);
  }
  return rules;
}

struct VigilRule {
  fs::path file;
  std::vector<std::string> covers;
};

// Threat pack rule files and their `covers` lists (a YAML block list under `covers:`).
std::vector<VigilRule> LoadThreatRules() {
  std::vector<VigilRule> out;
  for (const auto& e : fs::recursive_directory_iterator(kPack)) {
    if (!e.is_regular_file()) continue;
    std::string name = e.path().filename().string();
    bool is_tests = name.size() > 10 && name.substr(name.size() - 10) == ".tests.yml";
    if (e.path().extension() != ".yml" || is_tests) continue;
    VigilRule r;
    r.file = e.path();
    bool in_covers = false;
    for (const std::string& line : Lines(ReadFile(e.path()))) {
      if (line.rfind("covers:", 0) == 0) {
        in_covers = true;
        std::string rest = Trim(line.substr(7));
        if (!rest.empty() && rest.front() == '[') {  // flow list
          rest = rest.substr(1, rest.find(']') == std::string::npos ? std::string::npos : rest.find(']') - 1);
          std::stringstream ss(rest);
          std::string item;
          while (std::getline(ss, item, ',')) {
            if (!Trim(item).empty()) r.covers.push_back(Trim(item));
          }
          in_covers = false;
        }
        continue;
      }
      if (!in_covers) continue;
      std::string t = Trim(line);
      if (t.rfind("- ", 0) == 0) {
        std::string v = Trim(t.substr(2));
        if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"')) v = v.substr(1, v.size() - 2);
        r.covers.push_back(v);
      } else if (!t.empty() && t[0] != '#') {
        in_covers = false;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Rule ids listed in UNCOVERED.md: every `backticked` token that names a Panther rule.
std::set<std::string> LoadUncovered(const std::map<std::string, PantherRule>& panther,
                                    const fs::path& file = kPack / "UNCOVERED.md") {
  std::set<std::string> out;
  std::string md = ReadFile(file);
  size_t pos = 0;
  while ((pos = md.find('`', pos)) != std::string::npos) {
    size_t end = md.find('`', pos + 1);
    if (end == std::string::npos) break;
    std::string token = md.substr(pos + 1, end - pos - 1);
    if (panther.count(token)) out.insert(token);
    pos = end + 1;
  }
  return out;
}

TEST(PantherCloudTrail, ThreatPackAgreesWithEveryDecidableLabelledCase) {
  auto panther = LoadPantherCloudTrailRules();
  ASSERT_GT(panther.size(), 100u) << "Panther CloudTrail corpus not found under " << kPanther;
  auto vigil_rules = LoadThreatRules();
  ASSERT_FALSE(vigil_rules.empty()) << "no rules under " << kPack;
  auto uncovered = LoadUncovered(panther);

  fs::path tmp = fs::temp_directory_path() / ("vigil-panther-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);

  std::set<std::string> covered;
  size_t skipped_mocks = 0, skipped_other = 0, written = 0, n = 0;
  for (const VigilRule& vr : vigil_rules) {
    if (vr.covers.empty()) continue;
    std::string cases;
    for (const std::string& id : vr.covers) {
      auto it = panther.find(id);
      ASSERT_NE(it, panther.end()) << vr.file << " covers `" << id << "`, which is no Panther CloudTrail rule";
      covered.insert(id);
      for (const PantherCase& c : it->second.cases) {
        if (c.mocked) { ++skipped_mocks; continue; }
        if (c.other_log_type) { ++skipped_other; continue; }
        cases += "- name: " + Quote(id + " / " + c.name) + "\n";
        cases += std::string("  expect: ") + (c.expected ? "match" : "no_match") + "\n";
        cases += "  event: " + c.log_json + "\n";
        ++written;
      }
    }
    fs::path dir = tmp / std::to_string(n++);
    fs::create_directories(dir);
    fs::copy_file(vr.file, dir / "rule.yml");
    std::ofstream(dir / "rule.tests.yml") << (cases.empty() ? std::string("[]\n") : cases);
  }
  ASSERT_GT(written, 0u);

  CmdResult r = Vigil("rules test --json " + tmp.string());
  size_t passed = 0, failed = 0;
  simdjson::dom::parser parser;
  for (const std::string& line : Lines(r.out)) {
    if (Trim(line).empty()) continue;
    simdjson::dom::element doc;
    ASSERT_FALSE(parser.parse(line).get(doc)) << "not JSON: " << line;
    bool ok = false;
    std::string_view rule, name, detail;
    if (doc["passed"].get(ok)) ok = false;
    if (doc["rule"].get(rule)) rule = "?";
    if (doc["case"].get(name)) name = "?";
    if (doc["detail"].get(detail)) detail = "";
    // Only Panther's cases are judged here; the threshold correlations' own
    // sequence fixtures run with `vigil rules test rules/` (e2e).
    if (name == "(fixture)") continue;
    if (ok) {
      ++passed;
    } else {
      ++failed;
      ADD_FAILURE() << "rule " << rule << ", case \"" << name << "\": " << detail;
    }
  }
  fs::remove_all(tmp);

  std::vector<std::string> neither, both;
  for (const auto& [id, rule] : panther) {
    if (!covered.count(id) && !uncovered.count(id)) neither.push_back(id);
    if (covered.count(id) && uncovered.count(id)) both.push_back(id);
  }
  size_t rules_uncovered = 0;
  for (const auto& [id, rule] : panther) rules_uncovered += covered.count(id) ? 0 : 1;

  std::printf("[ panther ] panther cases: %zu passed, %zu failed, %zu skipped (mocks), %zu skipped (other log types); "
              "%zu of %zu Panther CloudTrail rules covered, %zu Panther rules uncovered\n",
              passed, failed, skipped_mocks, skipped_other, covered.size(), panther.size(), rules_uncovered);

  EXPECT_EQ(passed + failed, written) << "vigil rules test reported a different number of cases than were written";
  EXPECT_EQ(failed, 0u);
  for (const auto& id : neither) ADD_FAILURE() << "Panther rule " << id << " is neither covered nor listed in UNCOVERED.md";
  for (const auto& id : both) ADD_FAILURE() << "Panther rule " << id << " is covered and also listed in UNCOVERED.md";
}

}  // namespace

namespace {

const fs::path kRules = VIGIL_SOURCE_DIR "/rules";
const fs::path kFindingsPack = VIGIL_SOURCE_DIR "/rules/aws/findings";

struct FindingsDir {
  const char* dir;           // under panther-tests/
  std::string_view parser;   // the parser its logs must be recognised as
};

struct KeepEvents : vigil::ParseSink {
  std::vector<vigil::Event> events;
  std::vector<std::string> problems;
  void OnEvent(vigil::Event&& e) override { events.push_back(std::move(e)); }
  void OnDeadLetter(vigil::DeadLetter&& d) override { problems.push_back("dead letter: " + d.reason); }
  void OnWarning(std::string_view, std::string_view m) override { problems.push_back("warning: " + std::string(m)); }
};

// The Panther rules of one directory with their labelled logs.
std::map<std::string, PantherRule> LoadPantherDir(const fs::path& dir) {
  std::map<std::string, PantherRule> rules;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    PantherRule rule;
    if (parser.load(e.path().string()).get(doc) || !ReadPantherRule(doc, &rule)) continue;
    rules[rule.id] = std::move(rule);
  }
  return rules;
}

TEST(PantherFindings, FindingsPackAgreesWithEveryDecidableLabelledCase) {
  // Every shipped rule, so that a finding raising a CloudTrail rule shows too.
  vigil::RuleSet rule_set;
  vigil::LintReport report;
  ASSERT_TRUE(rule_set.LoadPath(kRules.string(), &report).ok());
  ASSERT_TRUE(report.errors.empty()) << report.ToJson();
  vigil::SigmaDetector detector(rule_set.SharedRules());
  std::map<std::string, std::vector<std::string>> covering;  // Panther id -> vigil rule ids
  std::set<std::string> findings_rules;
  for (size_t i = 0; i < rule_set.rules().size(); ++i) {
    const vigil::LoadedRule& r = rule_set.rules()[i];
    if (fs::path(r.file).parent_path() != kFindingsPack) continue;
    findings_rules.insert(r.rule->id());
    // Indexed on a field, so that CloudTrail events never evaluate them.
    EXPECT_NE(detector.IndexFieldOf(i), "") << r.file << " is evaluated for every event";
    for (const std::string& id : r.rule->covers()) covering[id].push_back(r.rule->id());
  }
  ASSERT_FALSE(findings_rules.empty()) << "no rules under " << kFindingsPack;

  const FindingsDir dirs[] = {{"aws_guardduty_rules", vigil::kGuardDuty},
                              {"aws_securityfinding_rules", vigil::kSecurityHub}};
  std::set<std::string> panther_ids;
  for (const FindingsDir& d : dirs) {
    auto panther = LoadPantherDir(kPanther / d.dir);
    ASSERT_FALSE(panther.empty()) << "no Panther rules under " << kPanther / d.dir;
    std::set<std::string> uncovered = LoadUncovered(panther);
    for (const auto& u : LoadUncovered(panther, kFindingsPack / "UNCOVERED.md")) uncovered.insert(u);
    size_t passed = 0, failed = 0, skipped = 0, covered = 0;
    for (const auto& [id, rule] : panther) {
      panther_ids.insert(id);
      auto cover = covering.find(id);
      if (cover == covering.end()) {
        EXPECT_TRUE(uncovered.count(id)) << "Panther rule " << id << " is neither covered nor listed in UNCOVERED.md";
        continue;
      }
      EXPECT_FALSE(uncovered.count(id)) << "Panther rule " << id << " is covered and also listed in UNCOVERED.md";
      ++covered;
      for (const PantherCase& c : rule.cases) {
        if (c.mocked) {
          ++skipped;
          continue;
        }
        std::string where = id + " / " + c.name;
        const vigil::Parser* parser = vigil::ParserRegistry::Default().Recognize(c.log_json);
        KeepEvents sink;
        vigil::Status st = parser ? parser->Parse(vigil::ParseInput{where, c.log_json, 0}, sink)
                                  : vigil::Status::InvalidArgument("not recognised");
        bool ok = st.ok() && parser->name() == d.parser && sink.events.size() == 1 && sink.problems.empty();
        std::set<std::string> raised;
        if (ok) {
          detector.Process(sink.events[0], [&](const vigil::Event&, const vigil::Match& m) { raised.insert(std::string(m.rule_id)); });
        }
        bool by_cover = false;
        for (const std::string& v : cover->second) by_cover = by_cover || raised.count(v) > 0;
        std::vector<std::string> strays;  // shipped rules outside the findings pack
        for (const std::string& r : raised)
          if (!findings_rules.count(r)) strays.push_back(r);
        if (ok && by_cover == c.expected && strays.empty()) {
          ++passed;
          continue;
        }
        ++failed;
        std::string why = !st.ok()                        ? st.ToString()
                          : parser->name() != d.parser    ? "recognised as " + std::string(parser->name())
                          : sink.events.size() != 1       ? std::to_string(sink.events.size()) + " events"
                          : !sink.problems.empty()        ? sink.problems[0]
                          : !strays.empty()               ? "also raised rule " + strays[0]
                          : c.expected                    ? "expected a match, got none"
                                                          : "expected no match, got one";
        ADD_FAILURE() << where << ": " << why;
      }
    }
    std::printf("[ panther ] %s: %zu passed, %zu failed, %zu skipped (mocks); %zu of %zu Panther rules covered\n", d.dir,
                passed, failed, skipped, covered, panther.size());
    EXPECT_GT(passed, 0u);
  }
  for (const auto& [id, rules] : covering)
    EXPECT_TRUE(panther_ids.count(id)) << "a findings rule covers `" << id << "`, which is no Panther finding rule";
}

}  // namespace
