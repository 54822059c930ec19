#include <gtest/gtest.h>
#include <libdeflate.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/time.h"
#include "formats/cloudtrail.h"
#include "formats/decompress.h"
#include "formats/json_split.h"
#include "formats/parser.h"
#include "formats/test_sink.h"

namespace vigil {
namespace {

using testing::Collect;
using testing::ReadFile;

Collect ParseText(std::string_view text, std::string_view name = "input") {
  Collect c;
  const Parser* p = ParserRegistry::Default().Find(kCloudTrail);
  EXPECT_NE(p, nullptr);
  Status st = p->Parse(ParseInput{name, text, 42 * kNanosPerSecond}, c);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return c;
}

constexpr char kRecord[] =
    R"({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333"},"eventTime":"2024-07-31T13:06:24Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","sourceIPAddress":"035.249.253.232","eventID":"10163ed2-2253-469d-a5ee-cbc6651f8934","recipientAccountId":"111122223333","resources":[{"ARN":"arn:aws:iam::111122223333:user/bob"}]})";

TEST(CloudTrailTest, StratusDetonationLogsParseWithoutErrors) {
  std::filesystem::path dir = VIGIL_SHARED_DATA "/cloudtrail/stratus-red-team/docs/detonation-logs";
  size_t events = 0, files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string text = ReadFile(entry.path());
    ASSERT_TRUE(ParserRegistry::Default().Recognize(text) != nullptr) << entry.path();
    Collect c = ParseText(text, entry.path().string());
    EXPECT_TRUE(c.dead.empty()) << entry.path() << ": " << (c.dead.empty() ? "" : c.dead[0].reason);
    for (const Event& e : c.events) {
      EXPECT_FALSE(e.time_fallback) << e.raw;
      EXPECT_FALSE(e.principal.empty()) << e.raw;
      EXPECT_EQ(e.raw.front(), '{');
      EXPECT_EQ(e.raw.back(), '}');
    }
    events += c.events.size();
    ++files;
  }
  EXPECT_EQ(files, 35u);
  EXPECT_EQ(events, 310u);
}

TEST(CloudTrailTest, S3DeliveryFileKeepsRecordsByteExact) {
  std::string file = std::string("{\"Records\":[") + kRecord + ",\n  " + kRecord + "]}";
  Collect c = ParseText(file);
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.events[0].raw, kRecord);
  EXPECT_EQ(c.events[0].id, "10163ed2-2253-469d-a5ee-cbc6651f8934");
  EXPECT_EQ(c.events[0].principal, "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(c.events[0].account, "111122223333");
  EXPECT_EQ(c.events[0].resources, std::vector<std::string>{"arn:aws:iam::111122223333:user/bob"});
  // An IP with leading zeros is not a record error; it stays raw.
  EXPECT_EQ(c.events[0].FirstString(FieldPath("sourceIPAddress")), "035.249.253.232");
}

TEST(CloudTrailTest, MalformedRecordIsDeadLetteredAndOthersLand) {
  std::string file = std::string("[") + kRecord + ", {\"eventName\": tru}, " + kRecord + "]";
  Collect c = ParseText(file, "mixed.json");
  EXPECT_EQ(c.events.size(), 2u);
  ASSERT_EQ(c.dead.size(), 1u);
  EXPECT_EQ(c.dead[0].record, 1u);
  EXPECT_EQ(c.dead[0].input, "mixed.json");
  EXPECT_NE(c.dead[0].reason.find("invalid JSON"), std::string::npos) << c.dead[0].reason;
}

TEST(CloudTrailTest, TruncatedFileKeepsCompleteRecords) {
  std::string file = std::string("{\"Records\":[") + kRecord + "," + std::string(kRecord).substr(0, 50);
  Collect c = ParseText(file);
  EXPECT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.dead.size(), 1u);
  EXPECT_FALSE(c.warnings.empty());
}

TEST(CloudTrailTest, UnusableTimeFallsBackToIngestTimeWithWarning) {
  Collect c = ParseText(R"({"eventName":"X","eventSource":"s3.amazonaws.com","eventTime":"...","eventID":"1"})");
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_TRUE(c.events[0].time_fallback);
  EXPECT_EQ(c.events[0].time_ns, 42 * kNanosPerSecond);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("\"...\""), std::string::npos);
  // eventID "1" is not trustworthy: the id is a content hash, stable across runs.
  EXPECT_EQ(c.events[0].id.size(), 32u);
  EXPECT_EQ(ParseText(c.events[0].raw).events[0].id, c.events[0].id);
}

