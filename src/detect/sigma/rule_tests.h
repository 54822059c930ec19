// Rule test cases: a rule `foo.yml` keeps its cases in `foo.tests.yml` beside
// it, a YAML list of
//
//   - name: stop logging is caught
//     expect: match            # or no_match
//     event: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}
//   - name: one alert per principal and window
//     alerts: 1                # distinct (entity, window) buckets among matches
//     events: [{...}, {...}]
//   - name: ten failures in an hour fire the correlation
//     correlation: <id or name of a correlation in foo.yml>
//     alerts: 1                # alerts its firings make (per entity and timespan bucket)
//     events: [{...}, ...]     # in arrival order; windows close at the end
//
// A correlation's cases (its sequence fixture) run the events through the
// correlation engine with every rule under the tested path. Every correlation
// in a rule file must have at least one such case: `vigil rules test` fails
// the correlation otherwise.
//
// Events are written as YAML maps and handed to the caller's `make_event` as
// JSON text, because building an Event (id, time, principal) is a parser's
// job. `vigil rules test PATH` prints one RuleTestResult::ToJson() per case.
//
// Thread safety: the functions here keep no state; `make_event` is called on
// the calling thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "detect/sigma/rule.h"
#include "event/event.h"

namespace vigil {

struct RuleTestResult {
  std::string rule;       // rule id; the file path when the rule did not load
  std::string case_name;  // the case's `name`, else "case N" (1-based)
  bool passed = false;
  std::string detail;  // why it failed: expected vs got; empty on success

  // {"rule":"...","case":"...","passed":true,"detail":"..."}
  std::string ToJson() const;
};

using MakeEventFn = std::function<Result<Event>(const std::string& json)>;

class CorrelationRule;

// What correlation cases need: the rules the engine evaluates and the
// correlations of the tested file.
struct CorrelationFixtureContext {
  std::vector<std::shared_ptr<const SigmaRule>> rules;
  std::vector<std::shared_ptr<const CorrelationRule>> correlations;
};

// Runs the cases of one tests file against `rule` (and, for cases naming a
// correlation, against `correlations`; without it such cases fail). A tests
// file that cannot be read as a list of cases yields one failing result
// saying why. `fixtures` (optional) receives the ids of correlations that had
// a case.
std::vector<RuleTestResult> RunRuleTestCases(const SigmaRule& rule, std::string_view tests_yaml,
                                             const MakeEventFn& make_event,
                                             const CorrelationFixtureContext* correlations = nullptr,
                                             std::vector<std::string>* fixtures = nullptr);

// Loads every rule under `path` (file or directory, as RuleSet::LoadPath) and
// runs the tests file beside each. A loaded rule without a tests file adds no
// result. A rule file that is an error, or that is unsupported but has a
// tests file, adds one failing result named "(load)". kNotFound when `path`
// does not exist.
Result<std::vector<RuleTestResult>> RunRuleTests(const std::string& path, const MakeEventFn& make_event);

}  // namespace vigil
