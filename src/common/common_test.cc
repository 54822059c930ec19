#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/glob.h"
#include "common/hash.h"
#include "common/hash_set.h"
#include "common/json_writer.h"
#include "common/status.h"
#include "common/time.h"

namespace vigil {
namespace {

TEST(Base64Test, Rfc4648VectorsBothWays) {
  const std::pair<const char*, const char*> kVectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
  EXPECT_EQ(*Base64Decode("Zm9vYg"), "foob");  // padding may be left off
}

TEST(Base64Test, RejectsWhatIsNotOneStrictEncoding) {
  EXPECT_FALSE(Base64Decode("Zm9v!").ok());
  EXPECT_FALSE(Base64Decode("Zm9 v").ok());
  EXPECT_FALSE(Base64Decode("Zm9v\n").ok());
  EXPECT_FALSE(Base64Decode("Z").ok());         // 4n+1 characters
  EXPECT_FALSE(Base64Decode("Zg=a").ok());      // padding inside
  EXPECT_FALSE(Base64Decode("Zm8=Zm8=").ok());  // padding inside
  EXPECT_FALSE(Base64Decode("Zh==").ok());      // stray low bits: not what "f" encodes to
  EXPECT_FALSE(Base64Decode("Zg=").ok());       // padding that does not complete a group
  EXPECT_FALSE(Base64Decode("Zm9v-_").ok());    // URL-safe alphabet is another encoding
  EXPECT_NE(Base64Decode("Zm9v!A").status().message().find("offset 4"), std::string::npos);
}

TEST(TimeTest, ParsesAwsTimestamps) {
  EXPECT_EQ(*ParseTimestamp("1970-01-01T00:00:01Z"), kNanosPerSecond);
  EXPECT_EQ(*ParseTimestamp("2024-07-31T13:06:24Z"), 1722431184LL * kNanosPerSecond);
  EXPECT_EQ(*ParseTimestamp("2024-07-31T13:06:24.5Z"), 1722431184LL * kNanosPerSecond + 500'000'000);
  EXPECT_EQ(*ParseTimestamp("2024-07-31 13:06:24.123456789"), 1722431184LL * kNanosPerSecond + 123456789);
  EXPECT_EQ(*ParseTimestamp("2024-07-31T15:06:24+02:00"), 1722431184LL * kNanosPerSecond);
  EXPECT_FALSE(ParseTimestamp("..."));
  EXPECT_FALSE(ParseTimestamp(""));
  EXPECT_FALSE(ParseTimestamp("2024-13-01T00:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2024-07-31T13:06:24Zjunk"));
  // Outside the int64-nanosecond range: rejected, not overflowed.
  EXPECT_FALSE(ParseTimestamp("9999-12-31T00:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("0001-01-01T00:00:00Z"));
}

TEST(TimeTest, FormatsRfc3339RoundTrip) {
  int64_t t = *ParseTimestamp("2024-02-29T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(t), "2024-02-29T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(t + 250'000'000), "2024-02-29T23:59:59.250Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
}

TEST(TimeTest, Durations) {
  EXPECT_EQ(*ParseDuration("1h"), 3600 * kNanosPerSecond);
  EXPECT_EQ(*ParseDuration("15m"), 900 * kNanosPerSecond);
  EXPECT_FALSE(ParseDuration("h"));
  EXPECT_FALSE(ParseDuration("5x"));
}

TEST(GlobTest, SigmaWildcards) {
  EXPECT_TRUE(GlobPattern::Compile("Get*").Matches("GetObject"));
  EXPECT_TRUE(GlobPattern::Compile("get*").Matches("GetObject"));
  EXPECT_FALSE(GlobPattern::Compile("get*", true).Matches("GetObject"));
  EXPECT_TRUE(GlobPattern::Compile("*Unauthorized*").Matches("Client.UnauthorizedOperation"));
  EXPECT_TRUE(GlobPattern::Compile("*Operation").Matches("Client.UnauthorizedOperation"));
  EXPECT_TRUE(GlobPattern::Compile("a?c").Matches("abc"));
  EXPECT_FALSE(GlobPattern::Compile("a?c").Matches("abbc"));
  EXPECT_TRUE(GlobPattern::Compile("a*b*c").Matches("axxbyyc"));
  EXPECT_FALSE(GlobPattern::Compile("a*b*c").Matches("axxbyy"));
  EXPECT_TRUE(GlobPattern::Compile("a\\*b").Matches("a*b"));
  EXPECT_FALSE(GlobPattern::Compile("a\\*b").Matches("axb"));
  EXPECT_TRUE(GlobPattern::Compile("C:\\Windows").Matches("c:\\windows"));
  EXPECT_TRUE(GlobPattern::Compile("*").Matches(""));
  EXPECT_TRUE(GlobPattern::Compile("").Matches(""));
  EXPECT_FALSE(GlobPattern::Compile("").Matches("x"));
}

TEST(JsonStringTest, EscapesWhatJsonRequiresAndKeepsValidUtf8) {
  EXPECT_EQ(JsonString("plain text / 123"), R"("plain text / 123")");
  EXPECT_EQ(JsonString("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonString("l1\nl2\r\t\b\f"), R"("l1\nl2\r\t\b\f")");
  EXPECT_EQ(JsonString(std::string("x\x01y\0", 4)), R"("x\u0001y\u0000")");
  EXPECT_EQ(JsonString("caf\xC3\xA9 \xE2\x82\xAC"), "\"caf\xC3\xA9 \xE2\x82\xAC\"");  // UTF-8 kept
  EXPECT_EQ(JsonString("bad\xFF" "byte"), "\"bad\xEF\xBF\xBD" "byte\"");                  // invalid: U+FFFD
  EXPECT_EQ(JsonString(""), R"("")");
}

// Long runs are scanned a word at a time: every byte value, at every place
// in a long string, is escaped as it is on its own.
TEST(JsonStringTest, EveryByteAtEveryPlaceOfALongString) {
  for (int b = 0; b < 256; ++b) {
    const std::string alone = JsonString(std::string(1, static_cast<char>(b)));
    const std::string inner = alone.substr(1, alone.size() - 2);
    for (size_t at = 0; at < 24; ++at) {
      std::string s(24, 'a');
      s[at] = static_cast<char>(b);
      EXPECT_EQ(JsonString(s), "\"" + std::string(at, 'a') + inner + std::string(23 - at, 'a') + "\"") << b << " at " << at;
    }
  }
  const std::string utf8 = std::string(13, 'x') + "caf\xC3\xA9" + std::string(9, 'y');  // a sequence across words
  EXPECT_EQ(JsonString(utf8), "\"" + utf8 + "\"");
}

TEST(HashSetTest, SetAndIndexKeepEveryKeyAcrossGrowthIncludingZero) {
  Hash128Set set;
  Hash128Index index;
  const int n = 5000;  // several doublings from 1,024 slots
  for (int i = 0; i < n; ++i) {
    const Hash128 h = i == 0 ? Hash128{} : HashId128("id-" + std::to_string(i));
    EXPECT_TRUE(set.Insert(h));
    EXPECT_EQ(index.FindOrInsert(h, static_cast<uint32_t>(i)), std::make_pair(static_cast<uint32_t>(i), true));
  }
  EXPECT_EQ(set.size(), static_cast<size_t>(n));
  EXPECT_EQ(index.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const Hash128 h = i == 0 ? Hash128{} : HashId128("id-" + std::to_string(i));
    EXPECT_TRUE(set.Contains(h));
    EXPECT_FALSE(set.Insert(h));
    // Found with its first value; the new one is ignored.
    EXPECT_EQ(index.FindOrInsert(h, 999999), std::make_pair(static_cast<uint32_t>(i), false));
  }
  EXPECT_FALSE(set.Contains(HashId128("absent")));
  set.Clear();
  index.Clear();
  EXPECT_FALSE(set.Contains(Hash128{}));
  EXPECT_EQ(index.FindOrInsert(Hash128{}, 7), std::make_pair(7u, true));
}

// Ids and alert ids are these 32 digits: high half first, lower case,
// leading zeros kept (stored ids must never change).
TEST(HashTest, HexIsHighHalfFirstLowerCaseAndFixedWidth) {
  EXPECT_EQ(Hex(Hash128{0x0123456789abcdefull, 0xfedcba9876543210ull}), "fedcba98765432100123456789abcdef");
  EXPECT_EQ(Hex(Hash128{1, 0}), "00000000000000000000000000000001");
  EXPECT_EQ(HexHash128("vigil"), Hex(HashId128("vigil")));
  EXPECT_EQ(HexHash128("vigil").size(), 32u);
}

TEST(StatusTest, CarriesContext) {
  Status s = Status::Corruption("block 3 checksum mismatch").WithContext("segment a.vseg");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "corruption: segment a.vseg: block 3 checksum mismatch");
  Result<int> r(Status::NotFound("x"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(GlobTest, MatchesLoweredAgreesWithMatches) {
  const char* patterns[] = {"GetObject", "get*", "*object", "*OBJ*", "g?t*ob*t", "*", "*.amazonaws.com"};
  const char* texts[] = {"GetObject", "getobject", "PutObject", "GETOBJECTACL", "s3.AmazonAWS.com", "", "gxtOBjt"};
  for (const char* p : patterns) {
    const GlobPattern g = GlobPattern::Compile(p);
    for (const char* t : texts) EXPECT_EQ(g.MatchesLowered(ToLower(t)), g.Matches(t)) << p << " on " << t;
  }
}

TEST(GlobTest, ToLowerFoldsAsciiOnlyAtEveryOffset) {
  // Every byte value at every position of the eight-byte stride and the tail.
  for (size_t len : {1u, 7u, 8u, 9u, 16u, 23u}) {
    for (int b = 0; b < 256; ++b) {
      for (size_t pos = 0; pos < len; ++pos) {
        std::string s(len, 'Q');
        s[pos] = static_cast<char>(b);
        std::string want = s;
        for (char& c : want) c = AsciiLower(c);
        ASSERT_EQ(ToLower(s), want) << "byte " << b << " at " << pos << " of " << len;
      }
    }
  }
  EXPECT_EQ(ToLower("arn:aws:IAM::123456789012:Role/AWSServiceRoleForSSO Ärger@"), "arn:aws:iam::123456789012:role/awsserviceroleforsso Ärger@");
}

// Short texts are scanned byte by byte, long ones folded and searched: both
// find a lower-case needle wherever it is, in any case, and nowhere else.
TEST(GlobTest, ContainsIgnoreCaseShortAndLongTexts) {
  for (size_t len : {5u, 31u, 32u, 100u}) {
    for (size_t pos = 0; pos + 4 <= len; ++pos) {
      std::string s(len, 'x');
      s.replace(pos, 4, "RoLe");
      EXPECT_TRUE(ContainsIgnoreCase(s, "role")) << len << " at " << pos;
      if (pos > 0) EXPECT_TRUE(ContainsIgnoreCase(s, "xrole")) << len << " at " << pos;
      EXPECT_FALSE(ContainsIgnoreCase(s, "roles")) << len << " at " << pos;
    }
    EXPECT_FALSE(ContainsIgnoreCase(std::string(len, 'x'), "xy"));
    EXPECT_TRUE(ContainsIgnoreCase(std::string(len, 'X'), std::string(len, 'x')));
    EXPECT_FALSE(ContainsIgnoreCase(std::string(len, 'X'), std::string(len + 1, 'x')));
  }
  // Only ASCII folds.
  EXPECT_FALSE(ContainsIgnoreCase("arn:aws:iam::123456789012:role/\xC3\x84rger-and-more", "\xc3\xa4rger"));
  EXPECT_TRUE(ContainsIgnoreCase("arn:aws:iam::123456789012:ROLE/AWSServiceRoleForSSO", ":role/awsservicerole"));
}

}  // namespace
}  // namespace vigil
