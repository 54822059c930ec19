#include "query/pipeline.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "query/expr.h"
#include "query/internal/lexer.h"

namespace vigil {

using query_internal::QueryError;

struct QueryPipeline::Shared {
  std::string text;
  size_t used = 0;
  size_t limit = 0;
  RowSink sink;
};

class QueryPipeline::Stage {
 public:
  Stage(Shared* shared, const PipeStage& spec) : shared_(shared), name_(spec.name), offset_(spec.offset) {}
  virtual ~Stage() = default;
  // Returns false when this stage wants no more input.
  virtual Result<bool> Push(Row row) = 0;
  virtual Status Finish() { return FinishNext(); }

  Stage* next = nullptr;  // null: the sink

 protected:
  Result<bool> Forward(Row row) {
    if (next != nullptr) return next->Push(std::move(row));
    return shared_->sink(row);
  }
  Status FinishNext() { return next != nullptr ? next->Finish() : Status::Ok(); }
  Status Charge(size_t bytes) {
    shared_->used += bytes;
    if (shared_->used <= shared_->limit) return Status::Ok();
    return QueryError(StatusCode::kLimitExceeded, shared_->text, offset_,
                      "`" + name_ + "` needs more than " + std::to_string(shared_->limit >> 20) +
                          " MiB of memory (too many groups, distinct values or buffered rows); narrow the "
                          "search or the time range, split by fewer values, or raise --max-memory");
  }
  void Release(size_t bytes) { shared_->used -= std::min(bytes, shared_->used); }
  Status ErrorHere(const std::string& what) const {
    return QueryError(StatusCode::kInvalidArgument, shared_->text, offset_, what);
  }

  Shared* shared_;
  std::string name_;
  size_t offset_;
};

namespace {

using Stage = QueryPipeline::Stage;
using Shared = QueryPipeline::Shared;

// ---------------------------------------------------------------- streaming stages

class WhereStage : public Stage {
 public:
  WhereStage(Shared* s, const PipeStage& spec, CompiledExpr e) : Stage(s, spec), expr_(std::move(e)) {}
  Result<bool> Push(Row row) override {
    if (!expr_.Eval(row).Truthy()) return true;
    return Forward(std::move(row));
  }

 private:
  CompiledExpr expr_;
};

class EvalStage : public Stage {
 public:
  EvalStage(Shared* s, const PipeStage& spec, std::vector<std::pair<std::string, CompiledExpr>> a)
      : Stage(s, spec), assignments_(std::move(a)) {}
  Result<bool> Push(Row row) override {
    for (const auto& [name, expr] : assignments_) row.Set(name, expr.Eval(row));
    return Forward(std::move(row));
  }

 private:
  std::vector<std::pair<std::string, CompiledExpr>> assignments_;
};

class FieldsStage : public Stage {
 public:
  FieldsStage(Shared* s, const PipeStage& spec) : Stage(s, spec), exclude_(spec.exclude) {
    for (const std::string& f : spec.fields) fields_.emplace_back(f, FieldPath(f));
  }
  Result<bool> Push(Row row) override {
    if (exclude_) {
      for (const auto& f : fields_) row.Remove(f.first);
      return Forward(std::move(row));
    }
    Row out;
    out.projected = true;
    for (const auto& [name, path] : fields_) out.columns.emplace_back(name, GetField(row, name, path));
    return Forward(std::move(out));
  }

 private:
  bool exclude_;
  std::vector<std::pair<std::string, FieldPath>> fields_;
};

class RenameStage : public Stage {
 public:
  RenameStage(Shared* s, const PipeStage& spec) : Stage(s, spec), renames_(spec.renames) {}
  Result<bool> Push(Row row) override {
    for (const auto& rename : renames_) {
      const std::string& from = rename.first;
      const std::string& to = rename.second;
      if (from == to) continue;
      auto col = std::find_if(row.columns.begin(), row.columns.end(), [&](const auto& c) { return c.first == from; });
      if (col != row.columns.end()) {
        Value v = std::move(col->second);
        const size_t at = static_cast<size_t>(col - row.columns.begin());
        row.columns[at].first = to;
        row.columns[at].second = std::move(v);
        // A column already called `to` gives way to the renamed one.
        for (size_t i = 0; i < row.columns.size(); ++i) {
          if (i != at && row.columns[i].first == to) {
            row.columns.erase(row.columns.begin() + static_cast<std::ptrdiff_t>(i));
            break;
          }
        }
        if (row.is_event()) row.removed.push_back(from);
        continue;
      }
      Value v = GetField(row, from);
      row.Remove(from);
      if (!v.is_null()) row.Set(to, std::move(v));
    }
    return Forward(std::move(row));
  }

