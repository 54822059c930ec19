// JSON application logs: the golden over testdata/json/app.jsonl (every time
// key and epoch unit, principals, bad records), recognition (never another
// JSON type's records, nor documents), arrays, and stored records read again.
#include "formats/app_json.h"

#include <gtest/gtest.h>

#include "formats/app_logs_golden.h"
#include "formats/cloudtrail.h"
#include "formats/guardduty.h"
#include "formats/record_fields.h"
#include "formats/route53resolver.h"
#include "formats/securityhub.h"

namespace vigil {
namespace {

using testing::Collect;
using testing::ExpectGolden;
using testing::GoldenSummary;
using testing::ParseAs;
using testing::RecognisedAs;
using testing::TestInput;
using testing::Values;

const std::filesystem::path kData = VIGIL_SHARED_DATA;

TEST(AppJsonTest, SamplesMatchGolden) {
  std::string text = TestInput("json/app.jsonl");
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(RecognisedAs(text), kJson);
  ExpectGolden("json", GoldenSummary(ParseAs(kJson, text), {"level", "msg", "message", "user.name", "logger"}));
}

TEST(AppJsonTest, EpochTimes) {
  EXPECT_EQ(ParseEpochTime("1772446571"), 1772446571 * kNanosPerSecond);
  EXPECT_EQ(ParseEpochTime("1772446571.5"), 1772446571 * kNanosPerSecond + 500'000'000);
  EXPECT_EQ(ParseEpochTime("1772446571123"), 1772446571123 * 1'000'000);
  EXPECT_EQ(ParseEpochTime("1772446571123456"), 1772446571123456 * 1'000);
  EXPECT_EQ(ParseEpochTime("1772446571123456789"), 1772446571123456789);
  EXPECT_EQ(ParseEpochTime("0"), 0);
  EXPECT_EQ(ParseEpochTime("1772446571123.5"), 1772446571123 * 1'000'000 + 500'000);
  for (std::string_view bad :
       {"", "-1", "+5", "1e9", "12abc", "nan", "9300000000000000000", "inf", "1.", ".5", "1.2.3"})
    EXPECT_EQ(ParseEpochTime(bad), std::nullopt) << bad;
}

TEST(AppJsonTest, ArraysAndPrettyPrintedRecords) {
  Collect c = ParseAs(kJson, "[{\"time\":\"2026-03-02T10:00:00Z\",\"msg\":\"a\"},{\"msg\":\"b\",\"user\":\"u\"}]");
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.events[1].principal, "u");
  Collect p = ParseAs(kJson, "{\n  \"msg\": \"a\",\n  \"ts\": 1\n}\n{\n  \"msg\": \"b\"\n}\n");
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(p.events[0].time_ns, kNanosPerSecond);
}

TEST(AppJsonTest, NeverClaimsOtherJsonTypes) {
  EXPECT_EQ(RecognisedAs(R"({"time":"2026-03-02T10:00:00Z","msg":"x"})"), kJson);
  EXPECT_EQ(RecognisedAs(R"([{"level":"info"}])"), kJson);
  // Records of the other JSON types, even ones their parsers reject, and
  // JSON that is no log.
  for (std::string_view head :
       {R"({"eventName":"ConsoleLogin","time":"2026-03-02T10:00:00Z"})", R"({"eventVersion":"1.08","timestamp":"x"})",
        R"({"Records":"nope","time":1})", R"({"schemaVersion":"2.0","severity":5,"time":1})",
        R"({"SchemaVersion":"2018-10-08","time":1})",
        R"({"detail-type":"GuardDuty Finding","time":"2026-03-02T10:00:00Z","detail":{}})",
        R"({"detail-type":"Security Hub Findings - Imported","time":"2026-03-02T10:00:00Z"})",
        R"({"detail-type":"AWS API Call via CloudTrail","time":"2026-03-02T10:00:00Z"})",
        R"({"query_name":"a.","timestamp":"2026-03-02T10:00:00Z"})",
        R"({"messageType":"OTHER","logEvents":[],"timestamp":1})",
        R"({"awsAccountId":"1","digestStartTime":"2026-03-02T10:00:00Z","logFiles":[]})", R"({"query_name":"a"})",
        R"({"name":"vigil","version":"1.0"})", "[]", "[1,2]", "{}", "\"time\""})
    EXPECT_FALSE(ParserRegistry::Default().Find(kJson)->Recognize(head)) << head;
  for (std::string_view head : {R"({"query_name":"a"})", R"({"name":"vigil","version":"1.0"})", "[]", "{}"})
    EXPECT_EQ(RecognisedAs(head), "(none)") << head;
  // An EventBridge event of another kind is an application log.
  EXPECT_EQ(RecognisedAs(R"({"detail-type":"EC2 Instance State-change Notification","time":"2026-03-02T10:00:00Z"})"),
            kJson);
  // Every sample of the other JSON types stays its own type.
  const std::pair<const char*, std::string_view> samples[] = {
      {"cloudtrail/stratus-red-team/docs/detonation-logs/aws.defense-evasion.cloudtrail-stop.json", kCloudTrail},
      {"guardduty/panther-test-logs.jsonl", kGuardDuty},
      {"securityhub/awsdocs-example-findings.asff.jsonl", kSecurityHub},
      {"dns/awsdocs-examples.jsonl", kRoute53Resolver}};
  for (const auto& [file, type] : samples) {
    std::string text = testing::ReadFile(kData / file);
    if (text.empty()) continue;
    EXPECT_EQ(RecognisedAs(text), type) << file;
    EXPECT_FALSE(ParserRegistry::Default().Find(kJson)->Recognize(std::string_view(text).substr(0, 65536))) << file;
  }
}

TEST(AppJsonTest, StoredRecordsReadAgain) {
  Collect c = ParseAs(kJson, TestInput("json/app.jsonl"));
  ASSERT_FALSE(c.events.empty());
  for (const Event& e : c.events) {
    auto again = RecordFields(e.source_type, e.raw);
    ASSERT_TRUE(again.ok()) << e.raw;
    Event stored;
    stored.fields = *again;
    EXPECT_EQ(Values(stored, "msg") + Values(stored, "message"), Values(e, "msg") + Values(e, "message"));
  }
}

}  // namespace
}  // namespace vigil
