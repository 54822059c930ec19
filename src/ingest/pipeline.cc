#include "ingest/pipeline.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <optional>
#include <mutex>
#include <semaphore>
#include <thread>

#include "alert/fold.h"
#include "common/hash.h"
#include "common/hash_set.h"
#include "common/time.h"
#include "formats/decompress.h"
#include "ingest/bounded_queue.h"
#include "ocsf/normalizer.h"

namespace vigil {
namespace {

// What the stages after parsing decided about each event of a batch.
enum Fate : uint8_t { kStore, kDuplicate, kMinimised };

// What detection hands the storing thread with a batch when the events up to
// it are to be committed: alerts folded and detector state taken after them.
struct CommitRequest {
  bool final = false;
  std::unique_ptr<AlertFold> fold;
  std::vector<std::pair<std::string, std::string>> state;  // detector and minimiser state
  std::vector<Event> summaries;  // minimisation aggregates completed
  CommitInfo info;               // latency samples (events and commit_ns set when committed)
  Status status;                 // a detector's SaveState failed
};

// Names the calling thread (as top and perf show it; at most 15 characters).
void SetThreadName(const char* name) { pthread_setname_np(pthread_self(), name); }

// What the parse stage hands the store stage: events plus the diagnostics
// produced while parsing them, so that one thread owns all counters and sinks.
struct Batch {
  std::vector<Event> events;
  // HashId128 of each event's id, computed on the parse thread so that the
  // storing thread (the busiest) only looks them up.
  std::vector<Hash128> id_hashes;
  std::vector<DeadLetter> dead;
  // Which collecting source the events, dead letters and failed inputs came
  // from, as consecutive runs in their order (only for inputs naming one).
  struct Span {
    std::string source;
    uint32_t events = 0, dead = 0, failed_inputs = 0;
  };
  std::vector<Span> spans;
  std::vector<std::pair<DiagnosticLevel, std::string>> diagnostics;
  uint64_t files = 0, skipped = 0, failed_inputs = 0, warnings = 0, bytes = 0, inputs_done = 0;
  // A resumable source's position after the last input all of whose events
  // are in this batch or earlier ones; empty when no input ended in it.
  std::string position;
  // Dead letters (of `dead`) that came from the inputs up to `position`.
  size_t dead_at_position = 0;
  // Set by the mark stage: where the dead letters of the inputs up to
  // `position` end (DeadLetterSink::Mark); empty when no letter was written
  // since the last mark.
  std::string dead_mark;
  // Handed on because the (never-ending) source had nothing more for a while.
  bool source_idle = false;
  // Set by the later stages: the order it was marked in (from 1), each
  // event's fate and collecting source's counters, and a commit to make after
  // storing it.
  uint64_t seq = 0;
  std::vector<Fate> fate;
  std::vector<SourcePipelineStats*> event_source;
  std::unique_ptr<CommitRequest> commit;
};

SourcePipelineStats* SourceOf(const std::vector<SourcePipelineStats*>& v, size_t i) {
  return i < v.size() ? v[i] : nullptr;
}

class BatchingSink final : public ParseSink {
 public:
  BatchingSink(std::function<void(Batch&&)> emit, size_t batch_events)
      : emit_(std::move(emit)), batch_events_(batch_events) {}

  void OnEvent(Event&& e) override {
    batch_.id_hashes.push_back(HashId128(e.id));
    batch_.events.push_back(std::move(e));
    ++Span().events;
    if (batch_.events.size() >= batch_events_) Flush();
  }
  void OnDeadLetter(DeadLetter&& d) override {
    batch_.dead.push_back(std::move(d));
    ++Span().dead;
  }
  // The collecting source of what follows.
  void SetSource(std::string source) { source_ = std::move(source); }
  // The current source's run in the batch.
  Batch::Span& Span() {
    if (batch_.spans.empty() || batch_.spans.back().source != source_) batch_.spans.push_back({source_});
    return batch_.spans.back();
  }
  void OnWarning(std::string_view input, std::string_view message) override {
    ++batch_.warnings;
    batch_.diagnostics.emplace_back(DiagnosticLevel::kWarning, std::string(input) + ": " + std::string(message));
  }
  Batch& batch() { return batch_; }
  void Flush() {
    emit_(std::move(batch_));
    batch_ = Batch();
    batch_.events.reserve(batch_events_);
    batch_.id_hashes.reserve(batch_events_);
  }

