// CorrelationRule: one parsed Sigma correlation rule (Sigma correlation rules
// specification v2.1): a rule over the matches of other rules.
//
//   correlation:
//     type: event_count | value_count | temporal | temporal_ordered |
//           value_sum | value_avg | value_percentile
//     rules: [rule id or name, ...]      Sigma rules or other correlations
//     group-by: [field or alias, ...]
//     timespan: 10m
//     condition: {gte: 10, field: User}  one or more of gt/gte/lt/lte/eq/neq (ANDed)
//     aliases: {alias: {rule name: field}}
//   generate: false                       the referenced rules alert on their own too
//
// The engine that evaluates correlations on a stream is CorrelationDetector
// (detect/correlation/correlation_detector.h). See docs/rule-authoring.md.
//
// Ownership and thread safety: immutable once parsed; share it as
// std::shared_ptr<const CorrelationRule>.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil {

enum class CorrelationType {
  kEventCount,
  kValueCount,
  kTemporal,
  kTemporalOrdered,
  kValueSum,
  kValueAvg,
  kValuePercentile,
};

std::string_view CorrelationTypeName(CorrelationType type);

// The `condition` map: every bound given must hold.
struct CorrelationCondition {
  std::optional<double> gt, gte, lt, lte, eq, neq;

  bool empty() const { return !gt && !gte && !lt && !lte && !eq && !neq; }
  bool Holds(double value) const;
  // True when the condition can only become true, never false again, as the
  // value grows (only gt/gte): such correlations fire as soon as it holds.
  bool Monotone() const { return !lt && !lte && !eq && !neq && (gt || gte); }
  std::string ToString() const;  // "gte 10 and lt 20"
};

class CorrelationRule {
 public:
  // What parsing needs to fill in; the rule itself is immutable.
  struct Spec {
    std::string id, title, name, status, description, level = "medium", author, date, modified;
    std::vector<std::string> tags, references, falsepositives;
    CorrelationType type = CorrelationType::kEventCount;
    std::vector<std::string> rules;       // references: rule ids or names
    std::vector<std::string> group_by;    // field paths or alias names
    // alias -> (rule name or id -> field path in that rule's events)
    std::map<std::string, std::map<std::string, std::string>> aliases;
    int64_t timespan_ns = 0;
    CorrelationCondition condition;
    std::vector<std::string> fields;      // condition `field` (value_* types)
    bool generate = false;
    // Set for correlations translated from a deprecated `| count() by` condition.
    std::string translated_from;
  };

  explicit CorrelationRule(Spec spec) : spec_(std::move(spec)) {}

  const std::string& id() const { return spec_.id; }
  const std::string& title() const { return spec_.title; }
  const std::string& name() const { return spec_.name; }
  const std::string& level() const { return spec_.level; }
  const std::vector<std::string>& tags() const { return spec_.tags; }
  CorrelationType type() const { return spec_.type; }
  const std::vector<std::string>& rules() const { return spec_.rules; }
  const std::vector<std::string>& group_by() const { return spec_.group_by; }
  const std::map<std::string, std::map<std::string, std::string>>& aliases() const { return spec_.aliases; }
  int64_t timespan_ns() const { return spec_.timespan_ns; }
  const CorrelationCondition& condition() const { return spec_.condition; }
  const std::vector<std::string>& fields() const { return spec_.fields; }
  bool generate() const { return spec_.generate; }
  const Spec& spec() const { return spec_; }

  // The condition the engine applies: the given one, or for temporal types
  // without one, "all referenced rules" (gte rules().size()).
  CorrelationCondition EffectiveCondition() const;
  // Whether the correlation fires as soon as its condition holds (true), or
  // only once its window has closed (value_avg, value_percentile, and any
  // condition with lt/lte/eq/neq).
  bool FiresEagerly() const;
  // The field path whose value groups `referenced` rule's events for group-by
  // entry `i` (an alias resolved for that rule, else the entry itself).
  // `rule_id` and `rule_name` identify the referenced rule.
  std::string GroupFieldFor(size_t i, const std::string& rule_id, const std::string& rule_name) const;

 private:
  Spec spec_;
};

// Parses `correlation:` timespans: a number and one of s, m, h, d.
std::optional<int64_t> ParseTimespan(std::string_view text);

}  // namespace vigil
