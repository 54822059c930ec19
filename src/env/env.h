// Env: every file-system access that storage needs, behind one interface.
//
// Production code uses Env::Default() (POSIX). Tests swap in MemEnv (in-memory,
// env/mem_env.h) or FaultInjectionEnv (env/fault_injection_env.h), which wraps
// another Env and simulates torn writes, failing syscalls and crashes that lose
// data that was never synced.
//
// Paths are plain strings joined with '/'. No Env method throws; every failure
// is a Status whose message names the path.
//
// Ownership: Env::Default() returns a process-wide singleton that must not be
// deleted. Files and locks returned as unique_ptr are owned by the caller and
// must not outlive the Env that created them.
//
// Thread safety: all Env methods are safe to call concurrently from several
// threads. A WritableFile is used by one thread at a time; a RandomAccessFile
// may be read from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil {

// A file opened for positional reads.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Replaces *out with up to n bytes starting at offset. Fewer bytes are
  // returned only at end of file (callers that need exactly n check the size).
  virtual Status Read(uint64_t offset, size_t n, std::string* out) const = 0;
  // Size at the time the file was opened.
  virtual uint64_t Size() const = 0;
  virtual const std::string& path() const = 0;
};

// A file opened for sequential writes (new/truncated or appending). Data is
// durable only after Sync() returns ok. Close() is implied by destruction but
// then its error is lost; call it explicitly when the error matters.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // Flushes file contents to stable storage (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Bytes in the file, including what this handle appended.
  virtual uint64_t Size() const = 0;
  virtual const std::string& path() const = 0;
  // Cuts the file at Size(), dropping bytes an Env::ReuseWritableFile handle
  // did not overwrite (not durable until Sync). Others hold none: no-op.
  virtual Status Truncate() { return Status::Ok(); }
};

// A held lock on a file. Destroying the handle releases the lock.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

enum class LockMode {
  kExclusive,  // one holder; fails while any other holder (shared or exclusive) exists
  kShared,     // many shared holders; fails while an exclusive holder exists
};

struct DirEntry {
  std::string name;  // last path component
  bool is_dir = false;
};

class Env {
 public:
  virtual ~Env() = default;

  // The POSIX environment; a singleton that lives for the whole process.
  static Env* Default();

  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) = 0;
  // Creates or truncates `path`.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Opens `path` for appending, creating it when missing.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  // Opens the existing file `path` for writing from its start without
  // truncating it: writes overwrite its bytes in place, reusing its blocks
  // and its pages in the page cache (a new file's pages must be allocated,
  // which on some virtual machines costs more than the copy into them);
  // Size() counts what this handle wrote, and Truncate() cuts the rest. The
  // default truncates at open.
  virtual Result<std::unique_ptr<WritableFile>> ReuseWritableFile(const std::string& path) {
    if (!FileExists(path)) return Status::NotFound("open for reuse " + path + ": no such file");
    return NewWritableFile(path);
  }

  // Non-recursive listing of `dir` (no "." or ".."), in no particular order.
  // NotFound when `dir` does not exist.
  virtual Status ListDir(const std::string& dir, std::vector<DirEntry>* out) = 0;
  // Creates `dir` and any missing parents; ok when it already exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Removes an empty directory.
  virtual Status RemoveDir(const std::string& dir) = 0;
  // Atomically replaces `to` with `from` (rename(2) semantics).
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Makes directory entries (creations, renames, removals) in `dir` durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Takes an advisory lock on `path` (created if missing) without waiting.
  // FailedPrecondition when another holder conflicts. POSIX: flock(2), so two
  // opens in the same process conflict just like two processes do.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockMode mode) = 0;

  // ---- Helpers built on the primitives above (overridable). ----

  // Replaces *out with the whole file.
  virtual Status ReadFile(const std::string& path, std::string* out);
  // Creates or truncates `path` with `data`; not atomic, not synced.
  virtual Status WriteFile(const std::string& path, std::string_view data);
  // Crash-safe replace: writes `path.tmp`, fsyncs it, renames it over `path`
  // and fsyncs the directory. After a crash `path` holds either the old or the
  // new contents, never a mixture.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data);
  // Appends `data` to `path` (created when missing), fsyncing when `sync`.
  virtual Status AppendToFile(const std::string& path, std::string_view data, bool sync);
  // Regular files below `dir`, as paths relative to `dir` ("a/b/c.seg"), sorted.
  virtual Status ListFilesRecursive(const std::string& dir, std::vector<std::string>* out);
};

// "a" + "b" -> "a/b" (no doubled slash).
std::string JoinPath(std::string_view a, std::string_view b);
// The directory part of a path ("a/b/c" -> "a/b", "c" -> ".").
std::string DirName(std::string_view path);

}  // namespace vigil
