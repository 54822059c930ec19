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
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aws/s3_client.h"
#include "common/status.h"
#include "env/env.h"
#include "store/event_store.h"
#include "store/keys.h"
#include "store/segment_rewrite.h"
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
  // Compaction: merged segments written, the small segments they replaced,
  // and the stored bytes of each side.
  uint64_t compactions = 0, compacted_segments = 0;
  uint64_t compact_bytes_before = 0, compact_bytes_after = 0;
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
  // Compaction rebuilds each stored record into the Event the writer needs
  // (its fields, as ingest parsed them); without a rebuilder it is off.
  using EventRebuilder = std::function<Result<Event>(const StoredEvent&)>;
  void set_rebuilder(EventRebuilder rebuild) { rebuild_ = std::move(rebuild); }

  // Recover, compaction, SyncCatalog, then every move due. A failing move is recorded and
  // the run goes on; the status is an error only when the run itself failed.
  Result<TierRunStats> Run(const TierRunOptions& options);

 private:
  Status Step(const TierRunOptions& o, std::string_view step);
  Status Warm(const TierRunOptions& o, CatalogSegment* seg, TierRunStats* stats);
  Status Cold(const TierRunOptions& o, CatalogSegment* seg, TierRunStats* stats);
  Status Delete(const TierRunOptions& o, const CatalogSegment& seg, TierRunStats* stats);
  Status RemoveLocal(const std::string& path);
  struct Compaction;
  Status Compact(const TierRunOptions& o, TierRunStats* stats);
  // A small segment a compaction may take: its header and its file's size.
  struct Candidate {
    SegmentHead head;
    uint64_t bytes = 0;
  };
  Result<Compaction> CompactGroup(const TierRunOptions& o, const std::string& dir, const std::vector<std::string>& inputs,
                                  const std::map<std::string, Candidate>& candidates);
  Status FinishCompaction(const TierRunOptions& o, const Compaction& c, TierRunStats* stats);
  // Completes (all outputs published: the inputs go) or undoes (the outputs
  // go) the compaction whose marker is at `marker`, then removes the marker.
  Status SettleMarker(const std::string& marker, bool* completed);
  std::string Relative(const std::string& path) const;  // to events/
  Result<const aws::S3Client*> Client();
  std::string ObjectKey(const std::string& rel) const { return config_.cold.prefix + rel; }

  Env* env_;
  std::string events_dir_;
  std::string cache_dir_;
  TieringConfig config_;
  StorageCatalog* catalog_;
  std::unique_ptr<aws::S3Client> client_;
  std::shared_ptr<const KeyRing> keys_;
  EventRebuilder rebuild_;
  std::unique_ptr<EventStore> compaction_store_;  // opened on first use
  bool crashed_ = false;  // a crash_point stopped the run
};

// Runs a Tierer on its own thread every `config.loop_seconds()` (first run
// right away), as `vigil serve` does; each run's outcome goes to `report`.
// Stop() interrupts the wait and any run between moves, then joins.
class TieringLoop {
 public:
  using Report = std::function<void(const Result<TierRunStats>&)>;
  // Opens the catalog at <data_dir>/storage.db. Runs every
  // config.loop_seconds(); `rebuild` (may be empty) enables compaction.
  static Result<std::unique_ptr<TieringLoop>> Start(Env* env, const std::string& data_dir, TieringConfig config,
                                                    std::shared_ptr<const KeyRing> keys, Report report,
                                                    Tierer::EventRebuilder rebuild = nullptr);
  ~TieringLoop();
  void Stop();

 private:
  TieringLoop() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil
