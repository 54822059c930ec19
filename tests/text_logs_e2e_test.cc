// End-to-end: the application log types (CloudWatch Logs subscription
// payloads as Firehose writes them to S3, syslog, JSON application logs)
// through the `vigil` command: ingest by content, detection on unwrapped
// records, and hunting by each type's field names.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "run_vigil.h"

namespace {

namespace fs = std::filesystem;

using vigil::testing::CmdResult;
using vigil::testing::Vigil;

class TextLogsE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-text-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "in");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Data() const { return "--data " + (dir_ / "data").string(); }
  void Write(const fs::path& p, const std::string& text) const { std::ofstream(p, std::ios::binary) << text; }
  fs::path dir_;
};

uint64_t Count(const std::string& json, const char* key) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  uint64_t v = 0;
  if (parser.parse(json).get(doc) || doc[key].get(v)) return ~uint64_t{0};
  return v;
}

// The `source_type`s of `hunt --json` output, one per matched record: a JSON
// record is printed as stored (a CloudTrail record, a JSON application log,
// a CloudWatch Logs event), a text line wrapped with its source type.
std::vector<std::string> HuntSources(const std::string& out) {
  std::vector<std::string> sources;
  simdjson::dom::parser parser;
  size_t start = 0;
  while (start < out.size()) {
    size_t nl = out.find('\n', start);
    if (nl == std::string::npos) nl = out.size();
    std::string line = out.substr(start, nl - start);
    start = nl + 1;
    if (line.empty()) continue;
    simdjson::dom::element doc;
    std::string_view type;
    if (parser.parse(line).get(doc)) {
      sources.push_back("(unreadable)");
    } else if (doc["source_type"].get(type) == simdjson::SUCCESS) {
      sources.emplace_back(type);
    } else if (doc["eventName"].get(type) == simdjson::SUCCESS) {
      sources.push_back("cloudtrail");
    } else if (doc["cloudwatch"].is_object()) {
      sources.push_back("cloudwatchlogs");
    } else {
      sources.push_back("json");
    }
  }
  return sources;
}

constexpr const char* kTrailPayload =
    R"({"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"aws-cloudtrail-logs","logStream":"111122223333_CloudTrail_eu-west-1",)"
    R"("subscriptionFilters":["all"],"logEvents":[{"id":"1","timestamp":1772446500500,"message":)"
    R"("{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::111122223333:user/mallory\",)"
    R"(\"accountId\":\"111122223333\"},\"eventTime\":\"2026-03-02T10:15:00Z\",\"eventSource\":\"cloudtrail.amazonaws.com\",)"
    R"(\"eventName\":\"StopLogging\",\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":\"198.51.100.7\",)"
    R"(\"requestParameters\":{\"name\":\"org-trail\"},\"eventID\":\"5d1f6c1e-0b7a-4c43-9a55-1d6f1c0e2a01\",)"
    R"(\"eventType\":\"AwsApiCall\",\"recipientAccountId\":\"111122223333\"}"},)"
    R"({"id":"2","timestamp":1772446560000,"message":"2 111122223333 eni-0a1b 203.0.113.9 10.1.2.3 44321 22 6 10 840 1772446500 1772446560 REJECT OK"}]})";

constexpr const char* kAppPayload =
    R"({"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"/aws/lambda/rotate-keys","logStream":"s",)"
    R"("subscriptionFilters":["all"],"logEvents":[)"
    R"({"id":"3","timestamp":1772446570000,"message":"START RequestId: 6c1c2a8e Version: $LATEST"},)"
    R"({"id":"4","timestamp":1772446570100,"message":"{\"time\":\"2026-03-02T10:16:10.100Z\",\"level\":\"error\",\"user\":\"svc-rotate\",\"msg\":\"rotation failed\"}"},)"
    R"({"id":"5","timestamp":1772446570200,"message":"<86>Mar  2 10:16:10 ip-10-1-2-3 sshd[881]: Failed password for root"}]})"
    R"({"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[]})";

TEST_F(TextLogsE2ETest, ApplicationLogsIngestDetectAndHunt) {
  // Firehose's S3 object: one gzip member per delivered payload, back to back.
  Write(dir_ / "trail.json", kTrailPayload);
  Write(dir_ / "app.json", kAppPayload);
  ASSERT_EQ(std::system(("gzip -c " + (dir_ / "trail.json").string() + " > " + (dir_ / "in/firehose.gz").string() +
                         " && gzip -c " + (dir_ / "app.json").string() + " >> " + (dir_ / "in/firehose.gz").string())
                            .c_str()),
            0);
  Write(dir_ / "in/auth.log",
        "Mar  2 10:17:01 bastion sshd[900]: Accepted publickey for ec2-user from 203.0.113.9 port 50022\n"
        "<38>1 2026-03-02T10:17:02Z bastion sudo - - [origin ip=\"203.0.113.9\"] ec2-user : COMMAND=/bin/bash\n"
        "<999>garbage\n");
  Write(dir_ / "in/app.jsonl",
        "{\"ts\":1772446630,\"level\":\"info\",\"username\":\"alice\",\"msg\":\"login ok\"}\n"
        "{\"ts\":1772446631,\"level\":\"error\",\"username\":\"bob\",\"msg\":\"login failed\"}\n");
  Write(dir_ / "in/NOTES.md", "# not a log\n");

  CmdResult in = Vigil("ingest --json " + Data() + " " + (dir_ / "in").string());
  EXPECT_EQ(in.exit_code, 1) << in.out;  // one dead letter: the bad syslog line
  EXPECT_EQ(Count(in.out, "files"), 3u) << in.out;
  EXPECT_EQ(Count(in.out, "skipped"), 1u);
  EXPECT_EQ(Count(in.out, "events"), 9u);
  EXPECT_EQ(Count(in.out, "errors"), 1u);

  // The CloudTrail record delivered through CloudWatch Logs is detected as CloudTrail.
  CmdResult alerts = Vigil("alerts --json " + Data());
  EXPECT_NE(alerts.out.find("StopLogging"), std::string::npos) << alerts.out;

  auto hunt = [&](const std::string& q) { return HuntSources(Vigil("hunt --json " + Data() + " '" + q + "'").out); };
  using V = std::vector<std::string>;
  EXPECT_EQ(hunt("eventName=StopLogging"), V{"cloudtrail"});
  EXPECT_EQ(hunt("source=cloudtrail"), V{"cloudtrail"});
  EXPECT_EQ(hunt("dstport=22 action=REJECT"), V{"vpcflow"});
  EXPECT_EQ(hunt("source=syslog appname=sshd"), (V{"syslog", "syslog"}));
  EXPECT_EQ(hunt("sd.origin.ip=203.0.113.9"), V{"syslog"});
  EXPECT_EQ(hunt("source=json level=error"), (V{"json", "json"}));
  EXPECT_EQ(hunt("username=bob"), V{"json"});
  EXPECT_EQ(hunt("cloudwatch.logGroup=\"/aws/lambda/rotate-keys\""), V{"cloudwatchlogs"});
  EXPECT_EQ(hunt("message=START*"), V{"cloudwatchlogs"});

  // A file named explicitly that nothing recognises is an error.
  EXPECT_EQ(Vigil("ingest " + Data() + " " + (dir_ / "in/NOTES.md").string()).exit_code, 1);
}

}  // namespace
