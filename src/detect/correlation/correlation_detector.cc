#include "detect/correlation/correlation_detector.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "common/hash.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "common/varint.h"
#include "detect/sigma/internal/event_fields.h"

namespace vigil {

namespace {

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
constexpr char kSep = '\x1f';

struct Entry {
  int64_t time = 0;
  uint32_t pos = 0;        // index in the correlation's `rules`
  std::string id;          // event id (or firing id of a child correlation)
  std::string value;       // value_count / value_percentile: the field values
  double number = 0;       // value_sum / value_avg
  bool has_number = false;
  bool done = false;       // this entry's window fired or closed

  bool operator<(const Entry& o) const {
    if (time != o.time) return time < o.time;
    if (pos != o.pos) return pos < o.pos;
    return id < o.id;
  }
};

// The aggregate of a window that slides forward: entries join at its end and
// leave at its front. For the types whose aggregate only grows with the
// window (event, value and rule counts), so that an anchor fires exactly when
// its whole window meets an upward-closed condition.
//
// A group keeps one (Group::live) over its newest window while its entries
// arrive in order, so its entries move: values are held as strings.
class SlidingAggregate {
 public:
  SlidingAggregate() = default;
  SlidingAggregate(CorrelationType type, size_t rules) { Reset(type, rules); }
  void Reset(CorrelationType type, size_t rules) {
    type_ = type;
    count_ = 0;
    per_rule_.assign(rules, 0);
    rules_seen_ = 0;
    values_.clear();
  }
  static bool Supports(CorrelationType t) {
    return t == CorrelationType::kEventCount || t == CorrelationType::kValueCount || t == CorrelationType::kTemporal;
  }
  void Add(const Entry& e) { Change(e, +1); }
  void Remove(const Entry& e) { Change(e, -1); }
  bool Holds(const CorrelationCondition& c) const {
    switch (type_) {
      case CorrelationType::kValueCount: return c.Holds(static_cast<double>(values_.size()));
      case CorrelationType::kTemporal: return c.Holds(static_cast<double>(rules_seen_));
      default: return c.Holds(static_cast<double>(count_));
    }
  }

 private:
  void Change(const Entry& e, int d) {
    switch (type_) {
      case CorrelationType::kValueCount:
        // The values Aggregate::Add counts (a value of separators only is none).
        if (e.value.empty() || e.value.find_first_not_of(kSep) == std::string::npos) return;
        if (auto it = values_.find(e.value); it != values_.end()) {
          if ((it->second += d) == 0) values_.erase(it);
        } else if (d > 0) {
          values_.emplace(e.value, 1);
        }
        return;
      case CorrelationType::kTemporal:
        if (d > 0 && per_rule_[e.pos]++ == 0) ++rules_seen_;
        if (d < 0 && --per_rule_[e.pos] == 0) --rules_seen_;
        return;
      default: count_ += d; return;
    }
  }
  CorrelationType type_ = CorrelationType::kEventCount;
  int64_t count_ = 0;
  std::vector<int64_t> per_rule_;
  size_t rules_seen_ = 0;
  std::unordered_map<std::string, int64_t> values_;
};

struct Group {
  std::vector<std::string> values;  // group-by values, in group-by order
  std::vector<Entry> entries;       // sorted
  int64_t newest = kNoTime;
  // For eager correlations of the sliding types: the aggregate of
  // entries[live_begin..], the window of the newest entry time, while
  // live_ok. Entries arriving in order keep it up to date, so that an arrival
  // after which no window can hold costs no pass over the window (see
  // Evaluate); any other change to the entries drops it until the next
  // in-order arrival rebuilds it.
  SlidingAggregate live;
  size_t live_begin = 0;
  bool live_ok = false;
  // Every entry before this one is done (it may be done too): Evaluate
  // starts there, where the anchors already fired do not need a look again.
  size_t open_from = 0;

