#include "store/data_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "env/mem_env.h"

namespace vigil {
namespace {

TEST(DataDirTest, CreatesLayoutAndFormat) {
  auto env = NewMemEnv();
  auto dir = DataDir::Open("/var/vigil", env.get());
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  std::string format;
  ASSERT_TRUE(env->ReadFile("/var/vigil/FORMAT", &format).ok());
  EXPECT_EQ(format, "vigil-data 2\n");
  EXPECT_EQ((*dir)->events_dir(), "/var/vigil/events");
  EXPECT_EQ((*dir)->deadletter_dir(), "/var/vigil/deadletter");
  EXPECT_EQ((*dir)->meta_db_path(), "/var/vigil/meta.db");
  EXPECT_TRUE(env->FileExists("/var/vigil/events"));
  EXPECT_TRUE(env->FileExists("/var/vigil/deadletter"));
  EXPECT_EQ((*dir)->format_version(), 2);
}

// A directory of the first layout (v1 segments only) reads as it is; the
// first writable open marks it 2, after which a vigil that reads only 1
// refuses it rather than skipping the v2 segments written from then on.
TEST(DataDirTest, UpgradesVersionOneOnWritableOpenOnly) {
  auto env = NewMemEnv();
  ASSERT_TRUE(env->CreateDirs("/d/events").ok());
  ASSERT_TRUE(env->WriteFile("/d/FORMAT", "vigil-data 1\n").ok());
  DataDirOptions ro;
  ro.read_only = true;
  auto reader = DataDir::Open("/d", env.get(), ro);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->format_version(), 1);
  std::string format;
  ASSERT_TRUE(env->ReadFile("/d/FORMAT", &format).ok());
  EXPECT_EQ(format, "vigil-data 1\n");

  auto writer = DataDir::Open("/d", env.get());
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_EQ((*writer)->format_version(), 2);
  ASSERT_TRUE(env->ReadFile("/d/FORMAT", &format).ok());
  EXPECT_EQ(format, "vigil-data 2\n");
}

TEST(DataDirTest, SecondWriterFailsClearlyUntilFirstCloses) {
  auto env = NewMemEnv();
  auto first = DataDir::Open("/d", env.get());
  ASSERT_TRUE(first.ok());
  auto second = DataDir::Open("/d", env.get());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            "data directory /d is locked: another vigil process is writing to it (LOCK is held)");
  // Readers still work while the writer holds the lock.
  DataDirOptions ro;
  ro.read_only = true;
  auto reader = DataDir::Open("/d", env.get(), ro);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto store = (*reader)->OpenEventStore();
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->NewWriter().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*(*store)->CountEvents(), 0u);

  first.value().reset();
  EXPECT_TRUE(DataDir::Open("/d", env.get()).ok());
}

TEST(DataDirTest, PosixLockConflictsWithinAndAcrossOpens) {
  char tmpl[] = "/tmp/vigil_datadir_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/data";
  {
    auto first = DataDir::Open(path);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    auto second = DataDir::Open(path);
    EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(second.status().message().find(path), std::string::npos);
    EXPECT_NE(second.status().message().find("another vigil process"), std::string::npos);
  }
  EXPECT_TRUE(DataDir::Open(path).ok());
  std::string cmd = std::string("rm -rf '") + tmpl + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(DataDirTest, RefusesNewerFormat) {
  auto env = NewMemEnv();
  ASSERT_TRUE(env->CreateDirs("/d").ok());
  ASSERT_TRUE(env->WriteFile("/d/FORMAT", "vigil-data 7\n").ok());
  auto dir = DataDir::Open("/d", env.get());
  EXPECT_EQ(dir.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(dir.status().message(), "data directory /d has format 7; this vigil reads up to 2 (the directory was written by a newer vigil: "
            "run that version or newer)");
  DataDirOptions ro;
  ro.read_only = true;
  EXPECT_EQ(DataDir::Open("/d", env.get(), ro).status().message(),
            "data directory /d has format 7; this vigil reads up to 2 (the directory was written by a newer vigil: "
            "run that version or newer)");
}

TEST(DataDirTest, RefusesForeignOrGarbledDirectories) {
  auto env = NewMemEnv();
  ASSERT_TRUE(env->CreateDirs("/home/user").ok());
  ASSERT_TRUE(env->WriteFile("/home/user/notes.txt", "hi").ok());
  auto dir = DataDir::Open("/home/user", env.get());
  EXPECT_EQ(dir.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dir.status().message().find("not a vigil data directory"), std::string::npos);

  ASSERT_TRUE(env->CreateDirs("/g").ok());
  ASSERT_TRUE(env->WriteFile("/g/FORMAT", "something else").ok());
  EXPECT_EQ(DataDir::Open("/g", env.get()).status().code(), StatusCode::kCorruption);

  DataDirOptions ro;
  ro.read_only = true;
  EXPECT_EQ(DataDir::Open("/missing", env.get(), ro).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(env->FileExists("/missing"));
}

}  // namespace
}  // namespace vigil
