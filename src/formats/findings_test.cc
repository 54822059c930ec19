// GuardDuty and Security Hub parsers: golden summaries of the sample findings
// in shared/data, and the shapes each type arrives in.
//
// Goldens: testdata/findings.golden holds, per sample file, the parser that
// recognised it and one line per event, dead letter and warning. Run with
// VIGIL_UPDATE_GOLDEN=1 to rewrite it, then read the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/glob.h"
#include "common/time.h"
#include "formats/guardduty.h"
#include "formats/json_records.h"
#include "formats/parser.h"
#include "formats/securityhub.h"
#include "formats/test_sink.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

using testing::Collect;
using testing::ExpectGolden;
using testing::ReadFile;
using testing::kTestIngest;
using testing::ParseAs;
using testing::RecognisedAs;

// One line per event: id, time, account, principal, resources.
std::string Summary(const Collect& c) {
  std::string out;
  for (const Event& e : c.events) {
    out += "event " + e.id + " | " + (e.time_fallback ? "ingest-time" : FormatRfc3339(e.time_ns)) + " | " + e.account +
           " | " + e.principal + " |";
    for (const std::string& r : e.resources) out += " " + r;
    out += "\n";
  }
  for (const DeadLetter& d : c.dead) out += "dead " + std::to_string(d.record) + ": " + d.reason + "\n";
  for (const std::string& w : c.warnings) out += "warning " + w + "\n";
  return out;
}

TEST(FindingsTest, SampleFindingsMatchGolden) {
  const fs::path data = VIGIL_SHARED_DATA;
  std::string got;
  for (const char* file :
       {"guardduty/elastic-integrations-test-guardduty.excerpt.jsonl", "guardduty/panther-test-logs.jsonl",
        "securityhub/awsdocs-example-findings.asff.jsonl", "securityhub/panther-test-logs.asff.jsonl"}) {
    std::string text = ReadFile(data / file);
    ASSERT_FALSE(text.empty()) << file;
    std::string_view parser = RecognisedAs(text);
    got += "== " + std::string(file) + " (" + std::string(parser) + ")\n";
    if (parser != "(none)") got += Summary(ParseAs(parser, text));
  }
  ExpectGolden("findings", got);
}

// A GuardDuty finding as written for these tests.
constexpr char kGuardDutyFinding[] =
    R"({"schemaVersion":"2.0","accountId":"444455556666","region":"eu-west-1","partition":"aws",)"
    R"("id":"7ac1f2b0e9d84c3a9b1f0c2d3e4f5a6b","arn":"arn:aws:guardduty:eu-west-1:444455556666:detector/0ab1/finding/7ac1f2b0e9d84c3a9b1f0c2d3e4f5a6b",)"
    R"("type":"UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",)"
    R"("resource":{"resourceType":"AccessKey","accessKeyDetails":{"accessKeyId":"ASIAEXAMPLEKEY000009",)"
    R"("principalId":"AROAEXAMPLE:i-0abc","userName":"web-role","userType":"AssumedRole"}},)"
    R"("service":{"serviceName":"guardduty","archived":false,"count":3,"additionalInfo":{}},)"
    R"("severity":8,"createdAt":"2025-03-01T10:00:00.000Z","updatedAt":"2025-03-01T12:30:00.250Z",)"
    R"("title":"Credentials for the instance role web-role used from an external IP address."})";

TEST(FindingsTest, GuardDutyFindingFields) {
  ASSERT_EQ(RecognisedAs(kGuardDutyFinding), kGuardDuty);
  Collect c = ParseAs(kGuardDuty, kGuardDutyFinding);
  ASSERT_EQ(c.events.size(), 1u);
  const Event& e = c.events[0];
  EXPECT_EQ(e.source_type, kGuardDuty);
  EXPECT_EQ(e.raw, kGuardDutyFinding);
  EXPECT_EQ(e.id, "7ac1f2b0e9d84c3a9b1f0c2d3e4f5a6b@2025-03-01T12:30:00.250Z");
  EXPECT_EQ(e.time_ns, *ParseTimestamp("2025-03-01T12:30:00.250Z"));
  EXPECT_EQ(e.account, "444455556666");
  EXPECT_EQ(e.principal, "web-role");
  EXPECT_EQ(e.resources, std::vector<std::string>{"ASIAEXAMPLEKEY000009"});
  EXPECT_EQ(e.FirstString(FieldPath("service.count")), "3");
}

