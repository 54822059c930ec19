// Retention and tiering against a local S3-compatible server (s3rver behind a
// SigV4 check): segments go hot -> warm -> cold -> deleted by age, hunts see
// the same events wherever they are, legal holds block deletion, every move is
// in the ledger, a crash at any step of a move recovers without losing or
// duplicating a segment, and the cost report counts what was ingested.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "aws/s3_client.h"
#include "common/time.h"
#include "env/fault_injection_env.h"
#include "run_vigil.h"
#include "stored_event_key.h"
#include "s3/local_s3.h"
#include "serve_test_util.h"
#include "store/event_store.h"
#include "tier/catalog.h"
#include "tier/cold_env.h"
#include "tier/storage_report.h"
#include "tier/tierer.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using testing::Vigil;

const std::string kStratus = std::string(VIGIL_SHARED_DATA) + "/cloudtrail/stratus-red-team/docs/detonation-logs";
const std::string kVpcFlow = std::string(VIGIL_SHARED_DATA) + "/vpcflow/awsdocs-examples.log";

testing::LocalS3* server = nullptr;
std::string server_error;
fs::path* template_dir = nullptr;  // cloudtrail and vpcflow ingested once, copied per test
std::string template_error;

constexpr int64_t kDayNs = 86'400'000'000'000;
// Segment format 2 writes a segment per (source type, account, day): the
// Stratus detonation logs (8 days, several accounts) are 35 of them, the VPC
// flow log examples (one account) 8.
constexpr size_t kCloudtrailSegments = 35;
constexpr size_t kVpcflowSegments = 8;
const std::string kCt = std::to_string(kCloudtrailSegments);

int64_t Time(const char* rfc3339) {
  std::tm tm{};
  strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000;
}

class TieringTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server = new testing::LocalS3();
    server_error = server->Start();
    // Child processes (vigil hunt) and this one read cold segments with these.
    setenv("AWS_ACCESS_KEY_ID", testing::LocalS3::kAccessKey, 1);
    setenv("AWS_SECRET_ACCESS_KEY", testing::LocalS3::kSecretKey, 1);
    template_dir = new fs::path(fs::temp_directory_path() / ("vigil-tiering-template-" + std::to_string(getpid())));
    fs::remove_all(*template_dir);
    for (const std::string& input : {kStratus, kVpcFlow}) {
      auto r = Vigil("ingest --no-detect --json --data " + template_dir->string() + " " + input);
      if (r.exit_code != 0) template_error = "ingest of " + input + " failed: " + r.out;
    }
  }
  static void TearDownTestSuite() {
    delete server;
    server = nullptr;
    fs::remove_all(*template_dir);
    delete template_dir;
  }

  void SetUp() override {
    ASSERT_EQ(server_error, "") << "the tiering tests need the local S3 server (make deps installs it)";
    ASSERT_EQ(template_error, "");
    bucket_ = "vigil-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::transform(bucket_.begin(), bucket_.end(), bucket_.begin(), [](unsigned char c) { return std::tolower(c); });
    ASSERT_TRUE(Client().CreateBucket(bucket_).ok());
    dir_ = fs::temp_directory_path() / ("vigil-tiering-" + std::to_string(getpid()) + "-" + bucket_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_ = (dir_ / "data").string();
    fs::copy(*template_dir, data_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static aws::S3Config S3() {
    aws::S3Config c;
    c.endpoint = server->endpoint();
    c.credentials = {testing::LocalS3::kAccessKey, testing::LocalS3::kSecretKey, ""};
    c.max_retries = 1;
    c.retry_base_delay_ms = 10;
    return c;
  }
  static aws::S3Client Client() { return aws::S3Client(S3()); }

  TieringConfig Config(std::map<std::string, RetentionPolicy> retention) const {
    TieringConfig c;
    c.retention = std::move(retention);
    c.cold.bucket = bucket_;
    c.cold.prefix = "cold/";
    c.cold.s3 = S3();
    return c;
  }

  // The same settings as a serve YAML file, for the CLI.
  std::string ConfigFile(const std::string& retention_yaml) const {
    std::string path = (dir_ / "vigil.yaml").string();
    std::ofstream(path) << "data_dir: " << data_ << "\n"
                        << "storage:\n"
                        << "  cold:\n"
                        << "    bucket: " << bucket_ << "\n"
                        << "    prefix: cold/\n"
                        << "    endpoint: " << server->endpoint() << "\n"
                        << "  retention:\n"
                        << retention_yaml;
    return path;
  }

  std::vector<std::string> Objects() {
    aws::ListObjectsRequest req;
    req.bucket = bucket_;
    auto page = Client().ListObjectsV2(req);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> keys;
    if (page.ok())
      for (const auto& o : page->objects) keys.push_back(o.key);
    return keys;
  }

  // Files under events/ whose names end with `suffix`.
  size_t CountFiles(const std::string& data, const std::string& suffix, const std::string& source = "") {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(fs::path(data) / "events" / source)) {
      std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.size() >= suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        ++n;
    }
    return n;
  }

  // Every stored event, read as hunt reads them (cold segments fetched).
  std::vector<std::string> Events(const std::string& data, const std::string& source = "",
                                  std::optional<int64_t> from = {}, std::optional<int64_t> to = {}) {
    ColdReadOptions o;
    o.events_dir = data + "/events";
    o.cache_dir = data + "/" + kColdCacheDir;
    ColdReadEnv env(Env::Default(), o);
    SegmentStoreOptions so;
    so.env = &env;
    so.read_only = true;
    auto store = OpenSegmentStore(o.events_dir, so);
    EXPECT_TRUE(store.ok());
    ScanOptions scan;
    if (!source.empty()) scan.source_type = source;
    scan.from_ns = from;
    scan.to_ns = to;
    return store.ok() ? testing::ScanEventKeys(store->get(), scan) : std::vector<std::string>{};
  }

  Result<TierRunStats> Run(const std::string& data, const TieringConfig& config, int64_t now, Env* env = nullptr,
                           std::function<Status(std::string_view)> crash = nullptr) {
    auto catalog = StorageCatalog::Open(data + "/" + kStorageCatalogFile);
    if (!catalog.ok()) return catalog.status();
    Tierer tierer(env ? env : Env::Default(), data + "/events", data + "/" + kColdCacheDir, config, catalog->get());
    TierRunOptions o;
    o.now_ns = now;
    o.crash_point = std::move(crash);
    return tierer.Run(o);
  }

  std::string bucket_;
  fs::path dir_;
  std::string data_;
};

// --------------------------------------------------------------------------

TEST_F(TieringTest, ColdAndBackThroughTheCliHuntSeesTheSameEvents) {
  auto before = Vigil("hunt --json --data " + data_ + " 'source=cloudtrail'");
  ASSERT_EQ(before.exit_code, 0);
  ASSERT_EQ(std::count(before.out.begin(), before.out.end(), '\n'), 310);
  auto needle = Vigil("hunt --json --data " + data_ + " 'eventName=StopLogging'");
  ASSERT_EQ(needle.exit_code, 0);
  ASSERT_FALSE(needle.out.empty());
  const size_t cloudtrail_segments = CountFiles(data_, ".seg", "cloudtrail");
  ASSERT_EQ(cloudtrail_segments, kCloudtrailSegments);

  std::string config = ConfigFile("    cloudtrail: {warm_after_days: 1, cold_after_days: 2}\n");
  auto tier = Vigil("storage tier --json --config " + config + " --now 2027-01-01T00:00:00Z");
  ASSERT_EQ(tier.exit_code, 0) << tier.out;
  EXPECT_NE(tier.out.find("\"warmed\":" + kCt + ",\"cooled\":" + kCt + ",\"deleted\":0"), std::string::npos) << tier.out;

  // Nothing of cloudtrail is left locally but stubs; vpcflow has no policy.
  EXPECT_EQ(CountFiles(data_, ".seg", "cloudtrail"), 0u);
  EXPECT_EQ(CountFiles(data_, ".seg.cold", "cloudtrail"), cloudtrail_segments);
  EXPECT_EQ(CountFiles(data_, ".seg", "vpcflow"), kVpcflowSegments);
  EXPECT_EQ(Objects().size(), cloudtrail_segments);

  auto after = Vigil("hunt --json --data " + data_ + " 'source=cloudtrail'");
  ASSERT_EQ(after.exit_code, 0);
  EXPECT_EQ(after.out, before.out);
  EXPECT_EQ(Vigil("hunt --json --data " + data_ + " 'eventName=StopLogging'").out, needle.out);
  size_t cached = 0;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(data_) / kColdCacheDir)) cached += e.is_regular_file();
  EXPECT_EQ(cached, cloudtrail_segments) << "one cached copy per cold segment";

  // The ledger has each move, done.
  auto history = Vigil("storage history --json --data " + data_);
  ASSERT_EQ(history.exit_code, 0);
  EXPECT_EQ(std::count(history.out.begin(), history.out.end(), '\n'), 2 * static_cast<long>(kCloudtrailSegments));
  size_t warm = 0, cold = 0, pos = 0;
  while ((pos = history.out.find("\"action\":\"warm\",\"status\":\"done\"", pos)) != std::string::npos) ++warm, ++pos;
  pos = 0;
  while ((pos = history.out.find("\"action\":\"cold\",\"status\":\"done\"", pos)) != std::string::npos) ++cold, ++pos;
  EXPECT_EQ(warm, kCloudtrailSegments);
  EXPECT_EQ(cold, kCloudtrailSegments);
  EXPECT_NE(history.out.find("\"object\":\"s3://" + bucket_ + "/cold/cloudtrail/"), std::string::npos);

  // A second run has nothing to do.
  tier = Vigil("storage tier --json --config " + config + " --now 2027-01-01T00:00:00Z");
  EXPECT_NE(tier.out.find("\"warmed\":0,\"cooled\":0,\"deleted\":0"), std::string::npos) << tier.out;
}

