// Compaction of the small segments `vigil serve` leaves (one per partition per
// commit): they are merged per partition and account into one segment, every
// record is read back the same, exactly once, encrypted or not; a crash at any
// step leaves readers seeing each record once and the next run finishes or
// undoes the merge; `vigil storage tier` reports it and the ledger keeps it.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "ingest/rebuild_event.h"
#include "run_vigil.h"
#include "serve_test_util.h"
#include "stored_event_key.h"
#include "store/event_store.h"
#include "store/keys.h"
#include "store/segment_rewrite.h"
#include "tier/catalog.h"
#include "tier/tierer.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using testing::Vigil;

const std::string kStratus = std::string(VIGIL_SHARED_DATA) + "/cloudtrail/stratus-red-team/docs/detonation-logs";

class CompactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-compaction-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "in");
    data_ = (dir_ / "data").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The Stratus Red Team detonation logs as request bodies of four records.
  static std::vector<std::string> SmallBodies() {
    simdjson::dom::parser parser;
    std::vector<std::string> records;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(kStratus)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      simdjson::dom::element doc;
      EXPECT_EQ(parser.load(f.string()).get(doc), simdjson::SUCCESS) << f;
      simdjson::dom::array recs;
      if (doc["Records"].get(recs) != simdjson::SUCCESS) EXPECT_EQ(doc.get(recs), simdjson::SUCCESS) << f;
      for (simdjson::dom::element r : recs) records.push_back(simdjson::minify(r));
    }
    EXPECT_EQ(records.size(), 310u);
    std::vector<std::string> bodies;
    for (size_t i = 0; i < records.size(); i += 4) {
      std::string body = "{\"Records\":[";
      for (size_t j = i; j < std::min(i + 4, records.size()); ++j) body += (j > i ? "," : "") + records[j];
      bodies.push_back(body + "]}");
    }
    return bodies;
  }

  // Each body ingested by a run of its own, as serve's commits would store
  // them: many small segments per day and account.
  void IngestInSmallCommits(const std::string& key_flag = "") {
    const std::vector<std::string> bodies = SmallBodies();
    for (size_t n = 0; n < bodies.size(); ++n) {
      const fs::path p = dir_ / "in" / ("part" + std::to_string(n) + ".json");
      std::ofstream(p) << bodies[n];
      ASSERT_EQ(Vigil("ingest --no-detect --json " + key_flag + " --data " + data_ + " " + p.string()).exit_code, 0);
    }
  }

  std::shared_ptr<const KeyRing> MakeKey() {
    auto text = GenerateMasterKey("k1");
    EXPECT_TRUE(text.ok());
    const fs::path file = dir_ / "k1.key";
    std::ofstream(file) << *text << "\n";
    key_flag_ = "--key-file " + file.string();
    auto ring = LoadKeyRing(KeySources{{file.string()}, {}});
    EXPECT_TRUE(ring.ok()) << ring.status().ToString();
    return *ring;
  }

  // Files under events/ whose names end with `suffix`.
  size_t CountFiles(const std::string& suffix) {
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(fs::path(data_) / "events")) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.size() >= suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        ++n;
    }
    return n;
  }

  // Every stored event as a fresh reader sees it, sorted (duplicates kept).
  std::vector<std::string> Events(std::shared_ptr<const KeyRing> keys = nullptr) {
    SegmentStoreOptions so;
    so.read_only = true;
    so.keys = std::move(keys);
    auto store = OpenSegmentStore(data_ + "/events", so);
    EXPECT_TRUE(store.ok());
    return store.ok() ? testing::ScanEventKeys(store->get()) : std::vector<std::string>{};
  }

  // Events counted by the store's full check (`vigil` verify path).
  uint64_t VerifiedEvents() {
    SegmentStoreOptions so;
    so.read_only = true;
    auto store = OpenSegmentStore(data_ + "/events", so);
    EXPECT_TRUE(store.ok());
    auto check = (*store)->Verify();
    EXPECT_TRUE(check.ok() && check->ok());
    return check.ok() ? check->events : 0;
  }

  // `copy_block_bytes` 0: the small test segments' blocks are copied
  // whenever the inputs allow it (the default threshold rewrites them).
  Result<TierRunStats> Run(std::shared_ptr<const KeyRing> keys = nullptr,
                           std::function<Status(std::string_view)> crash = nullptr, uint64_t copy_block_bytes = 0) {
    auto catalog = StorageCatalog::Open(data_ + "/" + kStorageCatalogFile);
    if (!catalog.ok()) return catalog.status();
    TieringConfig config;  // no retention: compaction only
    config.compaction.min_segments = 2;
    config.compaction.grace_ms = 0;
    config.compaction.copy_block_bytes = copy_block_bytes;
    Tierer tierer(Env::Default(), data_ + "/events", data_ + "/cache", config, catalog->get(), std::move(keys));
    tierer.set_rebuilder(RebuildEvent);
    TierRunOptions o;
    o.crash_point = std::move(crash);
    return tierer.Run(o);
  }

  std::vector<LedgerEntry> Ledger(bool pending_only) {
    auto catalog = StorageCatalog::Open(data_ + "/" + kStorageCatalogFile);
    EXPECT_TRUE(catalog.ok());
    auto rows = (*catalog)->Ledger(pending_only);
    EXPECT_TRUE(rows.ok());
    return *rows;
  }

  fs::path dir_;
  std::string data_;
  std::string key_flag_;
};

