// End-to-end over TLS: `vigil serve` with HTTPS ingest and a syslog TLS
// listener (RFC 5425 octet counting), certificates verified by the clients,
// the events found by `vigil hunt` once serve has stopped.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "ingest/test_sockets.h"
#include "ingest/test_tls.h"
#include "run_vigil.h"
#include "test_files.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Sends `bytes` over TLS to 127.0.0.1:port, trusting only `ca`; false when
// the handshake or the write fails.
bool SendTls(uint16_t port, const std::string& ca, const std::string& bytes) {
  int fd = vigil::testing::TryConnect(port);
  if (fd < 0) return false;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_CTX_free(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_set1_host(ssl, "localhost");
  bool ok = SSL_connect(ssl) == 1 && SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())) ==
                                         static_cast<int>(bytes.size());
  if (ok) SSL_shutdown(ssl);
  ERR_clear_error();
  SSL_free(ssl);
  close(fd);
  return ok;
}

TEST(TlsServeE2ETest, HttpsIngestAndSyslogOverTlsAreStoredAndHunted) {
  fs::path dir = fs::temp_directory_path() / ("vigil-tls-e2e-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const vigil::testing::TestCert cert = vigil::testing::MakeSelfSigned(dir);
  const uint16_t https_port = vigil::testing::FreePort(SOCK_STREAM);
  const uint16_t tls_port = vigil::testing::FreePort(SOCK_STREAM);
  const std::string data = (dir / "data").string();
  std::ofstream(dir / "serve.yaml") << "data_dir: " << data << "\n"
                                    << "http:\n  port: " << https_port << "\n"
                                    << "  tls: {cert_file: " << cert.cert_path << ", key_file: " << cert.key_path
                                    << "}\n"
                                    << "ingest: {tokens: [t]}\n"
                                    << "pipeline: {commit_interval_ms: 50}\n"
                                    << "sources:\n  syslog:\n"
                                    << "    - {protocol: tls, port: " << tls_port << ", tls: {cert_file: "
                                    << cert.cert_path << ", key_file: " << cert.key_path << "}}\n";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FILE* log = std::fopen((dir / "serve.log").c_str(), "w");
    if (log) dup2(fileno(log), 2);
    execl(VIGIL_BINARY, "vigil", "serve", "--config", (dir / "serve.yaml").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto serve_log = [&] { return vigil::testing::ReadFile((dir / "serve.log").string()); };

  // The certificate names localhost; serve listens on 127.0.0.1.
  httplib::SSLClient client("localhost", https_port);
  client.set_hostname_addr_map({{"localhost", "127.0.0.1"}});
  client.set_ca_cert_path(cert.cert_path.c_str());
  client.enable_server_certificate_verification(true);
  bool ready = false;
  for (auto end = std::chrono::steady_clock::now() + 30s; !ready && std::chrono::steady_clock::now() < end;) {
    auto r = client.Get("/readyz");
    ready = r && r->status == 200;
    if (!ready) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(ready) << "vigil serve did not answer over HTTPS\n" << serve_log();

  // Plain HTTP to the HTTPS port gets no answer.
  httplib::Client plain("127.0.0.1", https_port);
  plain.set_read_timeout(2, 0);
  auto refused = plain.Get("/readyz");
  EXPECT_TRUE(!refused || refused->status != 200);

  // A CloudTrail file (a JSON array of records) over HTTPS.
  const std::string trail = vigil::testing::ReadFile(
      VIGIL_SHARED_DATA "/cloudtrail/stratus-red-team/docs/detonation-logs/aws.defense-evasion.cloudtrail-stop.json");
  ASSERT_FALSE(trail.empty());
  auto r = client.Post("/api/v1/ingest", {{"Authorization", "Bearer t"}}, trail, "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;

  // Syslog over TLS, octet-counted.
  const std::string msg = "<38>1 2026-03-02T10:17:02Z bastion sshd 900 - - Accepted publickey for admin";
  EXPECT_TRUE(SendTls(tls_port, cert.cert_path, std::to_string(msg.size()) + " " + msg)) << serve_log();
  // A client that does not trust the certificate cannot send.
  fs::path other = dir / "other";
  fs::create_directories(other);
  EXPECT_FALSE(SendTls(tls_port, vigil::testing::MakeSelfSigned(other).cert_path, "5 hello"));

  bool stored = false;
  std::string metrics;
  for (auto end = std::chrono::steady_clock::now() + 30s; !stored && std::chrono::steady_clock::now() < end;) {
    auto m = client.Get("/metrics");
    metrics = m ? m->body : "";
    stored = metrics.find("vigil_received_records_total{source=\"syslog-tls\"} 1\n") != std::string::npos;
    if (!stored) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(stored) << metrics;

  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << serve_log();

  auto count_lines = [](const std::string& s) {
    size_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
  };
  size_t records = 0;
  for (size_t at = trail.find("\"eventID\""); at != std::string::npos; at = trail.find("\"eventID\"", at + 1)) ++records;
  ASSERT_GT(records, 0u);
  EXPECT_EQ(count_lines(vigil::testing::Vigil("hunt --json --data " + data + " source=cloudtrail").out), records);
  EXPECT_EQ(count_lines(vigil::testing::Vigil("hunt --json --data " + data + " eventName=StopLogging").out), 1u);
  const std::string sshd = vigil::testing::Vigil("hunt --json --data " + data + " 'source=syslog appname=sshd'").out;
  EXPECT_EQ(count_lines(sshd), 1u) << sshd;
  EXPECT_NE(sshd.find("Accepted publickey for admin"), std::string::npos) << sshd;
  fs::remove_all(dir);
}

}  // namespace
