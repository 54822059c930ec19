// StorageCatalog: <data>/storage.db, the durable record of tiering
// (docs/storage-format.md, "Tiering"): which tier each segment is in with its
// sizes, the ledger of every move and deletion, and legal holds.
//
// The files are the truth for where a segment's bytes are (a local segment or
// a cold stub); the catalog adds what the files cannot say cheaply (hot or
// warm, raw bytes) and the history. A pending ledger row is a move that began
// and has not finished: Tierer::Recover finishes or rolls it back.
//
// Thread safety: one StorageCatalog per thread; several processes may open the
// same file (SQLite WAL mode, busy timeout).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace vigil {

// The catalog's file in the data directory.
inline constexpr char kStorageCatalogFile[] = "storage.db";

enum class Tier { kHot, kWarm, kCold };
const char* TierName(Tier tier);
Result<Tier> ParseTier(const std::string& name);

struct CatalogSegment {
  std::string path;  // relative to events/
  std::string source_type;
  int64_t min_time_ns = 0;
  int64_t max_time_ns = 0;
  uint64_t events = 0;
  uint64_t raw_bytes = 0;     // the records' original bytes
  uint64_t stored_bytes = 0;  // the segment file's size (wherever it is)
  Tier tier = Tier::kHot;
};

// One ledger row. Actions: warm, cold, delete (moves), hold, release.
struct LedgerEntry {
  int64_t seq = 0;
  int64_t started_ns = 0;
  int64_t finished_ns = 0;  // 0 while pending
  std::string action;
  std::string status;  // pending, done, recovered (finished after a crash), rolled_back, failed
  std::string path;
  std::string source_type;
  std::string from_tier, to_tier;
  uint64_t events = 0;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  std::string object;  // s3://bucket/key for cold moves and deletions of cold segments
  std::string note;    // hold reason, error
};

struct LegalHold {
  int64_t id = 0;
  std::string source_type;  // "*": every source
  std::optional<int64_t> from_ns, to_ns;  // events in [from, to); unset: unbounded
  std::string reason;
  int64_t created_ns = 0;
  // True when the hold covers any event time in [min, max].
  bool Covers(const std::string& source, int64_t min_ns, int64_t max_ns) const;
};

class StorageCatalog {
 public:
  static Result<std::unique_ptr<StorageCatalog>> Open(const std::string& path);
  ~StorageCatalog();

  Result<std::map<std::string, CatalogSegment>> Segments();
  // `replace` false: keeps an existing row for the path.
  Status Upsert(const CatalogSegment& segment, bool replace = true);
  Status Remove(const std::string& path);

  // Appends a pending ledger row; returns its seq.
  Result<int64_t> Begin(const LedgerEntry& entry);
  // Finishes ledger row `seq` with `status`, and in the same transaction
  // records the segment's new state: `segment` upserted, or removed when null.
  Status Finish(int64_t seq, const std::string& status, uint64_t bytes_after, const std::string& note,
                const CatalogSegment* segment, bool remove_segment);
  // Ledger rows in order; `pending_only` for recovery; `limit` 0: all.
  Result<std::vector<LedgerEntry>> Ledger(bool pending_only, size_t limit = 0);

  // Adds a hold and its ledger row in one transaction; returns the hold id.
  Result<int64_t> AddHold(const LegalHold& hold);
  // NotFound for an unknown or released id.
  Status ReleaseHold(int64_t id, const std::string& note);
  Result<std::vector<LegalHold>> Holds();

 private:
  struct Db;
  explicit StorageCatalog(std::unique_ptr<Db> db);
  std::unique_ptr<Db> db_;
};

}  // namespace vigil
