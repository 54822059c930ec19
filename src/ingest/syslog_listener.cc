// Threads: one per listener, running a poll() loop over the listening socket
// and all of its connections (non-blocking; TLS through non-blocking OpenSSL
// on the socket). Intake::Accept blocks until its group commit is durable, so
// the loop's one Accept call carries every connection's messages of the last
// few milliseconds; a thread per connection would only split the same data
// into more, smaller Accept calls and cost a stack per sender. One thread also
// makes backpressure a single switch (stop polling the connections) and
// keeps each connection's messages in order without locks. poll() rather
// than epoll: the connection set is small (max_connections) and is rebuilt
// every pass anyway, since which sockets are polled changes with the state.
#include "ingest/syslog_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <signal.h>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ingest/syslog_framing.h"

namespace vigil {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kReadChunk = 64 << 10;
// Bytes read from one connection per pass, so one busy sender cannot starve
// the others.
constexpr size_t kReadBudget = 256 << 10;
constexpr int kFirstBackoffMs = 10;
constexpr int kMaxBackoffMs = 1000;
constexpr int kHandshakeTimeoutMs = 30 * 1000;
// Diagnostics per second a listener writes at most (a flood of truncated
// messages must not flood the log).
constexpr int kWarningsPerSecond = 5;

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

std::string OpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

std::string AddressName(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?";
}

// The messages waiting for one Accept call: one IntakeRecord per sender.
struct Batch {
  std::vector<IntakeRecord> records;
  std::unordered_map<std::string, size_t> by_name;
  size_t messages = 0;
  size_t bytes = 0;
  Clock::time_point oldest;

  bool empty() const { return messages == 0; }
  void Add(const std::string& source, const std::string& name, std::string_view message) {
    auto [it, inserted] = by_name.try_emplace(name, records.size());
    if (inserted) records.push_back(IntakeRecord{source, name, {}, "syslog"});
    std::string& out = records[it->second].bytes;
    size_t before = out.size();
    if (!AppendSyslogLine(message, &out)) {  // nothing but line ends
      if (inserted) {
        records.pop_back();
        by_name.erase(it);
      }
      return;
    }
    if (messages == 0) oldest = Clock::now();
    bytes += out.size() - before;
    ++messages;
  }
  void Clear() {
    records.clear();
    by_name.clear();
    messages = 0;
    bytes = 0;
  }
};

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string name;  // "<source> <peer>"
  SyslogFrameDecoder decoder;
  Clock::time_point last_active;
  bool handshaking = false;
  bool want_write = false;  // TLS needs the socket writable to go on
  bool readable = false;    // data may be left to read without waiting for poll
  Conn(size_t max_message) : decoder(max_message) {}
};

enum class ReadResult { kOpen, kEof, kError };

