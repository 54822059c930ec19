// `vigil keys`: master keys for encryption at rest
// (docs/operations.md#encryption-at-rest).
//
//   generate  a new random master key, to stdout or a new 0600 file
//   status    which master key wraps how many segments (no key needed)
//   rotate    re-wrap every segment's data key with the first key given
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/workspace.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "store/data_dir.h"
#include "store/key_admin.h"

namespace vigil::cli {

int RunKeysGenerate(const KeysOptions& o) {
  auto key = GenerateMasterKey(o.id);
  if (!key.ok()) return Fatal(key.status());
  if (o.out.empty()) {
    std::printf("%s\n", key->c_str());
    return kExitOk;
  }
  // A new file only, readable by its owner only: never overwrite a key.
  int fd = ::open(o.out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fatal(Status::IoError(o.out + ": cannot create the key file: " + std::strerror(errno)));
  std::string line = "# vigil master key, created " + FormatRfc3339(NowNanos()) + "\n" + *key + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) return Fatal(Status::IoError(o.out + ": cannot write the key file"));
  if (o.json) {
    std::printf("%s\n", JsonObject().Str("id", o.id).Str("file", o.out).Done().c_str());
  } else {
    std::printf("master key %s written to %s\n", o.id.c_str(), o.out.c_str());
  }
  return kExitOk;
}

int RunKeysStatus(const KeysOptions& o) {
  DataDirOptions ro;
  ro.read_only = true;
  auto dir = DataDir::Open(o.data_dir, Env::Default(), ro);
  if (!dir.ok()) return Fatal(dir.status());
  auto st = ReadKeyStatus(Env::Default(), (*dir)->events_dir());
  if (!st.ok()) return Fatal(st.status());
  if (o.json) {
    JsonObject by_key;
    for (const auto& [id, n] : st->by_key) by_key.UInt(id, n);
    JsonObject dict_by_key;
    for (const auto& [id, n] : st->dictionaries_by_key) dict_by_key.UInt(id, n);
    std::vector<std::string> problems;
    for (const Status& p : st->problems) problems.push_back(p.message());
    std::printf("%s\n", JsonObject()
                            .UInt("plain_segments", st->plain_segments)
                            .UInt("encrypted_segments", st->encrypted_segments)
                            .Raw("by_key", by_key.Done())
                            .Raw("dictionaries_by_key", dict_by_key.Done())
                            .StrList("problems", problems)
                            .Done()
                            .c_str());
  } else {
    std::printf("%-24s %s\n", "MASTER KEY", "SEGMENTS");
    for (const auto& [id, n] : st->by_key) std::printf("%-24s %llu\n", id.c_str(), static_cast<unsigned long long>(n));
    std::printf("%-24s %llu\n", "(not encrypted)", static_cast<unsigned long long>(st->plain_segments));
    if (!st->dictionaries_by_key.empty()) {
      std::printf("\n%-24s %s\n", "MASTER KEY", "DICTIONARIES");
      for (const auto& [id, n] : st->dictionaries_by_key) {
        std::printf("%-24s %llu\n", id.c_str(), static_cast<unsigned long long>(n));
      }
    }
    for (const Status& p : st->problems) Warn(p.message());
  }
  return st->problems.empty() ? kExitOk : kExitFailures;
}

int RunKeysRotate(const KeysOptions& o) {
  auto keys = LoadMasterKeys(o.keys);
  if (!keys.ok()) return Fatal(keys.status());
  if (*keys == nullptr) {
    return Fatal(Status::InvalidArgument(
        "keys rotate: give the new master key first, then the old ones (--key-file/--key-env)"));
  }
  // The write lock: no writer creates segments under an old key meanwhile.
  auto dir = DataDir::Open(o.data_dir, Env::Default());
  if (!dir.ok()) return Fatal(dir.status());
  Progress progress("rotate");
  auto r = RotateSegmentKeys(Env::Default(), (*dir)->events_dir(), **keys, [&](size_t done, size_t total) {
    progress.Update(std::to_string(done) + "/" + std::to_string(total) + " key files");
  });
  progress.Finish();
  if (!r.ok()) return Fatal(r.status());
  const std::string active = (*keys)->active()->id;
  if (o.json) {
    std::vector<std::string> failed;
    for (const Status& f : r->failed) failed.push_back(f.message());
    std::printf("%s\n", JsonObject()
                            .Str("active_key", active)
                            .UInt("rewrapped", r->rewrapped)
                            .UInt("current", r->current)
                            .StrList("failed", failed)
                            .Done()
                            .c_str());
  } else {
    for (const Status& f : r->failed) std::fprintf(stderr, "vigil: error: %s\n", f.message().c_str());
    std::printf("re-wrapped %llu key files (segments and dictionaries) under master key %s (%llu already were); %llu failed\n",
                static_cast<unsigned long long>(r->rewrapped), active.c_str(),
                static_cast<unsigned long long>(r->current), static_cast<unsigned long long>(r->failed.size()));
    if (r->failed.empty()) std::printf("no segment or dictionary needs any other master key now\n");
  }
  return r->failed.empty() ? kExitOk : kExitFailures;
}

}  // namespace vigil::cli
