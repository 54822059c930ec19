// The ingest pipeline, assembled from the design's seams:
//
//   Source ─► decompress ─► Parser (recognised from content) ─► BoundedQueue<Batch>
//          ─► dedup (store ids) ─► Detectors ─► AlertFold ─► EventWriter
//          ─► commit: alerts + detector state (MetadataStore) with the events
//
// Parsing runs on its own thread; detection, alerting and storing run on the
// calling thread, or (PipelineOptions::detect_thread) detection and alerting
// on a third thread while the calling thread stores and commits (and with
// PipelineOptions::commit_thread, a commit's metadata transaction on a fourth,
// while the calling thread goes on storing). Batches
// between parsing and storing are bounded, so a slow store or detector
// backpressures the parser instead of growing memory. Matches are rolled up into
// alerts in memory and committed with the run's events as one unit, at the end
// of the run (and on long runs whenever the fold holds
// commit_fold_entries): an event is stored if and only if its matches are
// counted, so a crash anywhere neither loses nor double-counts an alert.
// Detector state (correlation windows) is restored from the MetadataStore
// before a run and committed with it, so windows span runs. `vigil ingest`
// runs it over files.
//
// `vigil serve` runs it over its write-ahead log, a source that never ends:
// with commit_interval set, the parse stage hands on partial batches when the
// source is idle and the store stage commits at that interval, so alerts and
// events become visible within about a second. A resumable source's position
// (Source::checkpoint_key) is committed in the same metadata transaction as
// the events and alerts read before it, so a restart resumes exactly there;
// whatever was read after it is read again, and the events among it that a
// crash interrupted after storing are dropped by the id check, so nothing is
// stored or alerted twice.
//
// Ownership: the Pipeline borrows every component; they must outlive Run().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "alert/metadata.h"
#include "common/status.h"
#include "detect/detector.h"
#include "formats/parser.h"
#include "ingest/minimise.h"
#include "ingest/source.h"
#include "store/event_store.h"

namespace vigil {

// What the pipeline did with the inputs of one collecting source.
struct SourcePipelineStats {
  uint64_t events = 0;         // newly stored
  uint64_t duplicates = 0;     // already stored
  uint64_t errors = 0;         // records dead-lettered
  uint64_t failed_inputs = 0;  // inputs unreadable, unrecognised or corrupt
  bool operator==(const SourcePipelineStats&) const = default;
};

struct IngestStats {
  uint64_t files = 0;         // inputs parsed by a parser
  uint64_t skipped = 0;       // inputs in a directory no parser recognised
  uint64_t failed_inputs = 0; // explicit inputs not recognised, unreadable or corrupt
  uint64_t events = 0;        // newly stored
  uint64_t duplicates = 0;    // already stored (same id)
  uint64_t errors = 0;        // records dead-lettered
  uint64_t warnings = 0;
  uint64_t alerts = 0;        // alerts created or updated
  uint64_t bytes = 0;         // decompressed bytes parsed
  uint64_t minimised = 0;     // new events dropped, sampled out or aggregated (not stored as themselves)
  uint64_t summaries = 0;     // aggregate summary records stored
  double seconds = 0;
  // The same per collecting source (RawInput::source), for inputs that name
  // one (`vigil serve`); an input the log could not even read is under "wal".
  std::map<std::string, SourcePipelineStats> by_source;
};

// Where dead letters go (the store's dead-letter files in `vigil ingest`).
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual Status Write(const DeadLetter& dead) = 0;
  // Makes the letters written so far durable; called before a commit covers
  // the inputs they came from.
  virtual Status Sync() { return Status::Ok(); }
  // Where the letters written so far end (DeadLetterWriter::Mark), committed
  // under kDeadLetterMarkKey with the inputs they came from: after a crash,
  // the letters past it are cut before the inputs are replayed
  // (CutDeadLettersAfter). Empty: not tracked.
  virtual std::string Mark() { return {}; }
};

enum class DiagnosticLevel { kNote, kWarning, kError };
using DiagnosticFn = std::function<void(DiagnosticLevel, const std::string&)>;
using ProgressFn = std::function<void(const IngestStats&, size_t inputs_done, size_t inputs_total)>;

