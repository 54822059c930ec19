// RuleSet: loads Sigma rule and filter files and lints them.
//
// Every file given to a RuleSet ends in exactly one of three places: loaded
// (as rules, correlations or a filter), the report's `unsupported` list (valid Sigma
// that vigil does not implement yet; the reason names the specification
// section) or its `errors` list (not a usable rule or filter; the reason says
// why). Nothing is silently dropped or weakened. Warnings point at loaded
// files that probably do not do what their author meant (a filter naming no
// loaded rule, a field the rule's log type cannot answer). `vigil rules lint
// PATH` prints LintReport::ToJson().
//
// Thread safety: a RuleSet is not synchronized; load on one thread, then hand
// its rules (shared, immutable) to detectors.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "detect/behaviour/behaviour_rule.h"
#include "detect/sigma/filter.h"
#include "detect/sigma/rule.h"

namespace vigil {

struct RuleIssue {
  std::string file;
  std::string reason;
};

struct LintReport {
  size_t loaded = 0;   // rules
  size_t filters = 0;  // filter files
  size_t correlations = 0;  // correlation rules whose references all resolve
  size_t behaviours = 0;    // behavioural rules (`detector:` files)
  std::vector<RuleIssue> unsupported;
  std::vector<RuleIssue> errors;
  std::vector<RuleIssue> warnings;  // loaded, but suspicious; do not fail lint

  // {"loaded":N,"filters":N,"correlations":N,"unsupported":[{"file":..,"reason":..}],
  //  "errors":[...],"warnings":[...],"behaviours":N}
  std::string ToJson() const;
};

struct LoadedRule {
  std::string file;
  std::shared_ptr<const SigmaRule> rule;
};

struct LoadedCorrelation {
  std::string file;
  std::shared_ptr<const CorrelationRule> correlation;
};

struct LoadedBehaviour {
  std::string file;
  std::shared_ptr<const BehaviourRule> rule;
};

struct LoadedFilter {
  std::string file;
  std::shared_ptr<const SigmaFilter> filter;
};

class RuleSet {
 public:
  explicit RuleSet(SigmaParseOptions options = {}) : options_(std::move(options)) {}

  // Loads a rule or filter file, or every *.yml / *.yaml file under a
  // directory (recursively, in sorted path order), skipping rule test files
  // (*.tests.yml / *.tests.yaml). A rule whose id was already loaded is an
  // error on the later file. Returns non-ok only when `path` itself cannot be
  // read (kNotFound, kIoError); per-file problems go to `report`.
  //
  // Filter references are checked after each call against every rule loaded
  // so far: a filter naming a rule that is not loaded, or whose logsource
  // does not cover a rule it names, gets a warning. Load rules and filters
  // into the same report; warnings a later call resolves are withdrawn.
  Status LoadPath(const std::string& path, LintReport* report);

  // Adds one rule or filter from its text; `file` names it in the report.
  void AddRuleText(std::string_view yaml_text, const std::string& file, LintReport* report);

  // Loaded rules and filters in load order.
  const std::vector<LoadedRule>& rules() const { return rules_; }
  const std::vector<LoadedFilter>& filters() const { return filters_; }
  // Correlations whose every reference names a loaded rule or correlation
  // (the others are lint errors until a later LoadPath resolves them).
  std::vector<std::shared_ptr<const CorrelationRule>> SharedCorrelations() const;
  const std::vector<LoadedCorrelation>& correlations() const { return correlations_; }
  std::vector<std::shared_ptr<const SigmaRule>> SharedRules() const;
  std::vector<std::shared_ptr<const SigmaFilter>> SharedFilters() const;
  // Behavioural rules (files with a top-level `detector:`), in load order.
  const std::vector<LoadedBehaviour>& behaviours() const { return behaviours_; }
  std::vector<std::shared_ptr<const BehaviourRule>> SharedBehaviours() const;

  const SigmaParseOptions& options() const { return options_; }

  // Behavioural rules loaded after this call that name a GeoIP table read
  // the table at `path` instead (`vigil eval` gives the simulation's table to
  // the shipped pack). Empty: each rule's own `geoip:`.
  void set_geoip_override(std::string path) { geoip_override_ = std::move(path); }

 private:
  void AddText(std::string_view yaml_text, const std::string& file, LintReport* report);
  const std::string& FileOf(size_t by_id_index) const;  // the file a by_id_ entry came from
  void AddBehaviourText(std::string_view yaml_text, const std::string& file, LintReport* report);
  void CheckFilterReferences(LintReport* report) const;
  void CheckCorrelationReferences(LintReport* report);

  SigmaParseOptions options_;
  std::vector<LoadedRule> rules_;
  std::vector<LoadedFilter> filters_;
  std::vector<LoadedCorrelation> correlations_;
  std::vector<LoadedBehaviour> behaviours_;
  std::unordered_map<std::string, std::shared_ptr<const GeoIpTable>> geoip_;  // by path
  std::string geoip_override_;
  std::vector<bool> correlation_resolved_;
  std::unordered_map<std::string, size_t> by_id_;  // rule id -> index in rules_
};

// The rule files LoadPath would read for `path`, sorted. kNotFound when the
// path does not exist.
Result<std::vector<std::string>> ListRuleFiles(const std::string& path);

// True for foo.tests.yml / foo.tests.yaml.
bool IsRuleTestsFile(std::string_view path);

// foo.yml -> foo.tests.yml (same directory, same extension).
std::string TestsFileFor(std::string_view rule_file);

// Reads a whole file (at most `max_bytes`).
Result<std::string> ReadRuleFile(const std::string& path, size_t max_bytes = SigmaRule::kMaxRuleBytes);

}  // namespace vigil