TEST_F(TieringTest, WarmRecompressionKeepsEveryEventByteExact) {
  const auto before = Events(data_);
  ASSERT_EQ(before.size(), 331u);
  std::map<std::string, uint64_t> sizes;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(data_) / "events"))
    if (e.is_regular_file()) sizes[e.path().string()] = e.file_size();

  auto stats = Run(data_, Config({{"*", {1, 0, 0}}}), NowNanos() + 400 * kDayNs);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->warmed, kCloudtrailSegments + kVpcflowSegments);
  EXPECT_TRUE(stats->errors.empty());
  EXPECT_LT(stats->warm_bytes_after, stats->warm_bytes_before);

  EXPECT_EQ(Events(data_), before);
  size_t smaller = 0;
  for (const auto& [path, size] : sizes) smaller += fs::file_size(path) < size;
  EXPECT_GT(smaller, 0u);

  auto catalog = StorageCatalog::Open(data_ + "/" + kStorageCatalogFile);
  ASSERT_TRUE(catalog.ok());
  auto segments = (*catalog)->Segments();
  ASSERT_TRUE(segments.ok());
  size_t warm = 0;
  for (const auto& [path, s] : *segments) warm += s.tier == Tier::kWarm;
  EXPECT_EQ(warm, kCloudtrailSegments + kVpcflowSegments);
}

