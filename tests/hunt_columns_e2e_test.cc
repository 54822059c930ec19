// Hunts whose aggregations read only stored columns answer exactly what
// reading and parsing every raw record answers (docs/query-language.md,
// "Reading columns"): each query runs both ways (VIGIL_HUNT_COLUMNS=0 turns
// the column executor off) over real CloudTrail (Stratus Red Team), the bench
// corpus generator's CloudTrail, VPC flow logs and ALB logs in v2 segments,
// and over a data directory that mixes v1 and v2 segments.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string kShared = VIGIL_SHARED_DATA;
const std::string kStratus = kShared + "/cloudtrail/stratus-red-team/docs/detonation-logs";

struct CmdRun {
  int exit_code = -1;
  std::string out, err;
};

class HuntColumnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-hunt-columns-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `env vigil args`, capturing stdout and stderr.
  CmdRun Vigil(const std::string& env, const std::string& args) {
    const std::string err = (dir_ / "stderr").string();
    const std::string cmd = env + " " + VIGIL_BINARY + " " + args + " 2>" + err;
    CmdRun r;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(err);
    std::stringstream ss;
    ss << in.rdbuf();
    r.err = ss.str();
    return r;
  }

  void Ingest(int format, const std::string& inputs) {
    CmdRun r = Vigil("VIGIL_SEGMENT_FORMAT=" + std::to_string(format),
                  "ingest --no-detect --json --data " + Data() + " " + inputs);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  // The bench corpus generator's CloudTrail: principals, addresses and
  // regions spread the way the store benchmark's are.
  std::string Corpus() {
    const fs::path out = dir_ / "corpus";
    const std::string cmd = "python3 " VIGIL_SOURCE_DIR "/bench/make_corpus.py --out " + out.string() +
                            " --events 4000 --seed 7 --stratus " + kStratus + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return out.string();
  }

  // Runs `query` both ways (table and JSON output) and expects the same
  // bytes; returns how many blocks the column executor answered.
  uint64_t Same(const std::string& query, const std::string& flags = "") {
    const std::string args = "hunt " + flags + " --data " + Data() + " '" + query + "'";
    CmdRun raw = Vigil("VIGIL_HUNT_COLUMNS=0", args);
    CmdRun cols = Vigil("", args);
    EXPECT_EQ(raw.exit_code, 0) << query << "\n" << raw.err;
    EXPECT_EQ(cols.exit_code, 0) << query << "\n" << cols.err;
    EXPECT_EQ(cols.out, raw.out) << query;
    EXPECT_GT(raw.out.size(), 40u) << query << ": the query should produce rows";
    CmdRun raw_json = Vigil("VIGIL_HUNT_COLUMNS=0", "hunt --json " + flags + " --data " + Data() + " '" + query + "'");
    CmdRun cols_json = Vigil("", "hunt --json " + flags + " --data " + Data() + " '" + query + "'");
    EXPECT_EQ(cols_json.out, raw_json.out) << query;
    // "...; N answered from columns alone)"
    const size_t at = cols.err.find(" answered from columns alone");
    if (at == std::string::npos) return 0;
    size_t start = cols.err.rfind(' ', at - 1);
    std::string n = cols.err.substr(start + 1, at - start - 1);
    n.erase(std::remove(n.begin(), n.end(), ','), n.end());
    return std::stoull(n);
  }

  std::string Data() const { return (dir_ / "data").string(); }
  fs::path dir_;
};

// Every stage type a column plan admits, over v2 segments: the aggregation
// (stats with each order-free function, top, rare, timechart), the stages
// before it (where, eval, bin), search terms (equality, wildcards, OR, NOT,
// time ranges) and the pseudo-fields.
TEST_F(HuntColumnsTest, AggregationsFromColumnsEqualRawRecords) {
  Ingest(2, Corpus() + " " + kStratus + " " + kShared + "/vpcflow " + kShared + "/alb");
  const std::vector<std::string> from_columns = {
      "source=cloudtrail | stats count() by eventName",
      "source=cloudtrail | stats count() by bin(time, 1h)",
      "source=cloudtrail | stats dc(sourceIPAddress) AS ips by userIdentity.arn | sort -ips | head 10",
      "eventSource=s3* | stats count() AS n, dc(eventName) AS names, values(awsRegion) AS regions by principal, account",
      "eventName=Get* OR eventName=List* | top 5 eventSource by awsRegion",
      "source=cloudtrail | rare 3 eventName",
      "NOT errorCode=AccessDenied* source=cloudtrail | timechart span=6h count() by eventSource",
      "source=cloudtrail | where like(userAgent, \"%aws-cli%\") | eval ua = lower(userAgent) | stats count() by ua, source",
      "source=cloudtrail | bin time span=1d | stats count(), min(eventName) AS first, max(sourceIPAddress) AS last by time",
      "time>=2025-03-04T10:00:00Z time<2025-03-05T00:00:00Z | stats count() by awsRegion, errorCode",
      "source=cloudtrail | stats count() by userIdentity.accessKeyId | sort -count | head 5",
      "source=vpcflow | stats sum(bytes) AS b, avg(packets) AS p, min(dstport) AS lo, max(srcport) AS hi, count() by action",
      "dstport>1000 | stats count() by protocol",
      "| stats count() by source, bin(time, 1d)",
  };
  for (const std::string& q : from_columns) EXPECT_GT(Same(q), 0u) << q;
  // A time range that cuts blocks: their records are tested one by one.
  EXPECT_GT(Same("source=cloudtrail | stats count() by eventName, bin(time, 1h)",
                 "--from 2025-03-03T05:30:00Z --to 2025-03-05T07:10:00Z"),
            0u);
  // Fields with no column, or whose values a column cannot type, read raw records.
  EXPECT_EQ(Same("source=cloudtrail | stats count() by eventTime | sort -count | head 3"), 0u);
  EXPECT_EQ(Same("source=cloudtrail | stats count() by recipientAccountId"), 0u);
  // Stages and searches that need each record are not planned from columns.
  EXPECT_EQ(Same("source=cloudtrail | head 50 | stats count() by eventName"), 0u);
  EXPECT_EQ(Same("ListBuckets | stats count() by principal"), 0u);
  EXPECT_EQ(Same("errorCode!=AccessDenied | stats count() by eventName"), 0u);
  EXPECT_EQ(Same("source=cloudtrail | stats earliest(eventName) AS e by awsRegion"), 0u);
}

// v1 segments (no columns) beside v2 ones: each is read its own way and the
// results add up as if every record were read raw.
TEST_F(HuntColumnsTest, MixedV1AndV2SegmentsGiveTheSameResults) {
  Ingest(1, kStratus);
  Ingest(2, Corpus());
  EXPECT_GT(Same("source=cloudtrail | stats count() by eventName"), 0u);
  EXPECT_GT(Same("source=cloudtrail | stats dc(sourceIPAddress) AS ips by userIdentity.arn | sort -ips | head 10"), 0u);
  EXPECT_GT(Same("| timechart span=1d count() by awsRegion"), 0u);
}

}  // namespace
