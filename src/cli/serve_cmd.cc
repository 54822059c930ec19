// `vigil serve`: the long-running collector and detector (docs/serve.md).
//
//   sources (HTTP ingest, syslog, S3, directories) ─► Wal::Accept (durable, then ack) ─► WAL segments
//     ─► WalSource ─► Pipeline (parse, dedup, detect, store; commits every
//        commit_interval with the WAL position) ─► Wal::Checkpoint
//
// Start-up: the data directory is opened for writing (lock, interrupted
// commit finished), the WAL is recovered and replayed from the checkpoint the
// last commit stored; /readyz turns 200 once that replay has been read.
// SIGTERM/SIGINT: ingest answers 503, requests in flight finish, the log is
// closed, the pipeline drains it and commits, exit 0. SIGHUP: threat-intel
// feeds are read again (they are also re-read when their files change).
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/intel_feeds.h"
#include "cli/scheduled_rules.h"
#include "cli/workspace.h"
#include "common/metrics.h"
#include "common/time.h"
#include "env/env.h"
#include "ingest/dir_watch.h"
#include "ingest/pipeline.h"
#include "ingest/rebuild_event.h"
#include "ingest/s3_source.h"
#include "ingest/syslog_listener.h"
#include "ingest/wal.h"
#include "intel/intel_detector.h"
#include "server/config.h"
#include "server/firehose_route.h"
#include "server/http_server.h"
#include "server/log.h"
#include "store/dead_letters.h"
#include "tier/tierer.h"

namespace vigil::cli {
namespace {

using server::Log;
using server::LogLevel;

// Pipeline counters as Prometheus series, per collecting source, updated
// from the store thread's progress callback with what changed since the last
// call.
class PipelineMetrics {
 public:
  explicit PipelineMetrics(MetricsRegistry* m)
      : m_(m),
        alerts_(m->GetCounter("vigil_alerts_committed_total", "Alerts created or updated by commits.")),
        commits_(m->GetCounter("vigil_commits_total", "Pipeline commits (events, alerts and WAL position).")),
        latency_(m->GetHistogram(kMetricEventToAlert.name, kMetricEventToAlert.help)),
        commit_seconds_(m->GetHistogram("vigil_commit_seconds",
                                        "Time a pipeline commit took (sealing segments, their fsyncs and the "
                                        "metadata transaction), during which the storing thread stores nothing.")) {}

  // What data minimisation kept out of the store, per source and rule kind
  // (events and raw bytes), from the minimiser's cumulative counters.
  void Minimised(MetricsRegistry* m, const MinimiseCounters& counters) {
    for (const auto& [source, kinds] : counters) {
      for (const auto& [kind, c] : kinds) {
        MinimiseCount& last = last_minimised_[source][kind];
        const MetricLabels labels{{"log_type", source}, {"kind", kind}};
        m->GetCounter("vigil_minimised_events_total",
                      "Events data minimisation kept out of the store (dropped, sampled out or aggregated).", labels)
            .Inc(c.events - std::min(c.events, last.events));
        m->GetCounter("vigil_minimised_bytes_total", "Raw bytes of the events data minimisation kept out of the store.",
                      labels)
            .Inc(c.bytes - std::min(c.bytes, last.bytes));
        m->GetCounter("vigil_minimised_summaries_total", "Aggregate summary records stored instead of events.", labels)
            .Inc(c.summaries - std::min(c.summaries, last.summaries));
        last = c;
      }
    }
  }

  void Progress(const IngestStats& s) {
    for (const auto& [source, now] : s.by_source) {
      PerSource& c = Per(source);
      c.stored.Inc(now.events - c.last.events);
      c.duplicates.Inc(now.duplicates - c.last.duplicates);
      c.dead.Inc(now.errors - c.last.errors);
      c.failed.Inc(now.failed_inputs - c.last.failed_inputs);
      c.last = now;
    }
    alerts_.Inc(s.alerts - last_alerts_);
    last_alerts_ = s.alerts;
  }
  void Commit(const CommitInfo& c) {
    commits_.Inc();
    commit_seconds_.Observe(static_cast<double>(c.commit_ns - c.start_ns) / 1e9);
    for (int64_t t : c.matched_ingest_ns) latency_.Observe(static_cast<double>(c.commit_ns - t) / 1e9);
  }

