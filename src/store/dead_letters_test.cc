#include "store/dead_letters.h"

#include <gtest/gtest.h>

#include "common/time.h"
#include "env/mem_env.h"

namespace vigil {
namespace {

const int64_t kT0 = DaysFromCivil(2024, 7, 31) * 86400 * kNanosPerSecond + 123'000'000;

std::vector<StoredDeadLetter> ReadAll(Env* env, DeadLetterStats* stats = nullptr) {
  std::vector<StoredDeadLetter> out;
  Status s = ListDeadLetters(env, "/d/deadletter", [&](const StoredDeadLetter& l) {
    out.push_back(l);
    return true;
  }, stats);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(DeadLettersTest, FormatIsOneEscapedJsonLine) {
  DeadLetter l{"s3://bucket/key.json.gz", 17, "cloudtrail: missing \"eventTime\"", "{\"a\":1}\n\x01"};
  EXPECT_EQ(FormatDeadLetter(l, kT0),
            "{\"time\":\"2024-07-31T00:00:00.123Z\",\"input\":\"s3://bucket/key.json.gz\",\"record\":17,"
            "\"reason\":\"cloudtrail: missing \\\"eventTime\\\"\",\"raw\":\"{\\\"a\\\":1}\\n\\u0001\"}\n");
}

TEST(DeadLettersTest, AppendListAndCountAcrossDays) {
  auto env = NewMemEnv();
  DeadLetterWriter writer(env.get(), "/d/deadletter");
  std::vector<DeadLetter> letters = {
      {"file:a.json", 1, "bad json", "{not json"},
      {"file:a.json", 2, "binary", std::string("\xff\xfe\0x", 4)},
      {"http:10.0.0.1", 0, "too long", std::string(70000, 'z')},
      {"file:\xe2\x82\xac.json", 3, "utf8 \xe2\x82\xac", "\xe2\x82\xac \t ok"},
  };
  std::vector<int64_t> times = {kT0, kT0 + 1'000'000, kT0 + 86400 * kNanosPerSecond, kT0 + 86400 * kNanosPerSecond};
  for (size_t i = 0; i < letters.size(); ++i) ASSERT_TRUE(writer.Append(letters[i], times[i]).ok());
  ASSERT_TRUE(writer.Sync().ok());
  EXPECT_TRUE(env->FileExists("/d/deadletter/2024-07-31.ndjson"));
  EXPECT_TRUE(env->FileExists("/d/deadletter/2024-08-01.ndjson"));

  DeadLetterStats stats;
  auto got = ReadAll(env.get(), &stats);
  ASSERT_EQ(got.size(), letters.size());
  EXPECT_EQ(stats.files, 2u);
  EXPECT_EQ(stats.malformed_lines, 0u);
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].time_ns, times[i]);
    EXPECT_EQ(got[i].input, letters[i].input);
    EXPECT_EQ(got[i].record, letters[i].record);
    EXPECT_EQ(got[i].reason, letters[i].reason);
    EXPECT_EQ(got[i].raw_bytes, letters[i].raw.size());
    if (i == 2) {
      EXPECT_TRUE(got[i].truncated);
      EXPECT_EQ(got[i].raw, letters[i].raw.substr(0, kDeadLetterMaxRaw));
    } else {
      EXPECT_FALSE(got[i].truncated);
      EXPECT_EQ(got[i].raw, letters[i].raw);
    }
  }
  auto count = CountDeadLetters(env.get(), "/d/deadletter");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->count, 4u);
}

TEST(DeadLettersTest, TornLastLineCostsOnlyThatLine) {
  auto env = NewMemEnv();
  {
    DeadLetterWriter writer(env.get(), "/d/deadletter");
    ASSERT_TRUE(writer.Append({"in", 1, "r", "one"}, kT0).ok());
  }
  // A crash tore the next line half-way.
  std::string torn = FormatDeadLetter({"in", 2, "r", "two"}, kT0);
  ASSERT_TRUE(env->AppendToFile("/d/deadletter/2024-07-31.ndjson", torn.substr(0, torn.size() / 2), false).ok());
  {
    DeadLetterWriter writer(env.get(), "/d/deadletter");
    ASSERT_TRUE(writer.Append({"in", 3, "r", "three"}, kT0).ok());
  }
  DeadLetterStats stats;
  auto got = ReadAll(env.get(), &stats);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].raw, "one");
  EXPECT_EQ(got[1].raw, "three");
  EXPECT_EQ(stats.malformed_lines, 1u);
}