 private:
  std::function<void(Batch&&)> emit_;
  size_t batch_events_;
  Batch batch_;
  std::string source_;
};

}  // namespace

Pipeline::Pipeline(Source* source, const ParserRegistry* parsers, std::vector<Detector*> detectors,
                   EventWriter* writer, MetadataStore* metadata, DeadLetterSink* dead_letters, PipelineOptions options)
    : source_(source),
      parsers_(parsers),
      detectors_(std::move(detectors)),
      writer_(writer),
      metadata_(metadata),
      dead_letters_(dead_letters),
      options_(options) {}

Result<IngestStats> Pipeline::Run() {
  const auto start = std::chrono::steady_clock::now();
  // Detector state (correlation windows) carries over from the previous run.
  if (metadata_) {
    for (Detector* d : detectors_) {
      Status st = d->RestoreState([&](const std::string& key) { return metadata_->GetState(key); });
      if (!st.ok()) return st.WithContext("restoring detector state");
    }
  }
  Minimiser* minimiser = options_.minimiser;
  if (metadata_ && minimiser) {
    Status st = minimiser->RestoreState([&](const std::string& key) { return metadata_->GetState(key); });
    if (!st.ok()) return st.WithContext("restoring data minimisation state");
  }
  const bool minimise_before = minimiser != nullptr && minimiser->has_before_detection();
  const bool attach_ocsf =
      minimiser != nullptr || std::any_of(detectors_.begin(), detectors_.end(), [](Detector* d) { return d->ReadsOcsf(); });
  std::atomic<bool> stop{false};

  // Parse stage: read, decompress, recognise, parse; batches go to `emit`.
  const bool continuous = options_.commit_interval.count() > 0;
  const bool resumable = !source_->checkpoint_key().empty();
  auto parse_stage = [&](std::function<void(Batch&&)> emit) {
    BatchingSink sink(std::move(emit), options_.batch_events);
    const int64_t run_ingest_time = NowNanos();
    auto last_flush = std::chrono::steady_clock::now();
    // Inflated inputs, one after another: reusing one allocation spares
    // mapping and faulting in fresh pages for each (a few percent of ingest
    // CPU). Parsers copy what they keep, so it is free again after Parse.
    ByteBuffer inflated;
    constexpr size_t kKeepInflated = size_t{64} << 20;  // larger ones are freed after use
    // Parses one input into the sink; its problems go into the batch.
    auto parse_input = [&](Result<RawInput>&& next) {
      Batch& b = sink.batch();
      ++b.inputs_done;
      // A source that names its inputs (the write-ahead log) has an input it
      // could not read counted as its own.
      sink.SetSource(next.ok() ? next->source : (resumable ? std::string(source_->name()) : std::string()));
      auto failed = [&](Batch& in) {
        ++in.failed_inputs;
        ++sink.Span().failed_inputs;
      };
      if (!next.ok()) {
        failed(b);
        b.diagnostics.emplace_back(DiagnosticLevel::kError, next.status().message());
        return;
      }
      RawInput in = std::move(next).value();
      // Plain content is parsed where it is (serve's bodies, up to a
      // megabyte each, are not copied again); gzip is inflated into the
      // stage's one buffer (below).
      std::string_view text = in.bytes;
      size_t padding = 0;
      if (IsGzip(in.bytes)) {
        Status inflated_st = GunzipInto(in.bytes, in.name, &inflated);
        in.bytes.clear();
        in.bytes.shrink_to_fit();
        if (!inflated_st.ok()) {
          failed(b);
          b.diagnostics.emplace_back(DiagnosticLevel::kError, inflated_st.message());
          return;
        }
        text = inflated.view();
        padding = inflated.padding();
      }
      const Parser* parser = nullptr;
      if (!in.parser.empty()) {
        parser = parsers_->Find(in.parser);
        if (!parser) {
          failed(b);
          b.diagnostics.emplace_back(DiagnosticLevel::kError, in.name + ": no parser named '" + in.parser + "'");
          return;
        }
      } else {
        parser = parsers_->Recognize(text.substr(0, 65536));
      }
      if (!parser) {
        if (in.explicit_input) {
          failed(b);
          b.diagnostics.emplace_back(DiagnosticLevel::kError,
                                     in.name + ": not a recognised log (no parser reads this content)");
        } else {
          ++b.skipped;
          b.diagnostics.emplace_back(DiagnosticLevel::kNote, in.name + ": skipped, not a recognised log");
        }
        return;
      }
      b.bytes += text.size();
      const int64_t ingest_time = in.received_ns ? in.received_ns : run_ingest_time;
      Status st = parser->Parse(ParseInput{in.name, text, ingest_time, padding}, sink);
      Batch& after = sink.batch();
      if (!st.ok()) {
        failed(after);
        after.diagnostics.emplace_back(DiagnosticLevel::kError, st.message());
      } else {
        ++after.files;
      }
    };
    while (!stop.load(std::memory_order_relaxed)) {
      if (continuous && !source_->WaitForInput(options_.idle_flush)) {
        // Idle: hand on what is held (even nothing, so the store stage can
        // commit on time).
        sink.batch().source_idle = true;
        sink.Flush();
        last_flush = std::chrono::steady_clock::now();
        continue;
      }
      auto next = source_->Next();
      if (!next) break;
      parse_input(std::move(*next));
      if (inflated.capacity() > kKeepInflated) inflated = ByteBuffer();
      // The batch now holds every event of the inputs up to here.
      if (resumable) {
        sink.batch().position = source_->Position();
        sink.batch().dead_at_position = sink.batch().dead.size();
      }
      if (continuous) {
        auto now = std::chrono::steady_clock::now();
        if (now - last_flush >= options_.idle_flush) {
          sink.Flush();
          last_flush = now;
        }
      }
    }
    sink.Flush();
  };

  // The stages after parsing, on one, two or three threads (PipelineOptions):
  //   mark:   counters, diagnostics and dead letters; duplicates marked (the
  //           writer's ids, and those of events marked new but not stored yet)
  //   detect: minimisation, detection into the alert fold; at commit points,
  //           the fold and the detectors' state, taken after this batch, go
  //           with the batch as a commit request
  //   store:  new events added to the writer; a commit request committed
  // Mark and store run on the same thread (they own the writer, the metadata
  // store, the stats and the sinks); detect owns the detectors, the fold and
  // the minimiser. A commit request travels behind the events it covers, so
  // events, alerts and detector state become durable together even while
  // detection has moved on.
  IngestStats stats;
  Status failure;  // the storing thread's
  size_t inputs_done = 0;

  // --- mark (storing thread)
  Hash128Set inflight_new, inflight_old;  // ids marked new, not yet stored
  uint64_t marked_seq = 0, stored_seq = 0, old_last = 0;
  bool letters_unmarked = false;  // dead letters written since the last mark taken
  auto mark = [&](Batch* batch) {
    batch->seq = ++marked_seq;
    batch->fate.assign(batch->events.size(), kStore);
    if (!failure.ok()) return;  // drain so the parse stage can finish
    stats.files += batch->files;
    stats.skipped += batch->skipped;
    stats.failed_inputs += batch->failed_inputs;
    stats.warnings += batch->warnings;
    stats.bytes += batch->bytes;
    inputs_done += batch->inputs_done;
    if (diag_)
      for (auto& [level, msg] : batch->diagnostics) diag_(level, msg);
    // Per-source counts: each span covers the next events, dead letters and
    // failed inputs in order.
    std::vector<SourcePipelineStats*> dead_source;
    if (!batch->spans.empty() && !(batch->spans.size() == 1 && batch->spans[0].source.empty())) {
      batch->event_source.reserve(batch->events.size());
      dead_source.reserve(batch->dead.size());
      for (const Batch::Span& span : batch->spans) {
        SourcePipelineStats* per = span.source.empty() ? nullptr : &stats.by_source[span.source];
        batch->event_source.insert(batch->event_source.end(), span.events, per);
        dead_source.insert(dead_source.end(), span.dead, per);
        if (per) per->failed_inputs += span.failed_inputs;
      }
    }
    // The mark a commit records goes with the position it records: that of
    // the letters of the inputs up to the batch's position, taken before
    // the letters of an input the batch holds only the start of (a commit
    // after this batch records the position before that input, which is
    // read again after a crash, its letters with it).
    auto take_mark = [&] {
      if (dead_letters_ && letters_unmarked) batch->dead_mark = dead_letters_->Mark();
      letters_unmarked = false;
    };
    for (size_t di = 0; di < batch->dead.size(); ++di) {
      if (!batch->position.empty() && di == batch->dead_at_position) take_mark();
      DeadLetter& d = batch->dead[di];
      if (SourcePipelineStats* per = SourceOf(dead_source, di)) ++per->errors;
      ++stats.errors;
      if (diag_) diag_(DiagnosticLevel::kWarning, d.input + ": record " + std::to_string(d.record) + ": " + d.reason);
      if (dead_letters_) {
        Status st = dead_letters_->Write(d);
        if (!st.ok()) failure = st;
        letters_unmarked = true;
      }
    }
    // (A source that is not resumable is read again whole: any mark will do.)
    if (!resumable || (!batch->position.empty() && batch->dead_at_position >= batch->dead.size())) take_mark();
    for (size_t ei = 0; ei < batch->events.size(); ++ei) {
      const Event& e = batch->events[ei];
      const Hash128 h = batch->id_hashes[ei];
      if (inflight_new.Contains(h) || inflight_old.Contains(h) || writer_->Contains(e)) {
        batch->fate[ei] = kDuplicate;
      } else {
        inflight_new.Insert(h);
      }
    }
  };

  // --- detect (detection thread)
  std::unique_ptr<AlertFold> fold = std::make_unique<AlertFold>();
  CommitInfo pending;  // latency samples for the next commit request
  const Event* last_matched = nullptr;
  // The event being detected. A correlation raises its match about an event
  // it makes (timed by its window, not by any arrival), so the latency sample
  // is the arrival of the event whose detection raised the match.
  const Event* detecting = nullptr;
  MatchSink on_match = [&](const Event& e, const Match& m) {
    fold->Add(e, m);
    const Event* arrived = detecting != nullptr ? detecting : &e;
    if (on_commit_ && arrived != last_matched && pending.matched_ingest_ns.size() < CommitInfo::kMaxLatencySamples) {
      pending.matched_ingest_ns.push_back(arrived->ingest_time_ns);
      last_matched = arrived;
    }
  };
  auto last_request = std::chrono::steady_clock::now();
  uint64_t unrequested_events = 0;  // kept for storing since the last request
  bool unrequested_position = false;
  bool idle_since_request = false;  // the source ran dry since the last request
  const auto busy_interval = std::max(options_.commit_interval, options_.busy_commit_interval);
  const auto max_busy_interval = std::max(busy_interval, options_.max_busy_commit_interval);
  std::chrono::milliseconds backlog_age{0};  // of the last event detected
  std::atomic<bool> storing_failed{false};
  auto request_commit = [&](bool final) {
    auto r = std::make_unique<CommitRequest>();
    r->final = final;
    last_request = std::chrono::steady_clock::now();
    last_matched = nullptr;
    unrequested_events = 0;
    unrequested_position = false;
    idle_since_request = false;
    // Aggregates complete by now (all of them at the end of a finite run)
    // are stored as summary records in this commit.
    if (minimiser) minimiser->Flush(final && !continuous, &r->summaries);
    auto put_state = [&](const std::string& key, const std::string& value) {
      r->state.emplace_back(key, value);
      return Status::Ok();
    };
    if (metadata_) {
      for (Detector* d : detectors_) {
        if (r->status.ok()) r->status = d->SaveState(put_state);
      }
      if (minimiser && r->status.ok()) r->status = minimiser->SaveState(put_state);
    }
    if (minimiser) r->info.minimise_counters = std::make_shared<const MinimiseCounters>(minimiser->counters());
    r->fold = std::move(fold);
    fold = std::make_unique<AlertFold>();
    r->info.matched_ingest_ns = std::move(pending.matched_ingest_ns);
    pending = CommitInfo();
    return r;
  };
  auto detect = [&](Batch* batch) {
    if (storing_failed.load(std::memory_order_relaxed)) return;
    for (size_t ei = 0; ei < batch->events.size(); ++ei) {
      if (batch->fate[ei] != kStore) continue;
      Event& e = batch->events[ei];
      if (minimise_before && !minimiser->Keep(e, Minimiser::Stage::kBeforeDetection)) {
        batch->fate[ei] = kMinimised;
        continue;
      }
      if (!detectors_.empty()) {
        // Rules may name `ocsf.` fields; the OCSF form is computed only if
        // one does (and the wrapper that computes it is there only when a
        // detector or a minimisation rule may ask).
        if (attach_ocsf) ocsf::AttachOcsf(&e);
        detecting = &e;
        for (Detector* d : detectors_) d->Process(e, on_match);
        detecting = nullptr;
      }
      // After detection: rules saw the event; minimisation decides whether
      // it is stored as itself.
      if (minimiser && !minimiser->Keep(e, Minimiser::Stage::kAfterDetection)) {
        batch->fate[ei] = kMinimised;
        continue;
      }
      ++unrequested_events;
    }
    if (!batch->position.empty()) unrequested_position = true;
    idle_since_request |= batch->source_idle;
    if (max_busy_interval > busy_interval && !batch->events.empty()) {
      backlog_age = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::nanoseconds(NowNanos() - batch->events.back().ingest_time_ns));
    }
    // Bound the fold's memory on long runs; on never-ending sources make
    // what arrived visible (and the source's position durable) on time,
    // less often while the source never runs dry (a backlog, whose age is
    // the latency then).
    bool due = fold->held_entries() >= options_.commit_fold_entries;
    if (!due && continuous && (unrequested_events > 0 || unrequested_position || fold->held_entries() > 0)) {
      const auto since = std::chrono::steady_clock::now() - last_request;
      const auto busy_wait = std::clamp<std::chrono::milliseconds>(backlog_age / 4, busy_interval, max_busy_interval);
      due = since >= options_.commit_interval && (idle_since_request || since >= busy_wait);
    }
    if (due) batch->commit = request_commit(false);
  };

