#include "server/firehose.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include <chrono>
#include <strings.h>

#include <fmt/format.h>

#include "common/base64.h"
#include "common/byte_buffer.h"
#include "common/json_writer.h"
#include "formats/decompress.h"

namespace vigil {
namespace {

constexpr std::string_view kRequestIdHeader = "X-Amz-Firehose-Request-Id";
constexpr std::string_view kAccessKeyHeader = "X-Amz-Firehose-Access-Key";
constexpr std::string_view kCommonAttributesHeader = "X-Amz-Firehose-Common-Attributes";
// The status codes Handle answers, each with a pre-registered request counter.
constexpr int kStatuses[] = {200, 400, 401, 405, 413, 500, 503};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string Sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<char*>(digest), len);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool Fail(FirehoseError* error, int status, std::string message) {
  *error = {status, std::move(message)};
  return false;
}

// X-Amz-Firehose-Common-Attributes: {"commonAttributes":{"name":"value",...}}.
bool ParseCommonAttributes(std::string_view text, std::map<std::string, std::string>* out, FirehoseError* error) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) {
    return Fail(error, 400, fmt::format("{} is not JSON", kCommonAttributesHeader));
  }
  simdjson::dom::object attributes;
  if (doc["commonAttributes"].get_object().get(attributes) != simdjson::SUCCESS) {
    return Fail(error, 400, fmt::format("{} has no commonAttributes object", kCommonAttributesHeader));
  }
  for (auto [key, value] : attributes) {
    std::string_view v;
    if (value.get_string().get(v) != simdjson::SUCCESS) {
      return Fail(error, 400, fmt::format("{}: attribute \"{}\" is not a string", kCommonAttributesHeader, key));
    }
    (*out)[std::string(key)] = std::string(v);
  }
  return true;
}

}  // namespace

const std::string* FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return &v;
  }
  return nullptr;
}

bool ParseFirehoseDelivery(const FirehoseConfig& config, const HttpHeaders& headers, std::string_view body,
                           std::string_view peer, FirehoseDelivery* delivery, FirehoseError* error) {
  if (const std::string* id = FindHeader(headers, kRequestIdHeader)) delivery->request_id = *id;
  if (body.size() > config.max_body_bytes) {
    return Fail(error, 413, fmt::format("body of {} bytes exceeds the limit of {}", body.size(), config.max_body_bytes));
  }
  if (const std::string* attrs = FindHeader(headers, kCommonAttributesHeader)) {
    if (!ParseCommonAttributes(*attrs, &delivery->common_attributes, error)) return false;
  }

  // The JSON is parsed in place from a buffer with simdjson's padding.
  ByteBuffer json;
  const std::string* encoding = FindHeader(headers, "Content-Encoding");
  std::string_view coding = encoding ? Trim(*encoding) : std::string_view();
  if (EqualsIgnoreCase(coding, "gzip")) {
    Result<ByteBuffer> inflated = GunzipAll(body, "body", config.max_inflated_bytes);
    if (!inflated.ok()) {
      bool too_large = inflated.status().code() == StatusCode::kLimitExceeded;
      return Fail(error, too_large ? 413 : 400, inflated.status().message());
    }
    json = std::move(inflated).value();
  } else if (coding.empty() || EqualsIgnoreCase(coding, "identity")) {
    json = ByteBuffer(body);
  } else {
    return Fail(error, 400, fmt::format("unsupported Content-Encoding \"{}\" (gzip or none)", coding));
  }

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto e = parser.parse(json.data(), json.size(), false).get(doc); e != simdjson::SUCCESS) {
    return Fail(error, 400, fmt::format("body is not JSON: {}", simdjson::error_message(e)));
  }
  simdjson::dom::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) return Fail(error, 400, "body is not a JSON object");

  simdjson::dom::element field;
  if (root["requestId"].get(field) == simdjson::SUCCESS) {
    std::string_view id;
    if (field.get_string().get(id) != simdjson::SUCCESS) return Fail(error, 400, "requestId is not a string");
    if (delivery->request_id.empty()) {
      delivery->request_id = std::string(id);
    } else if (id != delivery->request_id) {
      return Fail(error, 400, fmt::format("requestId \"{}\" differs from {}", id, kRequestIdHeader));
    }
  }
  if (root["timestamp"].get(field) == simdjson::SUCCESS &&
      field.get_int64().get(delivery->timestamp_ms) != simdjson::SUCCESS) {
    return Fail(error, 400, "timestamp is not an integer (milliseconds)");
  }
  simdjson::dom::array records;
  if (root["records"].get_array().get(records) != simdjson::SUCCESS) {
    return Fail(error, 400, "body has no records array");
  }

  delivery->body_records = records.size();
  delivery->records.reserve(records.size());
  size_t index = 0;
  for (simdjson::dom::element record : records) {
    std::string_view data;
    if (record["data"].get_string().get(data) != simdjson::SUCCESS) {
      return Fail(error, 400, fmt::format("record {} has no data string", index));
    }
    // Base64 of n bytes is about 4n/3 characters: refuse before decoding.
    if (data.size() / 4 * 3 > config.max_record_bytes + 3) {
      return Fail(error, 413, fmt::format("record {} exceeds the record limit of {} bytes", index,
                                          config.max_record_bytes));
    }
    Result<std::string> bytes = Base64Decode(data);
    if (!bytes.ok()) {
      return Fail(error, 400, fmt::format("record {}: data is not valid {}", index, bytes.status().message()));
    }
    if (bytes->size() > config.max_record_bytes) {
      return Fail(error, 413, fmt::format("record {} of {} bytes exceeds the record limit of {}", index,
                                          bytes->size(), config.max_record_bytes));
    }
    if (!bytes->empty()) {  // an empty record holds no log to ingest
      IntakeRecord& out = delivery->records.emplace_back();
      out.source = config.source;
      out.name = fmt::format("{} {} {} #{}", config.source, peer.empty() ? "-" : peer,
                             delivery->request_id.empty() ? "-" : delivery->request_id, index);
      out.bytes = std::move(bytes).value();
      out.parser = config.parser;
    }
    ++index;
  }
  return true;
}