TEST(CloudTrailTest, NdjsonAndFractionalTimes) {
  std::string text = std::string(R"({"eventName":"A","eventSource":"x","eventTime":"2024-01-02 03:04:05.123456789"})") +
                     "\n\n" + R"({"eventName":"B","eventSource":"x","eventTime":"2024-01-02T03:04:05.5Z"})" + "\n";
  ASSERT_NE(ParserRegistry::Default().Recognize(text), nullptr);
  Collect c = ParseText(text);
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.events[0].time_ns % kNanosPerSecond, 123456789);
  EXPECT_EQ(c.events[1].time_ns % kNanosPerSecond, 500000000);
}

TEST(CloudTrailTest, PrettyPrintedRecordsAreRead) {
  std::string pretty = "{\n  \"eventVersion\": \"1.08\",\n  \"eventTime\": \"2024-07-31T13:06:24Z\",\n"
                       "  \"eventSource\": \"iam.amazonaws.com\",\n  \"eventName\": \"CreateUser\"\n}\n";
  ASSERT_NE(ParserRegistry::Default().Recognize(pretty), nullptr);
  EXPECT_EQ(ParserRegistry::Default().Recognize(pretty)->name(), kCloudTrail);
  Collect c = ParseText(pretty + pretty);
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_TRUE(c.dead.empty());
  EXPECT_EQ(c.events[1].raw, pretty.substr(0, pretty.size() - 1));
}

TEST(CloudTrailTest, PrincipalFallsBackThroughIdentityFields) {
  Collect c = ParseText(
      R"([{"eventName":"A","eventSource":"x","userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}},)"
      R"({"eventName":"B","eventSource":"x","userIdentity":{"principalId":"AROA1:sess"}},)"
      R"({"eventName":"C","eventSource":"x","recipientAccountId":"123456789012"}])");
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_EQ(c.events[0].principal, "ec2.amazonaws.com");
  EXPECT_EQ(c.events[1].principal, "AROA1:sess");
  EXPECT_EQ(c.events[2].principal, "123456789012");
}

TEST(CloudTrailTest, DigestAndDocumentsAreNotRecognised) {
  EXPECT_EQ(ParserRegistry::Default().Recognize(R"({"awsAccountId":"1","digestStartTime":"x","logFiles":[]})"),
            nullptr);
  EXPECT_EQ(ParserRegistry::Default().Recognize("# README\nSome text"), nullptr);
  EXPECT_EQ(ParserRegistry::Default().Recognize("[1,2,3]"), nullptr);
}

TEST(CloudTrailTest, DepthAndSizeLimitsAreRecordErrors) {
  std::string deep = R"({"eventName":"A","eventSource":"x","a":)" + std::string(100, '[') + std::string(100, ']') + "}";
  Collect c = ParseText("[" + deep + "," + kRecord + "]");
  EXPECT_EQ(c.events.size(), 1u);
  ASSERT_EQ(c.dead.size(), 1u);
  EXPECT_NE(c.dead[0].reason.find("deeper"), std::string::npos) << c.dead[0].reason;
}

TEST(DecompressTest, GzipRoundTripAndCorruption) {
  std::string text = std::string("{\"Records\":[") + kRecord + "]}";
  std::string gz = Gzip(text);
  auto out = MaybeDecompress(gz, "a.json.gz");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->view(), text);
  // Two members concatenated decode to both.
  auto two = GunzipAll(gz + gz, "b.json.gz");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->view(), text + text);
  std::string bad = gz.substr(0, gz.size() / 2);
  auto broken = GunzipAll(bad, "c.json.gz");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("c.json.gz"), std::string::npos);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST(JsonSplitTest, StringsWithEscapesAndBracketsDoNotConfuseFraming) {
  // Long enough that the 16-byte scanning path and the scalar tail both run.
  std::string text =
      R"([{"a":"x\"}]{[ padding padding padding","b":"\\","c":"\\\"]"}, {"d":"]]]]]]]]]]]]]]]]]]]]"},)"
      "\n  {\"e\":[1,[2,{\"f\":\"\\\\\\\\\"}]]}]";
  std::vector<JsonSpan> spans;
  ASSERT_TRUE(SplitJsonArray(text, 0, 64, &spans).ok());
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(text.substr(spans[1].begin, spans[1].end - spans[1].begin), R"({"d":"]]]]]]]]]]]]]]]]]]]]"})");
  EXPECT_EQ(text.substr(spans[2].begin, spans[2].end - spans[2].begin), "{\"e\":[1,[2,{\"f\":\"\\\\\\\\\"}]]}");
  for (size_t cut = 1; cut < text.size(); ++cut) {  // every truncation is reported, never overrun
    std::vector<JsonSpan> partial;
    (void)SplitJsonArray(std::string_view(text).substr(0, cut), 0, 64, &partial);
    for (const auto& s : partial) EXPECT_LE(s.end, cut);
  }
}

}  // namespace
}  // namespace vigil
