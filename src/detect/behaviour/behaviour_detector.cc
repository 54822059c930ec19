#include "detect/behaviour/behaviour_detector.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/glob.h"
#include "common/hash.h"
#include "common/ip.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "common/varint.h"
#include "detect/sigma/internal/event_fields.h"

namespace vigil {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kHour = 3600 * kSecond;
// A rule's checkpoint (SaveState): its whole state under "behaviour/<id>"
// (v1: no generation, read as before), then changes since then under
// "behaviour/<id>+1", "+2", ... of the same generation, applied in order.
constexpr std::string_view kStateMagic = "vigil-behaviour-state-v1";
constexpr std::string_view kStateMagic2 = "vigil-behaviour-state-v2";
constexpr std::string_view kDeltaMagic = "vigil-behaviour-delta-v1";
// A chain of changes is folded into a new whole state when it is this long
// or holds more bytes than the whole state did.
constexpr size_t kMaxDeltas = 64;
constexpr size_t kMinChainBytes = 4096;

std::string Duration(int64_t ns) {
  const int64_t s = ns / kSecond;
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

double Round(double v, double scale = 1000) { return std::round(v * scale) / scale; }

// Open-addressing index of 64-bit keys (already hashes) to positions:
// linear probing, deletion by backward shift, at most half full. One probe
// usually settles a lookup, where a node-based map followed a bucket and
// then a node or two (each a cache miss in maps of tens of thousands).
class FlatIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t Find(uint64_t k) const {
    if (slots_.empty()) return kNone;
    for (size_t s = Home(k);; s = (s + 1) & mask_) {
      if (slots_[s].pos == kNone) return kNone;
      if (slots_[s].key == k) return slots_[s].pos;
    }
  }
  // `k` must be absent.
  void Insert(uint64_t k, uint32_t pos) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t s = Home(k);
    while (slots_[s].pos != kNone) s = (s + 1) & mask_;
    slots_[s] = Slot{k, pos};
    ++size_;
  }
  // `k` must be present.
  void Update(uint64_t k, uint32_t pos) { slots_[SlotOf(k)].pos = pos; }
  void Erase(uint64_t k) {
    size_t hole = SlotOf(k);
    for (size_t j = (hole + 1) & mask_; slots_[j].pos != kNone; j = (j + 1) & mask_) {
      // The entry at j may fill the hole when the hole lies on its probe
      // path (between its home slot and j).
      if (((j - Home(slots_[j].key)) & mask_) >= ((j - hole) & mask_)) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole].pos = kNone;
    --size_;
  }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t pos = kNone;
  };
  size_t Home(uint64_t k) const { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_); }
  size_t SlotOf(uint64_t k) const {
    size_t s = Home(k);
    while (slots_[s].key != k || slots_[s].pos == kNone) s = (s + 1) & mask_;
    return s;
  }
  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    const size_t n = std::max<size_t>(16, old.size() * 2);
    slots_.assign(n, Slot{});
    mask_ = n - 1;
    shift_ = 64 - static_cast<int>(__builtin_ctzll(n));
    size_ = 0;
    for (const Slot& x : old)
      if (x.pos != kNone) Insert(x.key, x.pos);
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

// Entities keyed by a 64-bit hash, bounded: when full, the least recently
// seen tenth goes (one partial sort per tenth of the bound: amortised O(10)
// per insertion, deterministic). V has `int64_t last_seen`. Entries are held
// densely (a removal moves the last one into its place), found through a
// FlatIndex; a V* is valid until the next Insert or Erase.
//
// It also remembers what changed since ClearChanges (entries found or
// inserted, which the models then update, and entries evicted), so that a
// checkpoint can hold only those (see BehaviourDetector::SaveState).
template <class V>
class RecencyMap {
 public:
  explicit RecencyMap(size_t max) : max_(std::max<size_t>(max, 1)) {}
  V* Find(uint64_t k) {
    const uint32_t i = index_.Find(k);
    if (i == FlatIndex::kNone) return nullptr;
    Mark(nodes_[i]);
    return &nodes_[i].value;
  }
  // Evicts first when full; `on_evict(key, value)` sees each evicted entry.
  template <class F>
  V& Insert(uint64_t k, uint64_t* evicted, F on_evict) {
    if (nodes_.size() >= max_) {
      std::vector<std::pair<int64_t, uint64_t>> order;
      order.reserve(nodes_.size());
      for (const Node& n : nodes_) order.emplace_back(n.value.last_seen, n.key);
      const size_t n = std::max<size_t>(1, max_ / 10);
      std::nth_element(order.begin(), order.begin() + (n - 1), order.end());
      for (size_t i = 0; i < n; ++i) {
        const uint32_t at = index_.Find(order[i].second);
        on_evict(order[i].second, nodes_[at].value);
        removed_.push_back(order[i].second);
        EraseAt(at);
      }
      *evicted += n;
    }
    uint32_t i = index_.Find(k);
    if (i == FlatIndex::kNone) {
      i = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back().key = k;
      index_.Insert(k, i);
    }
    Mark(nodes_[i]);
    return nodes_[i].value;
  }
  V& Insert(uint64_t k, uint64_t* evicted) {
    return Insert(k, evicted, [](uint64_t, const V&) {});
  }
  // Drops `k` if present (`on_erase(value)` sees it first).
  template <class F>
  void Erase(uint64_t k, F on_erase) {
    const uint32_t i = index_.Find(k);
    if (i == FlatIndex::kNone) return;
    on_erase(nodes_[i].value);
    EraseAt(i);
    removed_.push_back(k);
  }
  size_t size() const { return nodes_.size(); }
  template <class F>
  void ForEach(F f) const {
    for (const Node& n : nodes_) f(n.key, n.value);
  }
  // Entries found or inserted since ClearChanges and still held, each once.
  template <class F>
  void ForEachChanged(F f) const {
    for (uint64_t k : changed_) {
      const uint32_t i = index_.Find(k);
      if (i != FlatIndex::kNone) f(k, nodes_[i].value);
    }
  }
  // Keys dropped since ClearChanges (some may be held again: changed too).
  const std::vector<uint64_t>& removed() const { return removed_; }
  size_t changes() const { return changed_.size() + removed_.size(); }
  void ClearChanges() {
    for (uint64_t k : changed_) {
      const uint32_t i = index_.Find(k);
      if (i != FlatIndex::kNone) nodes_[i].changed = false;
    }
    changed_.clear();
    removed_.clear();
  }

 private:
  struct Node {
    uint64_t key = 0;
    V value;
    bool changed = false;
  };
  void Mark(Node& n) {
    if (n.changed) return;
    n.changed = true;
    changed_.push_back(n.key);
  }
  // Removes nodes_[i], moving the last node into its place.
  void EraseAt(uint32_t i) {
    index_.Erase(nodes_[i].key);
    const auto last = static_cast<uint32_t>(nodes_.size() - 1);
    if (i != last) {
      nodes_[i] = std::move(nodes_[last]);
      index_.Update(nodes_[i].key, i);
    }
    nodes_.pop_back();
  }
  size_t max_;
  std::vector<Node> nodes_;
  FlatIndex index_;
  std::vector<uint64_t> changed_;
  std::vector<uint64_t> removed_;
};

// A map in a checkpoint. Whole: its size, then each key and entry. Changes:
// the keys dropped, then the count, keys and entries of those changed.
template <class V, class SaveEntry>
void SaveMap(const RecencyMap<V>& m, bool changes_only, SaveEntry save, std::string* out) {
  if (changes_only) {
    PutU64(m.removed().size(), out);
    for (uint64_t k : m.removed()) PutU64(k, out);
    size_t n = 0;
    m.ForEachChanged([&](uint64_t, const V&) { ++n; });
    PutU64(n, out);
    m.ForEachChanged([&](uint64_t k, const V& v) {
      PutU64(k, out);
      save(v, out);
    });
    return;
  }
  PutU64(m.size(), out);
  m.ForEach([&](uint64_t k, const V& v) {
    PutU64(k, out);
    save(v, out);
  });
}

