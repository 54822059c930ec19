// Encryption at rest in the segment store: round trip, wrong and missing
// keys, tampering, key rotation. End-to-end tests over real logs with the CLI
// are in tests/encryption_e2e_test.cc.
#include <gtest/gtest.h>

#include <map>

#include "common/hash.h"
#include "common/time.h"
#include "env/mem_env.h"
#include "store/block_codec.h"
#include "store/data_dir.h"
#include "store/event_store.h"
#include "store/key_admin.h"
#include "store/internal/segment.h"
#include "store/keys.h"

namespace vigil {
namespace {

constexpr int64_t kDay = 86400 * kNanosPerSecond;
const int64_t kT0 = DaysFromCivil(2024, 7, 31) * kDay;

std::shared_ptr<const KeyRing> Ring(std::vector<std::string> keys) {
  auto ring = std::make_shared<KeyRing>();
  for (const std::string& k : keys) {
    auto key = ParseMasterKey(k, "test");
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_TRUE(ring->Add(*key).ok());
  }
  return ring;
}

const std::string kKeyA = "alpha:" + std::string(64, 'a');
const std::string kKeyA2 = "alpha:" + std::string(64, 'b');  // same id, other bytes
const std::string kKeyB = "beta:" + std::string(63, '0') + "1";

Event MakeEvent(int i) {
  Event e;
  e.id = "evt-" + std::to_string(i);
  e.source_type = "cloudtrail";
  e.time_ns = kT0 + int64_t{i} * kNanosPerSecond;
  e.ingest_time_ns = e.time_ns + 1;
  e.account = "123456789012";
  e.principal = "arn:aws:iam::123456789012:user/secret-user-" + std::to_string(i % 3);
  e.raw = "{\"eventID\":\"" + e.id + "\",\"eventName\":\"GetSecretValue\",\"n\":" + std::to_string(i * 7919) + "}";
  return e;
}

class EncryptionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_->CreateDirs("/events").ok()); }

  // The byte-layout tests below are of v1 segments (format 1); v2 blocks
  // pass through the same codec (segment_v2_test.cc).
  std::unique_ptr<EventStore> Open(std::shared_ptr<const KeyRing> keys, size_t block_bytes = 1 << 20,
                                   int format_version = 2) {
    SegmentStoreOptions o;
    o.format_version = format_version;
    o.env = env_.get();
    o.keys = std::move(keys);
    o.block_raw_bytes = block_bytes;
    o.remove_stale_temp_files = true;
    auto s = OpenSegmentStore("/events", o);
    EXPECT_TRUE(s.ok());
    return std::move(s).value();
  }

  void Write(EventStore* store, int from, int to) {
    auto w = store->NewWriter();
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (int i = from; i < to; ++i) ASSERT_TRUE((*w)->Add(MakeEvent(i)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }

  Status Scan(EventStore* store, std::vector<StoredEvent>* out) {
    out->clear();
    ScanOptions o;
    o.newest_first = false;
    return store->Scan(o, [&](const StoredEvent& e) {
      out->push_back(e);
      return true;
    });
  }

  std::vector<std::string> Files(std::string_view suffix) {
    std::vector<std::string> all, out;
    EXPECT_TRUE(env_->ListFilesRecursive("/events", &all).ok());
    for (const auto& f : all)
      if (f.size() >= suffix.size() && f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0)
        out.push_back("/events/" + f);
    return out;
  }

  std::string Read(const std::string& path) {
    std::string s;
    EXPECT_TRUE(env_->ReadFile(path, &s).ok());
    return s;
  }

  std::unique_ptr<Env> env_ = NewMemEnv();
};

TEST_F(EncryptionTest, RoundTripReturnsWhatPlainStorageReturns) {
  auto plain_env = NewMemEnv();
  ASSERT_TRUE(plain_env->CreateDirs("/events").ok());
  SegmentStoreOptions po;
  po.env = plain_env.get();
  po.block_raw_bytes = 2048;  // several blocks per segment
  po.format_version = 1;
  auto plain = OpenSegmentStore("/events", po);
  ASSERT_TRUE(plain.ok());
  {
    auto w = (*plain)->NewWriter();
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 400; ++i) ASSERT_TRUE((*w)->Add(MakeEvent(i)).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto enc = Open(Ring({kKeyA}), 2048, 1);
  Write(enc.get(), 0, 400);

  std::vector<StoredEvent> got, want;
  ASSERT_TRUE(Scan(enc.get(), &got).ok());
  ScanOptions oldest_first;
  oldest_first.newest_first = false;
  ASSERT_TRUE((*plain)->Scan(oldest_first, [&](const StoredEvent& e) {
                        want.push_back(e);
                        return true;
                      }).ok());
  ASSERT_EQ(got.size(), 400u);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i].id);
    EXPECT_EQ(got[i].raw, want[i].raw);
    EXPECT_EQ(got[i].principal, want[i].principal);
    EXPECT_EQ(got[i].time_ns, want[i].time_ns);
  }
  // Every segment has its key file, and its block payloads are no longer
  // zstd frames (which a plain segment's are) but ciphertext.
  auto segs = Files(".seg");
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_TRUE(env_->FileExists(segs[0] + ".key"));
  std::vector<std::string> plain_files;
  ASSERT_TRUE(plain_env->ListFilesRecursive("/events", &plain_files).ok());
  std::string plain_bytes;
  ASSERT_TRUE(plain_env->ReadFile("/events/" + plain_files[0], &plain_bytes).ok());
  const std::string kZstdMagic = "\x28\xB5\x2F\xFD";
  const size_t first_payload = segment::kHeaderSize + segment::kBlockHeaderSize;
  EXPECT_EQ(plain_bytes.substr(first_payload, 4), kZstdMagic);
  EXPECT_NE(Read(segs[0]).substr(first_payload + 12, 4), kZstdMagic);  // after the nonce

  auto check = enc->Verify();
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok());
  EXPECT_EQ(check->events, 400u);
  EXPECT_GT(check->blocks, 1u);
  // Same blocks, each 12 bytes of nonce and 16 of tag longer.
  EXPECT_EQ(Read(segs[0]).size(), plain_bytes.size() + check->blocks * 28);
}

