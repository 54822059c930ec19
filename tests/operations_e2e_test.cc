// End-to-end, docs/operations.md through the `vigil` command on real logs
// (Stratus Red Team CloudTrail, VPC flow log documentation examples):
// encryption at rest (hunts over encrypted data answer exactly what they
// answer over plain data, a wrong or missing key is a clear error, key
// rotation leaves every segment file byte-for-byte unchanged) and data
// minimisation from a configuration file.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "serve_test_util.h"

namespace {

namespace fs = std::filesystem;

const fs::path kStratus = VIGIL_SHARED_DATA "/cloudtrail/stratus-red-team/docs/detonation-logs";
const fs::path kVpcFlows = VIGIL_SHARED_DATA "/vpcflow/awsdocs-examples.log";

struct VigilRun {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `vigil <args>` with `env` prepended (e.g. "VIGIL_MASTER_KEY=... ").
VigilRun Vigil(const std::string& args, const std::string& env = "") {
  static int n = 0;
  const fs::path err_file = fs::temp_directory_path() / ("vigil-enc-e2e-" + std::to_string(::getpid()) + "-" +
                                                         std::to_string(n++) + ".err");
  std::string cmd = env + std::string(VIGIL_BINARY) + " " + args + " 2>" + err_file.string();
  VigilRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[65536];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(err_file);
  std::stringstream ss;
  ss << f.rdbuf();
  r.err = ss.str();
  fs::remove(err_file);
  return r;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every file under `dir` whose name ends with `suffix`, with its bytes.
std::map<std::string, std::string> Files(const fs::path& dir, const std::string& suffix) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().string();
    if (e.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out[name] = ReadFile(e.path());
  }
  return out;
}

class OperationsE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-enc-e2e-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Plain() const { return "--data " + (dir_ / "plain").string(); }
  std::string Enc() const { return "--data " + (dir_ / "enc").string(); }
  std::string Key(const std::string& name) const { return "--key-file " + (dir_ / (name + ".key")).string(); }
  fs::path dir_;
};

TEST_F(OperationsE2ETest, HuntsMatchPlainDataWrongKeysFailAndRotationRewritesNoSegment) {
  for (const char* id : {"alpha", "beta"}) {
    VigilRun gen = Vigil("keys generate --id " + std::string(id) + " --out " + (dir_ / (std::string(id) + ".key")).string());
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    EXPECT_EQ(gen.err, "");
    EXPECT_EQ(fs::status(dir_ / (std::string(id) + ".key")).permissions() & fs::perms::group_all, fs::perms::none);
  }
  fs::copy_file(dir_ / "alpha.key", dir_ / "open.key");
  fs::permissions(dir_ / "open.key", fs::perms::others_read, fs::perm_options::add);
  VigilRun open_key = Vigil("keys rotate --data " + (dir_ / "none").string() + " --key-file " +
                            (dir_ / "open.key").string());
  EXPECT_NE(open_key.err.find("is readable by other users"), std::string::npos) << open_key.err;
  ASSERT_EQ(Vigil("ingest --json --no-detect " + Plain() + " " + kStratus.string()).exit_code, 0);
  VigilRun ingest = Vigil("ingest --json --no-detect " + Enc() + " " + Key("alpha") + " " + kStratus.string());
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_NE(ingest.out.find("\"events\":310"), std::string::npos) << ingest.out;

  const std::vector<std::string> queries = {
      "", "eventName=GetSecretValue", "sourceIPAddress=*", "source=cloudtrail errorCode=AccessDenied*"};
  std::map<std::string, std::string> plain_out;
  for (const auto& q : queries) {
    VigilRun p = Vigil("hunt --json " + Plain() + " '" + q + "'");
    ASSERT_EQ(p.exit_code, 0) << p.err;
    plain_out[q] = p.out;
    VigilRun e = Vigil("hunt --json " + Enc() + " " + Key("alpha") + " '" + q + "'");
    ASSERT_EQ(e.exit_code, 0) << e.err;
    EXPECT_EQ(e.out, p.out) << q;
  }
  EXPECT_GT(std::count(plain_out[""].begin(), plain_out[""].end(), '\n'), 300);
  // The key from the environment, as a service would get it.
  VigilRun from_env = Vigil("hunt --json " + Enc() + " ''",
                       "VIGIL_MASTER_KEY=$(grep -v '^#' " + (dir_ / "alpha.key").string() + ") ");
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
  EXPECT_EQ(from_env.out, plain_out[""]);

  // No key, or the wrong one: an error naming a segment and the key ids; no output.
  VigilRun none = Vigil("hunt --json " + Enc() + " ''");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(none.out.empty());
  EXPECT_NE(none.err.find("is encrypted (master key alpha); no master key was given"), std::string::npos) << none.err;
  VigilRun wrong = Vigil("hunt --json " + Enc() + " " + Key("beta") + " ''");
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_TRUE(wrong.out.empty());
  EXPECT_NE(wrong.err.find("master key beta does not open segment " + (dir_ / "enc" / "events").string()),
            std::string::npos)
      << wrong.err;
  EXPECT_NE(wrong.err.find("wrapped by master key alpha"), std::string::npos) << wrong.err;
  // Rules run over stored events need the key as hunts do.
  const std::string rule = std::string(VIGIL_SOURCE_DIR) + "/rules/aws/cis/cis_4_05_cloudtrail_config_changes.yml";
  VigilRun backtest_plain = Vigil("rules backtest --json " + Plain() + " " + rule);
  VigilRun backtest_enc = Vigil("rules backtest --json " + Enc() + " " + Key("alpha") + " " + rule);
  EXPECT_EQ(backtest_plain.exit_code, 0) << backtest_plain.err;
  EXPECT_EQ(backtest_enc.exit_code, 0) << backtest_enc.err;
  EXPECT_NE(backtest_plain.out.find("\"alerts\":"), std::string::npos) << backtest_plain.out;
  EXPECT_EQ(backtest_enc.out, backtest_plain.out);
  VigilRun backtest_keyless = Vigil("rules backtest --json " + Enc() + " " + rule);
  EXPECT_EQ(backtest_keyless.exit_code, 2);
  EXPECT_NE(backtest_keyless.err.find("is encrypted (master key alpha)"), std::string::npos) << backtest_keyless.err;
  // Once encrypted, writing without the key is refused.
  VigilRun plain_write = Vigil("ingest --no-detect " + Enc() + " " + kStratus.string());
  EXPECT_EQ(plain_write.exit_code, 2);
  EXPECT_NE(plain_write.err.find("give the master key"), std::string::npos) << plain_write.err;

  VigilRun status = Vigil("keys status --json " + Enc());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const auto segments = Files(dir_ / "enc" / "events", ".seg");
  ASSERT_FALSE(segments.empty());
  EXPECT_EQ(Files(dir_ / "enc" / "events", ".seg.key").size(), segments.size());
  const std::string n = std::to_string(segments.size());
  EXPECT_NE(status.out.find("\"encrypted_segments\":" + n), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("\"by_key\":{\"alpha\":" + n + "}"), std::string::npos) << status.out;

  // Rotate to beta: every key file re-wrapped, no segment byte changed.
  VigilRun rotate = Vigil("keys rotate --json " + Enc() + " " + Key("beta") + " " + Key("alpha"));
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  EXPECT_NE(rotate.out.find("\"rewrapped\":" + n + ",\"current\":0"), std::string::npos) << rotate.out;
  EXPECT_EQ(Files(dir_ / "enc" / "events", ".seg"), segments);
  VigilRun again = Vigil("keys rotate --json " + Enc() + " " + Key("beta") + " " + Key("alpha"));
  EXPECT_NE(again.out.find("\"rewrapped\":0,\"current\":" + n), std::string::npos) << again.out;
  status = Vigil("keys status --json " + Enc());
  EXPECT_NE(status.out.find("\"by_key\":{\"beta\":" + n + "}"), std::string::npos) << status.out;

  // The old key is no longer needed, and alone it no longer opens anything.
  for (const auto& q : queries) {
    VigilRun e = Vigil("hunt --json " + Enc() + " " + Key("beta") + " '" + q + "'");
    ASSERT_EQ(e.exit_code, 0) << e.err;
    EXPECT_EQ(e.out, plain_out[q]) << q;
  }
  VigilRun old_key = Vigil("hunt --json " + Enc() + " " + Key("alpha") + " ''");
  EXPECT_EQ(old_key.exit_code, 2);
  EXPECT_NE(old_key.err.find("master key alpha does not open segment"), std::string::npos) << old_key.err;
  // Rotation without the key that wraps the data names it.
  VigilRun orphan = Vigil("keys rotate --json " + Enc() + " " + Key("alpha"));
  EXPECT_EQ(orphan.exit_code, 1);
  EXPECT_NE(orphan.out.find("wrapped by master key beta"), std::string::npos) << orphan.out;
}


size_t CountLines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

TEST_F(OperationsE2ETest, IngestWithAConfigMinimisesEncryptsAndHuntsSeeTheResult) {
  ASSERT_EQ(Vigil("keys generate --id k1 --out " + (dir_ / "k1.key").string()).exit_code, 0);
  const fs::path config = dir_ / "vigil.yaml";
  std::ofstream(config) << "data_dir: " << (dir_ / "min").string() << "\n"
                        << "encryption:\n  key_files: [" << (dir_ / "k1.key").string() << "]\n"
                        << R"(minimise:
  - name: noisy-describes
    source: cloudtrail
    drop: 'readOnly=true eventName=Describe*'
  - name: accept-rollup
    source: vpcflow
    where: 'action=ACCEPT start=*'
    aggregate: {by: [srcaddr, dstaddr, srcport, dstport, protocol], sum: [bytes], window_seconds: 3600}
)";
  VigilRun ingest = Vigil("ingest --json --config " + config.string() + " " + kStratus.string() + " " +
                          kVpcFlows.string());
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  // 165 read-only Describe* calls of 310, and the 13 ACCEPT flows with a
  // start time of 21 flow records (src/ingest/pipeline_test.cc counts them
  // from the files).
  EXPECT_NE(ingest.out.find("\"events\":" + std::to_string(310 - 165 + 21 - 13)), std::string::npos) << ingest.out;
  EXPECT_NE(ingest.out.find("\"minimised\":178"), std::string::npos) << ingest.out;

