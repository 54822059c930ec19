// The S3 client and the S3 source against a local S3-compatible server
// (s3rver, started here on a free port): signed requests, listing and paging,
// errors, and polling CloudTrail deliveries with checkpoints across restarts.
#include <gtest/gtest.h>
#include <libdeflate.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "aws/s3_client.h"
#include "ingest/fake_intake.h"
#include "ingest/s3_source.h"
#include "s3/local_s3.h"
#include "test_files.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using testing::Gzip;
using testing::ReadFile;

const std::string kStratus = std::string(VIGIL_SHARED_DATA) + "/cloudtrail/stratus-red-team/docs/detonation-logs/";

testing::LocalS3* server = nullptr;
std::string server_error;  // why the local S3 server did not start

class S3Test : public ::testing::Test {
 protected:
  // A fatal failure here would make every test of the suite report as
  // skipped; a server that does not start must fail each test instead.
  static void SetUpTestSuite() {
    server = new testing::LocalS3();
    server_error = server->Start();
  }
  static void TearDownTestSuite() {
    delete server;
    server = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server, nullptr);
    ASSERT_EQ(server_error, "") << "the S3 tests need the local S3 server (make deps installs it)";
    bucket_ = "vigil-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::transform(bucket_.begin(), bucket_.end(), bucket_.begin(), [](unsigned char c) { return std::tolower(c); });
    ASSERT_TRUE(Client().CreateBucket(bucket_).ok());
    data_ = fs::temp_directory_path() / ("vigil-s3test-" + std::to_string(getpid()) + "-" + bucket_);
    fs::remove_all(data_);
  }
  void TearDown() override { fs::remove_all(data_); }

  static aws::S3Config Config(std::string secret = testing::LocalS3::kSecretKey) {
    aws::S3Config c;
    c.endpoint = server->endpoint();
    c.region = "us-east-1";
    c.credentials = {testing::LocalS3::kAccessKey, std::move(secret), ""};
    c.max_retries = 1;
    c.retry_base_delay_ms = 10;
    return c;
  }
  static aws::S3Client Client() { return aws::S3Client(Config()); }

  std::unique_ptr<S3Source> Source(const std::string& prefix = "AWSLogs/", const std::string& start_date = "",
                                   int page_keys = 0) {
    S3SourceConfig c;
    c.start_date = start_date;
    c.list_page_keys = page_keys;
    c.name = "trail";
    c.bucket = bucket_;
    c.prefix = prefix;
    c.s3 = Config();
    return std::make_unique<S3Source>(c, &intake_, Env::Default(), (data_ / "sources/trail").string(),
                                      [this](const Status& s) { errors_.push_back(s.ToString()); });
  }

  void Put(const std::string& key, const std::string& body) {
    Status s = Client().PutObject(bucket_, key, body);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string bucket_;
  fs::path data_;
  FakeIntake intake_;
  std::vector<std::string> errors_;
};

TEST_F(S3Test, ClientListsPagesAndGetsObjects) {
  auto client = Client();
  Put("logs/a b+c.json", "{\"x\":1}");
  Put("logs/b.json", "{\"x\":2}");
  Put("logs/sub/c.json", "{\"x\":3}");
  Put("other/d.json", "{}");

  aws::ListObjectsRequest req;
  req.bucket = bucket_;
  req.prefix = "logs/";
  req.max_keys = 1;
  std::vector<std::string> keys;
  for (;;) {
    auto page = client.ListObjectsV2(req);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& o : page->objects) keys.push_back(o.key);
    if (!page->is_truncated) break;
    req.continuation_token = page->next_continuation_token;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"logs/a b+c.json", "logs/b.json", "logs/sub/c.json"}));

  req = {};
  req.bucket = bucket_;
  req.prefix = "logs/";
  req.delimiter = "/";
  req.start_after = "logs/a b+c.json";
  auto page = client.ListObjectsV2(req);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "logs/b.json");
  EXPECT_EQ(page->objects[0].size, 7u);
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"logs/sub/"});

  auto body = client.GetObject(bucket_, "logs/a b+c.json", 1 << 20);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(*body, "{\"x\":1}");
  EXPECT_EQ(client.GetObject(bucket_, "logs/a b+c.json", 3).status().code(), StatusCode::kLimitExceeded);

  auto missing = client.GetObject(bucket_, "logs/none.json", 1 << 20);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("NoSuchKey"), std::string::npos) << missing.status().message();
  EXPECT_NE(missing.status().message().find(bucket_ + "/logs/none.json"), std::string::npos);
}

