// SigmaRule: one parsed and compiled Sigma detection rule.
//
// vigil reads the Sigma rules specification's detection rules (single YAML
// document, `detection:` with `condition:`) plus its own attributes:
//   rollup_window: 1h          alerts from this rule roll up per entity per window
//   entity: [userIdentity.arn] who an alert is about (first path with a value)
//   covers: [other-rule-id]    rules this one supersedes
//   finding_type: Stealth:IAMUser/CloudTrailLoggingDisabled
// Parse() reads one detection rule; multi-document files (correlations with
// their rules, translated `| count()` aggregations) load through
// ParseSigmaFile / RuleSet (detect/sigma/filter.h, rule_set.h); filter files
// are SigmaFilter. See docs/rule-authoring.md.
//
// Ownership and thread safety: a SigmaRule is immutable once parsed; share it
// as std::shared_ptr<const SigmaRule> and evaluate it from any number of
// threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/event.h"

namespace vigil {

class FilterPattern;
class LogsourceMap;

namespace sigma_internal {
struct Detection;
class EventFields;
// Per selection of a detection, what one evaluation decided: 0 not
// evaluated, 1 did not hold, 2 held (see Detection::Matches).
using SelectionResults = std::vector<int8_t>;
}

// How rule and filter files are read.
struct SigmaParseOptions {
  // Values for the `expand` modifier's `%name%` placeholders (name without
  // the percent signs). Each value is Sigma text: wildcards and escapes apply.
  // A value using a placeholder not listed here makes the rule unsupported.
  std::map<std::string, std::vector<std::string>> placeholders;
  // How logsources select log types and map field names
  // (detect/sigma/logsource_map.h); null: the built-in map. Must outlive the
  // parse.
  const LogsourceMap* logsources = nullptr;
};

class SigmaRule {
 public:
  ~SigmaRule();
  SigmaRule(const SigmaRule&) = delete;
  SigmaRule& operator=(const SigmaRule&) = delete;

  // Parses one rule file's text. Errors:
  //   kUnsupported      valid Sigma that vigil does not implement yet (the
  //                     message names the specification section)
  //   kInvalidArgument  not a rule: bad YAML, missing detection/condition,
  //                     unknown search identifier or modifier, bad value
  //   kLimitExceeded    input larger than kMaxRuleBytes
  // A Sigma filter file is kInvalidArgument here (parse it with
  // SigmaFilter::Parse, or load it through RuleSet). Never throws.
  static Result<std::shared_ptr<const SigmaRule>> Parse(std::string_view yaml_text,
                                                        const SigmaParseOptions& options = {});

  static constexpr size_t kMaxRuleBytes = 1 << 20;
  static constexpr int64_t kDefaultRollupWindowNs = int64_t{3600} * 1'000'000'000;

  // True when the rule's detection matches the event's fields. An event
  // without fields never matches.
  bool Matches(const Event& event) const;
  bool Matches(const FieldResolver& fields) const;
  // For an event the rule matches: a JSON object naming the selections that
  // held and the field values they saw, e.g.
  // {"selections":["selection"],"fields":{"eventName":"StopLogging"}};
  // {"cloudwatch_pattern":"..."} for a pattern rule.
  std::string Explain(const FieldResolver& fields) const;
  // The same, reading values through the detector's per-event cache (which
  // already holds most of them).
  // `known`, when given, holds what evaluating the rule on this event
  // decided (Detection::Matches): the selections it decided are not
  // evaluated again.
  std::string Explain(sigma_internal::EventFields& cache,
                      const sigma_internal::SelectionResults* known = nullptr) const;

  // The alert entity for a matching event: the first `entity` path with a
  // non-empty scalar value, else event.principal.
  std::string EntityFor(const Event& event) const;

  const std::string& id() const { return id_; }
  const std::string& title() const { return title_; }
  // The optional Sigma v2 `name` (a unique, readable reference; "" if absent).
  const std::string& name() const { return name_; }
  const std::string& status() const { return status_; }
  const std::string& description() const { return description_; }
  const std::string& level() const { return level_; }  // default "medium"
  const std::string& author() const { return author_; }
  const std::string& date() const { return date_; }
  const std::string& modified() const { return modified_; }
  const std::vector<std::string>& tags() const { return tags_; }
  const std::vector<std::string>& references() const { return references_; }
  const std::vector<std::string>& falsepositives() const { return falsepositives_; }
  const std::vector<std::string>& fields() const { return fields_; }
  // logsource: product, service, category (empty when absent).
  const std::string& logsource_product() const { return logsource_product_; }
  const std::string& logsource_service() const { return logsource_service_; }
  const std::string& logsource_category() const { return logsource_category_; }
  // The log type (Event::source_type) the logsource selects through the
  // logsource map; "" when the map has no entry (the rule runs on every type).
  const std::string& log_type() const { return log_type_; }
  // Field names the rule uses that its log type cannot answer (no mapping
  // and not a field of the log type), and values compared as written; `vigil
  // rules lint` reports them as warnings.
  const std::vector<std::string>& logsource_notes() const { return logsource_notes_; }
  int64_t rollup_window_ns() const { return rollup_window_ns_; }
  const std::vector<FieldPath>& entity() const { return entity_; }
  const std::vector<std::string>& covers() const { return covers_; }
  const std::string& finding_type() const { return finding_type_; }

  // Internal: the compiled detection, for the prefilter index of SigmaDetector.
  const sigma_internal::Detection& detection() const { return *detection_; }
  // Set when the rule carries a CloudWatch Logs filter pattern instead of a
  // Sigma detection (then detection() is empty).
  const FilterPattern* cloudwatch_pattern() const { return cloudwatch_pattern_.get(); }

 private:
  SigmaRule();
  friend class SigmaRuleParser;

  std::string id_, title_, name_, status_, description_, level_ = "medium", author_, date_, modified_;
  std::vector<std::string> tags_, references_, falsepositives_, fields_;
  std::string logsource_product_, logsource_service_, logsource_category_;
  std::string log_type_;
  std::vector<std::string> logsource_notes_;
  int64_t rollup_window_ns_ = kDefaultRollupWindowNs;
  std::vector<FieldPath> entity_;
  std::vector<std::string> covers_;
  std::string finding_type_;
  std::unique_ptr<sigma_internal::Detection> detection_;
  std::unique_ptr<FilterPattern> cloudwatch_pattern_;
};

}  // namespace vigil
