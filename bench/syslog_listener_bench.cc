// Syslog over TCP into a syslog listener, beside a floor in the same run: a
// plain receiver that reads the same bytes from the same number of loopback
// connections and does nothing with them. Also the framing decoder alone.
//
//   syslog_listener_bench [MESSAGES] [CONNECTIONS]
//
// The Intake here only counts what it is given (no log write, no fsync), so
// the figures are the listener's own cost: framing, batching, the poll loop.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "ingest/syslog_framing.h"
#include "ingest/syslog_listener.h"
#include "ingest/test_sockets.h"

namespace {

using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

class CountingIntake : public vigil::Intake {
 public:
  vigil::Status Accept(std::vector<vigil::IntakeRecord> records) override {
    uint64_t n = 0;
    for (const auto& r : records) n += 1 + static_cast<uint64_t>(std::count(r.bytes.begin(), r.bytes.end(), '\n'));
    messages += n;
    return vigil::Status::Ok();
  }
  std::atomic<uint64_t> messages{0};
};

// One connection's stream: octet-counted RFC 5424 messages (~170 bytes).
std::string Stream(int conn, uint64_t count) {
  std::string out;
  for (uint64_t i = 0; i < count; ++i) {
    std::string m = "<134>1 2026-03-02T10:17:02.123Z web-" + std::to_string(conn) +
                    ".internal nginx 4242 access [meta sequenceId=\"" + std::to_string(i) +
                    "\"] 10.0.3.17 GET /api/v1/orders?page=2 200 1532 0.012";
    out += std::to_string(m.size()) + " " + m;
  }
  return out;
}

struct Run {
  double wall = 0, cpu = 0;
};

// Sends every stream on its own connection to `port` and waits for `done`.
template <typename Done>
Run Send(uint16_t port, const std::vector<std::string>& streams, Done done) {
  std::vector<int> fds;
  for (size_t i = 0; i < streams.size(); ++i) fds.push_back(vigil::testing::TryConnect(port));
  double cpu0 = CpuSeconds();
  auto t0 = Clock::now();
  std::vector<std::thread> senders;
  for (size_t i = 0; i < streams.size(); ++i)
    senders.emplace_back([&, i] { vigil::testing::SendAll(fds[i], streams[i]); });
  for (auto& t : senders) t.join();
  while (!done()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  Run r{std::chrono::duration<double>(Clock::now() - t0).count(), CpuSeconds() - cpu0};
  for (int fd : fds) close(fd);
  return r;
}

// The floor: accept `n` connections and read until `bytes` arrived in total.
Run Floor(const std::vector<std::string>& streams, uint64_t bytes) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = vigil::testing::Loopback(0);
  bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  listen(lfd, 64);
  socklen_t len = sizeof a;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  std::atomic<uint64_t> got{0};
  std::thread reader([&] {
    std::vector<pollfd> fds;
    for (size_t i = 0; i < streams.size(); ++i) fds.push_back({accept(lfd, nullptr, nullptr), POLLIN, 0});
    std::vector<char> buf(64 << 10);
    while (got.load() < bytes) {
      poll(fds.data(), fds.size(), 100);
      for (auto& p : fds) {
        if (!(p.revents & POLLIN)) continue;
        ssize_t n = recv(p.fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n > 0) got += static_cast<uint64_t>(n);
      }
    }
    for (auto& p : fds) close(p.fd);
  });
  Run r = Send(ntohs(a.sin_port), streams, [&] { return got.load() >= bytes; });
  reader.join();
  close(lfd);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t messages = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2'000'000;
  const int conns = argc > 2 ? std::atoi(argv[2]) : 4;
  std::vector<std::string> streams;
  uint64_t bytes = 0;
  for (int c = 0; c < conns; ++c) {
    streams.push_back(Stream(c, messages / conns));
    bytes += streams.back().size();
  }
  const uint64_t total = (messages / conns) * conns;
  const double mb = bytes / 1e6;

  Run floor = Floor(streams, bytes);

  CountingIntake intake;
  vigil::SyslogListenerConfig config;
  config.protocol = vigil::SyslogProtocol::kTcp;
  auto listener = vigil::SyslogListener::Start(config, &intake);
  if (!listener.ok()) {
    std::fprintf(stderr, "%s\n", listener.status().ToString().c_str());
    return 1;
  }
  Run tcp = Send((*listener)->port(), streams, [&] { return intake.messages.load() >= total; });
  (*listener)->Stop();

  // The framing decoder and batch building alone, on one thread.
  double cpu0 = CpuSeconds();
  uint64_t decoded = 0;
  std::string batch;
  for (const std::string& s : streams) {
    vigil::SyslogFrameDecoder dec(64 << 10);
    for (size_t off = 0; off < s.size(); off += 64 << 10) {
      dec.Feed(std::string_view(s).substr(off, 64 << 10), [&](std::string_view m, bool) {
        vigil::AppendSyslogLine(m, &batch);
        ++decoded;
        if (batch.size() >= (1 << 20)) batch.clear();
      });
    }
  }
  double decode_cpu = CpuSeconds() - cpu0;

  std::printf("%llu messages (%.0f MB) over %d loopback connections\n", static_cast<unsigned long long>(total), mb,
              conns);
  std::printf("%-34s %12s %10s %10s %12s\n", "", "msgs/s wall", "MB/s wall", "CPU-s", "msgs/CPU-s");
  auto row = [&](const char* name, const Run& r) {
    std::printf("%-34s %12.0f %10.0f %10.2f %12.0f\n", name, total / r.wall, mb / r.wall, r.cpu, total / r.cpu);
  };
  row("floor: read and discard", floor);
  row("syslog listener (tcp, counting)", tcp);
  std::printf("%-34s %12s %10s %10.2f %12.0f   (%llu messages)\n", "framing + batch lines, 1 thread", "", "",
              decode_cpu, decoded / decode_cpu, static_cast<unsigned long long>(decoded));
  std::printf("listener / floor CPU per message: %.2fx\n", tcp.cpu / floor.cpu);
  return 0;
}
