// Detector: looks at each event and reports matches. Sigma rules are one
// detector; correlations, baselines and threat intel arrive as others.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"

namespace vigil {

// What a detector says about one event. The alert layer rolls matches up.
struct Match {
  std::string rule_id;
  std::string title;
  std::string severity;            // informational|low|medium|high|critical
  std::vector<std::string> tags;
  std::string entity;              // who the alert is about
  int64_t rollup_window_ns = 0;    // bucket width for alert rollup
  std::string finding_type;        // optional GuardDuty-style type
};

using MatchSink = std::function<void(const Event&, const Match&)>;

class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::string_view name() const = 0;
  // Evaluates one event; calls `sink` once per match. Must not keep references
  // to `event` after returning.
  virtual void Process(const Event& event, const MatchSink& sink) = 0;
};

}  // namespace vigil