// A directory written by a vigil of the first layout (FORMAT 1, v1
// segments) is read in place: hunt leaves it as it is, the next ingest marks
// it FORMAT 2 and adds v2 segments beside the v1 ones, and warm tiering
// recompresses each segment in its own format, keeping every event.
TEST_F(TieringTest, VersionOneDataIsReadInPlaceAndWarmedInItsOwnFormat) {
  const std::string data = (dir_ / "upgraded").string();
  setenv("VIGIL_SEGMENT_FORMAT", "1", 1);
  auto v1 = Vigil("ingest --no-detect --json --data " + data + " " + kVpcFlow);
  unsetenv("VIGIL_SEGMENT_FORMAT");
  ASSERT_EQ(v1.exit_code, 0) << v1.out;
  std::ofstream(data + "/FORMAT", std::ios::trunc) << "vigil-data 1\n";
  auto read_format = [&] {
    std::ifstream in(data + "/FORMAT");
    std::string line;
    std::getline(in, line);
    return line;
  };
  // Versions of the segment files, by path under events/.
  auto versions = [&] {
    std::map<std::string, int> out;
    for (const auto& e : fs::recursive_directory_iterator(fs::path(data) / "events")) {
      if (!e.is_regular_file() || e.path().extension() != ".seg") continue;
      std::ifstream in(e.path(), std::ios::binary);
      char header[16] = {};
      in.read(header, sizeof header);
      out[fs::relative(e.path(), fs::path(data) / "events").string()] = static_cast<unsigned char>(header[8]);
    }
    return out;
  };
  const auto v1_files = versions();
  ASSERT_EQ(v1_files.size(), kVpcflowSegments);
  for (const auto& [path, v] : v1_files) EXPECT_EQ(v, 1) << path;

  auto hunt = Vigil("hunt --json --data " + data + " 'source=vpcflow'");
  ASSERT_EQ(hunt.exit_code, 0);
  EXPECT_EQ(std::count(hunt.out.begin(), hunt.out.end(), '\n'), 21);
  EXPECT_EQ(read_format(), "vigil-data 1") << "a reader changes nothing";

  ASSERT_EQ(Vigil("ingest --no-detect --json --data " + data + " " + kStratus).exit_code, 0);
  EXPECT_EQ(read_format(), "vigil-data 2");
  auto mixed = versions();
  size_t v2 = 0;
  for (const auto& [path, v] : mixed) v2 += v == 2;
  EXPECT_EQ(v2, kCloudtrailSegments);
  EXPECT_EQ(mixed.size(), kCloudtrailSegments + kVpcflowSegments);

  const auto before = Events(data);
  ASSERT_EQ(before.size(), 331u);
  auto stats = Run(data, Config({{"*", {1, 0, 0}}}), NowNanos() + 400 * kDayNs);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->warmed, kCloudtrailSegments + kVpcflowSegments);
  EXPECT_TRUE(stats->errors.empty());
  EXPECT_EQ(Events(data), before);
  EXPECT_EQ(versions(), mixed);
}

