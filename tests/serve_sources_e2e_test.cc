// `vigil serve` with an S3 source (a local S3-compatible server) and a
// directory source: CloudTrail deliveries are polled, go through the
// write-ahead log, detection and the store, and `vigil hunt` finds their
// events after serve stopped; a restart reads nothing again.
#include <gtest/gtest.h>
#include <libdeflate.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "aws/s3_client.h"
#include "run_vigil.h"
#include "s3/local_s3.h"
#include "test_files.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using testing::Gzip;
using testing::ReadFile;
using testing::Vigil;

const std::string kStratus = std::string(VIGIL_SHARED_DATA) + "/cloudtrail/stratus-red-team/docs/detonation-logs/";

size_t RecordCount(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::array records = parser.parse(json).get_array();
  return records.size();
}

size_t Lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Runs `vigil serve --config` until Stop(); the exit code is what Stop returns.
class Serve {
 public:
  explicit Serve(const std::string& config) {
    pid_ = fork();
    if (pid_ == 0) {
      execl(VIGIL_BINARY, VIGIL_BINARY, "serve", "--config", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Serve() { Stop(); }
  int Stop() {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// Every checkpoint under dir, concatenated.
std::string Checkpoints(const fs::path& dir) {
  std::string all;
  if (!fs::exists(dir)) return all;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".checkpoint") all += ReadFile(e.path());
  }
  return all;
}

TEST(ServeSourcesE2ETest, S3AndDirectoryDeliveriesAreStoredAndHunted) {
  testing::LocalS3 s3;
  ASSERT_EQ(s3.Start(), "") << "this test needs the local S3 server";
  fs::path dir = fs::temp_directory_path() / ("vigil-serve-sources-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "drop");

  aws::S3Config sc;
  sc.endpoint = s3.endpoint();
  sc.credentials = {testing::LocalS3::kAccessKey, testing::LocalS3::kSecretKey, ""};
  aws::S3Client client(sc);
  ASSERT_TRUE(client.CreateBucket("trail-bucket").ok());

  // Two accounts' CloudTrail deliveries in the bucket, one file dropped in a directory.
  const std::vector<std::pair<std::string, std::string>> objects = {
      {"AWSLogs/222222222222/CloudTrail/us-east-1/2024/07/31/222222222222_CloudTrail_us-east-1_20240731T1305Z_a.json.gz",
       "aws.defense-evasion.cloudtrail-stop.json"},
      {"AWSLogs/111111111111/CloudTrail/eu-west-1/2024/07/31/111111111111_CloudTrail_eu-west-1_20240731T1310Z_b.json.gz",
       "aws.persistence.iam-create-admin-user.json"},
  };
  size_t expected = 0;
  for (const auto& [key, file] : objects) {
    std::string json = ReadFile(kStratus + file);
    expected += RecordCount(json);
    ASSERT_TRUE(client.PutObject("trail-bucket", key, Gzip(json)).ok());
  }
  const std::string dropped = "AWSLogs/333333333333/CloudTrail/us-west-2/2024/07/31/c.json";
  fs::create_directories((dir / "drop" / dropped).parent_path());
  {
    std::string json = ReadFile(kStratus + "aws.defense-evasion.cloudtrail-delete.json");
    expected += RecordCount(json);
    std::ofstream(dir / "drop" / dropped) << json;
  }

  const fs::path config = dir / "serve.yaml";
  std::ofstream(config) << "data_dir: " << (dir / "data").string() << "\n"
                        << "http: {port: 0}\n"
                        << "pipeline: {commit_interval_ms: 50}\n"
                        << "sources:\n"
                        << "  s3:\n"
                        << "    - name: trail\n"
                        << "      bucket: trail-bucket\n"
                        << "      prefix: AWSLogs/\n"
                        << "      endpoint: " << s3.endpoint() << "\n"
                        << "      access_key_id: " << testing::LocalS3::kAccessKey << "\n"
                        << "      secret_access_key: " << testing::LocalS3::kSecretKey << "\n"
                        << "      interval_seconds: 1\n"
                        << "  directory:\n"
                        << "    - name: drops\n"
                        << "      path: " << (dir / "drop").string() << "\n"
                        << "      interval_seconds: 1\n";
  ASSERT_EQ(Vigil("serve --check-config --config " + config.string()).exit_code, 0);

  {
    Serve serve(config.string());
    // Each object is checkpointed once the write-ahead log holds it.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto all_done = [&] {
      std::string cp = Checkpoints(dir / "data/sources");
      for (const auto& [key, file] : objects) {
        if (cp.find(key) == std::string::npos) return false;
      }
      return cp.find("c.json") != std::string::npos;
    };
    while (!all_done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(all_done()) << Checkpoints(dir / "data/sources");
    EXPECT_EQ(serve.Stop(), 0);
  }

  const std::string data = "--data " + (dir / "data").string();
  auto all = Vigil("hunt --json " + data + " ''");
  ASSERT_EQ(all.exit_code, 0);
  EXPECT_EQ(Lines(all.out), expected);
  EXPECT_EQ(Lines(Vigil("hunt --json " + data + " 'eventName=StopLogging'").out), 1u);
  EXPECT_EQ(Lines(Vigil("hunt --json " + data + " 'eventName=DeleteTrail'").out), 1u);
  EXPECT_GE(Lines(Vigil("hunt --json " + data + " 'eventName=CreateUser'").out), 1u);

  // A restart with the same checkpoints reads nothing again.
  const std::string before = Checkpoints(dir / "data/sources");
  {
    Serve serve(config.string());
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    EXPECT_EQ(serve.Stop(), 0);
  }
  EXPECT_EQ(Checkpoints(dir / "data/sources"), before);
  EXPECT_EQ(Lines(Vigil("hunt --json " + data + " ''").out), expected);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vigil