TEST(FindingsTest, GuardDutyEventBridgeEventBecomesItsFinding) {
  std::string envelope = std::string(R"({"version":"0","id":"c8a0d1e2-0000-4000-8000-000000000001",)") +
                         R"("detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"444455556666",)" +
                         R"("time":"2025-03-01T12:30:05Z","region":"eu-west-1","resources":[],"detail":)" +
                         kGuardDutyFinding + "}";
  std::string two = envelope + "\n" + envelope + "\n";
  ASSERT_EQ(RecognisedAs(two), kGuardDuty);
  Collect c = ParseAs(kGuardDuty, two);
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.events[0].raw, kGuardDutyFinding);
  // The same delivery seen twice keeps one id (the store keeps one copy).
  EXPECT_EQ(c.events[0].id, c.events[1].id);
  EXPECT_EQ(c.events[0].principal, "web-role");

  Collect broken = ParseAs(kGuardDuty, R"({"detail-type":"GuardDuty Finding","detail":"x"})");
  EXPECT_TRUE(broken.events.empty());
  ASSERT_EQ(broken.dead.size(), 1u);
  EXPECT_NE(broken.dead[0].reason.find("detail"), std::string::npos);
}

TEST(FindingsTest, AnUpdatedFindingIsANewEventInAnyTimeFormat) {
  std::string updated = kGuardDutyFinding;
  updated.replace(updated.find("2025-03-01T12:30:00.250Z"), 24, "2025-03-01T13:00:00Z");
  updated.replace(updated.find("\"count\":3"), 9, "\"count\":4");
  // Panther's time format for the same instant as the first finding.
  std::string panther = kGuardDutyFinding;
  panther.replace(panther.find("2025-03-01T12:30:00.250Z"), 24, "2025-03-01 12:30:00.250000000");
  Collect c = ParseAs(kGuardDuty, std::string(kGuardDutyFinding) + "\n" + updated + "\n" + panther + "\n");
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_NE(c.events[0].id, c.events[1].id);
  EXPECT_EQ(c.events[0].id, c.events[2].id);
  EXPECT_EQ(c.events[0].time_ns, c.events[2].time_ns);
}

TEST(FindingsTest, GuardDutyApiOutputIsRead) {
  std::string output = std::string("{\n  \"findings\": [\n    ") + kGuardDutyFinding + "\n  ]\n}\n";
  ASSERT_EQ(RecognisedAs(output), kGuardDuty);
  Collect c = ParseAs(kGuardDuty, output);
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].raw, kGuardDutyFinding);
}

TEST(FindingsTest, GuardDutyPrincipalIsTheAffectedResource) {
  Collect c = ParseAs(
      kGuardDuty,
      R"([{"schemaVersion":"2.0","accountId":"1","id":"a","type":"Recon:EC2/PortProbeUnprotectedPort","severity":2,"service":{},)"
      R"("resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0123"}}},)"
      R"({"schemaVersion":"2.0","accountId":"1","id":"b","type":"Discovery:S3/MaliciousIPCaller","severity":2,"service":{},)"
      R"("resource":{"resourceType":"S3Bucket","accessKeyDetails":{"userName":"bob"},)"
      R"("s3BucketDetails":[{"name":"payroll","arn":"arn:aws:s3:::payroll"}]}},)"
      R"({"schemaVersion":"2.0","accountId":"1","id":"c","type":"AttackSequence:IAM/CompromisedCredentials","severity":9,"service":{},)"
      R"("resource":{"resourceType":"AttackSequence"}}])");
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_EQ(c.events[0].principal, "i-0123");
  EXPECT_EQ(c.events[1].principal, "payroll");
  EXPECT_EQ(c.events[1].resources, std::vector<std::string>{"arn:aws:s3:::payroll"});
  EXPECT_EQ(c.events[2].principal, "1");
}

