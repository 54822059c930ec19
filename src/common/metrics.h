// Metrics: counters, gauges and histograms with labels, rendered in the
// Prometheus text exposition format 0.0.4 for `vigil serve`'s /metrics.
//
// Registration (GetCounter/GetGauge/GetHistogram) takes a lock and is meant to
// happen once per series, at start-up or when a source is configured; it
// returns a reference that stays valid for the registry's lifetime. Updating a
// metric through that reference is one relaxed atomic operation (no lock), so
// hot paths keep the reference and never look a metric up per record:
//
//   Counter& received = registry.GetCounter("vigil_received_records_total",
//       "Records received by a serve source.", {{"source", "http"}});
//   received.Inc(batch.size());
//
// Names and label names are fixed strings in the code: an invalid name, a name
// registered again with another type or set of label names, or
// histogram bounds that are not strictly increasing are programming errors and
// abort with a message (like a failed assertion). Label values are data and
// may be anything; they are escaped when rendered.
//
// Thread safety: every method of every class here may be called from any
// thread at once. A render taken while metrics change shows each value as of
// some moment during the render; a histogram's _count always equals its +Inf
// bucket.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace vigil {

// Label name/value pairs, in the order they are rendered.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count (Prometheus type "counter"). Names should
// end in _total.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (Prometheus type "gauge").
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  void Sub(double d) { value_.fetch_add(-d, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Counts of a histogram at one moment: cumulative[i] is the number of
// observations <= bounds[i]; cumulative.back() (one more entry than bounds)
// is the +Inf bucket, which equals count.
struct HistogramSnapshot {
  std::vector<double> bounds;
  std::vector<uint64_t> cumulative;
  double sum = 0;
  uint64_t count = 0;

  // The q-quantile (0 <= q <= 1) estimated as Prometheus' histogram_quantile
  // does: linear interpolation inside the bucket the rank falls in, the first
  // bucket starting at 0, and the highest finite bound when the rank falls in
  // the +Inf bucket. NaN when there are no observations.
  double Quantile(double q) const;
};

// Observations counted into fixed buckets (Prometheus type "histogram").
class Histogram {
 public:
  // `bounds`: finite, strictly increasing upper bounds; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double v);
  HistogramSnapshot Snapshot() const;
  double Quantile(double q) const { return Snapshot().Quantile(q); }

 private:
  std::vector<double> bounds_;
  // Per-bucket (not cumulative) counts; the last is the +Inf bucket.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0.0};
};

// Bucket bounds for latencies in seconds, 1 ms to 5 minutes; fine enough at
// the low end that p99 of a healthy pipeline is not lost in one wide bucket.
std::vector<double> LatencyBuckets();
// start, start*factor, ... (`count` bounds).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

enum class MetricType { kCounter, kGauge, kHistogram };

class MetricsRegistry {
 public:
  // The Content-Type of RenderPrometheus' output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The series `name{labels}`, created at zero on first use. The returned
  // reference lives as long as the registry. The help text of a family is the
  // one given first (use the kMetric... constants below for shared families).
  Counter& GetCounter(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  // All series of one histogram name share the bounds of the first.
  Histogram& GetHistogram(std::string_view name, std::string_view help, const MetricLabels& labels = {},
                          std::vector<double> bounds = LatencyBuckets());

  // A series whose value is read by calling `read` at each render (e.g. a
  // queue's current depth), for values something else already keeps. `read`
  // is called with the registry's lock held and must not call the registry;
  // whatever it reads must outlive the registry or be removed first with
  // RemoveCallbacks(owner), where `owner` is any pointer identifying the caller.
  void AddGaugeCallback(std::string_view name, std::string_view help, const MetricLabels& labels,
                        std::function<double()> read, const void* owner = nullptr);
  void AddCounterCallback(std::string_view name, std::string_view help, const MetricLabels& labels,
                          std::function<double()> read, const void* owner = nullptr);
  void RemoveCallbacks(const void* owner);

  // Every family in name order, every series in label order, in the text
  // exposition format 0.0.4.
  std::string RenderPrometheus() const;

 private:
  struct Family;
  struct Series;
  Series& GetSeries(MetricType type, std::string_view name, std::string_view help, const MetricLabels& labels,
                    std::vector<double>* bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
};

// Families shared by serve's components (sources, WAL, pipeline), so every
// component registers the same name with the same labels and help.
struct MetricDef {
  std::string_view name;
  std::string_view help;
};
// Labels: source (configured source name).
inline constexpr MetricDef kMetricReceivedRecords{"vigil_received_records_total",
                                                   "Records a serve source received and handed to intake."};
// Labels: source, reason (unauthorized, malformed, too_large, overload, error).
inline constexpr MetricDef kMetricDroppedRecords{"vigil_dropped_records_total",
                                                  "Records a serve source refused or could not make durable."};
inline constexpr MetricDef kMetricQueueDepth{"vigil_queue_depth", "Batches waiting between pipeline stages."};
inline constexpr MetricDef kMetricWalLag{"vigil_wal_lag_bytes",
                                         "Write-ahead log bytes durable but not yet applied to the store."};
// Histogram (LatencyBuckets): from a record's arrival to the alert it raised.
inline constexpr MetricDef kMetricEventToAlert{"vigil_event_to_alert_seconds",
                                               "Seconds from a record's arrival at a serve source to its alert."};

// Reads the histogram `name` back from text exposition format (as scraped
// from /metrics), adding up the series whose labels include every pair of
// `match` (all series when empty). Used by the HTTP bench to read p99 from a
// running server. NotFound when no series matches; InvalidArgument when the
// text is malformed around the histogram's lines.
Result<HistogramSnapshot> HistogramFromPrometheusText(std::string_view text, std::string_view name,
                                                      const MetricLabels& match = {});

}  // namespace vigil