 private:
  std::vector<std::pair<std::string, std::string>> renames_;
};

class LookupStage : public Stage {
 public:
  LookupStage(Shared* s, const PipeStage& spec, std::shared_ptr<const LookupTable> table,
              std::vector<std::string> outputs)
      : Stage(s, spec), table_(std::move(table)), row_key_(spec.row_key), row_path_(spec.row_key),
        outputs_(std::move(outputs)) {}
  Result<bool> Push(Row row) override {
    Value key = GetField(row, row_key_, row_path_);
    std::optional<LookupRow> hit;
    if (key.kind == Value::Kind::kList) {
      for (const Value& k : key.list)
        if (!k.is_null() && (hit = table_->Lookup(k.Text()))) break;
    } else if (!key.is_null()) {
      hit = table_->Lookup(key.Text());
    }
    if (hit) {
      for (const std::string& name : outputs_)
        if (const std::string* v = hit->Get(name)) row.Set(name, Value::String(*v));
    }
    return Forward(std::move(row));
  }

 private:
  std::shared_ptr<const LookupTable> table_;
  std::string row_key_;
  FieldPath row_path_;
  std::vector<std::string> outputs_;
};

class HeadStage : public Stage {
 public:
  HeadStage(Shared* s, const PipeStage& spec) : Stage(s, spec), left_(spec.count) {}
  Result<bool> Push(Row row) override {
    if (left_ == 0) return false;
    --left_;
    VIGIL_ASSIGN_OR_RETURN(bool more, Forward(std::move(row)));
    return more && left_ > 0;
  }

 private:
  size_t left_;
};

// The text of a combination of values, as a key.
std::string KeyText(const std::vector<Value>& values) {
  std::string key;
  for (const Value& v : values) {
    key += static_cast<char>('0' + static_cast<int>(v.kind));
    key += v.Text();
    key += '\x1f';
  }
  return key;
}

class DedupStage : public Stage {
 public:
  DedupStage(Shared* s, const PipeStage& spec) : Stage(s, spec), keep_(spec.count) {
    for (const std::string& f : spec.fields) fields_.emplace_back(f, FieldPath(f));
  }
  ~DedupStage() override { Release(charged_); }
  Result<bool> Push(Row row) override {
    std::vector<Value> values;
    for (const auto& [name, path] : fields_) {
      values.push_back(GetField(row, name, path));
      if (values.back().is_null()) return true;  // rows without the field are dropped
    }
    std::string key = KeyText(values);
    auto [it, inserted] = seen_.try_emplace(std::move(key), 0);
    if (inserted) {
      const size_t bytes = it->first.capacity() + 64;
      charged_ += bytes;
      VIGIL_RETURN_IF_ERROR(Charge(bytes));
    }
    if (it->second >= keep_) return true;
    ++it->second;
    return Forward(std::move(row));
  }

 private:
  size_t keep_;
  std::vector<std::pair<std::string, FieldPath>> fields_;
  std::unordered_map<std::string, size_t> seen_;
  size_t charged_ = 0;
};

// ---------------------------------------------------------------- holding stages

class TailStage : public Stage {
 public:
  TailStage(Shared* s, const PipeStage& spec) : Stage(s, spec), keep_(spec.count) {}
  ~TailStage() override { Release(charged_); }
  Result<bool> Push(Row row) override {
    if (keep_ == 0) return true;
    const size_t bytes = row.Footprint();
    charged_ += bytes;
    VIGIL_RETURN_IF_ERROR(Charge(bytes));
    rows_.push_back(std::move(row));
    if (rows_.size() > keep_) {
      const size_t old = rows_.front().Footprint();
      Release(old);
      charged_ -= std::min(old, charged_);
      rows_.pop_front();
    }
    return true;
  }
  Status Finish() override {
    while (!rows_.empty()) {
      Row r = std::move(rows_.front());
      rows_.pop_front();
      VIGIL_ASSIGN_OR_RETURN(bool more, Forward(std::move(r)));
      if (!more) break;
    }
    return FinishNext();
  }

