// End-to-end: syslog over TCP (both framings) and UDP into the real
// `vigil serve`, then found by `vigil hunt` once serve has stopped.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingest/test_sockets.h"
#include "run_vigil.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using vigil::testing::Vigil;

using vigil::testing::FreePort;
using vigil::testing::Loopback;
using vigil::testing::TryConnect;

// GET path over plain HTTP/1.0; the whole response ("" when unreachable).
std::string HttpGet(uint16_t port, const std::string& path) {
  int fd = TryConnect(port);
  if (fd < 0) return "";
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::string Octets(const std::string& m) { return std::to_string(m.size()) + " " + m; }

// The "raw" of each record `hunt --json` printed.
std::vector<std::string> HuntRaw(const std::string& data, const std::string& query) {
  std::string out = Vigil("hunt --json --data " + data + " '" + query + "'").out;
  std::vector<std::string> raws;
  simdjson::dom::parser parser;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    simdjson::dom::element doc;
    std::string_view raw;
    if (parser.parse(line).get(doc) || doc["raw"].get(raw)) {
      raws.push_back("unreadable: " + line);
    } else {
      raws.emplace_back(raw);
    }
  }
  return raws;
}

TEST(SyslogServeE2ETest, TcpAndUdpMessagesAreStoredAndHunted) {
  fs::path dir = fs::temp_directory_path() / ("vigil-syslog-e2e-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const uint16_t http_port = FreePort(SOCK_STREAM);
  const uint16_t tcp_port = FreePort(SOCK_STREAM);
  const uint16_t udp_port = FreePort(SOCK_DGRAM);
  const std::string data = (dir / "data").string();
  std::ofstream(dir / "serve.yaml") << "data_dir: " << data << "\n"
                                    << "http: {port: " << http_port << "}\n"
                                    << "ingest: {tokens: [t]}\n"
                                    << "pipeline: {commit_interval_ms: 50}\n"
                                    << "sources:\n"
                                    << "  syslog:\n"
                                    << "    - {protocol: tcp, port: " << tcp_port << "}\n"
                                    << "    - {protocol: udp, port: " << udp_port << "}\n";

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int log = open((dir / "serve.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    execl(VIGIL_BINARY, "vigil", "serve", "--config", (dir / "serve.yaml").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto serve_log = [&] {
    std::ifstream f(dir / "serve.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  };

  int fd = -1;
  for (auto end = std::chrono::steady_clock::now() + 30s; fd < 0 && std::chrono::steady_clock::now() < end;) {
    fd = TryConnect(tcp_port);
    if (fd < 0) std::this_thread::sleep_for(20ms);
  }
  ASSERT_GE(fd, 0) << "vigil serve did not listen on the syslog port\n" << serve_log();

  const std::string r5424 =
      "<38>1 2026-03-02T10:17:02Z bastion sudo - - [origin ip=\"203.0.113.9\"] ec2-user : COMMAND=/bin/bash";
  const std::string r3164 = "<34>Mar  2 10:17:01 bastion sshd[900]: Accepted publickey for ec2-user from 203.0.113.9";
  const std::string multiline = "<11>1 2026-03-02T10:17:03Z web1 java - - - Exception in main\n\tat Foo.bar(Foo.java:1)";
  std::string stream = Octets(r5424) + r3164 + "\n" + Octets(multiline);
  ASSERT_EQ(send(fd, stream.data(), stream.size(), MSG_NOSIGNAL), static_cast<ssize_t>(stream.size()));
  close(fd);
  // The UDP listener may start after the TCP one: a datagram sent before it
  // is bound is lost, as UDP is. Send it again until it is counted; the
  // copies are one event (same bytes, same id), stored once.
  const std::string udp = "<13>1 2026-03-02T10:17:04Z router1 fw - - - udp datagram";
  int ufd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in ua = Loopback(udp_port);
  auto udp_count = [](const std::string& m) {
    const std::string key = "vigil_received_records_total{source=\"syslog-udp\"} ";
    const size_t at = m.find(key);
    return at == std::string::npos ? 0L : std::atol(m.c_str() + at + key.size());
  };

  // Accepted into the write-ahead log: the sources' counters say so.
  std::string metrics;
  auto next_send = std::chrono::steady_clock::now();
  for (auto end = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < end;) {
    metrics = HttpGet(http_port, "/metrics");
    if (udp_count(metrics) == 0 && std::chrono::steady_clock::now() >= next_send) {
      sendto(ufd, udp.data(), udp.size(), 0, reinterpret_cast<sockaddr*>(&ua), sizeof ua);
      next_send = std::chrono::steady_clock::now() + 500ms;
    }
    if (metrics.find("vigil_received_records_total{source=\"syslog-tcp\"} 3\n") != std::string::npos &&
        udp_count(metrics) >= 1)
      break;
    std::this_thread::sleep_for(20ms);
  }
  close(ufd);
  EXPECT_NE(metrics.find("vigil_received_records_total{source=\"syslog-tcp\"} 3\n"), std::string::npos) << metrics;
  EXPECT_GE(udp_count(metrics), 1) << metrics;

  // SIGTERM: serve drains the log into the store and exits 0.
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << serve_log();

  using V = std::vector<std::string>;
  EXPECT_EQ(HuntRaw(data, "source=syslog appname=sshd"), V{r3164});
  EXPECT_EQ(HuntRaw(data, "source=syslog sd.origin.ip=203.0.113.9"), V{r5424});
  // The multi-line octet-counted message is one event, its LF written as #012.
  EXPECT_EQ(HuntRaw(data, "source=syslog appname=java"),
            V{"<11>1 2026-03-02T10:17:03Z web1 java - - - Exception in main#012\tat Foo.bar(Foo.java:1)"});
  EXPECT_EQ(HuntRaw(data, "source=syslog hostname=router1"), V{udp});
  EXPECT_EQ(HuntRaw(data, "source=syslog").size(), 4u);  // each message once
  fs::remove_all(dir);
}

}  // namespace
