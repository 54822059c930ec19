#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "common/time.h"
#include "env/fault_injection_env.h"
#include "env/mem_env.h"
#include "store/event_store.h"
#include "store/internal/segment.h"

namespace vigil {
namespace {

constexpr int64_t kDay = 86400 * kNanosPerSecond;
const int64_t kT0 = DaysFromCivil(2024, 7, 31) * kDay;

Event MakeEvent(const std::string& id, int64_t time_ns, const std::string& source_type = "cloudtrail",
                std::string raw = "") {
  Event e;
  e.id = id;
  e.source_type = source_type;
  e.time_ns = time_ns;
  e.ingest_time_ns = time_ns + 5 * kNanosPerSecond;
  e.time_fallback = (time_ns / kNanosPerSecond) % 7 == 0;
  e.account = "123456789012";
  e.principal = "arn:aws:iam::123456789012:user/" + id;
  e.raw = raw.empty() ? "{\"eventID\":\"" + id + "\",\"eventName\":\"ConsoleLogin\"}" : std::move(raw);
  return e;
}

std::vector<StoredEvent> ScanAll(EventStore* store, ScanOptions options = {}) {
  std::vector<StoredEvent> out;
  Status s = store->Scan(options, [&](const StoredEvent& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<std::string> Ids(const std::vector<StoredEvent>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.id);
  return ids;
}

class SegmentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mem_->CreateDirs("/data/events").ok()); }

  std::unique_ptr<EventStore> Open(Env* env = nullptr, SegmentStoreOptions options = {}) {
    options.env = env != nullptr ? env : mem_.get();
    options.on_skipped_file = [this](const Status& s) { skipped_.push_back(s); };
    auto store = OpenSegmentStore("/data/events", options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return std::move(store).value();
  }

  void AddAll(EventWriter* w, const std::vector<Event>& events) {
    for (const Event& e : events) {
      auto added = w->Add(e);
      ASSERT_TRUE(added.ok()) << added.status().ToString();
    }
  }

  std::vector<std::string> SegmentFiles(Env* env = nullptr) {
    std::vector<std::string> files, segs;
    EXPECT_TRUE((env ? env : mem_.get())->ListFilesRecursive("/data/events", &files).ok());
    for (auto& f : files) {
      if (f.size() > 4 && f.substr(f.size() - 4) == ".seg") segs.push_back("/data/events/" + f);
    }
    return segs;
  }

  std::unique_ptr<Env> mem_ = NewMemEnv();
  std::vector<Status> skipped_;
};

TEST_F(SegmentStoreTest, RoundTripIsByteExact) {
  std::vector<Event> events;
  std::string binary("\0\x01\xff\xfe{\"a\":\"\xe2\x82\xac\"}\n\r\t", 16);
  events.push_back(MakeEvent("bin", kT0 + 1, "cloudtrail", binary));
  events.push_back(MakeEvent("big", kT0 + 2, "cloudtrail", std::string(300 * 1024, 'x')));  // > one block
  events.push_back(MakeEvent("", kT0 + 3, "cloudtrail", "empty id"));
  Event odd = MakeEvent("odd", kT0 + 4, "weird/../type %", "r");
  odd.account.clear();
  odd.principal.clear();
  events.push_back(odd);
  {
    auto store = Open();
    auto w = store->NewWriter();
    ASSERT_TRUE(w.ok());
    AddAll(w->get(), events);
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto store = Open();
  ScanOptions asc;
  asc.newest_first = false;
  auto got = ScanAll(store.get(), asc);
  ASSERT_EQ(got.size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(got[i].id, events[i].id);
    EXPECT_EQ(got[i].source_type, events[i].source_type);
    EXPECT_EQ(got[i].time_ns, events[i].time_ns);
    EXPECT_EQ(got[i].ingest_time_ns, events[i].ingest_time_ns);
    EXPECT_EQ(got[i].time_fallback, events[i].time_fallback);
    EXPECT_EQ(got[i].account, events[i].account);
    EXPECT_EQ(got[i].principal, events[i].principal);
    EXPECT_EQ(got[i].raw, events[i].raw);
  }
  EXPECT_EQ(*store->CountEvents(), events.size());
  auto check = store->Verify();
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok());
  EXPECT_EQ(check->events, events.size());
  // Partition layout: events/<source_type>/<YYYY>/<MM>/<DD>/, odd names escaped.
  auto files = SegmentFiles();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].rfind("/data/events/cloudtrail/2024/07/31/", 0), 0u) << files[0];
  EXPECT_EQ(files[1].rfind("/data/events/weird%2F..%2Ftype%20%25/2024/07/31/", 0), 0u) << files[1];
  EXPECT_TRUE(skipped_.empty());
}

