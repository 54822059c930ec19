// Pipe stages of the hunting language: parsing of every stage, errors that
// point at the offending token, and execution over real CloudTrail (the
// Stratus Red Team detonation logs and the AWS documentation's examples),
// checked against counts computed directly from the files.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/time.h"
#include "event/json_fields.h"
#include "query/lookup.h"
#include "query/matcher.h"
#include "query/parser.h"
#include "query/pipeline.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- parsing

std::string Stages(std::string_view q) {
  auto r = ParseQuery(q);
  if (!r.ok()) return "error: " + r.status().message();
  std::string out;
  for (const PipeStage& st : r->pipes) {
    if (!out.empty()) out += " | ";
    out += DebugString(st);
  }
  return out;
}

std::string ErrorOf(std::string_view q) {
  auto r = ParseQuery(q);
  if (r.ok()) return "ok: " + Stages(q);
  return r.status().message();
}

TEST(ParsePipesTest, TheHeadlineQuery) {
  auto r = ParseQuery(
      "source=cloudtrail eventName=ConsoleLogin errorMessage=\"Failed authentication\" | stats count() by "
      "sourceIPAddress, bin(time, 1h) | where count > 5 | sort -count | head 20");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(DebugString(r->search),
            "(and (= source \"cloudtrail\") (= eventName \"ConsoleLogin\") (= errorMessage \"Failed authentication\"))");
  ASSERT_EQ(r->pipes.size(), 4u);
  EXPECT_EQ(DebugString(r->pipes[0]),
            "stats count() AS count BY sourceIPAddress AS sourceIPAddress, (call bin time 3600) AS time");
  EXPECT_EQ(DebugString(r->pipes[1]), "where (> count 5)");
  EXPECT_EQ(DebugString(r->pipes[2]), "sort -count");
  EXPECT_EQ(DebugString(r->pipes[3]), "head 20");
  EXPECT_EQ(r->pipes[0].offset, 80u);  // offsets point into the query text
}

TEST(ParsePipesTest, Where) {
  EXPECT_EQ(Stages("| where bytes > 1e6 AND isnotnull(errorCode)"),
            "where (and (> bytes 1000000) (call isnotnull errorCode))");
  // NOT binds tighter than AND, AND tighter than OR; arithmetic before comparison.
  EXPECT_EQ(Stages("| where a=1 OR NOT b!=2 AND c<=d*2+1"),
            "where (or (= a 1) (and (not (!= b 2)) (<= c (+ (* d 2) 1))))");
  EXPECT_EQ(Stages("| where like(userAgent, \"%aws-cli%\") or cidrmatch(\"10.0.0.0/8\", sourceIPAddress)"),
            "where (or (call like userAgent \"%aws-cli%\") (call cidrmatch \"10.0.0.0/8\" sourceIPAddress))");
  EXPECT_EQ(Stages("| where len(lower(eventName)) >= 10 and -x < 0 and !readOnly"),
            "where (and (and (>= (call len (call lower eventName)) 10) (< (- x) 0)) (not readOnly))");
  EXPECT_EQ(Stages("| where 'x-amz-id' == \"a\\\"b\" and ok = true and gone = null"),
            "where (and (and (= x-amz-id \"a\\\"b\") (= ok true)) (= gone null))");
  EXPECT_EQ(Stages("| where userIdentity.sessionContext.attributes.mfaAuthenticated = \"false\""),
            "where (= userIdentity.sessionContext.attributes.mfaAuthenticated \"false\")");
}

TEST(ParsePipesTest, EvalFieldsRename) {
  EXPECT_EQ(Stages("| eval mb = bytes / 1024 / 1024, who = coalesce(userIdentity.userName, principal)"),
            "eval (/ (/ bytes 1024) 1024) AS mb, (call coalesce userIdentity.userName principal) AS who");
  EXPECT_EQ(Stages("| eval age = now() - time, late = age > 1d"),
            "eval (- (call now) time) AS age, (> age 86400) AS late");
  EXPECT_EQ(Stages("| fields eventName, sourceIPAddress"), "fields eventName, sourceIPAddress");
  EXPECT_EQ(Stages("| fields eventName sourceIPAddress"), "fields eventName, sourceIPAddress");
  EXPECT_EQ(Stages("| fields - requestParameters, responseElements"), "fields - requestParameters, responseElements");
  EXPECT_EQ(Stages("| table a"), "fields a");
  EXPECT_EQ(Stages("| rename sourceIPAddress AS ip, userIdentity.arn as who"),
            "rename sourceIPAddress AS ip, userIdentity.arn AS who");
}

TEST(ParsePipesTest, StatsAggregations) {
  EXPECT_EQ(Stages("| stats count, count(errorCode), dc(userIdentity.arn) AS users, sum(bytes), avg(bytes), "
                   "min(time), max(time), percentile(bytes, 95), p99(bytes), median(bytes), values(eventName), "
                   "earliest(eventName), latest(eventName) by eventSource"),
            "stats count() AS count, count(errorCode) AS count(errorCode), dc(userIdentity.arn) AS users, "
            "sum(bytes) AS sum(bytes), avg(bytes) AS avg(bytes), min(time) AS min(time), max(time) AS max(time), "
            "percentile(bytes 95) AS percentile(bytes, 95), percentile(bytes 99) AS p99(bytes), "
            "percentile(bytes 50) AS median(bytes), values(eventName) AS values(eventName), "
            "earliest(eventName) AS earliest(eventName), latest(eventName) AS latest(eventName) BY eventSource AS "
            "eventSource");
  EXPECT_EQ(Stages("| stats count() as n by lower(eventName) as name, bin(time, 5m)"),
            "stats count() AS n BY (call lower eventName) AS name, (call bin time 300) AS time");
  EXPECT_EQ(Stages("| stats sum(bytes * 8) by x"), "stats sum((* bytes 8)) AS sum(bytes * 8) BY x AS x");
}

