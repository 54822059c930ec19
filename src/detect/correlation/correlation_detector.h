// CorrelationDetector: Sigma correlation rules evaluated in-stream, on event
// time, over the matches of a base detector (the SigmaDetector).
//
// Each base match whose rule a correlation names becomes an entry (event
// time, which rule, the values it needs) in the state of (correlation,
// group-by values). Matches of rules no correlation names pass straight
// through: correlation work happens only on base matches, never per event.
//
// Windows. A window is anchored at each entry: [t, t + timespan] in event
// time. The correlation holds for a window when its condition holds over the
// entries in it. Conditions that can only become true as entries are added
// (gt/gte on event_count, value_count, value_sum, temporal, temporal_ordered)
// fire as soon as a window satisfies them; the firing's event time is that of
// the earliest entry (in event-time order) at which the window's prefix
// satisfies the condition. Other conditions (lt/lte/eq/neq, value_avg,
// value_percentile) are evaluated when a window closes: when the newest event
// time seen passes its end plus the allowed lateness, or at Flush(); the
// firing's time is the window's last entry. Every window fires at most once.
// Because windows are anchored at entries and entries are kept sorted, which
// windows fire does not depend on the order events arrive in (within the
// allowed lateness, and while no state is evicted).
//
// Late events: an entry older than (newest event time seen by the
// correlation − allowed lateness) is still counted when its group has state,
// otherwise dropped and counted in stats().late_dropped. State older than
// newest − lateness − timespan is pruned.
//
// Bounded state: at most max_groups groups per correlation (the group whose
// newest entry is oldest is evicted) and max_entries_per_group entries per
// group (the oldest is evicted); both counted in stats().
//
// A firing is a Match (rule_id = correlation id, the correlation's title,
// level and tags, entity = the group-by values joined by ", ", or "*" without
// group-by, rollup window = timespan) on a synthetic Event (source_type
// "correlation", id derived from the correlation, group and window) that goes
// to the sink like any match, and feeds the correlations that name this one.
//
// `generate`: a rule (or correlation) named by correlations raises its own
// alerts only if one of them says `generate: true`.
//
// Thread safety: Process() may be called from several threads; correlation
// state is guarded by one mutex, taken only when a base match feeds it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "detect/correlation/correlation_rule.h"
#include "detect/detector.h"
#include "detect/sigma/rule.h"

namespace vigil {

struct CorrelationLimits {
  size_t max_groups = 10000;            // per correlation
  size_t max_entries_per_group = 1000;  // per group
  int64_t allowed_lateness_ns = -1;     // < 0: each correlation's timespan
};

class CorrelationDetector final : public Detector {
 public:
  // `base` produces the base matches; `rules` are the Sigma rules it
  // evaluates (to resolve references by id or name); `correlations` every
  // loaded correlation. InvalidArgument when a reference does not resolve or
  // correlations reference each other in a cycle.
  static Result<std::unique_ptr<CorrelationDetector>> Create(
      std::unique_ptr<Detector> base, const std::vector<std::shared_ptr<const SigmaRule>>& rules,
      std::vector<std::shared_ptr<const CorrelationRule>> correlations, CorrelationLimits limits = {});
  ~CorrelationDetector() override;

  std::string_view name() const override { return "sigma-correlation"; }
  void Process(const Event& event, const MatchSink& sink) override;
  bool ReadsOcsf() const override;
  // Closes every open window (end of a backtest or of a test): conditions
  // evaluated at window close are evaluated now.
  void Flush(const MatchSink& sink);

  // State under "correlation/<id>", one blob per correlation; a blob written
  // for a different definition of the correlation (type, rules, group-by,
  // timespan, condition, fields) is ignored.
  Status RestoreState(const StateGetter& get) override;
  Status SaveState(const StatePutter& put) override;

  struct Stats {
    uint64_t entries = 0;           // base matches (or firings) fed into state
    uint64_t fired = 0;             // correlation firings
    uint64_t late_dropped = 0;      // late entries without group state
    uint64_t evicted_groups = 0;
    uint64_t evicted_entries = 0;
    uint64_t restored_groups = 0;
    uint64_t state_discarded = 0;   // checkpoints unreadable or for another definition
  };
  Stats stats() const;
  size_t group_count(const std::string& correlation_id) const;

 private:
  struct Impl;
  explicit CorrelationDetector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
