#include "ingest/polling_source.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace vigil {

PollingSource::PollingSource(std::string name, Intake* intake, int64_t interval_ms, SourceErrorFn on_error)
    : name_(std::move(name)), intake_(intake), interval_ms_(std::max<int64_t>(interval_ms, 10)),
      on_error_(std::move(on_error)) {
  if (!on_error_) {
    on_error_ = [](const Status& s) { std::fprintf(stderr, "vigil: warning: %s\n", s.ToString().c_str()); };
  }
}

PollingSource::~PollingSource() {
  Stop();
  if (metrics_ != nullptr) metrics_->RemoveCallbacks(this);
}

void PollingSource::ExportMetrics(MetricsRegistry* registry) {
  metrics_ = registry;
  auto read = [](const std::atomic<uint64_t>& v) {
    return [&v] { return static_cast<double>(v.load(std::memory_order_relaxed)); };
  };
  registry->AddCounterCallback(kMetricReceivedRecords.name, kMetricReceivedRecords.help, {{"source", name_}},
                               read(inputs_), this);
  registry->AddCounterCallback(kMetricDroppedRecords.name, kMetricDroppedRecords.help,
                               {{"source", name_}, {"reason", "too_large"}}, read(too_large_), this);
  registry->AddCounterCallback(kMetricDroppedRecords.name, kMetricDroppedRecords.help,
                               {{"source", name_}, {"reason", "error"}}, read(unreadable_), this);
  registry->AddCounterCallback("vigil_source_poll_errors_total",
                               "Polls of an S3 or directory source that ended early with an error.",
                               {{"source", name_}}, read(poll_errors_), this);
}

Status PollingSource::Start() {
  if (!opened_) VIGIL_RETURN_IF_ERROR(Open());
  if (thread_.joinable()) return Status::FailedPrecondition("source " + name_ + " already started");
  stopping_.store(false, std::memory_order_release);
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void PollingSource::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SourceStats PollingSource::stats() const {
  SourceStats s;
  s.polls = polls_.load(std::memory_order_relaxed);
  s.inputs = inputs_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.poll_errors = poll_errors_.load(std::memory_order_relaxed);
  s.too_large = too_large_.load(std::memory_order_relaxed);
  s.unreadable = unreadable_.load(std::memory_order_relaxed);
  return s;
}

void PollingSource::ReportError(const Status& s) {
  poll_errors_.fetch_add(1, std::memory_order_relaxed);
  on_error_(s);
}

void PollingSource::ReportSkipped(const Status& s) {
  (s.code() == StatusCode::kLimitExceeded ? too_large_ : unreadable_).fetch_add(1, std::memory_order_relaxed);
  on_error_(s);
}

bool PollingSource::SleepFor(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping(); });
}

void PollingSource::Run() {
  while (!stopping()) {
    Status s = PollOnce();
    if (!s.ok() && !(s.code() == StatusCode::kUnavailable && stopping())) ReportError(s);
    if (SleepFor(interval_ms_)) break;
  }
}

Status PollingSource::Deliver(IntakeRecord record) {
  size_t bytes = record.bytes.size();
  int64_t backoff_ms = 50;
  for (;;) {
    std::vector<IntakeRecord> batch;
    batch.push_back(record);
    Status s = intake_->Accept(std::move(batch));
    if (s.ok()) {
      inputs_.fetch_add(1, std::memory_order_relaxed);
      bytes_.fetch_add(bytes, std::memory_order_relaxed);
      return s;
    }
    if (s.code() != StatusCode::kUnavailable) return s.WithContext("source " + name_ + ": " + record.name);
    if (stopping() || SleepFor(backoff_ms)) {
      return Status::Unavailable("source " + name_ + " stopping before " + record.name + " was accepted");
    }
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 5000);
  }
}

}  // namespace vigil