TEST_F(SegmentStoreTest, RoundTripOnPosixFilesystem) {
  char tmpl[] = "/tmp/vigil_store_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  SegmentStoreOptions options;
  {
    auto store = OpenSegmentStore(dir + "/events", options);
    ASSERT_TRUE(store.ok());
    auto w = (*store)->NewWriter();
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 100; ++i) ASSERT_TRUE((*w)->Add(MakeEvent("e" + std::to_string(i), kT0 + i)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto store = OpenSegmentStore(dir + "/events", options);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*(*store)->CountEvents(), 100u);
  EXPECT_EQ(ScanAll(store->get()).size(), 100u);
  std::string cmd = "rm -rf '" + dir + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST_F(SegmentStoreTest, DedupWithinWriterAcrossWritersAndReopen) {
  auto store = Open();
  {
    auto w = store->NewWriter();
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE((*w)->Contains(MakeEvent("a", kT0)));
    EXPECT_TRUE(*(*w)->Add(MakeEvent("a", kT0)));
    EXPECT_TRUE((*w)->Contains(MakeEvent("a", kT0)));  // pending counts
    EXPECT_FALSE(*(*w)->Add(MakeEvent("a", kT0)));
    EXPECT_TRUE(*(*w)->Add(MakeEvent("b", kT0 + kDay)));
    ASSERT_TRUE((*w)->Commit().ok());
  }
  {
    auto w = store->NewWriter();
    ASSERT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Contains(MakeEvent("a", kT0)));
    EXPECT_FALSE(*(*w)->Add(MakeEvent("a", kT0)));
    EXPECT_FALSE(*(*w)->Add(MakeEvent("b", kT0 + kDay)));
    EXPECT_TRUE(*(*w)->Add(MakeEvent("c", kT0)));
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto reopened = Open();
  auto w = reopened->NewWriter();
  ASSERT_TRUE(w.ok());
  for (const char* id : {"a", "c"}) EXPECT_FALSE(*(*w)->Add(MakeEvent(id, kT0)));
  EXPECT_FALSE(*(*w)->Add(MakeEvent("b", kT0 + kDay)));
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(*reopened->CountEvents(), 3u);
}

TEST_F(SegmentStoreTest, UncommittedWriterLeavesNothing) {
  auto store = Open();
  {
    auto w = store->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Add(MakeEvent("a", kT0)).ok());
  }
  EXPECT_EQ(*store->CountEvents(), 0u);
  auto w = store->NewWriter();
  EXPECT_TRUE(*(*w)->Add(MakeEvent("a", kT0)));  // not stored, so not a duplicate
}

// Many events over several days and two source types, added in random order
// across several commits and with tiny blocks, so that the merge must
// interleave segments and blocks.
class ScanOrderTest : public SegmentStoreTest {
 protected:
  void SetUp() override {
    SegmentStoreTest::SetUp();
    std::mt19937 rng(42);
    for (int i = 0; i < 3000; ++i) {
      int64_t t = kT0 + static_cast<int64_t>(rng() % (4 * 86400)) * kNanosPerSecond;
      if (i % 10 == 0 && !events_.empty()) t = events_.back().time_ns;  // equal times: ordered by id
      char id[16];
      std::snprintf(id, sizeof id, "id%05d", i);
      events_.push_back(MakeEvent(id, t, i % 3 == 0 ? "vpcflow" : "cloudtrail"));
    }
    SegmentStoreOptions options;
    options.block_raw_bytes = 4096;
    options.max_open_partitions = 3;
    store_ = Open(nullptr, options);
    auto w = store_->NewWriter();
    ASSERT_TRUE(w.ok());
    for (size_t i = 0; i < events_.size(); ++i) {
      ASSERT_TRUE(*(*w)->Add(events_[i]));
      if (i % 700 == 699) {
        ASSERT_TRUE((*w)->Commit().ok());
      }
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }

  std::vector<std::string> Expected(std::optional<int64_t> from, std::optional<int64_t> to,
                                    std::optional<std::string> st, bool desc) {
    std::vector<const Event*> sel;
    for (const Event& e : events_) {
      if (from && e.time_ns < *from) continue;
      if (to && e.time_ns >= *to) continue;
      if (st && e.source_type != *st) continue;
      sel.push_back(&e);
    }
    std::sort(sel.begin(), sel.end(), [](const Event* a, const Event* b) {
      return a->time_ns != b->time_ns ? a->time_ns < b->time_ns : a->id < b->id;
    });
    if (desc) std::reverse(sel.begin(), sel.end());
    std::vector<std::string> ids;
    for (const Event* e : sel) ids.push_back(e->id);
    return ids;
  }

  std::vector<Event> events_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(ScanOrderTest, FullScanBothOrders) {
  ScanOptions o;
  o.newest_first = true;
  EXPECT_EQ(Ids(ScanAll(store_.get(), o)), Expected({}, {}, {}, true));
  o.newest_first = false;
  EXPECT_EQ(Ids(ScanAll(store_.get(), o)), Expected({}, {}, {}, false));
  EXPECT_EQ(*store_->CountEvents(), events_.size());
}

TEST_F(ScanOrderTest, TimeRangeAndSourceTypePruning) {
  struct Case {
    std::optional<int64_t> from, to;
    std::optional<std::string> st;
  };
  std::vector<Case> cases = {
      {kT0 + kDay + 3600 * kNanosPerSecond, kT0 + 2 * kDay + 60 * kNanosPerSecond, {}},
      {kT0 + kDay, kT0 + 2 * kDay, std::string("vpcflow")},  // exactly one day
      {{}, kT0 + 100 * kNanosPerSecond * 60, {}},
      {kT0 + 3 * kDay + 10, {}, std::string("cloudtrail")},
      {kT0 - 10 * kDay, kT0 - 9 * kDay, {}},  // nothing there
      {kT0 + kDay, kT0 + kDay, {}},           // empty range
      {{}, {}, std::string("nosuchtype")},
  };
  for (const Case& c : cases) {
    for (bool desc : {true, false}) {
      ScanOptions o;
      o.from_ns = c.from;
      o.to_ns = c.to;
      o.source_type = c.st;
      o.newest_first = desc;
      EXPECT_EQ(Ids(ScanAll(store_.get(), o)), Expected(c.from, c.to, c.st, desc));
    }
  }
}

TEST_F(ScanOrderTest, StopsEarly) {
  size_t n = 0;
  ASSERT_TRUE(store_->Scan({}, [&](const StoredEvent&) { return ++n < 10; }).ok());
  EXPECT_EQ(n, 10u);
}

TEST_F(SegmentStoreTest, RollsSegmentsBySizeAndEvictsIdCache) {
  SegmentStoreOptions options;
  options.block_raw_bytes = 8 * 1024;
  options.segment_bytes = 32 * 1024;
  options.max_cached_ids = 100;
  auto store = Open(nullptr, options);
  auto w = store->NewWriter();
  ASSERT_TRUE(w.ok());
  std::mt19937 rng(7);
  std::string raw(1500, ' ');
  for (int i = 0; i < 2000; ++i) {
    for (char& c : raw) c = static_cast<char>('a' + rng() % 26);
    ASSERT_TRUE(*(*w)->Add(MakeEvent("e" + std::to_string(i), kT0 + (i % 5) * kDay + i, "cloudtrail", raw)));
    if (i % 500 == 499) {
      ASSERT_TRUE((*w)->Commit().ok());
    }
  }
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_GT(SegmentFiles().size(), 20u);
  // Everything is still deduplicated although the cache is far too small.
  for (int i = 0; i < 2000; i += 97) {
    EXPECT_FALSE(*(*w)->Add(MakeEvent("e" + std::to_string(i), kT0 + (i % 5) * kDay + i, "cloudtrail", raw)));
  }
  EXPECT_EQ(*store->CountEvents(), 2000u);
}

TEST_F(SegmentStoreTest, CrashBeforeRenameLeavesNoValidLookingSegment) {
  FaultInjectionEnv fenv(mem_.get());
  {
    auto store = Open(&fenv);
    auto w = store->NewWriter();
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(*(*w)->Add(MakeEvent("a" + std::to_string(i), kT0 + i)));
    ASSERT_TRUE((*w)->Commit().ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(*(*w)->Add(MakeEvent("b" + std::to_string(i), kT0 + i)));
    fenv.SetFailRename(true);
    EXPECT_FALSE((*w)->Commit().ok());
    EXPECT_FALSE((*w)->Add(MakeEvent("c", kT0)).ok());  // the writer stays broken
    ASSERT_TRUE(fenv.SimulateCrash().ok());
  }
  auto store = Open();
  auto events = ScanAll(store.get());
  ASSERT_EQ(events.size(), 50u);
  for (const auto& e : events) EXPECT_EQ(e.id[0], 'a');
  auto check = store->Verify();
  EXPECT_TRUE(check->ok());
  EXPECT_EQ(SegmentFiles().size(), 1u);
  // The lost events can be written again.
  auto w = store->NewWriter();
  EXPECT_TRUE(*(*w)->Add(MakeEvent("b0", kT0)));
  EXPECT_FALSE(*(*w)->Add(MakeEvent("a0", kT0)));
}

// Tears the second commit after every possible number of bytes, crashes, and
// checks that the first commit is intact and nothing half-written is visible.
TEST_F(SegmentStoreTest, TornWriteAtAnyPointThenCrash) {
  std::vector<Event> first, second;
  for (int i = 0; i < 40; ++i) first.push_back(MakeEvent("a" + std::to_string(i), kT0 + i));
  for (int i = 0; i < 40; ++i) second.push_back(MakeEvent("b" + std::to_string(i), kT0 + kDay * (i % 2) + i));
  SegmentStoreOptions options;
  options.block_raw_bytes = 1024;

  // How many bytes does the second commit write?
  uint64_t total;
  {
    auto mem = NewMemEnv();
    ASSERT_TRUE(mem->CreateDirs("/data/events").ok());
    FaultInjectionEnv fenv(mem.get());
    options.env = &fenv;
    auto store = OpenSegmentStore("/data/events", options);
    auto w = (*store)->NewWriter();
    AddAll(w->get(), first);
    ASSERT_TRUE((*w)->Commit().ok());
    uint64_t before = fenv.bytes_written();
    AddAll(w->get(), second);
    ASSERT_TRUE((*w)->Commit().ok());
    total = fenv.bytes_written() - before;
  }
  ASSERT_GT(total, 100u);

  for (uint64_t budget = 0; budget < total; budget += std::max<uint64_t>(1, total / 97)) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    auto mem = NewMemEnv();
    ASSERT_TRUE(mem->CreateDirs("/data/events").ok());
    FaultInjectionEnv fenv(mem.get());
    options.env = &fenv;
    {
      auto store = OpenSegmentStore("/data/events", options);
      auto w = (*store)->NewWriter();
      AddAll(w->get(), first);
      ASSERT_TRUE((*w)->Commit().ok());
      fenv.SetWriteBudget(static_cast<int64_t>(budget));
      bool failed = false;
      for (const Event& e : second) failed = failed || !(*w)->Add(e).ok();
      failed = failed || !(*w)->Commit().ok();
      EXPECT_TRUE(failed);
      ASSERT_TRUE(fenv.SimulateCrash().ok());
    }
    options.env = mem.get();
    options.remove_stale_temp_files = true;
    auto store = OpenSegmentStore("/data/events", options);
    options.remove_stale_temp_files = false;
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->NewWriter().ok());  // the first writer removes stale temp files
    auto check = (*store)->Verify();
    ASSERT_TRUE(check.ok());
    EXPECT_TRUE(check->ok()) << check->problems[0].ToString();
    EXPECT_EQ(check->temp_files, 0u);
    ScanOptions asc;
    asc.newest_first = false;
    // The first commit is intact. Commit is atomic per partition, not across
    // partitions: of the second batch each day is either all there or absent.
    std::map<std::string, std::string> raw_by_id;
    for (const auto& e : ScanAll(store->get(), asc)) raw_by_id[e.id] = e.raw;
    for (const Event& e : first) EXPECT_EQ(raw_by_id[e.id], e.raw);
    size_t day0 = 0, day1 = 0;
    for (const Event& e : second) {
      auto it = raw_by_id.find(e.id);
      if (it == raw_by_id.end()) continue;
      EXPECT_EQ(it->second, e.raw);
      (DayNumber(e.time_ns) == DayNumber(kT0) ? day0 : day1)++;
    }
    EXPECT_TRUE(day0 == 0 || day0 == 20) << day0;
    EXPECT_TRUE(day1 == 0 || day1 == 20) << day1;
    EXPECT_EQ(raw_by_id.size(), first.size() + day0 + day1);
  }
}

// Prepare seals segments durably without publishing them; after a crash,
// Publish in a new process rolls them forward, and without it the next writer
// removes them (the caller had not recorded that they were to be published).
TEST_F(SegmentStoreTest, PreparedSegmentsRollForwardOrVanishAfterCrash) {
  std::vector<Event> first, second;
  for (int i = 0; i < 40; ++i) first.push_back(MakeEvent("a" + std::to_string(i), kT0 + i));
  for (int i = 0; i < 40; ++i) second.push_back(MakeEvent("b" + std::to_string(i), kT0 + kDay * (i % 2) + i));
  for (bool roll_forward : {true, false}) {
    SCOPED_TRACE(roll_forward ? "published after the crash" : "not published");
    auto mem = NewMemEnv();
    ASSERT_TRUE(mem->CreateDirs("/data/events").ok());
    FaultInjectionEnv fenv(mem.get());
    SegmentStoreOptions options;
    options.block_raw_bytes = 1024;
    options.env = &fenv;
    std::vector<std::string> names;
    {
      auto store = OpenSegmentStore("/data/events", options);
      auto w = (*store)->NewWriter();
      AddAll(w->get(), first);
      ASSERT_TRUE((*w)->Commit().ok());
      AddAll(w->get(), second);
      auto prepared = (*w)->Prepare();
      ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
      names = *prepared;
      EXPECT_EQ(names.size(), 2u);  // one segment per day
      EXPECT_EQ(ScanAll(store->get()).size(), first.size()) << "prepared segments are not visible";
      ASSERT_TRUE(fenv.SimulateCrash().ok());
    }
    options.env = mem.get();
    options.remove_stale_temp_files = true;
    auto store = OpenSegmentStore("/data/events", options);
    ASSERT_TRUE(store.ok());
    if (roll_forward) {
      ASSERT_TRUE((*store)->Publish(names).ok());
      ASSERT_TRUE((*store)->Publish(names).ok()) << "idempotent";
    }
    auto w = (*store)->NewWriter();
    ASSERT_TRUE(w.ok());
    auto check = (*store)->Verify();
    ASSERT_TRUE(check.ok());
    EXPECT_TRUE(check->ok());
    EXPECT_EQ(check->temp_files, 0u);
    EXPECT_EQ(ScanAll(store->get()).size(), first.size() + (roll_forward ? second.size() : 0));
    // Dedup sees exactly what is stored.
    EXPECT_EQ(*(*w)->Add(second[0]), !roll_forward);
    if (!roll_forward) {
      auto lost = (*store)->Publish(names);
      EXPECT_EQ(lost.code(), StatusCode::kCorruption) << lost.ToString();
    }
  }
}

TEST_F(SegmentStoreTest, InvalidSegmentFilesAreSkippedAndReported) {
  {
    auto store = Open();
    auto w = store->NewWriter();
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(*(*w)->Add(MakeEvent("a" + std::to_string(i), kT0 + i)));
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto files = SegmentFiles();
  ASSERT_EQ(files.size(), 1u);
  std::string data;
  ASSERT_TRUE(mem_->ReadFile(files[0], &data).ok());
  std::string dir = DirName(files[0]);
  // A prefix of a real segment (as a non-atomic copy might leave) and junk.
  ASSERT_TRUE(mem_->WriteFile(dir + "/truncated.seg", data.substr(0, data.size() - 10)).ok());
  ASSERT_TRUE(mem_->WriteFile(dir + "/junk.seg", "not a segment").ok());
  ASSERT_TRUE(mem_->WriteFile(dir + "/x.seg.tmp", data.substr(0, 100)).ok());

  auto store = Open();
  EXPECT_EQ(ScanAll(store.get()).size(), 30u);
  ASSERT_EQ(skipped_.size(), 2u);
  std::set<std::string> messages;
  for (const auto& s : skipped_) {
    EXPECT_EQ(s.code(), StatusCode::kCorruption);
    messages.insert(s.message());
  }
  EXPECT_NE(messages.begin()->find(dir + "/junk.seg"), std::string::npos) << *messages.begin();
  EXPECT_NE(messages.rbegin()->find(dir + "/truncated.seg"), std::string::npos) << *messages.rbegin();
  auto check = store->Verify();
  EXPECT_EQ(check->problems.size(), 2u);
  EXPECT_EQ(check->temp_files, 1u);
  EXPECT_EQ(check->events, 30u);
  // Dedup ignores the invalid files but still knows the valid one.
  auto w = store->NewWriter();
  EXPECT_FALSE(*(*w)->Add(MakeEvent("a1", kT0 + 1)));
}

TEST_F(SegmentStoreTest, ChecksumCorruptionNamesFileAndBlock) {
  SegmentStoreOptions options;
  options.format_version = 1;  // the v1 block layout (v2: segment_v2_test.cc)
  options.block_raw_bytes = 2048;
  {
    auto store = Open(nullptr, options);
    auto w = store->NewWriter();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(*(*w)->Add(MakeEvent("a" + std::to_string(i), kT0 + i)));
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto files = SegmentFiles();
  ASSERT_EQ(files.size(), 1u);
  auto reader = segment::SegmentReader::Open(mem_.get(), files[0]);
  ASSERT_TRUE(reader.ok());
  ASSERT_GE((*reader)->index().blocks.size(), 3u);
  const auto& block = (*reader)->index().blocks[1];
  std::string data;
  ASSERT_TRUE(mem_->ReadFile(files[0], &data).ok());
  data[block.offset + segment::kBlockHeaderSize + block.compressed_len / 2] ^= 0x40;
  ASSERT_TRUE(mem_->WriteFile(files[0], data).ok());

  auto store = Open(nullptr, options);
  ScanOptions asc;
  asc.newest_first = false;
  size_t seen = 0;
  Status s = store->Scan(asc, [&](const StoredEvent&) {
    ++seen;
    return true;
  });
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find(files[0]), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("block 1 "), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("checksum mismatch"), std::string::npos) << s.message();
  EXPECT_EQ(seen, static_cast<size_t>(block.min_time_ns - kT0));  // everything before block 1 came out
  auto check = store->Verify();
  ASSERT_EQ(check->problems.size(), 1u);
  EXPECT_NE(check->problems[0].message().find("block 1 "), std::string::npos);
  EXPECT_EQ(check->events, 100u - block.record_count);
}

TEST_F(SegmentStoreTest, ReadOnlyStoreHasNoWriter) {
  SegmentStoreOptions options;
  options.read_only = true;
  auto store = Open(nullptr, options);
  EXPECT_EQ(store->NewWriter().status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(SegmentStoreTest, RejectsOversizedRecord) {
  auto store = Open();
  auto w = store->NewWriter();
  auto r = (*w)->Add(MakeEvent("huge", kT0, "cloudtrail", std::string((16u << 20) + 1, 'x')));
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
}

}  // namespace
}  // namespace vigil