 private:
  size_t keep_;
  std::deque<Row> rows_;
  size_t charged_ = 0;
};

// Orders values for sort: CompareValues, except that rows without the
// field go last whichever the direction.
int SortCompare(const Value& a, const Value& b, bool descending) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null() ? 0 : a.is_null() ? 1 : -1;
  const int c = CompareValues(a, b);
  return descending ? -c : c;
}

class SortStage : public Stage {
 public:
  SortStage(Shared* s, const PipeStage& spec, size_t limit) : Stage(s, spec), limit_(limit) {
    for (const SortKey& k : spec.sort) keys_.push_back({k.field, FieldPath(k.field), k.descending});
  }
  ~SortStage() override { Release(charged_); }
  Result<bool> Push(Row row) override {
    Item it;
    for (const Key& k : keys_) it.keys.push_back(GetField(row, k.name, k.path));
    it.seq = seq_++;
    it.bytes = row.Footprint();
    for (const Value& v : it.keys) it.bytes += v.Footprint();
    charged_ += it.bytes;
    VIGIL_RETURN_IF_ERROR(Charge(it.bytes));
    it.row = std::move(row);
    items_.push_back(std::move(it));
    // With a limit (sort N, or sort | head N) keep only the best rows so far.
    if (limit_ > 0 && items_.size() >= 2 * limit_ + 1024) Prune();
    return true;
  }
  Status Finish() override {
    std::sort(items_.begin(), items_.end(), [this](const Item& a, const Item& b) { return Less(a, b); });
    if (limit_ > 0 && items_.size() > limit_) items_.resize(limit_);
    for (Item& it : items_) {
      VIGIL_ASSIGN_OR_RETURN(bool more, Forward(std::move(it.row)));
      if (!more) break;
    }
    items_.clear();
    Release(charged_);
    charged_ = 0;
    return FinishNext();
  }

 private:
  struct Key {
    std::string name;
    FieldPath path;
    bool descending;
  };
  struct Item {
    std::vector<Value> keys;
    size_t seq = 0;
    size_t bytes = 0;
    Row row;
  };
  bool Less(const Item& a, const Item& b) const {
    for (size_t i = 0; i < keys_.size(); ++i) {
      const int c = SortCompare(a.keys[i], b.keys[i], keys_[i].descending);
      if (c != 0) return c < 0;
    }
    return a.seq < b.seq;  // stable: equal rows keep their input order
  }
  void Prune() {
    std::nth_element(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(limit_), items_.end(),
                     [this](const Item& a, const Item& b) { return Less(a, b); });
    for (size_t i = limit_; i < items_.size(); ++i) {
      Release(items_[i].bytes);
      charged_ -= std::min(items_[i].bytes, charged_);
    }
    items_.resize(limit_);
  }

  size_t limit_;
  std::vector<Key> keys_;
  std::vector<Item> items_;
  size_t seq_ = 0;
  size_t charged_ = 0;
};

// ---------------------------------------------------------------- aggregation

struct AggSpec {
  std::string func;
  std::optional<CompiledExpr> arg;
  double percentile = 0;
  std::string name;
};

struct AggState {
  double count = 0;
  double sum = 0;
  size_t numbers = 0;
  Value min, max;
  std::set<std::string> distinct;  // dc, values
  std::vector<double> samples;     // percentile
  Value first, last;               // earliest, latest
  int64_t first_t = 0, last_t = 0;
  bool has_first = false;
};

struct KeyLess {
  bool operator()(const std::vector<Value>& a, const std::vector<Value>& b) const {
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
      const int c = CompareValues(a[i], b[i]);
      if (c != 0) return c < 0;
      // Values that order alike but differ ("1" and "1.0") stay apart.
      if (a[i].kind != b[i].kind || a[i].Text() != b[i].Text()) {
        if (a[i].kind != b[i].kind) return a[i].kind < b[i].kind;
        return a[i].Text() < b[i].Text();
      }
    }
    return a.size() < b.size();
  }
};

using GroupMap = std::map<std::vector<Value>, std::vector<AggState>, KeyLess>;

// Groups rows by the values of `by` and folds them into the aggregations.
// Memory: each group, distinct value and percentile sample is charged to the
// pipeline's budget through `charge`.
class Aggregator {
 public:
  Aggregator(std::vector<std::pair<std::string, CompiledExpr>> by, std::vector<AggSpec> aggs)
      : by_(std::move(by)), aggs_(std::move(aggs)) {}

