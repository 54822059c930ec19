// PollingSource: the thread, stop and overload handling shared by the serve
// sources that poll (S3 polling, directory watch).
//
// Start() runs PollOnce() on a thread of its own, then every interval until
// Stop(). A failed poll is reported through the error callback and retried at
// the next interval; nothing is marked done unless the Intake accepted it.
// Deliver() hands one input to the Intake and, while the Intake is overloaded
// (kUnavailable), backs off and retries until it is accepted or the source is
// stopping.
//
// Thread safety: Start/Stop from one controlling thread; PollOnce runs on the
// source's thread (or the caller's, when tests drive it without Start).
// stats() may be read from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/metrics.h"
#include "common/status.h"
#include "ingest/intake.h"

namespace vigil {

struct SourceStats {
  uint64_t polls = 0;
  uint64_t inputs = 0;       // objects or files accepted by the Intake
  uint64_t bytes = 0;
  uint64_t poll_errors = 0;  // polls that ended early with an error (retried at the next interval)
  uint64_t too_large = 0;    // inputs skipped: over max_input_bytes
  uint64_t unreadable = 0;   // inputs skipped: gone or unreadable
};

// Settings every polling source has.
struct PollingSourceConfig {
  std::string name;               // source name: metrics, IntakeRecord.source, checkpoint directory
  int64_t interval_ms = 60'000;   // between the end of one poll and the start of the next
  uint64_t max_input_bytes = 256ull << 20;  // larger objects or files are reported and skipped
  size_t window = 1000;           // names remembered above each partition's checkpoint
  std::string parser;             // parser name for every input; empty: recognised from content
};

// Receives each error a source meets (the message names the source and the
// input). The default prints "vigil: warning: ..." to stderr.
using SourceErrorFn = std::function<void(const Status&)>;

class PollingSource {
 public:
  PollingSource(std::string name, Intake* intake, int64_t interval_ms, SourceErrorFn on_error);
  virtual ~PollingSource();
  PollingSource(const PollingSource&) = delete;
  PollingSource& operator=(const PollingSource&) = delete;

  // Loads state (checkpoints) once; Start calls it when the caller did not.
  virtual Status Open() = 0;
  // One pass: everything new is delivered before it returns (or an error).
  virtual Status PollOnce() = 0;

  Status Start();
  // Wakes the thread, waits for the current input to finish, joins.
  void Stop();

  const std::string& name() const { return name_; }
  SourceStats stats() const;
  // Exposes the stats as vigil_received_records_total and
  // vigil_dropped_records_total{reason="too_large"|"error"} (the shared
  // families) plus vigil_source_poll_errors_total, labelled source=<name>.
  // The source removes its series when destroyed; `registry` must outlive it.
  void ExportMetrics(MetricsRegistry* registry);

 protected:
  // Accept with backoff on overload. kUnavailable only when stopping.
  Status Deliver(IntakeRecord record);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  // True from Stop() on; for work that can be cancelled (an S3 transfer).
  const std::atomic<bool>* stop_flag() const { return &stopping_; }
  // A failed poll.
  void ReportError(const Status& s);
  // An input given up on (too large, gone, unreadable): counted by its code, reported.
  void ReportSkipped(const Status& s);
  void CountPoll() { polls_.fetch_add(1, std::memory_order_relaxed); }

  bool opened_ = false;

 private:
  void Run();
  // Sleeps up to ms, returning early (true) when stopping.
  bool SleepFor(int64_t ms);

  std::string name_;
  Intake* intake_;
  int64_t interval_ms_;
  SourceErrorFn on_error_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> polls_{0}, inputs_{0}, bytes_{0}, poll_errors_{0}, too_large_{0}, unreadable_{0};
  MetricsRegistry* metrics_ = nullptr;
};

}  // namespace vigil
