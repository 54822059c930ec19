// HttpServer: `vigil serve`'s HTTP(S) listener (cpp-httplib).
//
//   POST /api/v1/ingest   NDJSON or a JSON array (Content-Encoding: gzip
//                         accepted), Authorization: Bearer <ingest token>,
//                         optional ?type=<parser>. 200 {"accepted": n} only
//                         once the body is durable in the write-ahead log.
//   GET  /healthz         200 while the process serves
//   GET  /readyz          200 once the log replay after start-up is done
//   GET  /metrics         Prometheus text (the MetricsRegistry)
//
// Answers: 400 unreadable body (the message names the problem), 401 missing
// or wrong token (and when no token is configured at all), 413 body over
// http.max_body_bytes (after decompression), 429 backlog full and 503 shutting
// down, both with Retry-After. Error bodies are {"error": "..."}.
//
// Other endpoints (the Firehose delivery endpoint) register their handlers on
// routes() before Start.
//
// Thread safety: handlers run on the server's thread pool; Start, Stop and
// BeginShutdown are called from the owning thread. The Intake, registry and
// ready callback are borrowed and must outlive the server.
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "ingest/intake.h"
#include "server/config.h"

namespace vigil::server {

class HttpServer {
 public:
  HttpServer(const ServeConfig& config, std::vector<std::string> tokens, Intake* intake, MetricsRegistry* metrics,
             std::function<bool()> ready);
  ~HttpServer();

  // Routes beyond the built-in ones; register before Start.
  httplib::Server& routes() { return *server_; }

  // Binds the configured address (port 0: any free port) and serves on a
  // background thread. Errors name the address.
  Status Start();
  int port() const { return port_; }
  // From now on ingest answers 503 (the intake is being closed).
  void BeginShutdown() { shutting_down_.store(true); }
  // Stops listening and waits for requests in flight.
  void Stop();

  // True when `authorization` is "Bearer <t>" for a configured token
  // (compared in constant time). Shared with the other authenticated routes.
  bool Authorized(const std::string& authorization) const;

 private:
  void HandleIngest(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void Refuse(httplib::Response& res, int code, const std::string& reason, const std::string& message);

  const ServeConfig& config_;
  std::vector<std::string> tokens_;
  Intake* intake_;
  MetricsRegistry* metrics_;
  std::function<bool()> ready_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> listener_done_{false};
  std::atomic<uint64_t> request_seq_{0};

  Counter* received_records_;
  Counter* received_bytes_;
};

// Reads a request body (already inflated by cpp-httplib when it came with
// Content-Encoding: gzip) into *body, stopping past `limit` bytes. False
// when the body could not be read; *too_large says whether the limit was
// the reason.
// `lines` (optional) counts the body's lines as it arrives.
class LineCounter;
bool ReadBody(const httplib::ContentReader& reader, uint64_t limit, std::string* body, bool* too_large,
              LineCounter* lines = nullptr);

// Counts the non-blank lines of a text given in consecutive pieces (a body
// as it arrives, each piece still in cache).
class LineCounter {
 public:
  void Feed(std::string_view piece);
  size_t lines() const { return lines_; }

 private:
  size_t lines_ = 0;
  bool in_line_ = false;  // past the first non-blank byte of the current line
};

// Records in an ingest body: non-blank lines of NDJSON, elements of a JSON
// array (a cheap scan, not a validation: broken records are dead-lettered
// later with their reason). InvalidArgument naming the problem when the body
// is neither (empty, or not starting with '{' or '['). `lines`, when given,
// is the body's LineCounter, so NDJSON is not scanned again.
Result<size_t> CountIngestRecords(std::string_view body, const LineCounter* lines = nullptr);

}  // namespace vigil::server
