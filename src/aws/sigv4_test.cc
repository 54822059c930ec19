// Runs every SigV4 case of the aws-c-auth signing test suite (read from the
// shared data at test time) through the signer, comparing the canonical
// request, string to sign, signature and signed request of both header
// signing and presigning exactly.
#include "aws/sigv4.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vigil::aws {
namespace {

namespace fs = std::filesystem;

const fs::path kSuite = fs::path(VIGIL_SHARED_DATA) / "sigv4/aws-c-auth/tests/aws-signing-test-suite";

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << p;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The expected files are stored with or without a final newline.
std::string ReadExpected(const fs::path& p) {
  std::string s = ReadAll(p);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

struct ParsedRequest {
  SigningRequest request;
  std::string target;  // path and query exactly as in the request line
  std::string body;
};

// request.txt: "METHOD TARGET HTTP/1.1", header lines (continuation lines
// start with whitespace), an empty line, the body. The target may hold spaces.
ParsedRequest ParseRequest(const std::string& text) {
  ParsedRequest out;
  std::vector<std::string> lines;
  size_t pos = 0;
  size_t body_start = text.size();
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty() && !lines.empty()) {
      body_start = pos;
      break;
    }
    lines.push_back(line);
  }
  out.body = body_start < text.size() ? text.substr(body_start) : "";
  const std::string& first = lines.at(0);
  size_t sp = first.find(' ');
  size_t proto = first.rfind(" HTTP/");
  out.request.method = first.substr(0, sp);
  out.target = first.substr(sp + 1, proto - sp - 1);
  size_t q = out.target.find('?');
  out.request.path = UriDecode(out.target.substr(0, q));
  if (q != std::string::npos) {
    std::string_view query = std::string_view(out.target).substr(q + 1);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view kv = query.substr(0, amp);
      size_t eq = kv.find('=');
      out.request.query.emplace_back(UriDecode(kv.substr(0, eq)),
                                     eq == std::string_view::npos ? "" : UriDecode(kv.substr(eq + 1)));
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line[0] == ' ' || line[0] == '\t') {
      out.request.headers.back().second += "\n" + line;
      continue;
    }
    size_t colon = line.find(':');
    out.request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  out.request.payload_hash = Sha256Hex(out.body);
  return out;
}

struct Context {
  Credentials credentials;
  SigningParams params;
  bool sign_body = false;
};