TEST(FindingsTest, FindingTimeFallsBackToCreatedAtThenIngestTime) {
  Collect c = ParseAs(
      kGuardDuty,
      R"({"schemaVersion":"2.0","id":"a","type":"t","service":{},"severity":5,"createdAt":"2025-01-02T03:04:05Z"})"
      "\n"
      R"({"schemaVersion":"2.0","id":"b","type":"t","service":{},"severity":5,"updatedAt":"soon"})");
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_FALSE(c.events[0].time_fallback);
  EXPECT_EQ(c.events[0].time_ns, *ParseTimestamp("2025-01-02T03:04:05Z"));
  EXPECT_TRUE(c.events[1].time_fallback);
  EXPECT_EQ(c.events[1].time_ns, kTestIngest);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("unusable updatedAt \"soon\""), std::string::npos) << c.warnings[0];
  // No usable updatedAt: a content hash stands in for it in the id.
  EXPECT_EQ(c.events[1].id.rfind("b@", 0), 0u);
  EXPECT_EQ(c.events[1].id.size(), 2u + 32u);
}

// An ASFF finding as written for these tests.
constexpr char kAsff[] =
    R"({"SchemaVersion":"2018-10-08","Id":"arn:aws:securityhub:eu-west-1:444455556666:finding/0f9e8d7c",)"
    R"("ProductArn":"arn:aws:securityhub:eu-west-1:444455556666:product/444455556666/default",)"
    R"("GeneratorId":"custom-check","AwsAccountId":"444455556666","Types":["Unusual Behaviors"],)"
    R"("CreatedAt":"2025-04-01T08:00:00Z","UpdatedAt":"2025-04-01T09:15:00Z",)"
    R"("Severity":{"Label":"HIGH","Normalized":70},"Title":"Canary token read",)"
    R"("Resources":[{"Type":"AwsIamAccessKey","Id":"AKIAEXAMPLE00000001","ResourceRole":"Actor"},)"
    R"({"Type":"AwsS3Bucket","Id":"arn:aws:s3:::canary-bucket","ResourceRole":"Target"}]})";

TEST(FindingsTest, SecurityHubFindingFields) {
  ASSERT_EQ(RecognisedAs(kAsff), kSecurityHub);
  Collect c = ParseAs(kSecurityHub, kAsff);
  ASSERT_EQ(c.events.size(), 1u);
  const Event& e = c.events[0];
  EXPECT_EQ(e.source_type, kSecurityHub);
  EXPECT_EQ(e.raw, kAsff);
  EXPECT_EQ(e.id, "arn:aws:securityhub:eu-west-1:444455556666:finding/0f9e8d7c@2025-04-01T09:15:00Z");
  EXPECT_EQ(e.time_ns, *ParseTimestamp("2025-04-01T09:15:00Z"));
  EXPECT_EQ(e.account, "444455556666");
  EXPECT_EQ(e.principal, "arn:aws:s3:::canary-bucket");  // the target, not the actor
  EXPECT_EQ(e.resources, (std::vector<std::string>{"AKIAEXAMPLE00000001", "arn:aws:s3:::canary-bucket"}));
}

TEST(FindingsTest, SecurityHubShapes) {
  std::string wrapped = std::string(R"({"Findings":[)") + kAsff + "," + kAsff + R"(],"NextToken":null})";
  ASSERT_EQ(RecognisedAs(wrapped), kSecurityHub);
  EXPECT_EQ(ParseAs(kSecurityHub, wrapped).events.size(), 2u);

  std::string bridge = std::string(R"({"version":"0","id":"e1","detail-type":"Security Hub Findings - Imported",)") +
                       R"("source":"aws.securityhub","account":"444455556666","time":"2025-04-01T09:15:02Z",)" +
                       R"("region":"eu-west-1","resources":["x"],"detail":{"findings":[)" + kAsff + "," + kAsff + "]}}";
  ASSERT_EQ(RecognisedAs(bridge), kSecurityHub);
  Collect c = ParseAs(kSecurityHub, bridge + "\n" + bridge);
  ASSERT_EQ(c.events.size(), 4u);
  EXPECT_EQ(c.events[3].raw, kAsff);

  // One finding, pretty-printed over several lines, then a second one.
  std::string pretty =
      "{\n  \"SchemaVersion\": \"2018-10-08\",\n  \"Id\": \"f-1\",\n"
      "  \"ProductArn\": \"arn:aws:securityhub:us-east-1::product/aws/guardduty\",\n"
      "  \"UpdatedAt\": \"2025-04-01T09:15:00Z\"\n}\n";
  ASSERT_EQ(RecognisedAs(pretty), kSecurityHub);
  Collect p = ParseAs(kSecurityHub, pretty + pretty);
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_TRUE(p.dead.empty());
  EXPECT_EQ(p.events[0].raw, TrimSpace(pretty));

  Collect truncated = ParseAs(kSecurityHub, pretty + pretty.substr(0, 40));
  EXPECT_EQ(truncated.events.size(), 1u);
  EXPECT_EQ(truncated.dead.size(), 1u);
  EXPECT_EQ(truncated.warnings.size(), 1u);

  Collect no_findings = ParseAs(kSecurityHub, R"({"detail-type":"Security Hub Findings - Imported","detail":{}})");
  EXPECT_TRUE(no_findings.events.empty());
  EXPECT_EQ(no_findings.dead.size(), 1u);
}

