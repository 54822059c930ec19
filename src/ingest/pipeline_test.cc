#include "ingest/pipeline.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <map>
#include <thread>

#include "alert/fold.h"
#include "common/time.h"
#include "env/fault_injection_env.h"
#include "env/mem_env.h"
#include "formats/parser.h"
#include "ingest/bounded_queue.h"
#include "ingest/minimise.h"
#include "ingest/wal.h"

#include <unistd.h>

namespace vigil {
namespace {

class VectorSource final : public Source {
 public:
  explicit VectorSource(std::vector<RawInput> inputs) : inputs_(inputs.begin(), inputs.end()) {
    total_ = inputs_.size();
  }
  std::string_view name() const override { return "vector"; }
  size_t total() const override { return total_; }
  std::optional<Result<RawInput>> Next() override {
    if (inputs_.empty()) return std::nullopt;
    RawInput in = std::move(inputs_.front());
    inputs_.pop_front();
    if (in.name == "unreadable") return Result<RawInput>(Status::IoError("unreadable: permission denied"));
    return Result<RawInput>(std::move(in));
  }

 private:
  std::deque<RawInput> inputs_;
  size_t total_;
};

// Matches every StopLogging event, about its principal.
class StopLoggingDetector final : public Detector {
 public:
  std::string_view name() const override { return "test"; }
  void Process(const Event& e, const MatchSink& sink) override {
    if (e.source_type != "cloudtrail" || e.FirstString(FieldPath("eventName")) != "StopLogging") return;
    Match m;
    m.rule_id = "stop";
    m.title = "trail stopped";
    m.severity = "high";
    m.rollup_window_ns = 3600LL * 1'000'000'000;
    sink(e, m);
  }
};

// As a correlation does: on StopLogging, a match about an event it makes,
// timed by its window (here: long ago), not by any arrival.
class WindowDetector final : public Detector {
 public:
  std::string_view name() const override { return "window"; }
  void Process(const Event& e, const MatchSink& sink) override {
    if (e.FirstString(FieldPath("eventName")) != "StopLogging") return;
    Event made;
    made.source_type = "correlation";
    made.time_ns = made.ingest_time_ns = 1'000'000'000;
    made.id = "window-1";
    Match m;
    m.rule_id = "window";
    m.title = "window met";
    m.severity = "low";
    m.rollup_window_ns = 3600LL * 1'000'000'000;
    sink(made, m);
  }
};

// Counts what commits fold in; keeps state like the real store. With
// `lose_reply_to_publishing_commit`, the commit that lists segments to publish
// is applied but reports failure, as a crash right after it would leave things.
class FakeMetadata final : public MetadataStore {
 public:
  uint64_t matches = 0;
  size_t commits = 0;
  size_t alert_commits = 0;  // commits with alerts in them
  std::map<std::string, std::string> state;
  bool lose_reply_to_publishing_commit = false;