TEST_F(EncryptionTest, WrongOrMissingKeyIsAClearErrorNamingSegmentAndKey) {
  Write(Open(Ring({kKeyA})).get(), 0, 50);
  const std::string seg = Files(".seg").at(0);
  std::vector<StoredEvent> got;

  Status s = Scan(Open(Ring({kKeyB})).get(), &got);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("master key beta does not open segment " + seg), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("wrapped by master key alpha"), std::string::npos) << s.ToString();
  EXPECT_TRUE(got.empty());

  s = Scan(Open(Ring({kKeyA2})).get(), &got);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("master key alpha does not open segment " + seg), std::string::npos) << s.ToString();
  EXPECT_TRUE(got.empty());

  s = Scan(Open(nullptr).get(), &got);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("segment " + seg + " is encrypted (master key alpha)"), std::string::npos)
      << s.ToString();
  EXPECT_TRUE(got.empty());

  // Counting and dedup need no key: ids and indexes are not encrypted.
  auto n = Open(nullptr)->CountEvents();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 50u);
}

TEST_F(EncryptionTest, TamperedBlockIsCorruption) {
  Write(Open(Ring({kKeyA}), 2048, 1).get(), 0, 200);
  const std::string seg = Files(".seg").at(0);
  std::string bytes = Read(seg);
  auto reader = segment::SegmentReader::Open(env_.get(), seg);
  ASSERT_TRUE(reader.ok());
  ASSERT_GE((*reader)->index().blocks.size(), 2u);
  const segment::BlockHandle h = (*reader)->index().blocks[1];
  reader->reset();

  // Flip a ciphertext bit and repair the checksums, as an attacker (not a
  // disk) would: only authentication can notice.
  const size_t payload = h.offset + segment::kBlockHeaderSize;
  bytes[payload + 20] ^= 0x01;
  std::string_view sealed(bytes.data() + payload, h.compressed_len);
  const uint32_t sum = Checksum32(sealed);
  std::string repaired = bytes;
  for (int i = 0; i < 4; ++i) repaired[h.offset + 32 + i] = static_cast<char>(sum >> (8 * i));
  const uint32_t header_sum = Checksum32(std::string_view(repaired.data() + h.offset, 36));
  for (int i = 0; i < 4; ++i) repaired[h.offset + 36 + i] = static_cast<char>(header_sum >> (8 * i));
  // ... and in the index's handle of block 1 (checksum at handle offset 20).
  auto r2 = segment::SegmentReader::Open(env_.get(), seg);
  ASSERT_TRUE(r2.ok());
  const size_t size = bytes.size();
  const uint64_t index_offset = [&] {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(bytes[size - 48 + 16 + i])} << (8 * i);
    return v;
  }();
  const size_t handle1 = index_offset + 4 + std::string("cloudtrail").size() + 8 + 8 + 8 + 4 + segment::kBlockHandleSize;
  for (int i = 0; i < 4; ++i) repaired[handle1 + 20 + i] = static_cast<char>(sum >> (8 * i));
  const uint32_t index_len = [&] {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(bytes[size - 48 + 24 + i])} << (8 * i);
    return v;
  }();
  const uint32_t index_sum = Checksum32(std::string_view(repaired.data() + index_offset, index_len));
  for (int i = 0; i < 4; ++i) repaired[size - 48 + 32 + i] = static_cast<char>(index_sum >> (8 * i));
  const uint32_t trailer_sum = Checksum32(std::string_view(repaired.data() + size - 48, 36));
  for (int i = 0; i < 4; ++i) repaired[size - 48 + 36 + i] = static_cast<char>(trailer_sum >> (8 * i));
  ASSERT_TRUE(env_->WriteFile(seg, repaired).ok());

  std::vector<StoredEvent> got;
  Status s = Scan(Open(Ring({kKeyA})).get(), &got);
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("block 1 fails authentication"), std::string::npos) << s.ToString();
  auto check = Open(Ring({kKeyA}))->Verify();
  ASSERT_TRUE(check.ok());
  ASSERT_EQ(check->problems.size(), 1u);
  EXPECT_EQ(check->problems[0].code(), StatusCode::kCorruption);
}