  template <typename ChargeFn>
  Status Add(const Row& row, ChargeFn&& charge) {
    std::vector<Value> key;
    key.reserve(by_.size());
    for (const auto& b : by_) {
      key.push_back(b.second.Eval(row));
      if (key.back().is_null()) return Status::Ok();  // rows without a split value are left out
      if (key.back().kind == Value::Kind::kList && key.back().list.empty()) return Status::Ok();
    }
    const int64_t t = RowTime(row);
    ++seq_;
    // Multi-valued split fields fan out: the row counts once per value.
    std::vector<Value> current;
    return FanOut(key, 0, current, row, t, charge);
  }

  GroupMap& groups() { return groups_; }
  const std::vector<AggSpec>& aggs() const { return aggs_; }
  const std::vector<std::pair<std::string, CompiledExpr>>& by() const { return by_; }

  // The result of aggregation `i` over `s`.
  Value Result(size_t i, AggState& s) const {
    const AggSpec& a = aggs_[i];
    const std::string& f = a.func;
    if (f == "count") return Value::Number(s.count);
    if (f == "dc") return Value::Number(static_cast<double>(s.distinct.size()));
    if (f == "sum") return s.numbers ? Value::Number(s.sum) : Value::Null();
    if (f == "avg") return s.numbers ? Value::Number(s.sum / static_cast<double>(s.numbers)) : Value::Null();
    if (f == "min") return s.min;
    if (f == "max") return s.max;
    if (f == "earliest") return s.first;
    if (f == "latest") return s.last;
    if (f == "values") {
      std::vector<Value> out;
      for (const std::string& v : s.distinct) out.push_back(Value::String(v));
      return Value::List(std::move(out));
    }
    if (f == "percentile") {
      if (s.samples.empty()) return Value::Null();
      std::sort(s.samples.begin(), s.samples.end());
      // Linear interpolation between the closest ranks.
      const double pos = a.percentile / 100.0 * static_cast<double>(s.samples.size() - 1);
      const size_t lo = static_cast<size_t>(std::floor(pos));
      const size_t hi = std::min(lo + 1, s.samples.size() - 1);
      return Value::Number(s.samples[lo] + (s.samples[hi] - s.samples[lo]) * (pos - static_cast<double>(lo)));
    }
    return Value::Null();
  }

  // An empty state's result (count 0, sum null...).
  Value Empty(size_t i) const {
    AggState s;
    return Result(i, s);
  }

 private:
  static int64_t RowTime(const Row& row) {
    static const FieldPath kTime("time");
    if (auto t = GetField(row, "time", kTime).AsTime()) return *t;
    return INT64_MIN;
  }

  template <typename ChargeFn>
  Status FanOut(const std::vector<Value>& key, size_t i, std::vector<Value>& current, const Row& row, int64_t t,
                ChargeFn& charge) {
    if (i == key.size()) return Fold(current, row, t, charge);
    if (key[i].kind == Value::Kind::kList) {
      std::set<std::string> seen;  // a value listed twice counts once
      for (const Value& v : key[i].list) {
        if (v.is_null() || !seen.insert(v.Text()).second) continue;
        current.push_back(v);
        VIGIL_RETURN_IF_ERROR(FanOut(key, i + 1, current, row, t, charge));
        current.pop_back();
        if (seen.size() >= 1000) break;
      }
      return Status::Ok();
    }
    current.push_back(key[i]);
    Status st = FanOut(key, i + 1, current, row, t, charge);
    current.pop_back();
    return st;
  }

