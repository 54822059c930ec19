// JsonRecordScanner answers as the record's JsonFields does (scalars for the
// text bloom, values at hot paths), or says it cannot: on real CloudTrail
// records (Stratus Red Team detonations, Panther's rule tests) and on
// records made to hit each case it gives up on.
#include "store/json_scan.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "event/json_fields.h"
#include "store/internal/segment_v2.h"

namespace vigil::segment {
namespace {

namespace fs = std::filesystem;
using Outcome = JsonRecordScanner::Outcome;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every object in `json` that looks like a CloudTrail record (has
// eventName), minified; `json` is an array of records or objects holding
// them (Panther: tests[].log).
void CollectRecords(simdjson::dom::element e, std::vector<std::string>* out) {
  simdjson::dom::object obj;
  simdjson::dom::array arr;
  if (e.get(obj) == simdjson::SUCCESS) {
    if (obj["eventName"].error() == simdjson::SUCCESS) {
      out->push_back(simdjson::minify(e));
      return;
    }
    for (auto field : obj) CollectRecords(field.value, out);
  } else if (e.get(arr) == simdjson::SUCCESS) {
    for (simdjson::dom::element child : arr) CollectRecords(child, out);
  }
}

std::vector<std::string> RealRecords() {
  std::vector<std::string> out;
  simdjson::dom::parser parser;
  for (const char* dir : {"/cloudtrail/stratus-red-team/docs/detonation-logs", "/panther-tests/aws_cloudtrail_rules"}) {
    for (const auto& entry : fs::directory_iterator(std::string(VIGIL_SHARED_DATA) + dir)) {
      if (entry.path().extension() != ".json") continue;
      simdjson::padded_string text(ReadAll(entry.path()));
      simdjson::dom::element root;
      if (parser.parse(text).get(root) != simdjson::SUCCESS) continue;
      CollectRecords(root, &out);
    }
  }
  return out;
}

const std::vector<FieldPath>& Paths() {
  static const std::vector<FieldPath>* paths = [] {
    auto* p = new std::vector<FieldPath>;
    for (const ColumnSpec& c : SchemaFor("cloudtrail"))
      if (c.role & kColumnHot) p->emplace_back(c.name);
    // Deeper and array-valued paths too.
    for (const char* extra : {"requestParameters.bucketName", "resources.ARN", "tlsDetails.tlsVersion",
                              "additionalEventData.MFAUsed"})
      p->emplace_back(extra);
    return p;
  }();
  return *paths;
}

JsonRecordScanner MakeScanner(const std::vector<FieldPath>& paths) {
  std::vector<const FieldPath*> ptrs;
  for (const FieldPath& p : paths) ptrs.push_back(&p);
  return JsonRecordScanner(ptrs);
}

bool LooksLikeNumber(std::string_view s) {
  double d;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  return (r.ec == std::errc() || r.ec == std::errc::result_out_of_range) && r.ptr == s.data() + s.size();
}

// Checks the scan of `json` against its resolver; returns the outcome.
Outcome Check(JsonRecordScanner& scanner, const std::vector<FieldPath>& paths, const std::string& json) {
  auto fields = ParseJsonFields(json);
  EXPECT_TRUE(fields.ok()) << json;
  if (!fields.ok()) return Outcome::kFailed;
  const Outcome outcome = scanner.Scan(json);
  if (outcome == Outcome::kFailed) return outcome;
  std::set<std::string> want, got;
  (*fields)->VisitAllScalars([&](const FieldValue& v) {
    if (v.kind != ValueKind::kNull) want.insert(std::string(v.text));
    return true;
  });
  for (std::string_view s : scanner.scalars()) got.insert(std::string(s));
  for (const std::string& s : want) EXPECT_TRUE(got.count(s)) << "scalar " << s << " missing from the scan of " << json;
  for (const std::string& s : got)  // the extras can only be numbers as written
    EXPECT_TRUE(want.count(s) || LooksLikeNumber(s)) << "scalar " << s << " not in " << json;
  // Strings: exactly the record's quoted strings, in order.
  size_t at = 0;
  for (const JsonRecordScanner::Span& sp : scanner.strings()) {
    EXPECT_GE(sp.begin, at + 1);
    EXPECT_EQ(json[sp.begin - 1], '"');
    EXPECT_EQ(json[sp.end], '"');
    EXPECT_EQ(sp.escaped, json.substr(sp.begin, sp.end - sp.begin).find('\\') != std::string::npos);
    at = sp.end + 1;
  }
  // Long strings: exactly those of 36 bytes or more, in order.
  std::vector<uint32_t> long_strings;
  for (uint32_t k = 0; k < scanner.strings().size(); ++k) {
    const JsonRecordScanner::Span& sp = scanner.strings()[k];
    if (sp.end - sp.begin >= JsonRecordScanner::kLongString) long_strings.push_back(k);
  }
  EXPECT_EQ(scanner.long_strings(), long_strings) << json;
  if (outcome != Outcome::kAll) return outcome;
  for (size_t c = 0; c < paths.size(); ++c) {
    std::vector<std::pair<ValueKind, std::string>> want_values, got_values;
    (*fields)->Visit(paths[c], [&](const FieldValue& v) {
      if (v.kind == ValueKind::kObject || v.kind == ValueKind::kArray) return true;
      want_values.emplace_back(v.kind, v.kind == ValueKind::kNull ? "null" : std::string(v.text));
      return true;
    });
    for (const JsonRecordScanner::HotValue& h : scanner.hot()) {
      if (h.column != c) continue;
      got_values.emplace_back(h.kind, std::string(h.text));
      if (h.kind == ValueKind::kString) {  // a view of the record's own bytes
        EXPECT_GE(h.text.data(), json.data());
        EXPECT_LE(h.text.data() + h.text.size(), json.data() + json.size());
        // ... which is the string and the scalar the value says it is.
        EXPECT_LT(h.string, scanner.strings().size());
        EXPECT_LT(h.scalar, scanner.scalars().size());
        if (h.string < scanner.strings().size()) {
          EXPECT_EQ(json.data() + scanner.strings()[h.string].begin, h.text.data());
          EXPECT_EQ(scanner.strings()[h.string].end - scanner.strings()[h.string].begin, h.text.size());
        }
        if (h.scalar < scanner.scalars().size()) {
          EXPECT_EQ(scanner.scalars()[h.scalar].data(), h.text.data());
          EXPECT_EQ(scanner.scalars()[h.scalar].size(), h.text.size());
        }
      }
    }
    EXPECT_EQ(got_values, want_values) << paths[c].str() << " in " << json;
  }
  return outcome;
}

TEST(JsonRecordScannerTest, AnswersAsTheResolverOnRealCloudTrail) {
  const std::vector<std::string> records = RealRecords();
  ASSERT_GE(records.size(), 300u);
  JsonRecordScanner scanner = MakeScanner(Paths());
  size_t all = 0;
  for (const std::string& r : records) {
    const Outcome o = Check(scanner, Paths(), r);
    EXPECT_NE(o, Outcome::kFailed) << r;
    all += o == Outcome::kAll;
  }
  // resources.ARN is an array path: records with resources fall back for
  // their hot values; most records have none.
  EXPECT_GE(all * 2, records.size());
}

TEST(JsonRecordScannerTest, ScalarsAreUnescapedAndNumbersCanonical) {
  JsonRecordScanner scanner = MakeScanner(Paths());
  const std::string json =
      "{ \"a\" : \"x\\\"y\\\\z\\/\\u00e9\\ud83d\\ude00\\n\" ,\n\t\"n\":1e3,\"m\":-0,\"f\":1.50,\"neg\":-12,"
      "\"big\":12345678901234567890,\"tiny\":8e-5168,\"negtiny\":-1e-400,\"t\":true,\"u\":false,\"z\":null,\"arr\":[1,\"two\",[],{}],\"o\":{}}";
  ASSERT_EQ(Check(scanner, Paths(), json), Outcome::kAll);
  std::set<std::string_view> got(scanner.scalars().begin(), scanner.scalars().end());
  EXPECT_TRUE(got.count("x\"y\\z/\xc3\xa9\xf0\x9f\x98\x80\n"));
  EXPECT_TRUE(got.count("1000"));
  EXPECT_TRUE(got.count("1.5"));
  EXPECT_FALSE(got.count("null"));
}

TEST(JsonRecordScannerTest, GivesUpHotValuesWhereTheResolverReadsDifferently) {
  JsonRecordScanner scanner = MakeScanner(Paths());
  struct Case {
    const char* json;
    Outcome want;
  };
  const Case cases[] = {
      {R"({"eventName":"A","userIdentity":{"arn":"x","type":"IAMUser"}})", Outcome::kAll},
      {" {\n \"eventName\" :\t\"A\" , \"userIdentity\" : { \"arn\" : \"x\" } } \n", Outcome::kAll},
      {R"({"eventName":{"nested":1},"userIdentity":"not an object"})", Outcome::kAll},
      {R"({"eventName":42,"errorCode":true,"awsRegion":null})", Outcome::kAll},
      {R"({"requestParameters":{"x.y":1,"bucketName":"b"},"other":{"a.b":[{"eventName":"no"}]}})", Outcome::kAll},
      {R"({"userIdentity.arn":"dotted"})", Outcome::kScalarsOnly},
      {R"({"userIdentity":{"arn.x":"dotted below"}})", Outcome::kScalarsOnly},
      {R"({"eventName":"a","eventName":"b"})", Outcome::kScalarsOnly},
      {R"({"userIdentity":{"arn":"a"},"userIdentity":{"arn":"b"}})", Outcome::kScalarsOnly},
      {R"({"userIdentity":[{"arn":"a"},{"arn":"b"}]})", Outcome::kScalarsOnly},
      {R"({"eventName":["a","b"]})", Outcome::kScalarsOnly},
      {R"({"eventName":"a\nb"})", Outcome::kScalarsOnly},
      {R"({"event\u004eame":"x"})", Outcome::kScalarsOnly},
      {R"({"eventName":4.5})", Outcome::kScalarsOnly},
      {R"({"eventName":-0})", Outcome::kScalarsOnly},
      {R"({"eventName":1234567890123456789})", Outcome::kScalarsOnly},
  };
  for (const Case& c : cases) EXPECT_EQ(Check(scanner, Paths(), c.json), c.want) << c.json;
  // A key that starts as a hot key does and is 256 bytes longer is another key.
  EXPECT_EQ(Check(scanner, Paths(), "{\"eventNam" + std::string(257, 'e') + "\":\"x\"}"), Outcome::kAll);
  // Not one JSON object: nothing usable.
  for (const char* bad : {"", "[1]", "{\"a\":}", "{\"a\":1} x", "{\"a\":1,}", "{\"a\":\"open", "{\"a\":tru}"})
    EXPECT_EQ(scanner.Scan(bad), Outcome::kFailed) << bad;
}

}  // namespace
}  // namespace vigil::segment