  // Drops entries[0..n), keeping `live` true to what is left.
  void EraseFront(size_t n) {
    if (live_ok) {
      for (size_t i = live_begin; i < n; ++i) live.Remove(entries[i]);
      live_begin = live_begin > n ? live_begin - n : 0;
    }
    open_from = open_from > n ? open_from - n : 0;
    entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(n));
  }
};

// Where a referenced rule's matches go: one input of one correlation.
struct Input {
  size_t corr = 0;
  uint32_t pos = 0;
  std::vector<FieldPath> group_fields;  // base rule: per group-by entry
  std::vector<FieldPath> value_fields;  // base rule: condition `field`
  std::vector<uint32_t> group_slots, value_slots;  // sigma_internal::FieldSlot of each
  // Child correlation: per group-by entry, the index in the child's group-by
  // (-1: not grouped by the child, empty value).
  std::vector<int> child_group_index;
  std::vector<int> child_value_index;
  bool from_correlation = false;
};

struct CorrState {
  std::shared_ptr<const CorrelationRule> rule;
  CorrelationCondition condition;
  bool eager = true;
  int64_t lateness = 0;
  int64_t watermark = kNoTime;
  int64_t last_sweep = kNoTime;
  // Whether Group::live is kept (eager, of a type SlidingAggregate supports).
  bool live = false;
  // What its firings do besides alerting: inputs of the correlations naming
  // it (null when none), and whether it alerts itself.
  const std::vector<Input>* parents = nullptr;
  bool silent = false;
  // The parts of a firing's explanation (see Fire) that are the rule's own:
  // up to the group's object, each group field's key (after the first with
  // its comma), and from the condition on. A busy correlation is explained
  // thousands of times (each firing that may be its alert's earliest), and
  // building these every time was most of the cost.
  std::string explain_head;
  std::vector<std::string> explain_keys;
  std::string explain_tail;
  std::unordered_map<std::string, Group> groups;
  // (newest, key) of every group, for eviction. The key is the group's own
  // in `groups` (whose elements stay put): an update moves one node, without
  // copying the key or allocating.
  struct NewestLess {
    bool operator()(const std::pair<int64_t, const std::string*>& a,
                    const std::pair<int64_t, const std::string*>& b) const {
      return a.first != b.first ? a.first < b.first : *a.second < *b.second;
    }
  };
  std::set<std::pair<int64_t, const std::string*>, NewestLess> by_newest;
  // Removes group `it` and its by_newest entry.
  void EraseGroup(std::unordered_map<std::string, Group>::iterator it) {
    by_newest.erase({it->second.newest, &it->first});
    groups.erase(it);
  }
};

using Reader = VarintReader;

constexpr std::string_view kStateMagic = "vigil-correlation-state-v1";

// What a checkpoint must agree with to be reused.
std::string Fingerprint(const CorrelationRule& r) {
  std::string f(CorrelationTypeName(r.type()));
  f += kSep + std::to_string(r.timespan_ns()) + kSep + r.EffectiveCondition().ToString();
  for (const auto& x : r.rules()) f += kSep + ("r:" + x);
  for (const auto& x : r.group_by()) f += kSep + ("g:" + x);
  for (const auto& x : r.fields()) f += kSep + ("f:" + x);
  for (const auto& [alias, m] : r.aliases())
    for (const auto& [rule, field] : m) f += kSep + ("a:" + alias + "=" + rule + "=" + field);
  return f;
}

bool ParseNumber(std::string_view s, double* out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

struct CorrelationDetector::Impl {
  std::unique_ptr<Detector> base;
  CorrelationLimits limits;
  std::vector<CorrState> corrs;
  // Looked up by a match's rule id (a view) without building a string.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Rule or correlation id -> where its matches go: one lookup per match.
  struct Target {
    std::vector<Input> inputs;
    bool silent = false;  // its own matches do not alert
  };
  std::unordered_map<std::string, Target, IdHash, std::equal_to<>> targets;
  mutable std::mutex mu;
  Stats stats;

  // `group_values` and `value` are copied only where kept (a new group, the
  // entry), so that callers can reuse their buffers.
  void Feed(const Input& in, int64_t time, const std::string& id, const std::vector<std::string>& group_values,
            const std::string& value, double number, bool has_number, const MatchSink& sink, int depth);
  void Evaluate(size_t c, const std::string& key, Group& g, int64_t arrival, const MatchSink& sink, int depth);
  // For an entry at `arrival` after every other of `g` (st.live): whether the
  // window of the earliest anchor Evaluate would look at holds. Every window
  // Evaluate looks at then ends after the last entry, so each is within that
  // one, and none of them holds when it does not (the aggregates only grow
  // with the window and the condition is upward-closed).
  bool LiveWindowHolds(const CorrState& st, Group& g, int64_t arrival) const;
  void Sweep(size_t c, bool all, const MatchSink& sink, int depth);
  void Fire(size_t c, const Group& g, const Entry& anchor, int64_t time, const MatchSink& sink, int depth);
  bool CloseWindow(size_t c, const Group& g, size_t a) const;
};

CorrelationDetector::CorrelationDetector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CorrelationDetector::~CorrelationDetector() = default;

Result<std::unique_ptr<CorrelationDetector>> CorrelationDetector::Create(
    std::unique_ptr<Detector> base, const std::vector<std::shared_ptr<const SigmaRule>>& rules,
    std::vector<std::shared_ptr<const CorrelationRule>> correlations, CorrelationLimits limits) {
  auto impl = std::make_unique<Impl>();
  impl->base = std::move(base);
  impl->limits = limits;
  std::unordered_map<std::string, const SigmaRule*> rule_by_ref;
  for (const auto& r : rules) {
    rule_by_ref.emplace(r->id(), r.get());
    if (!r->name().empty()) rule_by_ref.emplace(r->name(), r.get());
  }
  std::unordered_map<std::string, size_t> corr_by_ref;
  for (size_t i = 0; i < correlations.size(); ++i) {
    corr_by_ref.emplace(correlations[i]->id(), i);
    if (!correlations[i]->name().empty()) corr_by_ref.emplace(correlations[i]->name(), i);
  }
  // Cycle check: depth-first over correlation references.
  std::vector<int> color(correlations.size(), 0);
  std::function<bool(size_t)> cyclic = [&](size_t i) {
    if (color[i] == 1) return true;
    if (color[i] == 2) return false;
    color[i] = 1;
    for (const auto& ref : correlations[i]->rules()) {
      auto it = corr_by_ref.find(ref);
      if (it != corr_by_ref.end() && !rule_by_ref.count(ref) && cyclic(it->second)) return true;
    }
    color[i] = 2;
    return false;
  };
  std::unordered_map<std::string, bool> generates;  // referenced id -> some referrer generates
  for (size_t c = 0; c < correlations.size(); ++c) {
    const CorrelationRule& cr = *correlations[c];
    if (cyclic(c)) return Status::InvalidArgument("correlation " + cr.id() + ": correlations reference each other in a cycle");
    CorrState st;
    st.rule = correlations[c];
    st.condition = cr.EffectiveCondition();
    st.eager = cr.FiresEagerly();
    st.lateness = limits.allowed_lateness_ns >= 0 ? limits.allowed_lateness_ns : cr.timespan_ns();
    // JsonObject's text with the varying members cut out: "{...}" less its
    // closing brace, and less its opening one.
    st.explain_head = JsonObject().Str("correlation", CorrelationTypeName(cr.type())).Done();
    st.explain_head.back() = ',';
    AppendJsonString(&st.explain_head, "group_by");
    st.explain_head += ":{";
    for (size_t i = 0; i < cr.group_by().size(); ++i) {
      std::string key = i ? "," : "";
      AppendJsonString(&key, cr.group_by()[i]);
      key.push_back(':');
      st.explain_keys.push_back(std::move(key));
    }
    st.explain_tail = JsonObject().Str("condition", cr.condition().ToString()).StrList("rules", cr.rules()).Done();
    st.explain_tail.front() = ',';
    impl->corrs.push_back(std::move(st));
    for (uint32_t pos = 0; pos < cr.rules().size(); ++pos) {
      const std::string& ref = cr.rules()[pos];
      Input in;
      in.corr = c;
      in.pos = pos;
      std::string target_id;
      if (auto r = rule_by_ref.find(ref); r != rule_by_ref.end()) {
        const SigmaRule& rule = *r->second;
        target_id = rule.id();
        for (size_t g = 0; g < cr.group_by().size(); ++g)
          in.group_fields.emplace_back(cr.GroupFieldFor(g, rule.id(), rule.name()));
        for (const auto& f : cr.fields()) in.value_fields.emplace_back(f);
        for (const FieldPath& p : in.group_fields) in.group_slots.push_back(sigma_internal::FieldSlot(p.str()));
        for (const FieldPath& p : in.value_fields) in.value_slots.push_back(sigma_internal::FieldSlot(p.str()));
      } else if (auto k = corr_by_ref.find(ref); k != corr_by_ref.end()) {
        const CorrelationRule& child = *correlations[k->second];
        target_id = child.id();
        in.from_correlation = true;
        auto index_in_child = [&](const std::string& field) {
          auto it = std::find(child.group_by().begin(), child.group_by().end(), field);
          return it == child.group_by().end() ? -1 : static_cast<int>(it - child.group_by().begin());
        };
        for (size_t g = 0; g < cr.group_by().size(); ++g)
          in.child_group_index.push_back(index_in_child(cr.GroupFieldFor(g, child.id(), child.name())));
        for (const auto& f : cr.fields()) in.child_value_index.push_back(index_in_child(f));
      } else {
        return Status::InvalidArgument("correlation " + cr.id() + ": names rule `" + ref +
                                       "`, which is not loaded (no rule or correlation has this id or name)");
      }
      generates[target_id] = generates[target_id] || cr.generate();
      impl->targets[target_id].inputs.push_back(std::move(in));
    }
  }
  for (const auto& [id, gen] : generates)
    if (!gen) impl->targets[id].silent = true;
  for (CorrState& st : impl->corrs) {
    st.live = st.eager && SlidingAggregate::Supports(st.rule->type());
    if (auto t = impl->targets.find(st.rule->id()); t != impl->targets.end()) {
      st.parents = &t->second.inputs;
      st.silent = t->second.silent;
    }
  }
  return std::unique_ptr<CorrelationDetector>(new CorrelationDetector(std::move(impl)));
}

void CorrelationDetector::Process(const Event& event, const MatchSink& sink) {
  Impl& m = *impl_;
  // The base rules and the entries' group-by values read the same fields.
  sigma_internal::SharedEventFields shared(event.fields.get());
  m.base->Process(event, [&](const Event& e, const Match& match) {
    auto it = m.targets.find(match.rule_id);
    if (it == m.targets.end()) {
      sink(e, match);
      return;
    }
    {
      // Event::FirstString, through the event's field values.
      std::optional<sigma_internal::EventFields> fields;
      if (e.fields) fields.emplace(*e.fields);
      auto first_string = [&](const FieldPath& p, uint32_t slot) {
        std::string_view text;
        return fields && fields->FirstScalar(p, slot, &text) ? text : std::string_view();
      };
      // Buffers that keep their capacity from match to match.
      thread_local std::vector<std::string> values;
      thread_local std::string value;
      std::lock_guard<std::mutex> lock(m.mu);
      for (const Input& in : it->second.inputs) {
        values.resize(in.group_fields.size());
        for (size_t i = 0; i < in.group_fields.size(); ++i) values[i].assign(first_string(in.group_fields[i], in.group_slots[i]));
        value.clear();
        double number = 0;
        bool has_number = false;
        for (size_t i = 0; i < in.value_fields.size(); ++i) {
          const std::string_view v = first_string(in.value_fields[i], in.value_slots[i]);
          if (i == 0) has_number = ParseNumber(v, &number);
          if (i) value.push_back(kSep);
          value += v;
        }
        m.Feed(in, e.time_ns, e.id, values, value, number, has_number, sink, 0);
      }
    }
    if (!it->second.silent) sink(e, match);
  });
}

bool CorrelationDetector::ReadsOcsf() const {
  if (impl_->base->ReadsOcsf()) return true;
  for (const auto& [id, target] : impl_->targets)
    for (const Input& in : target.inputs)
      for (const auto* paths : {&in.group_fields, &in.value_fields})
        for (const FieldPath& p : *paths)
          if (!p.parts().empty() && p.parts()[0] == "ocsf") return true;
  return false;
}

void CorrelationDetector::Impl::Feed(const Input& in, int64_t time, const std::string& id,
                                     const std::vector<std::string>& group_values, const std::string& value,
                                     double number, bool has_number, const MatchSink& sink, int depth) {
  CorrState& st = corrs[in.corr];
  // The group key in a buffer of this depth (a firing feeds the parents one
  // deeper while this call still runs), which keeps its capacity. Fire feeds
  // no deeper than 65.
  thread_local std::array<std::string, 66> keys;
  std::string deeper;
  std::string& key = static_cast<size_t>(depth) < keys.size() ? keys[static_cast<size_t>(depth)] : deeper;
  key.clear();
  for (size_t i = 0; i < group_values.size(); ++i) {
    if (i) key.push_back(kSep);
    key += group_values[i];
  }
  auto it = st.groups.find(key);
  const bool late = st.watermark != kNoTime && time < st.watermark - st.lateness;
  if (late && it == st.groups.end()) {
    ++stats.late_dropped;
    return;
  }
  if (it == st.groups.end()) {
    if (st.groups.size() >= limits.max_groups && !st.by_newest.empty()) {
      st.EraseGroup(st.groups.find(*st.by_newest.begin()->second));
      ++stats.evicted_groups;
    }
    it = st.groups.emplace(key, Group{}).first;
    it->second.values = group_values;
  }
  Group& g = it->second;
  Entry e;
  e.time = time;
  e.pos = in.pos;
  e.id = id;
  e.value = value;
  e.number = number;
  e.has_number = has_number;
  auto at = std::lower_bound(g.entries.begin(), g.entries.end(), e);
  if (at != g.entries.end() && at->time == e.time && at->pos == e.pos && at->id == e.id) return;  // seen
  ++stats.entries;
  // After every entry held: the newest window only grows.
  const bool in_order = at == g.entries.end();
  g.open_from = std::min(g.open_from, static_cast<size_t>(at - g.entries.begin()));
  g.entries.insert(at, std::move(e));
  if (!in_order) {
    g.live_ok = false;
  } else if (g.live_ok) {
    g.live.Add(g.entries.back());
  }
  if (g.entries.size() > limits.max_entries_per_group) {
    g.EraseFront(1);
    ++stats.evicted_entries;
  }
  if (time > g.newest) {
    auto node = st.by_newest.extract({g.newest, &it->first});
    g.newest = time;
    if (node) {
      node.value().first = time;
      st.by_newest.insert(std::move(node));
    } else {  // a new group
      st.by_newest.emplace(time, &it->first);
    }
  }
  st.watermark = std::max(st.watermark, time);
  if (st.eager && (!in_order || !st.live || LiveWindowHolds(st, g, time))) Evaluate(in.corr, key, g, time, sink, depth);
  // Close and prune windows now and then: every eighth of a timespan of
  // event-time progress.
  if (st.last_sweep == kNoTime) st.last_sweep = st.watermark;
  if (st.watermark - st.last_sweep >= std::max<int64_t>(1, st.rule->timespan_ns() / 8)) {
    st.last_sweep = st.watermark;
    Sweep(in.corr, /*all=*/false, sink, depth);
  }
}

// The aggregate of a window's prefix, entry by entry.
class Aggregate {
 public:
  Aggregate(const CorrelationRule& r) : type_(r.type()), seen_(r.rules().size(), false) {}
  void Add(const Entry& e) {
    switch (type_) {
      case CorrelationType::kEventCount: ++count_; break;
      case CorrelationType::kValueCount:
        if (!e.value.empty() && e.value.find_first_not_of(kSep) != std::string::npos) values_.insert(e.value);
        break;
      case CorrelationType::kTemporal:
        if (!seen_[e.pos]) {
          seen_[e.pos] = true;
          ++count_;
        }
        break;
      case CorrelationType::kTemporalOrdered:
        if (count_ < seen_.size() && e.pos == count_) ++count_;
        break;
      case CorrelationType::kValueSum:
      case CorrelationType::kValueAvg:
        if (e.has_number) {
          sum_ += e.number;
          ++count_;
        }
        break;
      case CorrelationType::kValuePercentile:
        ++shares_[e.value];
        ++count_;
        break;
    }
  }
  bool Holds(const CorrelationCondition& c) const {
    switch (type_) {
      case CorrelationType::kValueCount: return c.Holds(static_cast<double>(values_.size()));
      case CorrelationType::kValueSum: return c.Holds(sum_);
      case CorrelationType::kValueAvg: return count_ > 0 && c.Holds(sum_ / static_cast<double>(count_));
      case CorrelationType::kValuePercentile:
        // Some value's share (percent) of the window's events meets the condition.
        for (const auto& [v, n] : shares_)
          if (c.Holds(100.0 * static_cast<double>(n) / static_cast<double>(count_))) return true;
        return false;
      default: return c.Holds(static_cast<double>(count_));
    }
  }

 private:
  CorrelationType type_;
  std::vector<bool> seen_;
  size_t count_ = 0;
  double sum_ = 0;
  std::set<std::string> values_;
  std::map<std::string, size_t> shares_;
};

bool CorrelationDetector::Impl::LiveWindowHolds(const CorrState& st, Group& g, int64_t arrival) const {
  const int64_t from = arrival - st.rule->timespan_ns();
  if (!g.live_ok) {
    g.live.Reset(st.rule->type(), st.rule->rules().size());
    auto first = std::lower_bound(g.entries.begin(), g.entries.end(), from,
                                  [](const Entry& e, int64_t t) { return e.time < t; });
    g.live_begin = static_cast<size_t>(first - g.entries.begin());
    for (auto e = first; e != g.entries.end(); ++e) g.live.Add(*e);
    g.live_ok = true;
  }
  while (g.live_begin < g.entries.size() && g.entries[g.live_begin].time < from) g.live.Remove(g.entries[g.live_begin++]);
  return g.live.Holds(st.condition);
}

void CorrelationDetector::Impl::Evaluate(size_t c, const std::string& key, Group& g, int64_t arrival,
                                         const MatchSink& sink, int depth) {
  CorrState& st = corrs[c];
  const int64_t span = st.rule->timespan_ns();
  // Windows containing the arrival: anchors in [arrival - span, arrival],
  // but for those known to have fired.
  auto first = std::lower_bound(g.entries.begin() + static_cast<std::ptrdiff_t>(g.open_from), g.entries.end(),
                                arrival - span, [](const Entry& e, int64_t t) { return e.time < t; });
  // Moves open_from past the anchors that fired.
  auto passed = [&g] {
    while (g.open_from < g.entries.size() && g.entries[g.open_from].done) ++g.open_from;
  };
  // For counts of events, values or rules the aggregate only grows with the
  // window, so an anchor fires exactly when its whole window meets the
  // (upward-closed) condition: one sliding pass over the anchors decides them
  // all, and only a firing anchor is scanned again for the entry that
  // completed it. Re-counting every anchor's window instead made groups that
  // never fire (one address per session, say) quadratic in their size.
  if (SlidingAggregate::Supports(st.rule->type())) {
    SlidingAggregate window(st.rule->type(), st.rule->rules().size());
    auto end = first;
    for (auto a = first; a != g.entries.end() && a->time <= arrival; ++a) {
      if (a != first) window.Remove(*(a - 1));
      for (; end != g.entries.end() && end->time <= a->time + span; ++end) window.Add(*end);
      if (a->done || !window.Holds(st.condition)) continue;
      Aggregate agg(*st.rule);
      for (auto e = a; e != end; ++e) {
        agg.Add(*e);
        if (!agg.Holds(st.condition)) continue;
        a->done = true;
        Fire(c, g, *a, e->time, sink, depth);  // feeds parents only, never this group: *a stays put
        break;
      }
    }
    passed();
    return;
  }
  for (auto a = first; a != g.entries.end() && a->time <= arrival; ++a) {
    if (a->done) continue;
    Aggregate agg(*st.rule);
    for (auto e = a; e != g.entries.end() && e->time <= a->time + span; ++e) {
      agg.Add(*e);
      if (agg.Holds(st.condition)) {
        a->done = true;
        const int64_t when = e->time;
        Fire(c, g, *a, when, sink, depth);
        // Fire may feed parents but never this group: the references are acyclic.
        (void)key;
        break;
      }
    }
  }
  passed();
}

void CorrelationDetector::Impl::Sweep(size_t c, bool all, const MatchSink& sink, int depth) {
  CorrState& st = corrs[c];
  const int64_t span = st.rule->timespan_ns();
  const int64_t closed_before = all ? std::numeric_limits<int64_t>::max() : st.watermark - st.lateness - span;
  std::vector<std::string> empty;
  for (auto& [key, g] : st.groups) {
    for (size_t a = 0; a < g.entries.size() && g.entries[a].time < closed_before; ++a) {
      if (g.entries[a].done) continue;
      g.entries[a].done = true;
      if (!st.eager && CloseWindow(c, g, a)) {
        int64_t last = g.entries[a].time;
        for (size_t e = a; e < g.entries.size() && g.entries[e].time <= g.entries[a].time + span; ++e)
          last = g.entries[e].time;
        Fire(c, g, g.entries[a], last, sink, depth);
      }
    }
    if (all) continue;
    auto keep = std::lower_bound(g.entries.begin(), g.entries.end(), closed_before,
                                 [](const Entry& e, int64_t t) { return e.time < t; });
    g.EraseFront(static_cast<size_t>(keep - g.entries.begin()));
    if (g.entries.empty()) empty.push_back(key);
  }
  for (const std::string& key : empty) st.EraseGroup(st.groups.find(key));
}

bool CorrelationDetector::Impl::CloseWindow(size_t c, const Group& g, size_t a) const {
  const CorrState& st = corrs[c];
  Aggregate agg(*st.rule);
  for (size_t e = a; e < g.entries.size() && g.entries[e].time <= g.entries[a].time + st.rule->timespan_ns(); ++e)
    agg.Add(g.entries[e]);
  return agg.Holds(st.condition);
}

void CorrelationDetector::Impl::Fire(size_t c, const Group& g, const Entry& anchor, int64_t time,
                                     const MatchSink& sink, int depth) {
  const CorrState& st = corrs[c];
  const CorrelationRule& r = *st.rule;
  ++stats.fired;
  Match m;
  m.rule_id = r.id();
  m.title = r.title();
  m.severity = r.level();
  m.tags = &r.tags();
  for (size_t i = 0; i < g.values.size(); ++i) {
    if (i) m.entity += ", ";
    m.entity += g.values[i];
  }
  if (g.values.empty()) m.entity = "*";
  m.rollup_window_ns = r.timespan_ns();
  Event ev;
  ev.source_type = "correlation";
  ev.time_ns = time;
  ev.ingest_time_ns = time;
  ev.principal = m.entity;
  thread_local std::string id_src;
  id_src.assign(r.id()).push_back(kSep);
  for (const auto& v : g.values) id_src.append(v).push_back(kSep);
  char num[24];
  id_src.append(num, static_cast<size_t>(std::to_chars(num, num + sizeof num, anchor.time).ptr - num)).push_back(kSep);
  id_src.append(num, static_cast<size_t>(std::to_chars(num, num + sizeof num, anchor.pos).ptr - num)).push_back(kSep);
  id_src.append(anchor.id);
  ev.id = HexHash128(id_src);
  // Why it fired: the group, the window (from its first event to the one that
  // met the condition) and the condition. What the window held at that moment
  // depends on the order late events arrived in, so it is not part of it: the
  // alert must not depend on input order.
  // (Captured through one pointer: the explanation costs no allocation
  // unless it is asked for.)
  // {"correlation": type, "group_by": {field: value...}, "window_start",
  // "window_end", "condition", "rules": [...]}; the rule's own parts are
  // built once (CorrState::explain_head).
  const struct {
    const CorrState& st;
    const Group& g;
    int64_t from, to;
  } why{st, g, anchor.time, time};
  m.explain = [&why]() {
    const CorrState& st = why.st;
    std::string out = st.explain_head;
    for (size_t i = 0; i < why.g.values.size() && i < st.explain_keys.size(); ++i) {
      out += st.explain_keys[i];
      AppendJsonString(&out, why.g.values[i]);
    }
    out += "},\"window_start\":";
    AppendJsonString(&out, FormatRfc3339(why.from));
    out += ",\"window_end\":";
    AppendJsonString(&out, FormatRfc3339(why.to));
    out += st.explain_tail;
    return out;
  };
  if (!st.silent) sink(ev, m);
  m.explain = nullptr;
  if (st.parents == nullptr || depth > 64) return;
  for (const Input& in : *st.parents) {
    std::vector<std::string> values;
    for (int idx : in.child_group_index) values.push_back(idx < 0 ? std::string() : g.values[static_cast<size_t>(idx)]);
    std::string value;
    for (size_t i = 0; i < in.child_value_index.size(); ++i) {
      if (i) value.push_back(kSep);
      int idx = in.child_value_index[i];
      if (idx >= 0) value += g.values[static_cast<size_t>(idx)];
    }
    double number = 0;
    bool has_number = ParseNumber(value, &number);
    Feed(in, time, ev.id, values, value, number, has_number, sink, depth + 1);
  }
}

void CorrelationDetector::Flush(const MatchSink& sink) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (size_t c = 0; c < impl_->corrs.size(); ++c) impl_->Sweep(c, /*all=*/true, sink, 0);
}

Status CorrelationDetector::SaveState(const StatePutter& put) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const CorrState& st : impl_->corrs) {
    std::string out(kStateMagic);
    PutStr(Fingerprint(*st.rule), &out);
    PutI64(st.watermark, &out);
    PutI64(st.last_sweep, &out);
    PutU64(st.groups.size(), &out);
    for (const auto& [key, g] : st.groups) {
      PutU64(g.values.size(), &out);
      for (const auto& v : g.values) PutStr(v, &out);
      PutI64(g.newest, &out);
      PutU64(g.entries.size(), &out);
      for (const Entry& e : g.entries) {
        PutI64(e.time, &out);
        PutU64(e.pos, &out);
        PutStr(e.id, &out);
        PutStr(e.value, &out);
        PutF64(e.number, &out);
        PutU64((e.has_number ? 1u : 0u) | (e.done ? 2u : 0u), &out);
      }
    }
    VIGIL_RETURN_IF_ERROR(put("correlation/" + st.rule->id(), out));
  }
  return Status::Ok();
}