  Result<size_t> Commit(const MetadataCommit& c) override {
    ++commits;
    size_t n = 0;
    if (c.alerts != nullptr) {
      for (const AlertDelta& d : c.alerts->deltas()) matches += d.count;
      n = c.alerts->size();
      if (n > 0) ++alert_commits;
    }
    bool publishing = false;
    for (const auto& [k, v] : c.put_state) {
      state[k] = v;
      publishing = publishing || k == kPublishingStateKey;
    }
    for (const auto& k : c.delete_state) state.erase(k);
    if (publishing && lose_reply_to_publishing_commit) return Status::IoError("connection lost");
    return n;
  }
  Result<std::vector<Alert>> ListAlerts(const AlertQuery&) override { return std::vector<Alert>{}; }
  Result<std::optional<std::string>> GetState(const std::string& k) override {
    auto it = state.find(k);
    if (it == state.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
};

class CollectDeadLetters final : public DeadLetterSink {
 public:
  std::vector<DeadLetter> dead;
  Status Write(const DeadLetter& d) override {
    dead.push_back(d);
    return Status::Ok();
  }
};

std::string Record(int i, const char* name, const char* day = "2024-07-31") {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                R"({"eventVersion":"1.08","eventTime":"%sT10:%02d:00Z","eventSource":"cloudtrail.amazonaws.com",)"
                R"("eventName":"%s","eventID":"00000000-0000-0000-0000-%012d",)"
                R"("userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u%d"}})",
                day, i % 60, name, i, i % 3);
  return buf;
}

struct RunResult {
  IngestStats stats;
  uint64_t matches = 0;
  std::vector<DeadLetter> dead;
  std::vector<std::string> notes, errors;
  uint64_t stored = 0;
  size_t alert_commits = 0;
};

// The pipeline's thread layouts: everything on the calling thread; parsing on
// a second; detection on a third; the metadata transaction on a fourth
// (serve's).
enum class Mode { kOneThread, kParseThread, kDetectThread, kCommitThread };
constexpr Mode kModes[] = {Mode::kOneThread, Mode::kParseThread, Mode::kDetectThread, Mode::kCommitThread};
const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kOneThread: return "one thread";
    case Mode::kParseThread: return "parse thread";
    case Mode::kDetectThread: return "parse and detect threads";
    case Mode::kCommitThread: return "parse, detect and commit threads";
  }
  return "";
}
void SetMode(Mode m, PipelineOptions* o) {
  o->threaded = m != Mode::kOneThread;
  o->detect_thread = m == Mode::kDetectThread || m == Mode::kCommitThread;
  o->commit_thread = m == Mode::kCommitThread;
}

RunResult RunOnce(std::vector<RawInput> inputs, Mode mode, Env* env, size_t batch_events = 3,
                  size_t commit_fold_entries = PipelineOptions().commit_fold_entries) {
  SegmentStoreOptions store_options;
  store_options.env = env;
  auto store = OpenSegmentStore("/events", store_options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  auto writer = (*store)->NewWriter();
  EXPECT_TRUE(writer.ok());
  VectorSource source(std::move(inputs));
  StopLoggingDetector detector;
  FakeMetadata meta;
  CollectDeadLetters dead;
  PipelineOptions options;
  SetMode(mode, &options);
  options.batch_events = batch_events;  // small: many batches through the queue
  options.queue_batches = 2;
  options.commit_fold_entries = commit_fold_entries;
  Pipeline p(&source, &ParserRegistry::Default(), {&detector}, writer->get(), &meta, &dead, options);
  RunResult r;
  p.set_diagnostics([&](DiagnosticLevel l, const std::string& m) {
    if (l == DiagnosticLevel::kNote) r.notes.push_back(m);
    if (l == DiagnosticLevel::kError) r.errors.push_back(m);
  });
  auto stats = p.Run();
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  r.stats = *stats;
  r.matches = meta.matches;
  r.alert_commits = meta.alert_commits;
  r.dead = dead.dead;
  writer->reset();
  r.stored = *(*store)->CountEvents();
  return r;
}

std::vector<RawInput> Inputs() {
  std::string file = "[";
  for (int i = 0; i < 20; ++i) file += (i ? "," : "") + Record(i, i % 5 == 0 ? "StopLogging" : "DescribeTrails");
  file += "]";
  std::string ndjson = Record(100, "StopLogging") + "\n{\"eventName\": broken}\n" + Record(101, "ListTrails") + "\n";
  return {
      RawInput{"a.json", file, false, ""},
      RawInput{"notes.md", "# not a log", false, ""},
      RawInput{"named.txt", "plain text", true, ""},
      RawInput{"unreadable", "", true, ""},
      RawInput{"b.ndjson", ndjson, false, ""},
      RawInput{"again.json", file, false, ""},  // the same records again: duplicates
  };
}

TEST(PipelineTest, CountsDedupsDetectsAndDeadLettersInEveryThreadLayout) {
  for (Mode mode : kModes) {
    SCOPED_TRACE(ModeName(mode));
    auto env = NewMemEnv();
    RunResult r = RunOnce(Inputs(), mode, env.get());
    EXPECT_EQ(r.stats.files, 3u);
    EXPECT_EQ(r.stats.skipped, 1u);
    EXPECT_EQ(r.stats.failed_inputs, 2u);  // explicit unrecognised + unreadable
    EXPECT_EQ(r.stats.events, 22u);
    EXPECT_EQ(r.stats.duplicates, 20u);
    EXPECT_EQ(r.stats.errors, 1u);
    EXPECT_EQ(r.stored, 22u);
    ASSERT_EQ(r.dead.size(), 1u);
    EXPECT_EQ(r.dead[0].input, "b.ndjson");
    EXPECT_EQ(r.dead[0].record, 1u);
    // StopLogging: records 0, 5, 10, 15 of a.json and 100 of b.ndjson; the
    // duplicates in again.json raise nothing.
    EXPECT_EQ(r.matches, 5u);
    // One alert per (rule, entity, hour): users u0, u2, u1, u0, u1, all in hour 10.
    EXPECT_EQ(r.stats.alerts, 3u);
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_NE(r.notes[0].find("notes.md"), std::string::npos);
    ASSERT_EQ(r.errors.size(), 2u);
  }
}

// Committing after every batch that matched (several commits, handed on to
// the commit thread while later events are stored) stores and counts the
// same as one commit at the end, in every thread layout.
TEST(PipelineTest, ManyCommitsStoreAndCountTheSameAsOne) {
  for (Mode mode : kModes) {
    SCOPED_TRACE(ModeName(mode));
    auto env = NewMemEnv();
    RunResult r = RunOnce(Inputs(), mode, env.get(), /*batch_events=*/3, /*commit_fold_entries=*/1);
    EXPECT_EQ(r.stats.events, 22u);
    EXPECT_EQ(r.stats.duplicates, 20u);
    EXPECT_EQ(r.stored, 22u);
    EXPECT_EQ(r.matches, 5u);
    EXPECT_GT(r.alert_commits, 1u);
    // Alerts created or updated, summed over the commits: at least the 3 of
    // one commit.
    EXPECT_GE(r.stats.alerts, 3u);
  }
}

// A record repeated close together (a sender's retry) is a duplicate even
// while its first copy is still between detection and the store: it is
// stored once and raises one match, in every thread layout.
TEST(PipelineTest, RepeatsInFlightAreDuplicates) {
  for (Mode mode : kModes) {
    SCOPED_TRACE(ModeName(mode));
    std::string ndjson;
    // Each record five times in a row: repeats in the same batch and the next.
    for (int i = 0; i < 40; ++i) ndjson += Record(i / 5, i / 5 == 3 ? "StopLogging" : "ListTrails") + "\n";
    auto env = NewMemEnv();
    RunResult r = RunOnce({RawInput{"retries.ndjson", ndjson, true, ""}}, mode, env.get(), /*batch_events=*/3);
    EXPECT_EQ(r.stats.events, 8u);
    EXPECT_EQ(r.stats.duplicates, 32u);
    EXPECT_EQ(r.stored, 8u);
    EXPECT_EQ(r.matches, 1u);
  }
}

// Inputs that name their collecting source (as the write-ahead log's do) are
// counted per source: stored, duplicate, dead-lettered and failed, also when
// a source's events span batches and batches hold several sources.
TEST(PipelineTest, CountsPerCollectingSource) {
  for (Mode mode : kModes) {
    SCOPED_TRACE(ModeName(mode));
    std::vector<RawInput> inputs = Inputs();
    const char* sources[] = {"http", "s3-trail", "syslog-tcp", "http", "firehose", "s3-trail"};
    for (size_t i = 0; i < inputs.size(); ++i) inputs[i].source = sources[i];
    auto env = NewMemEnv();
    RunResult r = RunOnce(std::move(inputs), mode, env.get());
    using S = SourcePipelineStats;
    // http: a.json's 20 new events (its second input cannot be read, and a
    // source that is no log cannot say whose it was); s3-trail: the skipped
    // notes (nothing counted) and again.json's 20 duplicates; syslog-tcp: the
    // named input nothing recognises; firehose: b.ndjson's two events and its
    // broken record.
    std::map<std::string, S> want = {{"http", S{20, 0, 0, 0}},
                                     {"s3-trail", S{0, 20, 0, 0}},
                                     {"syslog-tcp", S{0, 0, 0, 1}},
                                     {"firehose", S{2, 0, 1, 0}}};
    EXPECT_EQ(r.stats.by_source, want);
    // Plain `vigil ingest` inputs name none.
    RunResult plain = RunOnce(Inputs(), mode, env.get());
    EXPECT_TRUE(plain.stats.by_source.empty());
  }
}

TEST(PipelineTest, ReingestIntoTheSameStoreStoresAndRaisesNothing) {
  auto env = NewMemEnv();
  RunResult first = RunOnce(Inputs(), Mode::kDetectThread, env.get());
  RunResult second = RunOnce(Inputs(), Mode::kOneThread, env.get());
  EXPECT_EQ(second.stats.events, 0u);
  EXPECT_EQ(second.stats.duplicates, 42u);
  EXPECT_EQ(second.matches, 0u);
  EXPECT_EQ(second.stats.alerts, 0u);
  EXPECT_EQ(second.stored, first.stored);
}

// Runs Inputs() into `store` with the StopLogging detector and `meta`.
Result<IngestStats> IngestInputs(EventStore* store, MetadataStore* meta, Mode mode = Mode::kOneThread) {
  VIGIL_ASSIGN_OR_RETURN(auto writer, store->NewWriter());
  VectorSource source(Inputs());
  StopLoggingDetector detector;
  PipelineOptions options;
  SetMode(mode, &options);
  Pipeline p(&source, &ParserRegistry::Default(), {&detector}, writer.get(), meta, nullptr, options);
  return p.Run();
}

// The commit that records alerts and the segments to publish is applied, but
// the process dies before publishing them: reopening rolls the segments
// forward, so every event is stored and its matches counted exactly once.
TEST(PipelineTest, CrashBetweenAlertCommitAndPublishLosesAndDuplicatesNothing) {
  for (Mode mode : {Mode::kOneThread, Mode::kCommitThread}) {
  SCOPED_TRACE(ModeName(mode));
  auto env = NewMemEnv();
  FaultInjectionEnv fenv(env.get());
  SegmentStoreOptions store_options;
  store_options.env = &fenv;
  FakeMetadata meta;
  meta.lose_reply_to_publishing_commit = true;
  {
    auto store = OpenSegmentStore("/events", store_options);
    EXPECT_EQ(IngestInputs(store->get(), &meta, mode).status().code(), StatusCode::kIoError);
    EXPECT_EQ(*(*store)->CountEvents(), 0u) << "nothing published";
    ASSERT_TRUE(fenv.SimulateCrash().ok());
  }
  EXPECT_EQ(meta.matches, 5u);
  ASSERT_EQ(meta.state.count(kPublishingStateKey), 1u);
  meta.lose_reply_to_publishing_commit = false;
  store_options.env = env.get();
  store_options.remove_stale_temp_files = true;
  auto store = OpenSegmentStore("/events", store_options);
  ASSERT_TRUE(FinishInterruptedCommit(store->get(), &meta).ok());
  EXPECT_EQ(meta.state.count(kPublishingStateKey), 0u);
  EXPECT_EQ(*(*store)->CountEvents(), 22u);
  EXPECT_TRUE(FinishInterruptedCommit(store->get(), &meta).ok()) << "nothing left to do";
  // Ingesting the same inputs again finds every event stored and raises nothing.
  auto stats = IngestInputs(store->get(), &meta, mode);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 0u);
  EXPECT_EQ(meta.matches, 5u);
  }
}

// The same when the process dies before the alert commit: nothing is stored,
// nothing counted, and a re-run does it all once.
TEST(PipelineTest, CrashBeforeAlertCommitLeavesNothingHalfDone) {
  for (Mode mode : {Mode::kOneThread, Mode::kCommitThread}) {
  SCOPED_TRACE(ModeName(mode));
  auto env = NewMemEnv();
  FaultInjectionEnv fenv(env.get());
  SegmentStoreOptions store_options;
  store_options.env = &fenv;
  {
    auto store = OpenSegmentStore("/events", store_options);
    class FailingMetadata final : public MetadataStore {
     public:
      Result<size_t> Commit(const MetadataCommit&) override { return Status::IoError("disk full"); }
      Result<std::vector<Alert>> ListAlerts(const AlertQuery&) override { return std::vector<Alert>{}; }
      Result<std::optional<std::string>> GetState(const std::string&) override {
        return std::optional<std::string>();
      }
    } failing;
    EXPECT_FALSE(IngestInputs(store->get(), &failing, mode).ok());
    ASSERT_TRUE(fenv.SimulateCrash().ok());
  }
  FakeMetadata meta;
  store_options.env = env.get();
  store_options.remove_stale_temp_files = true;
  auto store = OpenSegmentStore("/events", store_options);
  ASSERT_TRUE(FinishInterruptedCommit(store->get(), &meta).ok());
  EXPECT_EQ(*(*store)->CountEvents(), 0u);
  auto stats = IngestInputs(store->get(), &meta, mode);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 22u);
  EXPECT_EQ(meta.matches, 5u);
  EXPECT_EQ(*(*store)->CountEvents(), 22u);
  }
}

