#include "simulate/cloudtrail_generator.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/time.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("vigil_sim_" + std::string(info->name()) + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::string ReadAll(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 32), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

// Relative path -> bytes, for every file under `dir`.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = ReadAll(e.path());
  }
  return files;
}

GeneratorOptions SmallDay(uint64_t seed, bool attacks = true) {
  GeneratorOptions o;
  o.seed = seed;
  o.routine_events = 1500;
  o.attacks = attacks;
  return o;
}

// What the test reads back from one generated day.
struct Parsed {
  size_t records = 0;
  std::set<std::string> event_ids;
  std::multiset<std::string> event_names;          // "eventSource/eventName"
  std::vector<std::string> root_events;
  std::map<std::string, std::string> id_to_name;   // eventID -> eventName
  size_t errors = 0;
};

// Checks every file under `dir` and fills `out`; fatal failures end the check.
void ParseDay(const std::string& dir, int64_t day_start, Parsed& out) {
  simdjson::dom::parser parser;
  for (const auto& [rel, bytes] : Snapshot(dir)) {
    SCOPED_TRACE(rel);
    ASSERT_TRUE(rel.size() > 8 && rel.substr(rel.size() - 8) == ".json.gz");
    const std::string json = Gunzip(bytes);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << "invalid JSON";
    // AWSLogs/<account>/<CloudTrail|CloudTrail-Digest>/<region>/YYYY/MM/DD/<name>
    std::vector<std::string> parts;
    for (const auto& p : fs::path(rel)) parts.push_back(p.string());
    ASSERT_EQ(parts.size(), 8u);
    ASSERT_EQ(parts[0], "AWSLogs");
    const std::string& account = parts[1];
    const std::string& region = parts[3];
    if (parts[2] == "CloudTrail-Digest") {
      std::string_view digest_account;
      ASSERT_EQ(doc["awsAccountId"].get(digest_account), simdjson::SUCCESS);
      EXPECT_EQ(digest_account, account);
      continue;
    }
    ASSERT_EQ(parts[2], "CloudTrail");
    EXPECT_EQ(parts[7].rfind(account + "_CloudTrail_" + region + "_", 0), 0u);
    simdjson::dom::array records;
    ASSERT_EQ(doc["Records"].get(records), simdjson::SUCCESS);
    EXPECT_GT(records.size(), 0u);
    for (simdjson::dom::element r : records) {
      ++out.records;
      std::string_view id, time, recipient, aws_region, source, name, type;
      ASSERT_EQ(r["eventID"].get(id), simdjson::SUCCESS);
      ASSERT_EQ(r["eventTime"].get(time), simdjson::SUCCESS);
      ASSERT_EQ(r["recipientAccountId"].get(recipient), simdjson::SUCCESS);
      ASSERT_EQ(r["awsRegion"].get(aws_region), simdjson::SUCCESS);
      ASSERT_EQ(r["eventSource"].get(source), simdjson::SUCCESS);
      ASSERT_EQ(r["eventName"].get(name), simdjson::SUCCESS);
      ASSERT_EQ(r["userIdentity"]["type"].get(type), simdjson::SUCCESS);
      EXPECT_EQ(id.size(), 36u);
      EXPECT_EQ(id[14], '4');
      EXPECT_TRUE(out.event_ids.insert(std::string(id)).second) << "duplicate eventID " << id;
      EXPECT_EQ(recipient, account);
      EXPECT_EQ(aws_region, region);
      ASSERT_EQ(time.back(), 'Z');
      auto t = ParseTimestamp(time);
      ASSERT_TRUE(t.has_value()) << time;
      EXPECT_GE(*t, day_start);
      EXPECT_LT(*t, day_start + 86400 * kNanosPerSecond);
      out.event_names.insert(std::string(source) + "/" + std::string(name));
      out.id_to_name[std::string(id)] = std::string(name);
      if (type == "Root") out.root_events.push_back(std::string(name));
      if (r["errorCode"].error() == simdjson::SUCCESS) ++out.errors;
    }
  }
}

TEST(CloudTrailGeneratorTest, SameSeedSameBytes) {
  TempDir a, b, c;
  auto ra = GenerateCloudTrailDay(SmallDay(7), a.str());
  auto rb = GenerateCloudTrailDay(SmallDay(7), b.str());
  auto rc = GenerateCloudTrailDay(SmallDay(8), c.str());
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(Snapshot(a.str()), Snapshot(b.str()));
  EXPECT_EQ(ra->files, rb->files);
  EXPECT_EQ(ra->bytes_written, rb->bytes_written);
  EXPECT_NE(Snapshot(a.str()), Snapshot(c.str()));
}

