// CloudWatch Logs subscription payloads: the golden over
// testdata/cloudwatchlogs/firehose.json (payloads back to back, one pretty
// printed, a control message, CloudTrail, flow log, Resolver and Lambda log
// groups), unwrapped records against the same records arriving directly, bad
// payloads, and stored records read again.
#include "formats/cloudwatchlogs.h"

#include <gtest/gtest.h>

#include "common/json_writer.h"
#include "formats/app_logs_golden.h"
#include "formats/cloudtrail.h"
#include "formats/record_fields.h"
#include "formats/vpcflow.h"

namespace vigil {
namespace {

using testing::Collect;
using testing::ExpectGolden;
using testing::GoldenSummary;
using testing::kTestIngest;
using testing::ParseAs;
using testing::RecognisedAs;
using testing::Scalars;
using testing::TestInput;
using testing::Values;

std::string Payload(std::string_view group, const std::vector<std::pair<int64_t, std::string>>& events,
                    std::string_view type = "DATA_MESSAGE") {
  std::string out = R"({"messageType":")" + std::string(type) + R"(","owner":"111122223333","logGroup":")" +
                    std::string(group) + R"(","logStream":"s1","subscriptionFilters":["f1","f2"],"logEvents":[)";
  for (size_t i = 0; i < events.size(); ++i) {
    out += (i ? "," : "") + std::string(R"({"id":"e)") + std::to_string(i) + R"(","timestamp":)" +
           std::to_string(events[i].first) + R"(,"message":)" + JsonString(events[i].second) + "}";
  }
  return out + "]}";
}

TEST(CloudWatchLogsTest, FirehoseFileMatchesGolden) {
  std::string text = TestInput("cloudwatchlogs/firehose.json");
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(RecognisedAs(text), kCloudWatchLogs);
  Collect c = ParseAs(kCloudWatchLogs, text);
  ExpectGolden("cloudwatchlogs",
               GoldenSummary(c, {"cloudwatch.owner", "cloudwatch.logGroup", "cloudwatch.logStream",
                                 "cloudwatch.subscriptionFilters", "cloudwatch.id", "cloudwatch.timestamp", "eventName",
                                 "dstport", "action", "query_name", "message", "appname", "msg"}));
}

TEST(CloudWatchLogsTest, UnwrappedRecordIsTheDirectRecordPlusContext) {
  const std::string record =
      R"({"eventVersion":"1.08","eventTime":"2026-03-02T10:15:00Z","eventSource":"iam.amazonaws.com",)"
      R"("eventName":"CreateAccessKey","eventID":"0b0f6c1e-0b7a-4c43-9a55-1d6f1c0e2a0f",)"
      R"("userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/a"}})";
  Collect direct = ParseAs(kCloudTrail, record);
  Collect wrapped = ParseAs(kCloudWatchLogs, Payload("trail", {{1772446500500, record}}));
  ASSERT_EQ(direct.events.size(), 1u);
  ASSERT_EQ(wrapped.events.size(), 1u);
  const Event& d = direct.events[0];
  const Event& w = wrapped.events[0];
  EXPECT_EQ(w.source_type, d.source_type);
  EXPECT_EQ(w.raw, d.raw);
  EXPECT_EQ(w.id, d.id);
  EXPECT_EQ(w.time_ns, d.time_ns);  // the record's own time, not the log event's
  EXPECT_EQ(w.principal, d.principal);
  EXPECT_EQ(w.account, "111122223333");  // no account in the record: the payload's owner
  EXPECT_EQ(Scalars(*w.fields), Scalars(*d.fields));
  EXPECT_EQ(Values(w, "eventName"), "CreateAccessKey");
  EXPECT_EQ(Values(w, "cloudwatch.logGroup"), "trail");
  EXPECT_EQ(Values(w, "cloudwatch.subscriptionFilters"), "f1,f2");
  EXPECT_EQ(Values(w, "cloudwatch.timestamp"), "#1772446500500");
  EXPECT_EQ(Values(w, "cloudwatch.nothing"), "");
  FieldValueList list;
  EXPECT_TRUE(w.fields->Collect(FieldPath("cloudwatch.logStream"), &list));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list.at(0).text, "s1");
  // Stored, it is the CloudTrail record: it reads again as one.
  auto again = RecordFields(w.source_type, w.raw);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Scalars(**again), Scalars(*d.fields));
}

TEST(CloudWatchLogsTest, RecordsWithoutTimeTakeTheLogEventTimestamp) {
  Collect c = ParseAs(kCloudWatchLogs,
                      Payload("flows", {{1772446560123, "2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 40 - - REJECT OK"},
                                        {-5, "2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 40 - - REJECT OK"}}));
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.events[0].source_type, kVpcFlow);
  EXPECT_FALSE(c.events[0].time_fallback);
  EXPECT_EQ(c.events[0].time_ns, 1772446560123 * 1'000'000);
  EXPECT_EQ(c.events[0].ingest_time_ns, kTestIngest);
  // A timestamp that is no time: the ingest time, with the flow parser's warning.
  EXPECT_TRUE(c.events[1].time_fallback);
  EXPECT_EQ(c.events[1].time_ns, kTestIngest);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0], "log event 1 (vpcflow): record 0: no start; using ingest time");
}

