#include "ingest/wal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

namespace vigil {
namespace {

namespace fs = std::filesystem;

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::temp_directory_path() / ("vigil_wal_" + std::string(info->name()) + "_" + std::to_string(::getpid())))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static IntakeRecord Rec(const std::string& bytes) { return IntakeRecord{"http", "test", bytes, ""}; }

  static std::vector<std::string> ReadAvailable(Wal* wal) {
    std::vector<std::string> out;
    while (wal->WaitReadable(std::chrono::milliseconds(0))) {
      auto r = wal->Read();
      if (!r.ok()) break;
      out.push_back(r->record.bytes);
    }
    return out;
  }

  std::vector<fs::path> Segments(const std::string& ext = ".wal") const {
    std::vector<fs::path> out;
    for (auto& e : fs::directory_iterator(dir_))
      if (e.path().extension() == ext) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
};

TEST_F(WalTest, RecordsComeBackInOrderWithTheirFields) {
  auto wal = Wal::Open(dir_, 0);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  ASSERT_TRUE((*wal)->Accept({IntakeRecord{"http", "10.0.0.1 #1", "{\"a\":1}", "cloudtrail"}, Rec("two")}).ok());
  auto r = (*wal)->Read();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->seq, 1u);
  EXPECT_EQ(r->record.source, "http");
  EXPECT_EQ(r->record.name, "10.0.0.1 #1");
  EXPECT_EQ(r->record.bytes, "{\"a\":1}");
  EXPECT_EQ(r->record.parser, "cloudtrail");
  EXPECT_GT(r->received_ns, 0);
  EXPECT_EQ(ReadAvailable(wal->get()), std::vector<std::string>{"two"});
}

TEST_F(WalTest, ConcurrentAppendersAreAllDurableAndReadOnce) {
  WalOptions opt;
  opt.segment_bytes = 4096;  // many segments
  {
    auto wal = Wal::Open(dir_, 0, opt);
    ASSERT_TRUE(wal.ok());
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 250; ++i)
          if (!(*wal)->Accept({Rec(std::to_string(t) + ":" + std::to_string(i))}).ok()) ++failures;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ((*wal)->durable_seq(), 1000u);
  }
  // Reopened (as after a crash with no checkpoint): everything is replayed, in order.
  auto wal = Wal::Open(dir_, 0, opt);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  EXPECT_EQ((*wal)->recovery().records, 1000u);
  std::set<std::string> seen;
  std::map<int, int> last_per_thread;
  for (const std::string& s : ReadAvailable(wal->get())) {
    EXPECT_TRUE(seen.insert(s).second) << s;
    int t = std::stoi(s.substr(0, 1)), i = std::stoi(s.substr(2));
    auto it = last_per_thread.find(t);
    if (it != last_per_thread.end()) {
      EXPECT_GT(i, it->second) << "one thread's records out of order";
    }
    last_per_thread[t] = i;
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST_F(WalTest, ReplayStartsAfterTheCheckpointAndCheckpointsDeleteSegments) {
  WalOptions opt;
  opt.segment_bytes = 200;
  {
    auto wal = Wal::Open(dir_, 0, opt);
    ASSERT_TRUE(wal.ok());
    for (int i = 1; i <= 20; ++i) ASSERT_TRUE((*wal)->Accept({Rec(std::string(100, 'a' + i % 26))}).ok());
    EXPECT_GT(Segments().size(), 5u);
    uint64_t end = 0;
    for (int i = 1; i <= 15; ++i) ASSERT_TRUE((*wal)->Read(&end).ok());
    ASSERT_TRUE((*wal)->Checkpoint(15, end).ok());
    EXPECT_LT((*wal)->backlog_bytes(), 6u * 200);
  }
  EXPECT_LE(Segments().size(), 7u);
  auto wal = Wal::Open(dir_, 15, opt);
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  EXPECT_EQ((*wal)->recovery().records, 5u);
  auto r = (*wal)->Read();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->seq, 16u);
  EXPECT_EQ(ReadAvailable(wal->get()).size(), 4u);
  // New records continue the numbering.
  ASSERT_TRUE((*wal)->Accept({Rec("next")}).ok());
  auto n = (*wal)->Read();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->seq, 21u);
}

