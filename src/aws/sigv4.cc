#include "aws/sigv4.h"

#include "common/json_escape.h"  // HexValue

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>

namespace vigil::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string ToHex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trimmed, with every run of whitespace (folded continuation lines included)
// turned into one space.
std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  bool pending_space = false;
  for (char c : v) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// RFC 3986 dot-segment removal plus collapsing of empty segments; a trailing
// slash survives.
std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(pos, slash - pos);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    pos = slash + 1;
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out.append(segments[i]);
  }
  if (!segments.empty() && path.size() > 1 && path.back() == '/') out.push_back('/');
  return out;
}

std::string CredentialScope(const SigningParams& p, std::string_view date) {
  return std::string(date) + "/" + p.region + "/" + p.service + "/aws4_request";
}

struct Canonical {
  std::string request;
  std::string signed_headers;
};

Canonical CanonicalRequest(const SigningRequest& r, const SigningParams& p,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::vector<std::pair<std::string, std::string>>& query) {
  Canonical c;
  std::string& out = c.request;
  out = r.method;
  out.push_back('\n');
  out += UriEncode(p.normalize_path ? NormalizePath(r.path) : r.path, /*keep_slash=*/true);
  out.push_back('\n');

  std::vector<std::pair<std::string, std::string>> q;
  q.reserve(query.size());
  for (const auto& [k, v] : query) q.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(q.begin(), q.end());
  for (size_t i = 0; i < q.size(); ++i) {
    if (i > 0) out.push_back('&');
    out += q[i].first;
    out.push_back('=');
    out += q[i].second;
  }
  out.push_back('\n');

  // Same-name headers join with ',' in the order they were given.
  std::map<std::string, std::string> canonical;
  for (const auto& [name, value] : headers) {
    std::string key = Lower(name);
    auto [it, inserted] = canonical.try_emplace(key, CanonicalHeaderValue(value));
    if (!inserted) it->second += "," + CanonicalHeaderValue(value);
  }
  for (const auto& [name, value] : canonical) {
    out += name;
    out.push_back(':');
    out += value;
    out.push_back('\n');
    if (!c.signed_headers.empty()) c.signed_headers.push_back(';');
    c.signed_headers += name;
  }
  out.push_back('\n');
  out += c.signed_headers;
  out.push_back('\n');
  out += r.payload_hash;
  return c;
}

void Finish(Signature* s, const Credentials& creds, const SigningParams& p, std::string_view amz_date) {
  std::string_view date = amz_date.substr(0, 8);
  s->string_to_sign = std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" +
                      CredentialScope(p, date) + "\n" + Sha256Hex(s->canonical_request);
  std::string key = HmacSha256("AWS4" + creds.secret_access_key, date);
  key = HmacSha256(key, p.region);
  key = HmacSha256(key, p.service);
  key = HmacSha256(key, "aws4_request");
  std::string mac = HmacSha256(key, s->string_to_sign);
  s->signature = ToHex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

}  // namespace

Result<Credentials> CredentialsFromEnvironment() {
  Credentials c;
  const char* id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (id == nullptr || *id == '\0') return Status::NotFound("AWS credentials: AWS_ACCESS_KEY_ID is not set");
  if (secret == nullptr || *secret == '\0') {
    return Status::NotFound("AWS credentials: AWS_SECRET_ACCESS_KEY is not set");
  }
  c.access_key_id = id;
  c.secret_access_key = secret;
  if (const char* token = std::getenv("AWS_SESSION_TOKEN")) c.session_token = token;
  return c;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return ToHex(md, len);
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

std::string UriDecode(std::string_view s) {
  auto hex = json_internal::HexValue;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string AmzDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Signature SignHeaders(const SigningRequest& r, const Credentials& creds, const SigningParams& p) {
  Signature s;
  std::string amz_date = AmzDate(p.time);
  auto headers = r.headers;
  s.add_headers.emplace_back("X-Amz-Date", amz_date);
  if (!creds.session_token.empty()) s.add_headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  if (p.content_sha256_header) s.add_headers.emplace_back("x-amz-content-sha256", r.payload_hash);
  for (const auto& h : s.add_headers) {
    if (p.omit_session_token && h.first == "X-Amz-Security-Token") continue;
    headers.push_back(h);
  }
  Canonical c = CanonicalRequest(r, p, headers, r.query);
  s.canonical_request = std::move(c.request);
  s.signed_headers = std::move(c.signed_headers);
  Finish(&s, creds, p, amz_date);
  s.add_headers.emplace_back("Authorization", std::string(kAlgorithm) + " Credential=" + creds.access_key_id +
                                                  "/" + CredentialScope(p, amz_date.substr(0, 8)) +
                                                  ", SignedHeaders=" + s.signed_headers +
                                                  ", Signature=" + s.signature);
  return s;
}

Signature Presign(const SigningRequest& r, const Credentials& creds, const SigningParams& p) {
  Signature s;
  std::string amz_date = AmzDate(p.time);
  // Signed headers are the request's own; computed first because the list is itself a parameter.
  Canonical probe = CanonicalRequest(r, p, r.headers, {});
  s.signed_headers = probe.signed_headers;

  // Appended in this order (the order the test suite's signed requests use).
  std::vector<std::pair<std::string, std::string>> params = {
      {"X-Amz-Algorithm", std::string(kAlgorithm)},
      {"X-Amz-Credential", creds.access_key_id + "/" + CredentialScope(p, amz_date.substr(0, 8))},
      {"X-Amz-Date", amz_date},
      {"X-Amz-SignedHeaders", s.signed_headers},
      {"X-Amz-Expires", std::to_string(p.expires_seconds)},
  };
  if (!creds.session_token.empty()) params.emplace_back("X-Amz-Security-Token", creds.session_token);

  auto query = r.query;
  for (const auto& kv : params) {
    if (p.omit_session_token && kv.first == "X-Amz-Security-Token") continue;
    query.push_back(kv);
  }
  Canonical c = CanonicalRequest(r, p, r.headers, query);
  s.canonical_request = std::move(c.request);
  Finish(&s, creds, p, amz_date);

  params.emplace_back("X-Amz-Signature", s.signature);
  for (const auto& [k, v] : params) {
    if (!s.presigned_query.empty()) s.presigned_query.push_back('&');
    s.presigned_query += k + "=" + UriEncode(v, false);
  }
  return s;
}

}  // namespace vigil::aws
