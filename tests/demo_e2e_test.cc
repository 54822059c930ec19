// End-to-end: `vigil demo` streams a simulated organisation into a real
// `vigil serve`, shows alerts while the stream runs, and sums up what it saw;
// `--follow` runs until a signal and then sums up too. Short runs: a day of
// history, a small estate, a day in a few seconds.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "run_vigil.h"

namespace {

namespace fs = std::filesystem;
using vigil::testing::Vigil;

std::string ReadText(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class DemoE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-demo-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// The output of `demo --json`: alert lines, then one summary line.
struct DemoOutput {
  std::vector<std::string> lines;
  std::string summary;
  size_t alert_lines = 0;
  size_t streaming_alerts = 0;                         // seen while the stream still ran
  std::map<std::string, std::set<std::string>> detects;  // scenario label id -> alert entities naming it
  std::set<std::string> entities;
  std::map<std::string, size_t> severities;
};

DemoOutput Parse(const std::string& out) {
  DemoOutput d;
  simdjson::dom::parser parser;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    simdjson::dom::element doc;
    if (parser.parse(line).get(doc)) {
      ADD_FAILURE() << "not JSON: " << line;
      continue;
    }
    std::string_view type;
    EXPECT_FALSE(doc["type"].get(type)) << line;
    if (type == "summary") {
      d.summary = line;
      continue;
    }
    EXPECT_EQ(type, "alert");
    ++d.alert_lines;
    bool streaming = false;
    EXPECT_FALSE(doc["streaming"].get(streaming));
    d.streaming_alerts += streaming;
    std::string_view entity, severity;
    EXPECT_FALSE(doc["alert"]["entity"].get(entity));
    EXPECT_FALSE(doc["alert"]["severity"].get(severity));
    d.entities.insert(std::string(entity));
    ++d.severities[std::string(severity)];
    simdjson::dom::array detects;
    EXPECT_FALSE(doc["detects"].get(detects));
    for (simdjson::dom::element id : detects) d.detects[std::string(std::string_view(id))].insert(std::string(entity));
  }
  return d;
}

uint64_t Num(simdjson::dom::element doc, const char* key) {
  uint64_t v = ~uint64_t{0};
  EXPECT_FALSE(doc[key].get(v)) << key;
  return v;
}

TEST_F(DemoE2ETest, Help) {
  auto help = Vigil("demo --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* opt : {"--follow", "--json", "--speed", "--history-days", "--data", "--attack", "--min-severity"})
    EXPECT_NE(help.out.find(opt), std::string::npos) << opt;
  EXPECT_EQ(Vigil("demo --min-severity loud").exit_code, 2);
  EXPECT_EQ(Vigil("demo --attack no-such-attack").exit_code, 2);
}

// A live day with a few attacks: alerts arrive while the stream runs, the
// summary agrees with them and with the labels, and --data keeps the files.
TEST_F(DemoE2ETest, StreamsIntoServeAndShowsAlertsLive) {
  const fs::path data = dir_ / "demo";
  const std::vector<std::string> attacks = {"trail-stopped", "root-usage", "threat-intel-ip", "dga-domains",
                                            "secrets-mass-retrieval"};
  std::string args = "demo --json --history-days 1 --events 1500 --principals 8 --speed 7200 --min-severity "
                     "informational --data " + data.string();
  for (const auto& a : attacks) args += " --attack " + a;
  auto run = Vigil(args);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  DemoOutput out = Parse(run.out);
  ASSERT_FALSE(out.summary.empty()) << run.out;
  EXPECT_GE(out.streaming_alerts, 1u) << "no alert arrived while the day was streaming";

  simdjson::dom::parser parser;
  simdjson::dom::element s;
  ASSERT_FALSE(parser.parse(out.summary).get(s));
  // Everything sent was stored, and nothing was unreadable.
  const uint64_t sent = Num(s, "events_sent");
  EXPECT_GT(sent, 2000u);
  EXPECT_EQ(Num(s, "events_stored"), sent);
  EXPECT_EQ(Num(s, "dead_letters"), 0u);
  EXPECT_EQ(Num(s, "history_events") + Num(s, "live_events"), sent);
  EXPECT_GT(Num(s, "history_events"), 0u);
  // The counts are those of the alerts shown.
  EXPECT_EQ(Num(s, "alerts"), out.alert_lines);
  EXPECT_EQ(Num(s, "alerts_seen_while_streaming"), out.streaming_alerts);
  uint64_t by_severity = 0;
  for (const char* sev : {"critical", "high", "medium", "low", "informational"}) {
    uint64_t n = 0;
    EXPECT_FALSE(s["alerts_by_severity"][sev].get(n)) << sev;
    EXPECT_EQ(n, out.severities[sev]) << sev;
    by_severity += n;
  }
  EXPECT_EQ(by_severity, out.alert_lines);

  // One scenario per attack asked for, each in the labels file; those the
  // summary calls detected were named by an alert shown about their entity.
  EXPECT_EQ(Num(s, "scenarios_injected"), attacks.size());
  const std::string labels = ReadText(data / "sim" / "labels.jsonl");
  simdjson::dom::array scenarios;
  ASSERT_FALSE(s["scenarios"].get(scenarios));
  size_t detected = 0;
  std::set<std::string> names;
  for (simdjson::dom::element sc : scenarios) {
    std::string_view id, scenario, entity;
    bool is_detected = false;
    ASSERT_FALSE(sc["id"].get(id));
    ASSERT_FALSE(sc["scenario"].get(scenario));
    ASSERT_FALSE(sc["entity"].get(entity));
    ASSERT_FALSE(sc["detected"].get(is_detected));
    names.insert(std::string(scenario));
    EXPECT_NE(labels.find("\"id\":\"" + std::string(id) + "\""), std::string::npos) << id;
    if (!is_detected) {
      EXPECT_EQ(out.detects.count(std::string(id)), 0u) << id;
      continue;
    }
    ++detected;
    ASSERT_EQ(out.detects.count(std::string(id)), 1u) << id << " detected but no alert line says so";
    // Principal scenarios: the alert names the very ARN.
    if (scenario == "trail-stopped" || scenario == "root-usage") {
      EXPECT_EQ(out.detects[std::string(id)].count(std::string(entity)), 1u) << id;
    }
  }
  EXPECT_EQ(Num(s, "scenarios_detected"), detected);
  EXPECT_EQ(names, std::set<std::string>(attacks.begin(), attacks.end()));
  // Rule-based and intel detections need no learned baseline.
  for (const char* must : {"trail-stopped", "root-usage", "threat-intel-ip"}) {
    bool found = false;
    for (simdjson::dom::element sc : scenarios) {
      std::string_view scenario;
      bool is_detected = false;
      if (!sc["scenario"].get(scenario) && scenario == must && !sc["detected"].get(is_detected)) found = is_detected;
    }
    EXPECT_TRUE(found) << must << " was not detected";
  }
  EXPECT_GE(detected, 3u);

  // The server's data stays for `vigil alerts`: every live alert is there.
  auto stored = Vigil("alerts --json --data " + (data / "data").string());
  ASSERT_EQ(stored.exit_code, 0);
  size_t stored_alerts = 0;
  for (char c : stored.out) stored_alerts += c == '\n';
  EXPECT_GE(stored_alerts, out.alert_lines);
  for (const std::string& e : out.entities) EXPECT_NE(stored.out.find(e.substr(0, 20)), std::string::npos) << e;
  // The server was stopped cleanly.
  EXPECT_NE(ReadText(data / "serve.log").find("msg=stopped"), std::string::npos);

  // A directory that is not a demo's is never wiped.
  fs::create_directories(dir_ / "precious");
  std::ofstream(dir_ / "precious" / "keep.txt") << "x";
  EXPECT_EQ(Vigil("demo --history-days 0 --data " + (dir_ / "precious").string()).exit_code, 2);
  EXPECT_TRUE(fs::exists(dir_ / "precious" / "keep.txt"));
}

// --follow runs day after day until SIGTERM, then stops the server and
// prints the summary.
TEST_F(DemoE2ETest, FollowRunsUntilSignalled) {
  const fs::path data = dir_ / "follow";
  const fs::path out_path = dir_ / "out.jsonl";
  const std::string data_s = data.string(), out_s = out_path.string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int fd = ::open(out_s.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    const int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(null_fd, 2);
    ::execl(VIGIL_BINARY, VIGIL_BINARY, "demo", "--follow", "--json", "--history-days", "0", "--events", "800",
            "--principals", "6", "--speed", "43200", "--attack", "trail-stopped", "--min-severity", "informational", "--data", data_s.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Let it run into the second simulated day (a day is two seconds).
  bool second_day = false;
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
       std::chrono::steady_clock::now() < end && !second_day;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::string out = ReadText(out_path);
    second_day = out.find("\"sim_time\":\"2025-03-04") != std::string::npos ||
                 out.find("\"sim_time\":\"2025-03-05") != std::string::npos;
  }
  EXPECT_TRUE(second_day) << ReadText(out_path);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  DemoOutput out = Parse(ReadText(out_path));
  ASSERT_FALSE(out.summary.empty());
  simdjson::dom::parser parser;
  simdjson::dom::element s;
  ASSERT_FALSE(parser.parse(out.summary).get(s));
  bool interrupted = false;
  EXPECT_FALSE(s["interrupted"].get(interrupted));
  EXPECT_TRUE(interrupted);
  EXPECT_EQ(Num(s, "events_stored"), Num(s, "events_sent"));
  // Attacks every day: at least the first day's was injected.
  EXPECT_GE(Num(s, "scenarios_injected"), 1u);
  EXPECT_NE(ReadText(data / "serve.log").find("msg=stopped"), std::string::npos) << "the server was not stopped";
}

}  // namespace
