#include "common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>

#include <fmt/format.h>

namespace vigil {
namespace {

[[noreturn]] void MisuseAbort(const std::string& what) {
  std::fprintf(stderr, "vigil metrics: %s\n", what.c_str());
  std::abort();
}

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;  // "__" is reserved for Prometheus' own labels
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

// Values as Go's strconv.FormatFloat(v, 'g', -1, 64) writes them, which is
// what Prometheus itself emits and parses: shortest round-trip digits, with
// +Inf, -Inf and NaN spelled out.
void AppendValue(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, r.ptr);
  }
}

void AppendCount(std::string* out, uint64_t v) { fmt::format_to(std::back_inserter(*out), "{}", v); }

// HELP text: backslash and line feed escaped.
void AppendHelp(std::string* out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') out->append("\\\\");
    else if (c == '\n') out->append("\\n");
    else out->push_back(c);
  }
}

// Label values: backslash, double quote and line feed escaped.
void AppendLabelValue(std::string* out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out->append("\\\\");
    else if (c == '"') out->append("\\\"");
    else if (c == '\n') out->append("\\n");
    else out->push_back(c);
  }
}

// `{a="x",b="y"}`, with `le` appended for histogram buckets; nothing when
// there are no labels at all.
void AppendLabels(std::string* out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                  const std::string* le) {
  if (names.empty() && le == nullptr) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(names[i]);
    out->append("=\"");
    AppendLabelValue(out, values[i]);
    out->push_back('"');
  }
  if (le != nullptr) {
    if (!names.empty()) out->push_back(',');
    out->append("le=\"");
    out->append(*le);
    out->push_back('"');
  }
  out->push_back('}');
}

}  // namespace

// ---- Histogram ----

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      MisuseAbort("histogram bounds must be finite and strictly increasing");
    }
  }
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  if (std::isnan(v)) return;  // would poison _sum and belongs in no bucket
  // Buckets are upper-inclusive (le = "less or equal").
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot s;
  s.bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = total;
  }
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