TEST(ParsePipesTest, BinTimechartTopRare) {
  EXPECT_EQ(Stages("| bin time span=5m"), "bin (call bin time 300) AS time span=300s");
  EXPECT_EQ(Stages("| bin span=1d time as day"), "bin (call bin time 86400) AS day span=86400s");
  EXPECT_EQ(Stages("| timechart span=1h count() by eventName"),
            "timechart span=3600s limit=10 count() AS count BY eventName AS eventName");
  EXPECT_EQ(Stages("| timechart count() by eventName span=30m limit=3"),
            "timechart span=1800s limit=3 count() AS count BY eventName AS eventName");
  EXPECT_EQ(Stages("| timechart dc(sourceIPAddress) AS ips, count"),
            "timechart span=3600s limit=10 dc(sourceIPAddress) AS ips, count() AS count");
  EXPECT_EQ(Stages("| top eventName"), "top 10 eventName");
  EXPECT_EQ(Stages("| top 3 eventName, errorCode by eventSource"),
            "top 3 eventName, errorCode BY eventSource AS eventSource");
  EXPECT_EQ(Stages("| top limit=5 sourceIPAddress"), "top 5 sourceIPAddress");
  EXPECT_EQ(Stages("| rare 2 userAgent"), "rare 2 userAgent");
}

TEST(ParsePipesTest, SortHeadTailDedupLookup) {
  EXPECT_EQ(Stages("| sort -count, +name, time desc"), "sort -count, +name, -time");
  EXPECT_EQ(Stages("| sort 5 bytes"), "sort 5 +bytes");
  EXPECT_EQ(Stages("| head | tail 3 | HEAD 7"), "head 10 | tail 3 | head 7");
  EXPECT_EQ(Stages("| dedup sourceIPAddress, eventName"), "dedup 1 sourceIPAddress, eventName");
  EXPECT_EQ(Stages("| dedup 2 sourceIPAddress"), "dedup 2 sourceIPAddress");
  EXPECT_EQ(Stages("| lookup /etc/vigil/assets.csv ip AS sourceIPAddress OUTPUT owner, env"),
            "lookup /etc/vigil/assets.csv ip AS sourceIPAddress OUTPUT owner, env");
  EXPECT_EQ(Stages("| lookup threat_intel indicator AS sourceIPAddress"),
            "lookup threat_intel indicator AS sourceIPAddress OUTPUT");
  EXPECT_EQ(Stages("| lookup \"my assets.csv\" ip | head 1"), "lookup my assets.csv ip AS ip OUTPUT | head 1");
}