  // --- store (storing thread)
  std::string position;  // the source's position after what has been stored
  bool position_dirty = false;
  std::string dead_mark;  // the dead letters' mark after what has been stored, until committed
  uint64_t uncommitted_events = 0;

  // Events, alerts and detector state become durable together (see
  // FinishInterruptedCommit): segments are sealed under temporary names, the
  // alerts, the state and the list of sealed segments are committed in one
  // metadata transaction, then the segments are published and the list
  // dropped. A crash before the transaction leaves neither (re-ingest redoes
  // both); after it, the next open publishes the segments. Only then is the
  // source told its position is committed.
  //
  // Sealing is the storing thread's (it owns the writer); the rest, from the
  // metadata transaction on (`finish`), is too, or with commit_thread the
  // committing thread's, fsyncing the sealed segments first, while the
  // storing thread goes on storing the next events. At most one commit is in flight: the next one is handed on once
  // it has finished, so commits still happen one after another, in order.
  struct PendingCommit {
    std::unique_ptr<CommitRequest> request;  // owns the fold
    MetadataCommit meta;
    std::vector<std::string> names;  // sealed segments to publish
    bool unsynced = false;           // names from PrepareUnsynced: SyncPrepared first
    std::optional<std::string> position;
    uint64_t events = 0;
  };
  std::atomic<uint64_t> committed_alerts{0};
  // Touches only `p`, the metadata store, the source's Committed, the
  // writer's SyncPrepared and PublishFiles and the on_commit callback.
  auto finish = [&](PendingCommit& p) -> Status {
    if (metadata_) {
      if (p.unsynced && !p.names.empty()) VIGIL_RETURN_IF_ERROR(writer_->SyncPrepared(p.names));
      VIGIL_ASSIGN_OR_RETURN(size_t touched, metadata_->Commit(p.meta));
      committed_alerts.fetch_add(touched, std::memory_order_relaxed);
      p.request->fold.reset();
      if (!p.names.empty()) {
        VIGIL_RETURN_IF_ERROR(writer_->PublishFiles(p.names));
        MetadataCommit published;
        published.delete_state.push_back(kPublishingStateKey);
        VIGIL_RETURN_IF_ERROR(metadata_->Commit(published).status());
      }
    }
    if (p.position) VIGIL_RETURN_IF_ERROR(source_->Committed(*p.position));
    if (on_commit_) {
      CommitInfo& info = p.request->info;
      info.events = p.events;
      info.commit_ns = NowNanos();
      on_commit_(info);
    }
    return Status::Ok();
  };