class ListenerImpl final : public SyslogListener {
 public:
  ListenerImpl(SyslogListenerConfig config, Intake* intake, MetricsRegistry* metrics)
      : config_(std::move(config)), intake_(intake) {
    if (config_.source.empty()) config_.source = "syslog-" + std::string(SyslogProtocolName(config_.protocol));
    if (metrics) {
      MetricLabels source = {{"source", config_.source}};
      auto dropped = [&](const char* reason) {
        return &metrics->GetCounter(kMetricDroppedRecords.name, kMetricDroppedRecords.help,
                                    {{"source", config_.source}, {"reason", reason}});
      };
      metrics_ = Metrics{
          &metrics->GetCounter(kMetricReceivedRecords.name, kMetricReceivedRecords.help, source),
          dropped("overload"),
          dropped("error"),
          &metrics->GetCounter("vigil_syslog_truncated_messages_total",
                               "Syslog messages longer than max_message_bytes, kept truncated.", source),
          &metrics->GetCounter("vigil_syslog_refused_batches_total",
                               "Syslog batches intake refused (TCP/TLS: reading paused, then offered again).",
                               source),
          &metrics->GetGauge("vigil_syslog_connections", "Open syslog TCP/TLS connections.", source),
      };
    }
  }
  ~ListenerImpl() override {
    Stop();
    if (fd_ >= 0) close(fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
    if (ctx_) SSL_CTX_free(ctx_);
  }

  Status Open();
  void Launch() { thread_ = std::thread([this] { config_.protocol == SyslogProtocol::kUdp ? RunUdp() : RunStream(); }); }

  uint16_t port() const override { return port_; }
  void Stop() override {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (!thread_.joinable()) return;
    stopping_.store(true);
    uint64_t one = 1;
    [[maybe_unused]] ssize_t w = write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  SyslogListenerStats stats() const override {
    SyslogListenerStats s;
    s.messages_received = received_.load();
    s.messages_accepted = accepted_.load();
    s.messages_dropped = dropped_.load();
    s.messages_truncated = truncated_.load();
    s.batches_refused = refused_.load();
    s.connections_accepted = conns_accepted_.load();
    s.connections_rejected = conns_rejected_.load();
    s.connections_open = conns_open_.load();
    return s;
  }

 private:
  void RunUdp();
  void RunStream();
  bool Offer(Batch& batch, bool keep);
  void AcceptConnections(std::vector<std::unique_ptr<Conn>>* conns);
  void Handshake(Conn& c, bool* failed);
  ReadResult ReadConn(Conn& c, char* buf, Batch& batch);
  void CloseConn(Conn& c, Batch& batch, bool eof);
  bool BatchFull(const Batch& b) const {
    return b.messages >= config_.batch_messages || b.bytes >= config_.batch_bytes;
  }
  void OnMessage(const std::string& name, std::string_view message, bool truncated, Batch& batch) {
    batch.Add(config_.source, name, message);
    received_.fetch_add(1, std::memory_order_relaxed);
    if (truncated) {
      truncated_.fetch_add(1, std::memory_order_relaxed);
      if (metrics_.truncated) metrics_.truncated->Inc();
      Warn(name + ": message longer than " + std::to_string(config_.max_message_bytes) +
           " bytes (max_message_bytes) truncated");
    }
  }
  void Warn(const std::string& message);
  // Counts messages lost because the Intake refused them (last_refusal_ says why).
  void CountDropped(size_t n) {
    dropped_.fetch_add(n, std::memory_order_relaxed);
    Counter* c = last_refusal_ == StatusCode::kUnavailable ? metrics_.dropped_overload : metrics_.dropped_error;
    if (c) c->Inc(n);
  }

  SyslogListenerConfig config_;
  Intake* intake_;
  int fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  SSL_CTX* ctx_ = nullptr;
  std::thread thread_;
  std::mutex stop_mu_;
  std::atomic<bool> stopping_{false};

  Clock::time_point accept_resume_;  // accept nothing before (out of descriptors)
  Clock::time_point warn_second_;
  int warnings_this_second_ = 0;

  // The registry's series; all null without a registry.
  struct Metrics {
    Counter* received = nullptr;
    Counter* dropped_overload = nullptr;
    Counter* dropped_error = nullptr;
    Counter* truncated = nullptr;
    Counter* refused = nullptr;
    Gauge* connections = nullptr;
  } metrics_;
  StatusCode last_refusal_ = StatusCode::kOk;

  std::atomic<uint64_t> received_{0}, accepted_{0}, dropped_{0}, truncated_{0}, refused_{0};
  std::atomic<uint64_t> conns_accepted_{0}, conns_rejected_{0}, conns_open_{0};
};

void ListenerImpl::Warn(const std::string& message) {
  auto now = Clock::now();
  if (now - warn_second_ >= std::chrono::seconds(1)) {
    warn_second_ = now;
    warnings_this_second_ = 0;
  }
  if (++warnings_this_second_ > kWarningsPerSecond) return;
  if (config_.warn) {
    config_.warn(message);
  } else {
    std::fprintf(stderr, "vigil: warning: %s\n", message.c_str());
  }
}

Status ListenerImpl::Open() {
  const bool udp = config_.protocol == SyslogProtocol::kUdp;
  std::string where = std::string(SyslogProtocolName(config_.protocol)) + " " + config_.bind + ":" +
                      std::to_string(config_.port);
  addrinfo hints{};
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(config_.port);
  if (int rc = getaddrinfo(config_.bind.c_str(), port.c_str(), &hints, &res); rc != 0 || !res)
    return Status::InvalidArgument("syslog listener " + where + ": bind is not a numeric IP address (" +
                                   gai_strerror(rc) + ")");
  fd_ = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    freeaddrinfo(res);
    return Status::IoError("syslog listener " + where + ": " + Errno("socket"));
  }
  int on = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (udp) {
    // Room for bursts while a batch is being accepted (the kernel caps it).
    int rcvbuf = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  int rc = bind(fd_, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) return Status::IoError("syslog listener " + where + ": " + Errno("bind"));
  if (!udp && listen(fd_, 128) != 0) return Status::IoError("syslog listener " + where + ": " + Errno("listen"));
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::IoError("syslog listener " + where + ": " + Errno("eventfd"));

  if (config_.protocol == SyslogProtocol::kTls) {
    // A peer that resets mid-handshake must not kill the process: OpenSSL
    // writes with write(2), which raises SIGPIPE. Servers ignore it.
    signal(SIGPIPE, SIG_IGN);
    ERR_clear_error();
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (!ctx_) return Status::Internal("syslog listener " + where + ": " + OpenSslError());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    // No TLS 1.3 session tickets: senders only write, and a ticket they never
    // read makes their close a reset, which discards what they sent last.
    SSL_CTX_set_num_tickets(ctx_, 0);
    if (SSL_CTX_use_certificate_chain_file(ctx_, config_.tls_cert.c_str()) != 1)
      return Status::InvalidArgument("syslog listener " + where + ": tls_cert " + config_.tls_cert + ": " +
                                     OpenSslError());
    if (SSL_CTX_use_PrivateKey_file(ctx_, config_.tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx_) != 1)
      return Status::InvalidArgument("syslog listener " + where + ": tls_key " + config_.tls_key + ": " +
                                     OpenSslError());
    if (!config_.tls_client_ca.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_, config_.tls_client_ca.c_str(), nullptr) != 1)
        return Status::InvalidArgument("syslog listener " + where + ": tls_client_ca " + config_.tls_client_ca +
                                       ": " + OpenSslError());
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config_.tls_client_ca.c_str()))
        SSL_CTX_set_client_CA_list(ctx_, names);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
  }
  return Status::Ok();
}

