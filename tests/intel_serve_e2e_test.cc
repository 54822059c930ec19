// End-to-end: threat-intel feeds through the `vigil` binary. `intel check`
// reports feeds and names broken ones; `ingest --intel` and `rules backtest
// --intel` raise the same findings; `vigil serve` with a feed raises the
// finding for a flow to a listed address, refuses a broken rewrite of the
// feed (logged with file and line) and keeps matching the old version, and
// takes a fixed rewrite on SIGHUP without a restart.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "run_vigil.h"
#include "serve_test_util.h"

namespace {

namespace fs = std::filesystem;
using vigil::testing::ReadText;
using vigil::testing::ServeProcess;
using vigil::testing::Vigil;

bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// A VPC flow log record (default format) from `src` at `start` (seconds) on
// interface `eni` (the alert's entity).
std::string Flow(const std::string& src, long start, const std::string& eni = "eni-0a1b2c3d") {
  return "2 123456789010 " + eni + " " + src + " 172.31.16.139 443 49152 6 10 840 " + std::to_string(start) + " " +
         std::to_string(start + 60) + " ACCEPT OK";
}

// Occurrences of `needle` in `text`.
size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

void WriteFeed(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::trunc) << text;
  // Moved on by a second so that the change is seen however coarse the clock.
  static int tick = 0;
  fs::last_write_time(p, fs::file_time_type::clock::now() + std::chrono::seconds(++tick));
}

TEST(IntelServeE2ETest, FindingsAndReloadsWithoutRestart) {
  const fs::path dir = fs::temp_directory_path() / ("vigil-intel-e2e-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path feed = dir / "c2.txt";
  WriteFeed(feed, "# C2 servers\n203.0.113.12\n");
  const std::string data = (dir / "data").string();
  std::ofstream(dir / "serve.yaml") << vigil::testing::ServeConfigYaml(dir / "data")
                                    << "intel:\n  reload_seconds: 1\n  feeds:\n    - path: " << feed.string()
                                    << "\n      category: c2\n      confidence: 90\n";
  const fs::path log = dir / "serve.log";
  ServeProcess serve((dir / "serve.yaml").string(), log);
  const int port = serve.WaitForPort();
  ASSERT_GT(port, 0) << ReadText(log);
  httplib::Client client("127.0.0.1", port);
  auto post = [&](const std::string& line) {
    auto r = client.Post("/api/v1/ingest?type=vpcflow", {{"Authorization", "Bearer crash-test-token"}}, line,
                         "text/plain");
    ASSERT_TRUE(r) << "no answer";
    ASSERT_EQ(r->status, 200) << r->body;
  };
  auto alerts = [&] { return Vigil("alerts --json --data " + data).out; };
  const std::string c2 = "\"finding_type\":\"Backdoor:EC2/C&CActivity.B\"";

  post(Flow("203.0.113.12", 1700000000));
  ASSERT_TRUE(WaitFor([&] { return alerts().find(c2) != std::string::npos; })) << alerts() << ReadText(log);
  std::string first = alerts();
  EXPECT_NE(first.find("\"indicator\":\"203.0.113.12\""), std::string::npos) << first;
  EXPECT_NE(first.find("\"confidence\":90"), std::string::npos) << first;
  EXPECT_NE(first.find("\"source\":\"" + feed.string() + ":2\""), std::string::npos) << first;

  // A broken rewrite: refused, named by file and line; the old list still matches.
  WriteFeed(feed, "203.0.113.12\n198.51.100.9\n198.51.100.999\n");
  ASSERT_TRUE(WaitFor([&] { return ReadText(log).find("intel feed not reloaded") != std::string::npos; }))
      << ReadText(log);
  EXPECT_NE(ReadText(log).find(feed.string() + ":3: '198.51.100.999' is not an IP address"), std::string::npos)
      << ReadText(log);
  post(Flow("203.0.113.12", 1700000100));
  post(Flow("198.51.100.9", 1700000100));
  ASSERT_TRUE(WaitFor([&] { return alerts().find("\"count\":2") != std::string::npos; })) << alerts();
  EXPECT_EQ(alerts().find("198.51.100.9"), std::string::npos) << "the broken version was not taken";

  // Fixed, and taken at once on SIGHUP: the new list replaces the old.
  WriteFeed(feed, "198.51.100.9\n");
  serve.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return ReadText(log).find("msg=\"intel feed reloaded\"") != std::string::npos; }))
      << ReadText(log);
  post(Flow("198.51.100.9", 1700000200, "eni-0e0f0a0b"));
  post(Flow("203.0.113.12", 1700000200));
  ASSERT_TRUE(WaitFor([&] { return alerts().find("\"indicator\":\"198.51.100.9\"") != std::string::npos; }))
      << alerts();
  // Both records were stored before the check below: the second too.
  ASSERT_TRUE(WaitFor([&] {
    return Vigil("hunt --json --data " + data + " srcaddr=203.0.113.12").out.find("1700000200") != std::string::npos;
  }));
  // The first alert holds the two earlier flows and not the last one.
  EXPECT_EQ(Count(alerts(), "\"count\":2"), 1u) << alerts();
  EXPECT_EQ(Count(alerts(), "\"count\":3"), 0u) << "203.0.113.12 is no longer listed: " << alerts();

  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0);
  fs::remove_all(dir);
}

