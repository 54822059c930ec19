// FaultInjectionEnv: wraps another Env (usually a MemEnv) and injects the
// failures storage code must survive:
//
//  * torn writes / full disk: after a byte budget is spent, Append writes only
//    the part of the data that fits and fails (SetWriteBudget);
//  * failing fsync and failing rename (SetFailSync, SetFailRename);
//  * a crash (SimulateCrash): every file loses the bytes appended after its
//    last successful Sync, and every file creation or rename that was not made
//    durable by SyncDir on its directory is undone (created files vanish,
//    renamed files go back to their old name). Handles opened before the crash
//    fail from then on.
//
// This models the weakest guarantees POSIX gives, which is what the storage
// crash-safety argument (docs/storage-format.md) must hold under.
//
// Ownership: does not own `base`, which must outlive this Env.
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "env/env.h"

namespace vigil {

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base);

  // After `bytes` more bytes are appended (to any file), appends are torn:
  // the fitting prefix is written and IoError returned. Negative: unlimited.
  void SetWriteBudget(int64_t bytes);
  void SetFailSync(bool fail);
  void SetFailRename(bool fail);
  // Drops unsynced data and undoes non-durable directory changes (see above).
  Status SimulateCrash();
  // Appended bytes so far (for choosing a budget).
  uint64_t bytes_written() const;

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Status ListDir(const std::string& dir, std::vector<DirEntry>* out) override;
  Status CreateDirs(const std::string& dir) override;
  Status RemoveFile(const std::string& path) override;
  Status RemoveDir(const std::string& dir) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& dir) override;
  bool FileExists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockMode mode) override;

 private:
  class File;
  friend class File;

  struct FileState {
    uint64_t synced_size = 0;
  };
  struct DirOp {
    enum Kind { kCreate, kRename } kind;
    std::string from;  // kRename
    std::string to;    // created or renamed-to path
  };

  // Returns how many of `n` bytes may be written; sets *torn when fewer.
  size_t TakeBudget(size_t n, bool* torn);
  bool CrashedSince(uint64_t generation) const;

  Env* base_;
  mutable std::mutex mu_;
  int64_t budget_ = -1;
  bool fail_sync_ = false;
  bool fail_rename_ = false;
  uint64_t bytes_written_ = 0;
  uint64_t generation_ = 0;
  std::map<std::string, FileState> files_;  // files written through this Env
  std::vector<DirOp> pending_dir_ops_;      // not yet made durable by SyncDir
};

}  // namespace vigil