// Hands the batch to the Intake. keep: the records are copied, so a refused
// batch can be offered again.
bool ListenerImpl::Offer(Batch& batch, bool keep) {
  std::vector<IntakeRecord> records = keep ? batch.records : std::move(batch.records);
  Status s = intake_->Accept(std::move(records));
  if (s.ok()) {
    accepted_.fetch_add(batch.messages, std::memory_order_relaxed);
    if (metrics_.received) metrics_.received->Inc(batch.messages);
    return true;
  }
  refused_.fetch_add(1, std::memory_order_relaxed);
  if (metrics_.refused) metrics_.refused->Inc();
  last_refusal_ = s.code();
  if (s.code() != StatusCode::kUnavailable) Warn(config_.source + ": batch not accepted: " + s.ToString());
  return false;
}

void ListenerImpl::RunUdp() {
  std::vector<char> buf(config_.max_message_bytes + 1);
  Batch batch;
  while (!stopping_.load()) {
    auto now = Clock::now();
    if (!batch.empty() && (BatchFull(batch) || now - batch.oldest >= milliseconds(config_.batch_delay_ms))) {
      if (!Offer(batch, /*keep=*/false)) {
        CountDropped(batch.messages);
        Warn(config_.source + ": overloaded: " + std::to_string(batch.messages) + " UDP messages dropped");
      }
      batch.Clear();
    }
    int timeout = -1;
    if (!batch.empty()) {
      auto due = batch.oldest + milliseconds(config_.batch_delay_ms);
      timeout = static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<milliseconds>(due - now).count() + 1));
    }
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd_, POLLIN, 0}};
    if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
      Warn(config_.source + ": " + Errno("poll"));
      break;
    }
    if (!(fds[1].revents & POLLIN)) continue;
    size_t budget = kReadBudget;
    while (budget > 0 && !BatchFull(batch)) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      // MSG_TRUNC: the datagram's real length, to notice truncation.
      ssize_t n = recvfrom(fd_, buf.data(), buf.size(), MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) Warn(config_.source + ": " + Errno("recvfrom"));
        break;
      }
      size_t len = std::min(static_cast<size_t>(n), config_.max_message_bytes);
      std::string_view message(buf.data(), len);
      while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == '\0'))
        message.remove_suffix(1);
      if (!message.empty())
        OnMessage(config_.source + " " + AddressName(from), message, static_cast<size_t>(n) > len, batch);
      budget -= std::max<size_t>(len, 1);
    }
  }
  if (!batch.empty() && !Offer(batch, /*keep=*/false)) CountDropped(batch.messages);
}

