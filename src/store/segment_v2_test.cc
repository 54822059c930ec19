// Segment format v2: round trip, corruption of each section, crash during a
// commit that also writes a dictionary, v1 beside v2, and pruning by blooms,
// min/max and columns (counted in ScanStats).
#include <gtest/gtest.h>

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/glob.h"
#include "common/hash.h"
#include "common/time.h"
#include "env/fault_injection_env.h"
#include "env/mem_env.h"
#include "event/json_fields.h"
#include "store/event_store.h"
#include "store/internal/segment_v2.h"
#include "store/key_admin.h"
#include "store/keys.h"
#include "store/segment_rewrite.h"

namespace vigil {
namespace {

constexpr int64_t kDay = 86400 * kNanosPerSecond;
const int64_t kT0 = DaysFromCivil(2024, 7, 31) * kDay;
const char* const kAccounts[] = {"111111111111", "222222222222"};

// A CloudTrail-shaped record with the fields the v2 columns index.
Event MakeTrail(int i, int64_t time_ns) {
  Event e;
  e.id = "evt-" + std::to_string(i);
  e.source_type = "cloudtrail";
  e.time_ns = time_ns;
  e.ingest_time_ns = time_ns + 7 * kNanosPerSecond + i;
  e.time_fallback = i % 13 == 0;
  e.account = kAccounts[i % 2];
  const std::string user = "user" + std::to_string(i % 5);
  e.principal = i % 11 == 0 ? "" : "arn:aws:iam::" + e.account + ":user/" + user;
  const std::string ip = "10.0." + std::to_string(i / 100) + "." + std::to_string(i % 100);
  const char* names[] = {"GetObject", "ListBuckets", "DescribeInstances", "ConsoleLogin", "PutObject"};
  e.raw = "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::" + e.account +
          ":user/" + user + "\",\"accessKeyId\":\"AKIA" + std::to_string(100000 + i) +
          "\"},\"eventTime\":\"2024-07-31T00:00:00Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"" +
          names[i % 5] + "\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"" + ip +
          "\",\"userAgent\":\"aws-cli/2.15 Python/3.11\",\"requestParameters\":{\"bucketName\":\"bucket-" +
          std::to_string(i % 7) + "\",\"size\":" + std::to_string(i * 10) + "},\"eventID\":\"" + e.id +
          "\",\"requestID\":\"req-" + std::to_string(i) + "\",\"recipientAccountId\":\"" + e.account +
          "\",\"tags\":[\"a\",\"b" + std::to_string(i % 3) + "\"],\"note\":null}";
  auto fields = ParseJsonFields(e.raw);
  EXPECT_TRUE(fields.ok());
  e.fields = *fields;
  return e;
}

Event MakeFlow(int i, int64_t time_ns) {
  Event e;
  e.id = "flow-" + std::to_string(i);
  e.source_type = "vpcflow";
  e.time_ns = time_ns;
  e.ingest_time_ns = time_ns;
  e.account = "111111111111";
  e.raw = "{\"srcaddr\":\"10.1.0." + std::to_string(i % 200) + "\",\"dstport\":" + std::to_string(i % 1000) +
          ",\"bytes\":" + std::to_string(1000 + i * 3) + ",\"action\":\"" + (i % 4 ? "ACCEPT" : "REJECT") + "\"}";
  e.fields = *ParseJsonFields(e.raw);
  return e;
}

class SegmentV2Test : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mem_->CreateDirs("/data/events").ok()); }

  std::unique_ptr<EventStore> Open(SegmentStoreOptions options = {}, Env* env = nullptr) {
    options.env = env != nullptr ? env : mem_.get();
    if (options.format_version == 0) options.format_version = 2;
    if (options.block_raw_bytes == 1024 * 1024) options.block_raw_bytes = 48 * 1024;
    auto store = OpenSegmentStore("/data/events", options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return std::move(store).value();
  }

  void Write(EventStore* store, const std::vector<Event>& events) {
    auto w = store->NewWriter();
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (const Event& e : events) {
      auto added = (*w)->Add(e);
      ASSERT_TRUE(added.ok()) << added.status().ToString();
    }
    Status s = (*w)->Commit();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<std::string> Files(const std::string& suffix) {
    std::vector<std::string> files, out;
    EXPECT_TRUE(mem_->ListFilesRecursive("/data/events", &files).ok());
    for (auto& f : files)
      if (f.size() > suffix.size() && f.substr(f.size() - suffix.size()) == suffix) out.push_back("/data/events/" + f);
    return out;
  }

  std::vector<StoredEvent> Scan(EventStore* store, ScanOptions options = {}, Status* status = nullptr) {
    std::vector<StoredEvent> out;
    Status s = store->Scan(options, [&](const StoredEvent& e) {
      out.push_back(e);
      return true;
    });
    if (status != nullptr) {
      *status = s;
    } else {
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    return out;
  }

  std::unique_ptr<Env> mem_ = NewMemEnv();
};

std::vector<Event> Trails(int n, int64_t step = kNanosPerSecond) {
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) events.push_back(MakeTrail(i, kT0 + i * step));
  return events;
}

TEST_F(SegmentV2Test, RoundTripIsByteExactWithPerAccountSegmentsAndDictionary) {
  auto store = Open();
  auto events = Trails(1500);
  std::reverse(events.begin() + 100, events.begin() + 200);  // not all in time order
  Write(store.get(), events);

  // One segment per account; dictionaries for cloudtrail's raw records and
  // columns, and used.
  auto segs = Files(".seg");
  ASSERT_EQ(segs.size(), 2u);
  auto dicts = Files(segment::kDictSuffix);
  ASSERT_EQ(dicts.size(), 2u);
  std::set<std::string> accounts;
  for (const auto& f : segs) {
    auto file = segment::SegmentFile::Open(mem_.get(), f, nullptr);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_EQ((*file)->version(), 2u);
    accounts.insert((*file)->account());
    std::string bytes;
    ASSERT_TRUE(mem_->ReadFile(f, &bytes).ok());
  }
  EXPECT_EQ(accounts, (std::set<std::string>{kAccounts[0], kAccounts[1]}));

  ScanOptions asc;
  asc.newest_first = false;
  auto got = Scan(store.get(), asc);
  ASSERT_EQ(got.size(), events.size());
  std::map<std::string, const Event*> by_id;
  for (const Event& e : events) by_id[e.id] = &e;
  for (size_t i = 0; i < got.size(); ++i) {
    const StoredEvent& s = got[i];
    if (i > 0) {
      EXPECT_LE(got[i - 1].time_ns, s.time_ns);
    }
    const Event& e = *by_id.at(s.id);
    EXPECT_EQ(s.raw, e.raw);
    EXPECT_EQ(s.source_type, e.source_type);
    EXPECT_EQ(s.time_ns, e.time_ns);
    EXPECT_EQ(s.ingest_time_ns, e.ingest_time_ns);
    EXPECT_EQ(s.time_fallback, e.time_fallback);
    EXPECT_EQ(s.account, e.account);
    EXPECT_EQ(s.principal, e.principal);
  }
  auto check = store->Verify();
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << check->problems[0].ToString();
  EXPECT_EQ(check->events, events.size());
  EXPECT_EQ(*store->CountEvents(), events.size());

  // A second writer reuses the dictionary and deduplicates against v2 ids.
  auto w = store->NewWriter();
  EXPECT_FALSE(*(*w)->Add(events[5]));
  Event more = MakeTrail(5000, kT0 + 5);
  EXPECT_TRUE(*(*w)->Add(more));
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(Files(segment::kDictSuffix).size(), 2u);
  EXPECT_EQ(Scan(store.get()).size(), events.size() + 1);
}

TEST_F(SegmentV2Test, V1SegmentsReadBesideV2) {
  SegmentStoreOptions v1;
  v1.format_version = 1;
  auto old_store = Open(v1);
  auto events = Trails(600);
  std::vector<Event> first(events.begin(), events.begin() + 300), second(events.begin() + 300, events.end());
  Write(old_store.get(), first);
  auto store = Open();
  {
    auto w = store->NewWriter();
    for (const Event& e : first) EXPECT_FALSE(*(*w)->Add(e)) << "v1 ids dedup v2 writes";
    for (const Event& e : second) EXPECT_TRUE(*(*w)->Add(e));
    ASSERT_TRUE((*w)->Commit().ok());
  }
  std::set<uint32_t> versions;
  for (const auto& f : Files(".seg")) versions.insert((*segment::SegmentFile::Open(mem_.get(), f, nullptr))->version());
  EXPECT_EQ(versions, (std::set<uint32_t>{1, 2}));
  ScanOptions desc;
  auto got = Scan(store.get(), desc);
  ASSERT_EQ(got.size(), events.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, events[events.size() - 1 - i].id);
    EXPECT_EQ(got[i].raw, events[events.size() - 1 - i].raw);
  }
  // A filter prunes v2 blocks and leaves v1 blocks to the caller's matcher.
  ScanFilter filter;
  filter.equalities.push_back({"sourceIPAddress", {"10.0.5.1"}, [](std::string_view v) { return v == "10.0.5.1"; }});
  desc.filter = &filter;
  got = Scan(store.get(), desc);
  EXPECT_EQ(got.size(), 301u) << "every v1 record (left to the matcher) and the one v2 match";
  auto check = store->Verify();
  EXPECT_TRUE(check->ok());
}

