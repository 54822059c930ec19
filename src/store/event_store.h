// EventStore: where events live after ingest. v1 is time-partitioned,
// zstd-compressed segment files with a checksum per block (docs/storage-format.md);
// the columnar format, indexes, tiering and encryption arrive behind this same
// interface.
//
// Thread safety: one writer at a time (the data directory lock guarantees one
// process); readers may run concurrently with each other.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "event/event.h"

namespace vigil {

// A stored record as read back.
struct StoredEvent {
  std::string id;
  std::string source_type;
  int64_t time_ns = 0;
  int64_t ingest_time_ns = 0;
  bool time_fallback = false;
  std::string account;
  std::string principal;
  std::string raw;
};

struct ScanOptions {
  std::optional<int64_t> from_ns;  // time >= from
  std::optional<int64_t> to_ns;    // time < to
  std::optional<std::string> source_type;
  bool newest_first = true;
};

class EventWriter {
 public:
  virtual ~EventWriter() = default;
  // True when an event with this id is already stored (committed or pending in
  // this writer). Used before detection so that re-ingest raises nothing new.
  virtual bool Contains(const Event& event) = 0;
  // Buffers an event; returns false (and stores nothing) when its id is stored.
  virtual Result<bool> Add(const Event& event) = 0;
  // Makes everything added so far durable (segments written, fsynced, renamed).
  virtual Status Commit() = 0;
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  virtual Result<std::unique_ptr<EventWriter>> NewWriter() = 0;
  // Calls `fn` for stored events in time order (per options); stop by returning false.
  virtual Status Scan(const ScanOptions& options, const std::function<bool(const StoredEvent&)>& fn) = 0;
  virtual Result<uint64_t> CountEvents() = 0;
};

// Opens the v1 store rooted at `dir` (the data directory's `events/` folder).
Result<std::unique_ptr<EventStore>> OpenSegmentStore(const std::string& dir);

}  // namespace vigil