// Reads what SaveMap wrote into `m` (changes: applied over what it holds).
// `on_drop(value)` sees every entry that goes (replaced, dropped, evicted),
// `on_add(value)` every entry that comes.
template <class V, class LoadEntry, class OnDrop, class OnAdd>
bool LoadMap(RecencyMap<V>* m, VarintReader* r, bool changes_only, LoadEntry load, OnDrop on_drop, OnAdd on_add) {
  uint64_t n, ignored = 0;
  if (changes_only) {
    if (!r->U64(&n)) return false;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t k;
      if (!r->U64(&k)) return false;
      m->Erase(k, on_drop);
    }
  }
  if (!r->U64(&n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t k;
    V v;
    if (!r->U64(&k) || !load(r, &v)) return false;
    if (changes_only) m->Erase(k, on_drop);
    on_add(v);
    m->Insert(k, &ignored, [&](uint64_t, const V& gone) { on_drop(gone); }) = std::move(v);
  }
  return true;
}

template <class V, class LoadEntry>
bool LoadMap(RecencyMap<V>* m, VarintReader* r, bool changes_only, LoadEntry load) {
  return LoadMap(m, r, changes_only, load, [](const V&) {}, [](const V&) {});
}

// What one event says to a rule's baseline.
struct Observation {
  int64_t time = 0;
  uint64_t entity = 0;                // hash of the entity values
  uint64_t value = 0;                 // hash of the values
  const std::vector<const std::string*>* values = nullptr;
};

using Stats = BehaviourDetector::Stats;

// A rule's baseline. Observe returns, when the event breaks it, the JSON of
// the baseline it broke and of what was seen (the explanation's `baseline`
// and `observed`).
class Model {
 public:
  virtual ~Model() = default;
  virtual bool Observe(const Observation& o, Stats* stats, std::string* baseline, std::string* observed) = 0;
  // An event of the entity that `where` does not select (new_term: it still
  // starts the entity's history).
  virtual void Seen(const Observation& o, Stats* stats) {
    (void)o;
    (void)stats;
  }
  // The whole state, or (`changes_only`) what changed since ClearChanges;
  // Load reads either, changes applied over the state held.
  virtual void Save(std::string* out, bool changes_only) const = 0;
  virtual bool Load(VarintReader* r, bool changes_only) = 0;
  virtual size_t changes() const = 0;
  virtual void ClearChanges() = 0;
  virtual size_t entities() const = 0;
};

// ---- new_term -------------------------------------------------------------

class NewTermModel final : public Model {
 public:
  explicit NewTermModel(const BehaviourRule& r) : rule_(r), map_(r.max_entities) {}

  void Seen(const Observation& o, Stats* stats) override { Touch(o, stats); }

  bool Observe(const Observation& o, Stats* stats, std::string* baseline, std::string* observed) override {
    Entity* e = Touch(o, stats);
    auto it = std::lower_bound(e->terms.begin(), e->terms.end(), o.value);
    if (it != e->terms.end() && *it == o.value) return false;
    if (e->terms.size() >= rule_.max_terms) {
      ++stats->saturated;
      return false;
    }
    e->terms.insert(it, o.value);
    if (o.time - e->first_seen < rule_.learning_ns) return false;
    if (rule_.threshold > 1) {
      e->recent.push_back(o.time);
      std::sort(e->recent.begin(), e->recent.end());
      while (!e->recent.empty() && e->recent.front() < o.time - rule_.window_ns) e->recent.erase(e->recent.begin());
      if (e->recent.size() > rule_.threshold) e->recent.erase(e->recent.begin());
      if (e->recent.size() < rule_.threshold) return false;
    }
    JsonObject b;
    b.Str("learning_period", Duration(rule_.learning_ns))
        .Str("entity_first_seen", FormatRfc3339(e->first_seen))
        .UInt("known_values", e->terms.size() - 1);
    if (rule_.threshold > 1) b.UInt("threshold", rule_.threshold).Str("window", Duration(rule_.window_ns));
    *baseline = b.Done();
    JsonObject s;
    s.Bool("never_seen_for_entity", true);
    if (rule_.threshold > 1) s.UInt("new_values_in_window", e->recent.size());
    *observed = s.Done();
    e->recent.clear();
    return true;
  }

  void Save(std::string* out, bool changes_only) const override {
    SaveMap(map_, changes_only, [](const Entity& e, std::string* o) {
      PutI64(e.first_seen, o);
      PutI64(e.last_seen, o);
      PutU64(e.terms.size(), o);
      for (uint64_t t : e.terms) PutU64(t, o);
      PutU64(e.recent.size(), o);
      for (int64_t t : e.recent) PutI64(t, o);
    }, out);
  }
  bool Load(VarintReader* r, bool changes_only) override {
    return LoadMap(&map_, r, changes_only, [this](VarintReader* r, Entity* e) {
      uint64_t terms, recent;
      if (!r->I64(&e->first_seen) || !r->I64(&e->last_seen) || !r->U64(&terms)) return false;
      if (terms > rule_.max_terms) return false;
      for (uint64_t j = 0; j < terms; ++j) {
        uint64_t t;
        if (!r->U64(&t)) return false;
        e->terms.push_back(t);
      }
      if (!std::is_sorted(e->terms.begin(), e->terms.end())) return false;
      if (!r->U64(&recent) || recent > 1000) return false;
      for (uint64_t j = 0; j < recent; ++j) {
        int64_t t;
        if (!r->I64(&t)) return false;
        e->recent.push_back(t);
      }
      return true;
    });
  }
  size_t changes() const override { return map_.changes(); }
  void ClearChanges() override { map_.ClearChanges(); }
  size_t entities() const override { return map_.size(); }

 private:
  struct Entity {
    int64_t first_seen = 0;
    int64_t last_seen = 0;
    std::vector<uint64_t> terms;  // sorted value hashes
    std::vector<int64_t> recent;  // times of new values within the window (threshold > 1)
  };
  Entity* Touch(const Observation& o, Stats* stats) {
    Entity* e = map_.Find(o.entity);
    if (!e) {
      e = &map_.Insert(o.entity, &stats->evicted);
      e->first_seen = o.time;
    }
    e->first_seen = std::min(e->first_seen, o.time);
    e->last_seen = std::max(e->last_seen, o.time);
    return e;
  }

  const BehaviourRule& rule_;
  RecencyMap<Entity> map_;
};

// ---- rarity ---------------------------------------------------------------

class RarityModel final : public Model {
 public:
  explicit RarityModel(const BehaviourRule& r) : rule_(r), entities_(r.max_entities), pairs_(r.max_entities * 8) {}

  bool Observe(const Observation& o, Stats* stats, std::string* baseline, std::string* observed) override {
    first_time_ = std::min(first_time_, o.time);
    Entity* e = entities_.Find(o.entity);
    if (!e) e = &entities_.Insert(o.entity, &stats->evicted);
    e->last_seen = std::max(e->last_seen, o.time);
    const uint64_t pair_key = Hash64(std::string_view(reinterpret_cast<const char*>(&o.value), 8), o.entity);
    if (Pair* p = pairs_.Find(pair_key)) {
      p->last_seen = std::max(p->last_seen, o.time);
      return false;
    }
    const uint64_t users = counts_.count(o.value) ? counts_[o.value] : 0;
    const uint64_t population = entities_.size();
    Pair& p = pairs_.Insert(pair_key, &stats->evicted, [this](uint64_t, const Pair& gone) {
      auto it = counts_.find(gone.value);
      if (it != counts_.end() && --it->second == 0) counts_.erase(it);
    });
    p.last_seen = o.time;
    p.value = o.value;
    ++counts_[o.value];
    if (o.time - first_time_ < rule_.learning_ns || population < rule_.min_population) return false;
    const double percent = 100.0 * static_cast<double>(users) / static_cast<double>(population);
    if (percent >= rule_.max_percent) return false;
    *baseline = JsonObject()
                    .Str("learning_period", Duration(rule_.learning_ns))
                    .Str("learning_since", FormatRfc3339(first_time_))
                    .UInt("population", population)
                    .Num("max_percent", rule_.max_percent)
                    .Done();
    *observed = JsonObject().UInt("entities_with_value_before", users).Num("percent", Round(percent)).Done();
    return true;
  }

