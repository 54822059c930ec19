// Unit tests for Sigma rule parsing, modifiers, conditions and lint classes.
#include <gtest/gtest.h>

#include <string>

#include "detect/sigma/internal/detection.h"
#include "detect/sigma/rule.h"
#include "detect/sigma/rule_set.h"
#include "detect/sigma/sigma_detector.h"
#include "event/json_fields.h"

namespace vigil {
namespace {

// A rule around a detection block (indented by four spaces by the caller).
std::string RuleText(const std::string& detection, const std::string& extra = "") {
  return "title: test rule\nid: test-rule\nlogsource:\n    product: aws\n    service: cloudtrail\n" + extra +
         "detection:\n" + detection;
}

std::shared_ptr<const SigmaRule> MustParse(const std::string& yaml) {
  auto r = SigmaRule::Parse(yaml);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << yaml;
  return r.ok() ? *r : nullptr;
}

Event MakeEvent(std::string_view json) {
  Event e;
  auto f = ParseJsonFields(json);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  if (f.ok()) e.fields = *f;
  e.raw = std::string(json);
  return e;
}

bool Matches(const std::string& detection, std::string_view json) {
  auto rule = MustParse(RuleText(detection));
  return rule && rule->Matches(MakeEvent(json));
}

Status ParseStatus(const std::string& yaml) {
  auto r = SigmaRule::Parse(yaml);
  return r.ok() ? Status::Ok() : r.status();
}

TEST(SigmaParse, Metadata) {
  auto rule = MustParse(R"(title: Trail stopped
id: 1234
status: test
description: a trail was stopped
references: [https://example.com]
author: vigil
date: 2024-01-01
modified: 2024-02-01
tags: [attack.defense-evasion, attack.t1562]
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: StopLogging
    condition: selection
falsepositives: [admins]
fields: [userIdentity.arn]
level: High
rollup_window: 15m
entity: [userIdentity.arn, sourceIPAddress]
covers: [other-rule]
finding_type: Stealth:IAMUser/CloudTrailLoggingDisabled
)");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->id(), "1234");
  EXPECT_EQ(rule->title(), "Trail stopped");
  EXPECT_EQ(rule->status(), "test");
  EXPECT_EQ(rule->level(), "high");
  EXPECT_EQ(rule->date(), "2024-01-01");
  EXPECT_EQ(rule->tags().size(), 2u);
  EXPECT_EQ(rule->references().size(), 1u);
  EXPECT_EQ(rule->falsepositives().front(), "admins");
  EXPECT_EQ(rule->fields().front(), "userIdentity.arn");
  EXPECT_EQ(rule->logsource_service(), "cloudtrail");
  EXPECT_EQ(rule->rollup_window_ns(), int64_t{15} * 60 * 1'000'000'000);
  ASSERT_EQ(rule->entity().size(), 2u);
  EXPECT_EQ(rule->entity()[1].str(), "sourceIPAddress");
  EXPECT_EQ(rule->covers(), std::vector<std::string>{"other-rule"});
  EXPECT_EQ(rule->finding_type(), "Stealth:IAMUser/CloudTrailLoggingDisabled");
}

TEST(SigmaParse, Defaults) {
  auto rule = MustParse(RuleText("    sel:\n        a: b\n    condition: sel\n"));
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->level(), "medium");
  EXPECT_EQ(rule->rollup_window_ns(), SigmaRule::kDefaultRollupWindowNs);
}

TEST(SigmaMatch, MapIsAndListOfMapsIsOr) {
  const std::string and_det = "    sel:\n        a: x\n        b: y\n    condition: sel\n";
  EXPECT_TRUE(Matches(and_det, R"({"a":"x","b":"y"})"));
  EXPECT_FALSE(Matches(and_det, R"({"a":"x","b":"z"})"));
  const std::string or_det = "    sel:\n        - a: x\n        - b: y\n    condition: sel\n";
  EXPECT_TRUE(Matches(or_det, R"({"a":"q","b":"y"})"));
  EXPECT_TRUE(Matches(or_det, R"({"a":"x"})"));
  EXPECT_FALSE(Matches(or_det, R"({"a":"q","b":"q"})"));
}

TEST(SigmaMatch, ValueListsAreOrAllIsAnd) {
  const std::string det = "    sel:\n        a:\n            - x\n            - y\n    condition: sel\n";
  EXPECT_TRUE(Matches(det, R"({"a":"y"})"));
  EXPECT_FALSE(Matches(det, R"({"a":"z"})"));
  const std::string all =
      "    sel:\n        a|contains|all:\n            - foo\n            - bar\n    condition: sel\n";
  EXPECT_TRUE(Matches(all, R"({"a":"xxbarxxfooxx"})"));
  EXPECT_FALSE(Matches(all, R"({"a":"xxfooxx"})"));
}

// A longer list of plain values is looked up by hash (FieldMatcher::
// exact_index) rather than compared value by value: the same answers.
TEST(SigmaMatch, LongValueListsMatchAsShortOnes) {
  const std::string list = "            - StopLogging\n            - DeleteTrail\n            - UpdateTrail\n"
                           "            - PutEventSelectors\n            - DeleteTrail\n";
  const std::string any = "    sel:\n        a:\n" + list + "    condition: sel\n";
  EXPECT_TRUE(MustParse(RuleText(any)));
  EXPECT_TRUE(Matches(any, R"({"a":"deletetrail"})"));
  EXPECT_TRUE(Matches(any, R"({"a":"PUTEVENTSELECTORS"})"));
  EXPECT_TRUE(Matches(any, R"({"a":["x","UpdateTrail"]})"));
  EXPECT_FALSE(Matches(any, R"({"a":"DeleteTrai"})"));
  EXPECT_FALSE(Matches(any, R"({"a":"xStopLogging"})"));
  EXPECT_FALSE(Matches(any, R"({"a":null})"));
  EXPECT_FALSE(Matches(any, R"({"b":"StopLogging"})"));
  const std::string all = "    sel:\n        a|all:\n" + list + "    condition: sel\n";
  EXPECT_TRUE(Matches(all, R"({"a":["stoplogging","DeleteTrail","updatetrail","puteventselectors"]})"));
  EXPECT_FALSE(Matches(all, R"({"a":["stoplogging","DeleteTrail","updatetrail"]})"));
  const std::string neq = "    sel:\n        a|neq:\n" + list + "    condition: sel\n";
  EXPECT_TRUE(Matches(neq, R"({"a":"CreateTrail"})"));
  EXPECT_FALSE(Matches(neq, R"({"a":"updatetrail"})"));
  EXPECT_FALSE(Matches(neq, R"({"b":"CreateTrail"})"));
  // Numbers also equal the same number written otherwise: compared one by one.
  const std::string numbers = "    sel:\n        n:\n            - 1\n            - 2\n            - 3\n"
                              "            - 4738\n    condition: sel\n";
  EXPECT_TRUE(Matches(numbers, R"({"n":4738.0})"));
  EXPECT_TRUE(Matches(numbers, R"({"n":"4738"})"));
}

TEST(SigmaMatch, CaseInsensitiveByDefaultCasedModifier) {
  EXPECT_TRUE(Matches("    sel:\n        a: StopLogging\n    condition: sel\n", R"({"a":"stoplogging"})"));
  EXPECT_FALSE(Matches("    sel:\n        a|cased: StopLogging\n    condition: sel\n", R"({"a":"stoplogging"})"));
  EXPECT_TRUE(Matches("    sel:\n        a|cased: StopLogging\n    condition: sel\n", R"({"a":"StopLogging"})"));
  EXPECT_FALSE(Matches("    sel:\n        a|contains|cased: Stop\n    condition: sel\n", R"({"a":"xstoplogging"})"));
}

TEST(SigmaMatch, StringModifiers) {
  EXPECT_TRUE(Matches("    sel:\n        a|contains: Log\n    condition: sel\n", R"({"a":"StopLogging"})"));
  EXPECT_TRUE(Matches("    sel:\n        a|startswith: stop\n    condition: sel\n", R"({"a":"StopLogging"})"));
  EXPECT_FALSE(Matches("    sel:\n        a|startswith: log\n    condition: sel\n", R"({"a":"StopLogging"})"));
  EXPECT_TRUE(Matches("    sel:\n        a|endswith: ging\n    condition: sel\n", R"({"a":"StopLogging"})"));
  EXPECT_FALSE(Matches("    sel:\n        a|endswith: stop\n    condition: sel\n", R"({"a":"StopLogging"})"));
}

TEST(SigmaMatch, WildcardsAndEscapes) {
  EXPECT_TRUE(Matches("    sel:\n        a: 'Stop*ing'\n    condition: sel\n", R"({"a":"StopLogging"})"));
  EXPECT_TRUE(Matches("    sel:\n        a: 'St?p*'\n    condition: sel\n", R"({"a":"StopLogging"})"));
  EXPECT_FALSE(Matches("    sel:\n        a: 'St?p'\n    condition: sel\n", R"({"a":"Stoop"})"));
  // Escaped wildcard is literal.
  EXPECT_TRUE(Matches("    sel:\n        a: 'a\\*b'\n    condition: sel\n", R"({"a":"a*b"})"));
  EXPECT_FALSE(Matches("    sel:\n        a: 'a\\*b'\n    condition: sel\n", R"({"a":"axxb"})"));
  EXPECT_TRUE(Matches("    sel:\n        a: 'a\\?'\n    condition: sel\n", R"({"a":"a?"})"));
  EXPECT_FALSE(Matches("    sel:\n        a: 'a\\?'\n    condition: sel\n", R"({"a":"ab"})"));
  // A plain backslash stays a backslash; contains around a trailing backslash.
  EXPECT_TRUE(Matches("    sel:\n        a: 'C:\\Windows'\n    condition: sel\n", R"({"a":"c:\\windows"})"));
  EXPECT_TRUE(Matches("    sel:\n        a|endswith: '\\'\n    condition: sel\n", R"({"a":"dir\\"})"));
  EXPECT_TRUE(Matches("    sel:\n        a|contains: 'x\\'\n    condition: sel\n", R"({"a":"ax\\b"})"));
  EXPECT_FALSE(Matches("    sel:\n        a|contains: 'x\\'\n    condition: sel\n", R"({"a":"ax*b"})"));
}

TEST(SigmaMatch, NullMeansMissingOrNull) {
  const std::string det = "    sel:\n        errorCode: null\n    condition: sel\n";
  EXPECT_TRUE(Matches(det, R"({"a":1})"));
  EXPECT_TRUE(Matches(det, R"({"errorCode":null})"));
  EXPECT_FALSE(Matches(det, R"({"errorCode":"AccessDenied"})"));
  EXPECT_FALSE(Matches(det, R"({"errorCode":""})"));
  EXPECT_TRUE(Matches("    sel:\n        errorCode: ''\n    condition: sel\n", R"({"errorCode":""})"));
}

TEST(SigmaMatch, NumbersAndBools) {
  EXPECT_TRUE(Matches("    sel:\n        port: 443\n    condition: sel\n", R"({"port":443})"));
  EXPECT_TRUE(Matches("    sel:\n        port: 443\n    condition: sel\n", R"({"port":"443"})"));
  EXPECT_TRUE(Matches("    sel:\n        port: 443\n    condition: sel\n", R"({"port":443.0})"));
  EXPECT_FALSE(Matches("    sel:\n        port: 443\n    condition: sel\n", R"({"port":4430})"));
  EXPECT_TRUE(Matches("    sel:\n        ro: false\n    condition: sel\n", R"({"ro":false})"));
  EXPECT_TRUE(Matches("    sel:\n        ro: 'false'\n    condition: sel\n", R"({"ro":"false"})"));
  EXPECT_FALSE(Matches("    sel:\n        ro: true\n    condition: sel\n", R"({"ro":false})"));
}

TEST(SigmaMatch, NumericCompare) {
  EXPECT_TRUE(Matches("    sel:\n        n|lt: 10\n    condition: sel\n", R"({"n":9})"));
  EXPECT_FALSE(Matches("    sel:\n        n|lt: 10\n    condition: sel\n", R"({"n":10})"));
  EXPECT_TRUE(Matches("    sel:\n        n|lte: 10\n    condition: sel\n", R"({"n":10})"));
  EXPECT_TRUE(Matches("    sel:\n        n|gt: 10\n    condition: sel\n", R"({"n":"10.5"})"));
  EXPECT_FALSE(Matches("    sel:\n        n|gt: 10\n    condition: sel\n", R"({"n":"abc"})"));
  EXPECT_TRUE(Matches("    sel:\n        n|gte: -1.5\n    condition: sel\n", R"({"n":-1.5})"));
  // Numeric, not textual: 9 < 10 although "9" > "10".
  EXPECT_TRUE(Matches("    sel:\n        n|lt: 10\n    condition: sel\n", R"({"n":"9"})"));
  EXPECT_EQ(ParseStatus(RuleText("    sel:\n        n|lt: ten\n    condition: sel\n")).code(),
            StatusCode::kInvalidArgument);
}

TEST(SigmaMatch, Regex) {
  EXPECT_TRUE(Matches("    sel:\n        a|re: '^arn:aws:iam::\\d+:root$'\n    condition: sel\n",
                      R"({"a":"arn:aws:iam::123456789012:root"})"));
  EXPECT_FALSE(Matches("    sel:\n        a|re: 'Root'\n    condition: sel\n", R"({"a":"root"})"));
  EXPECT_TRUE(Matches("    sel:\n        a|re|i: 'Root'\n    condition: sel\n", R"({"a":"root"})"));
  EXPECT_TRUE(Matches("    sel:\n        a|re|m: '^b$'\n    condition: sel\n", R"({"a":"a\nb\nc"})"));
  EXPECT_FALSE(Matches("    sel:\n        a|re: 'a.b'\n    condition: sel\n", R"({"a":"a\nb"})"));
  EXPECT_TRUE(Matches("    sel:\n        a|re|s: 'a.b'\n    condition: sel\n", R"({"a":"a\nb"})"));
  auto st = ParseStatus(RuleText("    sel:\n        a|re: '(unclosed'\n    condition: sel\n"));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("regular expression"), std::string::npos);
}

TEST(SigmaMatch, CidrV4V6AndBadAddresses) {
  const std::string v4 = "    sel:\n        ip|cidr: 35.0.0.0/8\n    condition: sel\n";
  EXPECT_TRUE(Matches(v4, R"({"ip":"35.249.253.232"})"));
  EXPECT_FALSE(Matches(v4, R"({"ip":"36.249.253.232"})"));
  // Leading zeros are not a valid address: no match, no error.
  EXPECT_FALSE(Matches(v4, R"({"ip":"035.249.253.232"})"));
  EXPECT_FALSE(Matches(v4, R"({"ip":"AWS Internal"})"));
  EXPECT_FALSE(Matches(v4, R"({"ip":"35.1.2"})"));
  EXPECT_FALSE(Matches(v4, R"({"ip":"35.1.2.256"})"));
  const std::string list =
      "    sel:\n        ip|cidr:\n            - 10.0.0.0/8\n            - 192.168.1.7\n"
      "    condition: sel\n";
  EXPECT_TRUE(Matches(list, R"({"ip":"192.168.1.7"})"));
  EXPECT_FALSE(Matches(list, R"({"ip":"192.168.1.8"})"));
  const std::string v6 = "    sel:\n        ip|cidr: '2001:db8::/32'\n    condition: sel\n";
  EXPECT_TRUE(Matches(v6, R"({"ip":"2001:db8:1::5"})"));
  EXPECT_FALSE(Matches(v6, R"({"ip":"2001:db9::5"})"));
  EXPECT_FALSE(Matches(v6, R"({"ip":"10.1.2.3"})"));
  EXPECT_FALSE(Matches(v4, R"({"ip":"::ffff:35.1.2.3"})"));
  const std::string odd = "    sel:\n        ip|cidr: 10.1.0.0/17\n    condition: sel\n";
  EXPECT_TRUE(Matches(odd, R"({"ip":"10.1.127.1"})"));
  EXPECT_FALSE(Matches(odd, R"({"ip":"10.1.128.1"})"));
  EXPECT_EQ(ParseStatus(RuleText("    sel:\n        ip|cidr: 10.0.0.0/33\n    condition: sel\n")).code(),
            StatusCode::kInvalidArgument);
}

TEST(SigmaMatch, Exists) {
  const std::string yes = "    sel:\n        a.b|exists: true\n    condition: sel\n";
  EXPECT_TRUE(Matches(yes, R"({"a":{"b":null}})"));
  EXPECT_FALSE(Matches(yes, R"({"a":{"c":1}})"));
  const std::string no = "    sel:\n        a.b|exists: false\n    condition: sel\n";
  EXPECT_TRUE(Matches(no, R"({"a":{"c":1}})"));
  EXPECT_FALSE(Matches(no, R"({"a":{"b":"x"}})"));
}

TEST(SigmaMatch, FieldRef) {
  const std::string det = "    sel:\n        a|fieldref: b\n    condition: sel\n";
  EXPECT_TRUE(Matches(det, R"({"a":"Alice","b":"alice"})"));
  EXPECT_FALSE(Matches(det, R"({"a":"Alice","b":"bob"})"));
  EXPECT_FALSE(Matches(det, R"({"a":"Alice"})"));
  EXPECT_FALSE(Matches("    sel:\n        a|fieldref|cased: b\n    condition: sel\n", R"({"a":"Alice","b":"alice"})"));
}

TEST(SigmaMatch, Neq) {
  const std::string det = "    sel:\n        a|neq: x\n    condition: sel\n";
  EXPECT_TRUE(Matches(det, R"({"a":"y"})"));
  EXPECT_FALSE(Matches(det, R"({"a":"X"})"));
  EXPECT_FALSE(Matches(det, R"({"b":"y"})"));
}

TEST(SigmaMatch, ArraysFanOut) {
  const std::string det = "    sel:\n        r.arn|endswith: ':secret'\n    condition: sel\n";
  EXPECT_TRUE(Matches(det, R"({"r":[{"arn":"a:public"},{"arn":"b:secret"}]})"));
  EXPECT_FALSE(Matches(det, R"({"r":[{"arn":"a:public"}]})"));
}

TEST(SigmaMatch, Keywords) {
  const std::string det = "    keywords:\n        - 'evil'\n        - 'Mimikatz'\n    condition: keywords\n";
  EXPECT_TRUE(Matches(det, R"({"a":{"b":["x","run mimikatz now"]}})"));
  EXPECT_FALSE(Matches(det, R"({"a":"benign"})"));
  const std::string all =
      "    keywords:\n        '|all':\n            - 'Oab'\n            - ' -ExternalUrl '\n"
      "    condition: keywords\n";
  EXPECT_TRUE(Matches(all, R"({"cmd":"Set-OabVirtualDirectory -ExternalUrl x"})"));
  EXPECT_TRUE(Matches(all, R"({"a":"oab","b":"x -externalurl y"})"));
  EXPECT_FALSE(Matches(all, R"({"cmd":"Set-OabVirtualDirectory"})"));
  EXPECT_TRUE(Matches("    kw: 'needle'\n    condition: kw\n", R"({"n":{"deep":"haystack needle"}})"));
  EXPECT_TRUE(Matches("    kw:\n        - 'a*c'\n    condition: kw\n", R"({"n":"xxabbbcxx"})"));
}

TEST(SigmaCondition, Forms) {
  const std::string sels = "    sel_a:\n        a: 1\n    sel_b:\n        b: 1\n    filter:\n        c: 1\n";
  auto m = [&](const std::string& cond, std::string_view json) {
    return Matches(sels + "    condition: " + cond + "\n", json);
  };
  EXPECT_TRUE(m("sel_a and sel_b", R"({"a":1,"b":1})"));
  EXPECT_FALSE(m("sel_a and sel_b", R"({"a":1})"));
  EXPECT_TRUE(m("sel_a or sel_b", R"({"b":1})"));
  EXPECT_TRUE(m("sel_a and not filter", R"({"a":1})"));
  EXPECT_FALSE(m("sel_a and not filter", R"({"a":1,"c":1})"));
  EXPECT_TRUE(m("1 of sel_*", R"({"b":1})"));
  EXPECT_FALSE(m("all of sel_*", R"({"b":1})"));
  EXPECT_TRUE(m("all of sel_*", R"({"a":1,"b":1})"));
  EXPECT_TRUE(m("1 of them", R"({"c":1})"));
  EXPECT_FALSE(m("all of them", R"({"a":1,"b":1})"));
  EXPECT_TRUE(m("all of them", R"({"a":1,"b":1,"c":1})"));
  EXPECT_TRUE(m("any of sel*", R"({"a":1})"));
  EXPECT_TRUE(m("2 of them", R"({"a":1,"c":1})"));
  EXPECT_FALSE(m("2 of them", R"({"a":1})"));
  EXPECT_TRUE(m("1 of sel_* and not 1 of filter*", R"({"a":1})"));
  EXPECT_FALSE(m("1 of sel_* and not 1 of filter*", R"({"a":1,"c":1})"));
  EXPECT_TRUE(m("not (sel_a or sel_b)", R"({"c":1})"));
  EXPECT_TRUE(m("((sel_a))", R"({"a":1})"));
}

TEST(SigmaCondition, Precedence) {
  const std::string sels = "    a:\n        a: 1\n    b:\n        b: 1\n    c:\n        c: 1\n";
  auto m = [&](const std::string& cond, std::string_view json) {
    return Matches(sels + "    condition: " + cond + "\n", json);
  };
  // and binds tighter than or: a or (b and c).
  EXPECT_TRUE(m("a or b and c", R"({"a":1})"));
  EXPECT_FALSE(m("(a or b) and c", R"({"a":1})"));
  // not binds tighter than and: (not a) and b.
  EXPECT_TRUE(m("not a and b", R"({"b":1})"));
  EXPECT_FALSE(m("not a and b", R"({"a":1,"b":1})"));
  EXPECT_FALSE(m("not (a and b)", R"({"a":1,"b":1})"));
  // not a or b == (not a) or b.
  EXPECT_TRUE(m("not a or b", R"({"a":1,"b":1})"));
  EXPECT_FALSE(m("not a or b", R"({"a":1})"));
  // A list of conditions is OR.
  EXPECT_TRUE(Matches(sels + "    condition:\n        - a\n        - b\n", R"({"b":1})"));
}

TEST(SigmaCondition, Errors) {
  const std::string sels = "    sel:\n        a: 1\n";
  auto st = [&](const std::string& cond) { return ParseStatus(RuleText(sels + "    condition: " + cond + "\n")); };
  EXPECT_EQ(st("nothere").code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st("nothere").message().find("unknown search identifier"), std::string::npos);
  EXPECT_EQ(st("sel and").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st("(sel").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st("sel)").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st("1 of filter*").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st("sel sel").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st("''").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st("sel | foo").code(), StatusCode::kInvalidArgument);
  std::string deep(200, '(');
  EXPECT_EQ(st(deep + "sel" + std::string(200, ')')).code(), StatusCode::kInvalidArgument);
}

TEST(SigmaLint, UnsupportedKinds) {
  auto agg = ParseStatus(RuleText("    sel:\n        a: 1\n    condition: sel | count() by b > 5\n"));
  EXPECT_EQ(agg.code(), StatusCode::kUnsupported);
  EXPECT_NE(agg.message().find("Sigma correlation specification"), std::string::npos);
  EXPECT_EQ(ParseStatus(RuleText("    s1:\n        a: 1\n    s2:\n        b: 1\n    condition: s1 | near s2\n")).code(),
            StatusCode::kUnsupported);
  EXPECT_EQ(ParseStatus(RuleText("    s1:\n        a: 1\n    timeframe: 5m\n    condition: s1\n")).code(),
            StatusCode::kUnsupported);
  auto corr = ParseStatus("title: c\nid: c1\ncorrelation:\n    type: event_count\n    rules: [a]\n");
  EXPECT_EQ(corr.code(), StatusCode::kUnsupported);
  EXPECT_NE(corr.message().find("correlation"), std::string::npos);
  auto filt = ParseStatus(
      "title: f\nid: f1\nlogsource: {product: aws}\nfilter:\n    rules: [a]\n"
      "    selection: {a: 1}\n    condition: not selection\n");
  // A filter is not a rule: SigmaFilter::Parse or a RuleSet reads it.
  EXPECT_EQ(filt.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(filt.message().find("filter"), std::string::npos);
  auto multi = ParseStatus(
      "title: g\naction: global\ndetection:\n    condition: sel\n---\nlogsource: {product: aws}\n"
      "detection:\n    sel: {a: 1}\n");
  EXPECT_EQ(multi.code(), StatusCode::kUnsupported);
  auto placeholder = ParseStatus(RuleText("    sel:\n        a|expand: '%undefined_list%'\n    condition: sel\n"));
  EXPECT_EQ(placeholder.code(), StatusCode::kUnsupported);
  EXPECT_NE(placeholder.message().find("%undefined_list%"), std::string::npos);
  EXPECT_NE(placeholder.message().find("(Sigma modifiers appendix"), std::string::npos);
}

TEST(SigmaLint, Errors) {
  EXPECT_EQ(ParseStatus("{{{ not yaml").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus("just a string").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus("").code(), StatusCode::kInvalidArgument);
  // yaml-cpp's LoadAll loops forever on these; the loader must not.
  EXPECT_FALSE(ParseStatus(",").ok());
  EXPECT_FALSE(ParseStatus("      ,action").ok());
  EXPECT_EQ(ParseStatus("title: x\nid: y\nlogsource: {}\n").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(RuleText("    sel:\n        a: 1\n")).code(), StatusCode::kInvalidArgument);
  auto unknown_mod = ParseStatus(RuleText("    sel:\n        a|bogus: 1\n    condition: sel\n"));
  EXPECT_EQ(unknown_mod.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown_mod.message().find("unknown modifier `bogus`"), std::string::npos);
  EXPECT_EQ(ParseStatus(RuleText("    sel:\n        a|contains|startswith: 1\n    condition: sel\n")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(RuleText("    sel:\n        a|re|cidr: 1\n    condition: sel\n")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(RuleText("    sel:\n        a|exists: maybe\n    condition: sel\n")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(RuleText("    sel:\n        a: {b: c}\n    condition: sel\n")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(RuleText("    sel: []\n    condition: sel\n")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(RuleText("    sel:\n        a: 1\n    condition: sel\n", "level: severe\n")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(RuleText("    sel:\n        a: 1\n    condition: sel\n", "rollup_window: soon\n")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus("title: x\nlogsource: {}\ndetection:\n    sel: {a: 1}\n    condition: sel\n").code(),
            StatusCode::kInvalidArgument);  // no id
}

TEST(SigmaLint, RuleSetReportAndDuplicates) {
  RuleSet set;
  LintReport report;
  const std::string good = RuleText("    sel:\n        a: 1\n    condition: sel\n");
  set.AddRuleText(good, "a.yml", &report);
  set.AddRuleText(good, "b.yml", &report);
  set.AddRuleText(RuleText("    sel:\n        a: 1\n    condition: sel | count() > 3\n"), "c.yml", &report);
  set.AddRuleText("nope", "d.yml", &report);
  EXPECT_EQ(report.loaded, 1u);
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_EQ(report.errors[0].file, "b.yml");
  EXPECT_NE(report.errors[0].reason.find("duplicate rule id test-rule"), std::string::npos);
  ASSERT_EQ(report.unsupported.size(), 1u);
  EXPECT_EQ(report.unsupported[0].file, "c.yml");
  const std::string json = report.ToJson();
  EXPECT_EQ(json.rfind("{\"loaded\":1,\"filters\":0,\"correlations\":0,\"unsupported\":[{\"file\":\"c.yml\",\"reason\":\"aggregation", 0),
            0u)
      << json;
  EXPECT_NE(json.find(",\"warnings\":[],\"behaviours\":0}"), std::string::npos) << json;
  EXPECT_EQ(set.rules().size(), 1u);
}

TEST(SigmaLint, TestsFileNames) {
  EXPECT_TRUE(IsRuleTestsFile("x/foo.tests.yml"));
  EXPECT_TRUE(IsRuleTestsFile("foo.tests.yaml"));
  EXPECT_FALSE(IsRuleTestsFile("foo.yml"));
  EXPECT_EQ(TestsFileFor("dir/foo.yml"), "dir/foo.tests.yml");
  EXPECT_EQ(TestsFileFor("dir.d/foo.yaml"), "dir.d/foo.tests.yaml");
}

TEST(SigmaDetector, MatchFieldsEntityAndPrefilter) {
  auto indexed = MustParse(R"(title: Trail stopped
id: r1
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventSource: cloudtrail.amazonaws.com
        eventName: [StopLogging, DeleteTrail]
    filter:
        userIdentity.type: AWSService
    condition: selection and not filter
level: high
tags: [attack.t1562]
entity: [userIdentity.arn]
rollup_window: 10m
finding_type: Stealth:IAMUser/CloudTrailLoggingDisabled
)");
  auto unindexed = MustParse(R"(title: Root
id: r2
logsource: {product: aws}
detection:
    selection:
        userIdentity.type|contains: root
    condition: selection
)");
  auto by_source = MustParse(R"(title: Any IAM
id: r3
logsource: {product: aws}
detection:
    a:
        - eventSource: iam.amazonaws.com
        - eventSource: sts.amazonaws.com
          eventName|startswith: Assume
    condition: a
)");
  ASSERT_TRUE(indexed && unindexed && by_source);
  SigmaDetector det({indexed, unindexed, by_source});
  EXPECT_EQ(det.rule_count(), 3u);
  EXPECT_EQ(det.unindexed_rule_count(), 1u);
  EXPECT_EQ(det.IndexFieldOf(0), "eventName");
  EXPECT_EQ(det.IndexFieldOf(1), "");
  EXPECT_EQ(det.IndexFieldOf(2), "eventSource");

  std::vector<Match> got;
  MatchSink sink = [&](const Event&, const Match& m) { got.push_back(m); };
  Event e = MakeEvent(R"({"eventSource":"cloudtrail.amazonaws.com","eventName":"stoplogging",
      "userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"}})");
  e.principal = "fallback";
  det.Process(e, sink);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].rule_id, "r1");
  EXPECT_EQ(got[0].severity, "high");
  EXPECT_EQ(got[0].entity, "arn:aws:iam::1:root");
  EXPECT_EQ(got[0].rollup_window_ns, int64_t{600} * 1'000'000'000);
  EXPECT_EQ(got[0].finding_type, "Stealth:IAMUser/CloudTrailLoggingDisabled");
  EXPECT_EQ(*got[0].tags, std::vector<std::string>{"attack.t1562"});
  EXPECT_EQ(got[1].rule_id, "r2");
  EXPECT_EQ(got[1].severity, "medium");
  EXPECT_EQ(got[1].entity, "fallback");

  got.clear();
  det.Process(MakeEvent(R"({"eventSource":"STS.amazonaws.com","eventName":"AssumeRole"})"), sink);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].rule_id, "r3");
  got.clear();
  det.Process(MakeEvent(R"({"eventSource":"ec2.amazonaws.com","eventName":"StopLogging"})"), sink);
  EXPECT_TRUE(got.empty());
  Event no_fields;
  det.Process(no_fields, sink);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(det.stats().events, 4u);
}

// A rule that pins both eventName and eventSource is indexed by the pair:
// another service's call of the same name does not select it, and every
// combination of a multi-valued field's values is looked up.
TEST(SigmaDetector, PairIndexSelectsByNameAndSource) {
  auto rule = MustParse(R"(title: Pair
id: p1
logsource: {product: aws}
detection:
    selection:
        eventSource: [ec2.amazonaws.com, iam.amazonaws.com]
        eventName: [RunInstances, CreateUser]
    condition: selection
)");
  ASSERT_TRUE(rule);
  SigmaDetector det({rule});
  EXPECT_EQ(det.IndexFieldOf(0), "eventName");
  int n = 0;
  MatchSink sink = [&](const Event&, const Match&) { ++n; };
  det.Process(MakeEvent(R"({"eventSource":"sts.amazonaws.com","eventName":"RunInstances"})"), sink);
  det.Process(MakeEvent(R"({"eventSource":"ec2.amazonaws.com","eventName":"StopInstances"})"), sink);
  EXPECT_EQ(det.stats().rules_evaluated, 0u);
  det.Process(MakeEvent(R"({"eventSource":"IAM.amazonaws.com","eventName":"createuser"})"), sink);
  det.Process(MakeEvent(R"({"eventSource":["x","ec2.amazonaws.com"],"eventName":["y","RunInstances"]})"), sink);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(det.stats().rules_evaluated, 2u);
}

// The pipeline attaches an event's OCSF form only for detectors that may read
// it: any `ocsf.` path a rule matches on, refers to or takes its entity from.
TEST(SigmaDetector, ReadsOcsfOnlyWhenARuleNamesAnOcsfPath) {
  auto raw = MustParse(RuleText("    sel:\n        eventName: ConsoleLogin\n    condition: sel\n"));
  auto on_ocsf = MustParse(RuleText("    sel:\n        ocsf.class_uid: 3002\n    condition: sel\n"));
  auto ref = MustParse(RuleText("    sel:\n        userName|fieldref: ocsf.actor.user.name\n    condition: sel\n"));
  auto entity = MustParse(RuleText("    sel:\n        eventName: ConsoleLogin\n    condition: sel\n",
                                   "entity: [ocsf.actor.user.uid]\n"));
  ASSERT_TRUE(raw && on_ocsf && ref && entity);
  EXPECT_FALSE(SigmaDetector({raw}).ReadsOcsf());
  EXPECT_TRUE(SigmaDetector({raw, on_ocsf}).ReadsOcsf());
  EXPECT_TRUE(SigmaDetector({ref}).ReadsOcsf());
  EXPECT_TRUE(SigmaDetector({entity}).ReadsOcsf());
}

TEST(SigmaDetector, NotFilterDoesNotBecomeIndexConstraint) {
  auto rule = MustParse(R"(title: Not filter
id: n1
logsource: {product: aws}
detection:
    sel:
        a|contains: x
    filter:
        eventName: Boring
    condition: sel and not filter
)");
  ASSERT_TRUE(rule);
  SigmaDetector det({rule});
  EXPECT_EQ(det.unindexed_rule_count(), 1u);
  int n = 0;
  det.Process(MakeEvent(R"({"a":"xx","eventName":"Other"})"), [&](const Event&, const Match&) { ++n; });
  EXPECT_EQ(n, 1);
}

// A rule whose logsource names a log type runs only on events of that type
// (and on events without one); indexes serving only other types are skipped.
TEST(SigmaDetector, LogsourceSelectsTheLogType) {
  auto finding = MustParse(R"(title: GuardDuty high
id: gd
logsource: {product: aws, service: guardduty}
detection:
    sel:
        eventName: X
    condition: sel
)");
  auto trail = MustParse(R"(title: CloudTrail
id: ct
logsource: {product: aws, service: cloudtrail}
detection:
    sel:
        eventName: X
    condition: sel
)");
  auto any = MustParse(R"(title: Any
id: any
logsource: {product: aws}
detection:
    sel:
        userAgent|contains: boto
    condition: sel
)");
  ASSERT_TRUE(finding && trail && any);
  EXPECT_EQ(SigmaDetector::LogTypeOfLogsource(*finding), "guardduty");
  EXPECT_EQ(SigmaDetector::LogTypeOfLogsource(*trail), "cloudtrail");
  EXPECT_EQ(SigmaDetector::LogTypeOfLogsource(*any), "");
  SigmaDetector det({finding, trail, any});
  auto fired = [&](const std::string& type) {
    Event e = MakeEvent(R"({"eventName":"X","userAgent":"Boto3/1.0"})");
    e.source_type = type;
    std::vector<std::string> got;
    det.Process(e, [&](const Event&, const Match& m) { got.emplace_back(m.rule_id); });
    return got;
  };
  EXPECT_EQ(fired("cloudtrail"), (std::vector<std::string>{"ct", "any"}));
  EXPECT_EQ(fired("guardduty"), (std::vector<std::string>{"gd", "any"}));
  EXPECT_EQ(fired("vpcflow"), (std::vector<std::string>{"any"}));
  EXPECT_EQ(fired(""), (std::vector<std::string>{"gd", "ct", "any"}));
}

TEST(SigmaIp, ParseStrict) {
  bool v6 = false;
  std::array<uint8_t, 16> a;
  EXPECT_TRUE(sigma_internal::ParseIp("0.0.0.0", &v6, &a));
  EXPECT_TRUE(sigma_internal::ParseIp("255.255.255.255", &v6, &a));
  EXPECT_FALSE(sigma_internal::ParseIp("01.2.3.4", &v6, &a));
  EXPECT_FALSE(sigma_internal::ParseIp("1.2.3.4.5", &v6, &a));
  EXPECT_FALSE(sigma_internal::ParseIp("1.2.3.", &v6, &a));
  EXPECT_FALSE(sigma_internal::ParseIp("", &v6, &a));
  EXPECT_TRUE(sigma_internal::ParseIp("::1", &v6, &a));
  EXPECT_TRUE(v6);
  EXPECT_FALSE(sigma_internal::ParseIp("::g", &v6, &a));
}

// Rules without an exact-value pin are selected by a literal scan of one
// field; the scan may only skip rules that cannot match.
TEST(SigmaDetector, ScannedRulesMatchAsIfEveryRuleWereEvaluated) {
  const std::vector<std::string> detections = {
      "    sel:\n        userAgent|contains: Boto3\n    condition: sel\n",
      "    sel:\n        sourceIPAddress|startswith: '10.1.'\n    condition: sel\n",
      "    sel:\n        errorMessage|endswith: 'not authorized'\n    condition: sel\n",
      "    sel:\n        userAgent|contains|cased: boto3\n    condition: sel\n",
      "    sel:\n        userAgent|re: 'aws-cli/[0-9]+\\.'\n    condition: sel\n",
      "    sel:\n        userAgent|contains|all:\n            - aws-cli\n            - Python\n    condition: sel\n",
      "    a:\n        userAgent|startswith: Terraform\n    b:\n        userAgent|endswith: '(x)'\n"
      "    condition: a or b\n",
      "    sel:\n        userAgent|contains: console\n    filter:\n        errorCode|exists: true\n"
      "    condition: sel and not filter\n",
      "    sel:\n        userAgent: 'a*b?c'\n    condition: sel\n",
      "    sel:\n        userAgent|contains: '.+^$|([{'\n    condition: sel\n",
      "    sel:\n        tags|contains: prod\n    condition: sel\n",
  };
  std::vector<std::shared_ptr<const SigmaRule>> rules;
  for (size_t i = 0; i < detections.size(); ++i) {
    auto rule = MustParse("title: Scan " + std::to_string(i) + "\nid: s" + std::to_string(i) +
                          "\nlogsource: {product: aws}\ndetection:\n" + detections[i]);
    ASSERT_TRUE(rule) << detections[i];
    rules.push_back(rule);
  }
  SigmaDetector det(rules);
  EXPECT_EQ(det.scanned_rule_count(), 10u);  // all but the general wildcard
  EXPECT_EQ(det.unindexed_rule_count(), rules.size());
  const std::vector<std::string> events = {
      R"j({"userAgent":"Boto3/1.26 Python/3.11","sourceIPAddress":"10.1.2.3"})j",
      R"j({"userAgent":"BOTO3/1.26","errorMessage":"User is NOT AUTHORIZED"})j",
      R"j({"userAgent":"aws-cli/2.13 Python/3.11 (x)","errorCode":"AccessDenied"})j",
      R"j({"userAgent":"terraform/1.5 console","sourceIPAddress":"110.1.2.3"})j",
      R"j({"userAgent":"console.amazonaws.com"})j",
      R"j({"userAgent":"aXbYc .+^$|([{"})j",
      R"j({"userAgent":17,"tags":["dev","prod-1"]})j",
      R"j({"other":"Boto3"})j",
  };
  size_t total = 0;
  for (const std::string& json : events) {
    Event e = MakeEvent(json);
    std::vector<std::string> brute;
    for (const auto& r : rules)
      if (r->Matches(e)) brute.push_back(r->id());
    std::vector<std::string> got;
    det.Process(e, [&](const Event&, const Match& m) { got.emplace_back(m.rule_id); });
    EXPECT_EQ(got, brute) << json;
    total += got.size();
  }
  EXPECT_GE(total, 12u);
  // The general wildcard rule runs on every event; scanned ones only when a
  // literal of theirs is in the event.
  EXPECT_LT(det.stats().rules_evaluated, events.size() * rules.size() / 2);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// A match's explanation reuses what evaluating the rule decided; it names
// the same selections and values as deciding every selection again does.
TEST(SigmaDetector, MatchExplanationEqualsTheRulesOwn) {
  auto rule = MustParse(RuleText(
      "    selection:\n        userIdentity.type: AssumedRole\n        userIdentity.arn|re: ':assumed-role/'\n"
      "    either:\n        - eventName: GetObject\n        - eventSource: s3.amazonaws.com\n"
      "    filter_ssm:\n        eventSource: ssm.amazonaws.com\n"
      "    filter_err:\n        errorCode|exists: true\n"
      "    condition: selection and either and not 1 of filter_*\n"));
  ASSERT_TRUE(rule);
  SigmaDetector det({rule});
  Event e = MakeEvent(R"({"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s"},)"
                      R"("eventName":"GetObject","eventSource":"s3.amazonaws.com"})");
  std::vector<std::string> explained;
  det.Process(e, [&](const Event&, const Match& m) { explained.push_back(m.explain()); });
  ASSERT_EQ(explained.size(), 1u);
  EXPECT_EQ(explained[0], rule->Explain(*e.fields));
  EXPECT_EQ(explained[0],
            R"({"selections":["selection","either"],"fields":{"eventName":"GetObject",)"
            R"("userIdentity.arn|re":"arn:aws:sts::1:assumed-role/r/s","userIdentity.type":"AssumedRole"}})");
}

}  // namespace
}  // namespace vigil
