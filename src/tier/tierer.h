// Tierer: moves segments between tiers by their age and the retention policy
// of their source type, records every move in the storage ledger, and finishes
// or rolls back moves a crash interrupted. The move protocol is in
// docs/storage-format.md ("Tiering"); the format-specific work (summaries,
// recompression) is in store/segment_rewrite.h.
//
// Runs from `vigil serve` (on a timer, beside the live writer) and from
// `vigil storage tier`; the caller holds the data directory's write lock, so
// one Tierer runs at a time per data directory.
//
// Ownership: does not own `env` or `catalog`. Thread safety: one thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aws/s3_client.h"
#include "common/status.h"
#include "env/env.h"
#include "store/keys.h"
#include "tier/catalog.h"
#include "tier/tier_config.h"

namespace vigil {

struct TierRunOptions {
  int64_t now_ns = 0;  // 0: the clock; ages are counted from this time
  // Called before each move with (moves done, moves planned, the move).
  std::function<void(size_t done, size_t total, const std::string& what)> progress;
  const std::atomic<bool>* cancel = nullptr;  // stop between moves when set
  // Tests: called at each step of a move ("cold:uploaded", ...); an error
  // stops the run right there, leaving files and ledger as a crash would.
  std::function<Status(std::string_view step)> crash_point;
};

struct TierRunStats {
  uint64_t recovered = 0;    // interrupted moves finished
  uint64_t rolled_back = 0;  // interrupted moves undone (redone by planning)
  uint64_t catalogued = 0;   // segments newly summarised
  uint64_t warmed = 0, cooled = 0, deleted = 0;
  uint64_t held = 0;         // deletions a legal hold blocked
  uint64_t warm_bytes_before = 0, warm_bytes_after = 0;  // recompression
  uint64_t cold_bytes = 0;     // uploaded
  uint64_t deleted_bytes = 0;  // stored bytes deleted (local or cold)
  std::vector<Status> errors;  // moves that failed (each also in the ledger)
};

class Tierer {
 public:
  // `env` is the data directory's own Env (not a ColdReadEnv).
  // `keys` (may be null): master keys to read encrypted segments' blocks.
  Tierer(Env* env, std::string events_dir, std::string cache_dir, TieringConfig config, StorageCatalog* catalog,
         std::shared_ptr<const KeyRing> keys = nullptr);

  // Finishes or rolls back every pending ledger row.
  Status Recover(const TierRunOptions& options, TierRunStats* stats);
  // Brings the catalog in line with the files: summarises new local
  // segments, adds cold stubs it lacks, drops rows of segments gone.
  // `add_only` (a reader beside a running tierer, e.g. the cost report):
  // only adds segments the catalog lacks, changes and drops nothing.
  // `cancel`: stop early (a first run over a large store reads every
  // segment once); what was summarised so far is kept.
  Status SyncCatalog(TierRunStats* stats, bool add_only = false, const std::atomic<bool>* cancel = nullptr);
  // Recover, SyncCatalog, then every move due. A failing move is recorded and
  // the run goes on; the status is an error only when the run itself failed.
  Result<TierRunStats> Run(const TierRunOptions& options);

 private:
  Status Step(const TierRunOptions& o, std::string_view step);
  Status Warm(const TierRunOptions& o, CatalogSegment* seg, TierRunStats* stats);
  Status Cold(const TierRunOptions& o, CatalogSegment* seg, TierRunStats* stats);
  Status Delete(const TierRunOptions& o, const CatalogSegment& seg, TierRunStats* stats);
  Status RemoveLocal(const std::string& path);
  Result<const aws::S3Client*> Client();
  std::string ObjectKey(const std::string& rel) const { return config_.cold.prefix + rel; }

  Env* env_;
  std::string events_dir_;
  std::string cache_dir_;
  TieringConfig config_;
  StorageCatalog* catalog_;
  std::unique_ptr<aws::S3Client> client_;
  std::shared_ptr<const KeyRing> keys_;
  bool crashed_ = false;  // a crash_point stopped the run
};

// Runs a Tierer on its own thread every `config.interval_seconds` (first run
// right away), as `vigil serve` does; each run's outcome goes to `report`.
// Stop() interrupts the wait and any run between moves, then joins.
class TieringLoop {
 public:
  using Report = std::function<void(const Result<TierRunStats>&)>;
  // Opens the catalog at <data_dir>/storage.db.
  static Result<std::unique_ptr<TieringLoop>> Start(Env* env, const std::string& data_dir, TieringConfig config,
                                                    std::shared_ptr<const KeyRing> keys, Report report);
  ~TieringLoop();
  void Stop();

 private:
  TieringLoop() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil
