// Unit tests of the tiering pieces that need no object storage: stubs, the
// listing a ColdReadEnv shows, legal hold scopes, the catalog and the report.
// (Moves against a local S3 server: tests/tiering_test.cc.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "env/mem_env.h"
#include "tier/catalog.h"
#include "tier/cold_env.h"
#include "tier/storage_report.h"

namespace vigil {
namespace {

ColdStub SampleStub() {
  ColdStub s;
  s.bucket = "archive";
  s.key = "vigil-cold/cloudtrail/2024/07/30/a.seg";
  s.endpoint = "http://127.0.0.1:4568";
  s.region = "eu-west-1";
  s.size = 9214;
  s.checksum = 1234567890123456789ull;
  s.source_type = "cloudtrail";
  s.min_time_ns = 1;
  s.max_time_ns = 2;
  s.events = 21;
  s.raw_bytes = 40211;
  return s;
}

TEST(ColdStubTest, RoundTripsAndRejectsWhatIsNotAStub) {
  auto back = DecodeColdStub(EncodeColdStub(SampleStub()), "x.seg.cold");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->key, SampleStub().key);
  EXPECT_EQ(back->checksum, SampleStub().checksum);
  EXPECT_EQ(back->raw_bytes, 40211u);
  // Keys a later version adds are ignored.
  EXPECT_TRUE(DecodeColdStub(EncodeColdStub(SampleStub()) + "storage_class=GLACIER\n", "x").ok());
  for (auto [text, why] : {std::pair{"", "header"}, std::pair{"vigil-cold 1\nbucket=b\nkey=k\nsize=1\n", "no xxh3"},
                           std::pair{"vigil-cold 1\nbucket=b\nkey=k\nsize=x\nxxh3=1\n", "bad number for size"},
                           std::pair{"vigil-cold 1\nbucket=b", "not terminated"}}) {
    auto bad = DecodeColdStub(text, "events/x.seg.cold");
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
    EXPECT_NE(bad.status().message().find(why), std::string::npos) << bad.status().ToString();
    EXPECT_NE(bad.status().message().find("events/x.seg.cold"), std::string::npos);
  }
}

TEST(ColdReadEnvTest, ListsEachStubAsItsSegmentOnceAndLocalFilesWin) {
  auto mem = NewMemEnv();
  ASSERT_TRUE(mem->CreateDirs("/d/events/p").ok());
  ASSERT_TRUE(mem->WriteFile("/d/events/p/a.seg", "local").ok());
  ASSERT_TRUE(mem->WriteFile("/d/events/p/a.seg.cold", EncodeColdStub(SampleStub())).ok());  // mid-move
  ASSERT_TRUE(mem->WriteFile("/d/events/p/b.seg.cold", EncodeColdStub(SampleStub())).ok());
  ColdReadOptions o;
  o.events_dir = "/d/events";
  o.cache_dir = "/d/cache/cold";
  ColdReadEnv env(mem.get(), o);
  std::vector<DirEntry> entries;
  ASSERT_TRUE(env.ListDir("/d/events/p", &entries).ok());
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a.seg", "b.seg"}));
  EXPECT_TRUE(env.FileExists("/d/events/p/b.seg"));
  auto size = env.FileSize("/d/events/p/b.seg");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 9214u);
  // The local copy is read, not the object.
  auto f = env.NewRandomAccessFile("/d/events/p/a.seg");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(env.fetches(), 0u);
  EXPECT_EQ(env.NewRandomAccessFile("/d/events/p/c.seg").status().code(), StatusCode::kNotFound);
}

TEST(LegalHoldTest, CoversBySourceAndOverlappingTime) {
  LegalHold h;
  h.source_type = "cloudtrail";
  h.from_ns = 100;
  h.to_ns = 200;
  EXPECT_TRUE(h.Covers("cloudtrail", 150, 150));
  EXPECT_TRUE(h.Covers("cloudtrail", 50, 100));    // its last event is in scope
  EXPECT_TRUE(h.Covers("cloudtrail", 199, 300));
  EXPECT_FALSE(h.Covers("cloudtrail", 200, 300));  // `to` is exclusive
  EXPECT_FALSE(h.Covers("cloudtrail", 0, 99));
  EXPECT_FALSE(h.Covers("vpcflow", 150, 150));
  LegalHold all;
  all.source_type = "*";
  EXPECT_TRUE(all.Covers("vpcflow", INT64_MIN, INT64_MAX));
}

TEST(StorageCatalogTest, LedgerHoldsAndReport) {
  std::string path = ::testing::TempDir() + "/vigil-catalog-" + std::to_string(getpid()) + ".db";
  std::filesystem::remove(path);
  auto c = StorageCatalog::Open(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  CatalogSegment hot{"ct/a.seg", "cloudtrail", 1, 2, 10, 5000, 1000, Tier::kHot};
  CatalogSegment cold{"ct/b.seg", "cloudtrail", 3, 4, 30, 20000, 1ull << 30, Tier::kCold};
  ASSERT_TRUE((*c)->Upsert(hot).ok());
  ASSERT_TRUE((*c)->Upsert(cold).ok());
  // A move: pending until finished, with the segment's new row in the same transaction.
  LedgerEntry e;
  e.action = "warm";
  e.path = hot.path;
  auto seq = (*c)->Begin(e);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ((*c)->Ledger(true)->size(), 1u);
  CatalogSegment warm = hot;
  warm.tier = Tier::kWarm;
  warm.stored_bytes = 800;
  ASSERT_TRUE((*c)->Finish(*seq, "done", 800, "", &warm, false).ok());
  EXPECT_TRUE((*c)->Ledger(true)->empty());
  EXPECT_EQ((*c)->Segments()->at("ct/a.seg").tier, Tier::kWarm);
  // Add-only upserts keep what is there.
  ASSERT_TRUE((*c)->Upsert(hot, /*replace=*/false).ok());
  EXPECT_EQ((*c)->Segments()->at("ct/a.seg").tier, Tier::kWarm);

  LegalHold h;
  h.source_type = "cloudtrail";
  h.reason = "case 1";
  auto id = (*c)->AddHold(h);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ((*c)->Holds()->size(), 1u);
  EXPECT_TRUE((*c)->ReleaseHold(*id, "closed").ok());
  EXPECT_EQ((*c)->ReleaseHold(*id, "").code(), StatusCode::kNotFound);
  EXPECT_TRUE((*c)->Holds()->empty());
  auto ledger = (*c)->Ledger(false);
  ASSERT_EQ(ledger->size(), 3u);
  EXPECT_EQ((*ledger)[1].action, "hold");
  EXPECT_EQ((*ledger)[2].action, "release");
  EXPECT_EQ((*c)->Ledger(false, 1)->front().action, "release");  // the newest

  StoragePrices prices;
  prices.warm_per_gb_month = 0.5;
  prices.cold_per_gb_month = 0.01;
  auto rows = BuildStorageReport(*(*c)->Segments(), prices);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].tier, "warm");
  EXPECT_EQ(rows[0].events, 10u);
  EXPECT_DOUBLE_EQ(rows[0].ratio(), 5000.0 / 800);
  EXPECT_EQ(rows[1].tier, "cold");
  EXPECT_DOUBLE_EQ(rows[1].monthly_cost, 0.01);  // 1 GiB
  EXPECT_EQ(rows[2].source_type, "*");
  EXPECT_EQ(rows[2].raw_bytes, 25000u);
  EXPECT_DOUBLE_EQ(rows[2].monthly_cost, 0.01 + 800.0 / (1ull << 30) * 0.5);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace vigil
