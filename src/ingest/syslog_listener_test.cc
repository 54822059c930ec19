// Listeners on 127.0.0.1 ephemeral ports feeding a fake Intake: real sockets,
// real TLS (a self-signed certificate made here with the OpenSSL API).
#include "ingest/fake_intake.h"
#include "ingest/syslog_listener.h"
#include "ingest/test_sockets.h"
#include "ingest/test_tls.h"
#include "ingest/wal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vigil {
namespace {

using namespace std::chrono_literals;

// Every message `intake` accepted, in order.
std::vector<std::string> Lines(const FakeIntake& intake) {
  std::vector<std::string> out;
  for (const auto& r : intake.accepted()) {
    size_t start = 0;
    while (start <= r.bytes.size()) {
      size_t end = r.bytes.find('\n', start);
      if (end == std::string::npos) end = r.bytes.size();
      out.push_back(r.bytes.substr(start, end - start));
      start = end + 1;
    }
  }
  return out;
}

// Refused until Release (RefuseNext counts calls).
void RefuseAll(FakeIntake& intake) { intake.RefuseNext(std::numeric_limits<int>::max()); }
void Release(FakeIntake& intake) { intake.RefuseNext(0); }

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

using testing::Loopback;
using testing::MakeSelfSigned;
using testing::TestCert;

int Connect(uint16_t port) {
  int fd = testing::TryConnect(port);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  return fd;
}

void SendAll(int fd, std::string_view data) { ASSERT_TRUE(testing::SendAll(fd, data)) << std::strerror(errno); }

// True once the server closed the connection (recv sees EOF or a reset).
bool ClosedByServer(int fd, std::chrono::milliseconds limit = 5s) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
  char c;
  return recv(fd, &c, 1, 0) <= 0;
}

std::string Octets(std::string_view m) { return std::to_string(m.size()) + " " + std::string(m); }

SyslogListenerConfig Config(SyslogProtocol protocol) {
  SyslogListenerConfig c;
  c.protocol = protocol;
  c.port = 0;
  c.warn = [](const std::string&) {};
  return c;
}

std::unique_ptr<SyslogListener> StartOrDie(SyslogListenerConfig c, Intake* intake,
                                           MetricsRegistry* metrics = nullptr) {
  auto l = SyslogListener::Start(std::move(c), intake, metrics);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  return l.ok() ? std::move(l).value() : nullptr;
}

const char k5424[] = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                     "[exampleSDID@32473 iut=\"3\"] An application event";
const char k3164[] = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8";

TEST(SyslogListener, UdpDatagramIsOneMessage) {
  FakeIntake intake;
  auto l = StartOrDie(Config(SyslogProtocol::kUdp), &intake);
  ASSERT_TRUE(l);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = Loopback(l->port());
  for (std::string m : {std::string(k5424), std::string(k3164) + "\n", std::string("<13>Oct  1 00:00:00 h a: x\ny")})
    ASSERT_EQ(sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a),
              static_cast<ssize_t>(m.size()));
  ASSERT_TRUE(WaitFor([&] { return Lines(intake).size() == 3; }));
  EXPECT_EQ(Lines(intake), (std::vector<std::string>{k5424, k3164, "<13>Oct  1 00:00:00 h a: x#012y"}));
  auto records = intake.accepted();
  EXPECT_EQ(records[0].parser, "syslog");
  EXPECT_EQ(records[0].source, "syslog-udp");
  EXPECT_EQ(records[0].name.rfind("syslog-udp 127.0.0.1:", 0), 0u) << records[0].name;
  close(fd);
  l->Stop();
  EXPECT_EQ(l->stats().messages_accepted, 3u);
}

TEST(SyslogListener, TcpOctetCountingAndLfFramingFromSeveralClients) {
  FakeIntake intake;
  auto l = StartOrDie(Config(SyslogProtocol::kTcp), &intake);
  ASSERT_TRUE(l);
  std::string octets;
  std::string lines;
  std::vector<std::string> want_octets, want_lines;
  for (int i = 0; i < 500; ++i) {
    std::string m = std::string(k5424) + " #" + std::to_string(i);
    octets += Octets(m);
    want_octets.push_back(m);
    m = std::string(k3164) + " #" + std::to_string(i);
    lines += m + (i % 2 ? "\r\n" : "\n");
    want_lines.push_back(m);
  }
  int a = Connect(l->port());
  int b = Connect(l->port());
  // Interleaved small writes: frames split across reads.
  for (size_t off = 0; off < std::max(octets.size(), lines.size()); off += 777) {
    if (off < octets.size()) SendAll(a, std::string_view(octets).substr(off, 777));
    if (off < lines.size()) SendAll(b, std::string_view(lines).substr(off, 777));
  }
  close(a);
  close(b);
  ASSERT_TRUE(WaitFor([&] { return Lines(intake).size() == 1000; })) << Lines(intake).size();
  std::vector<std::string> got_octets, got_lines;
  for (const auto& r : intake.accepted()) {
    EXPECT_EQ(r.parser, "syslog");
    EXPECT_EQ(r.source, "syslog-tcp");
    size_t start = 0;
    while (start <= r.bytes.size()) {
      size_t end = std::min(r.bytes.find('\n', start), r.bytes.size());
      std::string m = r.bytes.substr(start, end - start);
      (m[0] == '<' && m[1] == '1' ? got_octets : got_lines).push_back(m);
      start = end + 1;
    }
  }
  EXPECT_EQ(got_octets, want_octets);
  EXPECT_EQ(got_lines, want_lines);
  EXPECT_TRUE(WaitFor([&] { return l->stats().connections_open == 0; }));
  EXPECT_EQ(l->stats().connections_accepted, 2u);
}