TEST(ParsePipesTest, SearchPartIsUnchangedByPipes) {
  // A `|` inside a quoted search value is not a pipe.
  auto r = ParseQuery("userAgent=\"a|b\" | head 1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(DebugString(r->search), "(= userAgent \"a|b\")");
  EXPECT_EQ(r->pipes.size(), 1u);
  // A network value is marked as such, for pruning that looks up exact values.
  EXPECT_TRUE(ParseQuery("sourceIPAddress=10.0.0.0/8")->search.network);
  EXPECT_TRUE(ParseQuery("ip!=2001:db8::/32")->search.network);
  EXPECT_FALSE(ParseQuery("sourceIPAddress=10.0.0.0/8*")->search.network);
  EXPECT_FALSE(ParseQuery("path=/usr/bin")->search.network);
  EXPECT_FALSE(ParseQuery("sourceIPAddress=10.0.0.1")->search.network);
  // Only pipes: the search matches everything.
  auto p = ParseQuery("| stats count()");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(DebugString(p->search), "(all)");
}

TEST(ParsePipesErrorTest, PointAtTheOffendingToken) {
  EXPECT_EQ(ErrorOf("a=1 | stats count() by x | where count >"),
            "query: expected a value, field or function, found end of query at column 41\n"
            "  a=1 | stats count() by x | where count >\n"
            "                                          ^");
  EXPECT_EQ(ErrorOf("| stats cnt() by x"),
            "query: unknown aggregation 'cnt' (count, dc, sum, avg, min, max, median, percentile, pNN, values, "
            "earliest, latest) at column 9\n"
            "  | stats cnt() by x\n"
            "          ^");
  EXPECT_EQ(ErrorOf("| where lenn(x) > 1"),
            "query: unknown function 'lenn' at column 9\n"
            "  | where lenn(x) > 1\n"
            "          ^");
  EXPECT_EQ(ErrorOf("| where like(x) "),
            "query: wrong number of arguments to like: 1 given, usage like(text, \"pattern%\") at column 9\n"
            "  | where like(x) \n"
            "          ^");
  EXPECT_EQ(ErrorOf("| head ten"),
            "query: expected a number of rows, found 'ten' at column 8\n"
            "  | head ten\n"
            "         ^");
  EXPECT_EQ(ErrorOf("| sort -count | head 20 extra"),
            "query: unexpected 'extra' in `head` at column 25\n"
            "  | sort -count | head 20 extra\n"
            "                          ^");
  EXPECT_EQ(ErrorOf("| rename a b"),
            "query: expected AS after `a` (rename OLD AS NEW), found 'b' at column 12\n"
            "  | rename a b\n"
            "             ^");
  EXPECT_EQ(ErrorOf("| eval x"),
            "query: expected '=' after `x`, found end of query at column 9\n"
            "  | eval x\n"
            "          ^");
  EXPECT_EQ(ErrorOf("| where (a = 1"),
            "query: unbalanced parentheses: this '(' is never closed at column 9\n"
            "  | where (a = 1\n"
            "          ^");
  EXPECT_EQ(ErrorOf("| bin time span=5q"),
            "query: unknown time unit 'q' (use s, m, h, d or w, as in 5m) at column 17\n"
            "  | bin time span=5q\n"
            "                  ^");
  EXPECT_EQ(ErrorOf("| bin time"),
            "query: expected span=DURATION (bin time span=1h), found end of query at column 11\n"
            "  | bin time\n"
            "            ^");
  EXPECT_EQ(ErrorOf("| where a < b < c"),
            "query: comparisons do not chain; join them with AND at column 15\n"
            "  | where a < b < c\n"
            "                ^");
  EXPECT_EQ(ErrorOf("| stats sum() by x"),
            "query: sum needs a field: sum(bytes) at column 9\n"
            "  | stats sum() by x\n"
            "          ^");
  EXPECT_EQ(ErrorOf("| stats count, count"),
            "query: two aggregations named `count`; name one with AS at column 16\n"
            "  | stats count, count\n"
            "                 ^");
  EXPECT_EQ(ErrorOf("| timechart count, dc(x) by y"),
            "query: timechart with `by` takes one aggregation at column 29\n"
            "  | timechart count, dc(x) by y\n"
            "                              ^");
  EXPECT_EQ(ErrorOf("| where x = 'unterminated"),
            "query: unterminated quoted field name at column 13\n"
            "  | where x = 'unterminated\n"
            "              ^");
  EXPECT_EQ(ErrorOf("| where x ~ 1"),
            "query: unexpected character '~' at column 11\n"
            "  | where x ~ 1\n"
            "            ^");
  EXPECT_EQ(ErrorOf("| dedup 0 x"),
            "query: dedup keeps at least 1 row per value at column 9\n"
            "  | dedup 0 x\n"
            "          ^");
  EXPECT_EQ(ErrorOf("| lookup"),
            "query: expected a table: a CSV file or a configured table name, found end of query at column 9\n"
            "  | lookup\n"
            "          ^");
}

TEST(ParsePipesErrorTest, ExpressionDepthIsBounded) {
  std::string deep = "| where " + std::string(200, '(') + "a" + std::string(200, ')');
  auto r = ParseQuery(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  std::string nots = "| where ";
  for (int i = 0; i < 200; ++i) nots += "NOT ";
  nots += "a";
  EXPECT_EQ(ParseQuery(nots).status().code(), StatusCode::kLimitExceeded);
  std::string minus = "| where " + std::string(200, '-') + "a";
  EXPECT_EQ(ParseQuery(minus).status().code(), StatusCode::kLimitExceeded);
}

// ---------------------------------------------------------------- execution on CloudTrail

const fs::path kData = VIGIL_SHARED_DATA;
const fs::path kStratus = kData / "cloudtrail/stratus-red-team/docs/detonation-logs";

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One CloudTrail record as hunt feeds it to the stages: its fields, source,
// principal (the ARN) and event time.
struct Record {
  std::string json;
  std::shared_ptr<RowEvent> event;
};

// Every record of the Stratus detonation logs (JSON arrays of records).
std::vector<Record> StratusRecords() {
  std::vector<Record> out;
  simdjson::dom::parser parser;
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(kStratus)) files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    simdjson::dom::element doc;
    if (parser.parse(ReadAll(f)).get(doc)) continue;
    simdjson::dom::array arr;
    if (doc.get_array().get(arr)) continue;
    for (simdjson::dom::element rec : arr) out.push_back({simdjson::minify(rec), nullptr});
  }
  return out;
}

// Every record in the AWS CloudTrail documentation's ``` blocks (a record, or
// {"Records": [...]}); blocks that are not JSON are skipped.
std::vector<Record> AwsDocsRecords() {
  std::vector<Record> out;
  simdjson::dom::parser parser;
  for (const auto& f : fs::directory_iterator(kData / "cloudtrail/awsdocs")) {
    if (f.path().extension() != ".md") continue;
    std::istringstream in(ReadAll(f.path()));
    std::string line, block;
    bool inside = false;
    for (; std::getline(in, line);) {
      if (line.rfind("```", 0) == 0) {
        if (inside) {
          simdjson::dom::element doc;
          if (!parser.parse(block).get(doc) && doc.is_object()) {
            simdjson::dom::array records;
            if (!doc["Records"].get_array().get(records)) {
              for (simdjson::dom::element r : records) out.push_back({simdjson::minify(r), nullptr});
            } else if (!doc["eventTime"].error()) {
              out.push_back({simdjson::minify(doc), nullptr});
            }
          }
          block.clear();
        }
        inside = !inside;
        continue;
      }
      if (inside) block += line + "\n";
    }
  }
  return out;
}

