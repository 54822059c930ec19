// Detector: looks at each event and reports matches. Sigma rules are one
// detector; correlations, baselines and threat intel arrive as others.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/event.h"

namespace vigil {

inline const std::vector<std::string> kNoTags;

// What a detector says about one event. The alert layer rolls matches up.
// The descriptive fields view strings of the rule that matched, which the
// detector keeps alive and unchanged while it lives: a match costs no copy of
// them, a sink that keeps them past the detector copies them, and the alert
// fold recognises matches of one rule by the address of its strings.
struct Match {
  std::string_view rule_id;
  std::string_view title;
  std::string_view severity;       // informational|low|medium|high|critical
  const std::vector<std::string>* tags = &kNoTags;  // never null
  std::string entity;              // who the alert is about
  int64_t rollup_window_ns = 0;    // bucket width for alert rollup
  std::string_view finding_type;   // optional GuardDuty-style type
  // Builds, on demand, why it matched as a JSON object (e.g. the selections
  // that held and the field values they saw). Callable only while the event
  // given to the sink is alive; empty when the detector gives no explanation.
  // Lazy because most matches fold into an alert that keeps one explanation.
  std::function<std::string()> explain;
};

using MatchSink = std::function<void(const Event&, const Match&)>;

class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::string_view name() const = 0;
  // Evaluates one event; calls `sink` once per match. Must not keep references
  // to `event` after returning.
  virtual void Process(const Event& event, const MatchSink& sink) = 0;
  // Whether Process may read `ocsf.` paths, the OCSF form of an event, which
  // a caller attaches only then (ocsf::AttachOcsf; its wrapper costs every
  // event an allocation and every field lookup an indirection). True unless
  // the detector knows better.
  virtual bool ReadsOcsf() const { return true; }

  // Detectors that keep state across events (correlation windows) checkpoint
  // it under string keys: the pipeline restores it before a run and saves it
  // in the commit that stores the run's events. Stateless detectors keep the
  // defaults. A state blob that cannot be read is a diagnostic for the
  // detector (counted, state dropped), not an error.
  using StateGetter = std::function<Result<std::optional<std::string>>(const std::string& key)>;
  using StatePutter = std::function<Status(const std::string& key, const std::string& value)>;
  virtual Status RestoreState(const StateGetter& get) {
    (void)get;
    return Status::Ok();
  }
  virtual Status SaveState(const StatePutter& put) {
    (void)put;
    return Status::Ok();
  }
};

}  // namespace vigil