 private:
  struct PerSource {
    Counter& stored;
    Counter& duplicates;
    Counter& dead;
    Counter& failed;
    SourcePipelineStats last;
  };
  PerSource& Per(const std::string& source) {
    auto it = per_.find(source);
    if (it != per_.end()) return it->second;
    const MetricLabels labels = {{"source", source}};
    return per_
        .emplace(source,
                 PerSource{m_->GetCounter("vigil_events_stored_total", "Events parsed and newly stored.", labels),
                           m_->GetCounter("vigil_events_duplicate_total",
                                          "Events parsed but already stored (same id), e.g. replayed after a crash.",
                                          labels),
                           m_->GetCounter(kMetricDroppedRecords.name, kMetricDroppedRecords.help,
                                          {{"source", source}, {"reason", "dead_letter"}}),
                           m_->GetCounter(kMetricDroppedRecords.name, kMetricDroppedRecords.help,
                                          {{"source", source}, {"reason", "unreadable_input"}}),
                           {}})
        .first->second;
  }

  MetricsRegistry* m_;
  Counter& alerts_;
  Counter& commits_;
  Histogram& latency_;
  Histogram& commit_seconds_;
  std::map<std::string, PerSource> per_;  // the store thread's only
  uint64_t last_alerts_ = 0;
  MinimiseCounters last_minimised_;
};

// Pipeline diagnostics as log lines; per-record warnings are capped per
// second so a flood of bad input cannot flood the log (dead letters keep them).
class DiagnosticLog {
 public:
  void operator()(DiagnosticLevel level, const std::string& message) {
    if (level == DiagnosticLevel::kWarning) {
      auto now = std::chrono::steady_clock::now();
      if (now - window_ > std::chrono::seconds(1)) {
        if (suppressed_ > 0)
          Log(LogLevel::kWarn, "warnings suppressed", {{"count", std::to_string(suppressed_)}});
        window_ = now;
        in_window_ = 0;
        suppressed_ = 0;
      }
      if (++in_window_ > kPerSecond) {
        ++suppressed_;
        return;
      }
    }
    Log(level == DiagnosticLevel::kError ? LogLevel::kError
        : level == DiagnosticLevel::kWarning ? LogLevel::kWarn
                                             : LogLevel::kInfo,
        message, {{"component", "pipeline"}});
  }