  template <typename ChargeFn>
  Status Fold(const std::vector<Value>& key, const Row& row, int64_t t, ChargeFn& charge) {
    auto it = groups_.find(key);
    if (it == groups_.end()) {
      size_t bytes = 96 + aggs_.size() * sizeof(AggState);
      for (const Value& v : key) bytes += v.Footprint();
      VIGIL_RETURN_IF_ERROR(charge(bytes));
      it = groups_.emplace(key, std::vector<AggState>(aggs_.size())).first;
    }
    for (size_t i = 0; i < aggs_.size(); ++i) {
      const AggSpec& a = aggs_[i];
      AggState& s = it->second[i];
      if (!a.arg) {
        s.count += row.weight;
        continue;
      }
      Value v = a.arg->Eval(row);
      if (v.is_null()) continue;
      auto each = [&](const Value& x) -> Status {
        if (x.is_null()) return Status::Ok();
        const std::string& f = a.func;
        if (f == "count") {
          s.count += row.weight;
        } else if (f == "dc" || f == "values") {
          std::string text = x.Text();
          if (s.distinct.find(text) == s.distinct.end()) {
            VIGIL_RETURN_IF_ERROR(charge(text.size() + 64));
            s.distinct.insert(std::move(text));
          }
        } else if (f == "sum" || f == "avg") {
          if (auto n = x.AsNumber(); n && x.kind != Value::Kind::kTime) {
            s.sum += *n * row.weight;
            s.numbers += static_cast<size_t>(row.weight);
          }
        } else if (f == "percentile") {
          if (auto n = x.AsNumber()) {
            VIGIL_RETURN_IF_ERROR(charge(sizeof(double)));
            s.samples.push_back(*n);
          }
        } else if (f == "min" || f == "max") {
          Value& m = f == "min" ? s.min : s.max;
          const int c = m.is_null() ? 0 : CompareValues(x, m);
          if (m.is_null() || (f == "min" ? c < 0 : c > 0)) {
            const size_t grow = x.Footprint() > m.Footprint() ? x.Footprint() - m.Footprint() : 0;
            VIGIL_RETURN_IF_ERROR(charge(grow));
            m = x;
          }
        }
        return Status::Ok();
      };
      if (a.func == "earliest" || a.func == "latest") {
        // The value at the earliest (latest) event time; ties keep the first seen.
        const int64_t when = t == INT64_MIN ? static_cast<int64_t>(seq_) : t;
        if (!s.has_first || when < s.first_t) {
          VIGIL_RETURN_IF_ERROR(charge(v.Footprint()));
          s.first = v;
          s.first_t = when;
        }
        if (!s.has_first || when > s.last_t) {
          VIGIL_RETURN_IF_ERROR(charge(v.Footprint()));
          s.last = v;
          s.last_t = when;
        }
        s.has_first = true;
        continue;
      }
      if (v.kind == Value::Kind::kList) {
        for (const Value& x : v.list) VIGIL_RETURN_IF_ERROR(each(x));
      } else {
        VIGIL_RETURN_IF_ERROR(each(v));
      }
    }
    return Status::Ok();
  }

  std::vector<std::pair<std::string, CompiledExpr>> by_;
  std::vector<AggSpec> aggs_;
  GroupMap groups_;
  uint64_t seq_ = 0;
};

class AggregatingStage : public Stage {
 public:
  AggregatingStage(Shared* s, const PipeStage& spec, Aggregator agg) : Stage(s, spec), agg_(std::move(agg)) {}
  ~AggregatingStage() override { Release(charged_); }
  Result<bool> Push(Row row) override {
    VIGIL_RETURN_IF_ERROR(agg_.Add(row, charge_));
    return true;
  }

 protected:
  Status EmitAll(std::vector<Row> rows) {
    for (Row& r : rows) {
      VIGIL_ASSIGN_OR_RETURN(bool more, Forward(std::move(r)));
      if (!more) break;
    }
    agg_.groups().clear();
    Release(charged_);
    charged_ = 0;
    return FinishNext();
  }

  Aggregator agg_;
  size_t charged_ = 0;
  std::function<Status(size_t)> charge_ = [this](size_t bytes) {
    charged_ += bytes;
    return Charge(bytes);
  };
};

class StatsStage : public AggregatingStage {
 public:
  using AggregatingStage::AggregatingStage;
  Status Finish() override {
    std::vector<Row> rows;
    const auto& by = agg_.by();
    if (agg_.groups().empty() && by.empty()) {
      Row r;  // stats over nothing: one row of empty aggregations (count 0)
      r.projected = true;
      for (size_t i = 0; i < agg_.aggs().size(); ++i) r.columns.emplace_back(agg_.aggs()[i].name, agg_.Empty(i));
      rows.push_back(std::move(r));
    }
    for (auto& [key, states] : agg_.groups()) {
      Row r;
      r.projected = true;
      for (size_t i = 0; i < by.size(); ++i) r.Set(by[i].first, key[i]);
      for (size_t i = 0; i < states.size(); ++i) r.Set(agg_.aggs()[i].name, agg_.Result(i, states[i]));
      rows.push_back(std::move(r));
    }
    return EmitAll(std::move(rows));
  }
};

