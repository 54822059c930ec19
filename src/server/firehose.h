// Amazon Data Firehose (formerly Kinesis Data Firehose) HTTP endpoint
// delivery: the request Firehose POSTs to a custom HTTP endpoint destination
// and the response it expects, independent of any HTTP server. The server
// hands the method, headers and body to FirehoseEndpoint::Handle and sends
// back the status, headers and body it returns.
//
// Request (protocol version 1.0):
//   headers  X-Amz-Firehose-Request-Id      opaque id, the same on retries
//            X-Amz-Firehose-Access-Key      the key configured on the stream
//            X-Amz-Firehose-Common-Attributes  optional,
//                                           {"commonAttributes":{"k":"v",...}}
//            X-Amz-Firehose-Source-Arn      the delivery stream
//            Content-Encoding: gzip         optional, the whole body
//   body     {"requestId":"...","timestamp":<ms>,
//             "records":[{"data":"<base64>"},...]}
// Each record's data is one record as the producer put it (a CloudWatch Logs
// subscription delivers a gzip payload per record); it becomes one
// IntakeRecord, bytes as decoded, so gzip is inflated and the log type
// recognised downstream exactly as for a file.
//
// Response: Content-Type application/json, never compressed, body
//   {"requestId":"<the request's id>","timestamp":<ms now>}     status 200
// or with "errorMessage":"..." and the status saying what Firehose should do:
//   400 malformed request (retried, then sent to the stream's S3 backup)
//   401 access key missing or wrong
//   405 not a POST
//   413 body, inflated body or one record beyond the configured limits
//       (Firehose does not retry 413)
//   503 intake overloaded or shutting down, with Retry-After (retried)
//   500 any other failure to make the records durable (retried)
// Firehose counts only 200 as delivered. Records are acknowledged only after
// Intake::Accept returns Ok, i.e. once they are durable; a request Firehose
// retries after a lost response is accepted again and de-duplicated by event
// id downstream.
//
// Thread safety: Handle may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "ingest/intake.h"

namespace vigil {

struct FirehoseConfig {
  // Any one of these is accepted as X-Amz-Firehose-Access-Key (several allow
  // rotating a key without downtime). At least one is required.
  std::vector<std::string> access_keys;
  // IntakeRecord::source, and the `source` label of the metrics.
  std::string source = "firehose";
  // IntakeRecord::parser for every record; empty: recognised from content.
  std::string parser;
  // The body as received. Firehose buffers at most 64 MiB per request.
  size_t max_body_bytes = size_t{64} << 20;
  // The body after Content-Encoding: gzip.
  size_t max_inflated_bytes = size_t{256} << 20;
  // One decoded record (still compressed if the producer compressed it).
  // Firehose's own limit is 1,000 KiB.
  size_t max_record_bytes = size_t{4} << 20;
};

// An HTTP header as received; names compare case-insensitively.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct FirehoseResponse {
  int status = 200;
  HttpHeaders headers;  // Content-Type, and Retry-After on 503
  std::string body;
};

// A parsed, authenticated delivery. Views are not kept: everything is owned.
struct FirehoseDelivery {
  std::string request_id;  // the header's, else the body's
  int64_t timestamp_ms = 0;  // when Firehose sent it (the body's timestamp)
  std::map<std::string, std::string> common_attributes;
  std::vector<IntakeRecord> records;  // empty records left out
  size_t body_records = 0;  // records in the body, once its records array is read
};

// The failure of a request, as the status and message Firehose is told.
struct FirehoseError {
  int status;
  std::string message;
};

// Reads a delivery request's body and headers (after authentication): gzip,
// JSON, base64, limits. On failure, `error` says the status and why; the
// request id is still filled in when it could be read. Pure: no I/O, no clock.
// `peer` (e.g. the client address) goes into each record's name.
bool ParseFirehoseDelivery(const FirehoseConfig& config, const HttpHeaders& headers, std::string_view body,
                           std::string_view peer, FirehoseDelivery* delivery, FirehoseError* error);

// The JSON body of a response: errorMessage only when `error` is non-empty.
std::string FirehoseResponseBody(std::string_view request_id, int64_t timestamp_ms, std::string_view error);

// The header's value (first of that name, case-insensitive), or nullptr.
const std::string* FindHeader(const HttpHeaders& headers, std::string_view name);

class FirehoseEndpoint {
 public:
  // `intake` must outlive the endpoint; `metrics` may be null. `now_ms` is the
  // clock for response timestamps (tests pin it); default: the system clock.
  // kInvalidArgument when no access key is configured.
  static Result<std::unique_ptr<FirehoseEndpoint>> Create(FirehoseConfig config, Intake* intake,
                                                          MetricsRegistry* metrics,
                                                          std::function<int64_t()> now_ms = nullptr);

  // Authenticates, parses, hands the records to Intake::Accept, and answers.
  FirehoseResponse Handle(std::string_view method, const HttpHeaders& headers, std::string_view body,
                          std::string_view peer = {});

  // True when `key` equals one of the configured access keys. Takes the same
  // time whatever `key` is (lengths included): both sides are compared as
  // SHA-256 digests, every configured key each time.
  bool Authenticate(std::string_view key) const;

  // A response in Firehose's format (counted in the request metrics), for a
  // server that refuses a request before Handle sees it (e.g. a body over its
  // size limit): `error` empty for success.
  FirehoseResponse Respond(int status, std::string_view request_id, std::string_view error) const;

 private:
  FirehoseEndpoint(FirehoseConfig config, Intake* intake, MetricsRegistry* metrics,
                   std::function<int64_t()> now_ms);
  void CountDropped(std::string_view reason, uint64_t n);

  FirehoseConfig config_;
  std::vector<std::string> key_digests_;
  Intake* intake_;
  MetricsRegistry* metrics_;
  std::function<int64_t()> now_ms_;
  Counter* received_ = nullptr;
  std::vector<Counter*> requests_;  // by status, in kStatuses' order
};

}  // namespace vigil
