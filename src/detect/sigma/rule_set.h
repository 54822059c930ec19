// RuleSet: loads Sigma rule files and lints them.
//
// Every file given to a RuleSet ends in exactly one of three places: loaded,
// the report's `unsupported` list (valid Sigma that vigil does not implement
// yet; the reason names the specification section) or its `errors` list (not
// a usable rule; the reason says why). Nothing is silently dropped or
// weakened. `vigil rules lint PATH` prints LintReport::ToJson().
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
#include "detect/sigma/rule.h"

namespace vigil {

struct RuleIssue {
  std::string file;
  std::string reason;
};

struct LintReport {
  size_t loaded = 0;
  std::vector<RuleIssue> unsupported;
  std::vector<RuleIssue> errors;

  // {"loaded":N,"unsupported":[{"file":..,"reason":..}],"errors":[...]}
  std::string ToJson() const;
};

struct LoadedRule {
  std::string file;
  std::shared_ptr<const SigmaRule> rule;
};

class RuleSet {
 public:
  // Loads a rule file, or every *.yml / *.yaml file under a directory
  // (recursively, in sorted path order), skipping rule test files
  // (*.tests.yml / *.tests.yaml). A rule whose id was already loaded is an
  // error on the later file. Returns non-ok only when `path` itself cannot be
  // read (kNotFound, kIoError); per-file problems go to `report`.
  Status LoadPath(const std::string& path, LintReport* report);

  // Adds one rule from its text; `file` names it in the report.
  void AddRuleText(std::string_view yaml_text, const std::string& file, LintReport* report);

  // Loaded rules in load order.
  const std::vector<LoadedRule>& rules() const { return rules_; }
  std::vector<std::shared_ptr<const SigmaRule>> SharedRules() const;

 private:
  std::vector<LoadedRule> rules_;
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
