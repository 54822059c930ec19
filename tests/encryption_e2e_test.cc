// End-to-end: encryption at rest through the `vigil` command on real
// CloudTrail (Stratus Red Team detonations): hunts over encrypted data answer
// exactly what they answer over plain data, a wrong or missing key is a clear
// error, and key rotation leaves every segment file byte-for-byte unchanged.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

const fs::path kStratus = VIGIL_SHARED_DATA "/cloudtrail/stratus-red-team/docs/detonation-logs";

struct VigilRun {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `vigil <args>` with `env` prepended (e.g. "VIGIL_MASTER_KEY=... ").
VigilRun Vigil(const std::string& args, const std::string& env = "") {
  static int n = 0;
  const fs::path err_file = fs::temp_directory_path() / ("vigil-enc-e2e-" + std::to_string(::getpid()) + "-" +
                                                         std::to_string(n++) + ".err");
  std::string cmd = env + std::string(VIGIL_BINARY) + " " + args + " 2>" + err_file.string();
  VigilRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[65536];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(err_file);
  std::stringstream ss;
  ss << f.rdbuf();
  r.err = ss.str();
  fs::remove(err_file);
  return r;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every file under `dir` whose name ends with `suffix`, with its bytes.
std::map<std::string, std::string> Files(const fs::path& dir, const std::string& suffix) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string name = e.path().string();
    if (e.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out[name] = ReadFile(e.path());
  }
  return out;
}

class EncryptionE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-enc-e2e-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Plain() const { return "--data " + (dir_ / "plain").string(); }
  std::string Enc() const { return "--data " + (dir_ / "enc").string(); }
  std::string Key(const std::string& name) const { return "--key-file " + (dir_ / (name + ".key")).string(); }
  fs::path dir_;
};

TEST_F(EncryptionE2ETest, HuntsMatchPlainDataWrongKeysFailAndRotationRewritesNoSegment) {
  for (const char* id : {"alpha", "beta"}) {
    VigilRun gen = Vigil("keys generate --id " + std::string(id) + " --out " + (dir_ / (std::string(id) + ".key")).string());
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    EXPECT_EQ(fs::status(dir_ / (std::string(id) + ".key")).permissions() & fs::perms::group_all, fs::perms::none);
  }
  ASSERT_EQ(Vigil("ingest --json --no-detect " + Plain() + " " + kStratus.string()).exit_code, 0);
  VigilRun ingest = Vigil("ingest --json --no-detect " + Enc() + " " + Key("alpha") + " " + kStratus.string());
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_NE(ingest.out.find("\"events\":310"), std::string::npos) << ingest.out;

  const std::vector<std::string> queries = {
      "", "eventName=GetSecretValue", "sourceIPAddress=*", "source=cloudtrail errorCode=AccessDenied*"};
  std::map<std::string, std::string> plain_out;
  for (const auto& q : queries) {
    VigilRun p = Vigil("hunt --json " + Plain() + " '" + q + "'");
    ASSERT_EQ(p.exit_code, 0) << p.err;
    plain_out[q] = p.out;
    VigilRun e = Vigil("hunt --json " + Enc() + " " + Key("alpha") + " '" + q + "'");
    ASSERT_EQ(e.exit_code, 0) << e.err;
    EXPECT_EQ(e.out, p.out) << q;
  }
  EXPECT_GT(std::count(plain_out[""].begin(), plain_out[""].end(), '\n'), 300);
  // The key from the environment, as a service would get it.
  VigilRun from_env = Vigil("hunt --json " + Enc() + " ''",
                       "VIGIL_MASTER_KEY=$(grep -v '^#' " + (dir_ / "alpha.key").string() + ") ");
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
  EXPECT_EQ(from_env.out, plain_out[""]);

  // No key, or the wrong one: an error naming a segment and the key ids; no output.
  VigilRun none = Vigil("hunt --json " + Enc() + " ''");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(none.out.empty());
  EXPECT_NE(none.err.find("is encrypted (master key alpha); no master key was given"), std::string::npos) << none.err;
  VigilRun wrong = Vigil("hunt --json " + Enc() + " " + Key("beta") + " ''");
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_TRUE(wrong.out.empty());
  EXPECT_NE(wrong.err.find("master key beta does not open segment " + (dir_ / "enc" / "events").string()),
            std::string::npos)
      << wrong.err;
  EXPECT_NE(wrong.err.find("wrapped by master key alpha"), std::string::npos) << wrong.err;
  // Once encrypted, writing without the key is refused.
  VigilRun plain_write = Vigil("ingest --no-detect " + Enc() + " " + kStratus.string());
  EXPECT_EQ(plain_write.exit_code, 2);
  EXPECT_NE(plain_write.err.find("give the master key"), std::string::npos) << plain_write.err;

  VigilRun status = Vigil("keys status --json " + Enc());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const auto segments = Files(dir_ / "enc" / "events", ".seg");
  ASSERT_FALSE(segments.empty());
  EXPECT_EQ(Files(dir_ / "enc" / "events", ".seg.key").size(), segments.size());
  const std::string n = std::to_string(segments.size());
  EXPECT_NE(status.out.find("\"encrypted_segments\":" + n), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("\"by_key\":{\"alpha\":" + n + "}"), std::string::npos) << status.out;

  // Rotate to beta: every key file re-wrapped, no segment byte changed.
  VigilRun rotate = Vigil("keys rotate --json " + Enc() + " " + Key("beta") + " " + Key("alpha"));
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  EXPECT_NE(rotate.out.find("\"rewrapped\":" + n + ",\"current\":0"), std::string::npos) << rotate.out;
  EXPECT_EQ(Files(dir_ / "enc" / "events", ".seg"), segments);
  VigilRun again = Vigil("keys rotate --json " + Enc() + " " + Key("beta") + " " + Key("alpha"));
  EXPECT_NE(again.out.find("\"rewrapped\":0,\"current\":" + n), std::string::npos) << again.out;
  status = Vigil("keys status --json " + Enc());
  EXPECT_NE(status.out.find("\"by_key\":{\"beta\":" + n + "}"), std::string::npos) << status.out;

  // The old key is no longer needed, and alone it no longer opens anything.
  for (const auto& q : queries) {
    VigilRun e = Vigil("hunt --json " + Enc() + " " + Key("beta") + " '" + q + "'");
    ASSERT_EQ(e.exit_code, 0) << e.err;
    EXPECT_EQ(e.out, plain_out[q]) << q;
  }
  VigilRun old_key = Vigil("hunt --json " + Enc() + " " + Key("alpha") + " ''");
  EXPECT_EQ(old_key.exit_code, 2);
  EXPECT_NE(old_key.err.find("master key alpha does not open segment"), std::string::npos) << old_key.err;
  // Rotation without the key that wraps the data names it.
  VigilRun orphan = Vigil("keys rotate --json " + Enc() + " " + Key("alpha"));
  EXPECT_EQ(orphan.exit_code, 1);
  EXPECT_NE(orphan.out.find("wrapped by master key beta"), std::string::npos) << orphan.out;
}

}  // namespace
