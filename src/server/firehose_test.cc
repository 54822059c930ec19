// Firehose HTTP endpoint delivery: requests built per the AWS specification
// (headers, JSON body, base64 records, gzip body, CloudWatch Logs payloads as
// records) and the responses Firehose expects.
#include "server/firehose.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <mutex>

#include "common/base64.h"
#include "common/json_writer.h"
#include "formats/decompress.h"
#include "formats/test_sink.h"

namespace vigil {
namespace {

constexpr int64_t kNow = 1700000000123;
constexpr char kRequestId[] = "ed4acda5-034f-9f42-bba1-f29aea6d7d8f";
constexpr char kKey[] = "s3cr3t-key-from-the-stream-config";

class FakeIntake : public Intake {
 public:
  Status Accept(std::vector<IntakeRecord> records) override {
    std::lock_guard lock(mu);
    ++calls;
    if (!answer.ok()) return answer;
    for (auto& r : records) accepted.push_back(std::move(r));
    return Status::Ok();
  }
  std::mutex mu;
  Status answer;
  int calls = 0;
  std::vector<IntakeRecord> accepted;
};

// The body Firehose sends: {"requestId","timestamp","records":[{"data"}]}.
std::string Body(const std::vector<std::string>& records, std::string_view request_id = kRequestId) {
  std::string out = R"({"requestId":)" + JsonString(request_id) + R"(,"timestamp":1578090901599,"records":[)";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i > 0) out += ",";
    out += R"({"data":")" + Base64Encode(records[i]) + R"("})";
  }
  return out + "]}";
}

HttpHeaders Headers(std::string_view key = kKey, bool gzip = false) {
  HttpHeaders h = {{"X-Amz-Firehose-Protocol-Version", "1.0"},
                   {"X-Amz-Firehose-Request-Id", kRequestId},
                   {"X-Amz-Firehose-Source-Arn", "arn:aws:firehose:us-east-1:123456789012:deliverystream/vigil"},
                   {"Content-Type", "application/json"}};
  if (!key.empty()) h.emplace_back("X-Amz-Firehose-Access-Key", std::string(key));
  if (gzip) h.emplace_back("Content-Encoding", "gzip");
  return h;
}

// The CloudTrail records of one Stratus Red Team detonation, one JSON each.
std::vector<std::string> StratusRecords() {
  std::string text = testing::ReadFile(std::string(VIGIL_SHARED_DATA) +
                                       "/cloudtrail/stratus-red-team/docs/detonation-logs/"
                                       "aws.credential-access.ec2-get-password-data.json");
  simdjson::dom::parser parser;
  std::vector<std::string> out;
  for (simdjson::dom::element e : parser.parse(text).get_array()) out.push_back(simdjson::minify(e));
  return out;
}

// A CloudWatch Logs subscription payload, gzip-compressed as the subscription
// hands it to Firehose.
std::string CloudWatchPayload(const std::vector<std::string>& messages, std::string_view type = "DATA_MESSAGE") {
  std::string json = R"({"messageType":)" + JsonString(type) +
                     R"(,"owner":"123456789012","logGroup":"aws-cloudtrail-logs","logStream":"123456789012_CloudTrail_us-east-1",)"
                     R"("subscriptionFilters":["to-vigil"],"logEvents":[)";
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) json += ",";
    json += R"({"id":")" + std::to_string(36000000 + i) + R"(","timestamp":1722375073000,"message":)" +
            JsonString(messages[i]) + "}";
  }
  return Gzip(json + "]}");
}

class FirehoseTest : public ::testing::Test {
 protected:
  void SetUp() override { endpoint_ = Make({}); }
  std::unique_ptr<FirehoseEndpoint> Make(FirehoseConfig config) {
    if (config.access_keys.empty()) config.access_keys = {"old-key", kKey};
    auto e = FirehoseEndpoint::Create(std::move(config), &intake_, &metrics_, [] { return kNow; });
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return std::move(e).value();
  }
  // The response body's fields, checked to be exactly what Firehose reads.
  static std::string ErrorOf(const FirehoseResponse& r) {
    simdjson::dom::parser parser;
    simdjson::dom::object o = parser.parse(r.body).get_object();
    EXPECT_EQ(std::string_view(o["requestId"].get_string()), kRequestId);
    EXPECT_EQ(int64_t(o["timestamp"].get_int64()), kNow);
    std::string_view msg;
    if (o["errorMessage"].get_string().get(msg) != simdjson::SUCCESS) return "";
    return std::string(msg);
  }