// --- TLS -------------------------------------------------------------------

class SyslogTls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil-syslog-tls-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    cert_ = MakeSelfSigned(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A client that trusts only the test certificate; nullptr when the
  // handshake fails. max_version 0: the library's newest.
  SSL* ConnectTls(uint16_t port, int* fd, int max_version = 0) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    EXPECT_EQ(SSL_CTX_load_verify_locations(ctx, cert_.cert_path.c_str(), nullptr), 1);
    if (max_version) {
      SSL_CTX_set_min_proto_version(ctx, 0);
      SSL_CTX_set_max_proto_version(ctx, max_version);
      SSL_CTX_set_security_level(ctx, 0);
    }
    *fd = Connect(port);
    SSL* ssl = SSL_new(ctx);
    SSL_CTX_free(ctx);  // the SSL holds a reference
    SSL_set_fd(ssl, *fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    if (SSL_connect(ssl) != 1) {
      ERR_clear_error();
      SSL_free(ssl);
      close(*fd);
      return nullptr;
    }
    return ssl;
  }

  SyslogListenerConfig TlsConfig() {
    SyslogListenerConfig c = Config(SyslogProtocol::kTls);
    c.tls_cert = cert_.cert_path;
    c.tls_key = cert_.key_path;
    return c;
  }

  std::filesystem::path dir_;
  TestCert cert_;
};

TEST_F(SyslogTls, OctetCountedMessagesOverTls) {
  FakeIntake intake;
  auto l = StartOrDie(TlsConfig(), &intake);
  ASSERT_TRUE(l);
  int fd;
  SSL* ssl = ConnectTls(l->port(), &fd);
  ASSERT_TRUE(ssl);
  EXPECT_GE(SSL_version(ssl), TLS1_2_VERSION);
  std::vector<std::string> want;
  std::string stream;
  for (int i = 0; i < 2000; ++i) {
    want.push_back(std::string(i % 2 ? k5424 : k3164) + " #" + std::to_string(i));
    stream += Octets(want.back());
  }
  for (size_t off = 0; off < stream.size(); off += 5000) {
    std::string_view piece = std::string_view(stream).substr(off, 5000);
    ASSERT_EQ(SSL_write(ssl, piece.data(), static_cast<int>(piece.size())), static_cast<int>(piece.size()));
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
  EXPECT_TRUE(ClosedByServer(fd));
  close(fd);
  ASSERT_TRUE(WaitFor([&] { return Lines(intake).size() == want.size(); })) << Lines(intake).size();
  EXPECT_EQ(Lines(intake), want);
  EXPECT_EQ(intake.accepted()[0].source, "syslog-tls");
}

TEST_F(SyslogTls, RefusesTls11AndPlainText) {
  FakeIntake intake;
  auto l = StartOrDie(TlsConfig(), &intake);
  ASSERT_TRUE(l);
  int fd;
  EXPECT_EQ(ConnectTls(l->port(), &fd, TLS1_1_VERSION), nullptr);
  int plain = Connect(l->port());
  SendAll(plain, std::string(k3164) + "\n");
  EXPECT_TRUE(ClosedByServer(plain));
  close(plain);
  EXPECT_TRUE(WaitFor([&] { return l->stats().connections_rejected == 2; })) << l->stats().connections_rejected;
  EXPECT_TRUE(Lines(intake).empty());
}

TEST_F(SyslogTls, BadCertificatePathIsAClearError) {
  FakeIntake intake;
  SyslogListenerConfig c = TlsConfig();
  c.tls_cert = (dir_ / "missing.pem").string();
  auto l = SyslogListener::Start(c, &intake);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("missing.pem"), std::string::npos) << l.status().ToString();
  c = Config(SyslogProtocol::kTls);
  EXPECT_FALSE(SyslogListener::Start(c, &intake).ok());  // no cert, no key
}

