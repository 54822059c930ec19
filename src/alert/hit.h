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

}  // namespace vigil
