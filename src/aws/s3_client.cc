#include "aws/s3_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "aws/xml.h"

namespace vigil::aws {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct BodySink {
  std::string* body;
  uint64_t limit;
  bool exceeded = false;
};

bool Cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(std::memory_order_acquire); }

int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return Cancelled(static_cast<const std::atomic<bool>*>(user)) ? 1 : 0;  // non-zero aborts the transfer
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  size_t bytes = size * n;
  if (sink->body->size() + bytes > sink->limit) {
    sink->exceeded = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  sink->body->append(data, bytes);
  return bytes;
}

struct Target {
  std::string url;
  std::string host;  // the Host header, signed
  std::string path;  // decoded, signed
};

Target MakeTarget(const S3Config& c, const std::string& bucket, const std::string& key) {
  std::string scheme = "https";
  std::string authority;
  std::string base;  // a path prefix of the endpoint, rarely used
  bool path_style = c.path_style;
  if (c.endpoint.empty()) {
    authority = "s3." + c.region + ".amazonaws.com";
    // Bucket names with dots do not match the wildcard certificate of virtual hosts.
    path_style = bucket.find('.') != std::string::npos;
  } else {
    std::string_view e = c.endpoint;
    size_t sep = e.find("://");
    if (sep != std::string_view::npos) {
      scheme = std::string(e.substr(0, sep));
      e.remove_prefix(sep + 3);
    }
    size_t slash = e.find('/');
    authority = std::string(e.substr(0, slash));
    if (slash != std::string_view::npos) base = std::string(e.substr(slash));
    while (!base.empty() && base.back() == '/') base.pop_back();
  }
  Target t;
  if (bucket.empty() || path_style) {
    t.host = authority;
    t.path = base + "/" + bucket;
    if (!key.empty()) t.path += "/" + key;
  } else {
    t.host = bucket + "." + authority;
    t.path = base + "/" + key;
  }
  t.url = scheme + "://" + t.host + UriEncode(t.path, /*keep_slash=*/true);
  return t;
}

bool RetryableCode(std::string_view code) {
  return code == "SlowDown" || code == "Throttling" || code == "ThrottlingException" ||
         code == "RequestTimeout" || code == "InternalError" || code == "ServiceUnavailable" ||
         code == "RequestTimeTooSkewed";
}

std::string Snippet(std::string_view body) {
  std::string s(body.substr(0, 200));
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

}  // namespace

Result<S3Error> ParseS3Error(std::string_view xml) {
  VIGIL_ASSIGN_OR_RETURN(XmlElement root, ParseXml(xml));
  if (root.name != "Error") return Status::InvalidArgument("S3 error document: root is <" + root.name + ">");
  S3Error e;
  e.code = std::string(root.ChildText("Code"));
  e.message = std::string(root.ChildText("Message"));
  return e;
}

Result<ListObjectsPage> ParseListObjectsV2(std::string_view xml) {
  VIGIL_ASSIGN_OR_RETURN(XmlElement root, ParseXml(xml));
  if (root.name != "ListBucketResult") {
    return Status::InvalidArgument("ListObjectsV2 response: root is <" + root.name + ">, not <ListBucketResult>");
  }
  ListObjectsPage page;
  page.is_truncated = root.ChildText("IsTruncated") == "true";
  page.next_continuation_token = std::string(root.ChildText("NextContinuationToken"));
  for (const XmlElement& c : root.children) {
    if (c.name == "Contents") {
      const XmlElement* key = c.Child("Key");
      if (key == nullptr) return Status::InvalidArgument("ListObjectsV2 response: <Contents> without <Key>");
      S3Object o;
      o.key = key->text;
      std::string_view size = c.ChildText("Size");
      if (!size.empty()) {
        auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), o.size);
        if (ec != std::errc() || end != size.data() + size.size()) {
          return Status::InvalidArgument("ListObjectsV2 response: bad <Size> '" + std::string(size) + "' of " + o.key);
        }
      }
      o.etag = std::string(c.ChildText("ETag"));
      o.last_modified = std::string(c.ChildText("LastModified"));
      page.objects.push_back(std::move(o));
    } else if (c.name == "CommonPrefixes") {
      for (const XmlElement& p : c.children) {
        if (p.name == "Prefix") page.common_prefixes.push_back(p.text);
      }
    }
  }
  if (page.is_truncated && page.next_continuation_token.empty()) {
    return Status::InvalidArgument("ListObjectsV2 response: truncated without <NextContinuationToken>");
  }
  return page;
}

S3Client::S3Client(S3Config config) : config_(std::move(config)) { GlobalInit(); }