  // The committing thread (commit_thread), fed one commit at a time.
  const bool commit_async = options_.commit_thread && metadata_ != nullptr;
  std::mutex commit_mu;
  std::condition_variable commit_cv;
  std::unique_ptr<PendingCommit> in_flight;  // handed on, not finished yet
  bool commit_exit = false;
  Status commit_status;                     // the committing thread's first failure
  std::atomic<bool> commit_failed{false};
  std::vector<std::string> published;       // for writer_->Published, on the storing thread
  std::thread commit_thread;
  if (commit_async) {
    commit_thread = std::thread([&] {
      SetThreadName("vigil-commit");
      std::unique_lock<std::mutex> lock(commit_mu);
      for (;;) {
        commit_cv.wait(lock, [&] { return in_flight != nullptr || commit_exit; });
        if (in_flight == nullptr) break;
        PendingCommit* p = in_flight.get();
        const bool ok = commit_status.ok();  // after a failure nothing more is committed
        lock.unlock();
        Status st = ok ? finish(*p) : Status::Ok();
        std::unique_ptr<PendingCommit> done;
        lock.lock();
        if (!st.ok()) {
          commit_status = st;
          commit_failed.store(true);
        } else if (ok) {
          published.insert(published.end(), p->names.begin(), p->names.end());
        }
        done = std::move(in_flight);
        commit_cv.notify_all();
        lock.unlock();
        done.reset();  // the fold and state, freed outside the lock
        lock.lock();
      }
    });
  }
  // Waits until the commit in flight (if any) has finished; its failure, if
  // it failed. Storing thread.
  auto await_commit = [&]() -> Status {
    std::vector<std::string> names;
    Status st;
    {
      std::unique_lock<std::mutex> lock(commit_mu);
      commit_cv.wait(lock, [&] { return in_flight == nullptr; });
      names.swap(published);
      st = commit_status;
    }
    if (!names.empty()) writer_->Published(names);
    stats.alerts = committed_alerts.load(std::memory_order_relaxed);
    return st;
  };