  void Save(std::string* out, bool changes_only) const override {
    PutI64(first_time_, out);
    SaveMap(entities_, changes_only, [](const Entity& e, std::string* o) { PutI64(e.last_seen, o); }, out);
    SaveMap(pairs_, changes_only, [](const Pair& p, std::string* o) {
      PutI64(p.last_seen, o);
      PutU64(p.value, o);
    }, out);
  }
  bool Load(VarintReader* r, bool changes_only) override {
    if (!r->I64(&first_time_)) return false;
    auto load_entity = [](VarintReader* r, Entity* e) { return r->I64(&e->last_seen); };
    auto load_pair = [](VarintReader* r, Pair* p) { return r->I64(&p->last_seen) && r->U64(&p->value); };
    auto drop = [this](const Pair& gone) {
      auto it = counts_.find(gone.value);
      if (it != counts_.end() && --it->second == 0) counts_.erase(it);
    };
    auto add = [this](const Pair& p) { ++counts_[p.value]; };
    return LoadMap(&entities_, r, changes_only, load_entity) && LoadMap(&pairs_, r, changes_only, load_pair, drop, add);
  }
  size_t changes() const override { return entities_.changes() + pairs_.changes(); }
  void ClearChanges() override {
    entities_.ClearChanges();
    pairs_.ClearChanges();
  }
  size_t entities() const override { return entities_.size(); }

 private:
  struct Entity {
    int64_t last_seen = 0;
  };
  struct Pair {
    int64_t last_seen = 0;
    uint64_t value = 0;
  };
  const BehaviourRule& rule_;
  int64_t first_time_ = INT64_MAX;
  RecencyMap<Entity> entities_;
  RecencyMap<Pair> pairs_;
  std::unordered_map<uint64_t, uint64_t> counts_;  // value -> entities holding a pair with it
};

// ---- volume ---------------------------------------------------------------

// Hour-of-week slot of hour number `h` (hours since the epoch, a Thursday):
// 0 is Monday 00:00-01:00 UTC.
int HourOfWeek(int64_t h) { return static_cast<int>(((h + 72) % 168 + 168) % 168); }

class VolumeModel final : public Model {
 public:
  explicit VolumeModel(const BehaviourRule& r) : rule_(r), map_(r.max_entities) {}

  struct Slot {
    float mean = 0;
    float var = 0;
    uint16_t n = 0;
  };

  bool Observe(const Observation& o, Stats* stats, std::string* baseline, std::string* observed) override {
    double x = 1;
    if (!rule_.values.empty()) {
      const std::string& s = *(*o.values)[0];
      auto r = std::from_chars(s.data(), s.data() + s.size(), x);
      if (r.ec != std::errc() || !std::isfinite(x) || x < 0) return false;
    }
    const int64_t h = o.time >= 0 ? o.time / kHour : (o.time - kHour + 1) / kHour;
    Entity* e = map_.Find(o.entity);
    if (!e) {
      e = &map_.Insert(o.entity, &stats->evicted);
      e->hour = h;
    }
    e->last_seen = std::max(e->last_seen, o.time);
    if (h < e->hour) {
      ++stats->late;
      return false;
    }
    if (h > e->hour) {
      Close(e, e->hour, e->sum);
      // Hours without events were hours of zero (at most a week of them).
      const int64_t gap = std::min<int64_t>(h - e->hour - 1, 168);
      for (int64_t g = h - gap; g < h; ++g) Close(e, g, 0);
      e->hour = h;
      e->sum = 0;
      e->fired = false;
    }
    e->sum += x;
    if (e->fired || e->sum < rule_.min_count) return false;
    const Slot& week = e->week[HourOfWeek(h)];
    const Slot& day = e->day[HourOfWeek(h) % 24];
    const Slot* base = week.n >= rule_.min_samples ? &week : day.n >= rule_.min_samples ? &day : nullptr;
    if (!base) return false;
    const double sd = StdDev(*base);
    const double z = (e->sum - base->mean) / sd;
    if (z < rule_.z) return false;
    e->fired = true;
    *baseline = JsonObject()
                    .Str("season", base == &week ? "hour_of_week" : "hour_of_day")
                    .Int("slot", base == &week ? HourOfWeek(h) : HourOfWeek(h) % 24)
                    .Num("mean", Round(base->mean))
                    .Num("stddev", Round(sd))
                    .UInt("samples", base->n)
                    .Num("z_threshold", rule_.z)
                    .Num("min_count", rule_.min_count)
                    .Done();
    *observed = JsonObject()
                    .Str("hour_start", FormatRfc3339(h * kHour))
                    .Num(rule_.values.empty() ? "count" : "sum", e->sum)
                    .Num("z", Round(z))
                    .Done();
    return true;
  }

  void Save(std::string* out, bool changes_only) const override {
    SaveMap(map_, changes_only, [](const Entity& e, std::string* o) {
      PutI64(e.last_seen, o);
      PutI64(e.hour, o);
      PutF64(e.sum, o);
      PutU64(e.fired, o);
      for (const Slot* slots : {e.week, e.day}) {
        const int count = slots == e.week ? 168 : 24;
        for (int i = 0; i < count; ++i) {
          PutF64(slots[i].mean, o);
          PutF64(slots[i].var, o);
          PutU64(slots[i].n, o);
        }
      }
    }, out);
  }
  bool Load(VarintReader* r, bool changes_only) override {
    return LoadMap(&map_, r, changes_only, [](VarintReader* r, Entity* e) {
      uint64_t fired;
      if (!r->I64(&e->last_seen) || !r->I64(&e->hour) || !r->F64(&e->sum) || !r->U64(&fired)) return false;
      e->fired = fired != 0;
      for (Slot* slots : {e->week, e->day}) {
        const int count = slots == e->week ? 168 : 24;
        for (int s = 0; s < count; ++s) {
          double mean, var;
          uint64_t sn;
          if (!r->F64(&mean) || !r->F64(&var) || !r->U64(&sn) || sn > 65535) return false;
          slots[s] = {static_cast<float>(mean), static_cast<float>(var), static_cast<uint16_t>(sn)};
        }
      }
      return true;
    });
  }
  size_t changes() const override { return map_.changes(); }
  void ClearChanges() override { map_.ClearChanges(); }
  size_t entities() const override { return map_.size(); }

  // The spread an hour is judged against: the slot's, but never below what
  // counting noise alone gives (sqrt of the mean, as for Poisson counts), a
  // tenth of the mean, or 1.
  static double StdDev(const Slot& s) {
    const double var = std::max(0.0f, s.var), mean = std::max(0.0f, s.mean);
    return std::max({std::sqrt(var), std::sqrt(mean), 0.1 * mean, 1.0});
  }

 private:
  struct Entity {
    int64_t last_seen = 0;
    int64_t hour = 0;  // the hour being counted
    double sum = 0;
    bool fired = false;
    Slot week[168];
    Slot day[24];
  };
  // Folds a finished hour into its slots: the running mean and variance
  // while a slot has fewer than 1/alpha observations, then EWMA.
  void Close(Entity* e, int64_t h, double x) {
    for (Slot* s : {&e->week[HourOfWeek(h)], &e->day[HourOfWeek(h) % 24]}) {
      if (s->n == 0) {
        s->mean = static_cast<float>(x);
        s->var = 0;
      } else {
        const double a = std::max(rule_.alpha, 1.0 / (s->n + 1));
        const double d = x - s->mean;
        s->mean = static_cast<float>(s->mean + a * d);
        s->var = static_cast<float>((1 - a) * (s->var + a * d * d));
      }
      if (s->n < 65535) ++s->n;
    }
  }

  const BehaviourRule& rule_;
  RecencyMap<Entity> map_;
};

// ---- distinct_count (HyperLogLog) ----------------------------------------

// 2^-r for every register value r (at most 64): the exact values std::ldexp
// gives, without its call on each register change.
const std::array<double, 65> kInversePowers = [] {
  std::array<double, 65> p{};
  for (size_t r = 0; r < p.size(); ++r) p[r] = std::ldexp(1.0, -static_cast<int>(r));
  return p;
}();

class DistinctModel final : public Model {
 public:
  static constexpr size_t kSamples = 5;
  static constexpr size_t kSampleBytes = 64;

  explicit DistinctModel(const BehaviourRule& r) : rule_(r), map_(r.max_entities), m_(size_t{1} << r.precision) {}