 private:
  static constexpr int kPerSecond = 10;
  std::chrono::steady_clock::time_point window_{};
  int in_window_ = 0;
  uint64_t suppressed_ = 0;
};

int Fail(const std::string& what, const Status& st) {
  Log(LogLevel::kError, what, {{"error", st.message()}});
  return kExitFatal;
}

// The S3 and directory sources of the configuration (docs/polling-sources.md),
// each on its own thread, handing objects and files to `intake`.
Result<std::vector<std::unique_ptr<PollingSource>>> StartPollingSources(const server::ServeConfig& config,
                                                                        Intake* intake, MetricsRegistry* metrics) {
  std::vector<std::unique_ptr<PollingSource>> sources;
  auto on_error = [](const std::string& name) {
    return [name](const Status& s) {
      Log(LogLevel::kWarn, "source error", {{"source", name}, {"error", s.message()}});
    };
  };
  auto checkpoints = [&](const std::string& name) { return JoinPath(config.data_dir, "sources/" + name); };
  for (const S3SourceConfig& c : config.sources.s3) {
    sources.push_back(std::make_unique<S3Source>(c, intake, Env::Default(), checkpoints(c.name), on_error(c.name)));
  }
  for (const DirWatchConfig& c : config.sources.directory) {
    sources.push_back(std::make_unique<DirWatch>(c, intake, Env::Default(), checkpoints(c.name), on_error(c.name)));
  }
  for (auto& s : sources) {
    s->ExportMetrics(metrics);
    VIGIL_RETURN_IF_ERROR(s->Start());
    Log(LogLevel::kInfo, "source started", {{"source", s->name()}});
  }
  return sources;
}

// The `sources.syslog` listeners (docs/serve.md#syslog), each on its own
// thread, handing batches of messages to `intake`.
Result<std::vector<std::unique_ptr<SyslogListener>>> StartSyslogListeners(const server::ServeConfig& config,
                                                                          Intake* intake, MetricsRegistry* metrics) {
  std::vector<std::unique_ptr<SyslogListener>> listeners;
  for (SyslogListenerConfig c : config.sources.syslog) {
    c.warn = [](const std::string& m) { Log(LogLevel::kWarn, m, {{"component", "syslog"}}); };
    // A batch larger than the log takes at once would be refused for ever.
    c.batch_bytes = std::min<uint64_t>(c.batch_bytes,
                                       std::min(config.wal.max_backlog_bytes, config.wal.max_pending_bytes) / 4);
    auto l = SyslogListener::Start(c, intake, metrics);
    if (!l.ok()) return l.status();  // those started stop as `listeners` goes
    Log(LogLevel::kInfo, "syslog listening",
        {{"protocol", std::string(SyslogProtocolName(c.protocol))},
         {"address", c.bind},
         {"port", std::to_string((*l)->port())}});
    listeners.push_back(std::move(l).value());
  }
  return listeners;
}

// Re-reads changed threat-intel feeds every `interval` on its own thread
// (and on demand, for SIGHUP); each reload is logged, and a feed that fails
// keeps its previous version, its error logged with file and line.
class IntelReloader {
 public:
  IntelReloader(intel::IntelStore* store, std::chrono::seconds interval, MetricsRegistry* metrics)
      : store_(store),
        interval_(interval),
        reloads_(metrics->GetCounter("vigil_intel_reloads_total", "Threat-intel feeds read again and taken.")),
        errors_(metrics->GetCounter("vigil_intel_reload_errors_total",
                                    "Threat-intel feed reloads that failed (the previous version was kept).")) {
    metrics->AddGaugeCallback("vigil_intel_indicators", "Threat-intel indicators loaded.", {},
                              [store] { return static_cast<double>(store->current()->size()); });
    if (interval_.count() > 0) thread_ = std::thread([this] { Loop(); });
  }
  ~IntelReloader() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void Reload(bool force) {
    auto report = store_->Reload(force);
    for (const auto& name : report.reloaded) {
      reloads_.Inc();
      for (const auto& f : store_->current()->feeds())
        if (f.name == name) Log(LogLevel::kInfo, "intel feed reloaded", {{"feed", FeedSummaryLine(f)}});
    }
    for (const Status& e : report.errors) {
      errors_.Inc();
      Log(LogLevel::kError, "intel feed not reloaded; keeping its previous version", {{"error", e.message()}});
    }
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      Reload(false);
      lock.lock();
    }
  }