Result<S3Client::Response> S3Client::Send(std::string_view method, const std::string& bucket,
                                          const std::string& key,
                                          std::vector<std::pair<std::string, std::string>> query,
                                          std::string_view body, uint64_t max_response_bytes,
                                          const std::string& what) const {
  Target target = MakeTarget(config_, bucket, key);
  std::string url = target.url;
  for (size_t i = 0; i < query.size(); ++i) {
    url += (i == 0 ? "?" : "&") + UriEncode(query[i].first, false) + "=" + UriEncode(query[i].second, false);
  }
  // Error documents are small, but must fit even under a tiny body limit.
  uint64_t limit = std::max<uint64_t>(max_response_bytes, 64 * 1024);
  thread_local std::minstd_rand rng(std::random_device{}());

  Status last;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      int64_t delay = std::min<int64_t>(config_.retry_base_delay_ms << std::min(attempt - 1, 10), 5000);
      delay = delay / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(delay / 2 + 1));
      for (int64_t slept = 0; slept < delay && !Cancelled(config_.cancel); slept += 50) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(50, delay - slept)));
      }
    }
    if (Cancelled(config_.cancel)) return Status::Unavailable(what + ": cancelled");
    SigningRequest req;
    req.method = std::string(method);
    req.path = target.path;
    req.query = query;
    req.headers = {{"Host", target.host}};
    req.payload_hash = Sha256Hex(body);
    SigningParams params;
    params.region = config_.region;
    params.service = "s3";
    params.time = config_.fixed_time != 0 ? config_.fixed_time : static_cast<int64_t>(std::time(nullptr));
    params.normalize_path = false;
    params.content_sha256_header = true;
    Signature sig = SignHeaders(req, config_.credentials, params);

    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, ("Host: " + target.host).c_str());
    for (const auto& [name, value] : sig.add_headers) {
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    headers = curl_slist_append(headers, "Expect:");
    if (method == "PUT") headers = curl_slist_append(headers, "Content-Type: application/octet-stream");

    CURL* h = curl_easy_init();
    if (h == nullptr) {
      curl_slist_free_all(headers);
      return Status::Internal(what + ": curl_easy_init failed");
    }
    Response response;
    BodySink sink{&response.body, limit};
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout_ms));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.request_timeout_ms));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    if (config_.cancel != nullptr) {
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, Progress);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(config_.cancel));
    }
    if (method == "PUT") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else if (method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.http_status);
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);

    if (rc != CURLE_OK) {
      if (rc == CURLE_ABORTED_BY_CALLBACK) return Status::Unavailable(what + ": cancelled");
      if (sink.exceeded) {
        return Status::LimitExceeded(what + ": larger than the limit of " + std::to_string(max_response_bytes) +
                                     " bytes");
      }
      last = Status::IoError(what + ": " + curl_easy_strerror(rc) + " (" + url + ")");
      if (attempt < config_.max_retries) continue;
      return last;
    }
    if (response.http_status >= 200 && response.http_status < 300) {
      if (response.body.size() > max_response_bytes) {
        return Status::LimitExceeded(what + ": larger than the limit of " + std::to_string(max_response_bytes) +
                                     " bytes");
      }
      return response;
    }

    auto err = ParseS3Error(response.body);
    std::string detail = err.ok() ? err->code + ": " + err->message : Snippet(response.body);
    std::string message = what + ": HTTP " + std::to_string(response.http_status) + " " + detail;
    bool retryable = response.http_status >= 500 || response.http_status == 429 ||
                     (err.ok() && RetryableCode(err->code));
    if (retryable && attempt < config_.max_retries) continue;
    if (response.http_status == 404) return Status::NotFound(message);
    return Status::IoError(message);
  }
}

Result<ListObjectsPage> S3Client::ListObjectsV2(const ListObjectsRequest& r) const {
  std::vector<std::pair<std::string, std::string>> q = {{"list-type", "2"}};
  if (!r.prefix.empty()) q.emplace_back("prefix", r.prefix);
  if (!r.delimiter.empty()) q.emplace_back("delimiter", r.delimiter);
  if (!r.start_after.empty()) q.emplace_back("start-after", r.start_after);
  if (!r.continuation_token.empty()) q.emplace_back("continuation-token", r.continuation_token);
  q.emplace_back("max-keys", std::to_string(r.max_keys));
  std::string what = "s3 ListObjectsV2 " + r.bucket + "/" + r.prefix;
  VIGIL_ASSIGN_OR_RETURN(Response resp, Send("GET", r.bucket, "", std::move(q), "", 64 << 20, what));
  auto page = ParseListObjectsV2(resp.body);
  if (!page.ok()) return page.status().WithContext(what);
  return page;
}

Result<std::string> S3Client::GetObject(const std::string& bucket, const std::string& key, uint64_t max_bytes) const {
  VIGIL_ASSIGN_OR_RETURN(Response resp,
                         Send("GET", bucket, key, {}, "", max_bytes, "s3 GetObject " + bucket + "/" + key));
  return std::move(resp.body);
}

Status S3Client::PutObject(const std::string& bucket, const std::string& key, std::string_view body) const {
  auto r = Send("PUT", bucket, key, {}, body, 1 << 20, "s3 PutObject " + bucket + "/" + key);
  return r.status();
}

Status S3Client::DeleteObject(const std::string& bucket, const std::string& key) const {
  auto r = Send("DELETE", bucket, key, {}, "", 1 << 20, "s3 DeleteObject " + bucket + "/" + key);
  if (!r.ok() && r.status().code() == StatusCode::kNotFound) return Status::Ok();
  return r.status();
}

Status S3Client::CreateBucket(const std::string& bucket) const {
  auto r = Send("PUT", bucket, "", {}, "", 1 << 20, "s3 CreateBucket " + bucket);
  return r.status();
}

}  // namespace vigil::aws