TEST_F(EncryptionTest, BlocksAreBoundToTheirSegmentAndPosition) {
  auto ring = Ring({kKeyA});
  auto a = segment::CreateSegmentKey(env_.get(), "/events/a.seg", *ring);
  auto b = segment::CreateSegmentKey(env_.get(), "/events/b.seg", *ring);
  ASSERT_TRUE(a.ok() && b.ok());
  std::string sealed0, sealed0_again, out;
  ASSERT_TRUE((*a)->Seal(0, "payload", &sealed0).ok());
  ASSERT_TRUE((*a)->Seal(0, "payload", &sealed0_again).ok());
  EXPECT_NE(sealed0, sealed0_again);  // a fresh nonce every time
  EXPECT_EQ(sealed0.size(), 7 + (*a)->overhead());
  ASSERT_TRUE((*a)->Open(0, sealed0, &out).ok());
  EXPECT_EQ(out, "payload");
  EXPECT_EQ((*a)->Open(1, sealed0, &out).code(), StatusCode::kCorruption);  // replayed at another index
  EXPECT_EQ((*b)->Open(0, sealed0, &out).code(), StatusCode::kCorruption);  // moved to another segment
  EXPECT_TRUE(out.empty());
  out = "stale";
  EXPECT_EQ((*a)->Open(0, sealed0.substr(0, 20), &out).code(), StatusCode::kCorruption);  // truncated
  EXPECT_TRUE(out.empty());
  // Reopened from its key file, a segment's codec still opens its blocks.
  auto reopened = segment::OpenSegmentKey(env_.get(), "/events/a.seg", ring.get());
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE((*reopened)->Open(0, sealed0, &out).ok());
  EXPECT_EQ(out, "payload");
}

TEST_F(EncryptionTest, RotationRewrapsKeysWithoutTouchingSegments) {
  Write(Open(Ring({kKeyA})).get(), 0, 100);
  Write(Open(Ring({kKeyA})).get(), 100, 200);
  auto segs = Files(".seg");
  ASSERT_EQ(segs.size(), 2u);
  std::vector<std::string> before;
  for (const auto& s : segs) before.push_back(Read(s));
  std::vector<StoredEvent> want, got;
  ASSERT_TRUE(Scan(Open(Ring({kKeyA})).get(), &want).ok());

  auto ring = Ring({kKeyB, kKeyA});  // beta active, alpha to unwrap
  for (const auto& k : Files(".seg.key")) {
    auto r = segment::RewrapSegmentKey(env_.get(), k, *ring);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(*r);
    auto again = segment::RewrapSegmentKey(env_.get(), k, *ring);  // idempotent
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again);
    auto info = segment::ReadSegmentKeyInfo(env_.get(), k);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->key_id, "beta");
  }
  for (size_t i = 0; i < segs.size(); ++i) EXPECT_EQ(Read(segs[i]), before[i]) << segs[i];
  // The old key is no longer needed; alone it no longer opens anything.
  ASSERT_TRUE(Scan(Open(Ring({kKeyB})).get(), &got).ok());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].raw, want[i].raw);
  Status s = Scan(Open(Ring({kKeyA})).get(), &got);
  EXPECT_NE(s.message().find("master key alpha does not open segment"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("wrapped by master key beta"), std::string::npos) << s.ToString();
  // Rotation without the old key names what is missing.
  auto r = segment::RewrapSegmentKey(env_.get(), Files(".seg.key")[0], *Ring({kKeyA}));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("wrapped by master key beta"), std::string::npos);
}

