#include "env/env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <functional>

#include "env/fault_injection_env.h"
#include "env/mem_env.h"

namespace vigil {
namespace {

std::string MakeTempDir() {
  char tmpl[] = "/tmp/vigil_env_test_XXXXXX";
  char* d = mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  return d;
}

void RemoveTree(Env* env, const std::string& dir) {
  std::vector<DirEntry> entries;
  if (!env->ListDir(dir, &entries).ok()) return;
  for (const DirEntry& e : entries) {
    std::string p = JoinPath(dir, e.name);
    if (e.is_dir) {
      RemoveTree(env, p);
    } else {
      (void)env->RemoveFile(p);
    }
  }
  (void)env->RemoveDir(dir);
}

class EnvTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      mem_ = NewMemEnv();
      env_ = mem_.get();
      root_ = "/root";
      ASSERT_TRUE(env_->CreateDirs(root_).ok());
    } else {
      env_ = Env::Default();
      root_ = MakeTempDir();
    }
  }
  void TearDown() override {
    if (!GetParam()) RemoveTree(env_, root_);
  }
  std::unique_ptr<Env> mem_;
  Env* env_ = nullptr;
  std::string root_;
};

TEST_P(EnvTest, AReusedFileIsWrittenFromItsStartAndCutAtTruncate) {
  const std::string f = root_ + "/reuse";
  ASSERT_TRUE(env_->WriteFileAtomic(f, "hello world").ok());
  auto w = env_->ReuseWritableFile(f);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Append("HEL").ok());
  EXPECT_EQ((*w)->Size(), 3u);
  std::string got;
  ASSERT_TRUE(env_->ReadFile(f, &got).ok());
  // Posix writes over the old bytes in place; an Env without reuse truncates.
  EXPECT_EQ(got, GetParam() ? "HEL" : "HELlo world");
  ASSERT_TRUE((*w)->Truncate().ok());
  ASSERT_TRUE((*w)->Sync().ok());
  ASSERT_TRUE((*w)->Close().ok());
  ASSERT_TRUE(env_->ReadFile(f, &got).ok());
  EXPECT_EQ(got, "HEL");
  EXPECT_EQ(env_->ReuseWritableFile(root_ + "/missing").status().code(), StatusCode::kNotFound);
}

TEST_P(EnvTest, WriteReadAppendRenameRemove) {
  std::string dir = JoinPath(root_, "a/b/c");
  ASSERT_TRUE(env_->CreateDirs(dir).ok());
  ASSERT_TRUE(env_->CreateDirs(dir).ok());  // idempotent
  std::string f = JoinPath(dir, "f.txt");
  ASSERT_TRUE(env_->WriteFileAtomic(f, "hello").ok());
  EXPECT_FALSE(env_->FileExists(f + ".tmp"));
  ASSERT_TRUE(env_->AppendToFile(f, " world", true).ok());
  std::string got;
  ASSERT_TRUE(env_->ReadFile(f, &got).ok());
  EXPECT_EQ(got, "hello world");
  EXPECT_EQ(*env_->FileSize(f), 11u);

  auto raf = env_->NewRandomAccessFile(f);
  ASSERT_TRUE(raf.ok());
  ASSERT_TRUE((*raf)->Read(6, 100, &got).ok());
  EXPECT_EQ(got, "world");

  std::string g = JoinPath(root_, "a/g.txt");
  ASSERT_TRUE(env_->RenameFile(f, g).ok());
  EXPECT_FALSE(env_->FileExists(f));
  EXPECT_TRUE(env_->FileExists(g));

  std::vector<std::string> files;
  ASSERT_TRUE(env_->ListFilesRecursive(root_, &files).ok());
  EXPECT_EQ(files, std::vector<std::string>{"a/g.txt"});

  ASSERT_TRUE(env_->RemoveFile(g).ok());
  EXPECT_EQ(env_->RemoveFile(g).code(), StatusCode::kNotFound);
  EXPECT_EQ(env_->NewRandomAccessFile(g).status().code(), StatusCode::kNotFound);
  std::vector<DirEntry> entries;
  EXPECT_EQ(env_->ListDir(JoinPath(root_, "missing"), &entries).code(), StatusCode::kNotFound);
}

TEST_P(EnvTest, LocksConflict) {
  std::string lock = JoinPath(root_, "LOCK");
  auto a = env_->LockFile(lock, LockMode::kExclusive);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = env_->LockFile(lock, LockMode::kExclusive);
  EXPECT_EQ(b.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(env_->LockFile(lock, LockMode::kShared).status().code(), StatusCode::kFailedPrecondition);
  a.value().reset();
  auto s1 = env_->LockFile(lock, LockMode::kShared);
  auto s2 = env_->LockFile(lock, LockMode::kShared);
  EXPECT_TRUE(s1.ok());
  EXPECT_TRUE(s2.ok());
  EXPECT_FALSE(env_->LockFile(lock, LockMode::kExclusive).ok());
}

INSTANTIATE_TEST_SUITE_P(PosixAndMem, EnvTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Mem" : "Posix"; });

TEST(FaultInjectionEnvTest, CrashDropsUnsyncedDataAndUndurableNames) {
  auto mem = NewMemEnv();
  ASSERT_TRUE(mem->CreateDirs("/d").ok());
  FaultInjectionEnv env(mem.get());

  // Durable: written, synced, renamed, directory synced.
  ASSERT_TRUE(env.WriteFileAtomic("/d/durable", "kept").ok());
  // Synced data but the creation never made durable: vanishes.
  {
    auto f = env.NewWritableFile("/d/undurable");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("x").ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }
  // Durable name, partly synced contents.
  ASSERT_TRUE(env.AppendToFile("/d/durable", "+synced", true).ok());
  ASSERT_TRUE(env.AppendToFile("/d/durable", "+lost", false).ok());

  ASSERT_TRUE(env.SimulateCrash().ok());
  std::string got;
  ASSERT_TRUE(env.ReadFile("/d/durable", &got).ok());
  EXPECT_EQ(got, "kept+synced");
  EXPECT_FALSE(env.FileExists("/d/undurable"));
}

TEST(FaultInjectionEnvTest, TornWriteAndFailingRename) {
  auto mem = NewMemEnv();
  ASSERT_TRUE(mem->CreateDirs("/d").ok());
  FaultInjectionEnv env(mem.get());
  env.SetWriteBudget(3);
  auto f = env.NewWritableFile("/d/f");
  ASSERT_TRUE(f.ok());
  Status s = (*f)->Append("abcdef");
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("/d/f"), std::string::npos);
  EXPECT_EQ(*mem->FileSize("/d/f"), 3u);
  env.SetWriteBudget(-1);
  env.SetFailRename(true);
  EXPECT_FALSE(env.WriteFileAtomic("/d/g", "data").ok());
  EXPECT_FALSE(env.FileExists("/d/g"));
  EXPECT_FALSE(env.FileExists("/d/g.tmp"));
}

}  // namespace
}  // namespace vigil
