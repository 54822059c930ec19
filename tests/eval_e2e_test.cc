// End-to-end: `vigil eval` on a small seeded simulation, through the command
// line: the report covers every label, its counts add up, and the shipped
// packs detect the scenarios (a floor, not the figure of the day).
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "run_vigil.h"

namespace {

namespace fs = std::filesystem;
using vigil::testing::Vigil;

class EvalE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-eval-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

size_t Lines(const fs::path& p) {
  std::ifstream in(p);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.empty() ? 0 : 1;
  return n;
}

// A week (attacks come after a learning period of half the run), a small
// organisation, every scenario.
constexpr char kSmallRun[] = "--days 7 --principals 16 --events 4000 --seed 11";

TEST_F(EvalE2ETest, ScoresEveryLabelOfASeededRun) {
  const fs::path sim = dir_ / "sim";
  auto r = Vigil(std::string("eval --json ") + kSmallRun + " --out " + sim.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(r.out).get(doc)) << r.out;

  const size_t labels = Lines(sim / "labels.jsonl");
  ASSERT_GE(labels, 24u);  // every scenario, some with two stages
  uint64_t scenarios = 0, detected = 0, detections = 0, true_alerts = 0, false_alerts = 0, explained = 0;
  uint64_t events = 0, benign = 0, attack_records = 0;
  ASSERT_FALSE(doc["scenarios"].get(scenarios));
  EXPECT_EQ(scenarios, labels);
  simdjson::dom::array rows;
  ASSERT_FALSE(doc["labels"].get(rows));
  EXPECT_EQ(rows.size(), labels);
  size_t detected_rows = 0;
  for (simdjson::dom::element row : rows) {
    bool d = false;
    ASSERT_FALSE(row["detected"].get(d));
    simdjson::dom::array rules;
    ASSERT_FALSE(row["rules"].get(rules));
    if (d) {
      ++detected_rows;
      EXPECT_GT(rules.size(), 0u);  // a detection names what detected it
      double secs = -1;
      EXPECT_FALSE(row["seconds_to_detect"].get(secs));
      EXPECT_GE(secs, 0);
    } else {
      EXPECT_EQ(rules.size(), 0u);
    }
  }
  ASSERT_FALSE(doc["detected"].get(detected));
  EXPECT_EQ(detected, detected_rows);
  ASSERT_FALSE(doc["detections"].get(detections));
  ASSERT_FALSE(doc["true_alerts"].get(true_alerts));
  ASSERT_FALSE(doc["false_alerts"].get(false_alerts));
  ASSERT_FALSE(doc["explained"].get(explained));
  EXPECT_EQ(true_alerts + false_alerts, detections);
  EXPECT_EQ(explained, detections);  // every finding says why
  ASSERT_FALSE(doc["events"].get(events));
  ASSERT_FALSE(doc["benign_events"].get(benign));
  ASSERT_FALSE(doc["attack_records"].get(attack_records));
  EXPECT_EQ(benign + attack_records, events);
  EXPECT_GT(events, 20000u);

  // The targets for the shipped packs: at least 95% of scenarios detected.
  double recall = 0;
  ASSERT_FALSE(doc["recall"].get(recall));
  EXPECT_GE(recall, 0.95) << r.out;

  // ... and at most 2 false alerts per million benign events.
  double false_per_million = -1;
  ASSERT_FALSE(doc["false_alerts_per_million"].get(false_per_million));
  EXPECT_LE(false_per_million, 2.0) << r.out;

  // Scoring an existing simulation gives the same report as simulating first,
  // and passes the same targets as exit-status gates.
  auto again = Vigil("eval --json --min-recall 0.95 --max-false-per-million 2 " + sim.string());
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, r.out);

  // With no rules nothing is detected: the recall gate fails the run (exit 1),
  // and the report is still printed.
  const fs::path no_rules = dir_ / "no-rules";
  fs::create_directories(no_rules);
  const char* saved = std::getenv("VIGIL_RULES");
  const std::string saved_rules = saved ? saved : "";
  setenv("VIGIL_RULES", no_rules.c_str(), 1);
  auto gated = Vigil("eval --json --min-recall 0.95 " + sim.string());
  if (saved) setenv("VIGIL_RULES", saved_rules.c_str(), 1);
  else unsetenv("VIGIL_RULES");
  EXPECT_EQ(gated.exit_code, 1) << gated.out;
  EXPECT_NE(gated.out.find("\"detected\":"), std::string::npos) << gated.out;
}

TEST_F(EvalE2ETest, WithoutAttacksNoAlertIsATrueOne) {
  auto r = Vigil(std::string("eval --json --attacks none ") + kSmallRun);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_FALSE(parser.parse(r.out).get(doc)) << r.out;
  uint64_t scenarios = 1, true_alerts = 1, detections = 0, false_alerts = 0;
  ASSERT_FALSE(doc["scenarios"].get(scenarios));
  ASSERT_FALSE(doc["true_alerts"].get(true_alerts));
  ASSERT_FALSE(doc["detections"].get(detections));
  ASSERT_FALSE(doc["false_alerts"].get(false_alerts));
  EXPECT_EQ(scenarios, 0u);
  EXPECT_EQ(true_alerts, 0u);
  EXPECT_EQ(false_alerts, detections);
}

TEST_F(EvalE2ETest, HelpStatesTheDefinitionsAndBadInputFails) {
  auto help = Vigil("eval --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* s : {"--days", "--principals", "--seed", "--json", "--slack", "recall", "precision",
                        "false alerts per million", "org.json"})
    EXPECT_NE(help.out.find(s), std::string::npos) << s;
  EXPECT_EQ(Vigil("eval " + (dir_ / "missing").string()).exit_code, 2);
  EXPECT_EQ(Vigil("eval --slack soon " + (dir_ / "missing").string()).exit_code, 2);
}

}  // namespace