// Flips one byte in each part of a segment and of the dictionary: each is a
// Corruption naming the file (on open, on scan, or in Verify).
TEST_F(SegmentV2Test, FlippedByteInEachSectionIsNamedCorruption) {
  SegmentStoreOptions options;
  options.block_raw_bytes = 64 * 1024;
  {
    auto store = Open(options);
    auto events = Trails(400);
    for (Event& e : events) e.account = kAccounts[0];
    Write(store.get(), events);
  }
  auto segs = Files(".seg");
  ASSERT_EQ(segs.size(), 1u);
  const std::string path = segs[0];
  std::string pristine;
  ASSERT_TRUE(mem_->ReadFile(path, &pristine).ok());
  auto file = segment::SegmentFile::Open(mem_.get(), path, nullptr);
  ASSERT_TRUE(file.ok());
  ASSERT_GE((*file)->index().blocks.size(), 2u);
  const uint64_t b1 = (*file)->index().blocks[1].offset;
  // Section offsets of block 1 from its header.
  auto fixed32 = [&](uint64_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(pristine[at + i])) << (8 * i);
    return v;
  };
  const uint32_t columns_len = fixed32(b1 + 24), raw_len = fixed32(b1 + 32), filters_len = fixed32(b1 + 40);
  ASSERT_GT(filters_len, 0u);
  const uint64_t size = pristine.size();
  struct Case {
    std::string name;
    uint64_t offset;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"file header", 2, "bad header magic"},
      {"block header", b1 + 5, "block header checksum mismatch"},
      {"columns", b1 + segment::kBlockHeaderSize2 + columns_len / 2, "columns section checksum mismatch"},
      {"raw", b1 + segment::kBlockHeaderSize2 + columns_len + raw_len / 2, "raw section checksum mismatch"},
      {"filters", b1 + segment::kBlockHeaderSize2 + columns_len + raw_len + filters_len / 2,
       "filters section checksum mismatch"},
      {"index", size - segment::kTrailerSize - 10, "index checksum mismatch"},
      {"trailer", size - segment::kTrailerSize + 3, "trailer checksum mismatch"},
  };
  // The id set (when the segment has one: packed segments read their ids from
  // the id column) lies between the last block and the index.
  if ((*file)->has_id_set()) {
    const auto& last = (*file)->index().blocks.back();
    const uint64_t end_of_blocks = last.offset + segment::kBlockHeaderSize2 + fixed32(last.offset + 24) +
                                   fixed32(last.offset + 32) + fixed32(last.offset + 40);
    cases.push_back({"id set", end_of_blocks + 7, "event-id set checksum mismatch"});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string data = pristine;
    data[c.offset] ^= 0x20;
    ASSERT_TRUE(mem_->WriteFile(path, data).ok());
    auto store = Open(options);
    auto check = store->Verify();
    ASSERT_TRUE(check.ok());
    ASSERT_EQ(check->problems.size(), 1u);
    const Status& p = check->problems[0];
    EXPECT_EQ(p.code(), StatusCode::kCorruption) << p.ToString();
    EXPECT_NE(p.message().find(path), std::string::npos) << p.message();
    EXPECT_NE(p.message().find(c.expect), std::string::npos) << p.message();
    if (c.name == "block header" || c.name == "columns" || c.name == "raw") {
      EXPECT_NE(p.message().find("block 1 "), std::string::npos) << p.message();
      Status s;
      Scan(store.get(), {}, &s);
      EXPECT_EQ(s.code(), StatusCode::kCorruption);
      EXPECT_NE(s.message().find(path), std::string::npos);
    }
    if (c.name == "filters") {  // met by a scan whose filter consults the blooms
      ScanFilter filter;
      filter.text_runs.push_back("console");
      ScanOptions o;
      o.filter = &filter;
      Status s;
      Scan(store.get(), o, &s);
      EXPECT_EQ(s.code(), StatusCode::kCorruption);
      EXPECT_NE(s.message().find("filters section"), std::string::npos) << s.message();
    }
  }
  ASSERT_TRUE(mem_->WriteFile(path, pristine).ok());

  // The dictionaries (the raw records' and the columns').
  auto dicts = Files(segment::kDictSuffix);
  ASSERT_EQ(dicts.size(), 2u);
  for (const std::string& path : dicts) {
    SCOPED_TRACE(path);
    std::string dict;
    ASSERT_TRUE(mem_->ReadFile(path, &dict).ok());
    std::string damaged = dict;
    damaged[damaged.size() / 2] ^= 0x01;
    ASSERT_TRUE(mem_->WriteFile(path, damaged).ok());
    auto store = Open(options);
    Status s;
    Scan(store.get(), {}, &s);
    EXPECT_EQ(s.code(), StatusCode::kCorruption);
    EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("checksum mismatch"), std::string::npos) << s.message();
    ASSERT_TRUE(mem_->WriteFile(path, dict).ok());
  }
}