// With the commit thread, a commit that fails while the storing thread has
// moved on ends the run with its error (and no later commit is made); a
// re-run then stores and counts what the committed part did not, once.
TEST(PipelineTest, AFailedCommitInFlightEndsTheRunAndARerunCompletesIt) {
  class FailSecond final : public MetadataStore {
   public:
    FakeMetadata meta;
    size_t alert_commits = 0;
    Result<size_t> Commit(const MetadataCommit& c) override {
      if (c.alerts != nullptr && !c.alerts->empty() && ++alert_commits == 2) return Status::IoError("disk full");
      return meta.Commit(c);
    }
    Result<std::vector<Alert>> ListAlerts(const AlertQuery& q) override { return meta.ListAlerts(q); }
    Result<std::optional<std::string>> GetState(const std::string& k) override { return meta.GetState(k); }
  } failing;
  auto env = NewMemEnv();
  SegmentStoreOptions store_options;
  store_options.env = env.get();
  PipelineOptions options;
  SetMode(Mode::kCommitThread, &options);
  options.batch_events = 3;
  options.commit_fold_entries = 1;  // a commit after every batch that matched
  {
    auto store = OpenSegmentStore("/events", store_options);
    auto writer = (*store)->NewWriter();
    VectorSource source(Inputs());
    StopLoggingDetector detector;
    Pipeline p(&source, &ParserRegistry::Default(), {&detector}, writer->get(), &failing, nullptr, options);
    auto stats = p.Run();
    ASSERT_FALSE(stats.ok());
    EXPECT_EQ(stats.status().code(), StatusCode::kIoError);
    EXPECT_EQ(failing.alert_commits, 2u) << "nothing committed after the failure";
  }
  const uint64_t first_matches = failing.meta.matches;
  EXPECT_GT(first_matches, 0u);
  EXPECT_LT(first_matches, 5u);
  store_options.remove_stale_temp_files = true;
  auto store = OpenSegmentStore("/events", store_options);
  ASSERT_TRUE(FinishInterruptedCommit(store->get(), &failing.meta).ok());
  auto stats = IngestInputs(store->get(), &failing.meta, Mode::kCommitThread);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(failing.meta.matches, 5u);
  EXPECT_EQ(*(*store)->CountEvents(), 22u);
}

TEST(PipelineTest, ANamedParserIsUsedInsteadOfRecognitionAndAnUnknownOneIsAnError) {
  auto env = NewMemEnv();
  // CloudTrail content forced through the generic JSON parser: stored, but
  // not seen as CloudTrail, so the CloudTrail detector does not fire.
  RunResult r = RunOnce({RawInput{"app.ndjson", Record(1, "StopLogging") + "\n", true, "json"},
                         RawInput{"other.ndjson", Record(2, "StopLogging") + "\n", true, "no-such-parser"}},
                        Mode::kOneThread, env.get());
  EXPECT_EQ(r.stats.events, 1u);
  EXPECT_EQ(r.stats.failed_inputs, 1u);
  EXPECT_EQ(r.matches, 0u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "other.ndjson: no parser named 'no-such-parser'");
}

TEST(PipelineTest, OverlongLinesAreDeadLetteredWithTheLimit) {
  auto env = NewMemEnv();
  std::string big = R"({"eventName":"X","eventSource":"s3.amazonaws.com","pad":")" + std::string(5 << 20, 'a') + "\"}";
  RunResult r = RunOnce({RawInput{"big.ndjson", Record(1, "ListTrails") + "\n" + big + "\n", true, ""}}, Mode::kOneThread, env.get());
  EXPECT_EQ(r.stats.events, 1u);
  ASSERT_EQ(r.dead.size(), 1u);
  EXPECT_NE(r.dead[0].reason.find("exceeds the limit"), std::string::npos) << r.dead[0].reason;
  EXPECT_LE(r.dead[0].raw.size(), 65536u);
}

