// End-to-end: `vigil serve` with its Firehose endpoint configured receives a
// delivery as Firehose sends it (gzip body, CloudWatch Logs subscription
// payloads of real CloudTrail records in base64 records), and the events are
// stored and detected as if ingested from files.
#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/base64.h"
#include "common/json_writer.h"
#include "formats/decompress.h"
#include "run_vigil.h"

namespace {

namespace fs = std::filesystem;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(FirehoseServeE2ETest, CloudTrailThroughCloudWatchLogsAndFirehoseIsStoredAndDetected) {
  fs::path dir = fs::temp_directory_path() / ("vigil-firehose-e2e-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const int port = FreePort();
  std::ofstream(dir / "serve.yaml") << "data_dir: " << (dir / "data").string() << "\nhttp:\n  port: " << port
                                    << "\nfirehose:\n  access_keys: [stream-key]\npipeline:\n  commit_interval_ms: 50\n";

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string log = (dir / "serve.log").string();
    freopen(log.c_str(), "w", stderr);
    execl(VIGIL_BINARY, VIGIL_BINARY, "serve", "--config", (dir / "serve.yaml").c_str(), nullptr);
    _exit(127);
  }
  httplib::Client client("127.0.0.1", port);
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    auto r = client.Get("/readyz");
    ready = r && r->status == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(ready);

  // One Stratus Red Team detonation, logged by CloudTrail to CloudWatch Logs,
  // subscribed to a Firehose stream: one gzip payload per Firehose record.
  std::ifstream in(VIGIL_SHARED_DATA "/cloudtrail/stratus-red-team/docs/detonation-logs/"
                                     "aws.credential-access.ec2-get-password-data.json");
  std::stringstream text;
  text << in.rdbuf();
  simdjson::dom::parser parser;
  std::string log_events;
  size_t n = 0;
  for (simdjson::dom::element e : parser.parse(text.str()).get_array()) {
    log_events += (n ? "," : "") + std::string(R"({"id":")") + std::to_string(n) +
                  R"(","timestamp":1722375073000,"message":)" + vigil::JsonString(simdjson::minify(e)) + "}";
    ++n;
  }
  std::string payload = vigil::Gzip(
      R"({"messageType":"DATA_MESSAGE","owner":"751353041310","logGroup":"aws-cloudtrail-logs","logStream":"s",)"
      R"("subscriptionFilters":["to-vigil"],"logEvents":[)" + log_events + "]}");
  std::string control = vigil::Gzip(
      R"({"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"",)"
      R"("subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1722375073000,"message":"CWL CONTROL MESSAGE"}]})");
  std::string body = R"({"requestId":"r-1","timestamp":1722375074000,"records":[{"data":")" +
                     vigil::Base64Encode(control) + R"("},{"data":")" + vigil::Base64Encode(payload) + R"("}]})";
  httplib::Headers headers = {{"X-Amz-Firehose-Request-Id", "r-1"},
                              {"X-Amz-Firehose-Access-Key", "stream-key"},
                              {"Content-Encoding", "gzip"}};
  auto r = client.Post("/api/v1/firehose", headers, vigil::Gzip(body), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find(R"("requestId":"r-1")"), std::string::npos) << r->body;
  headers.erase("X-Amz-Firehose-Access-Key");
  headers.emplace("X-Amz-Firehose-Access-Key", "wrong");
  auto refused = client.Post("/api/v1/firehose", headers, vigil::Gzip(body), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);

  // Wait until the pipeline stored them, then stop the server.
  bool stored = false;
  for (int i = 0; i < 100 && !stored; ++i) {
    auto m = client.Get("/metrics");
    stored = m && m->body.find("vigil_events_stored_total{source=\"firehose\"} " + std::to_string(n) + "\n") !=
                        std::string::npos;
    if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(stored);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  auto hunt = vigil::testing::Vigil("hunt --json --data " + (dir / "data").string() + " eventName=GetPasswordData");
  size_t lines = 0;
  for (char c : hunt.out) lines += c == '\n';
  EXPECT_EQ(lines, 30u);  // the detonation's GetPasswordData calls, each stored once
  auto alerts = vigil::testing::Vigil("alerts --json --data " + (dir / "data").string());
  // The rule this detonation is written to trip, as when ingested from the file.
  EXPECT_NE(alerts.out.find("Many EC2 Windows password data requests"), std::string::npos) << alerts.out;
  fs::remove_all(dir);
}

}  // namespace