void Prepare(std::vector<Record>& records) {
  static const FieldPath kTime("eventTime"), kArn("userIdentity.arn"), kAccount("recipientAccountId");
  for (Record& r : records) {
    auto fields = ParseJsonFields(r.json);
    ASSERT_TRUE(fields.ok()) << r.json;
    auto e = std::make_shared<RowEvent>();
    e->fields = *fields;
    e->source = "cloudtrail";
    e->raw = r.json;
    Event tmp;
    tmp.fields = *fields;
    e->time_ns = ParseTimestamp(tmp.FirstString(kTime)).value_or(0);
    e->principal = tmp.FirstString(kArn);
    e->account = tmp.FirstString(kAccount);
    r.event = std::move(e);
  }
}

class PipesOnCloudTrail : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stratus_ = new std::vector<Record>(StratusRecords());
    Prepare(*stratus_);
    docs_ = new std::vector<Record>(AwsDocsRecords());
    Prepare(*docs_);
  }
  static void TearDownTestSuite() {
    delete stratus_;
    delete docs_;
  }

  // Runs a whole hunt (search, then stages) over `records` as vigil hunt does.
  static Result<std::vector<Row>> Hunt(std::string_view q, const std::vector<Record>& records,
                                       const QueryPipelineOptions& options = {}) {
    VIGIL_ASSIGN_OR_RETURN(Query query, ParseQuery(q));
    VIGIL_ASSIGN_OR_RETURN(Matcher matcher, Matcher::Compile(query.search));
    std::vector<Row> in;
    for (const Record& r : records) {
      MetadataFields meta;
      meta.source = r.event->source;
      if (!r.event->principal.empty()) meta.principal = r.event->principal;
      meta.time_ns = r.event->time_ns;
      if (!matcher.Matches(*r.event->fields, &meta)) continue;
      Row row;
      row.event = r.event;
      in.push_back(std::move(row));
    }
    return RunQueryPipeline(query, q, std::move(in), options);
  }

  static std::vector<Row> MustHunt(std::string_view q, const std::vector<Record>& records) {
    auto r = Hunt(q, records);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : std::vector<Row>{};
  }

  static std::string Col(const Row& r, const std::string& name) {
    const Value* v = r.Find(name);
    return v ? v->Text() : "<missing>";
  }

  // Direct counts from the records' JSON, independent of the query code.
  static std::map<std::string, size_t> CountBy(const std::vector<Record>& records, const char* key) {
    std::map<std::string, size_t> out;
    simdjson::dom::parser parser;
    for (const Record& r : records) {
      simdjson::dom::element doc = parser.parse(r.json).value();
      std::string_view v;
      if (!doc[key].get_string().get(v)) ++out[std::string(v)];
    }
    return out;
  }

  static std::vector<Record>* stratus_;
  static std::vector<Record>* docs_;
};

std::vector<Record>* PipesOnCloudTrail::stratus_ = nullptr;
std::vector<Record>* PipesOnCloudTrail::docs_ = nullptr;

TEST_F(PipesOnCloudTrail, StatsCountByEventNameEqualsDirectCount) {
  ASSERT_EQ(stratus_->size(), 310u);
  const auto want = CountBy(*stratus_, "eventName");
  auto rows = MustHunt("| stats count() by eventName", *stratus_);
  ASSERT_EQ(rows.size(), want.size());
  std::map<std::string, size_t> got;
  for (const Row& r : rows) got[Col(r, "eventName")] = static_cast<size_t>(r.Find("count")->number);
  EXPECT_EQ(got, want);
  // Rows come in group order, every column named as written.
  EXPECT_EQ(rows.front().columns.front().first, "eventName");
  EXPECT_EQ(Col(rows.front(), "eventName"), want.begin()->first);
}

TEST_F(PipesOnCloudTrail, TheHeadlineQueryOnFailedConsoleSignIns) {
  // Direct: failed console sign-ins per (source IP, hour).
  std::map<std::pair<std::string, int64_t>, size_t> want;
  simdjson::dom::parser parser;
  for (const Record& r : *docs_) {
    simdjson::dom::element doc = parser.parse(r.json).value();
    std::string_view name, msg, ip, t;
    if (doc["eventName"].get_string().get(name) || name != "ConsoleLogin") continue;
    if (doc["errorMessage"].get_string().get(msg) || msg != "Failed authentication") continue;
    if (doc["sourceIPAddress"].get_string().get(ip) || doc["eventTime"].get_string().get(t)) continue;
    const int64_t hour = *ParseTimestamp(t) / 3600000000000 * 3600000000000;
    ++want[{std::string(ip), hour}];
  }
  ASSERT_FALSE(want.empty()) << "the AWS docs show failed sign-ins";
  auto rows = MustHunt(
      "source=cloudtrail eventName=ConsoleLogin errorMessage=\"Failed authentication\" | stats count() by "
      "sourceIPAddress, bin(time, 1h) | where count > 0 | sort -count | head 20",
      *docs_);
  ASSERT_EQ(rows.size(), std::min<size_t>(want.size(), 20));
  for (const Row& r : rows) {
    ASSERT_EQ(r.columns.size(), 3u);
    EXPECT_EQ(r.columns[0].first, "sourceIPAddress");
    EXPECT_EQ(r.columns[1].first, "time");
    EXPECT_EQ(r.columns[1].second.kind, Value::Kind::kTime);
    auto key = std::make_pair(Col(r, "sourceIPAddress"), r.columns[1].second.time_ns);
    ASSERT_TRUE(want.count(key)) << Col(r, "sourceIPAddress") << " " << Col(r, "time");
    EXPECT_EQ(r.Find("count")->number, static_cast<double>(want[key]));
  }
  // `where count > N` keeps only groups above N; on Stratus the same shape of
  // query finds the busy (IP, hour) pairs.
  auto busy = MustHunt("| stats count() by sourceIPAddress, bin(time, 1h) | where count > 30 | sort -count", *stratus_);
  ASSERT_FALSE(busy.empty());
  double prev = 1e18;
  for (const Row& r : busy) {
    const double c = r.Find("count")->number;
    EXPECT_GT(c, 30);
    EXPECT_LE(c, prev);  // sorted, most first
    prev = c;
  }
}