void ListenerImpl::AcceptConnections(std::vector<std::unique_ptr<Conn>>* conns) {
  while (true) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // Out of file descriptors: the pending connection stays queued and
        // the socket readable; polling it again at once would spin.
        Warn(config_.source + ": " + Errno("accept"));
        accept_resume_ = Clock::now() + milliseconds(100);
      }
      return;
    }
    std::string name = config_.source + " " + AddressName(peer);
    if (conns->size() >= config_.max_connections) {
      conns_rejected_.fetch_add(1, std::memory_order_relaxed);
      close(fd);
      Warn(name + ": connection refused: " + std::to_string(config_.max_connections) +
           " connections open (max_connections)");
      continue;
    }
    auto c = std::make_unique<Conn>(config_.max_message_bytes);
    c->fd = fd;
    c->name = std::move(name);
    c->last_active = Clock::now();
    if (ctx_) {
      c->ssl = SSL_new(ctx_);
      if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
        Warn(c->name + ": " + OpenSslError());
        if (c->ssl) SSL_free(c->ssl);
        close(fd);
        conns_rejected_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      SSL_set_accept_state(c->ssl);
      c->handshaking = true;
    } else {
      c->readable = true;
    }
    conns_accepted_.fetch_add(1, std::memory_order_relaxed);
    conns_open_.fetch_add(1, std::memory_order_relaxed);
    if (metrics_.connections) metrics_.connections->Add(1);
    conns->push_back(std::move(c));
  }
}

void ListenerImpl::Handshake(Conn& c, bool* failed) {
  ERR_clear_error();
  int r = SSL_do_handshake(c.ssl);
  if (r == 1) {
    c.handshaking = false;
    c.want_write = false;
    c.readable = true;  // application data may have come with the handshake
    c.last_active = Clock::now();
    return;
  }
  int err = SSL_get_error(c.ssl, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    c.want_write = err == SSL_ERROR_WANT_WRITE;
    return;
  }
  conns_rejected_.fetch_add(1, std::memory_order_relaxed);
  Warn(c.name + ": TLS handshake failed: " + OpenSslError());
  *failed = true;
}

ReadResult ListenerImpl::ReadConn(Conn& c, char* buf, Batch& batch) {
  size_t budget = kReadBudget;
  auto on_message = [&](std::string_view m, bool truncated) { OnMessage(c.name, m, truncated, batch); };
  while (budget > 0 && !BatchFull(batch)) {
    ssize_t n;
    if (c.ssl) {
      ERR_clear_error();
      n = SSL_read(c.ssl, buf, static_cast<int>(kReadChunk));
      if (n <= 0) {
        int err = SSL_get_error(c.ssl, static_cast<int>(n));
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
          c.want_write = err == SSL_ERROR_WANT_WRITE;
          c.readable = false;
          return ReadResult::kOpen;
        }
        if (err == SSL_ERROR_ZERO_RETURN) return ReadResult::kEof;
        if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return ReadResult::kEof;  // closed without close_notify
        Warn(c.name + ": TLS read failed: " + OpenSslError());
        return ReadResult::kError;
      }
      c.want_write = false;
    } else {
      n = recv(c.fd, buf, kReadChunk, 0);
      if (n == 0) return ReadResult::kEof;
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          c.readable = false;
          return ReadResult::kOpen;
        }
        Warn(c.name + ": " + Errno("recv"));
        return ReadResult::kError;
      }
    }
    c.last_active = Clock::now();
    c.decoder.Feed(std::string_view(buf, static_cast<size_t>(n)), on_message);
    budget -= std::min(budget, static_cast<size_t>(n));
  }
  c.readable = true;  // stopped early: more may be waiting
  return ReadResult::kOpen;
}