  const std::string data = "--data " + (dir_ / "min").string() + " " + Key("k1");
  EXPECT_EQ(CountLines(Vigil("hunt --json " + data + " 'source=cloudtrail'").out), 145u);
  EXPECT_EQ(CountLines(Vigil("hunt --json " + data + " 'eventName=Describe* readOnly=true'").out), 0u);
  EXPECT_EQ(CountLines(Vigil("hunt --json " + data + " 'source=cloudtrail eventName=Describe*'").out), 0u);
  EXPECT_EQ(CountLines(Vigil("hunt --json " + data + " 'source=vpcflow action=REJECT'").out), 2u);
  // The summaries account for every aggregated flow, and are hunted by their fields.
  VigilRun summaries = Vigil("hunt --json " + data + " 'source=vpcflow.summary'");
  ASSERT_EQ(summaries.exit_code, 0) << summaries.err;
  size_t flows = 0;
  for (size_t at = 0; (at = summaries.out.find("\"count\":", at)) != std::string::npos; ++at)
    flows += std::stoul(summaries.out.substr(at + 8));
  EXPECT_EQ(flows, 13u);
  EXPECT_LT(CountLines(summaries.out), 13u);
  EXPECT_NE(ingest.out.find("\"summaries\":" + std::to_string(CountLines(summaries.out))), std::string::npos)
      << ingest.out;
  // 52.213.180.42:43418 -> 10.0.0.62:5001 sent 100701 + 23294588 bytes within the hour.
  VigilRun tuple = Vigil("hunt --json " + data + " 'source=vpcflow.summary srcaddr=52.213.180.42 srcport=43418'");
  EXPECT_EQ(CountLines(tuple.out), 1u) << tuple.out;
  EXPECT_NE(tuple.out.find("\"bytes\":23395289"), std::string::npos) << tuple.out;
  // The cost report says what minimisation kept out, per source and rule kind.
  VigilRun report = Vigil("storage report --json " + data);
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("{\"source_type\":\"cloudtrail\",\"minimised\":\"drop\",\"events\":165,"),
            std::string::npos)
      << report.out;
  EXPECT_NE(report.out.find("{\"source_type\":\"vpcflow\",\"minimised\":\"aggregate\",\"events\":13,"),
            std::string::npos)
      << report.out;
  VigilRun table = Vigil("storage report " + data);
  EXPECT_NE(table.out.find("kept out of the store by data minimisation"), std::string::npos) << table.out;

  // The configuration's key is the one that encrypts: hunting without it fails.
  VigilRun keyless = Vigil("hunt --json --data " + (dir_ / "min").string() + " ''");
  EXPECT_EQ(keyless.exit_code, 2);
  EXPECT_NE(keyless.err.find("is encrypted (master key k1)"), std::string::npos) << keyless.err;
}


