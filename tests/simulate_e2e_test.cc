// End-to-end: `vigil simulate` through the command line. Its files ingest
// with no dead letter, its summary and labels agree with what lands, and it
// streams to a running `vigil serve` over the HTTP ingest API.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "run_vigil.h"
#include "serve_test_util.h"

namespace {

namespace fs = std::filesystem;
using vigil::testing::Vigil;

class SimulateE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-simulate-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

uint64_t Field(const std::string& json, const char* key) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  uint64_t v = 0;
  if (parser.parse(json).get(doc) || doc[key].get(v)) return ~uint64_t{0};
  return v;
}

TEST_F(SimulateE2ETest, HelpAndAttackList) {
  auto help = Vigil("simulate --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* opt : {"--attack", "--attacks", "--days", "--principals", "--events", "--to", "--token", "--speed", "--json"})
    EXPECT_NE(help.out.find(opt), std::string::npos) << opt;
  auto list = Vigil("simulate --list-attacks --json");
  EXPECT_EQ(list.exit_code, 0);
  size_t lines = 0;
  simdjson::dom::parser parser;
  for (size_t at = 0, nl; (nl = list.out.find('\n', at)) != std::string::npos; at = nl + 1) {
    simdjson::dom::element doc;
    ASSERT_FALSE(parser.parse(list.out.substr(at, nl - at)).get(doc));
    std::string_view finding;
    EXPECT_FALSE(doc["finding_type"].get(finding));
    ++lines;
  }
  EXPECT_GE(lines, 20u);
  EXPECT_EQ(Vigil("simulate --attack no-such-thing --out " + (dir_ / "x").string()).exit_code, 2);
}

TEST_F(SimulateE2ETest, GeneratedFilesIngestWithoutDeadLetters) {
  const std::string out = (dir_ / "sim").string();
  auto sim = Vigil("simulate --days 2 --events 3000 --principals 20 --attacks all --json --out " + out);
  ASSERT_EQ(sim.exit_code, 0) << sim.out;
  const uint64_t records = Field(sim.out, "records");
  ASSERT_GT(records, 5000u);
  ASSERT_NE(records, ~uint64_t{0});
  for (const char* f : {"labels.jsonl", "geoip.csv", "intel/threat-ips.txt", "intel/threat-domains.txt", "org.json"})
    EXPECT_TRUE(fs::exists(dir_ / "sim" / f)) << f;

  auto ingest = Vigil("ingest --json --data " + (dir_ / "data").string() + " " + out + "/logs");
  EXPECT_EQ(ingest.exit_code, 0) << ingest.out;
  EXPECT_EQ(Field(ingest.out, "errors"), 0u) << ingest.out;
  EXPECT_EQ(Field(ingest.out, "failed_inputs"), 0u) << ingest.out;
  EXPECT_EQ(Field(ingest.out, "skipped"), 0u) << ingest.out;
  EXPECT_EQ(Field(ingest.out, "events"), records) << ingest.out;
  EXPECT_EQ(Field(ingest.out, "files"), Field(sim.out, "files"));

  // A second run into the same directory needs --force, and then writes
  // the same bytes.
  EXPECT_EQ(Vigil("simulate --days 2 --events 3000 --principals 20 --attacks all --out " + out).exit_code, 2);
  const std::string labels = vigil::testing::ReadText(dir_ / "sim" / "labels.jsonl");
  auto again = Vigil("simulate --force --days 2 --events 3000 --principals 20 --attacks all --json --out " + out);
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(vigil::testing::ReadText(dir_ / "sim" / "labels.jsonl"), labels);
  EXPECT_EQ(Field(again.out, "bytes"), Field(sim.out, "bytes"));
}

TEST_F(SimulateE2ETest, StreamsToServe) {
  const std::string data = (dir_ / "data").string();
  std::ofstream(dir_ / "serve.yaml") << "data_dir: " << data << "\n"
                                     << "http: {port: 0}\n"
                                     << "ingest: {tokens: [sim-token]}\n"
                                     << "pipeline: {commit_interval_ms: 50}\n";
  vigil::testing::ServeProcess serve((dir_ / "serve.yaml").string(), dir_ / "serve.log");
  const int port = serve.WaitForPort();
  ASSERT_GT(port, 0) << vigil::testing::ReadText(dir_ / "serve.log");
  auto sim = Vigil("simulate --json --speed 0 --events 1500 --principals 10 --attack c2-beaconing --attack trail-stopped"
                   " --to http://127.0.0.1:" + std::to_string(port) + " --token sim-token --out " + (dir_ / "sim").string());
  ASSERT_EQ(sim.exit_code, 0) << sim.out;
  const uint64_t records = Field(sim.out, "records");
  EXPECT_GT(Field(sim.out, "posted_requests"), 0u);
  EXPECT_TRUE(fs::exists(dir_ / "sim" / "labels.jsonl"));
  // Every record reached the server and was stored (a dead-lettered one
  // would not be).
  httplib::Client client("127.0.0.1", port);
  auto counter = [](const std::string& metrics, const std::string& key) -> uint64_t {
    const size_t at = metrics.find(key + " ");
    return at == std::string::npos ? 0 : std::stoull(metrics.substr(at + key.size() + 1));
  };
  std::string metrics;
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30); std::chrono::steady_clock::now() < end;) {
    auto m = client.Get("/metrics");
    ASSERT_TRUE(m);
    metrics = m->body;
    if (counter(metrics, "vigil_events_stored_total{source=\"http\"}") >= records) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(counter(metrics, "vigil_received_records_total{source=\"http\"}"), records);
  EXPECT_EQ(counter(metrics, "vigil_events_stored_total{source=\"http\"}"), records) << metrics;
  // A wrong token is refused with a clear error.
  auto bad = Vigil("simulate --speed 0 --events 200 --principals 4 --to http://127.0.0.1:" + std::to_string(port) +
                   " --token nope --out " + (dir_ / "sim2").string());
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