TEST_F(PipesOnCloudTrail, SearchTermsCidrWildcardsRangesAndWords) {
  // CIDR in the search part: every address in 18.236.0.0/16.
  size_t want = 0;
  for (const auto& [ip, n] : CountBy(*stratus_, "sourceIPAddress"))
    if (ip.rfind("18.236.", 0) == 0) want += n;
  ASSERT_GT(want, 0u);
  EXPECT_EQ(MustHunt("sourceIPAddress=18.236.0.0/16", *stratus_).size(), want);
  EXPECT_EQ(MustHunt("NOT sourceIPAddress=18.236.0.0/16", *stratus_).size(), stratus_->size() - want);
  // Wildcards, and the same through where/like().
  size_t get = 0;
  for (const auto& [name, n] : CountBy(*stratus_, "eventName"))
    if (name.rfind("Get", 0) == 0) get += n;
  EXPECT_EQ(MustHunt("eventName=Get*", *stratus_).size(), get);
  EXPECT_EQ(MustHunt("| where like(eventName, \"Get%\")", *stratus_).size(), get);
  EXPECT_EQ(MustHunt("| where match(eventName, \"^Get\")", *stratus_).size(), get);
  // Numeric ranges: eventVersion is a string holding a number.
  const auto versions = CountBy(*stratus_, "eventVersion");
  size_t v109 = versions.count("1.09") ? versions.at("1.09") : 0;
  size_t v110 = versions.count("1.10") ? versions.at("1.10") : 0;
  EXPECT_EQ(MustHunt("eventVersion>=1.09", *stratus_).size(), v109 + v110);
  EXPECT_EQ(MustHunt("| where eventVersion >= 1.09", *stratus_).size(), v109 + v110);
  // Full-text words.
  size_t denied = 0;
  for (const Record& r : *stratus_) denied += r.json.find("UnauthorizedOperation") != std::string::npos;
  EXPECT_EQ(MustHunt("UnauthorizedOperation", *stratus_).size(), denied);
}

TEST_F(PipesOnCloudTrail, WhereFunctionsAndCidrmatch) {
  size_t want = 0;
  for (const auto& [ip, n] : CountBy(*stratus_, "sourceIPAddress"))
    if (ip.rfind("18.236.", 0) == 0) want += n;
  EXPECT_EQ(MustHunt("| where cidrmatch(\"18.236.0.0/16\", sourceIPAddress)", *stratus_).size(), want);
  // Service names (no IP) never match a network.
  EXPECT_EQ(MustHunt("| where cidrmatch(\"0.0.0.0/0\", sourceIPAddress) and like(sourceIPAddress, \"%amazonaws%\")",
                     *stratus_)
                .size(),
            0u);
  // isnull/isnotnull partition the events.
  const size_t with_error = MustHunt("| where isnotnull(errorCode)", *stratus_).size();
  EXPECT_EQ(with_error + MustHunt("| where isnull(errorCode)", *stratus_).size(), stratus_->size());
  EXPECT_EQ(with_error, MustHunt("errorCode=*", *stratus_).size());
  // lower() and = (exact, case-sensitive).
  const auto names = CountBy(*stratus_, "eventName");
  EXPECT_EQ(MustHunt("| where lower(eventName) = \"getcalleridentity\"", *stratus_).size(), names.at("GetCallerIdentity"));
  EXPECT_EQ(MustHunt("| where eventName = \"getcalleridentity\"", *stratus_).size(), 0u);
  EXPECT_EQ(MustHunt("| where len(eventName) = 17 and eventName = \"GetCallerIdentity\"", *stratus_).size(),
            names.at("GetCallerIdentity"));
  // Booleans compare as booleans.
  size_t read_only = 0;
  for (const Record& r : *stratus_) read_only += r.json.find("\"readOnly\":true") != std::string::npos;
  EXPECT_EQ(MustHunt("| where readOnly = true", *stratus_).size(), read_only);
  EXPECT_EQ(MustHunt("| where readOnly", *stratus_).size(), read_only);
}