// A crash at any point of a commit that trains and writes the dictionary
// leaves the committed data and a readable store (the dictionary is durable
// before any segment using it can be published).
TEST_F(SegmentV2Test, TornWriteDuringDictionaryCommitThenCrash) {
  auto events = Trails(600);
  std::vector<Event> first(events.begin(), events.begin() + 20), second(events.begin() + 20, events.end());
  SegmentStoreOptions options;
  options.format_version = 2;
  options.block_raw_bytes = 64 * 1024;
  uint64_t total;
  {
    auto mem = NewMemEnv();
    ASSERT_TRUE(mem->CreateDirs("/data/events").ok());
    FaultInjectionEnv fenv(mem.get());
    options.env = &fenv;
    auto store = OpenSegmentStore("/data/events", options);
    Write(store->get(), first);  // too small to train a dictionary
    uint64_t before = fenv.bytes_written();
    Write(store->get(), second);
    total = fenv.bytes_written() - before;
    std::vector<std::string> files;
    ASSERT_TRUE(mem->ListFilesRecursive("/data/events/.dict", &files).ok());
    ASSERT_EQ(files.size(), 2u);  // the raw records' and the columns' dictionaries
  }
  for (uint64_t budget = 0; budget < total; budget += std::max<uint64_t>(1, total / 41)) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    auto mem = NewMemEnv();
    ASSERT_TRUE(mem->CreateDirs("/data/events").ok());
    FaultInjectionEnv fenv(mem.get());
    options.env = &fenv;
    {
      auto store = OpenSegmentStore("/data/events", options);
      Write(store->get(), first);
      auto w = (*store)->NewWriter();
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
    ASSERT_TRUE((*store)->NewWriter().ok());
    auto check = (*store)->Verify();
    ASSERT_TRUE(check.ok());
    EXPECT_TRUE(check->ok()) << check->problems[0].ToString();
    EXPECT_EQ(check->temp_files, 0u);
    std::map<std::string, std::string> raw_by_id;
    for (const auto& e : Scan(store->get())) raw_by_id[e.id] = e.raw;
    for (const Event& e : first) EXPECT_EQ(raw_by_id[e.id], e.raw);
    // Each account's segment of the second commit is all there or absent.
    size_t a = 0, b = 0;
    for (const Event& e : second) {
      auto it = raw_by_id.find(e.id);
      if (it == raw_by_id.end()) continue;
      EXPECT_EQ(it->second, e.raw);
      (e.account == kAccounts[0] ? a : b)++;
    }
    EXPECT_TRUE(a == 0 || a == 290) << a;
    EXPECT_TRUE(b == 0 || b == 290) << b;
    // And a new writer still commits (with whatever dictionary survived).
    Write(store->get(), {MakeTrail(9999, kT0)});
  }
}