TEST_F(WalTest, CheckpointedSegmentsAreWrittenOverAndTheirOldRecordsNeverComeBack) {
  WalOptions opt;
  opt.segment_bytes = 200;
  opt.recycle_segments = 3;
  auto wal = Wal::Open(dir_, 0, opt);
  ASSERT_TRUE(wal.ok());
  for (int i = 1; i <= 20; ++i) ASSERT_TRUE((*wal)->Accept({Rec(std::string(100, 'a' + i % 26))}).ok());
  uint64_t end = 0;
  for (int i = 1; i <= 15; ++i) ASSERT_TRUE((*wal)->Read(&end).ok());
  ASSERT_TRUE((*wal)->Checkpoint(15, end).ok());
  EXPECT_EQ(Segments(".free").size(), 3u);  // the rest of the covered segments deleted
  // Shorter records, so the files written over keep old bytes past the new
  // ones; every state of the directory between appends must recover to
  // exactly the records after the checkpoint.
  for (int i = 21; i <= 30; ++i) {
    ASSERT_TRUE((*wal)->Accept({Rec("r" + std::to_string(i))}).ok());
    const std::string copy = dir_ + "_copy";
    fs::remove_all(copy);
    fs::copy(dir_, copy);
    auto again = Wal::Open(copy, 15, opt);
    ASSERT_TRUE(again.ok()) << "after record " << i << ": " << again.status().ToString();
    EXPECT_EQ((*again)->recovery().records, static_cast<uint64_t>(i - 15));
    auto got = ReadAvailable(again->get());
    ASSERT_EQ(got.size(), static_cast<size_t>(i - 15));
    EXPECT_EQ(got.back(), "r" + std::to_string(i));
    again->reset();
    fs::remove_all(copy);
  }
  EXPECT_EQ(Segments(".free").size(), 0u);  // all three written over
  std::vector<std::string> rest = ReadAvailable(wal->get());
  ASSERT_EQ(rest.size(), 15u);
  EXPECT_EQ(rest[5], "r21");
  wal->reset();
  // A clean close cuts the file being written after its records.
  auto reopened = Wal::Open(dir_, 15, opt);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->recovery().truncated_bytes, 0u);
  EXPECT_EQ((*reopened)->recovery().records, 15u);
}

TEST_F(WalTest, TornTailIsCutOffAndAppendsContinue) {
  {
    auto wal = Wal::Open(dir_, 0);
    ASSERT_TRUE(wal.ok());
    ASSERT_TRUE((*wal)->Accept({Rec("one"), Rec("two")}).ok());
    ASSERT_TRUE((*wal)->Accept({Rec("three")}).ok());
  }
  auto segs = Segments();
  ASSERT_EQ(segs.size(), 1u);
  std::string data;
  {
    std::ifstream f(segs[0], std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(f), {});
  }
  const size_t frame3 = 24 + 8 + (4 + 4) + (4 + 4) + 4 + 5;  // header, time, source, name, parser, "three"
  const size_t two_records = data.size() - frame3;
  // The third append torn at every kind of place: inside its header, just
  // after it, inside its payload, one byte short.
  for (size_t keep : {size_t{1}, size_t{20}, size_t{24}, size_t{40}, frame3 - 1}) {
    SCOPED_TRACE(keep);
    for (auto& p : Segments()) fs::remove(p);
    {
      std::ofstream f(segs[0], std::ios::binary | std::ios::trunc);
      f << data.substr(0, two_records + keep);
    }
    auto wal = Wal::Open(dir_, 0);
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    EXPECT_EQ((*wal)->recovery().truncated_bytes, keep);
    EXPECT_EQ(ReadAvailable(wal->get()), (std::vector<std::string>{"one", "two"}));
    wal->reset();
    EXPECT_EQ(fs::file_size(segs[0]), two_records);
  }
  // A flipped byte in the last record's payload is a torn tail too.
  for (auto& p : Segments()) fs::remove(p);
  {
    std::string bad = data;
    bad[bad.size() - 2] ^= 1;
    std::ofstream f(segs[0], std::ios::binary | std::ios::trunc);
    f << bad;
  }
  auto wal = Wal::Open(dir_, 0);
  ASSERT_TRUE(wal.ok());
  EXPECT_EQ((*wal)->recovery().truncated_bytes, frame3);
  ASSERT_TRUE((*wal)->Accept({Rec("four")}).ok());
  EXPECT_EQ(ReadAvailable(wal->get()), (std::vector<std::string>{"one", "two", "four"}));
}

TEST_F(WalTest, DamageBeforeTheEndIsCorruption) {
  WalOptions opt;
  opt.segment_bytes = 10;
  {
    auto wal = Wal::Open(dir_, 0, opt);
    ASSERT_TRUE(wal.ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*wal)->Accept({Rec("record " + std::to_string(i))}).ok());
  }
  auto segs = Segments();
  ASSERT_GE(segs.size(), 3u);
  {
    std::fstream f(segs[0], std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(30);
    f.put('X');
  }
  auto wal = Wal::Open(dir_, 0, opt);
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().code(), StatusCode::kCorruption);
  EXPECT_NE(wal.status().message().find(segs[0].filename().string()), std::string::npos) << wal.status().message();
}

