#include "ingest/dir_watch.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ingest/fake_intake.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

const std::string kStratus = std::string(VIGIL_SHARED_DATA) + "/cloudtrail/stratus-red-team/docs/detonation-logs/";
const std::string kDay = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class DirWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("vigil-dirwatch-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "drop");
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<DirWatch> Make(size_t window = 1000) {
    DirWatchConfig c;
    c.name = "drops";
    c.directory = (root_ / "drop").string();
    c.window = window;
    return std::make_unique<DirWatch>(c, &intake_, Env::Default(), (root_ / "sources/drops").string(),
                                      [this](const Status& s) { errors_.push_back(s.ToString()); });
  }
  void Write(const std::string& rel, const std::string& bytes, bool append = false) {
    fs::path p = root_ / "drop" / rel;
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
    out << bytes;
  }
  std::string Path(const std::string& rel) const { return (root_ / "drop" / rel).string(); }

  fs::path root_;
  FakeIntake intake_;
  std::vector<std::string> errors_;
};

TEST_F(DirWatchTest, NewFilesAreDeliveredOnceWhenStable) {
  std::string a = ReadAll(kStratus + "aws.credential-access.ec2-get-password-data.json");
  std::string b = ReadAll(kStratus + "aws.credential-access.secretsmanager-retrieve-secrets.json");
  ASSERT_FALSE(a.empty());
  Write(kDay + "111122223333_CloudTrail_us-east-1_20240101T0000Z_a.json", a);
  Write(kDay + "111122223333_CloudTrail_us-east-1_20240101T0005Z_b.json", b);
  auto w = Make();
  ASSERT_TRUE(w->PollOnce().ok());
  EXPECT_TRUE(intake_.accepted().empty()) << "a file is delivered once its size held for a poll";
  ASSERT_TRUE(w->PollOnce().ok());
  auto got = intake_.accepted();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, Path(kDay + "111122223333_CloudTrail_us-east-1_20240101T0000Z_a.json"));
  EXPECT_EQ(got[0].bytes, a);
  EXPECT_EQ(got[0].source, "drops");
  EXPECT_EQ(got[1].bytes, b);
  ASSERT_TRUE(w->PollOnce().ok());
  EXPECT_EQ(intake_.accepted().size(), 2u);
  EXPECT_EQ(w->stats().inputs, 2u);
  EXPECT_TRUE(errors_.empty());
}

// A tree of several accounts' deliveries dropped at once is read interleaved
// in delivery order, not one account's days after another's; within a
// directory, name order.
TEST_F(DirWatchTest, ATreeOfAccountsIsReadInDeliveryOrder) {
  auto file = [](const std::string& account, const std::string& day, const std::string& hhmm) {
    return "AWSLogs/" + account + "/CloudTrail/us-east-1/2024/01/" + day + "/" + account +
           "_CloudTrail_us-east-1_202401" + day + "T" + hhmm + "Z_x.json";
  };
  const std::vector<std::string> delivered = {
      file("222222222222", "01", "0900"), file("111111111111", "01", "1000"), file("111111111111", "01", "1100"),
      file("222222222222", "02", "0000"), file("111111111111", "02", "0100"),
  };
  for (const std::string& rel : delivered) Write(rel, "{\"Records\":[]}");
  Write("manual/readme.json", "{}");  // no delivery time: first
  auto w = Make();
  ASSERT_TRUE(w->PollOnce().ok());
  ASSERT_TRUE(w->PollOnce().ok());
  std::vector<std::string> want = {Path("manual/readme.json")};
  for (const std::string& rel : delivered) want.push_back(Path(rel));
  EXPECT_EQ(intake_.names(), want);
  EXPECT_TRUE(errors_.empty());
}

TEST_F(DirWatchTest, GrowingFileWaitsUntilItsSizeHolds) {
  std::string full = ReadAll(kStratus + "aws.credential-access.ec2-get-password-data.json");
  Write(kDay + "x.json", full.substr(0, 100));
  auto w = Make();
  ASSERT_TRUE(w->PollOnce().ok());
  Write(kDay + "x.json", full.substr(100, 100), true);
  ASSERT_TRUE(w->PollOnce().ok());
  EXPECT_TRUE(intake_.accepted().empty()) << "still growing";
  Write(kDay + "x.json", full.substr(200), true);
  ASSERT_TRUE(w->PollOnce().ok());
  EXPECT_TRUE(intake_.accepted().empty()) << "still growing";
  ASSERT_TRUE(w->PollOnce().ok());
  ASSERT_EQ(intake_.accepted().size(), 1u);
  EXPECT_EQ(intake_.accepted()[0].bytes, full);
  // An empty file is never delivered (it may be about to be written).
  Write(kDay + "empty.json", "");
  ASSERT_TRUE(w->PollOnce().ok());
  ASSERT_TRUE(w->PollOnce().ok());
  EXPECT_EQ(intake_.accepted().size(), 1u);
}

TEST_F(DirWatchTest, RestartDoesNotRedeliver) {
  Write(kDay + "a.json", "{\"Records\":[]}");
  Write("other/b.log", "line\n");
  {
    auto w = Make();
    ASSERT_TRUE(w->PollOnce().ok());
    ASSERT_TRUE(w->PollOnce().ok());
    ASSERT_EQ(intake_.accepted().size(), 2u);
  }
  auto w = Make();  // a new process: same checkpoint directory
  ASSERT_TRUE(w->PollOnce().ok());
  ASSERT_TRUE(w->PollOnce().ok());
  EXPECT_EQ(intake_.accepted().size(), 2u);
  Write(kDay + "c.json", "{\"Records\":[]}");
  Write(kDay + "0-earlier.json", "{\"Records\":[]}");  // sorts before what was delivered: still new
  ASSERT_TRUE(w->PollOnce().ok());
  ASSERT_TRUE(w->PollOnce().ok());
  auto names = intake_.names();
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[2], Path(kDay + "0-earlier.json"));
  EXPECT_EQ(names[3], Path(kDay + "c.json"));
}