// Events as the ingest pipeline makes them (formats/json_records.cc): the
// record parsed in place, so the writer takes its scalars and hot values
// from one pass over the bytes (store/json_scan.h) instead of the resolver.
void ParseInPlace(Event* e) {
  const std::string raw = e->raw;
  e->raw = std::string();
  e->raw.reserve(raw.size() + kJsonPadding);
  e->raw.assign(raw);
  std::memset(e->raw.data() + raw.size(), 0, kJsonPadding);
  auto fields = ParseJsonFields(e->raw, {}, e->raw.capacity() - e->raw.size());
  ASSERT_TRUE(fields.ok());
  ASSERT_EQ((*fields)->ParsedJson().data(), e->raw.data());
  e->fields = *fields;
}

// Stratus Red Team's detonation logs as events (times made up).
std::vector<Event> StratusTrails() {
  std::vector<Event> out;
  simdjson::dom::parser parser;
  const std::string dir = std::string(VIGIL_SHARED_DATA) + "/cloudtrail/stratus-red-team/docs/detonation-logs";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    simdjson::dom::array records;
    if (parser.parse(simdjson::padded_string(ss.str())).get(records) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element r : records) {
      Event e;
      e.raw = simdjson::minify(r);
      e.source_type = "cloudtrail";
      std::string_view v;
      e.id = r["eventID"].get(v) == simdjson::SUCCESS ? std::string(v) : ContentId("cloudtrail", e.raw);
      e.account = r["recipientAccountId"].get(v) == simdjson::SUCCESS ? std::string(v) : "";
      e.principal = r["userIdentity"]["arn"].get(v) == simdjson::SUCCESS ? std::string(v) : "";
      e.time_ns = kT0 + static_cast<int64_t>(out.size()) * kNanosPerSecond;
      e.ingest_time_ns = e.time_ns;
      e.fields = *ParseJsonFields(e.raw);
      out.push_back(std::move(e));
    }
  }
  return out;
}

TEST_F(SegmentV2Test, RecordsParsedInPlaceStoreWhatTheirResolverSays) {
  std::vector<Event> plain = StratusTrails();
  ASSERT_GE(plain.size(), 200u);
  for (Event& e : Trails(600)) plain.push_back(std::move(e));
  std::vector<Event> in_place = plain;
  for (Event& e : in_place) ParseInPlace(&e);

  // The same events through the resolver (B) and through the pass (A).
  SegmentStoreOptions options;
  options.block_raw_bytes = 32 * 1024;
  auto a = Open(options);
  Write(a.get(), in_place);
  std::unique_ptr<Env> env_b = NewMemEnv();
  ASSERT_TRUE(env_b->CreateDirs("/data/events").ok());
  auto b = Open(options, env_b.get());
  Write(b.get(), plain);

  // Every record back byte for byte.
  std::map<std::string, std::string> raw_by_id;
  for (const Event& e : plain) raw_by_id[e.id] = e.raw;
  auto got = Scan(a.get());
  ASSERT_EQ(got.size(), plain.size());
  for (const StoredEvent& s : got) EXPECT_EQ(s.raw, raw_by_id.at(s.id));

  // The same hot columns (those whose values never read as JSON numbers,
  // which leave a block to its raw records), and the rest in the records.
  ColumnRequest request;
  request.fields = {"eventName", "eventSource", "awsRegion", "sourceIPAddress", "userAgent", "errorCode",
                    "userIdentity.accessKeyId", "userIdentity.arn", "userIdentity.userName"};
  request.times = true;
  auto columns_of = [&](EventStore* store, ScanStats* stats) {
    std::vector<std::string> out;
    ScanOptions o;
    o.newest_first = false;
    o.stats = stats;
    Status st = store->ScanColumns(
        o, request,
        [&](const ColumnBlock& block) {
          for (uint32_t r = 0; r < block.rows; ++r) {
            std::string row = std::to_string(block.times.empty() ? 0 : block.times[r]);
            for (const ColumnBlock::Column& c : block.columns) {
              for (uint32_t k = c.single ? r : c.begin[r]; k < (c.single ? r + 1 : c.begin[r + 1]); ++k)
                row += "|" + (c.is_int ? std::to_string(c.ints[k]) : std::string(c.text[c.values[k]]));
              row += ";";
            }
            out.push_back(row);
          }
          return true;
        },
        [&](const StoredEvent& e) {
          out.push_back(e.raw);
          return true;
        });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  };
  ScanStats stats_a, stats_b;
  auto cols_a = columns_of(a.get(), &stats_a);
  EXPECT_EQ(cols_a, columns_of(b.get(), &stats_b));
  EXPECT_GT(stats_a.blocks_from_columns, 0u);
  EXPECT_EQ(stats_a.blocks_from_columns, stats_b.blocks_from_columns);

  // The text bloom of each block holds every scalar of each of its records.
  segment::DictionaryCache dicts(mem_.get(), "/data/events");
  size_t checked = 0;
  for (const std::string& path : Files(".seg")) {
    auto file = segment::SegmentFile::Open(mem_.get(), path, &dicts);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    for (size_t i = 0; i < (*file)->index().blocks.size(); ++i) {
      segment::BlockData data;
      ScanStats stats;
      ASSERT_TRUE((*file)->ReadBlock(i, nullptr, &data, &stats).ok());
      for (const segment::RecordView& rec : data.records) {
        auto fields = ParseJsonFields(rec.raw);
        ASSERT_TRUE(fields.ok());
        (*fields)->VisitAllScalars([&](const FieldValue& v) {
          if (v.kind == ValueKind::kNull || v.text.size() < 3) return true;
          ScanFilter f;
          f.text_runs.push_back(ToLower(v.text));
          auto may = (*file)->BlockMayMatch(i, f, &stats);
          EXPECT_TRUE(may.ok() && *may) << v.text << " in " << rec.raw;
          ++checked;
          return true;
        });
      }
    }
  }
  EXPECT_GT(checked, 10000u);
}