TEST_F(S3Test, WrongSecretIsSignatureDoesNotMatch) {
  aws::S3Client bad(Config("not-the-secret"));
  aws::ListObjectsRequest req;
  req.bucket = bucket_;
  auto page = bad.ListObjectsV2(req);
  ASSERT_FALSE(page.ok());
  const std::string& m = page.status().message();
  EXPECT_NE(m.find("SignatureDoesNotMatch"), std::string::npos) << m;
  EXPECT_NE(m.find("HTTP 403"), std::string::npos) << m;
  EXPECT_NE(m.find(bucket_), std::string::npos) << m;

  // The source reports the same error and delivers nothing.
  S3SourceConfig c;
  c.name = "trail";
  c.bucket = bucket_;
  c.s3 = Config("not-the-secret");
  Put("AWSLogs/x.json", "{}");
  S3Source source(c, &intake_, Env::Default(), (data_ / "sources/trail").string());
  Status s = source.PollOnce();
  EXPECT_NE(s.message().find("SignatureDoesNotMatch"), std::string::npos) << s.ToString();
  EXPECT_TRUE(intake_.accepted().empty());
}

TEST_F(S3Test, PollerReadsCloudTrailDeliveriesOnceAcrossRestarts) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(kStratus)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 6u);

  // CloudTrail's layout: AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<id>.json.gz
  auto key = [](const std::string& account, const std::string& region, const std::string& hhmm, int i) {
    return "AWSLogs/" + account + "/CloudTrail/" + region + "/2024/01/01/" + account + "_CloudTrail_" + region +
           "_20240101T" + hhmm + "Z_" + std::to_string(i) + ".json.gz";
  };
  std::map<std::string, std::string> uploaded;  // key -> gzip bytes
  auto upload = [&](const std::string& k, const std::string& file) {
    std::string gz = Gzip(ReadFile(file));
    Put(k, gz);
    uploaded[k] = gz;
  };
  upload(key("222222222222", "us-east-1", "0000", 0), files[0]);
  upload(key("222222222222", "us-east-1", "0005", 1), files[1]);
  upload(key("222222222222", "us-west-2", "0005", 2), files[2]);
  upload("AWSLogs/222222222222/CloudTrail-Digest/us-east-1/2024/01/01/digest.json.gz", files[3]);

  {
    auto source = Source();
    Status s = source->PollOnce();
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto got = intake_.accepted();
    ASSERT_EQ(got.size(), 3u) << "CloudTrail digest files are not read";
    for (const auto& r : got) {
      ASSERT_TRUE(r.name.starts_with("s3://" + bucket_ + "/")) << r.name;
      std::string k = r.name.substr(6 + bucket_.size());
      ASSERT_TRUE(uploaded.count(k)) << k;
      EXPECT_EQ(r.bytes, uploaded[k]) << k;
      EXPECT_EQ(r.source, "trail");
    }
    // One partition per account and region.
    EXPECT_EQ(source->partitions().size(), 2u);
    ASSERT_TRUE(source->PollOnce().ok());
    EXPECT_EQ(intake_.accepted().size(), 3u) << "a second poll fetches nothing";
  }

  // Restart: a new instance with the same checkpoint directory fetches nothing again.
  auto source = Source();
  ASSERT_TRUE(source->PollOnce().ok());
  EXPECT_EQ(intake_.accepted().size(), 3u);

  // A new account that sorts before everything read so far, a region of the
  // known account, and a later delivery in a known partition are all found.
  upload(key("111111111111", "eu-west-1", "0010", 3), files[4]);
  upload(key("222222222222", "ap-south-1", "0010", 4), files[5]);
  upload(key("222222222222", "us-east-1", "0010", 5), files[0]);
  // A delivery that arrives late, sorting before the newest key of its partition.
  upload(key("222222222222", "us-east-1", "0003", 6), files[1]);
  ASSERT_TRUE(source->PollOnce().ok());
  std::vector<std::string> names = intake_.names();
  ASSERT_EQ(names.size(), 7u);
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size()) << "no object is delivered twice";
  for (const auto& [k, gz] : uploaded) {
    EXPECT_EQ(unique.count("s3://" + bucket_ + "/" + k), k.find("CloudTrail-Digest") == std::string::npos) << k;
  }
  EXPECT_TRUE(errors_.empty());
}