  auto commit = [&](std::unique_ptr<CommitRequest> r) -> Status {
    VIGIL_RETURN_IF_ERROR(r->status);
    const bool final = r->final;
    r->info.start_ns = NowNanos();
    for (const Event& s : r->summaries) {
      VIGIL_ASSIGN_OR_RETURN(bool added, writer_->Add(s));
      if (added) {
        ++stats.summaries;
        ++uncommitted_events;
      }
    }
    auto p = std::make_unique<PendingCommit>();
    if (!metadata_) {
      if (!dead_mark.empty()) VIGIL_RETURN_IF_ERROR(dead_letters_->Sync());
      dead_mark.clear();
      VIGIL_RETURN_IF_ERROR(writer_->Commit());
    } else {
      // With the commit thread, the segments' fsyncs are its too.
      if (commit_async) {
        VIGIL_ASSIGN_OR_RETURN(p->names, writer_->PrepareUnsynced());
        p->unsynced = true;
      } else {
        VIGIL_ASSIGN_OR_RETURN(p->names, writer_->Prepare());
      }
      MetadataCommit& c = p->meta;
      c.alerts = r->fold.get();
      c.put_state = std::move(r->state);
      // The letters are written on this thread: durable before the commit
      // that records where they end.
      if (!dead_mark.empty()) {
        VIGIL_RETURN_IF_ERROR(dead_letters_->Sync());
        c.put_state.emplace_back(kDeadLetterMarkKey, std::move(dead_mark));
        dead_mark.clear();
      }
      std::string list;
      for (const std::string& name : p->names) list.append(name).push_back('\n');
      if (!p->names.empty()) c.put_state.emplace_back(kPublishingStateKey, list);
      if (position_dirty) c.put_state.emplace_back(std::string(source_->checkpoint_key()), position);
    }
    if (position_dirty) p->position = position;
    p->events = uncommitted_events;
    p->request = std::move(r);
    if (!commit_async) {
      VIGIL_RETURN_IF_ERROR(finish(*p));
      if (!p->names.empty()) writer_->Published(p->names);
      stats.alerts = committed_alerts.load(std::memory_order_relaxed);
    } else {
      VIGIL_RETURN_IF_ERROR(await_commit());
      std::lock_guard<std::mutex> lock(commit_mu);
      in_flight = std::move(p);
      commit_cv.notify_all();
    }
    position_dirty = false;
    uncommitted_events = 0;
    // The run ends once its last commit is durable.
    if (final && commit_async) VIGIL_RETURN_IF_ERROR(await_commit());
    return Status::Ok();
  };