TEST_F(CompactionTest, MergesSmallSegmentsPerAccountAndReadsEveryRecordBackOnce) {
  IngestInSmallCommits();
  const std::vector<std::string> before = Events();
  const size_t segments_before = CountFiles(".seg");
  ASSERT_GT(segments_before, 60u);

  auto stats = Run();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_TRUE(stats->errors.empty()) << stats->errors.front().ToString();
  EXPECT_GT(stats->compactions, 0u);
  EXPECT_EQ(CountFiles(".seg"), segments_before - stats->compacted_segments + stats->compactions);
  EXPECT_LT(CountFiles(".seg"), segments_before / 2);
  EXPECT_LT(stats->compact_bytes_after, stats->compact_bytes_before);
  EXPECT_EQ(CountFiles(kCompactionMarkerSuffix), 0u);
  EXPECT_EQ(Events(), before);

  // Every merge is in the ledger; a second run finds nothing left to merge.
  size_t done = 0;
  uint64_t merged_events = 0;
  for (const LedgerEntry& e : Ledger(false)) {
    EXPECT_EQ(e.action, "compact");
    EXPECT_EQ(e.status, "done");
    EXPECT_EQ(e.source_type, "cloudtrail");
    EXPECT_GT(e.events, 0u);
    EXPECT_LT(e.bytes_after, e.bytes_before);
    merged_events += e.events;
    done += e.note.find("merged ") == 0;
    // Unencrypted inputs of one partition: their blocks are copied as stored.
    EXPECT_NE(e.note.find("(blocks copied)"), std::string::npos) << e.note;
  }
  EXPECT_EQ(done, stats->compactions);
  EXPECT_LE(merged_events, before.size());
  EXPECT_GT(merged_events, before.size() / 2);
  auto again = Run();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->compactions, 0u);

  // Hunt through the binary agrees.
  auto hunt = Vigil("hunt --json --data " + data_ + " 'eventName=GetPasswordData'");
  EXPECT_EQ(hunt.exit_code, 0);
  EXPECT_NE(hunt.out.find("GetPasswordData"), std::string::npos);
}

TEST_F(CompactionTest, SmallBlocksAreRewrittenRatherThanCopied) {
  IngestInSmallCommits();  // four records a segment: blocks far under the default threshold
  const std::vector<std::string> before = Events();
  auto stats = Run(nullptr, nullptr, CompactionConfig().copy_block_bytes);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(stats->compactions, 0u);
  EXPECT_EQ(Events(), before);
  for (const LedgerEntry& e : Ledger(false)) EXPECT_NE(e.note.find("(records rewritten)"), std::string::npos) << e.note;
}

TEST_F(CompactionTest, EncryptedSegmentsAreMergedUnderTheActiveKey) {
  auto keys = MakeKey();
  IngestInSmallCommits(key_flag_);
  const std::vector<std::string> before = Events(keys);
  const size_t key_files = CountFiles(".key");
  ASSERT_EQ(key_files, CountFiles(".seg"));
  auto stats = Run(keys);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_TRUE(stats->errors.empty()) << stats->errors.front().ToString();
  EXPECT_GT(stats->compactions, 0u);
  EXPECT_EQ(Events(keys), before);
  // Each merged input's key file went with it; each output has its own.
  EXPECT_EQ(CountFiles(".key"), CountFiles(".seg"));
  // Without the key nothing is read in the clear.
  auto no_key = Vigil("hunt --json --data " + data_ + " '*'");
  EXPECT_NE(no_key.exit_code, 0);
  // A sealed block authenticates its own segment: records are rewritten.
  for (const LedgerEntry& e : Ledger(false)) EXPECT_NE(e.note.find("(records rewritten)"), std::string::npos) << e.note;
}