TEST(CloudTrailGeneratorTest, WritesValidCloudTrailInS3Layout) {
  TempDir dir;
  GeneratorOptions o = SmallDay(3);
  auto r = GenerateCloudTrailDay(o, dir.str());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const GeneratorSummary& s = *r;
  EXPECT_EQ(s.routine_records, o.routine_events);
  EXPECT_EQ(s.records, s.routine_records + s.attack_records);
  EXPECT_EQ(s.digest_files, 1u);
  EXPECT_EQ(s.files.size(), s.log_files + s.digest_files);
  EXPECT_GT(s.log_files, 20u);
  EXPECT_EQ(s.accounts.size(), 2u);

  Parsed p;
  ParseDay(dir.str(), o.day_start_ns, p);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(p.records, s.records);
  EXPECT_EQ(p.event_ids.size(), s.records);
  // Both accounts and both regions have traffic; routine reads dominate.
  std::set<std::string> accounts_regions;
  for (const auto& f : s.files) {
    std::vector<std::string> parts;
    for (const auto& q : fs::path(f)) parts.push_back(q.string());
    accounts_regions.insert(parts[1] + "/" + parts[3]);
  }
  EXPECT_EQ(accounts_regions.size(), 4u);
  EXPECT_GT(p.event_names.count("s3.amazonaws.com/GetObject"), 100u);
  EXPECT_GT(p.event_names.count("sts.amazonaws.com/AssumeRole"), 20u);
  EXPECT_EQ(p.event_names.count("signin.amazonaws.com/ConsoleLogin"), 5u + 4u + 1u);  // routine, erin, root
  EXPECT_GT(p.errors, 0u);
  EXPECT_LT(p.errors, s.records / 10);
}

TEST(CloudTrailGeneratorTest, InjectsLabelledAttacks) {
  TempDir dir;
  GeneratorOptions o = SmallDay(11);
  auto r = GenerateCloudTrailDay(o, dir.str());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Parsed p;
  ParseDay(dir.str(), o.day_start_ns, p);
  ASSERT_FALSE(HasFatalFailure());

  ASSERT_EQ(r->attacks.size(), r->attack_records);
  std::set<std::string> cis;
  for (const InjectedEvent& e : r->attacks) {
    ASSERT_TRUE(p.id_to_name.count(e.event_id)) << e.scenario;
    EXPECT_EQ(p.id_to_name[e.event_id], e.event_name);
    if (!e.cis_control.empty()) cis.insert(e.cis_control);
  }
  EXPECT_EQ(cis, (std::set<std::string>{"4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8", "4.10"}));
  for (const char* name : {"cloudtrail.amazonaws.com/StopLogging", "ec2.amazonaws.com/AuthorizeSecurityGroupIngress",
                           "s3.amazonaws.com/PutBucketPolicy", "kms.amazonaws.com/ScheduleKeyDeletion",
                           "iam.amazonaws.com/AttachUserPolicy", "iam.amazonaws.com/CreateAccessKey"}) {
    EXPECT_EQ(p.event_names.count(name), 1u) << name;
  }
  EXPECT_NE(std::find(p.root_events.begin(), p.root_events.end(), "ConsoleLogin"), p.root_events.end());
}

TEST(CloudTrailGeneratorTest, NoAttacksWhenDisabled) {
  TempDir dir;
  GeneratorOptions o = SmallDay(11, /*attacks=*/false);
  auto r = GenerateCloudTrailDay(o, dir.str());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attack_records, 0u);
  EXPECT_TRUE(r->attacks.empty());
  Parsed p;
  ParseDay(dir.str(), o.day_start_ns, p);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(p.records, o.routine_events);
  for (const char* name : {"cloudtrail.amazonaws.com/StopLogging", "ec2.amazonaws.com/AuthorizeSecurityGroupIngress",
                           "s3.amazonaws.com/PutBucketPolicy", "kms.amazonaws.com/ScheduleKeyDeletion",
                           "iam.amazonaws.com/AttachUserPolicy"}) {
    EXPECT_EQ(p.event_names.count(name), 0u) << name;
  }
  EXPECT_TRUE(p.root_events.empty());
}

TEST(CloudTrailGeneratorTest, DayStartIsRoundedToMidnight) {
  TempDir dir;
  GeneratorOptions o = SmallDay(5, false);
  o.routine_events = 200;
  const int64_t midnight = *ParseTimestamp("2024-12-31T00:00:00Z");
  o.day_start_ns = midnight + 13 * 3600 * kNanosPerSecond;
  auto r = GenerateCloudTrailDay(o, dir.str());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Parsed p;
  ParseDay(dir.str(), midnight, p);
  ASSERT_FALSE(HasFatalFailure());
  // The last delivery window of the day is delivered at midnight, so it lands under the next day.
  for (const auto& f : r->files) {
    EXPECT_TRUE(f.find("/2024/12/31/") != std::string::npos || f.find("/2025/01/01/") != std::string::npos) << f;
  }
}

TEST(CloudTrailGeneratorTest, RejectsBadOptions) {
  GeneratorOptions o;
  EXPECT_EQ(GenerateCloudTrailDay(o, "").status().code(), StatusCode::kInvalidArgument);
  o.routine_events = 20'000'000;
  EXPECT_EQ(GenerateCloudTrailDay(o, "/tmp/unused").status().code(), StatusCode::kInvalidArgument);
}

TEST(CloudTrailGeneratorTest, ReportsUnwritableDirectory) {
  TempDir dir;
  fs::create_directories(dir.str());
  const std::string file = dir.str() + "/occupied";
  std::ofstream(file) << "x";
  auto r = GenerateCloudTrailDay(SmallDay(1), file);
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace vigil