  intel::IntelStore* store_;
  std::chrono::seconds interval_;
  Counter& reloads_;
  Counter& errors_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Runs the scheduled rules on their own thread, through a read-only
// workspace of its own (an EventStore per thread; the alert database takes
// writers from several connections): at start, then at each window end of
// any rule (checked at least every minute). Each run is logged and counted.
class ScheduledRunner {
 public:
  ScheduledRunner(std::vector<ScheduledRule> rules, std::unique_ptr<Workspace> ws, MetricsRegistry* metrics)
      : rules_(std::move(rules)),
        ws_(std::move(ws)),
        runs_(metrics->GetCounter("vigil_scheduled_rule_runs_total", "Scheduled rule windows run.")),
        errors_(metrics->GetCounter("vigil_scheduled_rule_errors_total",
                                    "Scheduled rule runs whose query failed (the window is tried again).")),
        rows_(metrics->GetCounter("vigil_scheduled_rule_rows_total", "Result rows of scheduled rules (alert hits).")) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ScheduledRunner() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void RunDue() {
    for (const ScheduledRun& r : RunScheduledRules(ws_->store(), ws_->metadata(), rules_, NowNanos(), {})) {
      if (!r.error.ok()) {
        errors_.Inc();
        Log(LogLevel::kError, "scheduled rule failed",
            {{"rule", r.rule_id}, {"window_end", FormatRfc3339(r.to_ns)}, {"error", r.error.message()}});
      } else if (r.ran) {
        runs_.Inc();
        rows_.Inc(r.rows);
        Log(LogLevel::kInfo, "scheduled rule ran",
            {{"rule", r.rule_id},
             {"window_start", FormatRfc3339(r.from_ns)},
             {"window_end", FormatRfc3339(r.to_ns)},
             {"rows", std::to_string(r.rows)},
             {"alerts", std::to_string(r.alerts)},
             {"scanned", std::to_string(r.scanned)}});
      }
    }
  }
  // Until the next window end of any rule (a second past it), at most a minute.
  std::chrono::milliseconds NextWake() const {
    const int64_t now = NowNanos();
    int64_t wait = 60'000'000'000;
    for (const ScheduledRule& r : rules_) wait = std::min(wait, (now / r.schedule_ns + 1) * r.schedule_ns - now);
    return std::chrono::milliseconds(wait / 1'000'000 + 1000);
  }
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      RunDue();
      lock.lock();
      cv_.wait_for(lock, NextWake(), [this] { return stop_; });
    }
  }