TEST_F(TieringTest, DeletesAfterNDaysUnlessALegalHoldCoversIt) {
  const auto vpc_before = Events(data_, "vpcflow");
  ASSERT_EQ(vpc_before.size(), 21u);
  // vpcflow segments: 2014-12-14, 2015-05-10, 2015-05-29, 2016-10-31, 2019-08-26,
  // 2019-08-27, 2021-03-26 and today (records without a start time).
  // Older than 1,200 days on 2024-06-01: before 2021-02-17.
  std::string config = ConfigFile("    vpcflow: {delete_after_days: 1200}\n");
  const size_t kept = Events(data_, "vpcflow", Time("2015-01-01T00:00:00Z"), Time("2016-01-01T00:00:00Z")).size() +
                      Events(data_, "vpcflow", Time("2021-02-17T00:00:00Z")).size();
  const size_t recent = Events(data_, "vpcflow", Time("2021-02-17T00:00:00Z")).size();
  auto hold = Vigil("storage hold --json --config " + config +
                    " --source vpcflow --from 2015-01-01T00:00:00Z --to 2016-01-01T00:00:00Z --reason 'case 7'");
  ASSERT_EQ(hold.exit_code, 0);
  EXPECT_NE(hold.out.find("\"id\":1"), std::string::npos) << hold.out;
  ASSERT_NE(Vigil("storage hold --config " + config + " --source vpcflow").exit_code, 0) << "a hold needs a reason";

  auto tier = Vigil("storage tier --json --config " + config + " --now 2024-06-01T00:00:00Z");
  ASSERT_EQ(tier.exit_code, 0);
  EXPECT_NE(tier.out.find("\"deleted\":4,\"held\":2"), std::string::npos) << tier.out;
  EXPECT_EQ(CountFiles(data_, ".seg", "vpcflow"), 4u);
  EXPECT_EQ(CountFiles(data_, ".seg", "cloudtrail"), kCloudtrailSegments);
  EXPECT_EQ(Events(data_, "vpcflow").size(), kept);

  // Released, the held segments go on the next run.
  auto release = Vigil("storage release 1 --config " + config + " --reason 'case closed'");
  ASSERT_EQ(release.exit_code, 0);
  EXPECT_NE(Vigil("storage release 1 --config " + config).exit_code, 0) << "released twice";
  tier = Vigil("storage tier --json --config " + config + " --now 2024-06-01T00:00:00Z");
  EXPECT_NE(tier.out.find("\"deleted\":2,\"held\":0"), std::string::npos) << tier.out;
  EXPECT_EQ(Events(data_, "vpcflow").size(), recent);

  auto history = Vigil("storage history --json --data " + data_);
  EXPECT_EQ(std::count(history.out.begin(), history.out.end(), '\n'), 2 + 6);  // hold, release, 6 deletions
  EXPECT_NE(history.out.find("\"action\":\"hold\""), std::string::npos);
  EXPECT_NE(history.out.find("case closed"), std::string::npos);
}

TEST_F(TieringTest, ColdSegmentsAreDeletedFromTheBucketToo) {
  std::map<std::string, RetentionPolicy> policy{{"cloudtrail", {0, 30, 1000}}};
  auto cooled = Run(data_, Config(policy), Time("2025-06-01T00:00:00Z"));
  ASSERT_TRUE(cooled.ok());
  EXPECT_EQ(cooled->cooled, kCloudtrailSegments);
  EXPECT_EQ(Objects().size(), kCloudtrailSegments);
  EXPECT_EQ(Events(data_, "cloudtrail").size(), 310u);
  // A hold on every source blocks all of it, then nothing does.
  auto catalog = StorageCatalog::Open(data_ + "/" + kStorageCatalogFile);
  ASSERT_TRUE(catalog.ok());
  LegalHold all;
  all.source_type = "*";
  all.reason = "litigation";
  auto id = (*catalog)->AddHold(all);
  ASSERT_TRUE(id.ok());
  auto blocked = Run(data_, Config(policy), Time("2028-01-01T00:00:00Z"));
  ASSERT_TRUE(blocked.ok());
  EXPECT_EQ(blocked->deleted, 0u);
  EXPECT_EQ(blocked->held, kCloudtrailSegments);
  EXPECT_EQ(Objects().size(), kCloudtrailSegments);
  ASSERT_TRUE((*catalog)->ReleaseHold(*id, "").ok());
  auto deleted = Run(data_, Config(policy), Time("2028-01-01T00:00:00Z"));
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->deleted, kCloudtrailSegments);
  EXPECT_TRUE(Objects().empty());
  EXPECT_EQ(CountFiles(data_, ".cold", "cloudtrail"), 0u);
  EXPECT_TRUE(Events(data_, "cloudtrail").empty());
}