  auto store = [&](Batch* batch) {
    if (failure.ok()) {
      for (size_t ei = 0; ei < batch->events.size(); ++ei) {
        SourcePipelineStats* per = SourceOf(batch->event_source, ei);
        if (batch->fate[ei] == kDuplicate) {
          ++stats.duplicates;
          if (per) ++per->duplicates;
          continue;
        }
        if (batch->fate[ei] == kMinimised) {
          ++stats.minimised;
          continue;
        }
        auto added = writer_->Add(batch->events[ei]);
        if (!added.ok()) {
          failure = added.status();
          break;
        }
        if (*added) {
          ++stats.events;
          ++uncommitted_events;
          if (per) ++per->events;
        } else {
          ++stats.duplicates;
          if (per) ++per->duplicates;
        }
      }
      if (!batch->position.empty()) {
        position = std::move(batch->position);
        position_dirty = true;
      }
      if (!batch->dead_mark.empty()) dead_mark = std::move(batch->dead_mark);
      // A failed commit in flight stops storing now rather than at the next.
      if (failure.ok() && commit_failed.load(std::memory_order_relaxed)) failure = await_commit();
      if (failure.ok() && batch->commit) failure = commit(std::move(batch->commit));
      if (progress_ && batch->seq != 0) progress_(stats, inputs_done, source_->total());
    }
    if (!failure.ok()) {
      stop.store(true);
      storing_failed.store(true);
    }
    // Ids of batches stored by now are in the writer: forget them here once
    // every batch they were marked in is stored.
    if (batch->seq != 0) stored_seq = batch->seq;
    if (stored_seq >= old_last) {
      inflight_old.Clear();
      std::swap(inflight_old, inflight_new);
      old_last = marked_seq;
    }
  };