TEST(CloudWatchLogsTest, BadPayloadsAndMessagesAreDeadLettersAndTheRestLands) {
  std::string good = Payload("app", {{1772446560000, "plain text"}});
  std::string text = good + "\n{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[1,{\"id\":\"x\"}]}\n" +
                     "{\"messageType\":\"OTHER\",\"logEvents\":[]}\n{\"messageType\":\"DATA_MESSAGE\"}\n" +
                     "{\"messageType\":3}\n[1]\n{\"messageType\": tru}\n" +
                     Payload("trail", {{1, R"({"eventName":"X","eventSource":"s","eventTime": tru})"}}) + "\n" +
                     Payload("app", {{1772446560000, "last"}}, "CONTROL_MESSAGE") + good.substr(0, 40);
  Collect c = ParseAs(kCloudWatchLogs, text);
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(Values(c.events[0], "message"), "plain text");
  std::vector<std::string> reasons;
  for (const DeadLetter& d : c.dead) reasons.push_back(std::to_string(d.record) + " " + d.reason);
  EXPECT_EQ(reasons, (std::vector<std::string>{
                         "1 log event without a string message",
                         "2 log event without a string message",
                         "3 messageType \"OTHER\" is neither DATA_MESSAGE nor CONTROL_MESSAGE",
                         "4 DATA_MESSAGE payload without a logEvents array",
                         "5 payload without a messageType",
                         "6 payload is not a JSON object",
                         "7 payload is not JSON: Problem while parsing an atom starting with the letter 't'",
                         "8 log event 8 (cloudtrail): invalid JSON: Problem while parsing an atom starting with the "
                         "letter 't'",
                         "9 payload is not JSON: A string is opened, but never closed.",
                     }));
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0].substr(0, 41), "input ends inside the payload starting at");
}

TEST(CloudWatchLogsTest, UnrecognisedMessagesAreCloudWatchEventsThatReadAgain) {
  Collect c =
      ParseAs(kCloudWatchLogs, Payload("/aws/lambda/f", {{1772446560000, "REPORT RequestId: 1\tDuration: 2 ms"}}));
  ASSERT_EQ(c.events.size(), 1u);
  const Event& e = c.events[0];
  EXPECT_EQ(e.source_type, kCloudWatchLogs);
  EXPECT_EQ(e.raw, R"({"cloudwatch":{"owner":"111122223333","logGroup":"/aws/lambda/f","logStream":"s1",)"
                   R"("subscriptionFilters":["f1","f2"],"id":"e0","timestamp":1772446560000},)"
                   R"("message":"REPORT RequestId: 1\tDuration: 2 ms"})");
  EXPECT_EQ(e.id, ContentId(kCloudWatchLogs, e.raw));
  EXPECT_EQ(e.time_ns, 1772446560000 * 1'000'000);
  EXPECT_EQ(e.account, "111122223333");
  EXPECT_EQ(e.principal, "111122223333");
  EXPECT_EQ(e.resources, std::vector<std::string>{"/aws/lambda/f"});
  auto again = RecordFields(e.source_type, e.raw);
  ASSERT_TRUE(again.ok());
  Event stored;
  stored.fields = *again;
  EXPECT_EQ(Values(stored, "cloudwatch.logGroup"), "/aws/lambda/f");
  EXPECT_EQ(Values(stored, "message"), "REPORT RequestId: 1\tDuration: 2 ms");
}

TEST(CloudWatchLogsTest, RecognitionLeavesOtherTypesAlone) {
  EXPECT_EQ(RecognisedAs(Payload("g", {}, "CONTROL_MESSAGE")), kCloudWatchLogs);
  EXPECT_EQ(RecognisedAs("[" + Payload("g", {}) + "]"), "(none)");         // payloads are never in an array
  EXPECT_EQ(RecognisedAs(R"({"messageType":"DATA_MESSAGE"})"), "(none)");  // no logGroup
  EXPECT_EQ(RecognisedAs(R"({"logGroup":"x","messageType":"OTHER"})"), "(none)");
  // A CloudTrail file whose records mention a log group stays CloudTrail.
  EXPECT_EQ(RecognisedAs(R"({"Records":[{"eventVersion":"1.08","eventName":"CreateLogGroup",)"
                         R"("eventSource":"logs.amazonaws.com","requestParameters":{"logGroup":"x"}}]})"),
            kCloudTrail);
  const Parser* cw = ParserRegistry::Default().Find(kCloudWatchLogs);
  ASSERT_NE(cw, nullptr);
  for (std::string_view head : {"", "{", "[]", "2 1 eni-1", R"({"Records":[]})", R"({"messageType":"DATA_MESSAGE",)"})
    EXPECT_FALSE(cw->Recognize(head)) << head;
}

}  // namespace
}  // namespace vigil