void ListenerImpl::CloseConn(Conn& c, Batch& batch, bool eof) {
  if (eof) {
    size_t missing = c.decoder.Finish([&](std::string_view m, bool truncated) { OnMessage(c.name, m, truncated, batch); });
    if (missing > 0)
      Warn(c.name + ": connection closed " + std::to_string(missing) +
           " bytes before the end of an octet-counted message; that message is dropped");
  }
  if (c.ssl) SSL_free(c.ssl);
  c.ssl = nullptr;
  close(c.fd);
  c.fd = -1;
  conns_open_.fetch_sub(1, std::memory_order_relaxed);
  if (metrics_.connections) metrics_.connections->Sub(1);
}

void ListenerImpl::RunStream() {
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<pollfd> fds;
  std::vector<char> buf(kReadChunk);
  Batch batch;
  bool paused = false;  // the Intake refused the batch: read nothing until it takes it
  Clock::time_point retry_at;
  int backoff_ms = kFirstBackoffMs;

  while (!stopping_.load()) {
    auto now = Clock::now();
    if (!batch.empty() && (paused ? now >= retry_at
                                  : BatchFull(batch) || now - batch.oldest >= milliseconds(config_.batch_delay_ms))) {
      if (Offer(batch, /*keep=*/true)) {
        batch.Clear();
        paused = false;
        backoff_ms = kFirstBackoffMs;
      } else {
        paused = true;
        retry_at = now + milliseconds(backoff_ms);
        backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
      }
    }
    const bool can_read = !paused && !BatchFull(batch);

    // Poll: the wake-up fd, the listening socket, then one entry per
    // connection (fd -1, ignored, for a connection not read now).
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({Clock::now() >= accept_resume_ ? fd_ : -1, POLLIN, 0});
    bool ready_now = false;
    for (auto& c : conns) {
      bool active = c->handshaking || can_read;
      fds.push_back({active ? c->fd : -1, static_cast<short>(c->want_write ? POLLOUT : POLLIN), 0});
      if (active && c->readable && !c->handshaking) ready_now = true;
    }
    int64_t timeout = ready_now ? 0 : 1000;  // idle timeouts are checked at least once a second
    if (!batch.empty()) {
      auto due = paused ? retry_at : batch.oldest + milliseconds(config_.batch_delay_ms);
      timeout = std::min<int64_t>(timeout, std::max<int64_t>(
                                               0, std::chrono::duration_cast<milliseconds>(due - now).count() + 1));
    }
    if (poll(fds.data(), fds.size(), static_cast<int>(timeout)) < 0 && errno != EINTR) {
      Warn(config_.source + ": " + Errno("poll"));
      break;
    }
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = read(wake_fd_, &v, sizeof v);
    }
    if (fds[1].revents & POLLIN) AcceptConnections(&conns);

    now = Clock::now();
    // The connections polled are the first fds.size() - 2 (accepted ones come after).
    size_t polled = fds.size() - 2;
    for (size_t i = 0; i < conns.size(); ++i) {
      Conn& c = *conns[i];
      short revents = i < polled ? fds[i + 2].revents : 0;
      bool close_it = false, eof = false;
      if (c.handshaking) {
        if (revents || i >= polled) Handshake(c, &close_it);
      }
      if (!close_it && !c.handshaking && can_read && !BatchFull(batch) && (revents || c.readable)) {
        ReadResult r = ReadConn(c, buf.data(), batch);
        close_it = r != ReadResult::kOpen;
        eof = r == ReadResult::kEof;
      }
      int limit = c.handshaking ? (config_.idle_timeout_ms > 0 ? std::min(config_.idle_timeout_ms, kHandshakeTimeoutMs)
                                                               : kHandshakeTimeoutMs)
                                : config_.idle_timeout_ms;
      if (!close_it && limit > 0 && now - c.last_active > milliseconds(limit)) {
        Warn(c.name + (c.handshaking ? ": TLS handshake timed out" : ": idle connection closed"));
        close_it = true;
      }
      if (close_it) CloseConn(c, batch, eof);
    }
    conns.erase(std::remove_if(conns.begin(), conns.end(), [](const auto& c) { return c->fd < 0; }), conns.end());
  }

  // Stop: what has already arrived is read (one pass, unless the Intake is
  // refusing), handed to the Intake once more, and every socket closes. A
  // partial LF-framed message counts as complete, as at EOF.
  for (auto& c : conns) {
    if (!paused && !c->handshaking) (void)ReadConn(*c, buf.data(), batch);
    CloseConn(*c, batch, /*eof=*/true);
  }
  if (!batch.empty() && !Offer(batch, /*keep=*/false)) {
    CountDropped(batch.messages);
    Warn(config_.source + ": stopping: " + std::to_string(batch.messages) + " messages not accepted");
  }
}

}  // namespace