double HistogramSnapshot::Quantile(double q) const {
  if (cumulative.empty() || count == 0) return std::numeric_limits<double>::quiet_NaN();
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  double rank = q * static_cast<double>(count);
  size_t b = 0;
  while (b < bounds.size() && static_cast<double>(cumulative[b]) < rank) ++b;
  if (b == bounds.size()) {
    // In the +Inf bucket: nothing is known above the highest finite bound.
    return bounds.empty() ? std::numeric_limits<double>::quiet_NaN() : bounds.back();
  }
  double start = b == 0 ? 0.0 : bounds[b - 1];
  double end = bounds[b];
  if (b == 0 && end <= 0) return end;
  uint64_t before = b == 0 ? 0 : cumulative[b - 1];
  uint64_t in_bucket = cumulative[b] - before;
  if (in_bucket == 0) return start;
  return start + (end - start) * ((rank - static_cast<double>(before)) / static_cast<double>(in_bucket));
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

// ---- Registry ----

struct MetricsRegistry::Series {
  std::vector<std::string> label_values;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::function<double()> callback;  // set for callback series (counter or gauge type)
  const void* owner = nullptr;
};

struct MetricsRegistry::Family {
  MetricType type;
  std::string help;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  // histograms only
  std::map<std::vector<std::string>, Series> series;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Series& MetricsRegistry::GetSeries(MetricType type, std::string_view name, std::string_view help,
                                                    const MetricLabels& labels, std::vector<double>* bounds) {
  // Called with mu_ held.
  auto it = families_.find(name);
  if (it == families_.end()) {
    if (!ValidMetricName(name)) MisuseAbort(fmt::format("invalid metric name \"{}\"", name));
    auto family = std::make_unique<Family>();
    family->type = type;
    family->help = std::string(help);
    for (const auto& [label, value] : labels) {
      if (!ValidLabelName(label) || (type == MetricType::kHistogram && label == "le")) {
        MisuseAbort(fmt::format("invalid label name \"{}\" on {}", label, name));
      }
      if (std::find(family->label_names.begin(), family->label_names.end(), label) != family->label_names.end()) {
        MisuseAbort(fmt::format("label \"{}\" given twice on {}", label, name));
      }
      family->label_names.push_back(label);
    }
    if (bounds != nullptr) family->bounds = *bounds;
    it = families_.emplace(std::string(name), std::move(family)).first;
  }
  Family& family = *it->second;
  if (family.type != type) {
    MisuseAbort(fmt::format("{} registered as {} and as {}", name, TypeName(family.type), TypeName(type)));
  }
  std::vector<std::string> values;
  values.reserve(labels.size());
  bool same_names = labels.size() == family.label_names.size();
  for (size_t i = 0; same_names && i < labels.size(); ++i) {
    same_names = labels[i].first == family.label_names[i];
    values.push_back(labels[i].second);
  }
  if (!same_names) MisuseAbort(fmt::format("{} registered with two sets of label names", name));
  return family.series[std::move(values)];
}

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help, const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  Series& s = GetSeries(MetricType::kCounter, name, help, labels, nullptr);
  if (s.callback) MisuseAbort(fmt::format("{} is read by a callback", name));
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help, const MetricLabels& labels) {
  std::lock_guard lock(mu_);
  Series& s = GetSeries(MetricType::kGauge, name, help, labels, nullptr);
  if (s.callback) MisuseAbort(fmt::format("{} is read by a callback", name));
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& MetricsRegistry::GetHistogram(std::string_view name, std::string_view help, const MetricLabels& labels,
                                         std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  Series& s = GetSeries(MetricType::kHistogram, name, help, labels, &bounds);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(families_.find(name)->second->bounds);
  return *s.histogram;
}

void MetricsRegistry::AddGaugeCallback(std::string_view name, std::string_view help, const MetricLabels& labels,
                                       std::function<double()> read, const void* owner) {
  std::lock_guard lock(mu_);
  Series& s = GetSeries(MetricType::kGauge, name, help, labels, nullptr);
  if (s.gauge || s.callback) MisuseAbort(fmt::format("{} registered twice", name));
  s.callback = std::move(read);
  s.owner = owner;
}

void MetricsRegistry::AddCounterCallback(std::string_view name, std::string_view help, const MetricLabels& labels,
                                         std::function<double()> read, const void* owner) {
  std::lock_guard lock(mu_);
  Series& s = GetSeries(MetricType::kCounter, name, help, labels, nullptr);
  if (s.counter || s.callback) MisuseAbort(fmt::format("{} registered twice", name));
  s.callback = std::move(read);
  s.owner = owner;
}

void MetricsRegistry::RemoveCallbacks(const void* owner) {
  std::lock_guard lock(mu_);
  for (auto fit = families_.begin(); fit != families_.end();) {
    auto& series = fit->second->series;
    for (auto it = series.begin(); it != series.end();) {
      if (it->second.callback && it->second.owner == owner) it = series.erase(it);
      else ++it;
    }
    // A family left without series is forgotten, so it can be registered again.
    if (series.empty()) fit = families_.erase(fit);
    else ++fit;
  }
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out.append("# HELP ").append(name).push_back(' ');
    AppendHelp(&out, family->help);
    out.append("\n# TYPE ").append(name).push_back(' ');
    out.append(TypeName(family->type)).push_back('\n');
    for (const auto& [values, s] : family->series) {
      if (family->type == MetricType::kHistogram) {
        HistogramSnapshot snap = s.histogram->Snapshot();
        std::string le;
        for (size_t i = 0; i <= snap.bounds.size(); ++i) {
          le.clear();
          if (i < snap.bounds.size()) AppendValue(&le, snap.bounds[i]);
          else le = "+Inf";
          out.append(name).append("_bucket");
          AppendLabels(&out, family->label_names, values, &le);
          out.push_back(' ');
          AppendCount(&out, snap.cumulative[i]);
          out.push_back('\n');
        }
        out.append(name).append("_sum");
        AppendLabels(&out, family->label_names, values, nullptr);
        out.push_back(' ');
        AppendValue(&out, snap.sum);
        out.push_back('\n');
        out.append(name).append("_count");
        AppendLabels(&out, family->label_names, values, nullptr);
        out.push_back(' ');
        AppendCount(&out, snap.count);
        out.push_back('\n');
        continue;
      }
      out.append(name);
      AppendLabels(&out, family->label_names, values, nullptr);
      out.push_back(' ');
      if (s.callback) AppendValue(&out, s.callback());
      else if (s.counter) AppendCount(&out, s.counter->Value());
      else AppendValue(&out, s.gauge->Value());
      out.push_back('\n');
    }
  }
  return out;
}

// ---- Reading exposition text back ----

namespace {

std::optional<double> ParseSampleValue(std::string_view v) {
  if (v == "+Inf" || v == "Inf") return std::numeric_limits<double>::infinity();
  if (v == "-Inf") return -std::numeric_limits<double>::infinity();
  if (v == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (!v.empty() && v[0] == '+') v.remove_prefix(1);
  double d = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), d);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size()) return std::nullopt;
  return d;
}