TEST_F(DirWatchTest, DeletedRotatedAndHiddenFiles) {
  Write("app/app.log", "one\n");
  auto w = Make();
  ASSERT_TRUE(w->PollOnce().ok());
  ASSERT_TRUE(w->PollOnce().ok());
  ASSERT_EQ(intake_.accepted().size(), 1u);
  // Rotation: the delivered file is renamed and a new one started under the old name.
  fs::rename(Path("app/app.log"), Path("app/app.log.1"));
  Write("app/app.log", "two\n");
  // A hidden temporary file (rsync, aws s3 cp) is not read; a file removed before it settled is forgotten.
  Write("app/.app.log.2.XYZ", "partial");
  Write("app/gone.log", "x\n");
  ASSERT_TRUE(w->PollOnce().ok());
  fs::remove(Path("app/gone.log"));
  fs::remove(Path("app/app.log.1"));
  ASSERT_TRUE(w->PollOnce().ok());
  ASSERT_TRUE(w->PollOnce().ok());
  auto names = intake_.names();
  // The old name was already delivered: new content under a delivered name is not read again.
  ASSERT_EQ(names.size(), 1u);
  EXPECT_TRUE(errors_.empty());
  Write("app/app.log.2", "three\n");
  ASSERT_TRUE(w->PollOnce().ok());
  ASSERT_TRUE(w->PollOnce().ok());
  ASSERT_EQ(intake_.names().size(), 2u);
  EXPECT_EQ(intake_.names()[1], Path("app/app.log.2"));
}

TEST_F(DirWatchTest, OverloadedIntakeIsRetriedAndCheckpointWaits) {
  Write(kDay + "a.json", "{\"Records\":[]}");
  auto w = Make();
  ASSERT_TRUE(w->PollOnce().ok());
  intake_.RefuseNext(3);
  ASSERT_TRUE(w->PollOnce().ok());
  EXPECT_EQ(intake_.accepted().size(), 1u);
  EXPECT_EQ(intake_.calls(), 4);
}

TEST_F(DirWatchTest, StartAndStopRunOnItsOwnThread) {
  DirWatchConfig c;
  c.name = "drops";
  c.directory = (root_ / "drop").string();
  c.interval_ms = 20;
  DirWatch w(c, &intake_, Env::Default(), (root_ / "sources/drops").string());
  ASSERT_TRUE(w.Start().ok());
  Write(kDay + "a.json", "{\"Records\":[]}");
  for (int i = 0; i < 500 && intake_.accepted().empty(); ++i) usleep(10'000);
  w.Stop();
  EXPECT_EQ(intake_.accepted().size(), 1u);
  EXPECT_GE(w.stats().polls, 2u);
}

TEST_F(DirWatchTest, TooLargeFilesAreReportedSkippedAndCounted) {
  MetricsRegistry metrics;
  DirWatchConfig c;
  c.name = "drops";
  c.directory = (root_ / "drop").string();
  c.max_input_bytes = 10;
  DirWatch w(c, &intake_, Env::Default(), (root_ / "sources/drops").string(),
             [this](const Status& s) { errors_.push_back(s.ToString()); });
  w.ExportMetrics(&metrics);
  Write("big.json", "{\"Records\":[1,2,3,4]}");
  Write("ok.json", "{}");
  ASSERT_TRUE(w.PollOnce().ok());
  ASSERT_TRUE(w.PollOnce().ok());
  ASSERT_TRUE(w.PollOnce().ok());
  EXPECT_EQ(intake_.names(), std::vector<std::string>{Path("ok.json")});
  ASSERT_EQ(errors_.size(), 1u) << "reported once, then marked done";
  EXPECT_NE(errors_[0].find(Path("big.json")), std::string::npos) << errors_[0];
  EXPECT_EQ(w.stats().too_large, 1u);
  std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find("vigil_dropped_records_total{source=\"drops\",reason=\"too_large\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("vigil_received_records_total{source=\"drops\"} 1"), std::string::npos) << text;
}

TEST_F(DirWatchTest, CorruptCheckpointIsAnErrorNamingTheFile) {
  Write("a.log", "x\n");
  {
    auto w = Make();
    ASSERT_TRUE(w->PollOnce().ok());
    ASSERT_TRUE(w->PollOnce().ok());
  }
  for (const auto& e : fs::directory_iterator(root_ / "sources/drops")) {
    std::ofstream(e.path(), std::ios::trunc) << "vigil-source-checkpoint 1\npartition \nafter a";
  }
  auto w = Make();
  Status s = w->Open();
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find((root_ / "sources/drops").string()), std::string::npos) << s.message();
}

TEST(KeyWindowTest, LateNamesAreFoundWithinTheWindowOnly) {
  KeyWindow w;
  for (std::string k : {"b", "d", "f"}) w.MarkDone(k, 2);
  EXPECT_EQ(w.after, "b");
  EXPECT_TRUE(w.Done("a")) << "at or below the high-water mark: treated as done";
  EXPECT_FALSE(w.Done("c")) << "late, but inside the window: still picked up";
  EXPECT_TRUE(w.Done("d"));
  EXPECT_FALSE(w.Done("g"));
  EXPECT_EQ(w.recent.size(), 2u);
}

}  // namespace
}  // namespace vigil
