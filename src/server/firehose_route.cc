#include "server/firehose_route.h"

#include <strings.h>

#include "server/log.h"

namespace vigil::server {

Result<std::unique_ptr<FirehoseEndpoint>> AddFirehoseRoute(HttpServer& http, const ServeConfig& config,
                                                           Intake* intake, MetricsRegistry* metrics) {
  auto keys = config.firehose.ResolveKeys();
  if (!keys.ok()) return keys.status();
  FirehoseConfig fc;
  fc.access_keys = std::move(keys).value();
  fc.parser = config.firehose.parser;
  fc.max_record_bytes = config.firehose.max_record_bytes;
  // cpp-httplib inflates a gzip body while it is read (below), so the limits
  // that count are the listener's: http.max_body_bytes, raw and inflated.
  fc.max_body_bytes = config.http.max_body_bytes;
  fc.max_inflated_bytes = config.http.max_body_bytes;
  auto created = FirehoseEndpoint::Create(std::move(fc), intake, metrics);
  if (!created.ok()) return created.status().WithContext("firehose");
  FirehoseEndpoint* endpoint = created->get();
  const uint64_t limit = config.http.max_body_bytes;

  http.routes().Post(config.firehose.path, [endpoint, limit](const httplib::Request& req, httplib::Response& res,
                                                             const httplib::ContentReader& reader) {
    std::string body;
    bool too_large = false;
    bool read = ReadBody(reader, limit, &body, &too_large);
    // The body is already inflated: Content-Encoding is not passed on.
    HttpHeaders headers;
    for (const auto& [name, value] : req.headers) {
      if (strcasecmp(name.c_str(), "Content-Encoding") != 0) headers.emplace_back(name, value);
    }
    FirehoseResponse reply;
    const std::string request_id = req.get_header_value("X-Amz-Firehose-Request-Id");
    if (too_large || (!read && res.status == 413)) {
      reply = endpoint->Respond(413, request_id,
                                "body larger than http.max_body_bytes (" + std::to_string(limit) + ") after gzip");
    } else if (!read) {
      reply = endpoint->Respond(400, request_id, "could not read the body (truncated, or not the gzip it claims)");
    } else {
      reply = endpoint->Handle(req.method, headers, body, req.remote_addr);
    }
    if (reply.status >= 500) {
      Log(LogLevel::kWarn, "firehose request refused",
          {{"request_id", request_id}, {"status", std::to_string(reply.status)}, {"body", reply.body}});
    }
    res.status = reply.status;
    std::string content_type = "application/json";
    for (const auto& [name, value] : reply.headers) {
      if (strcasecmp(name.c_str(), "Content-Type") == 0) content_type = value;
      else res.set_header(name, value);
    }
    res.set_content(reply.body, content_type);
  });
  return std::move(created);
}

}  // namespace vigil::server