  bool Observe(const Observation& o, Stats* stats, std::string* baseline, std::string* observed) override {
    Entity* e = map_.Find(o.entity);
    if (!e) {
      e = &map_.Insert(o.entity, &stats->evicted);
      e->first_seen = o.time;
    }
    e->last_seen = std::max(e->last_seen, o.time);
    if (e->registers.empty() || o.time >= e->window_start + rule_.window_ns) {
      e->window_start = o.time;
      e->registers.assign(m_, 0);
      e->fired = false;
      e->inverse_sum = static_cast<double>(m_);
      e->zeros = static_cast<uint32_t>(m_);
      e->nsamples = 0;
    }
    // The register is chosen by the value hash's top bits (mixed again, so
    // rules sharing values do not share register patterns).
    const uint64_t h = Hash64(std::string_view(reinterpret_cast<const char*>(&o.value), 8), 0x9e3779b97f4a7c15ull);
    const size_t idx = h >> (64 - rule_.precision);
    const uint64_t rest = h << rule_.precision;
    const uint8_t rho = static_cast<uint8_t>(
        rest == 0 ? 64 - rule_.precision + 1 : std::min<int>(__builtin_clzll(rest) + 1, 64 - rule_.precision + 1));
    if (e->registers[idx] >= rho) return false;
    // The estimate's sum of 2^-register and count of zero registers move
    // with the one register that changed.
    e->inverse_sum += kInversePowers[rho] - kInversePowers[e->registers[idx]];
    e->zeros -= e->registers[idx] == 0;
    e->registers[idx] = rho;
    const double estimate = Estimate(static_cast<double>(m_), e->inverse_sum, e->zeros);
    if (e->nsamples < kSamples) {
      // Into a string an earlier window left (most windows of an entity hold
      // a few events, each a sample: no allocation once the entity has had
      // its samples).
      if (e->samples.size() <= e->nsamples) e->samples.emplace_back();
      std::string& v = e->samples[e->nsamples++];
      v.clear();
      for (size_t i = 0; i < o.values->size(); ++i) v.append(i ? ", " : "").append(*(*o.values)[i]);
      // Long values (ARNs, names) differ at their ends: keep the end.
      if (v.size() > kSampleBytes) v.replace(0, v.size() - (kSampleBytes - 3), "...");
    }
    if (e->fired || estimate < static_cast<double>(rule_.threshold)) return false;
    e->fired = true;
    // With a learning period, an entity that reaches the threshold while it
    // learns (an inventory or vulnerability scanner's nightly sweep) does so
    // by habit: its bursts are known and never alerted.
    if (rule_.learning_ns > 0) {
      if (e->bursts_by_habit || o.time - e->first_seen < rule_.learning_ns) {
        e->bursts_by_habit = true;
        return false;
      }
    }
    *baseline = JsonObject()
                    .Str("window", Duration(rule_.window_ns))
                    .UInt("threshold", rule_.threshold)
                    .Str("estimator", "hyperloglog")
                    .Num("relative_error", Round(1.04 / std::sqrt(static_cast<double>(m_))))
                    .Str("learning_period", Duration(rule_.learning_ns))
                    .Str("entity_first_seen", FormatRfc3339(e->first_seen))
                    .Done();
    *observed = JsonObject()
                    .Str("window_start", FormatRfc3339(e->window_start))
                    .UInt("distinct_values", static_cast<uint64_t>(std::llround(estimate)))
                    .StrList("sample_values", std::vector<std::string>(e->samples.begin(), e->samples.begin() + e->nsamples))
                    .Done();
    return true;
  }

  void Save(std::string* out, bool changes_only) const override {
    SaveMap(map_, changes_only, [](const Entity& e, std::string* o) {
      PutI64(e.last_seen, o);
      PutI64(e.window_start, o);
      PutI64(e.first_seen, o);
      PutU64(static_cast<uint64_t>(e.fired) | static_cast<uint64_t>(e.bursts_by_habit) << 1, o);
      PutStr(std::string_view(reinterpret_cast<const char*>(e.registers.data()), e.registers.size()), o);
      PutU64(e.nsamples, o);
      for (size_t j = 0; j < e.nsamples; ++j) PutStr(e.samples[j], o);
    }, out);
  }
  bool Load(VarintReader* r, bool changes_only) override {
    return LoadMap(&map_, r, changes_only, [this](VarintReader* r, Entity* e) {
      uint64_t fired, samples;
      std::string regs;
      if (!r->I64(&e->last_seen) || !r->I64(&e->window_start) || !r->I64(&e->first_seen) || !r->U64(&fired) ||
          fired > 3 || !r->Str(&regs))
        return false;
      if (!regs.empty() && regs.size() != m_) return false;
      e->registers.assign(regs.begin(), regs.end());
      e->fired = (fired & 1) != 0;
      e->bursts_by_habit = (fired & 2) != 0;
      if (!r->U64(&samples) || samples > kSamples) return false;
      for (uint64_t j = 0; j < samples; ++j) {
        std::string s;
        if (!r->Str(&s)) return false;
        e->samples.push_back(std::move(s));
      }
      e->nsamples = static_cast<uint8_t>(samples);
      e->inverse_sum = 0;
      e->zeros = 0;
      for (uint8_t reg : e->registers) {
        if (reg > 64) return false;
        e->inverse_sum += kInversePowers[reg];
        e->zeros += reg == 0;
      }
      return true;
    });
  }
  size_t changes() const override { return map_.changes(); }
  void ClearChanges() override { map_.ClearChanges(); }
  size_t entities() const override { return map_.size(); }

  // HyperLogLog with linear counting for small cardinalities (Flajolet et
  // al. 2007, with the small-range correction).
  // `m` registers, `sum` of 2^-register over them, `zeros` registers at 0.
  static double Estimate(double m, double sum, uint32_t zeros) {
    const double alpha = m == 16 ? 0.673 : m == 32 ? 0.697 : m == 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / static_cast<double>(zeros));
    return e;
  }

 private:
  struct Entity {
    int64_t last_seen = 0;
    int64_t window_start = 0;
    int64_t first_seen = 0;
    bool fired = false;
    bool bursts_by_habit = false;  // reached the threshold while learning
    double inverse_sum = 0;  // sum of 2^-register
    uint32_t zeros = 0;      // registers at 0
    std::vector<uint8_t> registers;
    // The first few distinct values of the window, for the explanation: the
    // first `nsamples` of `samples` (the rest are strings kept for reuse).
    std::vector<std::string> samples;
    uint8_t nsamples = 0;
  };
  const BehaviourRule& rule_;
  RecencyMap<Entity> map_;
  size_t m_;
};

// ---- beacon ---------------------------------------------------------------

class BeaconModel final : public Model {
 public:
  explicit BeaconModel(const BehaviourRule& r) : rule_(r), map_(r.max_entities) {}

  bool Observe(const Observation& o, Stats* stats, std::string* baseline, std::string* observed) override {
    Entity* e = map_.Find(o.entity);
    if (!e) {
      e = &map_.Insert(o.entity, &stats->evicted);
      e->last = o.time;
      e->last_seen = o.time;
      return false;
    }
    e->last_seen = std::max(e->last_seen, o.time);
    const int64_t gap = o.time - e->last;
    // Events closer than min_interval are one contact (a connection logged
    // twice, both directions); older ones are late and ignored.
    if (gap < rule_.min_interval_ns) return false;
    e->last = o.time;
    if (gap > rule_.max_interval_ns) {
      e->gaps.clear();
      return false;
    }
    e->gaps.push_back(static_cast<uint32_t>(gap / 1'000'000));  // ms
    if (e->gaps.size() < rule_.min_connections - 1) return false;
    if (e->gaps.size() > rule_.min_connections - 1) e->gaps.erase(e->gaps.begin());
    double mean = 0, var = 0;
    for (uint32_t g : e->gaps) mean += g;
    mean /= static_cast<double>(e->gaps.size());
    for (uint32_t g : e->gaps) var += (g - mean) * (g - mean);
    var /= static_cast<double>(e->gaps.size());
    const double jitter = std::sqrt(var) / mean;
    if (jitter > rule_.max_jitter) return false;
    *baseline = JsonObject()
                    .UInt("min_connections", rule_.min_connections)
                    .Num("max_jitter", rule_.max_jitter)
                    .Str("min_interval", Duration(rule_.min_interval_ns))
                    .Str("max_interval", Duration(rule_.max_interval_ns))
                    .Done();
    *observed = JsonObject()
                    .UInt("connections", e->gaps.size() + 1)
                    .Num("mean_interval_s", Round(mean / 1000))
                    .Num("stddev_interval_s", Round(std::sqrt(var) / 1000))
                    .Num("jitter", Round(jitter, 10000))
                    .Done();
    e->gaps.clear();  // the next alert needs a new run of regular contacts
    return true;
  }

