#include "server/http_server.h"

#include <cstring>

#include "common/json_writer.h"
#include "formats/json_split.h"
#include "formats/parser.h"
#include "server/log.h"

namespace vigil::server {
namespace {

constexpr size_t kMaxDepth = 256;

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

size_t CountLines(std::string_view body) {
  LineCounter lines;
  lines.Feed(body);
  return lines.lines();
}

Result<size_t> CountArray(std::string_view body, size_t open) {
  std::vector<JsonSpan> spans;
  Status st = SplitJsonArray(body, open, kMaxDepth, &spans);
  if (!st.ok()) return Status::InvalidArgument("body: " + st.message());
  return spans.size();
}

}  // namespace

void LineCounter::Feed(std::string_view piece) {
  const char* p = piece.data();
  const char* const end = p + piece.size();
  while (p < end) {
    if (!in_line_) {  // blanks before a line's first byte
      const char c = *p;
      if (c == '\n' || c == ' ' || c == '\t' || c == '\r') {
        ++p;
        continue;
      }
      in_line_ = true;
      ++lines_;
    }
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (nl == nullptr) return;
    p = nl + 1;
    in_line_ = false;
  }
}

bool ReadBody(const httplib::ContentReader& reader, uint64_t limit, std::string* body, bool* too_large,
              LineCounter* lines) {
  *too_large = false;
  return reader([&](const char* data, size_t n) {
    if (body->size() + n > limit) {
      *too_large = true;
      return false;
    }
    body->append(data, n);
    if (lines) lines->Feed(std::string_view(data, n));
    return true;
  });
}

Result<size_t> CountIngestRecords(std::string_view body, const LineCounter* lines) {
  size_t start = SkipJsonSpace(body, 0);
  if (start >= body.size()) return Status::InvalidArgument("body is empty");
  if (body[start] == '[') return CountArray(body, start);
  if (body[start] != '{')
    return Status::InvalidArgument("body is neither NDJSON nor a JSON array (starts with '" +
                                   std::string(1, body[start]) + "'); name a text log type with ?type=");
  // A CloudTrail file ({"Records": [...]}) sent as one body.
  size_t end = SkipJsonValue(body, start, kMaxDepth);
  if (end != std::string_view::npos && SkipJsonSpace(body, end) >= body.size()) {
    size_t records = FindTopLevelKey(body.substr(start), "Records", kMaxDepth);
    if (records != std::string_view::npos) {
      size_t open = SkipJsonSpace(body, start + records);
      if (open < body.size() && body[open] == '[') return CountArray(body, open);
    }
    return 1;
  }
  return lines ? lines->lines() : CountLines(body);
}

HttpServer::HttpServer(const ServeConfig& config, std::vector<std::string> tokens, Intake* intake,
                       MetricsRegistry* metrics, std::function<bool()> ready)
    : config_(config), tokens_(std::move(tokens)), intake_(intake), metrics_(metrics), ready_(std::move(ready)) {
  if (config_.http.tls.enabled()) {
    server_ = std::make_unique<httplib::SSLServer>(config_.http.tls.cert_file.c_str(),
                                                   config_.http.tls.key_file.c_str());
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  received_records_ = &metrics_->GetCounter(kMetricReceivedRecords.name, kMetricReceivedRecords.help,
                                            {{"source", "http"}});
  received_bytes_ = &metrics_->GetCounter("vigil_received_bytes_total",
                                          "Bytes (decompressed) a serve source received and handed to intake.",
                                          {{"source", "http"}});
  const int threads = config_.http.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server_->set_read_timeout(config_.http.read_timeout);
  // Raw (compressed) bodies over the limit are refused before reading; the
  // decompressed size is checked while reading (HandleIngest).
  server_->set_payload_max_length(config_.http.max_body_bytes);
  server_->set_keep_alive_max_count(1000);
  // Answers are small writes after a large read: without TCP_NODELAY, Nagle's
  // algorithm meets the client's delayed ACK and every request waited ~40 ms
  // (measured: a 1,000-record request took 46 ms on an idle server).
  server_->set_tcp_nodelay(true);

  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}\n", "application/json");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool ready = ready_ && ready_() && !shutting_down_.load();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "{\"status\":\"ready\"}\n" : "{\"status\":\"not ready\"}\n", "application/json");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_->RenderPrometheus(), std::string(MetricsRegistry::kContentType).c_str());
  });
  server_->Post("/api/v1/ingest",
                [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
                  HandleIngest(req, res, reader);
                });
  server_->set_error_handler([this](const httplib::Request&, httplib::Response& res) {
    if (res.status == 413 && res.body.empty()) {  // refused by cpp-httplib before a handler answered
      metrics_->GetCounter(kMetricDroppedRecords.name, kMetricDroppedRecords.help,
                           {{"source", "http"}, {"reason", "too_large"}}).Inc();
      res.set_content(JsonObject().Str("error", "request body is larger than http.max_body_bytes (" +
                                                    std::to_string(config_.http.max_body_bytes) + ")").Done() + "\n",
                      "application/json");
    } else if (res.body.empty()) {
      res.set_content(JsonObject().Str("error", "HTTP " + std::to_string(res.status)).Done() + "\n",
                      "application/json");
    }
  });
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  if (config_.http.tls.enabled() && !server_->is_valid())
    return Status::InvalidArgument("http.tls: cannot load certificate " + config_.http.tls.cert_file + " and key " +
                                   config_.http.tls.key_file);
  const std::string& host = config_.http.listen;
  if (config_.http.port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ < 0) return Status::IoError("cannot listen on " + host + " (any port)");
  } else {
    if (!server_->bind_to_port(host, config_.http.port))
      return Status::IoError("cannot listen on " + host + ":" + std::to_string(config_.http.port) +
                             " (address in use, or not an address of this machine)");
    port_ = config_.http.port;
  }
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listener_done_.store(true);
  });
  // Stop before the listener runs would be lost (cpp-httplib's stop() only
  // acts on a running server), leaving Stop waiting for ever.
  while (!server_->is_running() && !listener_done_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::Ok();
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

bool HttpServer::Authorized(const std::string& authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || authorization.compare(0, kBearer.size(), kBearer) != 0) return false;
  std::string_view token = std::string_view(authorization).substr(kBearer.size());
  bool ok = false;
  for (const std::string& t : tokens_) ok |= ConstantTimeEquals(token, t);
  return ok;
}

