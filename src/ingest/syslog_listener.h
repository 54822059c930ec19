// Syslog listeners for `vigil serve`: UDP (RFC 5426, one datagram is one
// message), TCP (RFC 6587, octet counting and LF framing, see
// syslog_framing.h) and TLS (RFC 5425). Received messages are batched into
// IntakeRecords (one per sender and batch: the messages as lines, parser
// "syslog", name "syslog-tcp 10.0.0.5:51234") and handed to Intake::Accept.
//
// Backpressure: when Accept refuses a batch (kUnavailable, or any other
// error), a TCP/TLS listener keeps the batch, stops reading from every
// connection and offers the same batch again after a delay (10 ms doubling to
// 1 s). The kernel's socket buffers fill and senders' writes block: nothing
// received over TCP or TLS is dropped, and each connection's messages reach
// the Intake once, in order. UDP cannot slow a sender: a refused UDP batch is
// dropped and counted (stats().dropped_messages).
//
// Memory is bounded: per connection a read buffer of max_message_bytes, per
// listener one pending batch of at most batch_bytes (+ one read), and at most
// max_connections connections (more are closed on accept and counted).
//
// Thread safety: Start returns a running listener; stats(), port() and Stop()
// may be called from any thread. The Intake must outlive the listener.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "common/status.h"
#include "ingest/intake.h"

namespace vigil {

enum class SyslogProtocol { kUdp, kTcp, kTls };

// "udp", "tcp", "tls"; InvalidArgument naming the word otherwise.
Result<SyslogProtocol> ParseSyslogProtocol(std::string_view word);
std::string_view SyslogProtocolName(SyslogProtocol protocol);

// One listener, as `sources: syslog:` in the serve configuration describes it.
struct SyslogListenerConfig {
  SyslogProtocol protocol = SyslogProtocol::kTcp;
  std::string bind = "127.0.0.1";  // numeric IPv4 or IPv6 address; "0.0.0.0" for every interface
  uint16_t port = 0;               // 0: an ephemeral port (see SyslogListener::port)
  // IntakeRecord::source; empty: "syslog-udp", "syslog-tcp" or "syslog-tls".
  std::string source;

  // TLS only: PEM files. With client_ca set, clients must present a
  // certificate it signed (mutual TLS). TLS 1.2 is the oldest accepted.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;

  size_t max_message_bytes = 64 << 10;  // longer messages are truncated (syslog_framing.h)
  size_t max_connections = 256;         // TCP/TLS: more are closed at once
  int idle_timeout_ms = 10 * 60 * 1000; // TCP/TLS: a connection silent this long is closed (0: never)
  // A batch goes to Accept when it holds this many messages or bytes, or when
  // its oldest message has waited batch_delay_ms.
  size_t batch_messages = 2048;
  size_t batch_bytes = 1 << 20;
  int batch_delay_ms = 5;

  // Diagnostics (a connection closed, a truncated message, a refused batch);
  // empty: written to stderr as "vigil: warning: ...".
  std::function<void(const std::string&)> warn;
};

// Checks a config without opening anything (missing TLS files, zero limits).
Status ValidateSyslogListenerConfig(const SyslogListenerConfig& config);

struct SyslogListenerStats {
  uint64_t messages_received = 0;   // framed messages read
  uint64_t messages_accepted = 0;   // in batches the Intake accepted
  uint64_t messages_dropped = 0;    // UDP batches refused; messages pending at Stop that were refused
  uint64_t messages_truncated = 0;  // longer than max_message_bytes
  uint64_t batches_refused = 0;     // Accept calls that did not return Ok
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // over max_connections, or a failed TLS handshake
  uint64_t connections_open = 0;
};

class SyslogListener {
 public:
  // Binds, listens and starts the listener's thread. IoError naming the
  // address when the socket cannot be bound; InvalidArgument for a bad config.
  // `metrics` (may be null; must outlive the listener) gets, labelled with the
  // source: vigil_received_records_total (messages accepted),
  // vigil_dropped_records_total{reason="overload"|"error"},
  // vigil_syslog_truncated_messages_total, vigil_syslog_refused_batches_total
  // (backpressure) and the gauge vigil_syslog_connections.
  static Result<std::unique_ptr<SyslogListener>> Start(SyslogListenerConfig config, Intake* intake,
                                                       MetricsRegistry* metrics = nullptr);

  virtual ~SyslogListener() = default;  // implementations Stop()

  // The bound port (the ephemeral one when the config said 0).
  virtual uint16_t port() const = 0;
  // Reads what connections have already delivered (unless the Intake is
  // refusing), offers the pending batch to the Intake once more, closes every
  // socket and joins the thread. Messages still refused are dropped and
  // counted. Idempotent.
  virtual void Stop() = 0;
  virtual SyslogListenerStats stats() const = 0;
};

}  // namespace vigil