// Writes all of `stream` to `fd` in 16 KiB sends on a thread of its own,
// counting what the kernel took in `sent` (blocking while it takes nothing).
std::thread SendInBackground(int fd, const std::string& stream, std::atomic<size_t>* sent) {
  return std::thread([fd, &stream, sent] {
    std::string_view rest = stream;
    while (!rest.empty()) {
      ssize_t n = send(fd, rest.data(), std::min<size_t>(rest.size(), 16384), MSG_NOSIGNAL);
      if (n <= 0) return;
      rest.remove_prefix(static_cast<size_t>(n));
      *sent += static_cast<size_t>(n);
    }
  });
}

// --- backpressure, limits, stop ----------------------------------------------

TEST(SyslogListener, OverloadBlocksTheSenderAndLosesNothing) {
  FakeIntake intake;
  RefuseAll(intake);
  auto l = StartOrDie(Config(SyslogProtocol::kTcp), &intake);
  ASSERT_TRUE(l);
  // More than the kernel's socket buffers plus one batch hold.
  constexpr int kMessages = 300000;
  std::string stream;
  for (int i = 0; i < kMessages; ++i) stream += std::string(k3164) + " seq=" + std::to_string(i) + "\n";
  int fd = Connect(l->port());
  std::atomic<size_t> sent{0};
  std::thread sender = SendInBackground(fd, stream, &sent);
  // While the Intake refuses, the sender stalls: its writes block.
  std::this_thread::sleep_for(700ms);
  size_t stalled_at = sent.load();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sent.load(), stalled_at);
  EXPECT_LT(stalled_at, stream.size());
  EXPECT_TRUE(Lines(intake).empty() || intake.accepted().empty());
  EXPECT_GE(intake.calls(), 2);  // refused batches are offered again
  Release(intake);
  sender.join();
  close(fd);
  ASSERT_TRUE(WaitFor([&] { return l->stats().messages_accepted == kMessages; }, 30s))
      << l->stats().messages_accepted;
  std::vector<std::string> lines = Lines(intake);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i)
    ASSERT_EQ(lines[i], std::string(k3164) + " seq=" + std::to_string(i)) << "message " << i;
  EXPECT_GT(l->stats().batches_refused, 0u);
  EXPECT_EQ(l->stats().messages_dropped, 0u);
}

// The same against the real write-ahead log: its backlog limit refuses, the
// sender stalls, and once a reader checkpoints, every message is in the log
// once, in order.
TEST(SyslogListener, WalBacklogLimitSlowsTheSender) {
  auto dir = std::filesystem::temp_directory_path() / ("vigil-syslog-wal-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  WalOptions options;
  options.max_backlog_bytes = 4 << 20;
  options.segment_bytes = 1 << 20;
  auto wal = Wal::Open(dir.string(), 0, options);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  auto l = StartOrDie(Config(SyslogProtocol::kTcp), wal->get());
  ASSERT_TRUE(l);
  constexpr int kMessages = 200000;  // ~18 MB: more than the backlog and the socket buffers
  std::string stream;
  for (int i = 0; i < kMessages; ++i) stream += Octets(std::string(k3164) + " seq=" + std::to_string(i));
  int fd = Connect(l->port());
  std::atomic<size_t> sent{0};
  std::thread sender = SendInBackground(fd, stream, &sent);
  ASSERT_TRUE(WaitFor([&] { return l->stats().batches_refused > 0; }));
  std::this_thread::sleep_for(300ms);
  size_t stalled_at = sent.load();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sent.load(), stalled_at);
  EXPECT_LT(stalled_at, stream.size());
  EXPECT_LE((*wal)->backlog_bytes(), options.max_backlog_bytes);

  // A reader that checkpoints what it read, as the pipeline does.
  std::vector<std::string> lines;
  while (lines.size() < static_cast<size_t>(kMessages)) {
    if (!(*wal)->WaitReadable(5000ms)) break;
    uint64_t end = 0;
    auto r = (*wal)->Read(&end);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->record.parser, "syslog");
    std::istringstream in(r->record.bytes);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    ASSERT_TRUE((*wal)->Checkpoint(r->seq, end).ok());
  }
  sender.join();
  close(fd);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i)
    ASSERT_EQ(lines[i], std::string(k3164) + " seq=" + std::to_string(i)) << "message " << i;
  l->Stop();
  (*wal)->Close();
  std::filesystem::remove_all(dir);
}

