// Cold segments: the stub left in place of a segment moved to object storage,
// and ColdReadEnv, which lets every reader of the store see cold segments as
// if they were local.
//
// A segment `<dir>/<name>` moved to the cold tier is replaced by a small stub
// file `<dir>/<name>.cold` naming the object (bucket, key, endpoint, region)
// with the object's size and checksum and the segment's summary (source type,
// times, events, raw bytes), so the stubs alone can rebuild the catalog.
//
// ColdReadEnv wraps the data directory's Env. Listing a directory shows each
// stub as the segment it stands for (`<name>`; the stub itself is hidden, and
// a real `<name>` wins over a stub); opening such a segment for reading
// fetches the object once into the cache (`<data>/cache/cold/<same relative
// path>`, written atomically and checked against the stub's checksum) and
// opens the cached copy. The cache holds at most `cache_bytes`: after a fetch,
// the least recently opened copies are removed (copies open elsewhere stay
// readable: POSIX keeps an unlinked open file). Nothing in the store knows the
// segment format here: any file name can be cold.
//
// Ownership: does not own `base`. Thread safety: all methods may be called
// concurrently; fetches are serialised.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "aws/s3_client.h"
#include "common/status.h"
#include "env/env.h"

namespace vigil {

inline constexpr char kColdStubSuffix[] = ".cold";
// The read cache of cold segments, relative to the data directory.
inline constexpr char kColdCacheDir[] = "cache/cold";

struct ColdStub {
  std::string bucket;
  std::string key;
  std::string endpoint;  // empty: AWS
  std::string region;
  bool path_style = true;
  uint64_t size = 0;      // object bytes
  uint64_t checksum = 0;  // XXH3-64 of the object
  // The segment's summary.
  std::string source_type;
  int64_t min_time_ns = 0;
  int64_t max_time_ns = 0;
  uint64_t events = 0;
  uint64_t raw_bytes = 0;
};

std::string EncodeColdStub(const ColdStub& stub);
// Corruption naming `what` when the text is not a stub.
Result<ColdStub> DecodeColdStub(std::string_view text, const std::string& what);

struct ColdReadOptions {
  std::string events_dir;  // the store root: stub paths are made relative to it
  std::string cache_dir;   // <data>/cache/cold
  uint64_t cache_bytes = 1ull << 30;
  // Credentials and timeouts for fetching (bucket, key, endpoint and region
  // come from each stub). Empty credentials: from the environment, on first use.
  aws::S3Config s3;
};

class ColdReadEnv final : public Env {
 public:
  ColdReadEnv(Env* base, ColdReadOptions options);

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    return base_->NewWritableFile(path);
  }
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override {
    return base_->NewAppendableFile(path);
  }
  Status ListDir(const std::string& dir, std::vector<DirEntry>* out) override;
  Status CreateDirs(const std::string& dir) override { return base_->CreateDirs(dir); }
  Status RemoveFile(const std::string& path) override { return base_->RemoveFile(path); }
  Status RemoveDir(const std::string& dir) override { return base_->RemoveDir(dir); }
  Status RenameFile(const std::string& from, const std::string& to) override { return base_->RenameFile(from, to); }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  bool FileExists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockMode mode) override {
    return base_->LockFile(path, mode);
  }

  // Objects fetched from object storage so far (tests, metrics).
  uint64_t fetches() const;

 private:
  Result<std::string> Fetch(const std::string& path, const ColdStub& stub);
  void Touch(const std::string& cache_path, uint64_t size);
  void Evict(const std::string& keep);

  Env* base_;
  ColdReadOptions options_;
  mutable std::mutex mu_;
  bool cache_loaded_ = false;
  // Cached copies, least recently used first, with their sizes.
  std::list<std::pair<std::string, uint64_t>> lru_;
  std::map<std::string, std::list<std::pair<std::string, uint64_t>>::iterator> lru_index_;
  uint64_t cached_bytes_ = 0;
  uint64_t fetches_ = 0;
};

}  // namespace vigil
