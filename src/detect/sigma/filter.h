// SigmaFilter: one parsed Sigma filter file (Sigma filters specification).
//
//   title: Ignore the deploy role
//   id: 5b1e...                          # optional
//   logsource: {product: aws, service: cloudtrail}
//   filter:
//       rules: [rule-id-or-name, ...]    # the rules it tunes
//       selection: {userIdentity.arn|endswith: ':role/deploy'}
//       condition: selection
//
// A filter suppresses a named rule's match on any event for which the
// filter's condition is true. It applies to a rule only when the rule's id or
// `name` is listed and the filter's logsource covers the rule's (every
// logsource field the filter sets equals the rule's, ignoring case).
//
// Ownership and thread safety: immutable once parsed; share it as
// std::shared_ptr<const SigmaFilter> and evaluate it from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "detect/correlation/correlation_rule.h"
#include "detect/sigma/rule.h"
#include "event/event.h"

namespace vigil {

class SigmaFilter {
 public:
  ~SigmaFilter();
  SigmaFilter(const SigmaFilter&) = delete;
  SigmaFilter& operator=(const SigmaFilter&) = delete;

  // Parses one filter file's text. Errors as SigmaRule::Parse: kUnsupported
  // (e.g. an `expand` placeholder without values), kInvalidArgument (not a
  // filter: no `filter:`, no `rules`, bad selection or condition),
  // kLimitExceeded. A rule file is kInvalidArgument here. Never throws.
  static Result<std::shared_ptr<const SigmaFilter>> Parse(std::string_view yaml_text,
                                                          const SigmaParseOptions& options = {});

  // True when the filter's condition holds for the event (the named rules'
  // matches on it are suppressed). An event without fields never matches.
  bool Matches(const Event& event) const;
  bool Matches(const FieldResolver& fields) const;

  // True when `rule`'s id or name is in rules().
  bool Names(const SigmaRule& rule) const;
  // True when every logsource field set on the filter equals the rule's.
  bool CoversLogsource(const SigmaRule& rule) const;
  // Names(rule) && CoversLogsource(rule).
  bool AppliesTo(const SigmaRule& rule) const { return Names(rule) && CoversLogsource(rule); }

  const std::string& id() const { return id_; }  // "" when absent
  const std::string& title() const { return title_; }
  const std::string& description() const { return description_; }
  const std::vector<std::string>& rules() const { return rules_; }
  const std::string& logsource_product() const { return logsource_product_; }
  const std::string& logsource_service() const { return logsource_service_; }
  const std::string& logsource_category() const { return logsource_category_; }
  // As SigmaRule::logsource_notes(): what the filter's logsource cannot answer.
  const std::vector<std::string>& logsource_notes() const { return logsource_notes_; }

  // Internal: the compiled selection and condition.
  const sigma_internal::Detection& detection() const { return *detection_; }

 private:
  SigmaFilter();
  friend class SigmaRuleParser;

  std::string id_, title_, description_;
  std::vector<std::string> rules_;
  std::string logsource_product_, logsource_service_, logsource_category_;
  std::vector<std::string> logsource_notes_;
  std::unique_ptr<sigma_internal::Detection> detection_;
};

// What one Sigma file holds: a rule or a filter (exactly one is set).
struct SigmaDocument {
  std::shared_ptr<const SigmaRule> rule;
  std::shared_ptr<const SigmaFilter> filter;
  std::shared_ptr<const CorrelationRule> correlation;
};

// Parses a single-document file that holds a rule or a filter; errors as
// SigmaRule::Parse (correlations and aggregations are unsupported here).
Result<SigmaDocument> ParseSigmaDocument(std::string_view yaml_text, const SigmaParseOptions& options = {});

// Parses a whole rule file: one document, or several separated by `---`
// (for example a correlation and the rules it names). Each document is a
// rule, a filter or a correlation. A rule whose condition is a deprecated
// aggregation (`sel | count() by x > 5` with `timeframe`) becomes two
// documents: a base rule (id `<id>:base`) and an event_count / value_count /
// value_sum correlation with the rule's own id. The file loads whole or not at
// all: the first document that is unsupported or invalid decides the status
// (its message says which document).
Result<std::vector<SigmaDocument>> ParseSigmaFile(std::string_view yaml_text, const SigmaParseOptions& options = {});

}  // namespace vigil
