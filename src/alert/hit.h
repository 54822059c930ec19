// From a detector's Match on an Event to the AlertHit that MetadataStore folds
// into alerts. Live ingest and backtests both go through this one function, so
// they roll matches up identically.
#pragma once

#include "alert/metadata.h"
#include "detect/detector.h"
#include "event/event.h"

namespace vigil {

// The default rollup window when a match names none: one hour.
inline constexpr int64_t kDefaultRollupWindowNs = 3600LL * 1'000'000'000;

// Entity: the match's own entity, else the event's principal.
AlertHit HitFromMatch(const Event& event, const Match& match);

// Collects hits and their lazy explanations while the events are alive, then
// explains only what alerts keep: per alert, the hits at its earliest event
// time (the alert keeps the smallest of their explanations, so the choice
// does not depend on input order).
class HitBatch {
 public:
  void Add(const Event& event, const Match& match);
  // Fills `match` of the hits added since the last call that need it; call
  // before their events die.
  void Explain();
  std::vector<AlertHit>& hits() { return hits_; }
  void Clear();

 private:
  std::vector<AlertHit> hits_;
  std::vector<std::function<std::string()>> explain_;
  size_t explained_ = 0;
};

}  // namespace vigil