ScanFilter::Equality Eq(const std::string& field, const std::string& value) {
  GlobPattern p = GlobPattern::Compile(value);
  ScanFilter::Equality eq;
  eq.field = field;
  if (value.find('*') == std::string::npos) eq.exact.push_back(ToLower(value));
  eq.matches = [p](std::string_view v) { return p.Matches(v); };
  return eq;
}

TEST_F(SegmentV2Test, PruningSkipsBlocksByBloomMinMaxAndColumns) {
  SegmentStoreOptions options;
  options.block_raw_bytes = 8 * 1024;
  auto store = Open(options);
  auto events = Trails(3000);
  for (Event& e : events) e.account = kAccounts[0];  // one segment
  Write(store.get(), events);
  std::vector<Event> flows;
  for (int i = 0; i < 3000; ++i) flows.push_back(MakeFlow(i, kT0 + i * kNanosPerSecond));
  Write(store.get(), flows);

  auto run = [&](const ScanFilter& filter, const std::optional<std::string>& source, ScanStats* stats) {
    ScanOptions o;
    o.filter = &filter;
    o.stats = stats;
    o.source_type = source;
    return Scan(store.get(), o);
  };
  uint64_t trail_blocks = 0;
  {
    ScanStats stats;
    ScanFilter none;
    EXPECT_EQ(run(none, "cloudtrail", &stats).size(), 3000u);
    trail_blocks = stats.blocks;
    EXPECT_EQ(stats.blocks_read, trail_blocks);
    ASSERT_GE(trail_blocks, 20u);
  }
  {  // a needle: one source IP
    ScanStats stats;
    ScanFilter f;
    f.equalities.push_back(Eq("sourceIPAddress", "10.0.17.42"));
    auto got = run(f, "cloudtrail", &stats);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].id, "evt-1742");
    EXPECT_EQ(stats.blocks_read, 1u);
    EXPECT_GE(stats.blocks_pruned_bloom, trail_blocks - 3);  // bloom false positives are rare
  }
  {  // case-insensitive; a bloom-only column prunes blocks but leaves rows to the matcher;
     // an id that does not exist reads nothing
    ScanStats stats;
    ScanFilter f;
    f.equalities.push_back(Eq("requestID", "REQ-17"));
    auto got = run(f, "cloudtrail", &stats);
    EXPECT_LE(stats.blocks_read, 2u);
    EXPECT_TRUE(std::any_of(got.begin(), got.end(), [](const StoredEvent& e) { return e.id == "evt-17"; }));
    ScanFilter by_id;
    by_id.equalities.push_back(Eq("id", "EVT-17"));
    EXPECT_EQ(run(by_id, "cloudtrail", &stats).size(), 1u);
    ScanFilter g;
    g.equalities.push_back(Eq("id", "evt-nope"));
    ScanStats none;
    EXPECT_EQ(run(g, "cloudtrail", &none).size(), 0u);
    EXPECT_EQ(none.blocks_read, 0u);
  }
  {  // principal + wildcard operation: columns drop the rest
    ScanStats stats;
    ScanFilter f;
    f.equalities.push_back(Eq("principal", "arn:aws:iam::111111111111:user/user3"));
    auto names = Eq("eventName", "get*");
    f.equalities.push_back(names);
    auto got = run(f, "cloudtrail", &stats);
    size_t want = 0;
    for (const Event& e : events) {
      bool p = e.principal.empty() || e.principal == "arn:aws:iam::111111111111:user/user3";
      want += p && e.raw.find("\"GetObject\"") != std::string::npos;
    }
    // Events with an empty principal pass to the matcher (it reads the raw field then).
    EXPECT_EQ(got.size(), want);
    EXPECT_GT(stats.records_dropped, 2500u);
  }
  {  // full text: trigram bloom; "aws-cli" is everywhere, "akia101234" in one block
    ScanStats stats;
    ScanFilter f;
    f.text_runs.push_back("akia101234");
    auto got = run(f, "cloudtrail", &stats);
    EXPECT_LE(stats.blocks_read, 2u);
    EXPECT_GE(stats.blocks_pruned_bloom, trail_blocks - 2);
    bool found = false;
    for (const auto& e : got) found = found || e.id == "evt-1234";
    EXPECT_TRUE(found);
  }
  {  // numeric min/max on an int column (vpcflow bytes), then column compare
    ScanStats stats;
    ScanFilter f;
    f.compares.push_back({"bytes", ScanFilter::Compare::Op::kGt, 1000 + 2990 * 3});
    auto got = run(f, "vpcflow", &stats);
    EXPECT_EQ(got.size(), 9u);  // i = 2991..2999
    EXPECT_EQ(stats.blocks_read, 1u);
    EXPECT_GE(stats.blocks_pruned_index, stats.blocks - 1);
  }
  {  // account: other accounts' segments are skipped from the index
    ScanStats stats;
    ScanFilter f;
    f.equalities.push_back(Eq("account", "999999999999"));
    EXPECT_EQ(run(f, std::nullopt, &stats).size(), 0u);
    EXPECT_EQ(stats.blocks_read, 0u);
    EXPECT_EQ(stats.blocks_pruned_index, stats.blocks);
  }
}


