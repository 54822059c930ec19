#include "alert/hit.h"

#include <unordered_map>

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
  h.alert_id = AlertId(h.rule_id, h.entity, AlertBucketStart(h.event_time_ns, h.rollup_window_ns));
  return h;
}

void HitBatch::Add(const Event& event, const Match& match) {
  hits_.push_back(HitFromMatch(event, match));
  explain_.push_back(match.explain);
}

void HitBatch::Explain() {
  std::unordered_map<std::string, int64_t> earliest;  // alert id -> earliest event time in this batch
  for (const AlertHit& h : hits_) {
    auto [it, inserted] = earliest.emplace(h.alert_id, h.event_time_ns);
    if (!inserted && h.event_time_ns < it->second) it->second = h.event_time_ns;
  }
  // Only hits added since the last call: earlier ones' events may be gone.
  for (size_t i = explained_; i < hits_.size(); ++i) {
    if (explain_[i] && hits_[i].event_time_ns == earliest[hits_[i].alert_id]) hits_[i].match = explain_[i]();
    explain_[i] = nullptr;
  }
  explained_ = hits_.size();
}

void HitBatch::Clear() {
  hits_.clear();
  explain_.clear();
  explained_ = 0;
}

}  // namespace vigil