TEST_F(EncryptionTest, InterruptedRotationLeavesEverythingReadableAndFinishesWhenRerun) {
  Write(Open(Ring({kKeyA})).get(), 0, 100);
  Write(Open(Ring({kKeyA})).get(), 100, 200);
  Write(Open(Ring({kKeyA})).get(), 200, 300);
  auto keys = Files(".seg.key");
  ASSERT_EQ(keys.size(), 3u);
  auto both = Ring({kKeyB, kKeyA});
  // A crash after the first key file was replaced: one under beta, two under alpha.
  ASSERT_TRUE(*segment::RewrapSegmentKey(env_.get(), keys[0], *both));
  std::vector<StoredEvent> got;
  ASSERT_TRUE(Scan(Open(both).get(), &got).ok());
  EXPECT_EQ(got.size(), 300u);
  EXPECT_EQ(Scan(Open(Ring({kKeyB})).get(), &got).code(), StatusCode::kFailedPrecondition);
  // Rotation run again finishes the rest and skips what is done.
  auto r = RotateSegmentKeys(env_.get(), "/events", *both);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rewrapped, 2u);
  EXPECT_EQ(r->current, 1u);
  EXPECT_TRUE(r->failed.empty());
  ASSERT_TRUE(Scan(Open(Ring({kKeyB})).get(), &got).ok());
  EXPECT_EQ(got.size(), 300u);
  auto status = ReadKeyStatus(env_.get(), "/events");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->encrypted_segments, 3u);
  EXPECT_EQ(status->by_key, (std::map<std::string, uint64_t>{{"beta", 3}}));
  // Without the key a file is wrapped by, rotation lists it and goes on.
  auto gamma_only = Ring({"gamma:" + std::string(64, 'c')});
  r = RotateSegmentKeys(env_.get(), "/events", *gamma_only);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->failed.size(), 3u);
  EXPECT_NE(r->failed[0].message().find("wrapped by master key beta"), std::string::npos);
}

TEST_F(EncryptionTest, PlainAndEncryptedSegmentsCoexist) {
  Write(Open(nullptr).get(), 0, 30);          // before encryption was turned on
  Write(Open(Ring({kKeyA})).get(), 30, 60);   // after
  EXPECT_EQ(Files(".seg").size(), 2u);
  EXPECT_EQ(Files(".seg.key").size(), 1u);
  std::vector<StoredEvent> got;
  ASSERT_TRUE(Scan(Open(Ring({kKeyA})).get(), &got).ok());
  EXPECT_EQ(got.size(), 60u);
  // Dedup across them works without keys.
  auto store = Open(nullptr);
  auto w = store->NewWriter();
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE((*w)->Contains(MakeEvent(45)));
}

TEST_F(EncryptionTest, UnpublishedSegmentsLeaveNoKeyFiles) {
  {
    auto store = Open(Ring({kKeyA}));
    auto w = store->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Add(MakeEvent(1)).ok());
    auto names = (*w)->Prepare();  // sealed, never published: a crash here
    ASSERT_TRUE(names.ok());
    ASSERT_EQ(Files(".seg.key").size(), 1u);
    // A crash here: prepared segments belong to the caller, so nothing
    // removes them or their key files before the next writer.
  }
  EXPECT_EQ(Files(".seg").size(), 0u);
  auto store = Open(Ring({kKeyA}), /*block_bytes=*/16);
  auto w = store->NewWriter();  // the next writer cleans up
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Files(".seg.key").size(), 0u);
  EXPECT_EQ(Files(".tmp").size(), 0u);
  // A key file whose segment is not here (moved to a cold tier, a stub left)
  // is kept: it is what still opens that segment.
  w->reset();
  store.reset();
  ASSERT_TRUE(env_->WriteFile("/events/cloudtrail/x.seg.cold", "stub").ok());
  ASSERT_TRUE(env_->WriteFile("/events/cloudtrail/x.seg.key", "key").ok());
  store = Open(Ring({kKeyA}), 16);
  w = store->NewWriter();
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(env_->FileExists("/events/cloudtrail/x.seg.key"));
  ASSERT_TRUE(env_->RemoveFile("/events/cloudtrail/x.seg.key").ok());
  // A writer abandoning a segment removes its key file too.
  ASSERT_TRUE((*w)->Add(MakeEvent(2)).ok());
  ASSERT_TRUE((*w)->Add(MakeEvent(3)).ok());
  EXPECT_EQ(Files(".seg.key").size(), 1u);  // blocks of 16 bytes: a segment is in progress
  w->reset();
  EXPECT_EQ(Files(".seg.key").size(), 0u);
}