TEST_F(PipesOnCloudTrail, EvalFieldsRenameAndArithmetic) {
  auto rows = MustHunt(
      "eventName=GetCallerIdentity | head 1 | eval n = len(eventName) * 2 + 1, up = upper(eventSource), "
      "hour = strftime(time, \"%H\"), later = time + 1h, sub = substr(eventName, 4, 6) "
      "| rename eventSource AS service | fields eventName, n, up, hour, service, sub, later",
      *stratus_);
  ASSERT_EQ(rows.size(), 1u);
  const Row& r = rows[0];
  EXPECT_EQ(Col(r, "eventName"), "GetCallerIdentity");
  EXPECT_EQ(Col(r, "n"), "35");
  EXPECT_EQ(Col(r, "up"), "STS.AMAZONAWS.COM");
  EXPECT_EQ(Col(r, "service"), "sts.amazonaws.com");
  EXPECT_EQ(Col(r, "sub"), "Caller");
  EXPECT_EQ(r.Find("later")->kind, Value::Kind::kTime);
  EXPECT_EQ(Col(r, "hour").size(), 2u);
  ASSERT_EQ(r.columns.size(), 7u);  // exactly the chosen fields, in order
  EXPECT_EQ(r.columns[4].first, "service");
  // After rename the old name is gone.
  auto gone = MustHunt("eventName=GetCallerIdentity | head 1 | rename eventSource AS service | fields eventSource",
                       *stratus_);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_TRUE(gone[0].Find("eventSource")->is_null());
  // Division by zero is null, not infinity.
  auto div = MustHunt("| head 1 | eval x = 1 / 0 | fields x", *stratus_);
  EXPECT_TRUE(div[0].Find("x")->is_null());
}

TEST_F(PipesOnCloudTrail, StatsAggregationsAgreeWithDirectComputation) {
  // Per eventSource: distinct principals, earliest/latest event time, values of eventName.
  std::map<std::string, std::set<std::string>> principals, names;
  std::map<std::string, std::pair<std::string, std::string>> span;
  simdjson::dom::parser parser;
  for (const Record& r : *stratus_) {
    simdjson::dom::element doc = parser.parse(r.json).value();
    std::string src(doc["eventSource"].get_string().value());
    std::string_view arn;
    if (!doc["userIdentity"]["arn"].get_string().get(arn)) principals[src].insert(std::string(arn));
    names[src].insert(std::string(doc["eventName"].get_string().value()));
    std::string t(doc["eventTime"].get_string().value());
    auto& s = span[src];
    if (s.first.empty() || t < s.first) s.first = t;
    if (s.second.empty() || t > s.second) s.second = t;
  }
  auto rows = MustHunt(
      "| stats count, dc(userIdentity.arn) AS principals, min(time) AS first, max(time) AS last, "
      "earliest(time) AS e, latest(time) AS l, values(eventName) AS names by eventSource",
      *stratus_);
  ASSERT_EQ(rows.size(), names.size());
  for (const Row& r : rows) {
    const std::string src = Col(r, "eventSource");
    SCOPED_TRACE(src);
    EXPECT_EQ(r.Find("principals")->number, static_cast<double>(principals[src].size()));
    EXPECT_EQ(Col(r, "first"), span[src].first);
    EXPECT_EQ(Col(r, "last"), span[src].second);
    EXPECT_EQ(Col(r, "e"), span[src].first);
    EXPECT_EQ(Col(r, "l"), span[src].second);
    const Value* v = r.Find("names");
    ASSERT_EQ(v->kind, Value::Kind::kList);
    std::set<std::string> got;
    for (const Value& x : v->list) got.insert(x.str);
    EXPECT_EQ(got, names[src]);
  }
  // sum/avg/min/max/percentile over numbers: the length of eventName.
  std::vector<double> lens;
  for (const auto& [name, n] : CountBy(*stratus_, "eventName"))
    for (size_t i = 0; i < n; ++i) lens.push_back(static_cast<double>(name.size()));
  std::sort(lens.begin(), lens.end());
  double sum = 0;
  for (double d : lens) sum += d;
  auto agg = MustHunt(
      "| eval l = len(eventName) | stats sum(l) AS s, avg(l) AS a, min(l) AS lo, max(l) AS hi, median(l) AS med, "
      "p100(l) AS top, percentile(l, 0) AS bottom, count(errorCode) AS errors",
      *stratus_);
  ASSERT_EQ(agg.size(), 1u);
  EXPECT_EQ(agg[0].Find("s")->number, sum);
  EXPECT_DOUBLE_EQ(agg[0].Find("a")->number, sum / static_cast<double>(lens.size()));
  EXPECT_EQ(agg[0].Find("lo")->number, lens.front());
  EXPECT_EQ(agg[0].Find("hi")->number, lens.back());
  EXPECT_EQ(agg[0].Find("top")->number, lens.back());
  EXPECT_EQ(agg[0].Find("bottom")->number, lens.front());
  const size_t mid = lens.size() / 2;
  EXPECT_EQ(agg[0].Find("med")->number, lens.size() % 2 ? lens[mid] : (lens[mid - 1] + lens[mid]) / 2);
  EXPECT_EQ(agg[0].Find("errors")->number, static_cast<double>(MustHunt("errorCode=*", *stratus_).size()));
  // Over no events: one row, count 0.
  auto none = MustHunt("eventName=NoSuchCall | stats count(), avg(x)", *stratus_);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(Col(none[0], "count"), "0");
  EXPECT_TRUE(none[0].Find("avg(x)")->is_null());
}