  void Save(std::string* out, bool changes_only) const override {
    SaveMap(map_, changes_only, [](const Entity& e, std::string* o) {
      PutI64(e.last_seen, o);
      PutI64(e.last, o);
      PutU64(e.gaps.size(), o);
      for (uint32_t g : e.gaps) PutU64(g, o);
    }, out);
  }
  bool Load(VarintReader* r, bool changes_only) override {
    return LoadMap(&map_, r, changes_only, [this](VarintReader* r, Entity* e) {
      uint64_t gaps;
      if (!r->I64(&e->last_seen) || !r->I64(&e->last) || !r->U64(&gaps) || gaps > rule_.min_connections) return false;
      for (uint64_t j = 0; j < gaps; ++j) {
        uint64_t g;
        if (!r->U64(&g) || g > UINT32_MAX) return false;
        e->gaps.push_back(static_cast<uint32_t>(g));
      }
      return true;
    });
  }
  size_t changes() const override { return map_.changes(); }
  void ClearChanges() override { map_.ClearChanges(); }
  size_t entities() const override { return map_.size(); }

 private:
  struct Entity {
    int64_t last_seen = 0;
    int64_t last = 0;             // the latest contact
    std::vector<uint32_t> gaps;   // the latest min_connections - 1 gaps, ms
  };
  const BehaviourRule& rule_;
  RecencyMap<Entity> map_;
};

// ---- impossible_travel ----------------------------------------------------

class TravelModel final : public Model {
 public:
  explicit TravelModel(const BehaviourRule& r) : rule_(r), map_(r.max_entities) {}

  bool Observe(const Observation& o, Stats* stats, std::string* baseline, std::string* observed) override {
    const std::string& ip = *(*o.values)[0];
    auto g = rule_.geoip ? rule_.geoip->Lookup(ip) : std::nullopt;
    if (!g || !g->has_coordinates) {
      ++stats->no_location;
      return false;
    }
    Place here{o.time, g->lat, g->lon, ip.substr(0, 45), std::string(g->country.substr(0, 8)),
               std::string(g->city.substr(0, 48))};
    Entity* e = map_.Find(o.entity);
    if (!e) {
      e = &map_.Insert(o.entity, &stats->evicted);
      e->last_seen = o.time;
      e->place = std::move(here);
      return false;
    }
    e->last_seen = std::max(e->last_seen, o.time);
    const Place& before = e->place;
    const double km = HaversineKm(before.lat, before.lon, here.lat, here.lon);
    const double hours = std::fabs(static_cast<double>(o.time - before.time)) / static_cast<double>(kHour);
    // A minute at least: two logins in the same second are not infinitely fast.
    const double speed = km / std::max(hours, 1.0 / 60);
    const bool fire = km >= rule_.min_distance_km && speed > rule_.max_speed_kmh;
    if (fire) {
      auto place = [](const Place& p) {
        return JsonObject()
            .Str("ip", p.ip)
            .Str("country", p.country)
            .Str("city", p.city)
            .Num("lat", Round(p.lat, 100))
            .Num("lon", Round(p.lon, 100))
            .Str("time", FormatRfc3339(p.time))
            .Done();
      };
      *baseline = JsonObject()
                      .Raw("previous_location", place(before))
                      .Num("max_speed_kmh", rule_.max_speed_kmh)
                      .Num("min_distance_km", rule_.min_distance_km)
                      .Done();
      *observed = JsonObject()
                      .Raw("location", place(here))
                      .Num("distance_km", Round(km, 1))
                      .Num("hours", Round(hours))
                      .Num("speed_kmh", Round(speed, 1))
                      .Done();
    }
    if (o.time >= before.time) e->place = std::move(here);
    return fire;
  }

  void Save(std::string* out, bool changes_only) const override {
    SaveMap(map_, changes_only, [](const Entity& e, std::string* o) {
      PutI64(e.last_seen, o);
      PutI64(e.place.time, o);
      PutF64(e.place.lat, o);
      PutF64(e.place.lon, o);
      PutStr(e.place.ip, o);
      PutStr(e.place.country, o);
      PutStr(e.place.city, o);
    }, out);
  }
  bool Load(VarintReader* r, bool changes_only) override {
    return LoadMap(&map_, r, changes_only, [](VarintReader* r, Entity* e) {
      return r->I64(&e->last_seen) && r->I64(&e->place.time) && r->F64(&e->place.lat) && r->F64(&e->place.lon) &&
             r->Str(&e->place.ip) && r->Str(&e->place.country) && r->Str(&e->place.city);
    });
  }
  size_t changes() const override { return map_.changes(); }
  void ClearChanges() override { map_.ClearChanges(); }
  size_t entities() const override { return map_.size(); }

 private:
  struct Place {
    int64_t time = 0;
    double lat = 0, lon = 0;
    std::string ip, country, city;
  };
  struct Entity {
    int64_t last_seen = 0;
    Place place;  // the latest location
  };
  const BehaviourRule& rule_;
  RecencyMap<Entity> map_;
};

std::unique_ptr<Model> MakeModel(const BehaviourRule& r) {
  switch (r.kind) {
    case BehaviourKind::kNewTerm: return std::make_unique<NewTermModel>(r);
    case BehaviourKind::kRarity: return std::make_unique<RarityModel>(r);
    case BehaviourKind::kVolume: return std::make_unique<VolumeModel>(r);
    case BehaviourKind::kDistinctCount: return std::make_unique<DistinctModel>(r);
    case BehaviourKind::kBeacon: return std::make_unique<BeaconModel>(r);
    case BehaviourKind::kImpossibleTravel: return std::make_unique<TravelModel>(r);
  }
  return nullptr;
}

// ---- per-event evaluation -------------------------------------------------
//
// The pack's rules share most of what they read: the principal, its type,
// the service exclusions, eventName. So every distinct field, condition and
// entity/value key is worked out at most once per event, into a per-thread
// cache, and nothing is copied or allocated on the path of an event that
// does not fire: values are read once, lower-cased and hashed once (an exact
// list is a lookup of that hash), parsed as an IP once, and keys are hashed
// from the cached values.

// One distinct field of the rules, per event.
struct FieldSlot {
  const FieldSpec* spec = nullptr;
  const GeoIpTable* geo = nullptr;
  // Index of the same path without transforms, when this one has transforms
  // (`userAgent|product` reuses `userAgent`'s read); SIZE_MAX otherwise.
  size_t base = SIZE_MAX;
  uint32_t slot = sigma_internal::kNoSlot;  // of the path, when base is SIZE_MAX
};

// One distinct condition, compiled against the cached forms of its field.
struct CondSlot {
  const FieldCondition* c = nullptr;
  size_t field = 0;
  std::vector<uint64_t> exact_hashes;  // sorted Hash64 of c->exact's (lower-case) values
  // Case-insensitive globs test the lower-cased value (MatchesLowered), the
  // case-sensitive ones the value itself.
  std::vector<const GlobPattern*> globs;
};

// What the conditions on one field said about the values it had lately.
// Values repeat from event to event (principals, API names, user agents), so
// an event whose value was seen costs a hash and a comparison instead of the
// lower-casing and matching: a direct-mapped table of recent values, each with
// a bit per condition on the field (known, and held).
struct CondMemo {
  static constexpr size_t kEntries = 256;
  struct Entry {
    bool used = false;
    uint64_t hash = 0;
    std::string value;
    uint64_t known = 0, held = 0;
  };
  std::vector<Entry> entries = std::vector<Entry>(kEntries);
};