  std::vector<ScheduledRule> rules_;
  std::unique_ptr<Workspace> ws_;
  Counter& runs_;
  Counter& errors_;
  Counter& rows_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int RunServe(const ServeOptions& o) {
  server::ServeConfig config;
  if (!o.config.empty()) {
    auto loaded = server::LoadServeConfig(o.config);
    if (!loaded.ok()) return Fatal(loaded.status());
    config = std::move(loaded).value();
  }
  if (!o.data_dir.empty()) config.data_dir = o.data_dir;
  server::SetJsonLogs(o.json || config.log_format == "json");
  auto tokens = config.ResolveTokens();
  if (!tokens.ok()) return Fatal(tokens.status());
  // Feeds are read before anything starts: a feed that does not read is a
  // configuration error (later, a reload that fails keeps the old version).
  std::unique_ptr<intel::IntelStore> intel_store;
  if (!config.intel.feeds.empty() && (config.pipeline.detect || o.check)) {
    auto loaded = LoadIntelFeeds(config.intel.feeds, /*quiet=*/true);
    if (!loaded.ok()) return Fatal(loaded.status());
    intel_store = std::move(loaded).value();
    for (const auto& f : intel_store->current()->feeds())
      Log(LogLevel::kInfo, "intel feed loaded", {{"feed", FeedSummaryLine(f)}});
  }
  auto keys = LoadMasterKeys(o.keys.empty() ? config.encryption.sources() : o.keys);
  if (!keys.ok()) return Fatal(keys.status());
  if (o.check) {
    std::printf("%s: configuration is valid\n", o.config.empty() ? "(defaults)" : o.config.c_str());
    return kExitOk;
  }
  if (tokens->empty()) Log(LogLevel::kWarn, "no ingest token configured: every ingest request is refused (401)");

  // Signals are taken by sigtimedwait on this thread; every thread started
  // from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (*keys) Log(LogLevel::kInfo, "encryption at rest", {{"active_key", (*keys)->active()->id}});
  auto ws = Workspace::Open(config.data_dir, /*write=*/true, *keys, &config.storage);
  if (!ws.ok()) return Fail("cannot open the data directory", ws.status());
  RuleLoad rules;
  if (config.pipeline.detect) {
    auto dirs = config.pipeline.builtin_rules ? RuleDirectories(config.pipeline.rules) : config.pipeline.rules;
    auto loaded = LoadRules(dirs);
    if (!loaded.ok()) return Fail("cannot load rules", loaded.status());
    rules = std::move(loaded).value();
    for (const auto& e : rules.report.errors) Log(LogLevel::kWarn, "rule not loaded", {{"file", e.file}, {"reason", e.reason}});
    Log(LogLevel::kInfo, "rules loaded", {{"rules", std::to_string(rules.report.loaded)}});
  }

  std::vector<ScheduledRule> scheduled;
  if (config.pipeline.detect && !config.pipeline.scheduled_rules.empty()) {
    auto loaded = LoadScheduledRules(config.pipeline.scheduled_rules);
    if (!loaded.ok()) return Fail("cannot load scheduled rules", loaded.status());
    scheduled = std::move(loaded).value();
    Log(LogLevel::kInfo, "scheduled rules loaded", {{"rules", std::to_string(scheduled.size())}});
  }

  uint64_t checkpoint = 0;
  {
    auto state = (*ws)->metadata()->GetState(kWalCheckpointKey);
    if (!state.ok()) return Fail("cannot read the write-ahead log checkpoint", state.status());
    if (*state) checkpoint = std::strtoull((*state)->c_str(), nullptr, 10);
  }
  {
    // Dead letters written after the last commit came from log records about
    // to be replayed, which write them again: they are cut first. Then the
    // mark is set where the files end, so that the next crash is covered even
    // before a commit records one (and a mark made stale by `vigil deadletter
    // replay` rewriting the files is renewed).
    const std::string dl_dir = (*ws)->dead_letter_dir();
    auto mark = (*ws)->metadata()->GetState(kDeadLetterMarkKey);
    if (!mark.ok()) return Fail("cannot read the dead-letter mark", mark.status());
    if (*mark) {
      uint64_t cut = 0;
      std::string note;
      Status st = CutDeadLettersAfter(Env::Default(), dl_dir, **mark, &cut, &note);
      if (!st.ok()) return Fail("cannot cut the dead letters of uncommitted records", st);
      if (!note.empty()) Log(LogLevel::kWarn, note);
      if (cut > 0)
        Log(LogLevel::kInfo, "dead letters past the last commit cut (their records are replayed)",
            {{"letters", std::to_string(cut)}});
    }
    auto end = DeadLetterEnd(Env::Default(), dl_dir);
    if (!end.ok()) return Fail("cannot read the dead-letter files", end.status());
    MetadataCommit c;
    c.put_state.emplace_back(kDeadLetterMarkKey, *end);
    Status st = (*ws)->metadata()->Commit(c).status();
    if (!st.ok()) return Fail("cannot record the dead-letter mark", st);
  }
  WalOptions wal_options;
  wal_options.segment_bytes = config.wal.segment_bytes;
  wal_options.max_backlog_bytes = config.wal.max_backlog_bytes;
  wal_options.max_pending_bytes = config.wal.max_pending_bytes;
  wal_options.recycle_segments = static_cast<size_t>(config.wal.recycle_segments);
  auto wal = Wal::Open(JoinPath(config.data_dir, "wal"), checkpoint, wal_options);
  if (!wal.ok()) return Fail("cannot open the write-ahead log", wal.status());
  const uint64_t replay_to = (*wal)->durable_seq();
  const WalRecovery& rec = (*wal)->recovery();
  Log(LogLevel::kInfo, "write-ahead log recovered",
      {{"checkpoint", std::to_string(checkpoint)},
       {"replay_records", std::to_string(rec.records)},
       {"replay_bytes", std::to_string(rec.replay_bytes)},
       {"torn_tail_bytes", std::to_string(rec.truncated_bytes)}});

  MetricsRegistry metrics;
  Wal* wal_ptr = wal->get();
  metrics.AddGaugeCallback(kMetricWalLag.name, kMetricWalLag.help, {},
                           [wal_ptr] { return static_cast<double>(wal_ptr->backlog_bytes()); });
  metrics.AddGaugeCallback("vigil_wal_unread_bytes", "Write-ahead log bytes durable but not yet read by the pipeline.",
                           {}, [wal_ptr] { return static_cast<double>(wal_ptr->unread_bytes()); });

  auto writer = (*ws)->store()->NewWriter();
  if (!writer.ok()) return Fail("cannot open the event store for writing", writer.status());
  auto source = MakeWalSource(wal_ptr);
  std::vector<Detector*> detectors;
  if (rules.detector) detectors.push_back(rules.detector.get());
  std::unique_ptr<intel::IntelDetector> intel_detector;
  std::unique_ptr<IntelReloader> intel_reloader;
  if (intel_store) {
    intel_detector = std::make_unique<intel::IntelDetector>(intel_store.get());
    detectors.push_back(intel_detector.get());
    intel_reloader = std::make_unique<IntelReloader>(intel_store.get(),
                                                     std::chrono::seconds(config.intel.reload_seconds), &metrics);
  }
  std::unique_ptr<ScheduledRunner> scheduled_runner;
  if (!scheduled.empty()) {
    // Its own read-only workspace: readers may run beside the writer.
    auto reader = Workspace::Open(config.data_dir, /*write=*/false, *keys);
    if (!reader.ok()) return Fail("cannot open the data directory for scheduled rules", reader.status());
    scheduled_runner = std::make_unique<ScheduledRunner>(std::move(scheduled), std::move(reader).value(), &metrics);
  }
  PipelineOptions popt;
  popt.commit_interval = config.pipeline.commit_interval;
  // Detection on its own thread, so that storing and committing overlap with
  // it, and enough batches in flight (4,096 events) to carry detection
  // through a commit's fsyncs.
  popt.detect_thread = true;
  popt.queue_batches = 64;
  // The metadata transaction off the storing thread, which keeps storing.
  popt.commit_thread = true;
  popt.busy_commit_interval = 4 * config.pipeline.commit_interval;
  popt.max_busy_commit_interval = 16 * config.pipeline.commit_interval;
  std::unique_ptr<Minimiser> minimiser;
  if (!config.minimise.empty()) {
    auto m = Minimiser::Create(config.minimise);
    if (!m.ok()) return Fail("cannot configure data minimisation", m.status());
    minimiser = std::move(m).value();
    popt.minimiser = minimiser.get();
  }
  Pipeline pipeline(source.get(), &ParserRegistry::Default(), detectors, writer->get(), (*ws)->metadata(),
                    (*ws)->dead_letters(), popt);
  metrics.AddGaugeCallback(kMetricQueueDepth.name, kMetricQueueDepth.help, {{"queue", "parse_to_store"}},
                           [&pipeline] { return static_cast<double>(pipeline.queue_depth()); });
  PipelineMetrics pmetrics(&metrics);
  DiagnosticLog diag;
  pipeline.set_diagnostics([&](DiagnosticLevel l, const std::string& m) { diag(l, m); });
  pipeline.set_progress([&](const IngestStats& s, size_t, size_t) { pmetrics.Progress(s); });
  pipeline.set_on_commit([&](const CommitInfo& c) {
    pmetrics.Commit(c);
    if (c.minimise_counters) pmetrics.Minimised(&metrics, *c.minimise_counters);
  });

  std::atomic<bool> pipeline_done{false};
  Result<IngestStats> result = Status::Internal("pipeline did not run");
  std::thread pipeline_thread([&] {
    pthread_setname_np(pthread_self(), "vigil-store");
    result = pipeline.Run();
    pipeline_done.store(true);
  });

  std::unique_ptr<FirehoseEndpoint> firehose;  // serves a route of `http`: outlives it
  server::HttpServer http(config, *tokens, wal_ptr, &metrics,
                          [wal_ptr, replay_to] { return wal_ptr->read_seq() >= replay_to; });
  // Further sources (Firehose endpoint, syslog listeners, directory watch, S3
  // polling) are started here, each handing what it receives to wal_ptr
  // (the Intake); HTTP-based ones register routes on http.routes().
  if (config.firehose.enabled()) {
    auto route = server::AddFirehoseRoute(http, config, wal_ptr, &metrics);
    if (!route.ok()) {
      (*wal)->Close();
      pipeline_thread.join();
      return Fail("cannot configure the Firehose endpoint", route.status());
    }
    firehose = std::move(route).value();
  }
  Status started = http.Start();
  if (!started.ok()) {
    (*wal)->Close();
    pipeline_thread.join();
    return Fail("cannot start the HTTP listener", started);
  }
  auto polling = StartPollingSources(config, wal_ptr, &metrics);
  if (!polling.ok()) {
    http.BeginShutdown();
    http.Stop();
    (*wal)->Close();
    pipeline_thread.join();
    return Fail("cannot start a source", polling.status());
  }
  auto syslog = StartSyslogListeners(config, wal_ptr, &metrics);
  if (!syslog.ok()) {
    for (auto& s : *polling) s->Stop();
    http.BeginShutdown();
    http.Stop();
    (*wal)->Close();
    pipeline_thread.join();
    return Fail("cannot start a syslog listener", syslog.status());
  }
  Log(LogLevel::kInfo, "listening",
      {{"address", config.http.listen},
       {"port", std::to_string(http.port())},
       {"tls", config.http.tls.enabled() ? "true" : "false"},
       {"data_dir", config.data_dir}});

  // Retention and tiering (docs/operations.md) beside the live writer.
  std::unique_ptr<TieringLoop> tiering;
  if (config.storage.any_work()) {
    auto loop = TieringLoop::Start(Env::Default(), config.data_dir, config.storage, *keys,
                                   [](const Result<TierRunStats>& r) {
      if (!r.ok()) {
        Log(LogLevel::kError, "tiering run failed", {{"error", r.status().ToString()}});
        return;
      }
      for (const Status& e : r->errors) Log(LogLevel::kWarn, "tiering move failed", {{"error", e.ToString()}});
      Log(LogLevel::kInfo, "tiering run",
          {{"warmed", std::to_string(r->warmed)},
           {"cooled", std::to_string(r->cooled)},
           {"deleted", std::to_string(r->deleted)},
           {"held", std::to_string(r->held)},
           {"recovered", std::to_string(r->recovered + r->rolled_back)},
           {"compacted", std::to_string(r->compacted_segments)},
           {"compacted_into", std::to_string(r->compactions)},
           {"failed", std::to_string(r->errors.size())}});
    }, RebuildEvent);
    if (loop.ok()) tiering = std::move(loop).value();
    else Log(LogLevel::kError, "tiering not started", {{"error", loop.status().ToString()}});
  }

  int signal_number = 0;
  while (!pipeline_done.load()) {
    timespec wait{0, 200'000'000};
    int s = sigtimedwait(&signals, nullptr, &wait);
    if (s == SIGHUP) {
      if (intel_reloader) {
        Log(LogLevel::kInfo, "SIGHUP: reading threat-intel feeds again");
        intel_reloader->Reload(/*force=*/true);
      }
      continue;
    }
    if (s > 0) {
      signal_number = s;
      break;
    }
  }
  if (signal_number)
    Log(LogLevel::kInfo, "shutting down", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  if (tiering) tiering->Stop();
  for (auto& s : *polling) s->Stop();
  // Syslog listeners hand what they hold to the log before it closes.
  for (auto& l : *syslog) l->Stop();
  http.BeginShutdown();
  http.Stop();
  (*wal)->Close();
  pipeline_thread.join();
  if (!result.ok()) return Fail("pipeline failed; restart to recover from the write-ahead log", result.status());
  Log(LogLevel::kInfo, "stopped",
      {{"events", std::to_string(result->events)},
       {"duplicates", std::to_string(result->duplicates)},
       {"dead_letters", std::to_string(result->errors)},
       {"alerts", std::to_string(result->alerts)}});
  return kExitOk;
}

}  // namespace vigil::cli