TEST(IntelCliE2ETest, CheckIngestAndBacktest) {
  const fs::path dir = fs::temp_directory_path() / ("vigil-intel-cli-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string testdata = std::string(VIGIL_SOURCE_DIR) + "/src/intel/testdata/";
  auto check = Vigil("intel check --json " + testdata + "stix-bundle.json " + testdata + "blocklist.txt");
  EXPECT_EQ(check.exit_code, 0);
  EXPECT_NE(check.out.find("\"name\":\"stix-bundle\",\"format\":\"stix\",\"indicators\":6,\"ipv4\":1,\"ipv6\":0,"
                           "\"cidr4\":1,\"cidr6\":1,\"domains\":3,\"skipped\":{\"pattern on file\":1,"),
            std::string::npos)
      << check.out;
  EXPECT_NE(check.out.find("\"name\":\"blocklist\",\"format\":\"list\",\"indicators\":6,"), std::string::npos)
      << check.out;
  std::ofstream(dir / "broken.csv") << "ip,confidence\n192.0.2.1,120\n";
  auto broken = Vigil("intel check --json " + (dir / "broken.csv").string());
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.out.find("\"ok\":false,\"error\":\"" + (dir / "broken.csv").string() + ":2: confidence '120'"),
            std::string::npos)
      << broken.out;
  EXPECT_EQ(Vigil("intel check").exit_code, 2);  // FEED is required

  // The same feed in ingest and in a backtest: the same findings.
  const std::string data = (dir / "data").string();
  const std::string feed = testdata + "real-logs-feed.txt";
  const std::string logs = std::string(VIGIL_SHARED_DATA) + "/vpcflow/elastic-integrations-test-tgw-samples.excerpt.log";
  auto ingest = Vigil("ingest --json --data " + data + " --intel " + feed + " " + logs);
  EXPECT_EQ(ingest.exit_code, 0) << ingest.out;
  auto alerts = Vigil("alerts --json --data " + data).out;
  EXPECT_EQ(Count(alerts, "\"finding_type\":\"Trojan:EC2/DropPoint\""), 2u) << alerts;
  EXPECT_EQ(Count(alerts, "\"finding_type\":\"Backdoor:EC2/C&CActivity.B\""), 1u) << alerts;
  auto backtest = Vigil("rules backtest --json --data " + data + " --intel " + feed);
  EXPECT_EQ(backtest.exit_code, 0);
  EXPECT_NE(backtest.out.find("{\"rule\":\"intel-ec2-drop-point-ip\",\"title\":\"Traffic with a known drop point for "
                              "stolen data\",\"events_scanned\":5,\"matches\":2,\"alerts\":2"),
            std::string::npos)
      << backtest.out;
  EXPECT_NE(backtest.out.find("\"rule\":\"intel-ec2-c2-ip\""), std::string::npos) << backtest.out;
  EXPECT_EQ(Vigil("rules backtest --data " + data).exit_code, 2);  // neither rules nor --intel
  EXPECT_EQ(Vigil("ingest --data " + data + " --no-detect --intel " + feed + " " + logs).exit_code, 2);
  fs::remove_all(dir);
}

}  // namespace