TEST(FindingsTest, RecognitionLooksAtTopLevelKeysOnly) {
  // A CloudTrail record of a BatchImportFindings call carries ASFF findings
  // inside requestParameters: still CloudTrail.
  std::string ct = std::string(R"({"eventVersion":"1.08","eventSource":"securityhub.amazonaws.com",)") +
                   R"("eventName":"BatchImportFindings","requestParameters":{"findings":[)" + kAsff + "]}}";
  EXPECT_EQ(RecognisedAs(ct), "cloudtrail");
  EXPECT_EQ(RecognisedAs(std::string(R"({"Records":[)") + ct + "]}"), "cloudtrail");
  EXPECT_EQ(RecognisedAs(R"({"detail-type":"AWS API Call via CloudTrail","detail":{}})"), "(none)");
  EXPECT_EQ(RecognisedAs(R"({"SchemaVersion":"2018-10-08"})"), "(none)");
  EXPECT_EQ(RecognisedAs("[]"), "(none)");
  EXPECT_EQ(RecognisedAs(""), "(none)");
}

TEST(FindingsTest, LimitsAndBadRecordsAreDeadLetters) {
  std::string deep = R"({"SchemaVersion":"2018-10-08","ProductArn":"p","Id":"d","x":)" + std::string(100, '[') +
                     std::string(100, ']') + "}";
  Collect c = ParseAs(kSecurityHub, std::string("[") + kAsff + "," + deep + ", {\"Id\": tru}, " + kAsff + "]");
  EXPECT_EQ(c.events.size(), 2u);
  ASSERT_EQ(c.dead.size(), 2u);
  EXPECT_EQ(c.dead[0].record, 1u);
  EXPECT_NE(c.dead[0].reason.find("deeper"), std::string::npos) << c.dead[0].reason;
  EXPECT_EQ(c.dead[1].record, 2u);

  InputLimits tight;
  tight.max_record_bytes = 200;
  Collect big;
  ASSERT_TRUE(MakeSecurityHubParser(tight)->Parse(ParseInput{"in", std::string("[") + kAsff + "]", 0}, big).ok());
  ASSERT_EQ(big.dead.size(), 1u);
  EXPECT_NE(big.dead[0].reason.find("exceeds the limit of 200 bytes"), std::string::npos) << big.dead[0].reason;

  InputLimits small;
  small.max_line_bytes = 100;
  Collect lines;
  ASSERT_TRUE(
      MakeGuardDutyParser(small)->Parse(ParseInput{"in", std::string(kGuardDutyFinding) + "\n{}\n", 0}, lines).ok());
  ASSERT_EQ(lines.dead.size(), 1u);
  EXPECT_NE(lines.dead[0].reason.find("exceeds"), std::string::npos);
  EXPECT_EQ(lines.events.size(), 1u);  // `{}`: an empty finding still lands, with a content-hash id
}

TEST(JsonRecordsTest, TopLevelKeysInOnePass) {
  std::string_view rec = R"({"a":{"b":"x"},"k\"b":1,"b":"v\"w","a":2})";
  std::string_view keys[] = {"b", "a", "zz"};
  size_t at[3];
  EXPECT_EQ(FindTopLevelKeys(rec, keys, at), 0b011u);
  EXPECT_EQ(JsonStringAt(rec, at[0]), R"(v\"w)");
  EXPECT_EQ(rec.substr(at[1], 1), "{");  // the first occurrence
  EXPECT_EQ(at[2], std::string_view::npos);
  EXPECT_EQ(TopLevelValue(rec, "a"), R"({"b":"x"})");
  EXPECT_EQ(JsonStringAt(rec, at[1]), "");  // not a string
  EXPECT_EQ(FindTopLevelKeys(R"({"a":"unterminated)", keys, at), 0b010u);
}

}  // namespace
}  // namespace vigil
