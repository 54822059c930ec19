// Packed v2 segments (docs/storage-format.md, "Packed records"): real
// CloudTrail records, as the CloudTrail parser cuts them from the shared
// Stratus Red Team detonation logs (pretty-printed, so spaces and newlines
// are part of each record), come back byte-exact; so do records
// built to stress the encoding (the escape byte, ids and UUIDs next to each
// other, upper-case UUIDs, ids the record does not hold). Segments written
// before packing read beside packed ones, and writers deduplicate against
// packed segments, which carry no id set.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/hash.h"
#include "common/time.h"
#include "env/mem_env.h"
#include "event/json_fields.h"
#include "formats/cloudtrail.h"
#include "store/event_store.h"
#include "store/internal/segment_v2.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

class Collect : public ParseSink {
 public:
  void OnEvent(Event&& e) override { events.push_back(std::move(e)); }
  void OnDeadLetter(DeadLetter&&) override { ++dead; }
  void OnWarning(std::string_view, std::string_view) override {}
  std::vector<Event> events;
  int dead = 0;
};

std::vector<Event> SharedCloudTrail() {
  Collect sink;
  auto parser = MakeCloudTrailParser();
  {
    const fs::path root = fs::path(VIGIL_SHARED_DATA) / "cloudtrail/stratus-red-team/docs/detonation-logs";
    for (const auto& entry : fs::directory_iterator(root)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string bytes = ss.str();
      if (!parser->Recognize(bytes)) continue;
      ParseInput input;
      input.name = entry.path().string();
      input.bytes = bytes;
      input.ingest_time_ns = 1'700'000'000LL * kNanosPerSecond;
      (void)parser->Parse(input, sink);
    }
  }
  return std::move(sink.events);
}

// Records shaped to meet every branch of the encoding.
std::vector<Event> Awkward(int64_t time_ns) {
  const std::string id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
  const std::string other = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
  const std::vector<std::string> raws = {
      "{\"eventID\":\"" + id + "\"}",                              // the id alone
      "{\"x\":\"" + other + id + other + "\",\"eventID\":\"" + id + "\"}",  // UUIDs against the id
      std::string("{\"e\":\"\x01\x01\x02\x01\x00\x01\",\"eventID\":\"") + id + "\"}\x01",  // escape bytes
      "{\"up\":\"AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE\",\"short\":\"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee\"}",
      "{\"adjacent\":\"" + other + other + "-" + other + "\"}",  // no id in the record
      "--------" + other + "------------------------------------",   // dashes everywhere
      other,                                                       // a record that is a UUID
      "",                                                          // an empty record
      std::string("\x01", 1),
      "{\"almost\":\"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeeg\",\"tail\":\"aaaaaaaa-bbbb-4ccc-8ddd-eeee\"}",
      // With fields, so that column values are cut too: a value twice, one
      // value in two columns, an escaped value, a value equal to the id, a
      // value that is a UUID, numbers.
      "{\"eventName\":\"GetObject\",\"x\":\"GetObject\",\"eventSource\":\"s3.amazonaws.com\"}",
      "{\"sourceIPAddress\":\"10.1.2.3\",\"userAgent\":\"10.1.2.3\",\"awsRegion\":\"eu\\/west-1\"}",
      "{\"eventName\":\"" + other + "\",\"eventID\":\"" + other + "\",\"errorCode\":\"" + other + "\"}",
      "{ \"eventName\" : \"ListBuckets\" , \"userAgent\":12345678, \"errorCode\":\"\\u0041ccessDenied\"}",
  };
  std::vector<Event> out;
  for (size_t i = 0; i < raws.size(); ++i) {
    Event e;
    e.id = i < 3 ? id.substr(0, 35) + std::to_string(i) : "awkward-" + std::to_string(i);
    if (i == 0) e.id = id;
    e.source_type = "cloudtrail";
    e.time_ns = time_ns + static_cast<int64_t>(i);
    e.ingest_time_ns = time_ns;
    e.account = "123456789012";
    e.raw = raws[i];
    if (i >= 10) {
      auto fields = ParseJsonFields(e.raw);
      EXPECT_TRUE(fields.ok()) << e.raw;
      if (fields.ok()) e.fields = *fields;
    }
    if (i == 12) e.id = other;
    out.push_back(std::move(e));
  }
  // Records 1 and 2 hold `id`, not their own ids: make them their own.
  out[1].raw.replace(out[1].raw.rfind(id), id.size(), out[1].id);
  out[2].raw.replace(out[2].raw.rfind(id), id.size(), out[2].id);
  return out;
}