// v2 sections pass through the segment's block codec: what is stored is
// ciphertext, a missing key is a clear error, and a sealed section moved or
// altered (checksums repaired) fails authentication.
TEST_F(SegmentV2Test, EncryptedSectionsRoundTripAndAuthenticate) {
  auto ring = std::make_shared<KeyRing>();
  ASSERT_TRUE(ring->Add(*ParseMasterKey("alpha:" + std::string(64, 'a'), "test")).ok());
  SegmentStoreOptions options;
  options.keys = ring;
  auto events = Trails(400);
  for (Event& e : events) e.account = kAccounts[0];
  Write(Open(options).get(), events);
  auto segs = Files(".seg");
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_TRUE(mem_->FileExists(segs[0] + ".key"));
  std::string bytes;
  ASSERT_TRUE(mem_->ReadFile(segs[0], &bytes).ok());
  // Column names are in the index (not sealed, like v1's); values are not.
  EXPECT_EQ(bytes.find("aws-cli"), std::string::npos) << "a value shows through";
  EXPECT_EQ(bytes.find("user/user3"), std::string::npos) << "a principal shows through";
  EXPECT_EQ(bytes.find("\x28\xB5\x2F\xFD"), std::string::npos) << "no zstd frame is stored in the clear";

  ScanOptions asc;
  asc.newest_first = false;
  auto got = Scan(Open(options).get(), asc);
  ASSERT_EQ(got.size(), events.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].raw, events[i].raw);
  ScanFilter f;
  f.equalities.push_back({"sourceIPAddress", {"10.0.1.7"}, [](std::string_view v) { return v == "10.0.1.7"; }});
  ScanStats stats;
  asc.filter = &f;
  asc.stats = &stats;
  got = Scan(Open(options).get(), asc);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, "evt-107");
  EXPECT_LE(stats.blocks_read, 1u);
  asc.filter = nullptr;
  asc.stats = nullptr;
  auto check = Open(options)->Verify();
  EXPECT_TRUE(check->ok()) << check->problems[0].ToString();

  Status s;
  got = Scan(Open().get(), asc, &s);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find(segs[0]), std::string::npos) << s.ToString();
  EXPECT_TRUE(got.empty());

  // Flip a byte of block 0's sealed raw section and repair every checksum,
  // as an attacker (not a disk) would: only authentication notices.
  auto file = segment::SegmentFile::Open(mem_.get(), segs[0], nullptr);
  ASSERT_TRUE(file.ok());
  const uint64_t b0 = (*file)->index().blocks[0].offset;
  auto get32 = [&](uint64_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    return v;
  };
  auto put32 = [&](uint64_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(v >> (8 * i));
  };
  const uint32_t cl = get32(b0 + 24), rl = get32(b0 + 32);
  const uint64_t raw_at = b0 + segment::kBlockHeaderSize2 + cl;
  bytes[raw_at + rl / 2] ^= 0x04;
  const uint32_t sum = Checksum32(std::string_view(bytes.data() + raw_at, rl));
  put32(b0 + 48, sum);
  put32(b0 + 60, Checksum32(std::string_view(bytes.data() + b0, 60)));
  // The index handle repeats the checksum: handle 0 starts after the schema.
  const size_t size = bytes.size();
  const uint64_t index_offset = [&] {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(bytes[size - 48 + 16 + i])} << (8 * i);
    return v;
  }();
  const uint32_t index_len = get32(size - 48 + 24);
  std::string index = bytes.substr(index_offset, index_len);
  // Find block 0's handle by its offset (16) and rewrite its raw checksum
  // (handle: offset 8, count 4, min 8, max 8, then 8 fixed32: raw checksum is the 7th).
  size_t h = index.find(std::string("\x10\0\0\0\0\0\0\0", 8));
  ASSERT_NE(h, std::string::npos);
  put32(index_offset + h + 28 + 4 * 6, sum);
  put32(size - 48 + 32, Checksum32(std::string_view(bytes.data() + index_offset, index_len)));
  put32(size - 48 + 36, Checksum32(std::string_view(bytes.data() + size - 48, 36)));
  ASSERT_TRUE(mem_->WriteFile(segs[0], bytes).ok());
  got = Scan(Open(options).get(), asc, &s);
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("authentication"), std::string::npos) << s.ToString();
}