Result<SyslogProtocol> ParseSyslogProtocol(std::string_view word) {
  if (word == "udp") return SyslogProtocol::kUdp;
  if (word == "tcp") return SyslogProtocol::kTcp;
  if (word == "tls") return SyslogProtocol::kTls;
  return Status::InvalidArgument("syslog protocol '" + std::string(word) + "': expected udp, tcp or tls");
}

std::string_view SyslogProtocolName(SyslogProtocol protocol) {
  switch (protocol) {
    case SyslogProtocol::kUdp: return "udp";
    case SyslogProtocol::kTcp: return "tcp";
    case SyslogProtocol::kTls: return "tls";
  }
  return "?";
}

Status ValidateSyslogListenerConfig(const SyslogListenerConfig& c) {
  std::string where = "syslog listener " + std::string(SyslogProtocolName(c.protocol)) + " " + c.bind + ":" +
                      std::to_string(c.port);
  if (c.protocol == SyslogProtocol::kTls && (c.tls_cert.empty() || c.tls_key.empty()))
    return Status::InvalidArgument(where + ": tls needs tls_cert and tls_key");
  if (c.protocol != SyslogProtocol::kTls && (!c.tls_cert.empty() || !c.tls_key.empty() || !c.tls_client_ca.empty()))
    return Status::InvalidArgument(where + ": tls_cert, tls_key and tls_client_ca are for protocol tls only");
  if (c.max_message_bytes < 480)  // RFC 5426: every receiver takes 480-byte messages
    return Status::InvalidArgument(where + ": max_message_bytes must be at least 480");
  if (c.max_connections == 0) return Status::InvalidArgument(where + ": max_connections must be at least 1");
  if (c.batch_messages == 0 || c.batch_bytes == 0)
    return Status::InvalidArgument(where + ": batch_messages and batch_bytes must be at least 1");
  if (c.idle_timeout_ms < 0 || c.batch_delay_ms < 0)
    return Status::InvalidArgument(where + ": idle_timeout_ms and batch_delay_ms cannot be negative");
  return Status::Ok();
}

Result<std::unique_ptr<SyslogListener>> SyslogListener::Start(SyslogListenerConfig config, Intake* intake,
                                                              MetricsRegistry* metrics) {
  VIGIL_RETURN_IF_ERROR(ValidateSyslogListenerConfig(config));
  auto listener = std::make_unique<ListenerImpl>(std::move(config), intake, metrics);
  VIGIL_RETURN_IF_ERROR(listener->Open());
  listener->Launch();
  return std::unique_ptr<SyslogListener>(std::move(listener));
}

}  // namespace vigil
