#include "ingest/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <map>
#include <thread>

#include "alert/fold.h"
#include "common/time.h"
#include "env/fault_injection_env.h"
#include "env/mem_env.h"
#include "formats/parser.h"
#include "ingest/bounded_queue.h"
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
  std::map<std::string, std::string> state;
  bool lose_reply_to_publishing_commit = false;

  Result<size_t> Commit(const MetadataCommit& c) override {
    ++commits;
    size_t n = 0;
    if (c.alerts != nullptr) {
      for (const AlertDelta& d : c.alerts->deltas()) matches += d.count;
      n = c.alerts->size();
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
};

RunResult RunOnce(std::vector<RawInput> inputs, bool threaded, Env* env, size_t batch_events = 3) {
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
  options.threaded = threaded;
  options.batch_events = batch_events;  // small: many batches through the queue
  options.queue_batches = 2;
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

TEST(PipelineTest, CountsDedupsDetectsAndDeadLettersInBothModes) {
  for (bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "threaded" : "one thread");
    auto env = NewMemEnv();
    RunResult r = RunOnce(Inputs(), threaded, env.get());
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

TEST(PipelineTest, ReingestIntoTheSameStoreStoresAndRaisesNothing) {
  auto env = NewMemEnv();
  RunResult first = RunOnce(Inputs(), true, env.get());
  RunResult second = RunOnce(Inputs(), false, env.get());
  EXPECT_EQ(second.stats.events, 0u);
  EXPECT_EQ(second.stats.duplicates, 42u);
  EXPECT_EQ(second.matches, 0u);
  EXPECT_EQ(second.stats.alerts, 0u);
  EXPECT_EQ(second.stored, first.stored);
}

// Runs Inputs() into `store` with the StopLogging detector and `meta`.
Result<IngestStats> IngestInputs(EventStore* store, MetadataStore* meta) {
  VIGIL_ASSIGN_OR_RETURN(auto writer, store->NewWriter());
  VectorSource source(Inputs());
  StopLoggingDetector detector;
  Pipeline p(&source, &ParserRegistry::Default(), {&detector}, writer.get(), meta, nullptr, {});
  return p.Run();
}

// The commit that records alerts and the segments to publish is applied, but
// the process dies before publishing them: reopening rolls the segments
// forward, so every event is stored and its matches counted exactly once.
TEST(PipelineTest, CrashBetweenAlertCommitAndPublishLosesAndDuplicatesNothing) {
  auto env = NewMemEnv();
  FaultInjectionEnv fenv(env.get());
  SegmentStoreOptions store_options;
  store_options.env = &fenv;
  FakeMetadata meta;
  meta.lose_reply_to_publishing_commit = true;
  {
    auto store = OpenSegmentStore("/events", store_options);
    EXPECT_EQ(IngestInputs(store->get(), &meta).status().code(), StatusCode::kIoError);
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
  auto stats = IngestInputs(store->get(), &meta);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 0u);
  EXPECT_EQ(meta.matches, 5u);
}

// The same when the process dies before the alert commit: nothing is stored,
// nothing counted, and a re-run does it all once.
TEST(PipelineTest, CrashBeforeAlertCommitLeavesNothingHalfDone) {
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
    EXPECT_FALSE(IngestInputs(store->get(), &failing).ok());
    ASSERT_TRUE(fenv.SimulateCrash().ok());
  }
  FakeMetadata meta;
  store_options.env = env.get();
  store_options.remove_stale_temp_files = true;
  auto store = OpenSegmentStore("/events", store_options);
  ASSERT_TRUE(FinishInterruptedCommit(store->get(), &meta).ok());
  EXPECT_EQ(*(*store)->CountEvents(), 0u);
  auto stats = IngestInputs(store->get(), &meta);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 22u);
  EXPECT_EQ(meta.matches, 5u);
  EXPECT_EQ(*(*store)->CountEvents(), 22u);
}

TEST(PipelineTest, ANamedParserIsUsedInsteadOfRecognitionAndAnUnknownOneIsAnError) {
  auto env = NewMemEnv();
  // CloudTrail content forced through the generic JSON parser: stored, but
  // not seen as CloudTrail, so the CloudTrail detector does not fire.
  RunResult r = RunOnce({RawInput{"app.ndjson", Record(1, "StopLogging") + "\n", true, "json"},
                         RawInput{"other.ndjson", Record(2, "StopLogging") + "\n", true, "no-such-parser"}},
                        false, env.get());
  EXPECT_EQ(r.stats.events, 1u);
  EXPECT_EQ(r.stats.failed_inputs, 1u);
  EXPECT_EQ(r.matches, 0u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "other.ndjson: no parser named 'no-such-parser'");
}

TEST(PipelineTest, OverlongLinesAreDeadLetteredWithTheLimit) {
  auto env = NewMemEnv();
  std::string big = R"({"eventName":"X","eventSource":"s3.amazonaws.com","pad":")" + std::string(5 << 20, 'a') + "\"}";
  RunResult r = RunOnce({RawInput{"big.ndjson", Record(1, "ListTrails") + "\n" + big + "\n", true, ""}}, false, env.get());
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

}  // namespace
}  // namespace vigil
