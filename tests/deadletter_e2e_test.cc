// End-to-end: `vigil deadletter list|replay` on records ingest could not read,
// replayed once the cause is fixed (a limit raised for a real CloudTrail record
// with deep nesting; a record an older vigil had no parser for).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "run_vigil.h"
#include "test_files.h"

namespace {

using vigil::testing::ReadFile;

namespace fs = std::filesystem;
using vigil::testing::CmdResult;
using vigil::testing::Vigil;

const std::string kStratusFile =
    VIGIL_SHARED_DATA "/cloudtrail/stratus-red-team/docs/detonation-logs/aws.credential-access.ec2-get-password-data.json";
const std::string kResolverFile = VIGIL_SHARED_DATA "/dns/awsdocs-examples.jsonl";

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

class DeadLetterE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-deadletter-e2e-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Data() const { return " --data " + (dir_ / "data").string(); }

  // A field of each JSON line of `out`.
  static std::vector<std::string> Field(const std::string& out, const char* key) {
    std::vector<std::string> values;
    simdjson::dom::parser parser;
    for (const std::string& line : Lines(out)) {
      simdjson::dom::element e;
      if (parser.parse(line).get(e) != simdjson::SUCCESS) {
        values.push_back("(not json)");
        continue;
      }
      simdjson::dom::element v;
      if (e[key].get(v) != simdjson::SUCCESS) values.push_back("(missing)");
      else if (v.is_string()) values.emplace_back(std::string_view(v.get_string()));
      else values.push_back(simdjson::minify(v));
    }
    return values;
  }
  static uint64_t Count(const std::string& json, const char* key) {
    simdjson::dom::parser parser;
    uint64_t n = 0;
    EXPECT_EQ(parser.parse(json)[key].get_uint64().get(n), simdjson::SUCCESS) << key << " in " << json;
    return n;
  }

  fs::path dir_;
};