std::unique_ptr<EventStore> OpenStore(Env* env) {
  SegmentStoreOptions o;
  o.env = env;
  o.format_version = 2;
  o.block_raw_bytes = 64 * 1024;  // many blocks, some records out of time order within them
  auto store = OpenSegmentStore("/data/events", o);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return std::move(store).value();
}

void Write(EventStore* store, const std::vector<Event>& events) {
  auto w = store->NewWriter();
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (const Event& e : events) ASSERT_TRUE((*w)->Add(e).ok());
  ASSERT_TRUE((*w)->Commit().ok());
}

std::map<std::string, StoredEvent> ScanAll(EventStore* store) {
  std::map<std::string, StoredEvent> out;
  Status s = store->Scan({}, [&](const StoredEvent& e) {
    out[e.id] = e;
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

uint64_t SegmentBytes(Env* env) {
  std::vector<std::string> files;
  EXPECT_TRUE(env->ListFilesRecursive("/data/events", &files).ok());
  uint64_t total = 0;
  for (const std::string& f : files) {
    if (f.size() > 4 && f.substr(f.size() - 4) == ".seg") total += *env->FileSize("/data/events/" + f);
  }
  return total;
}

TEST(SegmentPackedTest, RealCloudTrailRoundTripsByteExact) {
  std::vector<Event> events = SharedCloudTrail();
  ASSERT_GT(events.size(), 250u) << "shared CloudTrail samples not found under " VIGIL_SHARED_DATA;
  const int64_t t = events.front().time_ns;
  for (Event& e : Awkward(t)) events.push_back(std::move(e));
  std::map<std::string, const Event*> by_id;
  for (const Event& e : events) by_id.emplace(e.id, &e);

  auto env = NewMemEnv();
  ASSERT_TRUE(env->CreateDirs("/data/events").ok());
  auto store = OpenStore(env.get());
  Write(store.get(), events);
  auto got = ScanAll(store.get());
  ASSERT_EQ(got.size(), by_id.size());
  size_t with_uuid_ids = 0;
  for (const auto& [id, e] : by_id) {
    const StoredEvent& s = got.at(id);
    ASSERT_EQ(s.raw, e->raw) << "record " << id << " is not byte-exact";
    EXPECT_EQ(s.time_ns, e->time_ns);
    EXPECT_EQ(s.account, e->account);
    EXPECT_EQ(s.principal, e->principal);
    with_uuid_ids += id.size() == 36 && e->raw.find(id) != std::string::npos;
  }
  EXPECT_GT(with_uuid_ids, 250u);  // the id splice was exercised

  auto check = store->Verify();
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << check->problems[0].ToString();
  EXPECT_EQ(check->events, by_id.size());
  EXPECT_EQ(*store->CountEvents(), by_id.size());

  // Packed segments carry no id set; a new writer reads the ids from the id
  // columns and skips every event already stored.
  std::vector<std::string> files;
  ASSERT_TRUE(env->ListFilesRecursive("/data/events", &files).ok());
  for (const std::string& f : files) {
    if (f.substr(f.size() - 4) != ".seg") continue;
    auto file = segment::SegmentFile::Open(env.get(), "/data/events/" + f, nullptr);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_FALSE((*file)->has_id_set());
    std::vector<Hash128> ids;
    ASSERT_TRUE((*file)->ReadIds(&ids).ok());
    EXPECT_EQ(ids.size(), (*file)->index().record_count);
  }
  auto w = store->NewWriter();
  ASSERT_TRUE(w.ok());
  for (const auto& [id, e] : by_id) EXPECT_FALSE(*(*w)->Add(*e)) << id;
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ(ScanAll(store.get()).size(), by_id.size());
}

// Writes `events` as one v2 segment of one block, packed or in the layout
// before packing (plain id column and raw records, an id set).
void WriteSegment(Env* env, const std::string& path, const std::vector<Event>& events, bool packed) {
  auto schema = segment::SchemaFor("cloudtrail");
  segment::BlockBuilder2 block(schema, /*text_bloom=*/true, packed);
  for (const Event& e : events) block.Add(e);
  auto seg = segment::SegmentBuilder2::Create(env, path, "cloudtrail", events[0].account, 0, schema, nullptr, packed);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  std::string out;
  segment::BlockHandle2 handle;
  ASSERT_TRUE(block.Finish(cctx, 1, nullptr, &out, &handle).ok());
  ZSTD_freeCCtx(cctx);
  ASSERT_TRUE((*seg)->AddBlock(out, handle).ok());
  for (const Event& e : events) (*seg)->AddId(HashId128(e.id));
  ASSERT_TRUE((*seg)->Seal().ok());
  ASSERT_TRUE(env->RenameFile(path + segment::kTempSuffix, path).ok());
}

TEST(SegmentPackedTest, UnpackedSegmentsReadBesidePackedAndPackingSavesBytes) {
  std::vector<Event> events = SharedCloudTrail();
  ASSERT_GT(events.size(), 250u);
  for (Event& e : events) e.account = "123456789012";  // one partition per day
  std::map<std::string, const Event*> by_id;
  for (const Event& e : events) by_id.emplace(e.id, &e);
  std::vector<Event> unique;
  for (const auto& [id, e] : by_id) unique.push_back(*e);
  const size_t half = unique.size() / 2;
  std::vector<Event> old_part(unique.begin(), unique.begin() + half), new_part(unique.begin() + half, unique.end());

  // The same records packed and unpacked: packing takes fewer bytes.
  auto env = NewMemEnv();
  uint64_t packed_bytes = 0, unpacked_bytes = 0;
  for (bool packed : {true, false}) {
    // Day directories as the store names them, one segment each.
    std::map<int64_t, std::vector<Event>> by_day;
    for (const Event& e : unique) by_day[DayNumber(e.time_ns)].push_back(e);
    for (auto& [day, evs] : by_day) {
      const CivilDate d = CivilFromDays(day);
      char ymd[16];
      std::snprintf(ymd, sizeof ymd, "%04d/%02u/%02u", static_cast<int>(d.year), static_cast<unsigned>(d.month),
                    static_cast<unsigned>(d.day));
      const std::string dir = std::string("/data/events/cloudtrail/") + ymd;
      ASSERT_TRUE(env->CreateDirs(dir).ok());
      WriteSegment(env.get(), dir + "/old-" + std::to_string(day) + ".seg", evs, packed);
    }
    (packed ? packed_bytes : unpacked_bytes) = SegmentBytes(env.get());
    if (packed) {
      std::vector<std::string> files;
      ASSERT_TRUE(env->ListFilesRecursive("/data/events", &files).ok());
      for (const std::string& f : files) ASSERT_TRUE(env->RemoveFile("/data/events/" + f).ok());
    }
  }
  EXPECT_LT(packed_bytes * 10, unpacked_bytes * 9) << packed_bytes << " packed vs " << unpacked_bytes;

  // The unpacked segments hold everything; a writer sees their ids (from
  // their id sets) and adds nothing; new events go into packed segments.
  auto store = OpenStore(env.get());
  auto got = ScanAll(store.get());
  ASSERT_EQ(got.size(), unique.size());
  for (const Event& e : unique) ASSERT_EQ(got.at(e.id).raw, e.raw);
  auto w = store->NewWriter();
  ASSERT_TRUE(w.ok());
  for (const Event& e : old_part) EXPECT_FALSE(*(*w)->Add(e));
  Event fresh = new_part[0];
  fresh.id = "fresh-event";
  fresh.raw = "{\"eventID\":\"fresh-event\"}";
  EXPECT_TRUE(*(*w)->Add(fresh));
  ASSERT_TRUE((*w)->Commit().ok());
  got = ScanAll(store.get());
  EXPECT_EQ(got.size(), unique.size() + 1);
  EXPECT_EQ(got.at("fresh-event").raw, fresh.raw);
  auto check = store->Verify();
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok()) << check->problems[0].ToString();
}

}  // namespace
}  // namespace vigil