TEST(DeadLettersTest, MissingDirectoryHasNone) {
  auto env = NewMemEnv();
  auto count = CountDeadLetters(env.get(), "/nowhere");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->count, 0u);
}

TEST(DeadLettersTest, RewriteDropsReplayedKeepsTheRestByteForByte) {
  auto env = NewMemEnv();
  const std::string dir = "/d/deadletter";
  DeadLetterWriter writer(env.get(), dir);
  const int64_t kDay2 = kT0 + 86400 * kNanosPerSecond;
  ASSERT_TRUE(writer.Append({"a.json", 0, "deeper than 64", "{\"x\":1}"}, kT0).ok());
  ASSERT_TRUE(writer.Append({"a.json", 4, "bad json", "{oops"}, kT0 + 1'000'000).ok());
  ASSERT_TRUE(writer.Append({"b.json", 1, "too long", std::string(70000, 'z')}, kT0 + 2'000'000).ok());
  ASSERT_TRUE(writer.Append({"c.json", 2, "deeper than 64", "{\"y\":2}"}, kDay2).ok());
  ASSERT_TRUE(writer.Sync().ok());
  // A line torn by a crash stays as it is (it is no dead letter to drop).
  ASSERT_TRUE(env->AppendToFile(dir + "/2024-07-31.ndjson", "{\"time\":\"2024-07-31T0", false).ok());
  std::string before;
  ASSERT_TRUE(env->ReadFile(dir + "/2024-07-31.ndjson", &before).ok());

  std::vector<uint64_t> seen;
  uint64_t removed = 0;
  Status s = RewriteDeadLetters(env.get(), dir, [&](uint64_t ordinal, StoredDeadLetter* l) {
    seen.push_back(ordinal);
    if (ordinal == 1) l->reason = "still bad json";
    return ordinal == 1 || ordinal == 2;  // 0 and 3 were replayed
  }, &removed);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen, (std::vector<uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(removed, 2u);
  EXPECT_FALSE(env->FileExists(dir + "/2024-08-01.ndjson"));  // emptied: removed

  DeadLetterStats stats;
  std::vector<StoredDeadLetter> left = ReadAll(env.get(), &stats);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(stats.malformed_lines, 1u);
  EXPECT_EQ(left[0].input, "a.json");
  EXPECT_EQ(left[0].record, 4u);
  EXPECT_EQ(left[0].reason, "still bad json");
  EXPECT_EQ(left[0].time_ns, kT0 + 1'000'000);
  EXPECT_EQ(left[1].input, "b.json");
  EXPECT_TRUE(left[1].truncated);
  EXPECT_EQ(left[1].raw_bytes, 70000u);
  std::string after;
  ASSERT_TRUE(env->ReadFile(dir + "/2024-07-31.ndjson", &after).ok());
  // The unchanged letter and the torn line are the same bytes as before.
  size_t b = before.find("{\"time\":\"2024-07-31T00:00:00.125Z\"");
  size_t a = after.find("{\"time\":\"2024-07-31T00:00:00.125Z\"");
  ASSERT_NE(a, std::string::npos);
  EXPECT_EQ(after.substr(a), before.substr(b) + "\n");

  // Nothing to drop: nothing rewritten.
  ASSERT_TRUE(RewriteDeadLetters(env.get(), dir, [](uint64_t, StoredDeadLetter*) { return true; }, &removed).ok());
  EXPECT_EQ(removed, 0u);
  std::string again;
  ASSERT_TRUE(env->ReadFile(dir + "/2024-07-31.ndjson", &again).ok());
  EXPECT_EQ(again, after);
}

TEST(DeadLettersTest, CutAfterAMarkLeavesExactlyTheCommittedLetters) {
  auto env = NewMemEnv();
  const std::string dir = "/d/deadletter";
  // No files yet: the end is before every file, and cutting after it later
  // removes whatever was written since.
  auto start = DeadLetterEnd(env.get(), dir);
  ASSERT_TRUE(start.ok());
  const int64_t day2 = kT0 + 86400 * kNanosPerSecond;
  DeadLetter big{"http:10.0.0.1", 0, "too long", std::string(70000, '\x01')};  // the longest line a letter makes
  {
    DeadLetterWriter writer(env.get(), dir);
    EXPECT_EQ(writer.Mark(), "");  // nothing appended
    ASSERT_TRUE(writer.Append({"file:a.json", 1, "bad json", "{not json"}, kT0).ok());
    ASSERT_TRUE(writer.Append(big, kT0).ok());
    const std::string committed = writer.Mark();
    ASSERT_FALSE(committed.empty());
    // After the commit: more letters, one of them on the next day.
    ASSERT_TRUE(writer.Append({"file:a.json", 3, "bad json", "{also not"}, kT0 + 1'000'000).ok());
    ASSERT_TRUE(writer.Append({"file:b.json", 4, "bad json", "{later"}, day2).ok());
    ASSERT_EQ(ReadAll(env.get()).size(), 4u);

    uint64_t cut = 0;
    std::string note;
    ASSERT_TRUE(CutDeadLettersAfter(env.get(), dir, committed, &cut, &note).ok());
    EXPECT_EQ(note, "");
    EXPECT_EQ(cut, 2u);
    auto left = ReadAll(env.get());
    ASSERT_EQ(left.size(), 2u);
    EXPECT_EQ(left[0].record, 1u);
    EXPECT_EQ(left[1].raw_bytes, big.raw.size());
    EXPECT_FALSE(env->FileExists(dir + "/2024-08-01.ndjson"));
    // The end is now the committed mark again; cutting after it cuts nothing.
    auto end = DeadLetterEnd(env.get(), dir);
    ASSERT_TRUE(end.ok());
    EXPECT_EQ(*end, committed);
    ASSERT_TRUE(CutDeadLettersAfter(env.get(), dir, committed, &cut, &note).ok());
    EXPECT_EQ(cut, 0u);
    EXPECT_EQ(ReadAll(env.get()).size(), 2u);
  }
  uint64_t cut = 0;
  std::string note;
  ASSERT_TRUE(CutDeadLettersAfter(env.get(), dir, *start, &cut, &note).ok());
  EXPECT_EQ(cut, 2u);
  EXPECT_EQ(ReadAll(env.get()).size(), 0u);
}

TEST(DeadLettersTest, AStaleOrBrokenMarkCutsNothing) {
  auto env = NewMemEnv();
  const std::string dir = "/d/deadletter";
  DeadLetterWriter writer(env.get(), dir);
  ASSERT_TRUE(writer.Append({"file:a.json", 1, "bad json", "{one"}, kT0).ok());
  ASSERT_TRUE(writer.Append({"file:a.json", 2, "bad json", "{two"}, kT0).ok());
  const std::string mark = writer.Mark();
  ASSERT_TRUE(writer.Append({"file:a.json", 3, "bad json", "{three"}, kT0).ok());
  // A replay rewrote the file since the mark was committed: letter 1 went and
  // letter 3 moved to where the mark's line was.
  ASSERT_TRUE(RewriteDeadLetters(env.get(), dir, [](uint64_t n, StoredDeadLetter* l) {
                if (n == 1) l->reason = "still bad: a longer reason than before";
                return n != 0;
              }).ok());
  for (const std::string& m : {mark, std::string("garbage"), std::string("2024-07-31.ndjson\t99999\t0000000000000000"),
                               std::string("../x.ndjson\t0\t0000000000000000")}) {
    SCOPED_TRACE(m);
    uint64_t cut = 7;
    std::string note;
    ASSERT_TRUE(CutDeadLettersAfter(env.get(), dir, m, &cut, &note).ok());
    EXPECT_EQ(cut, 0u);
    EXPECT_NE(note, "");
    EXPECT_EQ(ReadAll(env.get()).size(), 2u);
  }
}

}  // namespace
}  // namespace vigil