  FakeIntake intake_;
  MetricsRegistry metrics_;
  std::unique_ptr<FirehoseEndpoint> endpoint_;
};

TEST_F(FirehoseTest, RecordsAreAcceptedAndAcknowledgedWithTheRequestId) {
  std::vector<std::string> records = StratusRecords();
  ASSERT_GE(records.size(), 3u);
  FirehoseResponse r = endpoint_->Handle("POST", Headers(), Body(records), "10.0.0.5");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::string(R"({"requestId":")") + kRequestId + R"(","timestamp":1700000000123})");
  ASSERT_NE(FindHeader(r.headers, "content-type"), nullptr);
  EXPECT_EQ(*FindHeader(r.headers, "content-type"), "application/json");
  EXPECT_EQ(FindHeader(r.headers, "Content-Encoding"), nullptr);  // responses are never compressed
  ASSERT_EQ(intake_.accepted.size(), records.size());
  EXPECT_EQ(intake_.calls, 1);  // one Accept per request: acknowledged all together
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(intake_.accepted[i].bytes, records[i]);
    EXPECT_EQ(intake_.accepted[i].source, "firehose");
    EXPECT_EQ(intake_.accepted[i].parser, "");
  }
  EXPECT_EQ(intake_.accepted[1].name, std::string("firehose 10.0.0.5 ") + kRequestId + " #1");
  // Each record reads as the CloudTrail event it is.
  testing::Collect c = testing::ParseAs(testing::RecognisedAs(intake_.accepted[0].bytes), intake_.accepted[0].bytes);
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].source_type, "cloudtrail");
  EXPECT_NE(metrics_.RenderPrometheus().find("vigil_received_records_total{source=\"firehose\"} " +
                                             std::to_string(records.size()) + "\n"),
            std::string::npos);
}

TEST_F(FirehoseTest, GzipBodyIsInflated) {
  std::vector<std::string> records = StratusRecords();
  FirehoseResponse r = endpoint_->Handle("POST", Headers(kKey, /*gzip=*/true), Gzip(Body(records)));
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(intake_.accepted.size(), records.size());
  EXPECT_EQ(intake_.accepted.back().bytes, records.back());
  // Content-Encoding: gzip on a body that is not gzip is a bad request.
  r = endpoint_->Handle("POST", Headers(kKey, true), Body(records));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorOf(r).find("not gzip"), std::string::npos) << r.body;
  // Another encoding is refused by name.
  HttpHeaders br = Headers();
  br.emplace_back("Content-Encoding", "br");
  r = endpoint_->Handle("POST", br, Body(records));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorOf(r).find("\"br\""), std::string::npos);
}

TEST_F(FirehoseTest, CloudWatchLogsPayloadsInRecordsReachTheirParser) {
  // CloudTrail delivered to CloudWatch Logs, subscribed to Firehose, to vigil:
  // every record a gzip payload; a CONTROL_MESSAGE checks the path first.
  std::vector<std::string> trail = StratusRecords();
  std::vector<std::string> first(trail.begin(), trail.begin() + 2);
  std::vector<std::string> rest(trail.begin() + 2, trail.end());
  std::vector<std::string> records = {
      CloudWatchPayload({"CWL CONTROL MESSAGE: Checking health of destination Firehose."}, "CONTROL_MESSAGE"),
      CloudWatchPayload(first), CloudWatchPayload(rest)};
  FirehoseResponse r = endpoint_->Handle("POST", Headers(kKey, true), Gzip(Body(records)), "10.0.0.5");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(intake_.accepted.size(), 3u);

  // Downstream, each record is inflated and recognised as it would be from a file.
  size_t events = 0;
  for (const IntakeRecord& rec : intake_.accepted) {
    EXPECT_TRUE(IsGzip(rec.bytes));  // handed on as received
    auto text = MaybeDecompress(rec.bytes, rec.name);
    ASSERT_TRUE(text.ok());
    ASSERT_EQ(testing::RecognisedAs(text->view()), "cloudwatchlogs");
    testing::Collect c = testing::ParseAs("cloudwatchlogs", text->view());
    EXPECT_TRUE(c.dead.empty());
    for (const Event& e : c.events) {
      EXPECT_EQ(e.source_type, "cloudtrail");
      ++events;
    }
  }
  EXPECT_EQ(events, trail.size());  // the control message adds none
}