struct FieldCache {
  uint64_t epoch = 0;   // event this entry is for
  int8_t state = 0;     // 0 not read, 1 absent, 2 present
  int8_t lower = 0;     // lower/lower_hash computed
  bool hashed = false;  // value_hash computed
  uint64_t value_hash = 0;
  int8_t ip = 0;        // 0 not parsed, 1 not an IP, 2 parsed
  bool v6 = false;
  std::string value, lowered;
  uint64_t lower_hash = 0;
  std::array<uint8_t, 16> addr{};
  // The memo entry of this value (null: not looked up yet for the event):
  // the conditions on one field (the new_term rules' API lists, the
  // exclusions) look it up once an event, not once each.
  CondMemo::Entry* memo = nullptr;
};

struct EventCache {
  uint64_t epoch = 0;
  // The event's field values as every detector on the thread reads them
  // (shared with the Sigma rules under a DetectorList); null without fields.
  sigma_internal::EventFields* event_fields = nullptr;
  std::vector<FieldCache> fields;
  std::vector<int8_t> held;         // per condition: 0 not tested, 1 false, 2 true
  std::vector<uint64_t> held_epoch;
  std::vector<uint64_t> key_hash;   // per key: hash of its values
  std::vector<uint64_t> key_epoch;  // per key: event the hash is for (0: none)
  std::vector<int8_t> key_ok;       // per key: every value present
  std::vector<uint64_t> excluded_epoch;  // per `unless` list: event `excluded` is for
  std::vector<int8_t> excluded;          // per `unless` list: some condition held
  std::string buf;
};

bool HoldsGlob(const CondSlot& s, FieldCache& f) {
  const FieldCondition& c = *s.c;
  if (!f.lower) {
    ToLowerInto(f.value, &f.lowered);
    f.lower_hash = Hash64(f.lowered);
    f.lower = 1;
  }
  if (!s.exact_hashes.empty() && std::binary_search(s.exact_hashes.begin(), s.exact_hashes.end(), f.lower_hash) &&
      c.exact.count(f.lowered))
    return true;
  for (const GlobPattern* g : s.globs)
    if (g->case_sensitive() ? g->Matches(f.value) : g->MatchesLowered(f.lowered)) return true;
  return false;
}

// Whether condition `s` holds for its field's value (absent: false).
bool Holds(const CondSlot& s, FieldCache& f) {
  if (f.state != 2) return false;
  const FieldCondition& c = *s.c;
  switch (c.op) {
    case FieldCondition::Op::kGlob: return HoldsGlob(s, f);
    case FieldCondition::Op::kCidr: {
      if (!f.ip) f.ip = ParseIp(f.value, &f.v6, &f.addr) ? 2 : 1;
      if (f.ip != 2) return false;
      for (const auto& b : c.blocks)
        if (NetworkContains(b, f.v6, f.addr)) return true;
      return false;
    }
    default: {
      double number;
      auto r = std::from_chars(f.value.data(), f.value.data() + f.value.size(), number);
      if (r.ec != std::errc()) return false;
      switch (c.op) {
        case FieldCondition::Op::kGt: return number > c.number;
        case FieldCondition::Op::kGte: return number >= c.number;
        case FieldCondition::Op::kLt: return number < c.number;
        case FieldCondition::Op::kLte: return number <= c.number;
        default: return false;
      }
    }
  }
}

// What a field's transforms made of the values its path had lately. The
// transforms depend only on the value (and an immutable GeoIP table), and
// values repeat (user agents, source addresses), so a repeated value costs a
// hash and a comparison instead of the parsing, lower-casing and lookups:
// a direct-mapped table of recent values and their results.
struct TransformMemo {
  static constexpr size_t kEntries = 256;
  struct Entry {
    bool used = false;
    bool ok = false;  // the transforms gave a value
    uint64_t hash = 0;
    std::string value, result;
  };
  std::vector<Entry> entries = std::vector<Entry>(kEntries);
};

}  // namespace

struct BehaviourDetector::Impl {
  struct RuleState {
    std::shared_ptr<const BehaviourRule> rule;
    std::unique_ptr<Model> model;
    bool dirty = false;
    // The stored checkpoint: whole state of `generation` (none yet when
    // !has_base, or only a v1 one), then `deltas` changes of `delta_bytes`.
    bool has_base = false;
    uint64_t generation = 0;
    size_t deltas = 0, delta_bytes = 0, base_bytes = 0;
    // Indices into `fields` of the rule's entity and value fields.
    std::vector<size_t> entity, values;
    // Indices into `conds` of its conditions, and into `keys` of its entity
    // and value lists.
    std::vector<size_t> unless_slot, where_slot;
    size_t entity_key = 0, value_key = 0;
    // Index into `unless_lists` of unless_slot: rules share theirs (the
    // exclusions of AWS services and service roles), decided once an event.
    size_t unless_list = 0;
  };
  std::vector<std::unique_ptr<RuleState>> rules;
  std::unordered_map<std::string, std::vector<RuleState*>> by_type;
  std::vector<FieldSlot> fields;
  std::map<std::pair<std::string, const GeoIpTable*>, size_t> field_index;
  std::vector<CondSlot> conds;
  std::map<std::string, size_t> cond_index;
  std::vector<std::vector<size_t>> unless_lists;
  std::map<std::vector<size_t>, size_t> unless_list_index;
  // Per condition, its bit in its field's memo (kNoMemo beyond 64 on one
  // field); per field, the memo (made for fields with conditions). Guarded by
  // mu, as the rules' state is.
  static constexpr uint32_t kNoMemo = UINT32_MAX;
  std::vector<uint32_t> cond_bit;
  std::vector<std::unique_ptr<CondMemo>> memos;
  std::vector<uint32_t> conds_of_field;
  // Per field with transforms, its memo (null for the others). Guarded by mu.
  std::vector<std::unique_ptr<TransformMemo>> transform_memos;
  std::vector<std::vector<size_t>> keys;  // field lists hashed as entity or value keys
  std::map<std::vector<size_t>, size_t> key_index;
  // Guards every rule's state and the stats: one lock per event, where a
  // lock per rule cost more than many a rule's work.
  mutable std::mutex mu;
  Stats stats;

  size_t FieldIndex(const FieldSpec& f, const GeoIpTable* geo) {
    if (f.transforms.empty()) geo = nullptr;  // only transforms read the table
    auto found = field_index.find(std::make_pair(f.text, geo));
    if (found != field_index.end()) return found->second;
    FieldSlot slot{&f, geo, SIZE_MAX};
    if (f.transforms.empty()) slot.slot = sigma_internal::FieldSlot(f.path.str());
    if (!f.transforms.empty()) {
      // The untransformed read it starts from (a FieldSpec owned by this
      // Impl: the path alone).
      auto base = std::make_unique<FieldSpec>();
      base->text = f.path.str();
      base->path = f.path;
      const FieldSpec* raw = base.get();
      owned_specs.push_back(std::move(base));
      slot.base = FieldIndex(*raw, nullptr);
    }
    const size_t i = fields.size();
    fields.push_back(slot);
    transform_memos.push_back(f.transforms.empty() ? nullptr : std::make_unique<TransformMemo>());
    field_index.emplace(std::make_pair(f.text, geo), i);
    return i;
  }
  std::vector<std::unique_ptr<FieldSpec>> owned_specs;

