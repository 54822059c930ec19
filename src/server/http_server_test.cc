#include "server/http_server.h"

#include <gtest/gtest.h>

#include <mutex>

#include "ingest/fake_intake.h"
#include "server/log.h"

namespace vigil::server {
namespace {

const char kRecord1[] = R"({"eventVersion":"1.08","eventID":"e1","eventName":"ListBuckets"})";
const char kRecord2[] = R"({"eventVersion":"1.08","eventID":"e2","eventName":"StopLogging"})";

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.http.port = 0;
    config_.http.max_body_bytes = 64 * 1024;
    config_.http.retry_after_seconds = 7;
    server_ = std::make_unique<HttpServer>(config_, std::vector<std::string>{"tok-1", "tok-2"}, &intake_, &metrics_,
                                           [this] { return ready_.load(); });
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  httplib::Result Post(const std::string& body, const std::string& token = "tok-1", const std::string& path = "/api/v1/ingest") {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return client_->Post(path.c_str(), h, body, "application/x-ndjson");
  }

  ServeConfig config_;
  FakeIntake intake_;
  MetricsRegistry metrics_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, NdjsonAndArrayBodiesAreAcceptedWithTheirRecordCounts) {
  auto r = Post(std::string(kRecord1) + "\n" + kRecord2 + "\n\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("\"accepted\":2"), std::string::npos) << r->body;
  r = Post(std::string("[") + kRecord1 + ",\n " + kRecord2 + "]");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"accepted\":2"), std::string::npos) << r->body;
  r = Post(std::string("{\"Records\": [") + kRecord1 + "," + kRecord2 + "," + kRecord1 + "]}");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"accepted\":3"), std::string::npos) << r->body;
  ASSERT_EQ(intake_.accepted().size(), 3u);
  EXPECT_EQ(intake_.accepted()[0].source, "http");
  EXPECT_EQ(intake_.accepted()[0].bytes, std::string(kRecord1) + "\n" + kRecord2 + "\n\n");
  EXPECT_EQ(intake_.accepted()[0].parser, "");
  EXPECT_NE(metrics_.RenderPrometheus().find("vigil_received_records_total{source=\"http\"} 7"), std::string::npos);
}

TEST_F(HttpServerTest, GzipBodiesAreDecompressed) {
  client_->set_compress(true);
  std::string body;
  for (int i = 0; i < 200; ++i) body += std::string(kRecord1) + "\n";
  auto r = Post(body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("\"accepted\":200"), std::string::npos) << r->body;
  ASSERT_EQ(intake_.accepted().size(), 1u);
  EXPECT_EQ(intake_.accepted()[0].bytes, body);
  // A body that says gzip but is not: 400, nothing accepted.
  client_->set_compress(false);
  httplib::Headers h{{"Authorization", "Bearer tok-1"}, {"Content-Encoding", "gzip"}};
  auto bad = client_->Post("/api/v1/ingest", h, "not gzip at all", "application/x-ndjson");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(intake_.accepted().size(), 1u);
}

TEST_F(HttpServerTest, TokensAreRequired) {
  for (const std::string& token : {std::string(), std::string("wrong"), std::string("tok-10"), std::string("tok-")}) {
    auto r = Post(kRecord1, token);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << token;
    EXPECT_EQ(r->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u);
  }
  EXPECT_EQ(Post(kRecord1, "tok-2")->status, 200);
  EXPECT_EQ(intake_.accepted().size(), 1u);
}