// `vigil serve` with encryption and minimisation in its configuration, fed
// the Stratus detonations over HTTP, stopped and restarted.
TEST_F(OperationsE2ETest, ServeEncryptsMinimisesAndExportsTheCounts) {
  ASSERT_EQ(Vigil("keys generate --id s1 --out " + (dir_ / "s1.key").string()).exit_code, 0);
  const fs::path config = dir_ / "serve.yaml";
  std::ofstream(config) << vigil::testing::ServeConfigYaml(dir_ / "serve-data")
                        << "encryption:\n  key_files: [" << (dir_ / "s1.key").string() << "]\n"
                        << "minimise:\n  - source: cloudtrail\n    drop: 'readOnly=true eventName=Describe*'\n";
  std::vector<std::string> bodies;
  for (const auto& e : fs::directory_iterator(kStratus))
    if (e.path().extension() == ".json") bodies.push_back(ReadFile(e.path()));
  ASSERT_EQ(bodies.size(), 35u);
  {
    vigil::testing::ServeProcess serve(config.string(), dir_ / "serve.log");
    const int port = serve.WaitForPort();
    ASSERT_GT(port, 0) << ReadFile(dir_ / "serve.log");
    httplib::Client client("127.0.0.1", port);
    httplib::Headers auth = {{"Authorization", "Bearer crash-test-token"}};
    for (const auto& body : bodies) {
      auto r = client.Post("/api/v1/ingest", auth, body, "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
    }
    std::string metrics;
    for (int i = 0; i < 200; ++i) {
      auto m = client.Get("/metrics");
      metrics = m ? m->body : "";
      if (metrics.find("vigil_events_stored_total{source=\"http\"} 145\n") != std::string::npos &&
          metrics.find("vigil_minimised_events_total{log_type=\"cloudtrail\",kind=\"drop\"} 165\n") != std::string::npos)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_NE(metrics.find("vigil_events_stored_total{source=\"http\"} 145\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("vigil_minimised_events_total{log_type=\"cloudtrail\",kind=\"drop\"} 165\n"),
              std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("vigil_minimised_bytes_total{log_type=\"cloudtrail\",kind=\"drop\"} "), std::string::npos);
    serve.Signal(SIGTERM);
    EXPECT_EQ(serve.Wait(), 0);
  }
  const std::string data = "--data " + (dir_ / "serve-data").string();
  EXPECT_EQ(CountLines(Vigil("hunt --json " + data + " " + Key("s1") + " 'source=cloudtrail'").out), 145u);
  EXPECT_EQ(CountLines(Vigil("hunt --json " + data + " " + Key("s1") + " 'eventName=Describe*'").out), 0u);
  VigilRun keyless = Vigil("hunt --json " + data + " ''");
  EXPECT_EQ(keyless.exit_code, 2);
  EXPECT_NE(keyless.err.find("is encrypted (master key s1)"), std::string::npos) << keyless.err;
  VigilRun status = Vigil("keys status --json " + data);
  EXPECT_NE(status.out.find("\"plain_segments\":0"), std::string::npos) << status.out;
  // Alerts still come from every event: detection ran before minimisation.
  EXPECT_NE(Vigil("alerts --json " + data).out.find("\"rule_id\""), std::string::npos);
}

}  // namespace
