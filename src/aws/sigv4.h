// AWS Signature Version 4 (SigV4): signs HTTP requests to AWS APIs, in the
// Authorization header or as a presigned query string.
//
// The signer follows the published algorithm step by step (canonical request,
// string to sign, signing key, signature) and exposes each step, so tests can
// compare every intermediate against the aws-c-auth signing test suite.
//
// Paths and query parameters are given decoded; the signer percent-encodes
// them once (RFC 3986 unreserved characters kept), as S3 requires and as the
// test suite expects. Header values are given as sent; the signer trims them
// and folds runs of whitespace for the canonical form.
//
// Thread safety: all functions are pure; credentials are copied or borrowed
// for the duration of a call only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace vigil::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary (STS) credentials
};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the
// process environment. NotFound naming the missing variable otherwise.
Result<Credentials> CredentialsFromEnvironment();

// The payload hash S3 accepts when the body is not hashed (streamed uploads, presigned URLs).
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct SigningRequest {
  std::string method;  // "GET"
  std::string path;    // decoded, starting with '/': "/bucket/AWSLogs/x.json.gz"
  std::vector<std::pair<std::string, std::string>> query;    // decoded name, value (in any order)
  std::vector<std::pair<std::string, std::string>> headers;  // name as sent, value as sent; must include Host
  std::string payload_hash;  // lower-case hex SHA-256 of the body, or kUnsignedPayload
};

struct SigningParams {
  std::string region;   // "us-east-1"
  std::string service;  // "s3"
  int64_t time = 0;     // signing time, seconds since the Unix epoch (UTC)
  // Removes "." and ".." segments and empty segments from the path before
  // encoding. Every service but S3 wants this; S3 keys are taken literally.
  bool normalize_path = true;
  // Adds and signs x-amz-content-sha256 (S3 requires it for header signing).
  bool content_sha256_header = false;
  // Sends the session token without signing it (a few services want that).
  bool omit_session_token = false;
  int64_t expires_seconds = 3600;  // presigned URLs only
};

// Every intermediate of one signature; the test suite compares them all.
struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // lower-case hex
  std::string signed_headers;  // "host;x-amz-date"
  // Header signing: headers to add to the request, in order (X-Amz-Date,
  // X-Amz-Security-Token, x-amz-content-sha256, Authorization).
  std::vector<std::pair<std::string, std::string>> add_headers;
  // Presigning: the query string to append after the request's own
  // parameters ("X-Amz-Algorithm=...&...&X-Amz-Signature=..."), encoded.
  std::string presigned_query;
};

// Signs `request` for the Authorization header.
Signature SignHeaders(const SigningRequest& request, const Credentials& credentials,
                      const SigningParams& params);
// Signs `request` as a presigned URL (the X-Amz-* query parameters).
Signature Presign(const SigningRequest& request, const Credentials& credentials,
                  const SigningParams& params);

// Helpers, also used by the S3 client.
std::string Sha256Hex(std::string_view data);
// Percent-encodes everything but RFC 3986 unreserved characters (and '/'
// when `keep_slash`), upper-case hex, as SigV4 requires.
std::string UriEncode(std::string_view s, bool keep_slash);
// Decodes %XX escapes ('+' stays '+'); malformed escapes are kept literally.
std::string UriDecode(std::string_view s);
// "20150830T123600Z" for a Unix time.
std::string AmzDate(int64_t unix_seconds);

}  // namespace vigil::aws