// A crash at each step of each kind of move: the next run finishes or rolls
// back the move, and the store then holds exactly what a run without the
// crash leaves (no segment lost, none twice).
TEST_F(TieringTest, CrashInTheMiddleOfAMoveRecovers) {
  struct Case {
    std::string step;
    std::map<std::string, RetentionPolicy> policy;
  };
  const std::map<std::string, RetentionPolicy> cold{{"cloudtrail", {1, 2, 0}}};
  const std::map<std::string, RetentionPolicy> cold_then_delete{{"cloudtrail", {0, 2, 0}}, {"vpcflow", {0, 0, 1000}}};
  std::vector<Case> cases;
  for (const char* s : {"warm:begun", "warm:rewritten", "cold:begun", "cold:uploaded", "cold:stub_written",
                        "cold:local_removed", "recover:cold_local_removed"})
    cases.push_back({s, cold});
  for (const char* s : {"delete:begun", "delete:removed"}) cases.push_back({s, cold_then_delete});
  const int64_t now = Time("2024-06-01T00:00:00Z") + 400LL * 86400 * 1'000'000'000;  // 2025-07-06

  for (const Case& c : cases) {
    SCOPED_TRACE(c.step);
    // What the same run leaves without a crash.
    std::string reference = (dir_ / ("ref-" + c.step.substr(0, c.step.find(':')))).string();
    if (!fs::exists(reference)) {
      fs::copy(*template_dir, reference, fs::copy_options::recursive);
      auto r = Run(reference, Config(c.policy), now);
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE(r->errors.empty());
    }
    const auto expected = Events(reference);

    std::string data = (dir_ / ("crash-" + std::to_string(&c - cases.data()))).string();
    fs::copy(*template_dir, data, fs::copy_options::recursive);
    FaultInjectionEnv fault(Env::Default());
    bool crashed = false;
    auto crash = [&](std::string_view step) -> Status {
      if (crashed || step != c.step) return Status::Ok();
      crashed = true;
      Status s = fault.SimulateCrash();
      EXPECT_TRUE(s.ok()) << s.ToString();
      return Status::IoError("crash at " + std::string(step));
    };
    if (c.step == "recover:cold_local_removed") {
      // A crash during recovery itself: crash once mid-cold, then again
      // while recovery finishes that move.
      auto first = Run(data, Config(c.policy), now, &fault, [&](std::string_view step) -> Status {
        if (step != "cold:stub_written") return Status::Ok();
        EXPECT_TRUE(fault.SimulateCrash().ok());
        return Status::IoError("crash at cold:stub_written");
      });
      EXPECT_FALSE(first.ok());
    }
    auto crashed_run = Run(data, Config(c.policy), now, &fault, crash);
    ASSERT_TRUE(crashed);
    ASSERT_FALSE(crashed_run.ok());

    // Between the crash and recovery, readers never see a segment twice.
    auto mid = Events(data);
    EXPECT_EQ(std::set<std::string>(mid.begin(), mid.end()).size(), mid.size());

    auto recovered = Run(data, Config(c.policy), now);
    ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
    EXPECT_TRUE(recovered->errors.empty());
    EXPECT_GE(recovered->recovered + recovered->rolled_back, 1u);
    EXPECT_EQ(Events(data), expected);
    EXPECT_EQ(CountFiles(data, ".seg"), CountFiles(reference, ".seg"));
    EXPECT_EQ(CountFiles(data, ".cold"), CountFiles(reference, ".cold"));
    EXPECT_EQ(CountFiles(data, ".tmp"), 0u);

    auto catalog = StorageCatalog::Open(data + "/" + kStorageCatalogFile);
    ASSERT_TRUE(catalog.ok());
    auto pending = (*catalog)->Ledger(/*pending_only=*/true);
    ASSERT_TRUE(pending.ok());
    EXPECT_TRUE(pending->empty());
  }
}

