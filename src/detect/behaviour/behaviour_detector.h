// BehaviourDetector: evaluates behavioural rules (behaviour_rule.h) on event
// time, keeping a bounded baseline per rule and entity, checkpointed with the
// run's events.
//
// Per rule kind (docs/rule-authoring.md, "Behavioural rules", says the same
// for authors):
//   new_term          an entity uses a value (API, country, port, ...) it has
//                     never used, once its own learning period has passed
//                     (optionally: `threshold` new values within `window`)
//   rarity            an entity uses a value that under `max_percent` of the
//                     entity population has used, after a global learning period
//   volume            an entity's count (or sum of a field) in one hour of
//                     event time is `z` standard deviations over its
//                     hour-of-week EWMA baseline (hour-of-day until that slot
//                     has `min_samples` weeks) and at least `min_count`
//   distinct_count    distinct values per entity within a window, estimated
//                     with a HyperLogLog, reach `threshold`
//   beacon            `min_connections` events of an entity (a src->dst pair)
//                     at regular intervals: stddev/mean of the gaps <= `max_jitter`
//   impossible_travel two locations of an entity (GeoIP of an IP field) too
//                     far apart for the time between them
//
// Bounded state: at most `max_entities` entities per rule (the least recently
// seen tenth is evicted when full, counted); new_term keeps at most
// `max_terms` values per entity (an entity at the cap stops alerting and is
// counted as saturated); rarity keeps at most 8 x max_entities
// (entity, value) pairs. An evicted entity starts learning again, so eviction
// can miss, never invent, an anomaly.
//
// Thread safety: Process may be called from several threads; one mutex
// guards every rule's state, taken once per event (matches reach the sink
// after it is released).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "detect/behaviour/behaviour_rule.h"
#include "detect/detector.h"

namespace vigil {

class BehaviourDetector final : public Detector {
 public:
  explicit BehaviourDetector(std::vector<std::shared_ptr<const BehaviourRule>> rules);
  ~BehaviourDetector() override;

  std::string_view name() const override { return "behaviour"; }
  void Process(const Event& event, const MatchSink& sink) override;
  bool ReadsOcsf() const override;

  // One blob per rule under "behaviour/<id>", written only when the rule's
  // state changed since the last save. A blob written for another definition
  // of the rule (see BehaviourRule::fingerprint) or unreadable is discarded
  // and counted.
  Status RestoreState(const StateGetter& get) override;
  Status SaveState(const StatePutter& put) override;

  struct Stats {
    uint64_t observed = 0;       // events that reached a rule's baseline
    uint64_t fired = 0;
    uint64_t evicted = 0;        // entities (and rarity pairs) evicted at the bound
    uint64_t saturated = 0;      // new_term values not learnt: entity at max_terms
    uint64_t late = 0;           // volume: events older than the entity's current hour
    uint64_t no_location = 0;    // impossible_travel: IP not in the GeoIP table
    uint64_t restored = 0;       // rules whose state was restored
    uint64_t state_discarded = 0;
  };
  Stats stats() const;
  // Entities held by rule `id` (0 for an unknown id).
  size_t entity_count(const std::string& id) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