TEST_F(PipesOnCloudTrail, TopAndRare) {
  const auto want = CountBy(*stratus_, "eventName");
  std::vector<std::pair<size_t, std::string>> order;
  for (const auto& [k, n] : want) order.emplace_back(n, k);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  auto top = MustHunt("| top 3 eventName", *stratus_);
  ASSERT_EQ(top.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Col(top[i], "eventName"), order[i].second);
    EXPECT_EQ(top[i].Find("count")->number, static_cast<double>(order[i].first));
    EXPECT_NEAR(top[i].Find("percent")->number, 100.0 * static_cast<double>(order[i].first) / 310.0, 1e-3);
  }
  auto rare = MustHunt("| rare 1 eventName", *stratus_);
  ASSERT_EQ(rare.size(), 1u);
  size_t least = SIZE_MAX;
  for (const auto& [k, n] : want) least = std::min(least, n);
  EXPECT_EQ(rare[0].Find("count")->number, static_cast<double>(least));
  // top ... by: per group, shares add up to 100.
  auto by = MustHunt("| top 100 eventName by eventSource", *stratus_);
  std::map<std::string, double> share;
  for (const Row& r : by) share[Col(r, "eventSource")] += r.Find("percent")->number;
  for (const auto& [src, pct] : share) EXPECT_NEAR(pct, 100.0, 1e-2) << src;
}

TEST_F(PipesOnCloudTrail, TimechartBucketsAndSeries) {
  auto rows = MustHunt("eventSource=ssm.amazonaws.com | timechart span=1h count() AS n", *stratus_);
  ASSERT_FALSE(rows.empty());
  double total = 0;
  int64_t prev = INT64_MIN;
  for (const Row& r : rows) {
    const Value* t = r.Find("time");
    ASSERT_EQ(t->kind, Value::Kind::kTime);
    if (prev != INT64_MIN) {
      EXPECT_EQ(t->time_ns - prev, 3600000000000);  // gaps filled, one row per hour
    }
    prev = t->time_ns;
    total += r.Find("n")->number;
  }
  EXPECT_EQ(total, static_cast<double>(CountBy(*stratus_, "eventSource").at("ssm.amazonaws.com")));
  // Split by series: columns per value, OTHER beyond the limit; every event counted once.
  auto split = MustHunt("| timechart span=1d count() by eventSource limit=2", *stratus_);
  ASSERT_FALSE(split.empty());
  EXPECT_EQ(split[0].columns.size(), 4u);  // time, two series, OTHER
  EXPECT_EQ(split[0].columns[1].first, "ssm.amazonaws.com");
  EXPECT_EQ(split[0].columns[3].first, "OTHER");
  double all = 0;
  for (const Row& r : split)
    for (size_t i = 1; i < r.columns.size(); ++i) all += r.columns[i].second.number;
  EXPECT_EQ(all, 310.0);
}

TEST_F(PipesOnCloudTrail, SortHeadTailDedup) {
  auto sorted = MustHunt("| sort -time | head 5 | fields time", *stratus_);
  ASSERT_EQ(sorted.size(), 5u);
  std::vector<int64_t> times;
  for (const Record& r : *stratus_) times.push_back(r.event->time_ns);
  std::sort(times.rbegin(), times.rend());
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(sorted[i].Find("time")->time_ns, times[i]);
  auto last = MustHunt("| sort time | tail 2 | fields time", *stratus_);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[1].Find("time")->time_ns, times[0]);
  EXPECT_EQ(last[0].Find("time")->time_ns, times[1]);
  // sort N keeps the first N of the order (top-N without holding everything).
  auto first3 = MustHunt("| sort 3 eventName, -time | fields eventName", *stratus_);
  ASSERT_EQ(first3.size(), 3u);
  EXPECT_EQ(Col(first3[0], "eventName"), CountBy(*stratus_, "eventName").begin()->first);
  // dedup: one row per value, in input order.
  auto dd = MustHunt("| dedup eventSource | fields eventSource", *stratus_);
  EXPECT_EQ(dd.size(), CountBy(*stratus_, "eventSource").size());
  auto dd2 = MustHunt("| dedup 2 eventSource", *stratus_);
  size_t want2 = 0;
  for (const auto& [k, n] : CountBy(*stratus_, "eventSource")) want2 += std::min<size_t>(n, 2);
  EXPECT_EQ(dd2.size(), want2);
  // head stops early: the rows are the first events in input order.
  auto head = MustHunt("| head 3", *stratus_);
  ASSERT_EQ(head.size(), 3u);
  EXPECT_TRUE(head[0].is_event());
  EXPECT_EQ(head[0].event.get(), (*stratus_)[0].event.get());
}