TEST_F(WalTest, BacklogLimitRefusesUntilCheckpointed) {
  WalOptions opt;
  opt.max_backlog_bytes = 1000;
  auto wal = Wal::Open(dir_, 0, opt);
  ASSERT_TRUE(wal.ok());
  int accepted = 0;
  Status refused;
  for (int i = 0; i < 20; ++i) {
    Status st = (*wal)->Accept({Rec(std::string(100, 'x'))});
    if (st.ok()) ++accepted;
    else refused = st;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 20);
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_TRUE((*wal)->accepting());
  uint64_t end = 0;
  uint64_t seq = 0;
  for (int i = 0; i < accepted; ++i) {
    auto r = (*wal)->Read(&end);
    ASSERT_TRUE(r.ok());
    seq = r->seq;
  }
  ASSERT_TRUE((*wal)->Checkpoint(seq, end).ok());
  EXPECT_EQ((*wal)->backlog_bytes(), 0u);
  EXPECT_TRUE((*wal)->Accept({Rec(std::string(100, 'x'))}).ok());
}

TEST_F(WalTest, CloseRefusesNewInputAndEndsTheReaderAfterDurableRecords) {
  auto wal = Wal::Open(dir_, 0);
  ASSERT_TRUE(wal.ok());
  ASSERT_TRUE((*wal)->Accept({Rec("a"), Rec("b")}).ok());
  (*wal)->Close();
  Status st = (*wal)->Accept({Rec("c")});
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_FALSE((*wal)->accepting());
  auto source = MakeWalSource(wal->get());
  std::vector<std::string> got;
  while (auto in = source->Next()) {
    ASSERT_TRUE(in->ok());
    got.push_back((*in)->bytes);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(source->Position(), "2");
}

TEST_F(WalTest, RecordsPastTheMemoryBoundComeBackFromTheFilesInOrder) {
  WalOptions opt;
  opt.segment_bytes = 1000;
  opt.max_unread_memory_bytes = 600;  // two or three of the records below
  auto wal = Wal::Open(dir_, 0, opt);
  ASSERT_TRUE(wal.ok());
  std::vector<IntakeRecord> sent;
  for (int i = 0; i < 10; ++i) {
    sent.push_back(Rec(std::string(150 + i, static_cast<char>('a' + i))));
    if (i == 7) sent.back().name = std::string(10000, 'n');  // longer than one read-ahead
    ASSERT_TRUE((*wal)->Accept({sent.back()}).ok());
  }
  EXPECT_GT(Segments().size(), 2u);
  uint64_t end = 0, last_end = 0;
  for (size_t i = 0; i < sent.size(); ++i) {
    auto r = (*wal)->Read(&end);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->seq, i + 1);
    EXPECT_EQ(r->record.bytes, sent[i].bytes);
    EXPECT_EQ(r->record.name, sent[i].name);
    EXPECT_GT(end, last_end);
    last_end = end;
  }
  EXPECT_EQ((*wal)->unread_bytes(), 0u);
  // Caught up: what comes next is handed over again, and checkpointing at
  // the last end frees the whole backlog.
  ASSERT_TRUE((*wal)->Accept({Rec("after")}).ok());
  auto r = (*wal)->Read(&end);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->record.bytes, "after");
  ASSERT_TRUE((*wal)->Checkpoint(r->seq, end).ok());
  EXPECT_EQ((*wal)->backlog_bytes(), 0u);
}

TEST_F(WalTest, ARecordReadBackFromTheFileIsChecked) {
  WalOptions opt;
  opt.max_unread_memory_bytes = 100;  // the first record only
  auto wal = Wal::Open(dir_, 0, opt);
  ASSERT_TRUE(wal.ok());
  ASSERT_TRUE((*wal)->Accept({Rec(std::string(60, 'a'))}).ok());
  ASSERT_TRUE((*wal)->Accept({Rec(std::string(60, 'b'))}).ok());
  {  // damage the second record's body on disk
    std::fstream f(Segments().back(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-10, std::ios::end);
    f.put('x');
  }
  auto first = (*wal)->Read();
  ASSERT_TRUE(first.ok()) << first.status().ToString();  // held in memory
  EXPECT_EQ(first->record.bytes, std::string(60, 'a'));
  auto second = (*wal)->Read();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kCorruption);
  EXPECT_NE(second.status().message().find("fails its checksum"), std::string::npos);
}

TEST_F(WalTest, ReaderBlocksUntilARecordArrives) {
  auto wal = Wal::Open(dir_, 0);
  ASSERT_TRUE(wal.ok());
  EXPECT_FALSE((*wal)->WaitReadable(std::chrono::milliseconds(20)));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ASSERT_TRUE((*wal)->Accept({Rec("late")}).ok());
  });
  auto r = (*wal)->Read();
  writer.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->record.bytes, "late");
}

}  // namespace
}  // namespace vigil
