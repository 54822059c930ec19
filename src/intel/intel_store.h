// IntelStore: the configured feeds, their last good versions and the index
// built from them; reloads changed feed files and swaps the index atomically.
//
// Reload re-reads each feed whose file changed (modification time or size,
// or every feed when forced). A feed that no longer reads keeps its previous
// version and the error (file, line, problem) is reported; the others are
// taken. When anything changed a new index is built from the feeds' current
// versions and published in one step: a reader holds either the old index or
// the new one, never a feed half loaded.
//
// Thread safety: current() and generation() are safe from any thread at any
// time; Load and Reload serialise with each other.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "intel/index.h"
#include "intel/indicator.h"

namespace vigil::intel {

class IntelStore {
 public:
  explicit IntelStore(std::vector<FeedConfig> feeds);

  // Loads every feed; the first that fails is the error (at start-up a
  // broken feed is a configuration error). Publishes the index on success.
  Status Load();

  struct ReloadReport {
    std::vector<std::string> reloaded;  // names of feeds read again and taken
    std::vector<Status> errors;         // feeds that failed and kept their previous version
    bool published = false;             // a new index replaced the old
  };
  ReloadReport Reload(bool force = false);

  std::shared_ptr<const IntelIndex> current() const { return current_.load(std::memory_order_acquire); }
  // Rises each time a new index is published (cheap to poll per event).
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  const std::vector<FeedConfig>& feeds() const { return configs_; }

 private:
  struct FileStamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    bool operator==(const FileStamp&) const = default;
  };
  static FileStamp Stamp(const std::string& path);
  void Publish();

  std::vector<FeedConfig> configs_;
  std::mutex mu_;  // Load, Reload
  std::vector<std::unique_ptr<ParsedFeed>> parsed_;  // per config; null until first loaded
  std::vector<FileStamp> stamps_;
  std::atomic<std::shared_ptr<const IntelIndex>> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace vigil::intel