// serve's shape: the write-ahead log as a never-ending source. Events and
// alerts become visible on the commit interval while the source stays open;
// the committed position is where a restart resumes, and records read again
// (a checkpoint lost in a crash) store and raise nothing twice.
TEST(PipelineTest, WalSourceCommitsOnTimeAndReplayDuplicatesNothing) {
  for (Mode mode : {Mode::kParseThread, Mode::kDetectThread, Mode::kCommitThread}) {
  SCOPED_TRACE(ModeName(mode));
  const std::string wal_dir = (std::filesystem::temp_directory_path() /
                               ("vigil_pipeline_wal_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(wal_dir);
  auto env = NewMemEnv();
  SegmentStoreOptions store_options;
  store_options.env = env.get();
  auto store = OpenSegmentStore("/events", store_options);
  ASSERT_TRUE(store.ok());
  StopLoggingDetector detector;
  FakeMetadata meta;
  PipelineOptions options;
  options.commit_interval = std::chrono::milliseconds(30);
  // Only a source that never runs dry waits for this; this one does.
  options.busy_commit_interval = std::chrono::hours(1);
  SetMode(mode, &options);

  auto run = [&](uint64_t checkpoint, const std::function<void(Wal*, std::atomic<uint64_t>*)>& feed) {
    auto wal = Wal::Open(wal_dir, checkpoint);
    EXPECT_TRUE(wal.ok()) << wal.status().ToString();
    auto source = MakeWalSource(wal->get());
    auto writer = (*store)->NewWriter();
    EXPECT_TRUE(writer.ok());
    Pipeline p(source.get(), &ParserRegistry::Default(), {&detector}, writer->get(), &meta, nullptr, options);
    std::atomic<uint64_t> committed{0};
    p.set_on_commit([&](const CommitInfo& c) {
      for (int64_t t : c.matched_ingest_ns) EXPECT_GE(c.commit_ns, t);
      committed += c.events;
    });
    Result<IngestStats> stats = Status::Internal("not run");
    std::thread t([&] { stats = p.Run(); });
    feed(wal->get(), &committed);
    (*wal)->Close();
    t.join();
    EXPECT_TRUE(stats.ok()) << stats.status().ToString();
    return *stats;
  };

  auto first = run(0, [&](Wal* wal, std::atomic<uint64_t>* committed) {
    ASSERT_TRUE(wal->Accept({IntakeRecord{"http", "req 1", Record(1, "StopLogging") + "\n" + Record(2, "ListTrails"), ""}}).ok());
    ASSERT_TRUE(wal->Accept({IntakeRecord{"http", "req 2", Record(3, "StopLogging"), "cloudtrail"}}).ok());
    // Visible while the source is still open (committed on the interval).
    for (int i = 0; i < 500 && committed->load() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(committed->load(), 3u);
  });
  EXPECT_EQ(first.events, 3u);
  EXPECT_EQ(meta.matches, 2u);
  EXPECT_EQ(meta.state[kWalCheckpointKey], "2");
  EXPECT_EQ(*(*store)->CountEvents(), 3u);

  // As if the commit holding the checkpoint had been lost: both records are
  // read again, and nothing is stored or counted twice.
  auto again = run(0, [](Wal*, std::atomic<uint64_t>*) {});
  EXPECT_EQ(again.events, 0u);
  EXPECT_EQ(again.duplicates, 3u);
  EXPECT_EQ(meta.matches, 2u);
  EXPECT_EQ(*(*store)->CountEvents(), 3u);

  // From the committed checkpoint nothing is replayed at all.
  auto resumed = run(2, [](Wal*, std::atomic<uint64_t>*) {});
  EXPECT_EQ(resumed.events + resumed.duplicates, 0u);
  std::filesystem::remove_all(wal_dir);
  }
}

// A never-ending source that always has input waiting (a backlog) is
// committed on busy_commit_interval, not on commit_interval.
TEST(PipelineTest, ABusySourceIsCommittedLessOften) {
  class SlowSource final : public Source {
   public:
    std::string_view name() const override { return "slow"; }
    size_t total() const override { return 40; }
    std::optional<Result<RawInput>> Next() override {
      if (next_ == 40) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      ++next_;
      return Result<RawInput>(RawInput{"r" + std::to_string(next_), Record(next_, "ListTrails"), true, ""});
    }

   private:
    int next_ = 0;
  };
  for (auto busy : {std::chrono::milliseconds(0), std::chrono::milliseconds(3600'000)}) {
    SCOPED_TRACE(busy.count());
    auto env = NewMemEnv();
    SegmentStoreOptions store_options;
    store_options.env = env.get();
    auto store = OpenSegmentStore("/events", store_options);
    ASSERT_TRUE(store.ok());
    auto writer = (*store)->NewWriter();
    SlowSource source;
    FakeMetadata meta;
    PipelineOptions options;
    SetMode(Mode::kDetectThread, &options);
    options.batch_events = 1;
    options.commit_interval = std::chrono::milliseconds(5);
    options.busy_commit_interval = busy;
    Pipeline p(&source, &ParserRegistry::Default(), {}, writer->get(), &meta, nullptr, options);
    int commits = 0;
    p.set_on_commit([&](const CommitInfo&) { ++commits; });
    auto stats = p.Run();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->events, 40u);
    // 120 ms of input: commits every 5 ms, or only the final one.
    if (busy.count() == 0) {
      EXPECT_GT(commits, 3);
    } else {
      EXPECT_EQ(commits, 1);
    }
  }
}

// While busy, commits wait a quarter of the backlog's age (between the busy
// and the maximum busy interval): far behind, they come further apart.
TEST(PipelineTest, TheFurtherBehindTheFewerCommits) {
  class LaggingSource final : public Source {
   public:
    explicit LaggingSource(std::chrono::milliseconds lag) : lag_(lag) {}
    std::string_view name() const override { return "lagging"; }
    std::optional<Result<RawInput>> Next() override {
      if (next_ == 40) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      ++next_;
      RawInput in{"r" + std::to_string(next_), Record(next_, "ListTrails"), true, ""};
      in.received_ns = NowNanos() - std::chrono::nanoseconds(lag_).count();
      return Result<RawInput>(std::move(in));
    }

   private:
    std::chrono::milliseconds lag_;
    int next_ = 0;
  };
  for (auto lag : {std::chrono::milliseconds(0), std::chrono::milliseconds(3600'000)}) {
    SCOPED_TRACE(lag.count());
    auto env = NewMemEnv();
    SegmentStoreOptions store_options;
    store_options.env = env.get();
    auto store = OpenSegmentStore("/events", store_options);
    ASSERT_TRUE(store.ok());
    auto writer = (*store)->NewWriter();
    LaggingSource source(lag);
    FakeMetadata meta;
    PipelineOptions options;
    SetMode(Mode::kDetectThread, &options);
    options.batch_events = 1;
    options.commit_interval = std::chrono::milliseconds(5);
    options.busy_commit_interval = std::chrono::milliseconds(5);
    options.max_busy_commit_interval = std::chrono::hours(1);
    Pipeline p(&source, &ParserRegistry::Default(), {}, writer->get(), &meta, nullptr, options);
    int commits = 0;
    p.set_on_commit([&](const CommitInfo& c) {
      ++commits;
      EXPECT_LE(c.start_ns, c.commit_ns);
    });
    auto stats = p.Run();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->events, 40u);
    // 120 ms of input: caught up, commits every 5 ms; an hour behind, a
    // quarter of an hour apart, so only the final one.
    if (lag.count() == 0) {
      EXPECT_GT(commits, 3);
    } else {
      EXPECT_EQ(commits, 1);
    }
  }
}

TEST(BoundedQueueTest, BlocksWhenFullAndDrainsAfterClose) {
  BoundedQueue<int> q(2);
  std::vector<int> got;
  std::thread consumer([&] {
    while (auto v = q.Pop()) got.push_back(*v);
  });
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(q.Push(i));
  q.Close();
  consumer.join();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], i);
  EXPECT_FALSE(q.Push(1));
}

// Event-to-alert latency samples are arrivals of the events whose detection
// raised a match, also for matches about made events (correlations).
TEST(PipelineTest, LatencySamplesAreArrivalsOfTheEventsThatRaisedMatches) {
  auto env = NewMemEnv();
  SegmentStoreOptions store_options;
  store_options.env = env.get();
  auto store = OpenSegmentStore("/events", store_options);
  ASSERT_TRUE(store.ok());
  auto writer = (*store)->NewWriter();
  ASSERT_TRUE(writer.ok());
  RawInput in{"req", Record(1, "StopLogging") + "\n" + Record(2, "ListTrails"), true, ""};
  in.received_ns = NowNanos();
  VectorSource source({in});
  WindowDetector detector;
  FakeMetadata meta;
  Pipeline p(&source, &ParserRegistry::Default(), {&detector}, writer->get(), &meta, nullptr, PipelineOptions{});
  std::vector<int64_t> samples;
  int64_t commit_ns = 0;
  p.set_on_commit([&](const CommitInfo& c) {
    samples.insert(samples.end(), c.matched_ingest_ns.begin(), c.matched_ingest_ns.end());
    commit_ns = c.commit_ns;
  });
  auto stats = p.Run();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0], in.received_ns);  // not the made event's 1 s after the epoch
  EXPECT_LT(commit_ns - samples[0], 60LL * 1'000'000'000);
}


// ---------------------------------------------------------------- minimisation

// Remembers every event detection sees: minimisation runs after it.
class SeeingDetector final : public Detector {
 public:
  std::map<std::string, size_t> seen;  // id -> raw bytes
  std::string_view name() const override { return "seeing"; }
  void Process(const Event& e, const MatchSink&) override { seen[e.id] = e.raw.size(); }
};

std::string ReadWhole(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<RawInput> DirInputs(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<RawInput> out;
  for (const auto& f : files) out.push_back(RawInput{f.string(), ReadWhole(f), true, ""});
  return out;
}

struct MinimiseRun {
  IngestStats stats;
  std::map<std::string, size_t> seen;
  std::vector<StoredEvent> stored;
  std::map<std::string, std::string> state;
};

MinimiseRun RunMinimised(std::vector<RawInput> inputs, std::vector<MinimiseRule> rules, Mode mode = Mode::kDetectThread,
                         size_t batch_events = 64) {
  auto env = NewMemEnv();
  SegmentStoreOptions store_options;
  store_options.env = env.get();
  auto store = OpenSegmentStore("/events", store_options);
  auto writer = (*store)->NewWriter();
  VectorSource source(std::move(inputs));
  SeeingDetector detector;
  FakeMetadata meta;
  auto minimiser = Minimiser::Create(std::move(rules));
  EXPECT_TRUE(minimiser.ok()) << minimiser.status().ToString();
  PipelineOptions options;
  SetMode(mode, &options);
  options.batch_events = batch_events;
  options.minimiser = minimiser->get();
  Pipeline p(&source, &ParserRegistry::Default(), {&detector}, writer->get(), &meta, nullptr, options);
  auto stats = p.Run();
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  MinimiseRun r;
  r.stats = *stats;
  r.seen = detector.seen;
  r.state = meta.state;
  writer->reset();
  ScanOptions scan;
  scan.newest_first = false;
  EXPECT_TRUE((*store)->Scan(scan, [&](const StoredEvent& e) {
                        r.stored.push_back(e);
                        return true;
                      }).ok());
  return r;
}

const std::filesystem::path kStratusLogs = VIGIL_SHARED_DATA "/cloudtrail/stratus-red-team/docs/detonation-logs";
const std::filesystem::path kVpcFlows = VIGIL_SHARED_DATA "/vpcflow/awsdocs-examples.log";

TEST(MinimiseTest, DropsNoisyReadOnlyCallsAfterDetectionAndCountsThem) {
  // The expected drops, read from the files independently of vigil's parsers.
  std::set<std::string> describe_read_only;
  size_t total = 0;
  simdjson::dom::parser parser;
  for (const auto& in : DirInputs(kStratusLogs)) {
    simdjson::dom::array records;
    ASSERT_FALSE(parser.parse(in.bytes).get(records)) << in.name;
    for (simdjson::dom::element r : records) {
      ++total;
      bool read_only = false;
      std::string_view name, id;
      if (r["readOnly"].get(read_only)) read_only = false;
      if (r["eventName"].get(name)) name = {};
      if (r["eventID"].get(id)) id = {};
      if (read_only && name.substr(0, 8) == "Describe") describe_read_only.insert(std::string(id));
    }
  }
  ASSERT_EQ(total, 310u);
  ASSERT_EQ(describe_read_only.size(), 165u);

  MinimiseRule drop;
  drop.source = "cloudtrail";
  drop.kind = MinimiseRule::Kind::kDrop;
  drop.where = "readOnly=true eventName=Describe*";
  MinimiseRun r = RunMinimised(DirInputs(kStratusLogs), {drop});
  EXPECT_EQ(r.seen.size(), 310u);  // detection saw everything
  EXPECT_EQ(r.stats.events, 310u - 165u);
  EXPECT_EQ(r.stats.minimised, 165u);
  ASSERT_EQ(r.stored.size(), 145u);
  uint64_t dropped_bytes = 0;
  for (const auto& [id, bytes] : r.seen) dropped_bytes += describe_read_only.count(id) ? bytes : 0;
  for (const StoredEvent& e : r.stored) EXPECT_EQ(describe_read_only.count(e.id), 0u) << e.id;
  // The counters are committed with the events, for a cost report.
  FakeMetadata committed;
  committed.state = r.state;
  auto counters = LoadMinimiseCounters(&committed);
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ((*counters)["cloudtrail"]["drop"].events, 165u);
  EXPECT_EQ((*counters)["cloudtrail"]["drop"].bytes, dropped_bytes);

  // before_detection: detection no longer sees what the rule drops.
  drop.before_detection = true;
  MinimiseRun before = RunMinimised(DirInputs(kStratusLogs), {drop});
  EXPECT_EQ(before.seen.size(), 145u);
  EXPECT_EQ(before.stored.size(), 145u);
}

// VPC flow records by the fields the log names (header lines, else the
// default format), read independently of vigil's parser.
std::vector<std::map<std::string, std::string>> FlowRecords() {
  std::istringstream in(ReadWhole(kVpcFlows));
  std::vector<std::string> fields = {"version", "account-id", "interface-id", "srcaddr", "dstaddr",
                                     "srcport", "dstport",    "protocol",     "packets", "bytes",
                                     "start",   "end",        "action",       "log-status"};
  std::vector<std::map<std::string, std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (!w.empty() && w[0] == "version") {
      fields = w;
      continue;
    }
    std::map<std::string, std::string> rec;
    for (size_t i = 0; i < w.size() && i < fields.size(); ++i) rec[fields[i]] = w[i];
    out.push_back(rec);
  }
  return out;
}

TEST(MinimiseTest, SamplesOneInNByEventIdWhateverTheBatching) {
  size_t rejects = 0;
  for (const auto& r : FlowRecords()) rejects += r.count("action") && r.at("action") == "REJECT";
  ASSERT_EQ(rejects, 2u);
  MinimiseRule sample;
  sample.source = "vpcflow";
  sample.kind = MinimiseRule::Kind::kSample;
  sample.where = "action=ACCEPT";  // the documents hold 2 REJECT flows, too few to show sampling
  sample.sample_every = 3;
  std::vector<RawInput> in = {RawInput{kVpcFlows.string(), ReadWhole(kVpcFlows), true, "vpcflow"}};
  MinimiseRun a = RunMinimised(in, {sample}, Mode::kDetectThread, 64);
  MinimiseRun b = RunMinimised(in, {sample}, Mode::kOneThread, 1);
  size_t accepts = 0;
  for (const auto& r : FlowRecords()) accepts += r.count("action") && r.at("action") == "ACCEPT";
  ASSERT_EQ(accepts, 17u);
  EXPECT_EQ(a.seen.size(), FlowRecords().size());
  ASSERT_EQ(a.stored.size(), b.stored.size());
  for (size_t i = 0; i < a.stored.size(); ++i) EXPECT_EQ(a.stored[i].id, b.stored[i].id);
  size_t kept_accepts = 0;
  for (const auto& e : a.stored) kept_accepts += e.raw.find(" ACCEPT ") != std::string::npos;
  EXPECT_EQ(kept_accepts + a.stats.minimised, accepts);
  EXPECT_GT(kept_accepts, 0u);
  EXPECT_LT(kept_accepts, accepts / 2);  // about a third
  EXPECT_EQ(a.stored.size(), FlowRecords().size() - a.stats.minimised);
  auto counters = ParseMinimiseCounters(a.state.at(kMinimiseCountersKey));
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ((*counters)["vpcflow"]["sample"].events, a.stats.minimised);
}

TEST(MinimiseTest, AggregatesFlowsPerFiveTuplePerWindowIntoSummaries) {
  MinimiseRule agg;
  agg.source = "vpcflow";
  agg.kind = MinimiseRule::Kind::kAggregate;
  agg.name = "flows-per-tuple";
  // Flows of a format without `start` are timed by their arrival; they are
  // left out here to keep the expected windows fixed.
  agg.where = "action=ACCEPT start=*";
  agg.by = {"srcaddr", "dstaddr", "srcport", "dstport", "protocol"};
  agg.sum = {"packets", "bytes"};
  agg.window_seconds = 3600;
  // Expected: ACCEPT flows with a `start` grouped by 5-tuple and hour of it;
  // sums over the records that have the summed field.
  struct Want {
    uint64_t count = 0;
    int64_t packets = 0, bytes = 0;
  };
  std::map<std::string, Want> want;
  size_t accepts = 0;
  for (const auto& r : FlowRecords()) {
    if (!r.count("action") || r.at("action") != "ACCEPT" || !r.count("start")) continue;
    ++accepts;
    const int64_t hour = std::stoll(r.at("start")) / 3600 * 3600;
    std::string key = r.at("srcaddr") + " " + r.at("dstaddr") + " " + r.at("srcport") + " " + r.at("dstport") + " " +
                      r.at("protocol") + " " + std::to_string(hour);
    Want& w = want[key];
    ++w.count;
    if (r.count("packets")) w.packets += std::stoll(r.at("packets"));
    if (r.count("bytes")) w.bytes += std::stoll(r.at("bytes"));
  }
  ASSERT_EQ(accepts, 13u);
  ASSERT_LT(want.size(), accepts);  // some flows do share a tuple and hour

  std::vector<RawInput> in = {RawInput{kVpcFlows.string(), ReadWhole(kVpcFlows), true, "vpcflow"}};
  MinimiseRun r = RunMinimised(in, {agg});
  EXPECT_EQ(r.stats.minimised, accepts);
  EXPECT_EQ(r.stats.summaries, want.size());
  simdjson::dom::parser parser;
  std::map<std::string, Want> got;
  size_t flows = 0;
  for (const StoredEvent& e : r.stored) {
    if (e.source_type == "vpcflow") {
      ++flows;
      // The ACCEPT flows left are those without a start time.
      if (e.raw.find(" ACCEPT ") != std::string::npos) {
        EXPECT_EQ(e.raw.find(" start "), std::string::npos) << e.raw;
      }
      continue;
    }
    ASSERT_EQ(e.source_type, "vpcflow.summary");
    simdjson::dom::element doc;
    ASSERT_FALSE(parser.parse(e.raw).get(doc)) << e.raw;
    std::string_view src, dst, sp, dp, proto, of;
    int64_t packets = 0, bytes = 0;
    uint64_t count = 0;
    ASSERT_FALSE(doc["srcaddr"].get(src) || doc["dstaddr"].get(dst) || doc["srcport"].get(sp) ||
                 doc["dstport"].get(dp) || doc["protocol"].get(proto) || doc["packets"].get(packets) ||
                 doc["bytes"].get(bytes) || doc["summary"]["count"].get(count) || doc["summary"]["of"].get(of));
    EXPECT_EQ(of, "vpcflow");
    const std::string key = std::string(src) + " " + std::string(dst) + " " + std::string(sp) + " " +
                            std::string(dp) + " " + std::string(proto) + " " +
                            std::to_string(e.time_ns / kNanosPerSecond);
    got[key] = Want{count, packets, bytes};
  }
  EXPECT_EQ(flows, FlowRecords().size() - accepts);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [key, w] : want) {
    ASSERT_TRUE(got.count(key)) << key;
    EXPECT_EQ(got[key].count, w.count) << key;
    EXPECT_EQ(got[key].packets, w.packets) << key;
    EXPECT_EQ(got[key].bytes, w.bytes) << key;
  }
  auto counters = ParseMinimiseCounters(r.state.at(kMinimiseCountersKey));
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ((*counters)["vpcflow"]["aggregate"].events, accepts);
  EXPECT_EQ((*counters)["vpcflow"]["aggregate"].summaries, want.size());
  EXPECT_EQ(r.state.at(kMinimiseOpenKey), "");  // a finite run writes every window out
}

TEST(MinimiseTest, OpenAggregatesCarryOverThroughState) {
  MinimiseRule agg;
  agg.source = "vpcflow";
  agg.kind = MinimiseRule::Kind::kAggregate;
  agg.by = {"srcaddr"};
  agg.sum = {"bytes"};
  auto m = Minimiser::Create({agg});
  ASSERT_TRUE(m.ok());
  std::vector<Event> events;
  struct Sink : ParseSink {
    std::vector<Event>* out;
    void OnEvent(Event&& e) override { out->push_back(std::move(e)); }
    void OnDeadLetter(DeadLetter&&) override {}
    void OnWarning(std::string_view, std::string_view) override {}
  } sink;
  sink.out = &events;
  const std::string text = ReadWhole(kVpcFlows);
  ASSERT_TRUE(ParserRegistry::Default().Find("vpcflow")->Parse(ParseInput{"f", text, 0, {}}, sink).ok());
  for (const Event& e : events) (void)(*m)->Keep(e, Minimiser::Stage::kAfterDetection);
  ASSERT_GT((*m)->open_groups(), 0u);
  std::map<std::string, std::string> state;
  ASSERT_TRUE((*m)->SaveState([&](const std::string& k, const std::string& v) {
                 state[k] = v;
                 return Status::Ok();
               }).ok());
  auto restored = Minimiser::Create({agg});
  ASSERT_TRUE(restored.ok());
  ASSERT_TRUE((*restored)->RestoreState([&](const std::string& k) -> Result<std::optional<std::string>> {
                 if (!state.count(k)) return std::optional<std::string>();
                 return std::optional<std::string>(state[k]);
               }).ok());
  EXPECT_EQ((*restored)->open_groups(), (*m)->open_groups());
  std::vector<Event> a, b;
  (*m)->Flush(true, &a);
  (*restored)->Flush(true, &b);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].raw, b[i].raw);
  }
  // A rule removed from the configuration does not lose its open groups.
  MinimiseRule other = agg;
  other.name = "renamed";
  auto changed = Minimiser::Create({other});
  ASSERT_TRUE((*changed)->RestoreState([&](const std::string& k) -> Result<std::optional<std::string>> {
                 if (!state.count(k)) return std::optional<std::string>();
                 return std::optional<std::string>(state[k]);
               }).ok());
  std::vector<Event> c;
  (*changed)->Flush(false, &c);
  EXPECT_EQ(c.size(), a.size());
}

TEST(MinimiseTest, RejectsBadRulesNamingThem) {
  MinimiseRule r;
  r.source = "cloudtrail";
  EXPECT_NE(Minimiser::Create({r}).status().message().find("one of drop, sample or aggregate"), std::string::npos);
  r.kind = MinimiseRule::Kind::kDrop;
  r.name = "noisy";
  EXPECT_NE(Minimiser::Create({r}).status().message().find("minimise rule noisy: drop needs a condition"),
            std::string::npos);
  r.where = "eventName=(";
  EXPECT_NE(Minimiser::Create({r}).status().message().find("minimise rule noisy"), std::string::npos);
  r.kind = MinimiseRule::Kind::kSample;
  r.where = "";
  r.sample_every = 1;
  EXPECT_NE(Minimiser::Create({r}).status().message().find("at least 2"), std::string::npos);
}

}  // namespace
}  // namespace vigil