Context ParseContext(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(json);
  Context c;
  auto creds = doc["credentials"];
  c.credentials.access_key_id = std::string(std::string_view(creds["access_key_id"]));
  c.credentials.secret_access_key = std::string(std::string_view(creds["secret_access_key"]));
  std::string_view token;
  if (creds["token"].get(token) == simdjson::SUCCESS) c.credentials.session_token = std::string(token);
  c.params.region = std::string(std::string_view(doc["region"]));
  c.params.service = std::string(std::string_view(doc["service"]));
  c.params.normalize_path = bool(doc["normalize"]);
  c.sign_body = bool(doc["sign_body"]);
  c.params.content_sha256_header = c.sign_body;
  c.params.expires_seconds = int64_t(doc["expiration_in_seconds"]);
  bool omit = false;
  if (doc["omit_session_token"].get(omit) == simdjson::SUCCESS) c.params.omit_session_token = omit;
  // "2015-08-30T12:36:00Z"
  std::string_view ts = doc["timestamp"];
  std::tm tm{};
  EXPECT_TRUE(strptime(std::string(ts).c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) != nullptr) << ts;
  c.params.time = timegm(&tm);
  return c;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

// Every header the signer adds appears in the expected signed request with the same value.
void ExpectHeadersIn(const std::string& signed_request, const Signature& sig, const std::string& name) {
  std::string lower = Lower(signed_request);
  for (const auto& [h, v] : sig.add_headers) {
    std::string line = "\n" + h + ":" + v + "\n";
    size_t at = lower.find(Lower(line));
    EXPECT_NE(at, std::string::npos) << name << ": signed request lacks " << h << ":" << v;
    if (at != std::string::npos) {
      EXPECT_EQ(signed_request.substr(at + 1 + h.size() + 1, v.size()), v) << name;
    }
  }
}

bool RunCase(const fs::path& dir) {
  const std::string name = dir.filename().string();
  const int failures_before = ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
  Context ctx = ParseContext(ReadAll(dir / "context.json"));
  ParsedRequest req = ParseRequest(ReadAll(dir / "request.txt"));

  Signature h = SignHeaders(req.request, ctx.credentials, ctx.params);
  EXPECT_EQ(h.canonical_request, ReadExpected(dir / "header-canonical-request.txt")) << name;
  EXPECT_EQ(h.string_to_sign, ReadExpected(dir / "header-string-to-sign.txt")) << name;
  EXPECT_EQ(h.signature, ReadExpected(dir / "header-signature.txt")) << name;
  ExpectHeadersIn(ReadAll(dir / "header-signed-request.txt"), h, name);

  SigningParams qp = ctx.params;
  qp.content_sha256_header = false;
  Signature q = Presign(req.request, ctx.credentials, qp);
  EXPECT_EQ(q.canonical_request, ReadExpected(dir / "query-canonical-request.txt")) << name;
  EXPECT_EQ(q.string_to_sign, ReadExpected(dir / "query-string-to-sign.txt")) << name;
  EXPECT_EQ(q.signature, ReadExpected(dir / "query-signature.txt")) << name;
  std::string signed_query = ReadAll(dir / "query-signed-request.txt");
  std::string first_line = signed_query.substr(0, signed_query.find('\n'));
  std::string sep = req.target.find('?') == std::string::npos ? "?" : "&";
  EXPECT_EQ(first_line, req.request.method + " " + req.target + sep + q.presigned_query + " HTTP/1.1") << name;

  return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count() == failures_before;
}

TEST(SigV4SuiteTest, EveryV4CaseMatchesExactly) {
  ASSERT_TRUE(fs::is_directory(kSuite / "v4")) << "missing signing test suite at " << kSuite;
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(kSuite / "v4")) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  ASSERT_FALSE(cases.empty());
  size_t passed = 0;
  for (const auto& dir : cases) passed += RunCase(dir) ? 1 : 0;
  size_t v4a = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(kSuite / "v4a")) ++v4a;
  std::printf("SigV4 suite: %zu of %zu v4 cases pass (header signing and presigning, each compared on "
              "canonical request, string to sign, signature and signed request)\n",
              passed, cases.size());
  std::printf("skipped: the %zu v4a cases (SigV4a signs with ECDSA P-256; vigil signs with SigV4 only)\n", v4a);
  EXPECT_EQ(passed, cases.size());
}

TEST(SigV4Test, UnsignedPayloadAndSessionTokenAreSigned) {
  SigningRequest r;
  r.method = "GET";
  r.path = "/bucket/AWSLogs/a b.json.gz";
  r.headers = {{"Host", "127.0.0.1:9000"}};
  r.payload_hash = std::string(kUnsignedPayload);
  Credentials c{"AKID", "SECRET", "TOKEN"};
  SigningParams p;
  p.region = "us-east-1";
  p.service = "s3";
  p.time = 1440938160;
  p.normalize_path = false;
  p.content_sha256_header = true;
  Signature s = SignHeaders(r, c, p);
  EXPECT_NE(s.canonical_request.find("/bucket/AWSLogs/a%20b.json.gz\n"), std::string::npos);
  EXPECT_NE(s.canonical_request.find("x-amz-content-sha256:UNSIGNED-PAYLOAD\n"), std::string::npos);
  EXPECT_NE(s.canonical_request.find("x-amz-security-token:TOKEN\n"), std::string::npos);
  EXPECT_EQ(s.signed_headers, "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
  EXPECT_TRUE(s.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
  // A different secret gives a different signature.
  Credentials other = c;
  other.secret_access_key = "OTHER";
  EXPECT_NE(SignHeaders(r, other, p).signature, s.signature);
}

TEST(SigV4Test, UriEncoding) {
  EXPECT_EQ(UriEncode("a b/c~d+e", true), "a%20b/c~d%2Be");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriDecode("%E1%88%B4x%2"), "\xE1\x88\xB4x%2");
}

}  // namespace
}  // namespace vigil::aws