struct PipelineOptions {
  // Run the parse stage on its own thread (true) or interleaved with the store
  // stage on the calling thread (false: the least CPU per event, since each
  // batch is consumed while still in cache and no thread hand-off is paid).
  bool threaded = true;
  // With threaded: detection on a third thread, so that storing and
  // committing (block compression, fsyncs, the metadata transaction) overlap
  // with detecting the next events (`vigil serve`).
  bool detect_thread = false;
  // With a metadata store: each commit's metadata transaction, the
  // publication of its segments and the source's Committed run on a thread
  // of their own, so that the storing thread goes on storing while they do
  // (`vigil serve`: the transaction took about a sixth of the storing
  // thread's time). Events are still sealed into segments by the storing
  // thread (their fsyncs are the commit thread's), and commits still finish one at a time and in order: the next is
  // handed on once the one in flight has finished.
  bool commit_thread = false;
  // Small batches keep each event's parsed JSON in cache from parse to
  // detection: with 2,048 events (tens of MB of parsed documents) in flight,
  // detection read them back from memory (measured, --threads 1, every
  // shipped rule: 2,048 -> 120k events/CPU-s, 256 -> 167k, 64 -> 180k).
  size_t batch_events = 64;
  // Batches parsed and not yet stored, at most (bounds memory; with
  // detect_thread it also bounds how far detection runs ahead of a commit).
  size_t queue_batches = 8;
  // Commit mid-run once the alert fold holds this many entries (about 50
  // bytes each, see AlertFold::held_entries), bounding memory on long runs.
  size_t commit_fold_entries = 2u << 20;
  InputLimits limits;
  // Never-ending sources: commit at least this often while there is anything
  // to commit (0: only at the end and when the fold is full, as `vigil ingest`).
  std::chrono::milliseconds commit_interval{0};
  // ... and hand on a partial batch once the source has been idle this long.
  std::chrono::milliseconds idle_flush{20};
  // Commit only this often while the source has had input waiting ever since
  // the last commit (behind: each commit's fixed cost, the detectors' state
  // and the alert upserts, is spread over more events, and latency is the
  // backlog's age anyway); commit_interval when shorter.
  std::chrono::milliseconds busy_commit_interval{0};
  // ... and, the further behind, the longer: while busy, commits wait a
  // quarter of the backlog's age (since the events being detected were
  // received), between busy_commit_interval and this (0: no longer than
  // busy_commit_interval). Far behind, each commit's fixed cost (a sealed
  // segment per partition with its fsyncs, the detectors' state, the alert
  // upserts) is then spread over more events, while the latency it adds stays
  // a fraction of the backlog's.
  std::chrono::milliseconds max_busy_commit_interval{0};
  // Data minimisation (ingest/minimise.h), borrowed; null: store everything.
  // Its counters and open aggregates are committed with the events; a
  // finite run (commit_interval 0) writes every open aggregate at its end.
  Minimiser* minimiser = nullptr;
};

// What one commit made durable, for metrics (Pipeline::set_on_commit).
struct CommitInfo {
  int64_t start_ns = 0;   // wall clock when the commit started (sealing segments)
  int64_t commit_ns = 0;  // wall clock when the commit completed
  uint64_t events = 0;    // events stored by it
  // Ingest (receive) times of the events that matched a rule in this commit,
  // at most kMaxLatencySamples: commit_ns minus each is an event-to-alert
  // latency.
  std::vector<int64_t> matched_ingest_ns;
  static constexpr size_t kMaxLatencySamples = 4096;
  // Data minimisation's cumulative counters as of this commit (null without
  // a minimiser).
  std::shared_ptr<const MinimiseCounters> minimise_counters;
};
using CommitFn = std::function<void(const CommitInfo&)>;

// The metadata state key under which a commit lists the segments it is about
// to publish (one name per line).
inline constexpr char kPublishingStateKey[] = "pipeline/publishing";
// The mark of the dead letters of the committed inputs (DeadLetterSink::Mark).
inline constexpr char kDeadLetterMarkKey[] = "deadletter/mark";

// Completes a commit a crash interrupted: publishes the segments it listed
// (EventStore::Publish rolls them forward) and drops the list. Call after
// opening a data directory for writing, before creating a writer.
Status FinishInterruptedCommit(EventStore* store, MetadataStore* metadata);

class Pipeline {
 public:
  Pipeline(Source* source, const ParserRegistry* parsers, std::vector<Detector*> detectors, EventWriter* writer,
           MetadataStore* metadata, DeadLetterSink* dead_letters, PipelineOptions options = {});

  void set_diagnostics(DiagnosticFn fn) { diag_ = std::move(fn); }
  // Called on the calling (storing) thread after every batch stored.
  void set_progress(ProgressFn fn) { progress_ = std::move(fn); }
  // Called after every successful commit: on the calling (storing) thread,
  // or with PipelineOptions::commit_thread on the committing thread.
  void set_on_commit(CommitFn fn) { on_commit_ = std::move(fn); }
  // Batches parsed and waiting for the store stage (any thread; for metrics).
  size_t queue_depth() const { return queue_depth_.load(std::memory_order_relaxed); }

  // Runs to the end of the source. A non-ok Status is a fatal error (store or
  // metadata failure: discard the writer and reopen the data directory, which
  // finishes or undoes the interrupted commit); per-input and per-record
  // problems are counted in the stats and reported through the diagnostics
  // callback.
  Result<IngestStats> Run();

 private:
  Source* source_;
  const ParserRegistry* parsers_;
  std::vector<Detector*> detectors_;
  EventWriter* writer_;
  MetadataStore* metadata_;
  DeadLetterSink* dead_letters_;
  PipelineOptions options_;
  DiagnosticFn diag_;
  ProgressFn progress_;
  CommitFn on_commit_;
  std::atomic<size_t> queue_depth_{0};
};

}  // namespace vigil
