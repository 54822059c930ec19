// S3Client: the few S3 API calls vigil needs (ListObjectsV2, GetObject,
// PutObject, DeleteObject, CreateBucket), over libcurl, signed with SigV4.
//
// Endpoints: by default the regional AWS endpoint with virtual-hosted-style
// URLs (https://bucket.s3.REGION.amazonaws.com/key). A configured endpoint
// (e.g. http://127.0.0.1:4568 for a local S3-compatible server, or a VPC
// endpoint) is used with path-style URLs (endpoint/bucket/key) unless
// `path_style` is turned off.
//
// Errors name the call, bucket and key, the S3 error code and message, and
// the HTTP status ("s3 GetObject logs/AWSLogs/x.json.gz: HTTP 403
// SignatureDoesNotMatch: The request signature we calculated does not
// match..."). 404s map to kNotFound, a body over the size limit to
// kLimitExceeded, everything else to kIoError. Transport errors, 5xx and
// throttling (429, SlowDown, RequestTimeout) are retried with exponential
// backoff before they are returned.
//
// Thread safety: an S3Client is immutable after construction; calls may run
// from several threads at once (each call uses its own curl handle).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aws/sigv4.h"
#include "common/status.h"

namespace vigil::aws {

struct S3Config {
  std::string region = "us-east-1";
  std::string endpoint;    // empty: https://s3.REGION.amazonaws.com (virtual-hosted style)
  bool path_style = true;  // with a configured endpoint: endpoint/bucket/key
  Credentials credentials;
  int64_t connect_timeout_ms = 10'000;
  int64_t request_timeout_ms = 120'000;  // one attempt, transfer included
  int max_retries = 4;                   // attempts after the first, for retryable failures
  int64_t retry_base_delay_ms = 200;     // doubled per attempt, capped at 5 s, with jitter
  // Clock for signing (seconds since the epoch); tests fix it, 0 means now.
  int64_t fixed_time = 0;
  // When set and true, transfers and retry waits stop early with kUnavailable
  // (a source shutting down). Must outlive the client.
  const std::atomic<bool>* cancel = nullptr;
};

struct S3Object {
  std::string key;
  uint64_t size = 0;
  std::string etag;
  std::string last_modified;  // as S3 gives it: "2024-01-01T00:05:00.000Z"
};

struct ListObjectsRequest {
  std::string bucket;
  std::string prefix;
  std::string delimiter;           // "/" to group keys into common prefixes
  std::string start_after;         // only keys after this one
  std::string continuation_token;  // from the previous page
  int max_keys = 1000;
};

struct ListObjectsPage {
  std::vector<S3Object> objects;          // in key order
  std::vector<std::string> common_prefixes;  // with a delimiter
  bool is_truncated = false;
  std::string next_continuation_token;
};

// The parts of an S3 error document (<Error><Code>...</Code><Message>...).
struct S3Error {
  std::string code;
  std::string message;
};

// Parse S3 response bodies (exposed for tests and the fuzzer).
Result<ListObjectsPage> ParseListObjectsV2(std::string_view xml);
Result<S3Error> ParseS3Error(std::string_view xml);

class S3Client {
 public:
  explicit S3Client(S3Config config);

  // One page of ListObjectsV2.
  Result<ListObjectsPage> ListObjectsV2(const ListObjectsRequest& request) const;
  // The whole object in memory; kLimitExceeded when it is larger than max_bytes.
  Result<std::string> GetObject(const std::string& bucket, const std::string& key, uint64_t max_bytes) const;
  Status PutObject(const std::string& bucket, const std::string& key, std::string_view body) const;
  // Ok also when the key does not exist (S3 answers 204 either way).
  Status DeleteObject(const std::string& bucket, const std::string& key) const;
  Status CreateBucket(const std::string& bucket) const;

  const S3Config& config() const { return config_; }

 private:
  struct Response {
    long http_status = 0;
    std::string body;
  };
  // One signed request with retries. `what` names the call for errors.
  Result<Response> Send(std::string_view method, const std::string& bucket, const std::string& key,
                        std::vector<std::pair<std::string, std::string>> query, std::string_view body,
                        uint64_t max_response_bytes, const std::string& what) const;

  S3Config config_;
};

}  // namespace vigil::aws