void HttpServer::Refuse(httplib::Response& res, int code, const std::string& reason, const std::string& message) {
  metrics_->GetCounter(kMetricDroppedRecords.name, kMetricDroppedRecords.help, {{"source", "http"}, {"reason", reason}})
      .Inc();
  res.status = code;
  if (code == 429 || code == 503) res.set_header("Retry-After", std::to_string(config_.http.retry_after_seconds));
  if (code == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"vigil ingest\"");
  res.set_content(JsonObject().Str("error", message).Done() + "\n", "application/json");
}

void HttpServer::HandleIngest(const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader) {
  if (tokens_.empty())
    return Refuse(res, 401, "unauthorized", "ingest is disabled: no ingest token is configured (ingest.tokens)");
  if (!Authorized(req.get_header_value("Authorization")))
    return Refuse(res, 401, "unauthorized", "missing or unknown ingest token (Authorization: Bearer <token>)");
  if (shutting_down_.load()) return Refuse(res, 503, "shutting_down", "shutting down: not accepting input");
  std::string type = req.get_param_value("type");
  if (!type.empty() && !ParserRegistry::Default().Find(type))
    return Refuse(res, 400, "malformed", "unknown log type '" + type + "' in ?type=");

  std::string body;
  if (req.has_header("Content-Length")) {
    uint64_t len = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    if (len <= config_.http.max_body_bytes) body.reserve(len);
  }
  bool too_large = false;
  const uint64_t limit = config_.http.max_body_bytes;
  LineCounter lines;
  bool read = ReadBody(reader, limit, &body, &too_large, &lines);
  // cpp-httplib sets 413 itself when the raw body is over the limit.
  if (too_large || (!read && res.status == 413))
    return Refuse(res, 413, "too_large",
                  "request body is larger than http.max_body_bytes (" + std::to_string(limit) + ") after decompression");
  if (!read)
    return Refuse(res, 400, "malformed",
                  "could not read the request body (truncated, or Content-Encoding does not match the body)");

  // A named type may be a text log: one record per non-blank line.
  auto counted = CountIngestRecords(body, &lines);
  if (!counted.ok() && (type.empty() || body.empty()))
    return Refuse(res, 400, "malformed", counted.status().message());
  const size_t records = counted.ok() ? *counted : lines.lines();
  const size_t bytes = body.size();
  IntakeRecord rec;
  rec.source = "http";
  rec.name = "http " + req.remote_addr + " #" + std::to_string(request_seq_.fetch_add(1) + 1);
  rec.bytes = std::move(body);
  rec.parser = std::move(type);
  std::vector<IntakeRecord> batch;
  batch.push_back(std::move(rec));
  Status st = intake_->Accept(std::move(batch));
  if (!st.ok()) {
    if (st.code() == StatusCode::kUnavailable) {
      if (shutting_down_.load()) return Refuse(res, 503, "shutting_down", st.message());
      return Refuse(res, 429, "overload", st.message());
    }
    Log(LogLevel::kError, "ingest failed", {{"error", st.message()}});
    return Refuse(res, 500, "error", "could not make the input durable: " + st.message());
  }
  received_records_->Inc(records);
  received_bytes_->Inc(bytes);
  res.status = 200;
  res.set_content(JsonObject().UInt("accepted", records).UInt("bytes", bytes).Done() + "\n", "application/json");
}

}  // namespace vigil::server
