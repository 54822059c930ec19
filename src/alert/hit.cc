#include "alert/hit.h"

namespace vigil {

AlertHit HitFromMatch(const Event& event, const Match& match) {
  AlertHit h;
  h.rule_id = match.rule_id;
  h.title = match.title;
  h.severity = match.severity;
  h.tags = match.tags;
  h.entity = match.entity.empty() ? event.principal : match.entity;
  h.finding_type = match.finding_type;
  h.rollup_window_ns = match.rollup_window_ns > 0 ? match.rollup_window_ns : kDefaultRollupWindowNs;
  h.event_time_ns = event.time_ns;
  h.event_id = event.id;
  h.match = match.explanation;
  return h;
}

}  // namespace vigil