  if (options_.threaded && options_.detect_thread) {
    // Parse, detect and store on three threads. Batches between parsing and
    // storing are bounded by `slots`, so the queues themselves never block
    // (the storing thread feeds the detection thread and is fed by it).
    struct Message {
      Batch batch;
      bool detected = false;  // from the detection thread (else from parsing)
      bool end = false;       // no more batches after this one
    };
    const size_t unbounded = std::numeric_limits<size_t>::max();
    BoundedQueue<Message> to_store(unbounded), to_detect(unbounded);
    std::counting_semaphore<> slots(static_cast<std::ptrdiff_t>(std::max<size_t>(options_.queue_batches, 1)));
    // Stored batches go back to the parse thread to be freed there: their
    // events were allocated there (the allocator reuses the memory from that
    // thread's cache, and parsed documents return to its pool without a
    // lock), and the storing thread, the busiest, spends nothing on freeing.
    std::mutex spent_mu;
    std::vector<Batch> spent;
    std::thread parse_thread([&] {
      SetThreadName("vigil-parse");
      parse_stage([&](Batch&& b) {
        slots.acquire();
        {
          std::vector<Batch> freed;
          std::lock_guard<std::mutex> lock(spent_mu);
          freed.swap(spent);
        }
        queue_depth_.fetch_add(1, std::memory_order_relaxed);
        to_store.Push(Message{std::move(b)});
      });
      to_store.Push(Message{Batch(), false, true});
    });
    std::thread detect_thread([&] {
      SetThreadName("vigil-detect");
      while (auto m = to_detect.Pop()) {
        if (m->end) {
          m->batch.commit = request_commit(true);
          m->detected = true;
          to_store.Push(std::move(*m));
          break;
        }
        detect(&m->batch);
        m->detected = true;
        to_store.Push(std::move(*m));
      }
    });
    while (auto m = to_store.Pop()) {
      if (!m->detected) {
        if (!m->end) mark(&m->batch);
        to_detect.Push(std::move(*m));
        continue;
      }
      store(&m->batch);
      if (m->end) break;
      {
        std::lock_guard<std::mutex> lock(spent_mu);
        spent.push_back(std::move(m->batch));
      }
      queue_depth_.fetch_sub(1, std::memory_order_relaxed);
      slots.release();
    }
    detect_thread.join();
    parse_thread.join();
  } else {
    auto all = [&](Batch* b) {
      mark(b);
      detect(b);
      store(b);
    };
    if (options_.threaded) {
      BoundedQueue<Batch> queue(options_.queue_batches);
      std::thread parse_thread([&] {
        SetThreadName("vigil-parse");
        parse_stage([&](Batch&& b) {
          queue_depth_.fetch_add(1, std::memory_order_relaxed);
          queue.Push(std::move(b));
        });
        queue.Close();
      });
      while (auto batch = queue.Pop()) {
        queue_depth_.fetch_sub(1, std::memory_order_relaxed);
        all(&*batch);
      }
      parse_thread.join();
    } else {
      parse_stage([&](Batch&& b) { all(&b); });
    }
    Batch last;
    last.commit = request_commit(true);
    store(&last);
  }
  if (commit_async) {
    {
      std::lock_guard<std::mutex> lock(commit_mu);
      commit_exit = true;
      commit_cv.notify_all();
    }
    commit_thread.join();  // after the commit in flight, if any
    if (Status st = await_commit(); failure.ok()) failure = st;
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!failure.ok()) return failure;
  return stats;
}

Status FinishInterruptedCommit(EventStore* store, MetadataStore* metadata) {
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> list, metadata->GetState(kPublishingStateKey));
  if (!list) return Status::Ok();
  std::vector<std::string> names;
  for (size_t i = 0; i < list->size();) {
    size_t nl = list->find('\n', i);
    if (nl == std::string::npos) nl = list->size();
    if (nl > i) names.push_back(list->substr(i, nl - i));
    i = nl + 1;
  }
  VIGIL_RETURN_IF_ERROR(store->Publish(names).WithContext("finishing an interrupted ingest commit"));
  MetadataCommit published;
  published.delete_state.push_back(kPublishingStateKey);
  return metadata->Commit(published).status();
}

}  // namespace vigil