std::shared_ptr<const KeyRing> RingOf(std::initializer_list<const char*> keys) {
  auto ring = std::make_shared<KeyRing>();
  for (const char* k : keys) EXPECT_TRUE(ring->Add(*ParseMasterKey(k, "test")).ok());
  return ring;
}
const std::string kAlpha = "alpha:" + std::string(64, 'a');
const std::string kBeta = "beta:" + std::string(63, '0') + "1";

// What a needle query and a comparison see, with the pruning counts.
struct Probe {
  std::vector<std::string> ids;
  ScanStats stats;
};
Probe Needle(EventStore* store) {
  ScanFilter f;
  f.equalities.push_back({"sourceIPAddress", {"10.0.3.7"}, [](std::string_view v) { return v == "10.0.3.7"; }});
  f.text_runs.push_back("user2");
  Probe p;
  ScanOptions o;
  o.newest_first = false;
  o.filter = &f;
  o.stats = &p.stats;
  EXPECT_TRUE(store->Scan(o, [&](const StoredEvent& e) {
                     p.ids.push_back(e.id);
                     return true;
                   }).ok());
  return p;
}

// Warm tiering's recompression of v2: every record, column and filter kept
// (the same needle answer with the same blocks pruned), the file smaller,
// checksums valid, ids still deduplicating.
TEST_F(SegmentV2Test, RecompressionKeepsRecordsColumnsAndFilters) {
  auto store = Open();
  auto events = Trails(3000);
  Write(store.get(), events);
  ScanOptions asc;
  asc.newest_first = false;
  const auto before = Scan(store.get(), asc);
  const Probe needle_before = Needle(store.get());
  ASSERT_EQ(needle_before.ids, std::vector<std::string>{"evt-307"});
  ASSERT_GT(needle_before.stats.blocks_pruned_bloom, 0u);

  uint64_t size_before = 0, size_after = 0;
  for (const std::string& seg : Files(".seg")) {
    auto sum = SummarizeSegment(mem_.get(), seg);
    ASSERT_TRUE(sum.ok()) << sum.status().ToString();
    size_before += sum->stored_bytes;
    auto re = RecompressSegment(mem_.get(), seg, 19);
    ASSERT_TRUE(re.ok()) << re.status().ToString();
    EXPECT_EQ(re->events, sum->events);
    EXPECT_EQ(re->raw_bytes, sum->raw_bytes);
    size_after += re->stored_bytes;
    EXPECT_FALSE(mem_->FileExists(seg + ".tmp"));
  }
  EXPECT_LT(size_after, size_before);

  auto reopened = Open();
  const auto after = Scan(reopened.get(), asc);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].raw, before[i].raw);
    EXPECT_EQ(after[i].time_ns, before[i].time_ns);
    EXPECT_EQ(after[i].ingest_time_ns, before[i].ingest_time_ns);
    EXPECT_EQ(after[i].account, before[i].account);
    EXPECT_EQ(after[i].principal, before[i].principal);
    EXPECT_EQ(after[i].time_fallback, before[i].time_fallback);
  }
  const Probe needle_after = Needle(reopened.get());
  EXPECT_EQ(needle_after.ids, needle_before.ids);
  EXPECT_EQ(needle_after.stats.blocks_pruned_bloom, needle_before.stats.blocks_pruned_bloom);
  EXPECT_EQ(needle_after.stats.blocks_pruned_columns, needle_before.stats.blocks_pruned_columns);
  EXPECT_EQ(needle_after.stats.blocks_read, needle_before.stats.blocks_read);
  auto check = reopened->Verify();
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << check->problems[0].ToString();
  auto w = reopened->NewWriter();
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(*(*w)->Add(events[42]));
}

// An encrypted v2 segment is recompressed under its own data key: the key
// file is untouched, nothing shows in the clear, a wrong or missing key
// changes nothing; a rewrite torn by a crash leaves the published segment
// and its key file to the next writer, which removes only the temp file.
TEST_F(SegmentV2Test, EncryptedRecompressionKeepsTheKeyFileAndSurvivesACrash) {
  SegmentStoreOptions options;
  options.keys = RingOf({kAlpha.c_str()});
  auto events = Trails(2000);
  for (Event& e : events) e.account = kAccounts[0];
  Write(Open(options).get(), events);
  auto segs = Files(".seg");
  ASSERT_EQ(segs.size(), 1u);
  const std::string seg = segs[0];
  std::string key_before, seg_before, key_after, seg_after;
  ASSERT_TRUE(mem_->ReadFile(seg + ".key", &key_before).ok());
  ASSERT_TRUE(mem_->ReadFile(seg, &seg_before).ok());

  auto no_key = RecompressSegment(mem_.get(), seg, 19);
  EXPECT_EQ(no_key.status().code(), StatusCode::kUnsupported) << no_key.status().ToString();
  auto wrong = RecompressSegment(mem_.get(), seg, 19, RingOf({kBeta.c_str()}).get());
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition) << wrong.status().ToString();
  ASSERT_TRUE(mem_->ReadFile(seg, &seg_after).ok());
  EXPECT_EQ(seg_after, seg_before);
  EXPECT_FALSE(mem_->FileExists(seg + ".tmp"));

  auto re = RecompressSegment(mem_.get(), seg, 19, options.keys.get());
  ASSERT_TRUE(re.ok()) << re.status().ToString();
  EXPECT_TRUE(re->encrypted);
  EXPECT_EQ(re->events, events.size());
  ASSERT_TRUE(mem_->ReadFile(seg + ".key", &key_after).ok());
  EXPECT_EQ(key_after, key_before);
  ASSERT_TRUE(mem_->ReadFile(seg, &seg_after).ok());
  EXPECT_LT(seg_after.size(), seg_before.size());
  EXPECT_EQ(seg_after.find("aws-cli"), std::string::npos);
  EXPECT_EQ(seg_after.find("\x28\xB5\x2F\xFD"), std::string::npos) << "no zstd frame is stored in the clear";

  // A crash mid-rewrite: the temp file is torn, the segment and key intact.
  ASSERT_TRUE(mem_->WriteFile(seg + ".tmp", seg_after.substr(0, seg_after.size() / 2)).ok());
  options.remove_stale_temp_files = true;  // as the data directory's lock holder does
  auto store = Open(options);
  auto w = store->NewWriter();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_FALSE(mem_->FileExists(seg + ".tmp"));
  EXPECT_TRUE(mem_->FileExists(seg + ".key"));
  ScanOptions asc;
  asc.newest_first = false;
  auto got = Scan(store.get(), asc);
  ASSERT_EQ(got.size(), events.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].raw, events[i].raw);
}