// A new source on a bucket with history reads date-partitioned deliveries
// from its start date on, in every partition, and never lists earlier days;
// objects outside a dated layout are read whatever their name.
TEST_F(S3Test, StartDateSkipsEarlierDays) {
  const std::string records = "{\"Records\":[]}";
  const std::string trail = "AWSLogs/111111111111/CloudTrail/";
  Put(trail + "us-east-1/2024/12/31/a.json.gz", records);
  Put(trail + "us-east-1/2025/01/01/b.json.gz", records);
  Put(trail + "us-east-1/2025/03/07/c.json.gz", records);
  Put(trail + "eu-west-1/2024/06/01/d.json.gz", records);
  Put(trail + "eu-west-1/2025/01/02/e.json.gz", records);
  Put("AWSLogs/manual/f.json", records);  // not date-partitioned
  auto source = Source("AWSLogs/", "2025-01-01");
  ASSERT_TRUE(source->PollOnce().ok());
  std::vector<std::string> names = intake_.names();
  std::sort(names.begin(), names.end());
  const std::string s3 = "s3://" + bucket_ + "/";
  EXPECT_EQ(names, (std::vector<std::string>{s3 + "AWSLogs/111111111111/CloudTrail/eu-west-1/2025/01/02/e.json.gz",
                                             s3 + "AWSLogs/111111111111/CloudTrail/us-east-1/2025/01/01/b.json.gz",
                                             s3 + "AWSLogs/111111111111/CloudTrail/us-east-1/2025/03/07/c.json.gz",
                                             s3 + "AWSLogs/manual/f.json"}));
  // Later deliveries still come, and a late one before the start date does not.
  Put(trail + "us-east-1/2025/03/08/g.json.gz", records);
  Put(trail + "us-east-1/2024/12/30/h.json.gz", records);
  ASSERT_TRUE(source->PollOnce().ok());
  EXPECT_EQ(intake_.names().size(), 5u);
  EXPECT_EQ(intake_.names().back(), s3 + trail + "us-east-1/2025/03/08/g.json.gz");
  EXPECT_TRUE(errors_.empty());
}