TEST_F(TieringTest, ReportCountsWhatWasIngested) {
  // What the test ingested, read back event by event.
  std::map<std::string, std::pair<uint64_t, uint64_t>> ingested;  // source -> events, raw bytes
  {
    ColdReadOptions o;
    o.events_dir = data_ + "/events";
    auto store = OpenSegmentStore(o.events_dir);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)
                    ->Scan({}, [&](const StoredEvent& e) {
                      ingested[e.source_type].first += 1;
                      ingested[e.source_type].second += e.raw.size();
                      return true;
                    })
                    .ok());
  }
  ASSERT_EQ(ingested["cloudtrail"].first, 310u);
  uint64_t file_bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(kStratus)) file_bytes += e.is_regular_file() ? e.file_size() : 0;
  EXPECT_LT(ingested["cloudtrail"].second, file_bytes);  // records without the files' array syntax

  // Half the cloudtrail segments cold, the rest hot.
  auto stats = Run(data_, Config({{"cloudtrail", {0, 100, 0}}}), Time("2024-11-27T00:00:00Z"));
  ASSERT_TRUE(stats.ok());
  ASSERT_GT(stats->cooled, 0u);

  std::string config = ConfigFile("    cloudtrail: {cold_after_days: 100}\n");
  std::ofstream(config, std::ios::app) << "  prices: {hot_per_gb_month: 0.1, cold_per_gb_month: 0.01}\n";
  auto report = Vigil("storage report --json --config " + config);
  ASSERT_EQ(report.exit_code, 0);
  std::map<std::string, std::map<std::string, uint64_t>> sums;  // source -> field -> sum over tiers
  std::istringstream lines(report.out);
  std::string line;
  double total_cost = 0;
  auto field = [](const std::string& l, const std::string& k) {
    size_t at = l.find("\"" + k + "\":");
    return at == std::string::npos ? std::string() : l.substr(at + k.size() + 3, l.find_first_of(",}", at) - at - k.size() - 3);
  };
  while (std::getline(lines, line)) {
    std::string source = field(line, "source_type");
    source = source.substr(1, source.size() - 2);
    std::string tier = field(line, "tier");
    uint64_t stored = std::stoull(field(line, "stored_bytes"));
    double cost = std::stod(field(line, "monthly_cost_usd"));
    if (source == "*") {
      EXPECT_NEAR(cost, total_cost, 1e-12);
      EXPECT_EQ(std::stoull(field(line, "events")), 331u);
      continue;
    }
    sums[source]["events"] += std::stoull(field(line, "events"));
    sums[source]["raw"] += std::stoull(field(line, "raw_bytes"));
    double price = tier == "\"cold\"" ? 0.01 : 0.1;
    EXPECT_NEAR(cost, stored / 1073741824.0 * price, 1e-12) << line;
    total_cost += cost;
  }
  for (const char* source : {"cloudtrail", "vpcflow"}) {
    EXPECT_EQ(sums[source]["events"], ingested[source].first) << source;
    EXPECT_EQ(sums[source]["raw"], ingested[source].second) << source;
  }
  EXPECT_NE(report.out.find("\"tier\":\"cold\""), std::string::npos);
  EXPECT_NE(report.out.find("\"tier\":\"hot\""), std::string::npos);

  auto table = Vigil("storage report --config " + config);
  EXPECT_NE(table.out.find("cloudtrail"), std::string::npos);
  EXPECT_NE(table.out.find("prices per GiB-month: hot $0.1, warm $0.08, cold $0.01"), std::string::npos) << table.out;
}