TEST(EncryptedDataDirTest, WritingWithoutTheKeyIsRefusedOnceEncrypted) {
  auto env = NewMemEnv();
  {
    auto dir = DataDir::Open("/d", env.get());
    ASSERT_TRUE(dir.ok());
    auto plain = (*dir)->OpenEventStore();  // not encrypted yet: fine without keys
    ASSERT_TRUE(plain.ok());
    SegmentStoreOptions o;
    o.keys = Ring({kKeyA});
    ASSERT_TRUE((*dir)->OpenEventStore(o).ok());
  }
  EXPECT_TRUE(env->FileExists("/d/ENCRYPTED"));
  auto dir = DataDir::Open("/d", env.get());
  ASSERT_TRUE(dir.ok());
  auto refused = (*dir)->OpenEventStore();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("give the master key"), std::string::npos);
  dir->reset();
  DataDirOptions ro;
  ro.read_only = true;
  auto reader = DataDir::Open("/d", env.get(), ro);
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE((*reader)->OpenEventStore().ok());  // readers fail per encrypted segment instead
}

TEST(MasterKeyTest, ParsesAndRejectsWithClearErrors) {
  auto k = ParseMasterKey("  k-2026.1:" + std::string(64, 'F') + "\n", "x");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->id, "k-2026.1");
  EXPECT_EQ(k->bytes[0], 0xFF);
  EXPECT_NE(ParseMasterKey("nocolon", "file f line 3").status().message().find("file f line 3"), std::string::npos);
  EXPECT_NE(ParseMasterKey("a:abcd", "x").status().message().find("64 hex digits"), std::string::npos);
  EXPECT_NE(ParseMasterKey("a b:" + std::string(64, '0'), "x").status().message().find("id 'a b'"),
            std::string::npos);
  EXPECT_NE(ParseMasterKey("a:" + std::string(63, '0') + "g", "x").status().message().find("non-hex"),
            std::string::npos);
  auto gen = GenerateMasterKey("fresh");
  ASSERT_TRUE(gen.ok());
  EXPECT_TRUE(ParseMasterKey(*gen, "generated").ok());
  EXPECT_NE(*gen, *GenerateMasterKey("fresh"));

  KeyRing ring;
  EXPECT_TRUE(ring.Add(*ParseMasterKey(kKeyA, "x")).ok());
  EXPECT_TRUE(ring.Add(*ParseMasterKey(kKeyA, "x")).ok());
  EXPECT_FALSE(ring.Add(*ParseMasterKey(kKeyA2, "x")).ok());
  EXPECT_EQ(ring.active()->id, "alpha");
}

TEST(MasterKeyTest, LoadsFilesThenEnvironment) {
  auto env = NewMemEnv();
  ASSERT_TRUE(env->WriteFile("/k1", "# rotated in 2026\n" + kKeyB + "\n\n" + kKeyA + "\n").ok());
  ASSERT_TRUE(env->WriteFile("/empty", "# nothing\n").ok());
  ::setenv("VIGIL_TEST_MASTER_KEY", ("gamma:" + std::string(64, '2')).c_str(), 1);
  auto ring = LoadKeyRing({{"/k1"}, {"VIGIL_TEST_MASTER_KEY"}}, env.get());
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  EXPECT_EQ((*ring)->active()->id, "beta");
  EXPECT_EQ((*ring)->Ids(), "beta, alpha, gamma");
  EXPECT_EQ(LoadKeyRing({}, env.get()).value(), nullptr);
  EXPECT_NE(LoadKeyRing({{"/empty"}, {}}, env.get()).status().message().find("holds no key"), std::string::npos);
  EXPECT_NE(LoadKeyRing({{"/missing"}, {}}, env.get()).status().message().find("/missing"), std::string::npos);
  EXPECT_NE(LoadKeyRing({{}, {"VIGIL_TEST_UNSET_KEY"}}, env.get()).status().message().find("VIGIL_TEST_UNSET_KEY"),
            std::string::npos);
}

}  // namespace
}  // namespace vigil