// top/rare: count by (split fields..., fields...), then per split group the
// N most (least) frequent combinations with their share.
class TopStage : public AggregatingStage {
 public:
  TopStage(Shared* s, const PipeStage& spec, Aggregator agg)
      : AggregatingStage(s, spec, std::move(agg)), rare_(spec.kind == PipeStage::Kind::kRare), n_(spec.count),
        split_(spec.by.size()) {}
  Status Finish() override {
    std::vector<Row> rows;
    auto& groups = agg_.groups();
    const auto& by = agg_.by();
    auto it = groups.begin();
    while (it != groups.end()) {
      // Groups sharing the split prefix are adjacent in key order.
      auto end = it;
      double total = 0;
      std::vector<GroupMap::iterator> members;
      while (end != groups.end() && SamePrefix(it->first, end->first)) {
        total += end->second[0].count;
        members.push_back(end);
        ++end;
      }
      std::stable_sort(members.begin(), members.end(), [this](GroupMap::iterator a, GroupMap::iterator b) {
        return rare_ ? a->second[0].count < b->second[0].count : a->second[0].count > b->second[0].count;
      });
      if (n_ > 0 && members.size() > n_) members.resize(n_);
      for (auto m : members) {
        Row r;
        r.projected = true;
        for (size_t i = 0; i < by.size(); ++i) r.Set(by[i].first, m->first[i]);
        const double c = m->second[0].count;
        r.Set("count", Value::Number(c));
        r.Set("percent", Value::Number(std::round(c * 100.0 / total * 1e4) / 1e4));
        rows.push_back(std::move(r));
      }
      it = end;
    }
    return EmitAll(std::move(rows));
  }

 private:
  bool SamePrefix(const std::vector<Value>& a, const std::vector<Value>& b) const {
    for (size_t i = 0; i < split_; ++i)
      if (KeyLess()({a[i]}, {b[i]}) || KeyLess()({b[i]}, {a[i]})) return false;
    return true;
  }
  bool rare_;
  size_t n_;
  size_t split_;
};

// timechart: aggregations per time bucket, one column per series when split.
class TimechartStage : public AggregatingStage {
 public:
  TimechartStage(Shared* s, const PipeStage& spec, Aggregator agg)
      : AggregatingStage(s, spec, std::move(agg)),
        span_ns_(spec.span_seconds * 1e9 < 9e18 ? static_cast<int64_t>(spec.span_seconds * 1e9) : 0),
        limit_(spec.count), split_(!spec.by.empty()) {}
  Status Finish() override {
    auto& groups = agg_.groups();
    const auto& aggs = agg_.aggs();
    std::vector<Row> rows;
    auto zero_or_null = [&](size_t i) { return agg_.Empty(i); };
    // Buckets, first to last, gaps filled (unless there would be very many).
    std::vector<int64_t> buckets;
    for (const auto& [key, st] : groups)
      if (buckets.empty() || buckets.back() != key[0].time_ns) buckets.push_back(key[0].time_ns);
    int64_t range = 0;
    if (!buckets.empty() && span_ns_ > 0 && !__builtin_sub_overflow(buckets.back(), buckets.front(), &range)) {
      const int64_t first = buckets.front(), last = buckets.back();
      if (range / span_ns_ < 100000) {
        buckets.clear();
        for (int64_t t = first; t <= last && t <= INT64_MAX - span_ns_; t += span_ns_) buckets.push_back(t);
        if (buckets.empty() || buckets.back() != last) buckets.push_back(last);
      }
    }
    if (!split_) {
      auto it = groups.begin();
      for (int64_t b : buckets) {
        Row r;
        r.projected = true;
        r.Set("time", Value::Time(b));
        const bool have = it != groups.end() && it->first[0].time_ns == b;
        for (size_t i = 0; i < aggs.size(); ++i) r.Set(aggs[i].name, have ? agg_.Result(i, it->second[i]) : zero_or_null(i));
        if (have) ++it;
        rows.push_back(std::move(r));
      }
      return EmitAll(std::move(rows));
    }
    // Series: the `limit` largest by their summed result (row count for
    // results that are not numbers); the rest add up in OTHER for count and sum.
    std::map<std::string, double> totals;
    std::map<std::pair<int64_t, std::string>, Value> cells;
    for (auto& [key, st] : groups) {
      const std::string series = key[1].Text();
      Value v = agg_.Result(0, st[0]);
      auto n = v.AsNumber();
      totals[series] += n && v.kind == Value::Kind::kNumber ? *n : 1;
      cells[{key[0].time_ns, series}] = std::move(v);
    }
    std::vector<std::pair<std::string, double>> order(totals.begin(), totals.end());
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::set<std::string> shown;
    for (size_t i = 0; i < order.size() && (limit_ == 0 || i < limit_); ++i) shown.insert(order[i].first);
    const bool additive = aggs[0].func == "count" || aggs[0].func == "sum";
    const bool other = additive && shown.size() < order.size();
    for (int64_t b : buckets) {
      Row r;
      r.projected = true;
      r.Set("time", Value::Time(b));
      for (const auto& [series, total] : order) {
        if (!shown.count(series)) continue;
        auto c = cells.find({b, series});
        r.Set(series.empty() ? "NULL" : series, c != cells.end() ? c->second : zero_or_null(0));
      }
      if (other) {
        double sum = 0;
        for (auto c = cells.lower_bound({b, std::string()}); c != cells.end() && c->first.first == b; ++c)
          if (!shown.count(c->first.second)) sum += c->second.AsNumber().value_or(0);
        r.Set("OTHER", Value::Number(sum));
      }
      rows.push_back(std::move(r));
    }
    return EmitAll(std::move(rows));
  }