// A backlog across accounts and regions is read in delivery order, as it was
// delivered, not one partition's history after another's; within a partition
// key order still holds (and so does the checkpoint), across small pages too.
TEST_F(S3Test, ABacklogAcrossPartitionsArrivesInDeliveryOrder) {
  const std::string records = "{\"Records\":[]}";
  auto key = [](const std::string& account, const std::string& region, const std::string& day,
                const std::string& hhmm) {
    return "AWSLogs/" + account + "/CloudTrail/" + region + "/2025/03/" + day + "/" + account + "_CloudTrail_" +
           region + "_202503" + day + "T" + hhmm + "Z_x.json.gz";
  };
  const std::vector<std::string> delivered = {
      key("222222222222", "eu-west-1", "01", "0900"), key("111111111111", "us-east-1", "01", "0905"),
      key("111111111111", "us-east-1", "01", "1200"), key("222222222222", "us-east-1", "01", "1300"),
      key("222222222222", "eu-west-1", "02", "0000"), key("111111111111", "us-east-1", "02", "0100"),
      key("333333333333", "us-east-1", "02", "0200"), key("222222222222", "eu-west-1", "02", "0300"),
  };
  for (const std::string& k : delivered) Put(k, records);
  Put("AWSLogs/manual/notes.json", records);  // no delivery time: first
  auto source = Source("AWSLogs/", "", /*page_keys=*/2);  // several pages per partition
  ASSERT_TRUE(source->PollOnce().ok());
  std::vector<std::string> want = {"s3://" + bucket_ + "/AWSLogs/manual/notes.json"};
  for (const std::string& k : delivered) want.push_back("s3://" + bucket_ + "/" + k);
  EXPECT_EQ(intake_.names(), want);
  // Nothing again; a later delivery comes next.
  ASSERT_TRUE(source->PollOnce().ok());
  EXPECT_EQ(intake_.names().size(), want.size());
  Put(key("111111111111", "us-east-1", "03", "0000"), records);
  ASSERT_TRUE(source->PollOnce().ok());
  ASSERT_EQ(intake_.names().size(), want.size() + 1);
  EXPECT_EQ(intake_.names().back(), "s3://" + bucket_ + "/" + key("111111111111", "us-east-1", "03", "0000"));
  EXPECT_TRUE(errors_.empty());
}

TEST_F(S3Test, CredentialsComeFromTheEnvironmentWhenNotConfigured) {
  Put("AWSLogs/a.json", "{\"Records\":[]}");
  S3SourceConfig c;
  c.name = "trail";
  c.bucket = bucket_;
  c.s3 = Config();
  c.s3.credentials = {};
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  {
    S3Source source(c, &intake_, Env::Default(), (data_ / "sources/trail").string());
    Status s = source.Open();
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    EXPECT_NE(s.message().find("AWS_ACCESS_KEY_ID"), std::string::npos) << s.message();
  }
  setenv("AWS_ACCESS_KEY_ID", testing::LocalS3::kAccessKey, 1);
  setenv("AWS_SECRET_ACCESS_KEY", testing::LocalS3::kSecretKey, 1);
  S3Source source(c, &intake_, Env::Default(), (data_ / "sources/trail").string());
  Status s = source.PollOnce();
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(intake_.names(), std::vector<std::string>{"s3://" + bucket_ + "/AWSLogs/a.json"});
}

TEST_F(S3Test, OverloadedIntakeDelaysTheCheckpoint) {
  Put("AWSLogs/a.json", "{\"Records\":[]}");
  Put("AWSLogs/b.json", "{\"Records\":[]}");
  auto source = Source();
  intake_.RefuseNext(2);
  ASSERT_TRUE(source->PollOnce().ok());
  EXPECT_EQ(intake_.names(), (std::vector<std::string>{"s3://" + bucket_ + "/AWSLogs/a.json",
                                                       "s3://" + bucket_ + "/AWSLogs/b.json"}));
  EXPECT_EQ(intake_.calls(), 4);
}

TEST_F(S3Test, StartPollsOnItsOwnThreadUntilStopped) {
  S3SourceConfig c;
  c.name = "trail";
  c.bucket = bucket_;
  c.s3 = Config();
  c.interval_ms = 50;
  S3Source source(c, &intake_, Env::Default(), (data_ / "sources/trail").string());
  ASSERT_TRUE(source.Start().ok());
  Put("AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/01/a.json", "{\"Records\":[]}");
  for (int i = 0; i < 500 && intake_.accepted().empty(); ++i) usleep(10'000);
  source.Stop();
  EXPECT_EQ(intake_.accepted().size(), 1u);
  EXPECT_GE(source.stats().polls, 1u);
}

}  // namespace
}  // namespace vigil