std::string FirehoseResponseBody(std::string_view request_id, int64_t timestamp_ms, std::string_view error) {
  JsonObject o;
  o.Str("requestId", request_id).Int("timestamp", timestamp_ms);
  if (!error.empty()) o.Str("errorMessage", error);
  return o.Done();
}

Result<std::unique_ptr<FirehoseEndpoint>> FirehoseEndpoint::Create(FirehoseConfig config, Intake* intake,
                                                                   MetricsRegistry* metrics,
                                                                   std::function<int64_t()> now_ms) {
  if (config.access_keys.empty()) {
    return Status::InvalidArgument(
        fmt::format("firehose source \"{}\": no access key configured (Firehose sends one with every request)",
                    config.source));
  }
  for (const std::string& key : config.access_keys) {
    if (key.empty()) return Status::InvalidArgument(fmt::format("firehose source \"{}\": empty access key", config.source));
  }
  if (!now_ms) {
    now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  return std::unique_ptr<FirehoseEndpoint>(
      new FirehoseEndpoint(std::move(config), intake, metrics, std::move(now_ms)));
}

FirehoseEndpoint::FirehoseEndpoint(FirehoseConfig config, Intake* intake, MetricsRegistry* metrics,
                                   std::function<int64_t()> now_ms)
    : config_(std::move(config)), intake_(intake), metrics_(metrics), now_ms_(std::move(now_ms)) {
  for (const std::string& key : config_.access_keys) key_digests_.push_back(Sha256(key));
  if (metrics_ != nullptr) {
    received_ = &metrics_->GetCounter(kMetricReceivedRecords.name, kMetricReceivedRecords.help,
                                      {{"source", config_.source}});
    for (int status : kStatuses) {
      requests_.push_back(&metrics_->GetCounter("vigil_source_requests_total",
                                                "Requests an HTTP source answered, by status code.",
                                                {{"source", config_.source}, {"code", std::to_string(status)}}));
    }
  }
}

bool FirehoseEndpoint::Authenticate(std::string_view key) const {
  std::string digest = Sha256(key);
  bool match = false;
  for (const std::string& want : key_digests_) {
    // No early exit: the time taken does not say which key (if any) matched.
    match |= digest.size() == want.size() && CRYPTO_memcmp(digest.data(), want.data(), want.size()) == 0;
  }
  return match;
}

FirehoseResponse FirehoseEndpoint::Respond(int status, std::string_view request_id, std::string_view error) const {
  FirehoseResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  r.body = FirehoseResponseBody(request_id, now_ms_(), error);
  for (size_t i = 0; i < requests_.size(); ++i) {
    if (kStatuses[i] == status) requests_[i]->Inc();
  }
  return r;
}

void FirehoseEndpoint::CountDropped(std::string_view reason, uint64_t n) {
  if (metrics_ == nullptr || n == 0) return;
  metrics_->GetCounter(kMetricDroppedRecords.name, kMetricDroppedRecords.help,
                       {{"source", config_.source}, {"reason", std::string(reason)}})
      .Inc(n);
}

FirehoseResponse FirehoseEndpoint::Handle(std::string_view method, const HttpHeaders& headers, std::string_view body,
                                          std::string_view peer) {
  const std::string* id_header = FindHeader(headers, kRequestIdHeader);
  std::string_view request_id = id_header ? std::string_view(*id_header) : std::string_view();
  if (method != "POST") return Respond(405, request_id, "Firehose delivers with POST");
  const std::string* key = FindHeader(headers, kAccessKeyHeader);
  if (key == nullptr) return Respond(401, request_id, fmt::format("missing {} header", kAccessKeyHeader));
  if (!Authenticate(*key)) return Respond(401, request_id, "invalid access key");

  FirehoseDelivery delivery;
  FirehoseError error{500, ""};
  if (!ParseFirehoseDelivery(config_, headers, body, peer, &delivery, &error)) {
    CountDropped(error.status == 413 ? "too_large" : "malformed", delivery.body_records);
    return Respond(error.status, delivery.request_id, error.message);
  }
  const uint64_t n = delivery.records.size();
  if (n == 0) return Respond(200, delivery.request_id, "");
  Status s = intake_->Accept(std::move(delivery.records));
  if (s.ok()) {
    if (received_ != nullptr) received_->Inc(n);
    return Respond(200, delivery.request_id, "");
  }
  switch (s.code()) {
    case StatusCode::kUnavailable:
      CountDropped("overload", n);
      return Respond(503, delivery.request_id, s.message());
    case StatusCode::kLimitExceeded:
      CountDropped("too_large", n);
      return Respond(413, delivery.request_id, s.message());
    case StatusCode::kInvalidArgument:
      CountDropped("malformed", n);
      return Respond(400, delivery.request_id, s.message());
    default:
      CountDropped("error", n);
      return Respond(500, delivery.request_id, s.message());
  }
}

}  // namespace vigil