TEST_F(DeadLetterE2ETest, ListShowsWhyAndReplayStoresWhatNowReadsOnce) {
  // Two records of a real detonation; the second carries an additionalEventData
  // nested 80 levels deep (beyond the default limit of 64), as a service's
  // deeply nested document can.
  simdjson::dom::parser parser;
  std::string text = ReadFile(kStratusFile);
  simdjson::dom::array records = parser.parse(text).get_array();
  std::string first = simdjson::minify(records.at(0));
  std::string second = simdjson::minify(records.at(1));
  std::string nested = "\"deep\"";
  for (int i = 0; i < 80; ++i) nested = "{\"n\":" + nested + "}";
  second = "{\"additionalEventData\":" + nested + "," + second.substr(1);
  std::ofstream(dir_ / "trail.json") << "{\"Records\":[" << first << "," << second << "]}";

  CmdResult ingest = Vigil("ingest --json --no-detect" + Data() + " " + (dir_ / "trail.json").string());
  EXPECT_EQ(ingest.exit_code, 1) << ingest.out;  // ran, with a record dead-lettered
  EXPECT_EQ(Count(ingest.out, "events"), 1u);
  EXPECT_EQ(Count(ingest.out, "errors"), 1u);

  // Dead letters an older vigil wrote: a Route 53 Resolver query log line it
  // had no parser for, and a record it cut to 64 KiB.
  std::string resolver_line = Lines(ReadFile(kResolverFile)).at(0);
  {
    std::ofstream older(dir_ / "data/deadletter/2024-07-30.ndjson");
    older << R"({"time":"2024-07-30T10:00:00.000Z","input":"s3://logs/AWSLogs/111122223333/vpcdnsquerylogs/q.log.gz","record":3,"reason":"not a recognised log","raw":)"
          << vigil::JsonString(resolver_line) << "}\n";
    older << R"({"time":"2024-07-30T11:00:00.000Z","input":"s3://logs/big.json.gz","record":0,"reason":"record exceeds 4194304 bytes","raw":"{\"eventVersion\":","truncated":true,"raw_bytes":5000000})"
          << "\n";
  }

  CmdResult list = Vigil("deadletter list --json" + Data());
  ASSERT_EQ(list.exit_code, 0);
  ASSERT_EQ(Lines(list.out).size(), 3u) << list.out;
  // Oldest day first; each with its input, record index and reason.
  EXPECT_EQ(Field(list.out, "input"),
            (std::vector<std::string>{"s3://logs/AWSLogs/111122223333/vpcdnsquerylogs/q.log.gz",
                                      "s3://logs/big.json.gz", (dir_ / "trail.json").string()}));
  EXPECT_EQ(Field(list.out, "record"), (std::vector<std::string>{"3", "0", "1"}));
  EXPECT_EQ(Field(list.out, "reason")[2], "record nests deeper than 64 levels");
  EXPECT_EQ(Field(list.out, "raw")[2], second);
  EXPECT_EQ(Field(list.out, "truncated"), (std::vector<std::string>{"false", "true", "false"}));
  EXPECT_EQ(Field(list.out, "raw_bytes")[1], "5000000");

  CmdResult table = Vigil("deadletter list" + Data());
  EXPECT_NE(table.out.find("record nests deeper than 64 levels"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("{\"additionalEventData\":{\"n\":{\"n\":"), std::string::npos);  // the preview
  EXPECT_EQ(Lines(Vigil("deadletter list --json --input '*trail.json'" + Data()).out).size(), 1u);
  EXPECT_EQ(Lines(Vigil("deadletter list --json --to 2024-07-31T00:00:00Z" + Data()).out).size(), 2u);
  EXPECT_EQ(Lines(Vigil("deadletter list --json --reason '*deeper*'" + Data()).out).size(), 1u);

  // A dry run changes nothing.
  CmdResult dry = Vigil("deadletter replay --dry-run --json" + Data());
  EXPECT_EQ(Count(dry.out, "replayable"), 1u) << dry.out;
  EXPECT_EQ(Count(dry.out, "still_failing"), 1u);
  EXPECT_EQ(Count(dry.out, "truncated"), 1u);
  EXPECT_EQ(Lines(Vigil("deadletter list --json" + Data()).out).size(), 3u);

  // Today's vigil reads the resolver line: it is stored and its letter goes.
  // The deep record still fails and stays (exit 1: failures remain).
  CmdResult replay = Vigil("deadletter replay --json" + Data());
  EXPECT_EQ(replay.exit_code, 1) << replay.out;
  EXPECT_EQ(Count(replay.out, "replayed"), 1u);
  EXPECT_EQ(Count(replay.out, "events"), 1u);
  EXPECT_EQ(Count(replay.out, "removed"), 1u);
  EXPECT_EQ(Count(replay.out, "still_failing"), 1u);
  CmdResult hunt = Vigil("hunt --json 'query_name=\"15.3.4.32.in-addr.arpa.\"'" + Data());
  EXPECT_EQ(Lines(hunt.out).size(), 1u) << hunt.out;

  // With the nesting limit raised, the deep record is stored too.
  replay = Vigil("deadletter replay --json --max-depth 128" + Data());
  EXPECT_EQ(replay.exit_code, 0) << replay.out;
  EXPECT_EQ(Count(replay.out, "replayed"), 1u);
  EXPECT_EQ(Count(replay.out, "events"), 1u);
  EXPECT_EQ(Count(replay.out, "still_failing"), 0u);
  list = Vigil("deadletter list --json" + Data());
  EXPECT_EQ(Field(list.out, "input"), (std::vector<std::string>{"s3://logs/big.json.gz"}));  // cut: not replayable

  // Nothing left to replay: a second run changes nothing.
  replay = Vigil("deadletter replay --json --max-depth 128" + Data());
  EXPECT_EQ(replay.exit_code, 0);
  EXPECT_EQ(Count(replay.out, "replayed"), 0u);
  EXPECT_EQ(Count(replay.out, "removed"), 0u);
  EXPECT_EQ(Count(replay.out, "events"), 0u);
  EXPECT_EQ(Lines(Vigil("deadletter list --json" + Data()).out).size(), 1u);
  // Each record stored once, and hunt reads the deep one too: a stored record
  // is not held to the default ingest limits again.
  CmdResult all = Vigil("hunt --json" + Data());
  EXPECT_EQ(Lines(all.out).size(), 3u) << all.out;
  CmdResult deep = Vigil("hunt --json additionalEventData.n.n.n=*" + Data());
  EXPECT_EQ(Lines(deep.out).size(), 1u) << deep.out;
}

TEST_F(DeadLetterE2ETest, HelpAndAnEmptyDataDirectory) {
  EXPECT_EQ(Vigil("deadletter list --help").exit_code, 0);
  CmdResult help = Vigil("deadletter replay --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--max-depth"), std::string::npos);
  EXPECT_NE(help.out.find("--dry-run"), std::string::npos);
  ASSERT_EQ(Vigil("ingest --no-detect" + Data() + " " + kResolverFile).exit_code, 0);
  CmdResult list = Vigil("deadletter list --json" + Data());
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_EQ(list.out, "");
  CmdResult replay = Vigil("deadletter replay --json" + Data());
  EXPECT_EQ(replay.exit_code, 0);
  EXPECT_EQ(Count(replay.out, "selected"), 0u);
  EXPECT_EQ(Vigil("deadletter list --from yesterday" + Data()).exit_code, 2);
}

}  // namespace