  // A condition's key spells out what it tests; one whose patterns cannot be
  // spelled out (general globs, CIDR blocks) is its own.
  size_t CondIndex(const FieldCondition& c, size_t field) {
    std::string key = std::to_string(field) + "|" + std::to_string(static_cast<int>(c.op)) + "|";
    bool spelled = c.op != FieldCondition::Op::kCidr;
    std::vector<std::string> exact(c.exact.begin(), c.exact.end());
    std::sort(exact.begin(), exact.end());
    for (const std::string& e : exact) key.append(std::to_string(e.size())).append(":").append(e);
    key.append("|");
    for (const GlobPattern& g : c.globs) {
      if (g.shape() == GlobPattern::Shape::kGeneral) spelled = false;
      key.append(std::to_string(static_cast<int>(g.shape()))).append(g.case_sensitive() ? "c" : "i");
      key.append(std::to_string(g.literal().size())).append(":").append(g.literal());
    }
    key.append("|").append(std::to_string(c.number));
    if (!spelled) key.append("|own ").append(std::to_string(reinterpret_cast<uintptr_t>(&c)));
    auto [it, added] = cond_index.emplace(key, conds.size());
    if (added) {
      CondSlot s;
      s.c = &c;
      s.field = field;
      for (const std::string& e : c.exact) s.exact_hashes.push_back(Hash64(e));
      std::sort(s.exact_hashes.begin(), s.exact_hashes.end());
      for (const GlobPattern& g : c.globs) s.globs.push_back(&g);
      conds.push_back(std::move(s));
      if (conds_of_field.size() <= field) {
        conds_of_field.resize(field + 1);
        memos.resize(field + 1);
      }
      const uint32_t bit = conds_of_field[field]++;
      cond_bit.push_back(bit < 64 ? bit : kNoMemo);
      if (!memos[field]) memos[field] = std::make_unique<CondMemo>();
    }
    return it->second;
  }

  size_t KeyIndex(std::vector<size_t> list) {
    auto [it, added] = key_index.emplace(list, keys.size());
    if (added) keys.push_back(std::move(list));
    return it->second;
  }

  // The event's value of field `i` (null: absent), read once per event.
  FieldCache* Field(const Event& event, EventCache& ec, size_t i) {
    FieldCache& f = ec.fields[i];
    if (f.epoch != ec.epoch) {
      f.epoch = ec.epoch;
      f.lower = 0;
      f.ip = 0;
      f.hashed = false;
      f.memo = nullptr;
      const FieldSlot& s = fields[i];
      if (s.base == SIZE_MAX) {
        // ExtractField without transforms (a base read has none), through
        // the event's shared field values.
        std::string_view text;
        f.state = 1;
        if (ec.event_fields != nullptr && ec.event_fields->FirstScalar(s.spec->path, s.slot, &text) && !text.empty()) {
          f.value.assign(text);
          f.state = 2;
        }
      } else {
        Transform(event, ec, i, &f);
      }
    }
    return f.state == 2 ? &f : nullptr;
  }

  // Field `i` (one with transforms) from its base read, through its memo.
  // Kept out of line: Field, inlined where conditions and keys read values,
  // stays small.
  __attribute__((noinline)) void Transform(const Event& event, EventCache& ec, size_t i, FieldCache* f) {
    const FieldSlot& s = fields[i];
    FieldCache* b = Field(event, ec, s.base);
    f->state = 1;
    if (!b) return;
    if (!b->hashed) {
      b->value_hash = Hash64(b->value);
      b->hashed = true;
    }
    TransformMemo::Entry& e = transform_memos[i]->entries[b->value_hash & (TransformMemo::kEntries - 1)];
    if (!e.used || e.hash != b->value_hash || e.value != b->value) {
      e.used = true;
      e.hash = b->value_hash;
      e.value = b->value;
      e.result = b->value;
      e.ok = ApplyTransforms(s.spec->transforms, s.geo, &e.result);
    }
    if (e.ok) {
      f->value = e.result;
      f->state = 2;
    }
  }

  // Whether condition `slot` holds for the event; decided once per event
  // (the check is small enough to inline into the rule loop).
  // Whether some condition of `unless` list `u` holds, in list order.
  bool Excluded(const Event& event, EventCache& ec, size_t u) {
    if (ec.excluded_epoch[u] != ec.epoch) {
      ec.excluded_epoch[u] = ec.epoch;
      bool any = false;
      for (size_t slot : unless_lists[u])
        if ((any = Cond(event, ec, slot))) break;
      ec.excluded[u] = any;
    }
    return ec.excluded[u] != 0;
  }

  bool Cond(const Event& event, EventCache& ec, size_t slot) {
    if (ec.held_epoch[slot] != ec.epoch) Decide(event, ec, slot);
    return ec.held[slot] == 2;
  }
  void Decide(const Event& event, EventCache& ec, size_t slot) {
    ec.held_epoch[slot] = ec.epoch;
    const CondSlot& cs = conds[slot];
    FieldCache* f = Field(event, ec, cs.field);
    ec.held[slot] = f && Memoized(cs, cond_bit[slot], *f) ? 2 : 1;
  }

  // Holds(cs, f), through the field's memo: the condition depends only on
  // the field's value.
  bool Memoized(const CondSlot& cs, uint32_t bit, FieldCache& f) {
    if (bit == kNoMemo) return Holds(cs, f);
    if (f.memo == nullptr) {
      if (!f.hashed) {
        f.value_hash = Hash64(f.value);
        f.hashed = true;
      }
      CondMemo::Entry& found = memos[cs.field]->entries[f.value_hash & (CondMemo::kEntries - 1)];
      if (!found.used || found.hash != f.value_hash || found.value != f.value) {
        found.used = true;
        found.hash = f.value_hash;
        found.value = f.value;
        found.known = found.held = 0;
      }
      f.memo = &found;
    }
    CondMemo::Entry& e = *f.memo;
    const uint64_t m = uint64_t{1} << bit;
    if ((e.known & m) == 0) {
      e.known |= m;
      if (Holds(cs, f)) e.held |= m;
    }
    return (e.held & m) != 0;
  }

  // Hash of key `k`'s values joined as "v1\x1f v2\x1f" (the form the saved
  // state is keyed by); false when one is absent.
  bool Key(const Event& event, EventCache& ec, size_t k, uint64_t* hash) {
    if (ec.key_epoch[k] != ec.epoch) {
      ec.key_epoch[k] = ec.epoch;
      ec.key_ok[k] = 0;
      ec.buf.clear();
      for (size_t i : keys[k]) {
        const FieldCache* f = Field(event, ec, i);
        if (!f) return false;
        ec.buf.append(f->value).push_back('\x1f');
      }
      ec.key_hash[k] = Hash64(ec.buf);
      ec.key_ok[k] = 1;
    }
    *hash = ec.key_hash[k];
    return ec.key_ok[k];
  }

  EventCache& Cache() {
    thread_local EventCache ec;
    // Epochs never repeat (one counter for every detector on the thread), so
    // entries left by another detector or event never pass for this one.
    thread_local uint64_t epoch = 0;
    ec.epoch = ++epoch;
    if (ec.fields.size() < fields.size()) ec.fields.resize(fields.size());
    if (ec.held.size() < conds.size()) {
      ec.held.resize(conds.size());
      ec.held_epoch.resize(conds.size());
    }
    if (ec.key_hash.size() < keys.size()) {
      ec.key_hash.resize(keys.size());
      ec.key_epoch.resize(keys.size());
      ec.key_ok.resize(keys.size());
    }
    if (ec.excluded.size() < unless_lists.size()) {
      ec.excluded.resize(unless_lists.size());
      ec.excluded_epoch.resize(unless_lists.size());
    }
    return ec;
  }
};

BehaviourDetector::BehaviourDetector(std::vector<std::shared_ptr<const BehaviourRule>> rules)
    : impl_(std::make_unique<Impl>()) {
  for (auto& r : rules) {
    auto st = std::make_unique<Impl::RuleState>();
    st->model = MakeModel(*r);
    st->rule = std::move(r);
    const GeoIpTable* geo = st->rule->geoip.get();
    for (const auto& c : st->rule->unless) st->unless_slot.push_back(impl_->CondIndex(c, impl_->FieldIndex(c.field, geo)));
    auto [list, added] = impl_->unless_list_index.emplace(st->unless_slot, impl_->unless_lists.size());
    if (added) impl_->unless_lists.push_back(st->unless_slot);
    st->unless_list = list->second;
    for (const auto& c : st->rule->where) st->where_slot.push_back(impl_->CondIndex(c, impl_->FieldIndex(c.field, geo)));
    for (const auto& f : st->rule->entity) st->entity.push_back(impl_->FieldIndex(f, geo));
    for (const auto& f : st->rule->values) st->values.push_back(impl_->FieldIndex(f, geo));
    st->entity_key = impl_->KeyIndex(st->entity);
    st->value_key = impl_->KeyIndex(st->values);
    for (const std::string& t : st->rule->log_types) impl_->by_type[t].push_back(st.get());
    impl_->rules.push_back(std::move(st));
  }
}

