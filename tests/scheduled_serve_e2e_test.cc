// End-to-end: `vigil serve` runs a scheduled rule (a hunt query on a timer)
// over what is stored, raises one alert per result row, logs the run, and
// does not run the same window again after a restart.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "run_vigil.h"
#include "serve_test_util.h"

namespace {

namespace fs = std::filesystem;
using vigil::testing::ReadText;
using vigil::testing::ServeProcess;
using vigil::testing::Vigil;

const fs::path kStratus = VIGIL_SHARED_DATA "/cloudtrail/stratus-red-team/docs/detonation-logs";
constexpr char kRuleId[] = "3b9f6d2e-8c41-4a7e-b0d5-1f2e3a4b5c6d";

bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(ScheduledServeE2ETest, ServeRunsTheRuleOncePerWindowAndRaisesAlertsPerRow) {
  const fs::path dir = fs::temp_directory_path() / ("vigil-scheduled-serve-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "scheduled");
  const std::string data = "--data " + (dir / "data").string();
  ASSERT_EQ(Vigil("ingest --no-detect " + data + " " + kStratus.string()).exit_code, 0);
  // Direct: event sources with more than 20 events.
  std::map<std::string, uint64_t> per_source;
  simdjson::dom::parser parser;
  for (const auto& entry : fs::directory_iterator(kStratus)) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.load(entry.path().string()).get(doc), simdjson::SUCCESS);
    for (simdjson::dom::element rec : doc.get_array()) ++per_source[std::string(rec["eventSource"].get_string().value())];
  }
  size_t want = 0;
  for (const auto& [src, n] : per_source) want += n > 20;
  ASSERT_GT(want, 0u);
  // The window reaches back far enough to cover the 2024 detonation logs.
  std::ofstream(dir / "scheduled" / "busy_services.yml") << "title: Busy service\nid: " << kRuleId
                                                           << "\nlevel: low\nschedule: 1h\nwindow: 36500d\n"
                                                              "query: '| stats count() AS calls by eventSource | "
                                                              "where calls > 20'\n";
  const fs::path config = dir / "serve.yaml";
  std::ofstream(config) << vigil::testing::ServeConfigYaml(
      dir / "data", "pipeline:\n  scheduled_rules: [" + (dir / "scheduled").string() + "]\n");
  const fs::path log = dir / "serve.log";
  auto alerts = [&] { return Vigil("alerts --json " + data).out; };
  {
    ServeProcess serve(config.string(), log);
    ASSERT_GT(serve.WaitForPort(), 0) << ReadText(log);
    ASSERT_TRUE(WaitFor([&] { return ReadText(log).find("msg=\"scheduled rule ran\"") != std::string::npos; }))
        << ReadText(log);
    EXPECT_NE(ReadText(log).find("rows=" + std::to_string(want)), std::string::npos) << ReadText(log);
    ASSERT_TRUE(WaitFor([&] { return Count(alerts(), kRuleId) == want; })) << alerts();
    serve.Signal(SIGTERM);
    EXPECT_EQ(serve.Wait(), 0);
  }
  const std::string before = alerts();
  for (const auto& [src, n] : per_source) {
    if (n > 20) EXPECT_NE(before.find("\"entity\":\"" + src + "\""), std::string::npos) << src;
  }
  // Restarted within the same hour: the window already ran.
  {
    ServeProcess serve(config.string(), log);
    ASSERT_GT(serve.WaitForPort(), 0) << ReadText(log);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    serve.Signal(SIGTERM);
    EXPECT_EQ(serve.Wait(), 0);
  }
  const std::string text = ReadText(log);
  // One run unless the restart crossed an hour boundary (then a new window ran).
  EXPECT_GE(Count(text, "msg=\"scheduled rule ran\""), 1u);
  if (Count(text, "msg=\"scheduled rule ran\"") == 1) EXPECT_EQ(alerts(), before);
  // A broken scheduled rule stops start-up with the file named.
  std::ofstream(dir / "scheduled" / "broken.yml") << "title: x\nid: y\nschedule: 1h\nquery: '| stats cnt()'\n";
  {
    ServeProcess serve(config.string(), log);
    EXPECT_EQ(serve.WaitForPort(std::chrono::seconds(10)), 0);
    EXPECT_NE(serve.Wait(), 0);
  }
  EXPECT_NE(ReadText(log).find("broken.yml"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