TEST_F(CompactionTest, PlainSegmentsMergedOnceAKeyIsActiveAreEncrypted) {
  IngestInSmallCommits();
  const std::vector<std::string> before = Events();
  ASSERT_EQ(CountFiles(".key"), 0u);
  auto keys = MakeKey();
  auto stats = Run(keys);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(stats->compactions, 0u);
  EXPECT_EQ(Events(keys), before);
  // Every output is sealed under the key: copying plain blocks would not be.
  EXPECT_EQ(CountFiles(".key"), stats->compactions);
  for (const LedgerEntry& e : Ledger(false)) EXPECT_NE(e.note.find("(records rewritten)"), std::string::npos) << e.note;
}

// A crash at each step: a reader in between sees every record once, and
// the next run completes the merge (once published) or undoes it.
TEST_F(CompactionTest, ACrashAtEveryStepLeavesEachRecordOnceAndIsFinishedByTheNextRun) {
  IngestInSmallCommits();
  const std::string pristine = (dir_ / "pristine").string();
  fs::copy(data_, pristine, fs::copy_options::recursive);
  const std::vector<std::string> before = Events();
  const size_t segments_before = CountFiles(".seg");
  for (const char* step : {"compact:begun", "compact:marked", "compact:published", "compact:inputs_removed"}) {
    SCOPED_TRACE(step);
    fs::remove_all(data_);
    fs::copy(pristine, data_, fs::copy_options::recursive);
    bool crashed = false;
    auto stats = Run(nullptr, [&](std::string_view at) {
      if (at != step || crashed) return Status::Ok();
      crashed = true;
      return Status::IoError(std::string("crash at ") + step);
    });
    ASSERT_TRUE(crashed);
    EXPECT_FALSE(stats.ok());
    // Mid-crash: inputs (and, once published, the merged segment) are on
    // disk, yet a reader sees each record once, and a check counts it once.
    EXPECT_EQ(Events(), before);
    EXPECT_EQ(VerifiedEvents(), before.size());
    // Merges are all published before any input goes: a crash while
    // removing inputs leaves every merge of the run pending, else one.
    const size_t pending = Ledger(true).size();
    if (std::string_view(step) == "compact:inputs_removed") EXPECT_GT(pending, 1u);
    else EXPECT_EQ(pending, 1u);

    // The next run (a restart) settles it, then merges what is left.
    auto next = Run();
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    const bool published = std::string_view(step) == "compact:published" ||
                           std::string_view(step) == "compact:inputs_removed";
    EXPECT_EQ(published ? next->recovered : next->rolled_back, pending);
    EXPECT_TRUE(Ledger(true).empty());
    EXPECT_EQ(CountFiles(kCompactionMarkerSuffix), 0u);
    EXPECT_EQ(CountFiles(".tmp"), 0u);
    EXPECT_LT(CountFiles(".seg"), segments_before / 2);
    EXPECT_EQ(Events(), before);
  }
}

// `vigil serve` merges the segments its own commits leave, with no
// retention policy configured, while it goes on serving.
TEST_F(CompactionTest, ServeMergesTheSegmentsItsCommitsLeave) {
  const fs::path config = dir_ / "serve.yaml";
  std::ofstream(config) << testing::ServeConfigYaml(
      data_,
      "pipeline:\n  commit_interval_ms: 20\nstorage:\n  compaction:\n    interval_seconds: 1\n    min_segments: 2\n"
      "    grace_ms: 0\n");
  testing::ServeProcess serve(config.string(), dir_ / "serve.log");
  const int port = serve.WaitForPort();
  ASSERT_GT(port, 0) << testing::ReadText(dir_ / "serve.log");
  httplib::Client client("127.0.0.1", port);
  // A commit (every 20 ms here) between requests: each leaves segments of
  // its own.
  for (const std::string& body : SmallBodies()) {
    auto r = client.Post("/api/v1/ingest", testing::IngestHeaders(), body, "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  // The merges keep up while it serves: wait for the last ones. The
  // detonations are 35 partitions (day and account), as one `vigil ingest`
  // of them stores them (tests/tiering_test.cc).
  constexpr size_t kPartitions = 35;
  size_t segments = CountFiles(".seg");
  for (int i = 0; i < 100 && segments > kPartitions; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    segments = CountFiles(".seg");
  }
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0);
  const std::string log = testing::ReadText(dir_ / "serve.log");
  EXPECT_TRUE(std::regex_search(log, std::regex("tiering run.* compacted=[1-9]"))) << log;
  // 78 requests, each sealed by its own commit; after the merges one segment
  // per partition holds the 310 events, each once.
  EXPECT_EQ(CountFiles(".seg"), kPartitions) << testing::ReadText(dir_ / "serve.log");
  auto hunt = Vigil("hunt --json --data " + data_ + " '*'");
  ASSERT_EQ(hunt.exit_code, 0);
  EXPECT_EQ(std::count(hunt.out.begin(), hunt.out.end(), '\n'), 310);
  EXPECT_EQ(Events().size(), 310u);
}

}  // namespace
}  // namespace vigil