TEST_F(FirehoseTest, WrongOrMissingAccessKeyIsRefusedWith401) {
  std::string body = Body(StratusRecords());
  FirehoseResponse r = endpoint_->Handle("POST", Headers("not-the-key"), body);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(ErrorOf(r), "invalid access key");
  r = endpoint_->Handle("POST", Headers(std::string(kKey) + "x"), body);  // a prefix is not enough
  EXPECT_EQ(r.status, 401);
  r = endpoint_->Handle("POST", Headers(""), body);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(ErrorOf(r).find("missing X-Amz-Firehose-Access-Key"), std::string::npos);
  EXPECT_EQ(intake_.calls, 0);
  // Either configured key is accepted (a key being rotated).
  EXPECT_EQ(endpoint_->Handle("POST", Headers("old-key"), body).status, 200);
  EXPECT_TRUE(endpoint_->Authenticate(kKey));
  EXPECT_FALSE(endpoint_->Authenticate(""));
  EXPECT_NE(metrics_.RenderPrometheus().find("vigil_source_requests_total{source=\"firehose\",code=\"401\"} 3\n"),
            std::string::npos);
}

TEST_F(FirehoseTest, BadBase64RefusesTheWholeRequest) {
  std::string body = Body({"one", "two"});
  body.replace(body.find("dHdv"), 4, "d!dv");  // "two", one character broken
  FirehoseResponse r = endpoint_->Handle("POST", Headers(), body);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorOf(r), "record 1: data is not valid base64: invalid character at offset 1");
  EXPECT_EQ(intake_.calls, 0);  // Firehose retries the batch: accepting record 0 would duplicate it
  EXPECT_NE(metrics_.RenderPrometheus().find(
                "vigil_dropped_records_total{source=\"firehose\",reason=\"malformed\"} 2\n"),
            std::string::npos);
}

