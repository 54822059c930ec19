// Which alerts are about which labelled attack: the ground-truth side of
// measuring detection on a simulated organisation (`vigil demo` reports the
// scenarios it saw detected; `vigil eval` scores recall and precision).
//
// A label names its entity the way the simulator knows it (an instance id, a
// principal ARN, an address); alerts name the entity the way the log and the
// rule see it (a flow record's private address or ENI, a Resolver query's
// instance id or source address, a CloudTrail principal ARN or an assumed-role
// session named after the instance). The organisation (org.json) gives the
// aliases that connect them.
//
// Thread safety: a LabelMatcher is immutable after construction; its const
// methods may be called from several threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "simulate/org_simulator.h"

namespace vigil::sim {

class LabelMatcher {
 public:
  // `org_json`: the organisation as Simulator::OrgJson() renders it (the
  // org.json beside a run). InvalidArgument naming the problem when it does
  // not read.
  static Result<LabelMatcher> FromOrgJson(std::string_view org_json);

  // The names the label's entity goes by in alerts: a user's ARN, its access
  // key id and its name (when no other user of the organisation has it); an
  // instance's id, ENI, private and public addresses; an address itself.
  std::vector<std::string> EntityNames(const AttackLabel& label) const;

  // Whether an alert about `alert_entity`, whose events span
  // [first_seen_ns, last_seen_ns] of event time, is about `label`: one of the
  // label's entity names appears in the alert's entity as a whole word
  // (composite entities such as "10.10.48.15, evil.example" and session ARNs
  // ending in an instance id qualify; "10.10.48.1" does not match
  // "10.10.48.15"), and the span overlaps the label's window extended by
  // `slack_ns` after its end (detectors that judge a window or an hour of
  // traffic report after the records that tipped them). An alert whose last
  // event precedes the attack is not about it.
  bool Matches(const AttackLabel& label, std::string_view alert_entity, int64_t first_seen_ns,
               int64_t last_seen_ns) const;

  int64_t slack_ns = 3600LL * 1'000'000'000;

 private:
  // instance id -> its other names (ENI, private address, public address)
  std::unordered_map<std::string, std::vector<std::string>> instance_names_;
  // user ARN -> its other names (access key id, unique user name)
  std::unordered_map<std::string, std::vector<std::string>> user_names_;
};

// Whether `name` occurs in `text` bounded by characters that cannot continue
// an identifier, address or ARN (start, end, or anything but a letter, digit,
// '.', '-', '_' or ':').
bool ContainsWord(std::string_view text, std::string_view name);

}  // namespace vigil::sim