TEST(HttpServerNoTokenTest, IngestIsRefusedWhenNoTokenIsConfigured) {
  ServeConfig config;
  config.http.port = 0;
  FakeIntake intake;
  MetricsRegistry metrics;
  HttpServer server(config, {}, &intake, &metrics, nullptr);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client c("127.0.0.1", server.port());
  auto r = c.Post("/api/v1/ingest", {{"Authorization", "Bearer "}}, kRecord1, "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->body.find("no ingest token is configured"), std::string::npos) << r->body;
}

TEST_F(HttpServerTest, UnreadableAndOversizedBodiesAreRefusedWithTheReason) {
  struct Case {
    std::string body;
    int status;
    const char* message;
  } cases[] = {
      {"", 400, "body is empty"},
      {"   \n", 400, "body is empty"},
      {"hello world", 400, "neither NDJSON nor a JSON array"},
      {std::string("[") + kRecord1, 400, "end"},
      {std::string(70 * 1024, ' '), 413, "max_body_bytes"},
  };
  for (const Case& k : cases) {
    auto r = Post(k.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, k.status) << k.body.substr(0, 40);
    EXPECT_NE(r->body.find(k.message), std::string::npos) << r->body;
  }
  // Small on the wire, large once decompressed: 413 too.
  client_->set_compress(true);
  std::string big;
  while (big.size() < 100 * 1024) big += std::string(kRecord1) + "\n";
  auto r = Post(big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_TRUE(intake_.accepted().empty());
}

TEST_F(HttpServerTest, TypeNamesTheParserAndTextLogsAreCountedByLine) {
  httplib::Headers h{{"Authorization", "Bearer tok-1"}};
  auto r = client_->Post("/api/v1/ingest?type=syslog", h, "<34>Oct 11 22:14:15 host su: a\n<34>Oct 11 22:14:16 host su: b\n",
                         "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("\"accepted\":2"), std::string::npos) << r->body;
  ASSERT_EQ(intake_.accepted().size(), 1u);
  EXPECT_EQ(intake_.accepted()[0].parser, "syslog");
  auto bad = client_->Post("/api/v1/ingest?type=nosuchlog", h, kRecord1, "text/plain");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("nosuchlog"), std::string::npos);
}

TEST_F(HttpServerTest, OverloadIs429AndShutdownIs503WithRetryAfter) {
  intake_.RefuseNext(1000);
  auto r = Post(kRecord1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->get_header_value("Retry-After"), "7");
  server_->BeginShutdown();
  r = Post(kRecord1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "7");
  std::string m = metrics_.RenderPrometheus();
  EXPECT_NE(m.find("vigil_dropped_records_total{source=\"http\",reason=\"overload\"} 1"), std::string::npos) << m;
}

TEST_F(HttpServerTest, HealthReadinessAndMetrics) {
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
  EXPECT_EQ(client_->Get("/readyz")->status, 503);
  ready_ = true;
  EXPECT_EQ(client_->Get("/readyz")->status, 200);
  auto m = client_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(m->body.find("# TYPE vigil_received_records_total counter"), std::string::npos) << m->body;
}

// Lines are counted as a body arrives, in whatever pieces the socket gives:
// the count is the same wherever the pieces split it.
TEST(LineCounterTest, CountsNonBlankLinesWhereverTheBodyIsSplit) {
  const std::string body = "{\"a\":1}\r\n \t\r\n\n  {\"b\":2}\n\t\n{\"c\":3}";
  for (size_t a = 0; a <= body.size(); ++a) {
    for (size_t b = a; b <= body.size(); ++b) {
      LineCounter lines;
      lines.Feed(std::string_view(body).substr(0, a));
      lines.Feed(std::string_view(body).substr(a, b - a));
      lines.Feed(std::string_view(body).substr(b));
      ASSERT_EQ(lines.lines(), 3u) << "split at " << a << " and " << b;
    }
  }
  LineCounter blank;
  blank.Feed(" \r\n\t\n");
  EXPECT_EQ(blank.lines(), 0u);
}

TEST(ServerLogTest, LinesAreKeyValueOrJson) {
  LogFields f{{"port", "8514"}, {"error", "a \"b\" c"}};
  EXPECT_EQ(FormatLogLine(false, 0, LogLevel::kWarn, "listening now", f),
            "ts=1970-01-01T00:00:00Z level=warn msg=\"listening now\" port=8514 error=\"a \\\"b\\\" c\"");
  EXPECT_EQ(FormatLogLine(true, 0, LogLevel::kInfo, "up", {{"port", "1"}}),
            R"({"ts":"1970-01-01T00:00:00Z","level":"info","msg":"up","port":"1"})");
}

}  // namespace
}  // namespace vigil::server
