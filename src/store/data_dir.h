// DataDir: the root of everything vigil stores on one machine.
//
//   <dir>/FORMAT      "vigil-data 2\n": the layout version
//   <dir>/LOCK        flock(2)-ed exclusively by the one process that writes
//   <dir>/events/     segment store (docs/storage-format.md)
//   <dir>/deadletter/ rejected records, NDJSON, one file per ingest day
//   <dir>/meta.db     SQLite metadata (alerts, detector state)
//   <dir>/ENCRYPTED   present once segments are written encrypted
//
// Writable open (the default) creates the directory when missing, writes or
// checks FORMAT and takes the exclusive lock on LOCK for the DataDir's
// lifetime; a second writer, in this process or another, gets
// FailedPrecondition. Read-only open (`vigil hunt`, `vigil alerts` while ingest
// runs) takes no lock and writes nothing: segments appear atomically by rename
// and SQLite (WAL mode) serialises its own readers and writer, so readers see
// a consistent, possibly slightly stale, view.
//
// Ownership: the DataDir does not own `env`, which must outlive it.
// Thread safety: immutable after Open; const methods are safe from any thread.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "env/env.h"
#include "store/event_store.h"

namespace vigil {

// The data directory layout version this vigil writes and the newest it reads.
// 2: segments may be format v2 (with dictionaries in events/.dict/); a
// version-1 directory (v1 segments only) is read as it is and marked 2 by
// the first writable open, so an older vigil refuses it instead of skipping
// the v2 segments it cannot read.
inline constexpr int kDataFormatVersion = 2;

struct DataDirOptions {
  bool read_only = false;  // no lock, no writes; the directory must exist
};

class DataDir {
 public:
  // Errors: FailedPrecondition when another process holds the lock;
  // Unsupported when FORMAT is newer than kDataFormatVersion; InvalidArgument
  // when `path` is a non-empty directory that is not a vigil data directory;
  // NotFound for a read-only open of a missing directory.
  static Result<std::unique_ptr<DataDir>> Open(const std::string& path, Env* env = Env::Default(),
                                               const DataDirOptions& options = {});
  ~DataDir();  // releases the lock

  DataDir(const DataDir&) = delete;
  DataDir& operator=(const DataDir&) = delete;

  const std::string& path() const { return path_; }
  std::string events_dir() const { return JoinPath(path_, "events"); }
  std::string deadletter_dir() const { return JoinPath(path_, "deadletter"); }
  std::string meta_db_path() const { return JoinPath(path_, "meta.db"); }
  int format_version() const { return format_version_; }
  bool read_only() const { return read_only_; }
  Env* env() const { return env_; }

  // Opens the event store under events/ with this directory's Env. A writable
  // DataDir also removes temp files left by a crashed writer.
  // Encryption: a writable open with `options.keys` marks the directory
  // encrypted (the file ENCRYPTED); from then on a writable open without keys
  // is refused (FailedPrecondition), so new events are never silently stored
  // in the clear. Readers are not refused: plain segments read without a key.
  Result<std::unique_ptr<EventStore>> OpenEventStore(SegmentStoreOptions options = {}) const;
  std::string encrypted_marker_path() const { return JoinPath(path_, "ENCRYPTED"); }

 private:
  DataDir(std::string path, Env* env, bool read_only) : path_(std::move(path)), env_(env), read_only_(read_only) {}
  std::string path_;
  Env* env_;
  bool read_only_;
  int format_version_ = kDataFormatVersion;
  std::unique_ptr<FileLock> lock_;
};

}  // namespace vigil