TEST_F(PipesOnCloudTrail, LookupCsvTable) {
  const fs::path csv = fs::temp_directory_path() / ("vigil_pipes_assets_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(csv) << "ip,owner,\"note, quoted\"\n"
                        "18.236.253.47,red-team,\"stratus \"\"runner\"\"\"\n"
                        "192.0.2.1,nobody,x\n";
  auto rows = MustHunt("| lookup " + csv.string() + " ip AS sourceIPAddress OUTPUT owner, 'note, quoted' "
                       "| where owner = \"red-team\" | stats count() by owner, 'note, quoted'",
                       *stratus_);
  fs::remove(csv);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(Col(rows[0], "note, quoted"), "stratus \"runner\"");
  EXPECT_EQ(rows[0].Find("count")->number,
            static_cast<double>(CountBy(*stratus_, "sourceIPAddress").at("18.236.253.47")));
}

TEST_F(PipesOnCloudTrail, LookupNamedTableThroughTheInterface) {
  // A table that matches networks, as a threat-intel table does.
  class NetTable : public LookupTable {
   public:
    std::string_view name() const override { return "intel"; }
    const std::vector<std::string>& columns() const override { return cols_; }
    std::optional<LookupRow> Lookup(std::string_view key) const override {
      if (key.rfind("18.236.", 0) != 0) return std::nullopt;
      LookupRow row;
      row.fields = {{"indicator", "18.236.0.0/16"}, {"label", "scanner"}};
      return row;
    }

   private:
    std::vector<std::string> cols_{"indicator", "label", "confidence"};
  };
  LookupTables tables;
  tables["intel"] = std::make_shared<NetTable>();
  LookupSources sources;
  sources.tables = &tables;
  QueryPipelineOptions opts;
  opts.lookups = &sources;
  size_t want = 0;
  for (const auto& [ip, n] : CountBy(*stratus_, "sourceIPAddress"))
    if (ip.rfind("18.236.", 0) == 0) want += n;
  // The row's field is named directly, or as `KEY AS field`.
  for (const char* q : {"| lookup intel sourceIPAddress | where label = \"scanner\" | stats count()",
                        "| lookup intel indicator AS sourceIPAddress OUTPUT label | where isnotnull(label) | stats count()"}) {
    auto rows = Hunt(q, *stratus_, opts);
    ASSERT_TRUE(rows.ok()) << rows.status().message();
    EXPECT_EQ((*rows)[0].Find("count")->number, static_cast<double>(want)) << q;
  }
  // A column the row does not carry stays absent.
  auto absent = Hunt("| lookup intel sourceIPAddress | where isnotnull(confidence)", *stratus_, opts);
  ASSERT_TRUE(absent.ok());
  EXPECT_TRUE(absent->empty());
  // Errors point at the table name.
  auto missing = Hunt("| lookup nosuch ip", *stratus_, opts);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no lookup table named `nosuch` (configured: intel"), std::string::npos)
      << missing.status().message();
  EXPECT_NE(missing.status().message().find("at column 10"), std::string::npos) << missing.status().message();
  auto bad_out = Hunt("| lookup intel sourceIPAddress OUTPUT nothing", *stratus_, opts);
  ASSERT_FALSE(bad_out.ok());
  EXPECT_NE(bad_out.status().message().find("has no column `nothing`"), std::string::npos);
  // Named CSV files (vigil hunt --lookup NAME=FILE) and a key column the file lacks.
  const fs::path csv = fs::temp_directory_path() / ("vigil_pipes_owners_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(csv) << "service,team\nssm.amazonaws.com,platform\n";
  sources.csv_files["owners"] = csv.string();
  auto owners = Hunt("| lookup owners service AS eventSource | stats count() by team", *stratus_, opts);
  auto no_col = Hunt("| lookup owners eventSource", *stratus_, opts);
  fs::remove(csv);
  ASSERT_TRUE(owners.ok()) << owners.status().message();
  ASSERT_EQ(owners->size(), 1u);
  EXPECT_EQ(Col((*owners)[0], "team"), "platform");
  EXPECT_EQ((*owners)[0].Find("count")->number,
            static_cast<double>(CountBy(*stratus_, "eventSource").at("ssm.amazonaws.com")));
  ASSERT_FALSE(no_col.ok());
  EXPECT_NE(no_col.status().message().find("has no column `eventSource` (columns: service, team)"), std::string::npos)
      << no_col.status().message();
}

TEST_F(PipesOnCloudTrail, MemoryBoundStopsHighCardinalityStats) {
  QueryPipelineOptions small;
  small.max_memory_bytes = 16 << 10;  // 16 KiB: a few dozen groups
  auto r = Hunt("| stats count() by eventID", *stratus_, small);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  EXPECT_NE(r.status().message().find("`stats` needs more than"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("at column 3\n  | stats count() by eventID\n    ^"), std::string::npos)
      << r.status().message();
  // The same bound holds sort's buffered rows; with it the low-cardinality query runs.
  EXPECT_EQ(Hunt("| sort eventName", *stratus_, small).status().code(), StatusCode::kLimitExceeded);
  EXPECT_TRUE(Hunt("| stats count() by eventSource", *stratus_, small).ok());
}

TEST(LookupCsvTest, ParsingAndErrors) {
  auto t = CsvTable::Parse("\xEF\xBB\xBFname,role\r\nAlice,admin\r\n\r\nbob,\"dev, ops\"\nalice,second\n", "t.csv");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ((*t)->columns(), (std::vector<std::string>{"name", "role"}));
  EXPECT_EQ((*t)->size(), 3u);
  auto by_name = (*t)->KeyedBy("name");
  ASSERT_TRUE(by_name.ok());
  auto hit = (*by_name)->Lookup("ALICE");  // keys match case-insensitively; the first row wins
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(*hit->Get("role"), "admin");
  EXPECT_EQ(*(*(*t)->KeyedBy("role"))->Lookup("DEV, OPS")->Get("name"), "bob");
  EXPECT_FALSE((*by_name)->Lookup("carol").has_value());
  EXPECT_EQ((*t)->KeyedBy("nope").status().message(), "lookup table t.csv has no column `nope` (columns: name, role)");
  EXPECT_EQ(CsvTable::Parse("a,b\n1\n", "x.csv").status().message(),
            "lookup table x.csv: line 2 has 1 fields, the header has 2");
  EXPECT_EQ(CsvTable::Parse("a,\"b\n", "x.csv").status().message(),
            "lookup table x.csv: line 1: unterminated quoted field");
  EXPECT_EQ(CsvTable::Parse("", "x.csv").status().message(), "lookup table x.csv: no header row");
  EXPECT_EQ(CsvTable::Load("/nonexistent/x.csv").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil
