// Unit tests for the Sigma value modifiers added for Sigma v2: windash, the
// encodings, expand with placeholders, fieldref with positions and neq, and
// the time modifiers.
#include <gtest/gtest.h>

#include <string>

#include "detect/sigma/internal/detection.h"
#include "detect/sigma/internal/value_transforms.h"
#include "detect/sigma/rule.h"
#include "detect/sigma/rule_set.h"
#include "detect/sigma/sigma_detector.h"
#include "event/json_fields.h"

namespace vigil {
namespace {

using sigma_internal::Base64Encode;
using sigma_internal::Base64OffsetVariants;
using sigma_internal::SigmaString;
using sigma_internal::TimeComponent;
using sigma_internal::TimePart;

std::string RuleText(const std::string& detection) {
  return "title: test rule\nid: test-rule\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n" +
         detection;
}

// `field|mods: value` as the only selection.
std::string One(const std::string& key, const std::string& value) {
  return RuleText("    sel:\n        '" + key + "': " + value + "\n    condition: sel\n");
}

Event MakeEvent(std::string_view json) {
  Event e;
  auto f = ParseJsonFields(json);
  EXPECT_TRUE(f.ok()) << f.status().ToString() << ": " << json;
  if (f.ok()) e.fields = *f;
  e.raw = std::string(json);
  return e;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

bool MatchesValue(const std::string& rule_yaml, std::string_view field_value, const SigmaParseOptions& opts = {}) {
  auto rule = SigmaRule::Parse(rule_yaml, opts);
  EXPECT_TRUE(rule.ok()) << rule.status().ToString() << "\n" << rule_yaml;
  if (!rule.ok()) return false;
  return (*rule)->Matches(MakeEvent("{\"a\":" + JsonString(field_value) + "}"));
}

Status ParseStatus(const std::string& yaml, const SigmaParseOptions& opts = {}) {
  auto r = SigmaRule::Parse(yaml, opts);
  return r.ok() ? Status::Ok() : r.status();
}

const char kEnDash[] = "\xE2\x80\x93";
const char kEmDash[] = "\xE2\x80\x94";
const char kBar[] = "\xE2\x80\x95";

TEST(SigmaWindash, EveryDashMatchesEveryOther) {
  const std::string rule = One("a|windash|contains", "' -enc '");
  for (std::string dash : {"-", "/", kEnDash, kEmDash, kBar}) {
    EXPECT_TRUE(MatchesValue(rule, "powershell " + dash + "enc AAAA")) << dash;
  }
  EXPECT_FALSE(MatchesValue(rule, "powershell +enc AAAA"));
  EXPECT_FALSE(MatchesValue(rule, "powershell enc AAAA"));
  // The rule may be written with any of them too.
  EXPECT_TRUE(MatchesValue(One("a|contains|windash", std::string("'") + kEmDash + "enc'"), "x /enc"));
  // Still case-insensitive, wildcards still apply.
  EXPECT_TRUE(MatchesValue(One("a|windash", "'*/Decode*'"), "certutil -decode x"));
  EXPECT_FALSE(MatchesValue(One("a|windash|cased", "'*/Decode*'"), "certutil -decode x"));
}

TEST(SigmaWindash, ExpansionWhenAnEncodingFollows) {
  // windash then base64: each permutation is encoded.
  const std::string rule = One("a|windash|base64", "'-x'");
  EXPECT_TRUE(MatchesValue(rule, Base64Encode("/x")));
  EXPECT_TRUE(MatchesValue(rule, Base64Encode("-x")));
  EXPECT_TRUE(MatchesValue(rule, Base64Encode(std::string(kEnDash) + "x")));
  EXPECT_FALSE(MatchesValue(rule, Base64Encode("+x")));

  auto v = sigma_internal::WindashExpand(SigmaString::Parse("a-b/c*"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->size(), 25u);
  for (const SigmaString& s : *v) EXPECT_EQ(s.ToPattern().back(), '*');
  std::string many;
  for (int i = 0; i < 8; ++i) many += "-a";
  EXPECT_EQ(sigma_internal::WindashExpand(SigmaString::Parse(many)).status().code(), StatusCode::kInvalidArgument);
}

TEST(SigmaEncoding, Base64) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_TRUE(MatchesValue(One("a|base64", "'http://'"), "aHR0cDovLw=="));
  EXPECT_FALSE(MatchesValue(One("a|base64", "'http://'"), "aHR0cDovLw"));
  EXPECT_TRUE(MatchesValue(One("a|base64|contains", "'http://'"), "xx aHR0cDovLw== yy"));
  // Wildcards cannot be encoded.
  EXPECT_EQ(ParseStatus(One("a|base64", "'http*'")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(One("a|base64offset|contains", "'ht?p'")).code(), StatusCode::kInvalidArgument);
}

TEST(SigmaEncoding, Base64OffsetFindsTheValueAtEveryPosition) {
  auto variants = Base64OffsetVariants("/bin/bash");
  ASSERT_TRUE(variants.ok());
  ASSERT_EQ(variants->size(), 3u);
  // Whatever surrounds the value, one variant is inside the encoding.
  for (int before = 0; before < 6; ++before) {
    for (int after = 0; after < 4; ++after) {
      const std::string enc = Base64Encode(std::string(before, 'x') + "/bin/bash" + std::string(after, 'y'));
      bool found = false;
      for (const std::string& v : *variants) found |= enc.find(v) != std::string::npos;
      EXPECT_TRUE(found) << before << "/" << after << " " << enc;
    }
  }
  const std::string rule = One("a|base64offset|contains", "'/bin/bash'");
  EXPECT_TRUE(MatchesValue(rule, Base64Encode("echo 1; /bin/bash -i")));
  EXPECT_TRUE(MatchesValue(rule, Base64Encode("x/bin/bash")));
  EXPECT_FALSE(MatchesValue(rule, Base64Encode("/bin/sh -i")));
  // One byte is too short: a variant would be empty and match everything.
  EXPECT_EQ(Base64OffsetVariants("a").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Base64OffsetVariants("ab").ok());
}

TEST(SigmaEncoding, Utf16) {
  using sigma_internal::ToUtf16;
  using sigma_internal::Utf16Form;
  auto le = ToUtf16(SigmaString::Parse("cmd"), Utf16Form::kLe);
  ASSERT_TRUE(le.ok());
  EXPECT_EQ(le->Literal(), std::string("c\0m\0d\0", 6));
  EXPECT_EQ(ToUtf16(SigmaString::Parse("cmd"), Utf16Form::kBe)->Literal(), std::string("\0c\0m\0d", 6));
  EXPECT_EQ(ToUtf16(SigmaString::Parse("cmd"), Utf16Form::kLeWithBom)->Literal(), std::string("\xFF\xFE"
                                                                                              "c\0m\0d\0",
                                                                                              8));
  // Non-ASCII and a surrogate pair (U+1F600).
  EXPECT_EQ(ToUtf16(SigmaString::Parse("\xC3\xA9"), Utf16Form::kLe)->Literal(), std::string("\xE9\0", 2));
  EXPECT_EQ(ToUtf16(SigmaString::Parse("\xF0\x9F\x98\x80"), Utf16Form::kBe)->Literal(),
            std::string("\xD8\x3D\xDE\x00", 4));
  EXPECT_FALSE(ToUtf16(SigmaString::Parse("\xC3"), Utf16Form::kLe).ok());
  // Wildcards stay wildcards.
  EXPECT_EQ(ToUtf16(SigmaString::Parse("a*"), Utf16Form::kLe)->ToPattern(), std::string("a\0*", 3));

  // The usual combination: UTF-16LE text (PowerShell -enc), base64 encoded.
  const std::string ps = Base64Encode(std::string("I\0E\0X\0 \0c\0m\0d\0", 14));
  for (const char* mod : {"a|wide|base64offset|contains", "a|utf16le|base64offset|contains"})
    EXPECT_TRUE(MatchesValue(One(mod, "'cmd'"), ps)) << mod;
  EXPECT_FALSE(MatchesValue(One("a|wide|base64offset|contains", "'cmd'"), Base64Encode("IEX cmd")));
  EXPECT_TRUE(MatchesValue(One("a|utf16le|base64", "'cmd'"), "YwBtAGQA"));
  EXPECT_TRUE(MatchesValue(One("a|utf16be|base64", "'cmd'"), Base64Encode(std::string("\0c\0m\0d", 6))));
  EXPECT_TRUE(MatchesValue(One("a|utf16|base64", "'cmd'"), Base64Encode(std::string("\xFF\xFE"
                                                                                    "c\0m\0d\0",
                                                                                    8))));
  // Encodings apply to strings only.
  EXPECT_EQ(ParseStatus(One("a|base64|re", "'x'")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(One("a|wide|cidr", "'10.0.0.0/8'")).code(), StatusCode::kInvalidArgument);
}

TEST(SigmaRegex, SubModifiersCombine) {
  EXPECT_TRUE(MatchesValue(One("a|re|i|m", "'^ROOT$'"), "user\nroot\nx"));
  EXPECT_FALSE(MatchesValue(One("a|re|m", "'^ROOT$'"), "user\nroot\nx"));
  EXPECT_TRUE(MatchesValue(One("a|re|s|i", "'A.B'"), "a\nb"));
  // Sub-modifiers only mean something after `re`.
  EXPECT_EQ(ParseStatus(One("a|i", "x")).code(), StatusCode::kInvalidArgument);
}

// The literal prefilter in front of the regex engine skips values that lack
// a literal every match holds, and only those: each case is decided as the
// regex alone decides it.
TEST(SigmaRegex, LiteralPrefilterKeepsRegexResults) {
  // Both literals are required (an AND prefilter).
  const std::string both = One("a|re", "':assumed-role/[^/]+/i-[0-9a-f]{8,17}$'");
  EXPECT_TRUE(MatchesValue(both, "arn:aws:sts::1:assumed-role/web/i-0123456789abcdef0"));
  EXPECT_FALSE(MatchesValue(both, "arn:aws:sts::1:ASSUMED-ROLE/web/i-0123456789abcdef0"));  // case-sensitive
  EXPECT_TRUE(MatchesValue(One("a|re|i", "':assumed-role/[^/]+/i-[0-9a-f]{8,17}$'"),
                           "arn:aws:sts::1:ASSUMED-ROLE/web/I-0123456789ABCDEF0"));  // literals are case-folded
  EXPECT_FALSE(MatchesValue(both, "arn:aws:sts::1:assumed-role/web/alice"));               // one literal only
  EXPECT_FALSE(MatchesValue(both, "arn:aws:iam::1:user/i-0123456789abcdef0"));             // the other only
  EXPECT_FALSE(MatchesValue(both, "arn:aws:sts::1:assumed-role/web/i-0123"));              // both, regex says no
  auto rule = SigmaRule::Parse(both);
  ASSERT_TRUE(rule.ok());
  const sigma_internal::ValueMatcher& vm = (*rule)->detection().selections[0].alternatives[0][0].values[0];
  EXPECT_EQ(vm.regex_required, 2u);  // ":assumed-role/" and "/i-"
  // Alternatives: either literal may be the one present.
  const std::string either = One("a|re", "'(mimikatz|procdump)\\.exe'");
  EXPECT_TRUE(MatchesValue(either, "C:\\tools\\mimikatz.exe"));
  EXPECT_FALSE(MatchesValue(either, "C:\\tools\\ProcDump.exe"));  // the regex is case-sensitive
  EXPECT_TRUE(MatchesValue(either, "C:\\tools\\procdump.exe"));
  EXPECT_FALSE(MatchesValue(either, "C:\\tools\\mimikatz.dll"));
  // A required literal and alternatives together.
  const std::string mixed = One("a|re|i", "'^(get|list)secret[a-z]*value$'");
  EXPECT_TRUE(MatchesValue(mixed, "GetSecretValue"));
  EXPECT_TRUE(MatchesValue(mixed, "listsecretversionvalue"));
  EXPECT_FALSE(MatchesValue(mixed, "PutSecretValue"));
}

TEST(SigmaCidr, Ipv6Lists) {
  const std::string rule = RuleText(
      "    sel:\n        a|cidr:\n            - '::1/128'\n            - 'fd00::/8'\n            - 10.0.0.0/8\n"
      "    condition: sel\n");
  EXPECT_TRUE(MatchesValue(rule, "::1"));
  EXPECT_TRUE(MatchesValue(rule, "fd12:3456::1"));
  EXPECT_TRUE(MatchesValue(rule, "10.9.8.7"));
  EXPECT_FALSE(MatchesValue(rule, "::2"));
  EXPECT_FALSE(MatchesValue(rule, "fe80::1"));
}

TEST(SigmaExpand, PlaceholdersFromOptions) {
  SigmaParseOptions opts;
  opts.placeholders["Legitimate_Countries"] = {"DE", "FR"};
  opts.placeholders["admins"] = {"adm_*", "root"};
  const std::string rule = One("a|expand", "'%Legitimate_Countries%'");
  EXPECT_TRUE(MatchesValue(rule, "de", opts));
  EXPECT_TRUE(MatchesValue(rule, "FR", opts));
  EXPECT_FALSE(MatchesValue(rule, "US", opts));
  // Placeholder values are Sigma strings: wildcards apply; text around stays.
  EXPECT_TRUE(MatchesValue(One("a|expand", "'user/%admins%'"), "user/adm_jo", opts));
  EXPECT_TRUE(MatchesValue(One("a|expand|endswith", "'/%admins%'"), "x/root", opts));
  EXPECT_FALSE(MatchesValue(One("a|expand", "'user/%admins%'"), "user/bob", opts));
  // With other types: cidr and neq.
  opts.placeholders["nets"] = {"10.0.0.0/8", "192.168.0.0/16"};
  EXPECT_TRUE(MatchesValue(One("a|expand|cidr", "'%nets%'"), "192.168.4.4", opts));
  EXPECT_FALSE(MatchesValue(One("a|expand|cidr", "'%nets%'"), "172.16.0.1", opts));
  EXPECT_TRUE(MatchesValue(One("a|expand|neq", "'%Legitimate_Countries%'"), "US", opts));
  EXPECT_FALSE(MatchesValue(One("a|expand|neq", "'%Legitimate_Countries%'"), "FR", opts));
  // `all` over expanded values: each original value must match one expansion.
  EXPECT_TRUE(MatchesValue(RuleText("    sel:\n        a|expand|all|contains: ['%Legitimate_Countries%', 'x']\n"
                                    "    condition: sel\n"),
                           "fr-x", opts));
  EXPECT_FALSE(MatchesValue(RuleText("    sel:\n        a|expand|all|contains: ['%Legitimate_Countries%', 'x']\n"
                                     "    condition: sel\n"),
                            "fr-y", opts));
  // Undefined placeholder: unsupported, naming it.
  auto st = ParseStatus(One("a|expand", "'%nope%'"), opts);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_NE(st.message().find("`%nope%`"), std::string::npos) << st.message();
  // Percent signs that are not a placeholder stay literal.
  EXPECT_TRUE(MatchesValue(One("a|expand", "'100% sure'"), "100% sure", opts));
  EXPECT_EQ(ParseStatus(One("a|expand|exists", "'true'"), opts).code(), StatusCode::kInvalidArgument);
}

TEST(SigmaExpand, RuleSetSuppliesPlaceholdersAndPrefilterIndexesThem) {
  SigmaParseOptions opts;
  opts.placeholders["noisy_calls"] = {"ListBuckets", "GetCallerIdentity"};
  RuleSet set(opts);
  LintReport report;
  set.AddRuleText(RuleText("    sel:\n        eventName|expand: '%noisy_calls%'\n    condition: sel\n"), "x.yml",
                  &report);
  ASSERT_EQ(report.loaded, 1u) << report.ToJson();
  SigmaDetector det(set.SharedRules());
  EXPECT_EQ(det.IndexFieldOf(0), "eventName");
  int n = 0;
  MatchSink sink = [&](const Event&, const Match&) { ++n; };
  det.Process(MakeEvent(R"({"eventName":"GetCallerIdentity"})"), sink);
  det.Process(MakeEvent(R"({"eventName":"ListUsers"})"), sink);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(det.stats().rules_evaluated, 1u);

  RuleSet bare;
  LintReport bare_report;
  bare.AddRuleText(RuleText("    sel:\n        eventName|expand: '%noisy_calls%'\n    condition: sel\n"), "x.yml",
                   &bare_report);
  EXPECT_EQ(bare_report.loaded, 0u);
  ASSERT_EQ(bare_report.unsupported.size(), 1u);
  EXPECT_NE(bare_report.unsupported[0].reason.find("%noisy_calls%"), std::string::npos);
}

TEST(SigmaFieldRef, PositionsAndNeq) {
  auto m = [](const std::string& mods, std::string_view json) {
    auto rule = SigmaRule::Parse(One("a|fieldref" + mods, "b"));
    EXPECT_TRUE(rule.ok()) << rule.status().ToString();
    return rule.ok() && (*rule)->Matches(MakeEvent(json));
  };
  EXPECT_TRUE(m("|startswith", R"({"a":"Alice-admin","b":"alice"})"));
  EXPECT_FALSE(m("|startswith", R"({"a":"x-alice","b":"alice"})"));
  EXPECT_TRUE(m("|endswith", R"({"a":"x-alice","b":"ALICE"})"));
  EXPECT_FALSE(m("|endswith|cased", R"({"a":"x-alice","b":"ALICE"})"));
  EXPECT_TRUE(m("|contains", R"({"a":"x-alice-y","b":"alice"})"));
  EXPECT_FALSE(m("|contains", R"({"a":"x-bob-y","b":"alice"})"));
  // neq: present, and differs from the other field.
  EXPECT_TRUE(m("|neq", R"({"a":"alice","b":"bob"})"));
  EXPECT_FALSE(m("|neq", R"({"a":"alice","b":"Alice"})"));
  EXPECT_FALSE(m("|neq", R"({"b":"bob"})"));
  EXPECT_FALSE(m("|neq", R"({"a":"alice"})"));
}

TEST(SigmaTime, Components) {
  auto at = [](std::string_view text, TimePart p) {
    FieldValue v;
    v.kind = ValueKind::kString;
    v.text = text;
    return TimeComponent(v, p);
  };
  EXPECT_EQ(at("2024-07-31T13:06:24Z", TimePart::kMinute), 6);
  EXPECT_EQ(at("2024-07-31T13:06:24Z", TimePart::kHour), 13);
  EXPECT_EQ(at("2024-07-31T13:06:24Z", TimePart::kDay), 31);
  EXPECT_EQ(at("2024-07-31T13:06:24Z", TimePart::kMonth), 7);
  EXPECT_EQ(at("2024-07-31T13:06:24Z", TimePart::kYear), 2024);
  EXPECT_EQ(at("2024-07-31T13:06:24Z", TimePart::kWeek), 31);
  // No time zone conversion: the hour as written.
  EXPECT_EQ(at("2024-07-31T23:59:00+05:00", TimePart::kHour), 23);
  EXPECT_EQ(at("2024-07-31 01:02:03.5", TimePart::kMinute), 2);
  // ISO weeks at year ends.
  EXPECT_EQ(at("2024-12-30", TimePart::kWeek), 1);
  EXPECT_EQ(at("2021-01-03", TimePart::kWeek), 53);
  EXPECT_EQ(at("2021-01-04", TimePart::kWeek), 1);
  // Date only: no hour or minute.
  EXPECT_EQ(at("2024-07-31", TimePart::kHour), std::nullopt);
  EXPECT_EQ(at("2024-07-31", TimePart::kDay), 31);
  EXPECT_EQ(at("yesterday", TimePart::kDay), std::nullopt);
  EXPECT_EQ(at("2024-13-01", TimePart::kMonth), std::nullopt);
  // Numbers: Unix seconds, or milliseconds.
  FieldValue n;
  n.kind = ValueKind::kNumber;
  n.number = 1722431184;  // 2024-07-31T13:06:24Z
  EXPECT_EQ(TimeComponent(n, TimePart::kHour), 13);
  n.number = 1722431184000.0;
  EXPECT_EQ(TimeComponent(n, TimePart::kMinute), 6);
}

TEST(SigmaTime, Modifiers) {
  auto m = [](const std::string& key, const std::string& value, std::string_view json) {
    auto rule = SigmaRule::Parse(One(key, value));
    EXPECT_TRUE(rule.ok()) << rule.status().ToString();
    return rule.ok() && (*rule)->Matches(MakeEvent(json));
  };
  const std::string_view night = R"({"t":"2024-07-31T23:10:00Z"})";
  const std::string_view day = R"({"t":"2024-07-31T13:10:00Z"})";
  EXPECT_TRUE(m("t|hour", "23", night));
  EXPECT_FALSE(m("t|hour", "23", day));
  EXPECT_TRUE(m("t|hour|gte", "22", night));
  EXPECT_FALSE(m("t|hour|gte", "22", day));
  EXPECT_TRUE(m("t|lt|hour", "14", day));
  EXPECT_TRUE(m("t|month", "7", day));
  EXPECT_TRUE(m("t|year", "2024", day));
  EXPECT_TRUE(m("t|day", "31", day));
  EXPECT_TRUE(m("t|minute", "10", day));
  EXPECT_TRUE(m("t|week", "31", day));
  EXPECT_FALSE(m("t|week", "30", day));
  EXPECT_TRUE(m("t|hour", "[1, 2, 13]", day));
  EXPECT_FALSE(m("t|hour", "13", R"({"t":"not a time"})"));
  EXPECT_EQ(ParseStatus(One("t|hour", "noon")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(One("t|hour|day", "1")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(One("t|hour|contains", "1")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStatus(One("t|hour|cidr", "1")).code(), StatusCode::kInvalidArgument);
}

TEST(SigmaString, ParseAndPatternRoundTrip) {
  for (std::string_view p : {"a*b?c", "\\*lit\\?", "back\\\\slash", "odd\\x", "*", "", "trail\\"}) {
    SigmaString s = SigmaString::Parse(p);
    EXPECT_EQ(SigmaString::Parse(s.ToPattern()).Literal(), s.Literal()) << p;
    EXPECT_EQ(s.ToPattern().empty(), std::string_view(p).empty());
  }
  EXPECT_TRUE(SigmaString::Parse("a*").HasWildcards());
  EXPECT_FALSE(SigmaString::Parse("a\\*").HasWildcards());
  EXPECT_EQ(SigmaString::Parse("a\\*").Literal(), "a*");
}

}  // namespace
}  // namespace vigil
