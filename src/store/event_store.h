// EventStore: where events live after ingest: time-partitioned segment files
// of checksummed blocks (docs/storage-format.md). New segments are version 2
// (per-account segments, dictionary-compressed raw records, hot-field columns,
// per-block min/max and bloom filters); version 1 segments stay readable.
//
// Thread safety: one writer at a time (the data directory lock guarantees one
// process); readers may run concurrently with each other and with the writer
// (segments are immutable and appear atomically by rename). An EventStore and
// its writers are not themselves thread-safe objects: give each thread its own
// EventStore for reading, and use a writer from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/event.h"
#include "store/keys.h"

namespace vigil {

class Env;

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

// What a query says about single records, so that a scan can skip blocks
// (by column min/max and bloom filters) and records (by their columns) that
// cannot match (docs/storage-format.md, "Pruning"). Every part is a necessary
// condition of a match: a record that fails one is dropped; one that passes
// all still goes through the caller's own matcher. Terms on fields a segment
// has no column for are ignored for it.
struct ScanFilter {
  // Some value at `field` satisfies `matches`.
  struct Equality {
    std::string field;  // a raw field path, or the pseudo-field principal, account or id
    // The lower-cased values when every alternative is a literal (used with
    // bloom filters); empty when some alternative has wildcards.
    std::vector<std::string> exact;
    // Tests one value's text (required; the case-insensitive glob test).
    std::function<bool(std::string_view)> matches;
  };
  // Some numeric value at `field` compares true against `bound`.
  struct Compare {
    enum class Op { kLt, kLe, kGt, kGe };
    std::string field;
    Op op = Op::kGt;
    double bound = 0;
  };
  std::vector<Equality> equalities;
  std::vector<Compare> compares;
  // Lower-cased strings of 3 or more bytes that some scalar value of every
  // matching record contains (from full-text words).
  std::vector<std::string> text_runs;
  bool empty() const { return equalities.empty() && compares.empty() && text_runs.empty(); }
};

// What a scan read and skipped (counts add up across scans).
struct ScanStats {
  uint64_t segments = 0;            // segments opened
  uint64_t blocks = 0;              // blocks overlapping the time range
  uint64_t blocks_pruned_index = 0; // skipped by segment account or column min/max
  uint64_t blocks_pruned_bloom = 0; // skipped by a bloom filter
  uint64_t blocks_pruned_columns = 0;  // every record failed a column test: raw bytes not read
  uint64_t blocks_read = 0;         // raw bytes decompressed
  uint64_t records_dropped = 0;     // records dropped by column tests
  uint64_t blocks_from_columns = 0; // ScanColumns: answered from columns, raw bytes not read
};

// Column reads (docs/storage-format.md, "Column reads"): a query that needs
// only some fields of each record asks for them by name, and blocks of
// segments that store every one of them as a column are handed on as
// columns, without reading or decompressing their raw records.
struct ColumnRequest {
  // Raw field paths, or the pseudo-fields `source`, `account` and
  // `principal`. (`time` is always available; see below.)
  std::vector<std::string> fields;
  // > 0: the caller reads each record's time only rounded down to a multiple
  // of this (bin(time, span)), so a block whose time range lies in one such
  // bucket is handed on without decoding its times.
  int64_t time_bucket_ns = 0;
  // The caller reads each record's exact time: always decode them.
  bool times = false;
};

// One block's values of the requested fields. Views are valid during the
// callback only.
struct ColumnBlock {
  std::string_view source_type;
  uint32_t rows = 0;
  int64_t min_time_ns = 0, max_time_ns = 0;
  // Each record's event time; empty when every record lies in the scan's
  // time range and (with ColumnRequest::time_bucket_ns) in one bucket.
  std::vector<int64_t> times;
  // pass[r] == 0: record r fails the scan's filter (ScanOptions::filter) by
  // its columns and is to be left out; empty when every record passes.
  std::vector<uint8_t> pass;
  // Per requested field, in request order: record r's values are
  // text[values[k]] for k in [begin[r], begin[r+1]) (JSON strings, in the
  // order the record holds them), or, for an integer column (is_int),
  // ints[k] for k in that range (JSON integers).
  struct Column {
    std::vector<uint32_t> begin;
    std::vector<uint32_t> values;
    std::vector<std::string_view> text;
    std::vector<int64_t> ints;
    bool is_int = false;
    bool single = false;  // every record has exactly one value (values[r] is record r's)
  };
  std::vector<Column> columns;
};

struct ScanOptions {
  std::optional<int64_t> from_ns;  // time >= from
  std::optional<int64_t> to_ns;    // time < to
  std::optional<std::string> source_type;
  bool newest_first = true;
  // Called for each segment file that is not a complete, valid segment (no
  // valid trailer/footer: e.g. left by disk corruption). Such files are never
  // trusted: they are skipped and reported here; the scan continues. When
  // unset, the store's SegmentStoreOptions::on_skipped_file is used.
  std::function<void(const Status&)> on_skipped_file;
  // Optional record filter used for pruning (not owned; must outlive the scan).
  const ScanFilter* filter = nullptr;
  // Optional counters, added to (not owned).
  ScanStats* stats = nullptr;
};

// Result of EventStore::Verify: a full read of every block.
struct StoreCheck {
  uint64_t segments = 0;       // valid segments
  uint64_t blocks = 0;
  uint64_t events = 0;
  uint64_t temp_files = 0;     // *.tmp left by an interrupted write (ignored)
  std::vector<Status> problems;  // invalid segments and corrupt blocks, each naming file (and block)
  bool ok() const { return problems.empty(); }
};

class EventWriter {
 public:
  virtual ~EventWriter() = default;
  // True when an event with this id is already stored (committed or pending in
  // this writer). Used before detection so that re-ingest raises nothing new.
  virtual bool Contains(const Event& event) = 0;
  // Buffers an event; returns false (and stores nothing) when its id is stored.
  // Full segments are sealed as they fill, but nothing becomes visible before
  // Publish. LimitExceeded for a record over 16 MiB rejects that event only.
  virtual Result<bool> Add(const Event& event) = 0;
  // First half of a commit: seals everything added so far into complete,
  // fsynced segment files under temporary names and returns the segments'
  // names (relative to the store root). Nothing is visible to readers yet, and
  // the files now belong to the caller: a crash leaves them for
  // EventStore::Publish to roll forward (or for the next writer to remove).
  // This lets the caller record, atomically with its own state (alerts), that
  // these segments are to be published.
  virtual Result<std::vector<std::string>> Prepare() = 0;
  // Prepare in two halves, for a caller that makes the files durable on
  // another thread than the one adding: PrepareUnsynced seals as Prepare does
  // but fsyncs neither the files it seals nor their directories;
  // SyncPrepared does, and may run on any thread, concurrently with Add,
  // Contains and PrepareUnsynced. The names must not be recorded anywhere
  // (nor published) before SyncPrepared has succeeded.
  virtual Result<std::vector<std::string>> PrepareUnsynced() = 0;
  virtual Status SyncPrepared(const std::vector<std::string>& names) = 0;
  // Second half: publishes prepared segments (rename, directory fsync).
  virtual Status Publish(const std::vector<std::string>& names) = 0;
  // Publish in two halves, for a caller that publishes on another thread
  // than the one adding: PublishFiles may run on any thread, concurrently
  // with Add, Contains and Prepare (it renames and syncs the files, touching
  // none of the writer's state); Published, afterwards and on the adding
  // thread, lets the writer forget that the segments await publication. An
  // error from PublishFiles breaks the writer as any other does (discard it).
  virtual Status PublishFiles(const std::vector<std::string>& names) = 0;
  virtual void Published(const std::vector<std::string>& names) = 0;
  // Prepare + Publish: makes everything added so far durable and visible.
  // After any error from Add, Prepare, Publish or Commit the writer is broken:
  // every later call returns that error and the caller discards it and opens a
  // new writer (which re-reads what is really on disk).
  Status Commit() {
    auto names = Prepare();
    if (!names.ok()) return names.status();
    return Publish(*names);
  }
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  // A writer must not outlive its store. Each writer keeps its own id cache,
  // loaded lazily from disk, so it sees what earlier writers committed. The
  // first writer of a store opened with remove_stale_temp_files removes temp
  // files left by a crashed writer: roll forward prepared segments (Publish)
  // before asking for it.
  virtual Result<std::unique_ptr<EventWriter>> NewWriter() = 0;
  // Publishes segments a writer prepared (EventWriter::Prepare), also in a
  // later process: renames each sealed temp file still present, then fsyncs
  // the directories. Idempotent; Corruption when a segment and its temp file
  // are both missing.
  virtual Status Publish(const std::vector<std::string>& names) = 0;
  // Calls `fn` for stored events in time order (per options); stop by returning
  // false. Events with equal times come in id order (reversed for newest_first).
  // A block failing its checksum stops the scan with a Corruption status naming
  // the segment file and block. The StoredEvent passed to `fn` is valid only
  // during the call.
  virtual Status Scan(const ScanOptions& options, const std::function<bool(const StoredEvent&)>& fn) = 0;
  // Like Scan, in no particular order, for a caller that needs only the
  // fields in `request` of each record: blocks of segments that hold all of
  // them as columns (with every record's values known, and every text value a
  // JSON string) go to `on_block`; every other record goes to `on_event` as
  // Scan would hand it on. options.filter prunes blocks (bloom, min/max) and
  // records (ColumnBlock::pass) as Scan does; the caller still applies its
  // own test. Stop by returning false from either. The default reads
  // everything through Scan.
  virtual Status ScanColumns(const ScanOptions& options, const ColumnRequest& request,
                             const std::function<bool(const ColumnBlock&)>& on_block,
                             const std::function<bool(const StoredEvent&)>& on_event) {
    (void)request;
    (void)on_block;
    return Scan(options, on_event);
  }
  // Events in valid segments (from segment footers; does not read blocks).
  virtual Result<uint64_t> CountEvents() = 0;
  // Reads and checks every segment and block.
  virtual Result<StoreCheck> Verify() = 0;
};

struct SegmentStoreOptions {
  Env* env = nullptr;  // null: Env::Default(); not owned, must outlive the store
  size_t block_raw_bytes = 1024 * 1024;      // flush a block at this many raw bytes
  uint64_t segment_bytes = 64ull << 20;      // roll a segment at this file size
  int zstd_level = 1;
  // Segment format written: 1 or 2; 0 reads the environment variable
  // VIGIL_SEGMENT_FORMAT ("1" for v1, for tests of the v1 path) and
  // otherwise writes 2. Readers read both, side by side.
  int format_version = 0;
  // Train and use a zstd dictionary per log type (v2).
  bool dictionaries = true;
  // Build the full-text trigram bloom per block (v2).
  bool text_bloom = true;
  // Partitions (source type, day) with a block or segment in progress at once;
  // beyond this the least recently used one is rolled. Bounds memory and fds.
  size_t max_open_partitions = 64;
  // Event-id hashes kept in memory for dedup, across loaded partitions; beyond
  // this, idle partitions are dropped (and re-read from footers when needed).
  size_t max_cached_ids = 32u << 20;
  // Remove *.tmp files left by a crashed writer (when the first writer is
  // created). Only the holder of the data directory's write lock may set this.
  bool remove_stale_temp_files = false;
  // NewWriter fails (readers that do not hold the data directory lock).
  bool read_only = false;
  // False: writers start from no stored ids, so Add keeps every event whose
  // id it has not seen itself (compaction rewrites records that are stored
  // already, each once).
  bool load_stored_ids = true;
  // Segment files that are not valid are reported here (default: ignored).
  std::function<void(const Status&)> on_skipped_file;
  // Encryption at rest (docs/storage-format.md#encryption-at-rest): with a
  // master key, writers encrypt every new segment under its own data key
  // wrapped by keys->active(); readers unwrap with whichever key in the ring
  // wrapped a segment. Null: new segments are not encrypted, and reading an
  // encrypted one fails with an error naming it and its key id.
  std::shared_ptr<const KeyRing> keys;
};

// Opens the segment store rooted at `dir` (the data directory's `events/` folder).
// Nothing is written until a writer stores events; a missing `dir` reads as
// empty. InvalidArgument for bad options.
Result<std::unique_ptr<EventStore>> OpenSegmentStore(const std::string& dir,
                                                     const SegmentStoreOptions& options = {});

}  // namespace vigil