 private:
  int64_t span_ns_;
  size_t limit_;
  bool split_;
};

Result<std::vector<AggSpec>> CompileAggs(const PipeStage& st, std::string_view text) {
  std::vector<AggSpec> out;
  for (const Aggregation& a : st.aggs) {
    AggSpec s;
    s.func = a.func;
    s.percentile = a.percentile;
    s.name = a.name;
    if (a.arg) {
      VIGIL_ASSIGN_OR_RETURN(CompiledExpr e, CompiledExpr::Compile(*a.arg, text));
      s.arg = std::move(e);
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<std::pair<std::string, CompiledExpr>>> CompileNamed(const std::vector<NamedExpr>& items,
                                                                       std::string_view text) {
  std::vector<std::pair<std::string, CompiledExpr>> out;
  for (const NamedExpr& n : items) {
    VIGIL_ASSIGN_OR_RETURN(CompiledExpr e, CompiledExpr::Compile(n.expr, text));
    out.emplace_back(n.name, std::move(e));
  }
  return out;
}

Expr FieldExpr(const std::string& name, size_t offset) {
  Expr e;
  e.kind = Expr::Kind::kField;
  e.name = name;
  e.offset = offset;
  return e;
}

}  // namespace

QueryPipeline::~QueryPipeline() = default;

size_t QueryPipeline::memory_used() const { return shared_ ? shared_->used : 0; }

Result<std::unique_ptr<QueryPipeline>> QueryPipeline::Build(const Query& query, std::string_view text,
                                                  const QueryPipelineOptions& options, RowSink sink) {
  std::unique_ptr<QueryPipeline> p(new QueryPipeline());
  p->shared_ = std::make_shared<Shared>();
  Shared* sh = p->shared_.get();
  sh->text = std::string(text);
  sh->limit = options.max_memory_bytes;
  sh->sink = std::move(sink);
  using K = PipeStage::Kind;
  const auto& stages = query.pipes;
  for (size_t i = 0; i < stages.size(); ++i) {
    const PipeStage& st = stages[i];
    std::unique_ptr<Stage> stage;
    switch (st.kind) {
      case K::kWhere: {
        VIGIL_ASSIGN_OR_RETURN(CompiledExpr e, CompiledExpr::Compile(st.expr, text));
        stage = std::make_unique<WhereStage>(sh, st, std::move(e));
        break;
      }
      case K::kEval:
      case K::kBin: {
        VIGIL_ASSIGN_OR_RETURN(auto a, CompileNamed(st.assignments, text));
        stage = std::make_unique<EvalStage>(sh, st, std::move(a));
        break;
      }
      case K::kFields:
        stage = std::make_unique<FieldsStage>(sh, st);
        if (!st.exclude) p->outputs_events_ = false;
        break;
      case K::kRename:
        stage = std::make_unique<RenameStage>(sh, st);
        break;
      case K::kLookup: {
        auto opened = OpenLookup(options.lookups != nullptr ? *options.lookups : LookupSources{}, st.table,
                                 st.table_key);
        if (!opened.ok()) {
          return QueryError(opened.status().code(), text, st.table_offset, opened.status().message());
        }
        const auto& cols = opened->table->columns();
        std::vector<std::string> outputs;
        if (st.fields.empty()) {
          for (const std::string& c : cols)
            if (!opened->keyed_by_column || c != st.table_key) outputs.push_back(c);
        } else {
          for (const std::string& f : st.fields) {
            if (std::find(cols.begin(), cols.end(), f) == cols.end()) {
              std::string have;
              for (const std::string& c : cols) have += (have.empty() ? "" : ", ") + c;
              return QueryError(StatusCode::kInvalidArgument, text, st.table_offset,
                                "lookup table " + st.table + " has no column `" + f + "` (columns: " + have + ")");
            }
            outputs.push_back(f);
          }
        }
        stage = std::make_unique<LookupStage>(sh, st, opened->table, std::move(outputs));
        break;
      }
      case K::kHead:
        stage = std::make_unique<HeadStage>(sh, st);
        break;
      case K::kTail:
        stage = std::make_unique<TailStage>(sh, st);
        break;
      case K::kDedup:
        stage = std::make_unique<DedupStage>(sh, st);
        break;
      case K::kSort: {
        // `sort N`, or `sort ... | head N`: only the first N rows are ever needed.
        size_t limit = st.count;
        if (limit == 0 && i + 1 < stages.size() && stages[i + 1].kind == K::kHead) limit = stages[i + 1].count;
        stage = std::make_unique<SortStage>(sh, st, limit);
        break;
      }
      case K::kStats: {
        VIGIL_ASSIGN_OR_RETURN(auto by, CompileNamed(st.by, text));
        VIGIL_ASSIGN_OR_RETURN(auto aggs, CompileAggs(st, text));
        stage = std::make_unique<StatsStage>(sh, st, Aggregator(std::move(by), std::move(aggs)));
        p->outputs_events_ = false;
        break;
      }
      case K::kTop:
      case K::kRare: {
        std::vector<NamedExpr> keys = st.by;
        for (const std::string& f : st.fields) keys.push_back({f, FieldExpr(f, st.offset)});
        VIGIL_ASSIGN_OR_RETURN(auto by, CompileNamed(keys, text));
        std::vector<AggSpec> count(1);
        count[0].func = "count";
        count[0].name = "count";
        stage = std::make_unique<TopStage>(sh, st, Aggregator(std::move(by), std::move(count)));
        p->outputs_events_ = false;
        break;
      }
      case K::kTimechart: {
        std::vector<NamedExpr> keys;
        Expr bin;
        bin.kind = Expr::Kind::kCall;
        bin.name = "bin";
        bin.offset = st.offset;
        bin.args.push_back(FieldExpr("time", st.offset));
        Expr span;
        span.literal = Value::Number(st.span_seconds);
        bin.args.push_back(std::move(span));
        keys.push_back({"time", std::move(bin)});
        for (const NamedExpr& b : st.by) keys.push_back(b);
        VIGIL_ASSIGN_OR_RETURN(auto by, CompileNamed(keys, text));
        VIGIL_ASSIGN_OR_RETURN(auto aggs, CompileAggs(st, text));
        stage = std::make_unique<TimechartStage>(sh, st, Aggregator(std::move(by), std::move(aggs)));
        p->outputs_events_ = false;
        break;
      }
    }
    p->stages_.push_back(std::move(stage));
  }
  for (size_t i = 0; i + 1 < p->stages_.size(); ++i) p->stages_[i]->next = p->stages_[i + 1].get();
  return p;
}

Result<bool> QueryPipeline::Push(Row row) {
  if (done_) return false;
  Result<bool> more = stages_.empty() ? Result<bool>(shared_->sink(row)) : stages_.front()->Push(std::move(row));
  if (!more.ok()) return more;
  if (!*more) done_ = true;
  return more;
}

Status QueryPipeline::Finish() { return stages_.empty() ? Status::Ok() : stages_.front()->Finish(); }

Result<std::vector<Row>> RunQueryPipeline(const Query& query, std::string_view text, std::vector<Row> rows,
                                     const QueryPipelineOptions& options) {
  std::vector<Row> out;
  VIGIL_ASSIGN_OR_RETURN(auto p, QueryPipeline::Build(query, text, options, [&out](const Row& r) {
    out.push_back(r);
    return true;
  }));
  for (Row& r : rows) {
    VIGIL_ASSIGN_OR_RETURN(bool more, p->Push(std::move(r)));
    if (!more) break;
  }
  VIGIL_RETURN_IF_ERROR(p->Finish());
  return out;
}

}  // namespace vigil