// Encrypted segments: the key file stays local when the segment goes cold
// (the bucket holds only ciphertext), hunt with the key reads the cold
// segments, warm recompresses them under their own keys, deletion removes
// the key file too.
TEST_F(TieringTest, EncryptedSegmentsGoColdWithTheirKeysKeptLocal) {
  const std::string key = (dir_ / "master.key").string();
  ASSERT_EQ(Vigil("keys generate --id k1 --out " + key).exit_code, 0);
  const std::string data = (dir_ / "encrypted").string();
  ASSERT_EQ(Vigil("ingest --no-detect --key-file " + key + " --data " + data + " " + kStratus).exit_code, 0);
  auto before = Vigil("hunt --json --key-file " + key + " --data " + data + " 'source=cloudtrail'");
  ASSERT_EQ(std::count(before.out.begin(), before.out.end(), '\n'), 310);
  ASSERT_EQ(CountFiles(data, ".seg.key"), kCloudtrailSegments);

  std::string config = ConfigFile("    cloudtrail: {warm_after_days: 1, cold_after_days: 2, delete_after_days: 5000}\n");
  auto tier = Vigil("storage tier --json --config " + config + " --data " + data + " --key-file " + key +
                    " --now 2027-01-01T00:00:00Z");
  EXPECT_NE(tier.out.find("\"warmed\":" + kCt + ",\"cooled\":" + kCt + ",\"deleted\":0"), std::string::npos) << tier.out;
  EXPECT_EQ(CountFiles(data, ".seg"), 0u);
  EXPECT_EQ(CountFiles(data, ".seg.key"), kCloudtrailSegments);
  EXPECT_EQ(Objects().size(), kCloudtrailSegments);
  auto after = Vigil("hunt --json --key-file " + key + " --data " + data + " 'source=cloudtrail'");
  EXPECT_EQ(after.out, before.out);
  EXPECT_NE(Vigil("hunt --json --data " + data + " 'source=cloudtrail'").exit_code, 0) << "no key, no events";
  // Warm recompressed them under their own data keys (the key files above
  // are the ones ingest wrote, and open the rewritten segments).
  auto history = Vigil("storage history --json --data " + data);
  EXPECT_EQ(history.out.find("not recompressed"), std::string::npos) << history.out;
  auto number = [&](const std::string& key) {
    const size_t at = tier.out.find("\"" + key + "\":");
    return at == std::string::npos ? 0 : std::stoull(tier.out.substr(at + key.size() + 3));
  };
  EXPECT_GT(number("warm_bytes_before"), 0u) << tier.out;
  EXPECT_LT(number("warm_bytes_after"), number("warm_bytes_before")) << tier.out;
  // The report counts raw bytes with the key.
  auto report = Vigil("storage report --json --data " + data + " --key-file " + key);
  EXPECT_NE(report.out.find("\"tier\":\"cold\",\"segments\":" + kCt + ",\"events\":310"), std::string::npos) << report.out;

  tier = Vigil("storage tier --json --config " + config + " --data " + data + " --now 2040-01-01T00:00:00Z");
  EXPECT_NE(tier.out.find("\"deleted\":" + kCt), std::string::npos) << tier.out;
  EXPECT_EQ(CountFiles(data, ".seg.key"), 0u);
  EXPECT_EQ(CountFiles(data, ".cold"), 0u);
  EXPECT_TRUE(Objects().empty());
}

// `vigil serve` with a retention policy tiers on its own timer (first run at
// start), beside the live writer, with the configured credentials.
TEST_F(TieringTest, ServeTiersOnItsTimer) {
  std::string config = (dir_ / "serve.yaml").string();
  std::ofstream(config) << testing::ServeConfigYaml(data_) << "pipeline: {detect: false}\n"
                        << "storage:\n  interval_seconds: 3600\n  cold:\n    bucket: " << bucket_
                        << "\n    endpoint: " << server->endpoint() << "\n    access_key_id: "
                        << testing::LocalS3::kAccessKey << "\n    secret_access_key: "
                        << testing::LocalS3::kSecretKey << "\n  retention:\n    cloudtrail: {cold_after_days: 30}\n";
  fs::path log = dir_ / "serve.log";
  {
    testing::ServeProcess serve(config, log);
    ASSERT_GT(serve.WaitForPort(), 0) << testing::ReadText(log);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (testing::ReadText(log).find("tiering run") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    serve.Signal(SIGTERM);
    EXPECT_EQ(serve.Wait(), 0);
  }
  std::string text = testing::ReadText(log);
  EXPECT_NE(text.find("cooled=" + kCt), std::string::npos) << text;
  EXPECT_EQ(CountFiles(data_, ".seg.cold", "cloudtrail"), kCloudtrailSegments);
  EXPECT_EQ(Objects().size(), kCloudtrailSegments);
  EXPECT_EQ(Events(data_, "cloudtrail").size(), 310u);
}

}  // namespace
}  // namespace vigil
