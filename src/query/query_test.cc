#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/time.h"
#include "event/json_fields.h"
#include "query/column_plan.h"
#include "query/matcher.h"
#include "query/parser.h"
#include "query/scan_hints.h"

namespace vigil {
namespace {

std::string Parsed(std::string_view q) {
  auto r = ParseQuery(q);
  if (!r.ok()) return "error: " + r.status().ToString();
  return DebugString(r->search);
}

std::string ErrorOf(std::string_view q) {
  auto r = ParseQuery(q);
  if (r.ok()) return "ok: " + DebugString(r->search);
  return r.status().message();
}

// ---------------------------------------------------------------- parsing

TEST(ParseQueryTest, EmptyQueryMatchesEverything) {
  EXPECT_EQ(Parsed(""), "(all)");
  EXPECT_EQ(Parsed("   \t\n"), "(all)");
}

TEST(ParseQueryTest, FieldTermsOnDottedPaths) {
  EXPECT_EQ(Parsed("userIdentity.sessionContext.attributes.mfaAuthenticated=false"),
            "(= userIdentity.sessionContext.attributes.mfaAuthenticated \"false\")");
  EXPECT_EQ(Parsed("eventName != ConsoleLogin"), "(!= eventName \"ConsoleLogin\")");
  EXPECT_EQ(Parsed("bytes>=1000"), "(>= bytes \"1000\")");
  EXPECT_EQ(Parsed("time<2024-07-31T13:06:24Z"), "(< time \"2024-07-31T13:06:24Z\")");
}

TEST(ParseQueryTest, ImplicitAndAndFlattening) {
  EXPECT_EQ(Parsed("eventName=ConsoleLogin errorMessage=\"Failed authentication\""),
            "(and (= eventName \"ConsoleLogin\") (= errorMessage \"Failed authentication\"))");
  EXPECT_EQ(Parsed("a=1 AND b=2 c=3"), "(and (= a \"1\") (= b \"2\") (= c \"3\"))");
  EXPECT_EQ(Parsed("(a=1 b=2) c=3"), "(and (= a \"1\") (= b \"2\") (= c \"3\"))");
}

TEST(ParseQueryTest, PrecedenceNotThenAndThenOr) {
  EXPECT_EQ(Parsed("a=1 OR b=2 c=3"), "(or (= a \"1\") (and (= b \"2\") (= c \"3\")))");
  EXPECT_EQ(Parsed("a=1 AND b=2 OR c=3"), "(or (and (= a \"1\") (= b \"2\")) (= c \"3\"))");
  EXPECT_EQ(Parsed("NOT a=1 b=2"), "(and (not (= a \"1\")) (= b \"2\"))");
  EXPECT_EQ(Parsed("NOT (a=1 OR b=2)"), "(not (or (= a \"1\") (= b \"2\")))");
  EXPECT_EQ(Parsed("NOT NOT a=1"), "(not (not (= a \"1\")))");
  EXPECT_EQ(Parsed("eventSource=iam.amazonaws.com AND (eventName=Create* OR eventName=Attach*)"),
            "(and (= eventSource \"iam.amazonaws.com\") (or (= eventName \"Create*\") (= eventName \"Attach*\")))");
}

TEST(ParseQueryTest, KeywordsAreCaseInsensitive) {
  EXPECT_EQ(Parsed("a=1 or not b=2 and c=3"), "(or (= a \"1\") (and (not (= b \"2\")) (= c \"3\")))");
  // A keyword spelled before an operator is a field; after one, a value.
  EXPECT_EQ(Parsed("not=1 x=OR"), "(and (= not \"1\") (= x \"OR\"))");
  // Quoted, a keyword is a search word.
  EXPECT_EQ(Parsed("\"and\" \"NOT\""), "(and (text \"and\") (text \"NOT\"))");
}

TEST(ParseQueryTest, FullTextTerms) {
  EXPECT_EQ(Parsed("AccessDenied"), "(text \"AccessDenied\")");
  EXPECT_EQ(Parsed("\"Failed authentication\" root"), "(and (text \"Failed authentication\") (text \"root\"))");
}

TEST(ParseQueryTest, QuotingAndEscapes) {
  // \" inside quotes is a quote; glob escapes stay escaped for GlobPattern.
  EXPECT_EQ(Parsed(R"(msg="say \"hi\"")"), R"((= msg "say \"hi\""))");
  EXPECT_EQ(Parsed(R"(msg="a\*b")"), R"((= msg "a\*b"))");
  EXPECT_EQ(Parsed(R"(path="C:\Windows")"), R"((= path "C:\\Windows"))");
  EXPECT_EQ(Parsed(R"(msg="a\\b")"), R"((= msg "a\\b"))");
  // Unquoted: a backslash makes operators and parentheses literal.
  EXPECT_EQ(Parsed(R"(a\=b)"), R"((text "a=b"))");
  EXPECT_EQ(Parsed(R"(x=f\(1\))"), R"q((= x "f(1)"))q");
  EXPECT_EQ(Parsed(R"(x=\*)"), R"((= x "\*"))");
  // Operators need no spaces; `!` alone is an ordinary character.
  EXPECT_EQ(Parsed("a!=b c=d!"), "(and (!= a \"b\") (= c \"d!\"))");
  // Empty quoted values are explicit.
  EXPECT_EQ(Parsed("errorCode=\"\""), "(= errorCode \"\")");
  // Quoted field names for keys with spaces.
  EXPECT_EQ(Parsed("\"odd key\"=1"), "(= odd key \"1\")");
}

TEST(ParseQueryTest, PipesFollowTheSearch) {
  auto r = ParseQuery("eventName=X | stats count() by userIdentity.arn | HEAD 5");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(DebugString(r->search), "(= eventName \"X\")");
  ASSERT_EQ(r->pipes.size(), 2u);
  EXPECT_EQ(r->pipes[0].name, "stats");
  EXPECT_EQ(r->pipes[0].offset, 14u);
  EXPECT_EQ(r->pipes[1].name, "head");
  EXPECT_EQ(r->pipes[1].count, 5u);
}

// ---------------------------------------------------------------- errors

TEST(ParseQueryErrorTest, UnexpectedCloseParen) {
  EXPECT_EQ(ErrorOf("eventName=X )"),
            "query: unexpected ')' at column 13\n"
            "  eventName=X )\n"
            "              ^");
}

TEST(ParseQueryErrorTest, UnclosedParenPointsAtIt) {
  EXPECT_EQ(ErrorOf("a=1 (b=2 OR c=3"),
            "query: unbalanced parentheses: this '(' is never closed at column 5\n"
            "  a=1 (b=2 OR c=3\n"
            "      ^");
  EXPECT_EQ(ErrorOf("()"),
            "query: expected a search term after '(', found ')' at column 2\n"
            "  ()\n"
            "   ^");
}

TEST(ParseQueryErrorTest, DanglingOperators) {
  EXPECT_EQ(ErrorOf("a=1 OR"),
            "query: expected a search term after 'OR', found end of query at column 7\n"
            "  a=1 OR\n"
            "        ^");
  EXPECT_EQ(ErrorOf("AND a=1"),
            "query: unexpected 'AND' at column 1\n"
            "  AND a=1\n"
            "  ^");
  EXPECT_EQ(ErrorOf("a=1 and ) "),
            "query: expected a search term after 'and', found ')' at column 9\n"
            "  a=1 and ) \n"
            "          ^");
  EXPECT_EQ(ErrorOf("NOT"),
            "query: expected a search term after 'NOT', found end of query at column 4\n"
            "  NOT\n"
            "     ^");
  EXPECT_EQ(ErrorOf("a=1 OR OR b=2"),
            "query: expected a search term after 'OR', found 'OR' at column 8\n"
            "  a=1 OR OR b=2\n"
            "         ^");
}

TEST(ParseQueryErrorTest, EmptyValueAndMissingField) {
  EXPECT_EQ(ErrorOf("eventName= userName=bob"),
            "query: expected a value after '=', found field 'userName' at column 12\n"
            "  eventName= userName=bob\n"
            "             ^");
  EXPECT_EQ(ErrorOf("eventName="),
            "query: expected a value after '=', found end of query at column 11\n"
            "  eventName=\n"
            "            ^");
  EXPECT_EQ(ErrorOf("(eventName!=)"),
            "query: expected a value after '!=', found ')' at column 13\n"
            "  (eventName!=)\n"
            "              ^");
  EXPECT_EQ(ErrorOf("=x"),
            "query: missing field name before '=' at column 1\n"
            "  =x\n"
            "  ^");
  EXPECT_EQ(ErrorOf("a=b=c"),
            "query: missing field name before '=' at column 4\n"
            "  a=b=c\n"
            "     ^");
  EXPECT_EQ(ErrorOf("x \"\""),
            "query: empty search term at column 3\n"
            "  x \"\"\n"
            "    ^");
}

TEST(ParseQueryErrorTest, UnterminatedQuote) {
  EXPECT_EQ(ErrorOf("errorMessage=\"Failed auth"),
            "query: unterminated quoted string at column 14\n"
            "  errorMessage=\"Failed auth\n"
            "               ^");
  EXPECT_EQ(ErrorOf(R"(a="x\")"),
            "query: unterminated quoted string at column 3\n"
            "  a=\"x\\\"\n"
            "    ^");
}

TEST(ParseQueryErrorTest, BadFieldsAndBounds) {
  EXPECT_EQ(ErrorOf("event*=x"),
            "query: wildcards are not allowed in field names at column 1\n"
            "  event*=x\n"
            "  ^");
  EXPECT_EQ(ErrorOf("a..b=x"),
            "query: invalid field name 'a..b' at column 1\n"
            "  a..b=x\n"
            "  ^");
  EXPECT_EQ(ErrorOf("bytes>lots"),
            "query: '>' needs a number or an RFC 3339 time, found 'lots' at column 7\n"
            "  bytes>lots\n"
            "        ^");
}

TEST(ParseQueryErrorTest, PipeErrors) {
  EXPECT_EQ(ErrorOf("a=1 | frobnicate x"),
            "query: unknown command 'frobnicate' after '|' (commands: where, eval, fields, rename, stats, bin, "
            "timechart, top, rare, sort, head, tail, dedup, lookup) at column 7\n"
            "  a=1 | frobnicate x\n"
            "        ^");
  EXPECT_EQ(ErrorOf("a=1 |"),
            "query: expected a command after '|', found end of query at column 6\n"
            "  a=1 |\n"
            "       ^");
}

TEST(ParseQueryErrorTest, ColumnsCountCharactersAndLongQueriesAreWindowed) {
  // "é" is two bytes but one column.
  EXPECT_EQ(ErrorOf("é )"),
            "query: unexpected ')' at column 3\n"
            "  é )\n"
            "    ^");
  std::string long_query = std::string(100, 'a') + " ) " + std::string(100, 'b');
  std::string message = ErrorOf(long_query);
  EXPECT_EQ(message.substr(0, message.find('\n')), "query: unexpected ')' at column 102");
  // The caret sits under the ')' in the shown window.
  size_t l1 = message.find('\n') + 1, l2 = message.find('\n', l1) + 1;
  std::string shown = message.substr(l1, l2 - l1 - 1), caret = message.substr(l2);
  ASSERT_LT(caret.size() - 1, shown.size());
  EXPECT_EQ(shown[caret.size() - 1], ')');
  EXPECT_EQ(shown.substr(0, 5), "  ...");
}

TEST(ParseQueryErrorTest, Limits) {
  std::string deep = std::string(200, '(') + "a" + std::string(200, ')');
  auto r = ParseQuery(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  std::string nots;
  for (int i = 0; i < 200; ++i) nots += "NOT ";
  EXPECT_EQ(ParseQuery(nots + "a").status().code(), StatusCode::kLimitExceeded);
  EXPECT_EQ(ParseQuery(std::string(100, 'x'), QueryLimits{10, 10}).status().code(), StatusCode::kLimitExceeded);
}

// ---------------------------------------------------------------- matching

constexpr std::string_view kConsoleLogin = R"({
  "eventVersion": "1.08",
  "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "userName": "alice",
                   "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}},
  "eventTime": "2024-07-31T13:06:24Z",
  "eventSource": "signin.amazonaws.com",
  "eventName": "ConsoleLogin",
  "sourceIPAddress": "203.0.113.7",
  "errorMessage": "Failed authentication",
  "responseElements": {"ConsoleLogin": "Failure"},
  "additionalEventData": {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"},
  "readOnly": false,
  "bytes": 1532,
  "ratio": 0.25,
  "nothing": null,
  "emptyList": [],
  "resources": [{"ARN": "arn:aws:s3:::logs", "type": "AWS::S3::Bucket"}, {"ARN": "arn:aws:kms:k", "type": "AWS::KMS::Key"}],
  "tags": ["prod", "PCI"],
  "path": "C:\\Windows\\x*y"
})";

class MatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = ParseJsonFields(kConsoleLogin);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    fields_ = *r;
  }