// Dictionaries are trained from event content: with encryption at rest they
// are sealed like blocks, under a data key of their own that rotation
// re-wraps; a plain store's dictionary shows that content in the clear.
TEST_F(SegmentV2Test, DictionariesAreEncryptedWithTheStoreAndRotate) {
  auto events = Trails(1500);
  {
    auto plain_env = NewMemEnv();
    SegmentStoreOptions o;
    o.env = plain_env.get();
    o.format_version = 2;
    o.block_raw_bytes = 48 * 1024;
    auto plain = OpenSegmentStore("/p/events", o);
    ASSERT_TRUE(plain.ok());
    Write(plain->get(), events);
    std::vector<std::string> files;
    ASSERT_TRUE(plain_env->ListFilesRecursive("/p/events/.dict", &files).ok());
    ASSERT_EQ(files.size(), 2u);  // the raw records' and the columns' dictionaries
    bool shows_bucket = false, shows_agent = false;
    for (const std::string& f : files) {
      std::string dict;
      ASSERT_TRUE(plain_env->ReadFile("/p/events/.dict/" + f, &dict).ok());
      shows_bucket = shows_bucket || dict.find("\"bucket-") != std::string::npos;
      shows_agent = shows_agent || dict.find("aws-cli") != std::string::npos;
    }
    EXPECT_TRUE(shows_bucket && shows_agent) << "the checks below would prove nothing";
  }
  SegmentStoreOptions options;
  options.keys = RingOf({kAlpha.c_str()});
  Write(Open(options).get(), events);
  auto dicts = Files(segment::kDictSuffix);
  ASSERT_EQ(dicts.size(), 2u);  // the raw records' and the columns' dictionaries, both sealed
  for (const std::string& f : dicts) {
    EXPECT_TRUE(mem_->FileExists(f + ".key"));
    std::string dict;
    ASSERT_TRUE(mem_->ReadFile(f, &dict).ok());
    EXPECT_EQ(dict.find("\"bucket-"), std::string::npos) << "event content shows through the dictionary";
    EXPECT_EQ(dict.find("aws-cli"), std::string::npos) << "event content shows through the dictionary";
  }

  // A later encrypted writer reuses them; a plain writer (were it allowed)
  // would not pick a sealed dictionary.
  std::string st, bytes;
  bool sealed = false;
  ASSERT_TRUE(segment::ReadDictionaryFile(mem_.get(), dicts[0], &st, &bytes, options.keys.get(), &sealed).ok());
  if (st != "cloudtrail") {  // the other one is the raw records'
    ASSERT_TRUE(segment::ReadDictionaryFile(mem_.get(), dicts[1], &st, &bytes, options.keys.get(), &sealed).ok());
    std::swap(dicts[0], dicts[1]);
  }
  EXPECT_TRUE(sealed);
  EXPECT_EQ(st, "cloudtrail");
  EXPECT_EQ(*segment::FindDictionary(mem_.get(), "/data/events", "cloudtrail", options.keys.get()),
            Hash64(bytes) | 1);
  EXPECT_EQ(*segment::FindDictionary(mem_.get(), "/data/events", "cloudtrail"), 0u);
  Status s = segment::ReadDictionaryFile(mem_.get(), dicts[0], &st, &bytes, RingOf({kBeta.c_str()}).get());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();

  auto status = ReadKeyStatus(mem_.get(), "/data/events");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->dictionaries_by_key, (std::map<std::string, uint64_t>{{"alpha", 2}}));

  // Rotation to beta re-wraps the segments' and the dictionary's keys; beta
  // alone then reads everything.
  auto rotated = RotateSegmentKeys(mem_.get(), "/data/events", *RingOf({kBeta.c_str(), kAlpha.c_str()}));
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->rewrapped, Files(".seg").size() + 2);
  EXPECT_TRUE(rotated->failed.empty());
  SegmentStoreOptions beta;
  beta.keys = RingOf({kBeta.c_str()});
  ScanOptions asc;
  asc.newest_first = false;
  EXPECT_EQ(Scan(Open(beta).get(), asc).size(), events.size());
}

}  // namespace
}  // namespace vigil