Status CorrelationDetector::RestoreState(const StateGetter& get) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (CorrState& st : impl_->corrs) {
    VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> blob, get("correlation/" + st.rule->id()));
    if (!blob) continue;
    std::string_view s(*blob);
    if (s.substr(0, kStateMagic.size()) != kStateMagic) {
      ++impl_->stats.state_discarded;
      continue;
    }
    Reader r(s.substr(kStateMagic.size()));
    std::string fingerprint;
    int64_t watermark = 0, last_sweep = 0;
    uint64_t ngroups = 0;
    bool ok = r.Str(&fingerprint) && fingerprint == Fingerprint(*st.rule) && r.I64(&watermark) &&
              r.I64(&last_sweep) && r.U64(&ngroups);
    std::unordered_map<std::string, Group> groups;
    const size_t nrules = st.rule->rules().size(), ngroup_by = st.rule->group_by().size();
    for (uint64_t i = 0; ok && i < ngroups; ++i) {
      Group g;
      uint64_t nvalues = 0, nentries = 0;
      ok = r.U64(&nvalues) && nvalues == ngroup_by;
      for (uint64_t v = 0; ok && v < nvalues; ++v) ok = r.Str(&g.values.emplace_back());
      ok = ok && r.I64(&g.newest) && r.U64(&nentries);
      for (uint64_t k = 0; ok && k < nentries; ++k) {
        Entry e;
        uint64_t pos = 0, flags = 0;
        ok = r.I64(&e.time) && r.U64(&pos) && pos < nrules && r.Str(&e.id) && r.Str(&e.value) && r.F64(&e.number) &&
             r.U64(&flags);
        e.pos = static_cast<uint32_t>(pos);
        e.has_number = flags & 1;
        e.done = flags & 2;
        if (ok && g.entries.size() < impl_->limits.max_entries_per_group) g.entries.push_back(std::move(e));
      }
      if (!ok) break;
      std::sort(g.entries.begin(), g.entries.end());
      std::string key;
      for (size_t v = 0; v < g.values.size(); ++v) {
        if (v) key.push_back(kSep);
        key += g.values[v];
      }
      if (groups.size() < impl_->limits.max_groups) groups.emplace(std::move(key), std::move(g));
    }
    if (!ok || !r.done()) {
      ++impl_->stats.state_discarded;
      continue;
    }
    st.groups = std::move(groups);
    st.by_newest.clear();
    for (const auto& [key, g] : st.groups) st.by_newest.emplace(g.newest, &key);
    st.watermark = watermark;
    st.last_sweep = last_sweep;
    impl_->stats.restored_groups += st.groups.size();
  }
  return Status::Ok();
}

CorrelationDetector::Stats CorrelationDetector::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

size_t CorrelationDetector::group_count(const std::string& correlation_id) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const CorrState& st : impl_->corrs)
    if (st.rule->id() == correlation_id) return st.groups.size();
  return 0;
}

}  // namespace vigil