TEST(SyslogListener, UdpUnderOverloadDropsAndCounts) {
  FakeIntake intake;
  RefuseAll(intake);
  MetricsRegistry metrics;
  auto l = StartOrDie(Config(SyslogProtocol::kUdp), &intake, &metrics);
  ASSERT_TRUE(l);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = Loopback(l->port());
  for (int i = 0; i < 10; ++i) sendto(fd, k3164, sizeof k3164 - 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ASSERT_TRUE(WaitFor([&] { return l->stats().messages_dropped == 10; })) << l->stats().messages_dropped;
  EXPECT_TRUE(intake.accepted().empty());
  std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find("vigil_dropped_records_total{source=\"syslog-udp\",reason=\"overload\"} 10\n"),
            std::string::npos)
      << text;
  // Once the Intake takes batches again, messages arrive and are counted.
  Release(intake);
  sendto(fd, k5424, sizeof k5424 - 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  EXPECT_TRUE(WaitFor([&] {
    return metrics.RenderPrometheus().find("vigil_received_records_total{source=\"syslog-udp\"} 1\n") !=
           std::string::npos;
  }));
  EXPECT_EQ(Lines(intake), std::vector<std::string>{k5424});
  close(fd);
}

TEST(SyslogListener, StopWhileClientsAreConnected) {
  FakeIntake intake;
  SyslogListenerConfig c = Config(SyslogProtocol::kTcp);
  c.batch_delay_ms = 60000;  // nothing is sent before Stop
  auto l = StartOrDie(c, &intake);
  ASSERT_TRUE(l);
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) {
    fds.push_back(Connect(l->port()));
    SendAll(fds.back(), Octets(std::string(k5424) + " client " + std::to_string(i)) + "<13>partial line " +
                            std::to_string(i));
  }
  ASSERT_TRUE(WaitFor([&] { return l->stats().messages_received == 3; }));
  auto start = std::chrono::steady_clock::now();
  l->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  // What was received is handed over at Stop, the partial lines too.
  EXPECT_EQ(Lines(intake).size(), 6u);
  for (int fd : fds) {
    EXPECT_TRUE(ClosedByServer(fd));
    close(fd);
  }
  l->Stop();  // idempotent
  EXPECT_EQ(l->stats().connections_open, 0u);
}

TEST(SyslogListener, MaxConnectionsAndIdleTimeout) {
  FakeIntake intake;
  SyslogListenerConfig c = Config(SyslogProtocol::kTcp);
  c.max_connections = 2;
  c.idle_timeout_ms = 300;
  auto l = StartOrDie(c, &intake);
  ASSERT_TRUE(l);
  int a = Connect(l->port());
  int b = Connect(l->port());
  ASSERT_TRUE(WaitFor([&] { return l->stats().connections_open == 2; }));
  int third = Connect(l->port());
  EXPECT_TRUE(ClosedByServer(third, 2s));
  EXPECT_EQ(l->stats().connections_rejected, 1u);
  // Silent connections are closed after the idle timeout.
  EXPECT_TRUE(ClosedByServer(a, 3s));
  EXPECT_TRUE(ClosedByServer(b, 3s));
  for (int fd : {a, b, third}) close(fd);
}

TEST(SyslogListener, OversizedMessageIsTruncatedAndCounted) {
  FakeIntake intake;
  SyslogListenerConfig c = Config(SyslogProtocol::kTcp);
  c.max_message_bytes = 1000;
  auto l = StartOrDie(c, &intake);
  ASSERT_TRUE(l);
  int fd = Connect(l->port());
  std::string big = std::string(k3164) + std::string(5000, 'x');
  SendAll(fd, Octets(big) + k5424 + "\n");
  close(fd);
  ASSERT_TRUE(WaitFor([&] { return Lines(intake).size() == 2; }));
  EXPECT_EQ(Lines(intake)[0], big.substr(0, 1000));
  EXPECT_EQ(Lines(intake)[1], k5424);
  EXPECT_EQ(l->stats().messages_truncated, 1u);
}

TEST(SyslogListener, ConfigErrorsNameTheProblem) {
  FakeIntake intake;
  SyslogListenerConfig c = Config(SyslogProtocol::kTcp);
  c.bind = "localhost";  // not numeric
  auto r = SyslogListener::Start(c, &intake);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("localhost"), std::string::npos);
  c.bind = "127.0.0.1";
  c.max_connections = 0;
  EXPECT_FALSE(SyslogListener::Start(c, &intake).ok());
  EXPECT_FALSE(ParseSyslogProtocol("relp").ok());
  // A port in use.
  auto first = StartOrDie(Config(SyslogProtocol::kTcp), &intake);
  ASSERT_TRUE(first);
  c = Config(SyslogProtocol::kTcp);
  c.port = first->port();
  r = SyslogListener::Start(c, &intake);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace vigil