// Parses `{a="x",b="y"}` (escapes undone) from the start of `s`; advances `s`.
bool ParseLabelSet(std::string_view* s, MetricLabels* labels) {
  if (s->empty() || s->front() != '{') return true;
  s->remove_prefix(1);
  while (true) {
    while (!s->empty() && (s->front() == ',' || s->front() == ' ')) s->remove_prefix(1);
    if (s->empty()) return false;
    if (s->front() == '}') {
      s->remove_prefix(1);
      return true;
    }
    size_t eq = s->find('=');
    if (eq == std::string_view::npos || eq + 1 >= s->size() || (*s)[eq + 1] != '"') return false;
    std::string key(s->substr(0, eq));
    s->remove_prefix(eq + 2);
    std::string value;
    bool closed = false;
    while (!s->empty()) {
      char c = s->front();
      s->remove_prefix(1);
      if (c == '"') {
        closed = true;
        break;
      }
      if (c == '\\' && !s->empty()) {
        char e = s->front();
        s->remove_prefix(1);
        value.push_back(e == 'n' ? '\n' : e);
      } else {
        value.push_back(c);
      }
    }
    if (!closed) return false;
    labels->emplace_back(std::move(key), std::move(value));
  }
}

}  // namespace

Result<HistogramSnapshot> HistogramFromPrometheusText(std::string_view text, std::string_view name,
                                                      const MetricLabels& match) {
  std::map<double, uint64_t> buckets;  // le -> cumulative count, summed over matching series
  double sum = 0;
  uint64_t count = 0;
  bool found = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#' || !line.starts_with(name)) continue;
    std::string_view rest = line.substr(name.size());
    enum { kBucket, kSum, kCount } part;
    if (rest.starts_with("_bucket")) part = kBucket, rest.remove_prefix(7);
    else if (rest.starts_with("_sum")) part = kSum, rest.remove_prefix(4);
    else if (rest.starts_with("_count")) part = kCount, rest.remove_prefix(6);
    else continue;
    if (rest.empty() || (rest.front() != '{' && rest.front() != ' ')) continue;  // a longer metric name
    MetricLabels labels;
    if (!ParseLabelSet(&rest, &labels)) {
      return Status::InvalidArgument(fmt::format("metrics text: bad label set in \"{}\"", line));
    }
    bool matches = std::all_of(match.begin(), match.end(), [&](const auto& want) {
      return std::find(labels.begin(), labels.end(), want) != labels.end();
    });
    if (!matches) continue;
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    std::string_view value_text = rest.substr(0, rest.find(' '));  // a timestamp may follow
    std::optional<double> value = ParseSampleValue(value_text);
    if (!value) return Status::InvalidArgument(fmt::format("metrics text: bad value in \"{}\"", line));
    found = true;
    if (part == kSum) {
      sum += *value;
    } else if (part == kCount) {
      count += static_cast<uint64_t>(*value);
    } else {
      auto le = std::find_if(labels.begin(), labels.end(), [](const auto& l) { return l.first == "le"; });
      std::optional<double> bound = le == labels.end() ? std::nullopt : ParseSampleValue(le->second);
      if (!bound) return Status::InvalidArgument(fmt::format("metrics text: bucket without le in \"{}\"", line));
      buckets[*bound] += static_cast<uint64_t>(*value);
    }
  }
  if (!found) return Status::NotFound(fmt::format("metrics text: no histogram {}", name));
  HistogramSnapshot snap;
  for (const auto& [bound, cumulative] : buckets) {
    if (std::isinf(bound)) continue;
    snap.bounds.push_back(bound);
    snap.cumulative.push_back(cumulative);
  }
  auto inf = buckets.find(std::numeric_limits<double>::infinity());
  snap.cumulative.push_back(inf != buckets.end() ? inf->second : count);
  snap.sum = sum;
  snap.count = count;
  return snap;
}

}  // namespace vigil
