// The Firehose endpoint on serve's real HTTP listener: requests as Firehose
// sends them over the wire (gzip body, access key header), answers in
// Firehose's format, configuration from YAML.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <mutex>

#include "common/base64.h"
#include "formats/decompress.h"
#include "server/firehose_route.h"

namespace vigil::server {
namespace {

class KeepIntake final : public Intake {
 public:
  Status Accept(std::vector<IntakeRecord> records) override {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& r : records) accepted.push_back(std::move(r));
    return Status::Ok();
  }
  std::mutex mu;
  std::vector<IntakeRecord> accepted;
};

constexpr char kRequestId[] = "5ba7e0b2-7a1e-4b4f-9d55-0f4f1e2a3b4c";

std::string Body(const std::vector<std::string>& records) {
  std::string out = std::string(R"({"requestId":")") + kRequestId + R"(","timestamp":1700000000000,"records":[)";
  for (size_t i = 0; i < records.size(); ++i) {
    out += (i ? "," : "") + std::string(R"({"data":")") + Base64Encode(records[i]) + R"("})";
  }
  return out + "]}";
}

std::string CloudWatchPayload(const std::string& message) {
  return Gzip(R"({"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"/aws/lambda/f","logStream":"s",)"
              R"("subscriptionFilters":["to-vigil"],"logEvents":[{"id":"1","timestamp":1700000000000,"message":")" +
              message + R"("}]})");
}

class FirehoseRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = ParseServeConfig(
        "http:\n  port: 0\n  max_body_bytes: 64KiB\n"
        "ingest:\n  tokens: [ingest-token]\n"
        "firehose:\n  access_keys: [stream-key]\n  path: /firehose\n",
        "test.yaml");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    config_ = std::move(parsed).value();
    http_ = std::make_unique<HttpServer>(config_, std::vector<std::string>{"ingest-token"}, &intake_, &metrics_,
                                         [] { return true; });
    auto route = AddFirehoseRoute(*http_, config_, &intake_, &metrics_);
    ASSERT_TRUE(route.ok()) << route.status().ToString();
    endpoint_ = std::move(route).value();
    ASSERT_TRUE(http_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", http_->port());
  }
  void TearDown() override { http_->Stop(); }

  // POSTs as Firehose does: gzip body when `gzip`, the key header when given.
  httplib::Result Post(const std::string& body, const std::string& key, bool gzip = true) {
    httplib::Headers h = {{"X-Amz-Firehose-Protocol-Version", "1.0"},
                          {"X-Amz-Firehose-Request-Id", kRequestId},
                          {"X-Amz-Firehose-Source-Arn", "arn:aws:firehose:us-east-1:123456789012:deliverystream/v"}};
    if (!key.empty()) h.emplace("X-Amz-Firehose-Access-Key", key);
    if (gzip) h.emplace("Content-Encoding", "gzip");
    return client_->Post("/firehose", h, gzip ? Gzip(body) : body, "application/json");
  }
  static std::string ErrorOf(const std::string& body) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(body).get(doc) != simdjson::SUCCESS) return "(not json: " + body + ")";
    std::string_view id;
    EXPECT_EQ(doc["requestId"].get_string().get(id), simdjson::SUCCESS);
    EXPECT_EQ(id, kRequestId);
    int64_t ts = 0;
    EXPECT_EQ(doc["timestamp"].get_int64().get(ts), simdjson::SUCCESS);
    EXPECT_GT(ts, 1700000000000);
    std::string_view msg;
    return doc["errorMessage"].get_string().get(msg) == simdjson::SUCCESS ? std::string(msg) : "";
  }

  ServeConfig config_;
  KeepIntake intake_;
  MetricsRegistry metrics_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<FirehoseEndpoint> endpoint_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(FirehoseRouteTest, GzipDeliveryOfCloudWatchPayloadsIsAcknowledged) {
  auto r = Post(Body({CloudWatchPayload("START RequestId: 1"), CloudWatchPayload("END RequestId: 1")}), "stream-key");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(ErrorOf(r->body), "");
  ASSERT_EQ(intake_.accepted.size(), 2u);
  EXPECT_EQ(intake_.accepted[0].source, "firehose");
  EXPECT_TRUE(IsGzip(intake_.accepted[0].bytes));
  EXPECT_EQ(intake_.accepted[1].bytes, CloudWatchPayload("END RequestId: 1"));
  // Uncompressed bodies too.
  r = Post(Body({"x"}), "stream-key", /*gzip=*/false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("vigil_received_records_total{source=\"firehose\"} 3\n"), std::string::npos)
      << metrics->body;
}

TEST_F(FirehoseRouteTest, KeysAreTheStreamsNotIngestTokens) {
  auto r = Post(Body({"x"}), "ingest-token");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(ErrorOf(r->body), "invalid access key");
  r = Post(Body({"x"}), "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  // And the ingest API does not take the stream's key.
  auto ingest = client_->Post("/api/v1/ingest", {{"Authorization", "Bearer stream-key"}}, "{}\n", "application/json");
  ASSERT_TRUE(ingest);
  EXPECT_EQ(ingest->status, 401);
  EXPECT_TRUE(intake_.accepted.empty());
}

TEST_F(FirehoseRouteTest, TooLargeAndBrokenBodiesAnswerInFirehoseFormat) {
  // 64 KiB limit: a gzip body that inflates past it.
  auto r = Post(Body({std::string(80 * 1024, 'a')}), "stream-key");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(ErrorOf(r->body).find("http.max_body_bytes"), std::string::npos) << r->body;
  // Content-Encoding: gzip on a body that is not.
  httplib::Headers h = {{"X-Amz-Firehose-Request-Id", kRequestId},
                        {"X-Amz-Firehose-Access-Key", "stream-key"},
                        {"Content-Encoding", "gzip"}};
  r = client_->Post("/firehose", h, Body({"x"}), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(ErrorOf(r->body), "");
  r = Post("{\"records\":[{\"data\":\"%%%\"}]}", "stream-key");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(ErrorOf(r->body).find("not valid base64"), std::string::npos);
  EXPECT_TRUE(intake_.accepted.empty());
}

TEST(FirehoseConfigYamlTest, SectionIsReadStrictly) {
  auto c = ParseServeConfig("firehose:\n  access_keys: [a, b]\n  parser: cloudwatchlogs\n  max_record_bytes: 2MiB\n",
                            "f.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->firehose.enabled());
  EXPECT_EQ(c->firehose.path, "/api/v1/firehose");
  EXPECT_EQ(c->firehose.max_record_bytes, 2u << 20);
  EXPECT_EQ(*c->firehose.ResolveKeys(), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(ParseServeConfig("", "f.yaml")->firehose.enabled());  // off unless a key is configured

  auto bad = ParseServeConfig("firehose:\n  access_key: a\n", "f.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("firehose.access_key: unknown key"), std::string::npos)
      << bad.status().ToString();
  EXPECT_FALSE(ParseServeConfig("firehose:\n  access_keys: [a]\n  parser: nosuch\n", "f.yaml").ok());
  EXPECT_FALSE(ParseServeConfig("firehose:\n  access_keys: [a]\n  path: /api/v1/ingest\n", "f.yaml").ok());
  auto env = ParseServeConfig("firehose:\n  access_key_env: VIGIL_TEST_UNSET_FIREHOSE_KEY\n", "f.yaml");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->firehose.ResolveKeys().status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil::server