  bool Match(std::string_view q, const MetadataFields* meta = nullptr) {
    auto parsed = ParseQuery(q);
    EXPECT_TRUE(parsed.ok()) << q << ": " << parsed.status().ToString();
    if (!parsed.ok()) return false;
    auto matcher = Matcher::Compile(parsed->search);
    EXPECT_TRUE(matcher.ok()) << matcher.status().ToString();
    if (!matcher.ok()) return false;
    const bool compiled = matcher->Matches(*fields_, meta);
    EXPECT_EQ(compiled, Matches(parsed->search, *fields_, meta)) << q;
    return compiled;
  }

  std::shared_ptr<const FieldResolver> fields_;
};

TEST_F(MatchTest, EmptyQueryMatches) { EXPECT_TRUE(Match("")); }

TEST_F(MatchTest, DottedPathsAndCaseInsensitiveValues) {
  EXPECT_TRUE(Match("eventName=ConsoleLogin"));
  EXPECT_TRUE(Match("eventname=consolelogin") == false);  // field names are exact
  EXPECT_TRUE(Match("eventName=consolelogin"));
  EXPECT_TRUE(Match("userIdentity.sessionContext.attributes.mfaAuthenticated=false"));
  EXPECT_TRUE(Match("responseElements.ConsoleLogin=Failure"));
  EXPECT_FALSE(Match("eventName=ConsoleLogin2"));
  EXPECT_FALSE(Match("no.such.path=x"));
  EXPECT_TRUE(Match("eventName=ConsoleLogin errorMessage=\"Failed authentication\""));
  EXPECT_FALSE(Match("eventName=ConsoleLogin errorMessage=\"Failed\""));  // = is whole-value
}

TEST_F(MatchTest, Wildcards) {
  EXPECT_TRUE(Match("eventSource=signin.*"));
  EXPECT_TRUE(Match("eventSource=*.AMAZONAWS.com"));
  EXPECT_TRUE(Match("errorMessage=*auth*"));
  EXPECT_TRUE(Match("sourceIPAddress=203.0.113.?"));
  EXPECT_TRUE(Match("userIdentity.arn=arn:aws:iam::*:user/al*e"));
  EXPECT_FALSE(Match("sourceIPAddress=203.0.11?"));
  EXPECT_TRUE(Match(R"(path="C:\Windows\x\*y")"));
  EXPECT_FALSE(Match(R"(path="C:\Windows\x\*z")"));
  EXPECT_TRUE(Match("eventSource=iam.amazonaws.com OR (eventName=Console* OR eventName=Attach*)"));
  // Alternatives on one path are merged into one visit; the result is the same.
  EXPECT_TRUE(Match("eventName=Create* OR eventName=Attach* OR eventName=Console*"));
  EXPECT_TRUE(Match("eventName=Create* OR bytes=1 OR eventName=consolelogin OR tags=x"));
  EXPECT_FALSE(Match("eventName=Create* OR eventName=Attach* OR tags=dev"));
  EXPECT_TRUE(Match("tags=dev OR tags=PCI"));
  EXPECT_TRUE(Match("(eventName=A OR eventName=B) OR eventName=ConsoleLogin"));
}

TEST_F(MatchTest, ArraysMatchIfAnyElementMatches) {
  EXPECT_TRUE(Match("tags=pci"));
  EXPECT_TRUE(Match("tags=prod"));
  EXPECT_FALSE(Match("tags=dev"));
  EXPECT_TRUE(Match("resources.type=AWS::KMS::*"));
  EXPECT_TRUE(Match("resources.ARN=arn:aws:s3:::logs"));
  EXPECT_TRUE(Match("tags!=dev"));
  EXPECT_FALSE(Match("tags!=prod"));  // != means no element matches
}

TEST_F(MatchTest, NumbersBooleansAndNullThroughText) {
  EXPECT_TRUE(Match("bytes=1532"));
  EXPECT_TRUE(Match("bytes=15*"));
  EXPECT_TRUE(Match("ratio=0.25"));
  EXPECT_TRUE(Match("readOnly=false"));
  EXPECT_TRUE(Match("readOnly=FALSE"));
  EXPECT_FALSE(Match("readOnly=true"));
  EXPECT_TRUE(Match("nothing=null"));
}

TEST_F(MatchTest, Comparisons) {
  EXPECT_TRUE(Match("bytes>1000"));
  EXPECT_TRUE(Match("bytes>=1532 bytes<=1532"));
  EXPECT_FALSE(Match("bytes<1532"));
  EXPECT_TRUE(Match("ratio<0.5"));
  EXPECT_TRUE(Match("eventVersion>1.05"));  // numeric strings compare as numbers
  EXPECT_TRUE(Match("eventTime>=2024-07-31T00:00:00Z eventTime<2024-08-01"));
  EXPECT_FALSE(Match("eventTime>2024-07-31T13:06:24Z"));
  EXPECT_FALSE(Match("eventName>5"));  // not a number: no match
  // Times outside what int64 nanoseconds hold are not times (nor an overflow).
  EXPECT_EQ(ParseQuery("time<4048-08-01").status().code(), StatusCode::kInvalidArgument);
  auto far = ParseJsonFields(R"({"t":"9999-12-31T00:00:00Z"})");
  ASSERT_TRUE(far.ok());
  auto q = ParseQuery("t>2024-01-01");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(Matches(q->search, **far));
}

TEST_F(MatchTest, FullTextWords) {
  EXPECT_TRUE(Match("alice"));
  EXPECT_TRUE(Match("ALICE"));
  EXPECT_TRUE(Match("\"failed auth\""));
  EXPECT_TRUE(Match("203.0.113"));
  EXPECT_TRUE(Match("1532"));
  EXPECT_TRUE(Match("con*aws"));  // wildcards inside a word
  EXPECT_TRUE(Match("*"));
  EXPECT_FALSE(Match("bob"));
  EXPECT_FALSE(Match("ConsoleLogin bob"));
  EXPECT_FALSE(Match("eventName"));  // keys are not searched, only values
}

TEST_F(MatchTest, ExistsAndNotEquals) {
  EXPECT_TRUE(Match("errorMessage=*"));
  EXPECT_TRUE(Match("nothing=*"));  // present, even if null
  EXPECT_TRUE(Match("emptyList=*"));
  EXPECT_TRUE(Match("userIdentity=*"));
  EXPECT_FALSE(Match("errorCode=*"));
  EXPECT_TRUE(Match("errorCode!=*"));  // absent
  EXPECT_FALSE(Match("errorMessage!=*"));
  EXPECT_TRUE(Match("eventName!=AssumeRole"));
  EXPECT_FALSE(Match("eventName!=consolelogin"));
  EXPECT_FALSE(Match("errorCode!=AccessDenied"));  // != needs the field
  EXPECT_TRUE(Match("NOT errorCode=AccessDenied"));
}

TEST_F(MatchTest, BooleanStructure) {
  EXPECT_TRUE(Match("NOT userIdentity.type=AWSService"));
  EXPECT_FALSE(Match("NOT userIdentity.type=IAMUser"));
  EXPECT_TRUE(Match("eventName=AssumeRole OR alice"));
  EXPECT_FALSE(Match("eventName=AssumeRole OR (alice bob)"));
  EXPECT_TRUE(Match("NOT (eventName=AssumeRole OR bob) readOnly=false"));
}

TEST_F(MatchTest, PseudoFieldsFromMetadata) {
  MetadataFields meta;
  meta.source = "cloudtrail";
  meta.account = "123456789012";
  meta.principal = "arn:aws:iam::123456789012:user/alice";
  meta.time_ns = *ParseTimestamp("2024-07-31T13:06:24Z");
  EXPECT_TRUE(Match("source=cloudtrail", &meta));
  EXPECT_TRUE(Match("source=CloudTrail eventName=ConsoleLogin", &meta));
  EXPECT_FALSE(Match("source=vpcflow", &meta));
  EXPECT_TRUE(Match("source!=vpcflow", &meta));
  EXPECT_TRUE(Match("account=1234*", &meta));
  EXPECT_TRUE(Match("principal=*alice", &meta));
  EXPECT_TRUE(Match("id!=*", &meta));  // not given: falls back to the record, which has no `id`
  EXPECT_TRUE(Match("time>=2024-07-31T13:00:00Z time<2024-07-31T14:00:00Z", &meta));
  EXPECT_FALSE(Match("time>2024-07-31T13:06:24Z", &meta));
  // Without metadata, pseudo-fields read the record.
  EXPECT_FALSE(Match("source=cloudtrail"));
  EXPECT_FALSE(Match("time>2000-01-01"));

  Event event;
  event.source_type = "cloudtrail";
  event.id = "e1";
  event.time_ns = *meta.time_ns;
  MetadataFields of = MetadataOf(event);
  EXPECT_TRUE(Match("source=cloudtrail id=e1 time<2025-01-01", &of));
  EXPECT_FALSE(of.account.has_value());
}

TEST(MatcherTest, CompileRejectsBadHandBuiltBound) {
  SearchExpr e;
  e.kind = SearchExpr::Kind::kCompare;
  e.field = FieldPath("bytes");
  e.op = CompareOp::kGt;
  e.value = "many";
  EXPECT_EQ(Matcher::Compile(e).status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- scan hints

ScanHints Hints(std::string_view q) {
  auto r = ParseQuery(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? ExtractScanHints(r->search) : ScanHints{};
}

TEST(ScanHintsTest, Sources) {
  EXPECT_FALSE(Hints("").sources);
  EXPECT_FALSE(Hints("eventName=X").sources);
  EXPECT_EQ(*Hints("source=CloudTrail eventName=X").sources, std::vector<std::string>{"cloudtrail"});
  EXPECT_EQ(*Hints("(source=vpcflow OR source=cloudtrail) x").sources,
            (std::vector<std::string>{"cloudtrail", "vpcflow"}));
  EXPECT_FALSE(Hints("source=cloudtrail OR eventName=X").sources);
  EXPECT_FALSE(Hints("source=cloud*").sources);
  EXPECT_FALSE(Hints("NOT source=cloudtrail").sources);
  EXPECT_TRUE(Hints("source=cloudtrail source=vpcflow").sources->empty());
  EXPECT_EQ(*Hints("source=a (source=a OR source=b)").sources, std::vector<std::string>{"a"});
}

TEST(ScanHintsTest, TimeBounds) {
  const int64_t t1 = *ParseTimestamp("2024-07-01T00:00:00Z");
  const int64_t t2 = *ParseTimestamp("2024-07-02T00:00:00Z");
  ScanHints h = Hints("time>=2024-07-01T00:00:00Z time<2024-07-02T00:00:00Z eventName=X");
  EXPECT_EQ(h.from_ns, t1);
  EXPECT_EQ(h.to_ns, t2);
  h = Hints("time>2024-07-01T00:00:00Z time<=2024-07-02T00:00:00Z time<2024-08-01");
  EXPECT_EQ(h.from_ns, t1 + 1);
  EXPECT_EQ(h.to_ns, t2 + 1);
  h = Hints("time>2024-07-01 OR x");
  EXPECT_FALSE(h.from_ns);
  EXPECT_FALSE(Hints("time>5").from_ns);
}


TEST(ScanHintsTest, FieldTermsAndWordsForPruning) {
  ScanHints h = Hints(
      "source=cloudtrail sourceIPAddress=203.0.113.7 (eventName=Get* OR eventName=List*) bytes>1000 "
      "\"Access Denied\" con*aws x NOT userAgent=foo errorCode!=bar field=* time>=2024-07-01 count<=5");
  ASSERT_EQ(h.equalities.size(), 2u);
  EXPECT_EQ(h.equalities[0].field, "sourceIPAddress");
  EXPECT_EQ(h.equalities[0].patterns, std::vector<std::string>{"203.0.113.7"});
  EXPECT_EQ(h.equalities[1].field, "eventName");
  EXPECT_EQ(h.equalities[1].patterns, (std::vector<std::string>{"Get*", "List*"}));
  ASSERT_EQ(h.compares.size(), 2u);
  EXPECT_EQ(h.compares[0].field, "bytes");
  EXPECT_EQ(h.compares[0].op, CompareOp::kGt);
  EXPECT_EQ(h.compares[0].bound, 1000);
  EXPECT_EQ(h.compares[1].op, CompareOp::kLe);
  // Words: literal runs of 3+ bytes, lower-cased; "x" is too short to prune.
  EXPECT_EQ(h.text_runs, (std::vector<std::string>{"access denied", "con", "aws"}));
  // Alternatives on different fields, or under OR at the top, say nothing.
  EXPECT_TRUE(Hints("a=1 OR b=2").equalities.empty());
  EXPECT_TRUE(Hints("(a=1 OR b=2) c").equalities.empty());
  EXPECT_TRUE(Hints("a=1 OR word").text_runs.empty());
  EXPECT_EQ(Hints("foo\\*bar").text_runs, std::vector<std::string>{"foo*bar"});
  EXPECT_EQ(*PatternLiteral("a\\*b"), "a*b");
  EXPECT_FALSE(PatternLiteral("a*b"));
  // A network is marked: it matches the addresses inside it, not its text.
  ScanHints net = Hints("sourceIPAddress=10.0.0.0/8");
  ASSERT_EQ(net.equalities.size(), 1u);
  EXPECT_TRUE(net.equalities[0].network);
  EXPECT_FALSE(Hints("request_path=/index.html").equalities[0].network);
}

}  // namespace
}  // namespace vigil

// ---------------------------------------------------------------- column plans

namespace vigil {
namespace {

std::string Plan(std::string_view q) {
  auto parsed = ParseQuery(q);
  if (!parsed.ok()) return "error: " + parsed.status().ToString();
  auto plan = PlanColumns(*parsed);
  if (!plan) return "raw";
  std::string out;
  for (const std::string& f : plan->fields) out += f + " ";
  if (plan->exact_time) out += "time";
  if (plan->time_bucket_ns) out += "bin " + std::to_string(plan->time_bucket_ns / 1000000000) + "s";
  return out;
}

TEST(ColumnPlanTest, AggregationsReadingFieldsArePlanned) {
  EXPECT_EQ(Plan("source=cloudtrail | stats count() by eventName"), "eventName source ");
  EXPECT_EQ(Plan("| stats count() by bin(time, 1h)"), "bin 3600s");
  EXPECT_EQ(Plan("| timechart span=5m dc(sourceIPAddress) by awsRegion"), "awsRegion sourceIPAddress bin 300s");
  EXPECT_EQ(Plan("| stats dc(sourceIPAddress) AS ips by userIdentity.arn | sort -ips | head 10"),
            "sourceIPAddress userIdentity.arn ");
  EXPECT_EQ(Plan("eventName=Get* OR NOT errorCode=x | top 3 eventSource by principal"),
            "errorCode eventName eventSource principal ");
  // Names an earlier eval or bin assigned are columns of the row, not fields.
  EXPECT_EQ(Plan("| eval ua = lower(userAgent) | where ua != \"x\" | stats count() by ua"), "userAgent ");
  EXPECT_EQ(Plan("| bin time span=1d | stats count() by time"), "bin 86400s");
  // Times read as they are: a comparison, two spans, time in the search.
  EXPECT_EQ(Plan("| stats min(time) AS first by eventName"), "eventName time");
  EXPECT_EQ(Plan("| stats count() by bin(time, 1h), bin(time, 1d)"), "time");
  EXPECT_EQ(Plan("time>=2024-01-01T00:00:00Z | stats count() by bin(time, 1h)"), "time");
}

TEST(ColumnPlanTest, QueriesNeedingRecordsAreNot) {
  EXPECT_EQ(Plan("eventName=ConsoleLogin"), "raw");                            // events printed
  EXPECT_EQ(Plan("failed | stats count() by eventName"), "raw");              // full-text word
  EXPECT_EQ(Plan("errorCode!=x | stats count() by eventName"), "raw");        // existence
  EXPECT_EQ(Plan("errorCode=* | stats count() by eventName"), "raw");         // existence
  EXPECT_EQ(Plan("time=5 | stats count() by eventName"), "raw");              // the record's `time`
  EXPECT_EQ(Plan("| head 5 | stats count() by eventName"), "raw");            // order
  EXPECT_EQ(Plan("| dedup sourceIPAddress | stats count() by eventName"), "raw");
  EXPECT_EQ(Plan("| stats earliest(eventName) by awsRegion"), "raw");        // order
  EXPECT_EQ(Plan("| stats p90(bytes) by action"), "raw");                     // samples per event
}

}  // namespace
}  // namespace vigil