TEST_F(FirehoseTest, EmptyRecordsAreAcknowledgedWithoutIntake) {
  FirehoseResponse r = endpoint_->Handle("POST", Headers(), Body({}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(ErrorOf(r), "");
  EXPECT_EQ(intake_.calls, 0);
  // An empty record carries nothing; its neighbours keep their indexes.
  r = endpoint_->Handle("POST", Headers(), Body({"", "x"}));
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(intake_.accepted.size(), 1u);
  EXPECT_EQ(intake_.accepted[0].bytes, "x");
  EXPECT_EQ(intake_.accepted[0].name, std::string("firehose - ") + kRequestId + " #1");
}

TEST_F(FirehoseTest, MalformedRequestsAre400WithTheReason) {
  struct Case {
    std::string body;
    std::string error;
  } cases[] = {
      {"not json", "body is not JSON"},
      {"[1,2]", "body is not a JSON object"},
      {R"({"requestId":")" + std::string(kRequestId) + R"(","timestamp":1})", "body has no records array"},
      {R"({"records":[{"data":1}]})", "record 0 has no data string"},
      {R"({"records":[{}]})", "record 0 has no data string"},
      {R"({"timestamp":"yesterday","records":[]})", "timestamp is not an integer"},
      {Body({"a"}, "another-id"), "requestId \"another-id\" differs from X-Amz-Firehose-Request-Id"},
  };
  for (const Case& c : cases) {
    FirehoseResponse r = endpoint_->Handle("POST", Headers(), c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_NE(ErrorOf(r).find(c.error), std::string::npos) << c.body << " -> " << r.body;
  }
  EXPECT_EQ(intake_.calls, 0);
  EXPECT_EQ(endpoint_->Handle("GET", Headers(), "").status, 405);
}

TEST_F(FirehoseTest, CommonAttributesAreReadAndMalformedOnesRefused) {
  HttpHeaders h = Headers();
  h.emplace_back("X-Amz-Firehose-Common-Attributes", R"({"commonAttributes":{"env":"prod","team":"sec"}})");
  FirehoseDelivery d;
  FirehoseError error{0, ""};
  FirehoseConfig config;
  ASSERT_TRUE(ParseFirehoseDelivery(config, h, Body({"a"}), "", &d, &error)) << error.message;
  EXPECT_EQ(d.request_id, kRequestId);
  EXPECT_EQ(d.timestamp_ms, 1578090901599);
  EXPECT_EQ(d.common_attributes, (std::map<std::string, std::string>{{"env", "prod"}, {"team", "sec"}}));
  EXPECT_EQ(endpoint_->Handle("POST", h, Body({"a"})).status, 200);

  h.back().second = R"({"commonAttributes":{"n":1}})";
  FirehoseResponse r = endpoint_->Handle("POST", h, Body({"a"}));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorOf(r).find("attribute \"n\" is not a string"), std::string::npos);
  h.back().second = "{";
  EXPECT_EQ(endpoint_->Handle("POST", h, Body({"a"})).status, 400);
}

TEST_F(FirehoseTest, LimitsAnswer413) {
  FirehoseConfig config;
  config.max_body_bytes = 4096;
  config.max_inflated_bytes = 8192;
  config.max_record_bytes = 100;
  auto small = Make(config);
  FirehoseResponse r = small->Handle("POST", Headers(), Body({std::string(5000, 'a')}));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(ErrorOf(r).find("exceeds the limit of 4096"), std::string::npos);
  // A small gzip body that inflates beyond the limit (a compression bomb).
  r = small->Handle("POST", Headers(kKey, true), Gzip(Body({std::string(3000, 'a'), std::string(3000, 'b')})));
  EXPECT_EQ(r.status, 413) << r.body;
  // One record over the record limit, exactly at it, and one byte over.
  EXPECT_EQ(small->Handle("POST", Headers(), Body({std::string(100, 'r')})).status, 200);
  r = small->Handle("POST", Headers(), Body({"ok", std::string(101, 'r')}));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(ErrorOf(r).find("record 1 of 101 bytes exceeds the record limit of 100"), std::string::npos);
  EXPECT_EQ(intake_.accepted.size(), 1u);
}

TEST_F(FirehoseTest, IntakeOverloadIs503WithRetryAfterAndFailureIs500) {
  intake_.answer = Status::Unavailable("intake backlog full");
  FirehoseResponse r = endpoint_->Handle("POST", Headers(), Body({"a", "b"}));
  EXPECT_EQ(r.status, 503);
  ASSERT_NE(FindHeader(r.headers, "Retry-After"), nullptr);
  EXPECT_EQ(ErrorOf(r), "intake backlog full");
  intake_.answer = Status::IoError("wal: fdatasync: no space left on device");
  r = endpoint_->Handle("POST", Headers(), Body({"a"}));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(FindHeader(r.headers, "Retry-After"), nullptr);
  std::string text = metrics_.RenderPrometheus();
  EXPECT_NE(text.find("vigil_dropped_records_total{source=\"firehose\",reason=\"overload\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_dropped_records_total{source=\"firehose\",reason=\"error\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_received_records_total{source=\"firehose\"} 0\n"), std::string::npos) << text;
}

TEST(FirehoseConfigTest, AnEndpointWithoutAccessKeyIsRefused) {
  FakeIntake intake;
  auto e = FirehoseEndpoint::Create(FirehoseConfig{}, &intake, nullptr);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("no access key"), std::string::npos);
  FirehoseConfig empty_key;
  empty_key.access_keys = {""};
  EXPECT_FALSE(FirehoseEndpoint::Create(empty_key, &intake, nullptr).ok());
}

}  // namespace
}  // namespace vigil