BehaviourDetector::~BehaviourDetector() = default;

bool BehaviourDetector::ReadsOcsf() const {
  for (const FieldSlot& f : impl_->fields)
    if (!f.spec->path.parts().empty() && f.spec->path.parts()[0] == "ocsf") return true;
  return false;
}

void BehaviourDetector::Process(const Event& event, const MatchSink& sink) {
  auto it = impl_->by_type.find(event.source_type);
  if (it == impl_->by_type.end()) return;
  Impl& im = *impl_;
  EventCache& ec = im.Cache();
  std::optional<sigma_internal::EventFields> fields;
  if (event.fields) fields.emplace(*event.fields);
  ec.event_fields = fields ? &*fields : nullptr;
  Stats delta;
  std::vector<Match> fired_matches;  // delivered once the lock is released
  std::unique_lock<std::mutex> lock(im.mu);
  for (Impl::RuleState* st : it->second) {
    const BehaviourRule& r = *st->rule;
    // `where` first: for every kind but new_term an event it does not select
    // is done with, before the (glob) exclusions are tried.
    bool selected = true;
    for (size_t i = 0; i < st->where_slot.size() && selected; ++i) selected = im.Cond(event, ec, st->where_slot[i]);
    // new_term's history of an entity starts at its first event of the log
    // type, selected or not: a first sensitive call is not a first event.
    if (!selected && r.kind != BehaviourKind::kNewTerm) continue;
    if (im.Excluded(event, ec, st->unless_list)) continue;
    Observation o;
    o.time = event.time_ns;
    if (!im.Key(event, ec, st->entity_key, &o.entity)) continue;
    if (!selected) {
      st->model->Seen(o, &delta);
      st->dirty = true;
      continue;
    }
    if (!im.Key(event, ec, st->value_key, &o.value)) continue;
    thread_local std::vector<const std::string*> values;
    values.clear();
    for (size_t f : st->values) values.push_back(&ec.fields[f].value);
    o.values = &values;
    std::string baseline, observed;
    const bool fired = st->model->Observe(o, &delta, &baseline, &observed);
    st->dirty = true;
    ++delta.observed;
    if (!fired) continue;
    ++delta.fired;
    Match& m = fired_matches.emplace_back();
    m.rule_id = r.id;
    m.title = r.title;
    m.severity = r.level;
    m.tags = &r.tags;
    for (size_t i = 0; i < st->entity.size(); ++i) m.entity.append(i ? ", " : "").append(ec.fields[st->entity[i]].value);
    m.rollup_window_ns = r.rollup_ns;
    m.finding_type = r.finding_type;
    JsonObject ent, vals;
    for (size_t i = 0; i < r.entity.size(); ++i) ent.Str(r.entity[i].text, ec.fields[st->entity[i]].value);
    for (size_t i = 0; i < r.values.size(); ++i) vals.Str(r.values[i].text, *values[i]);
    std::string explanation = JsonObject()
                                  .Str("detector", BehaviourKindName(r.kind))
                                  .Str("rule", r.id)
                                  .Str("finding_type", r.finding_type)
                                  .Raw("entity", ent.Done())
                                  .Raw("values", vals.Done())
                                  .Raw("baseline", baseline)
                                  .Raw("observed", observed)
                                  .Done();
    m.explain = [explanation = std::move(explanation)] { return explanation; };
  }
  im.stats.observed += delta.observed;
  im.stats.fired += delta.fired;
  im.stats.evicted += delta.evicted;
  im.stats.saturated += delta.saturated;
  im.stats.late += delta.late;
  im.stats.no_location += delta.no_location;
  lock.unlock();
  // Outside the lock: a sink may call back (to save state, say).
  for (const Match& m : fired_matches) sink(event, m);
}

// Each commit stores what changed since the last one (entities touched,
// entities evicted), not the whole state: a busy server commits several times
// a second and the whole state of a rule can be megabytes (a volume baseline
// is 3 KB per entity). The chain of changes is folded into a new whole state
// once it outgrows it, so a restore reads at most about twice the state.
Status BehaviourDetector::SaveState(const StatePutter& put) {
  std::vector<std::pair<std::string, std::string>> puts;
  for (auto& st : impl_->rules) {
    puts.clear();
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      if (!st->dirty) continue;
      const std::string key = "behaviour/" + st->rule->id;
      bool whole = !st->has_base || st->deltas >= kMaxDeltas;
      std::string out;
      if (!whole) {
        out.assign(kDeltaMagic);
        PutStr(st->rule->fingerprint, &out);
        PutU64(st->generation, &out);
        PutU64(st->deltas + 1, &out);
        st->model->Save(&out, /*changes_only=*/true);
        whole = st->delta_bytes + out.size() > std::max(st->base_bytes, kMinChainBytes);
      }
      if (whole) {
        out.assign(kStateMagic2);
        PutStr(st->rule->fingerprint, &out);
        PutU64(++st->generation, &out);
        st->model->Save(&out, /*changes_only=*/false);
        st->base_bytes = out.size();
        puts.emplace_back(key, std::move(out));
        // The previous chain ends here: an empty value ends a chain.
        for (size_t i = 1; i <= st->deltas; ++i) puts.emplace_back(key + "+" + std::to_string(i), std::string());
        st->has_base = true;
        st->deltas = 0;
        st->delta_bytes = 0;
      } else {
        ++st->deltas;
        st->delta_bytes += out.size();
        puts.emplace_back(key + "+" + std::to_string(st->deltas), std::move(out));
      }
      st->model->ClearChanges();
      st->dirty = false;
    }
    for (const auto& [k, v] : puts) VIGIL_RETURN_IF_ERROR(put(k, v));
  }
  return Status::Ok();
}

Status BehaviourDetector::RestoreState(const StateGetter& get) {
  for (auto& st : impl_->rules) {
    const std::string key = "behaviour/" + st->rule->id;
    VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> blob, get(key));
    if (!blob) continue;
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::string_view s = *blob;
    const bool v1 = s.substr(0, kStateMagic.size()) == kStateMagic;
    const bool v2 = s.substr(0, kStateMagic2.size()) == kStateMagic2;
    static_assert(kStateMagic.size() == kStateMagic2.size());
    std::string fingerprint;
    uint64_t generation = 0;
    VarintReader r(v1 || v2 ? s.substr(kStateMagic.size()) : std::string_view());
    bool ok = (v1 || v2) && r.Str(&fingerprint) && fingerprint == st->rule->fingerprint;
    if (ok && v2) ok = r.U64(&generation);
    auto fresh = MakeModel(*st->rule);
    ok = ok && fresh->Load(&r, /*changes_only=*/false) && r.done();
    size_t deltas = 0, delta_bytes = 0;
    while (ok && v2) {
      VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> d, get(key + "+" + std::to_string(deltas + 1)));
      if (!d || d->empty()) break;
      std::string_view ds = *d;
      uint64_t gen = 0, seq = 0;
      VarintReader dr(ds.substr(0, kDeltaMagic.size()) == kDeltaMagic ? ds.substr(kDeltaMagic.size()) : std::string_view());
      ok = dr.Str(&fingerprint) && fingerprint == st->rule->fingerprint && dr.U64(&gen) && dr.U64(&seq);
      if (ok && (gen != generation || seq != deltas + 1)) break;  // left over from an older chain
      ok = ok && fresh->Load(&dr, /*changes_only=*/true) && dr.done();
      ++deltas;
      delta_bytes += d->size();
    }
    if (!ok) {
      ++impl_->stats.state_discarded;
      continue;
    }
    fresh->ClearChanges();
    st->model = std::move(fresh);
    st->has_base = v2;  // a v1 state is rewritten whole at the next save
    st->generation = generation;
    st->deltas = deltas;
    st->delta_bytes = delta_bytes;
    st->base_bytes = blob->size();
    ++impl_->stats.restored;
  }
  return Status::Ok();
}

BehaviourDetector::Stats BehaviourDetector::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

size_t BehaviourDetector::entity_count(const std::string& id) const {
  for (const auto& st : impl_->rules)
    if (st->rule->id == id) {
      std::lock_guard<std::mutex> lock(impl_->mu);
      return st->model->entities();
    }
  return 0;
}

}  // namespace vigil
