#include "detect/sigma/rule_tests.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "detect/correlation/correlation_detector.h"
#include "detect/correlation/correlation_rule.h"
#include "detect/sigma/internal/json_text.h"
#include "detect/sigma/rule_set.h"
#include "detect/sigma/sigma_detector.h"

namespace vigil {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

RuleTestResult Fail(const std::string& rule, const std::string& name, std::string detail) {
  return RuleTestResult{rule, name, false, std::move(detail)};
}

// Runs one case node; throws YAML exceptions on malformed nodes (caller wraps).
RuleTestResult RunCase(const SigmaRule& rule, const YAML::Node& c, size_t number, const MakeEventFn& make_event) {
  std::string name = "case " + std::to_string(number);
  if (!c.IsMap()) return Fail(rule.id(), name, "a test case must be a mapping");
  if (c["name"] && c["name"].IsScalar()) name = c["name"].Scalar();

  std::vector<YAML::Node> events;
  const bool single = static_cast<bool>(c["event"]);
  if (single && c["events"]) return Fail(rule.id(), name, "give either `event` or `events`, not both");
  if (single) {
    events.push_back(c["event"]);
  } else if (c["events"] && c["events"].IsSequence()) {
    for (const YAML::Node& e : c["events"]) events.push_back(e);
  } else {
    return Fail(rule.id(), name, "a test case needs `event` (a mapping) or `events` (a list of mappings)");
  }

  std::string expect;
  if (c["expect"] && c["expect"].IsScalar()) expect = c["expect"].Scalar();
  long long want_alerts = -1;
  if (c["alerts"]) {
    if (!c["alerts"].IsScalar()) return Fail(rule.id(), name, "`alerts` must be a number");
    try {
      want_alerts = std::stoll(c["alerts"].Scalar());
    } catch (const std::exception&) {
      return Fail(rule.id(), name, "`alerts` must be a number");
    }
    if (want_alerts < 0) return Fail(rule.id(), name, "`alerts` must not be negative");
  }
  if (expect.empty() && want_alerts < 0) return Fail(rule.id(), name, "a test case needs `expect` or `alerts`");
  if (!expect.empty() && expect != "match" && expect != "no_match")
    return Fail(rule.id(), name, "`expect` must be match or no_match, not " + expect);

  size_t matched = 0;
  std::set<std::pair<std::string, int64_t>> buckets;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!events[i].IsMap()) return Fail(rule.id(), name, "event " + std::to_string(i + 1) + " is not a mapping");
    std::string json = sigma_internal::YamlToJson(events[i]);
    Result<Event> ev = make_event(json);
    if (!ev.ok())
      return Fail(rule.id(), name,
                  "event " + std::to_string(i + 1) + ": cannot build an event: " + ev.status().ToString());
    if (!rule.Matches(*ev)) continue;
    ++matched;
    Match m = SigmaDetector::MakeMatch(rule, *ev);
    buckets.emplace(m.entity, FloorDiv(ev->time_ns, m.rollup_window_ns));
  }

  std::string detail;
  if (expect == "match" && matched == 0) {
    detail = events.size() == 1 ? "expected a match, got no match"
                                : "expected a match, got none of " + std::to_string(events.size()) + " events";
  } else if (expect == "no_match" && matched > 0) {
    detail = events.size() == 1 ? "expected no match, got a match"
                                : "expected no match, got " + std::to_string(matched) + " matching events";
  }
  if (want_alerts >= 0 && static_cast<long long>(buckets.size()) != want_alerts) {
    if (!detail.empty()) detail += "; ";
    detail += "expected " + std::to_string(want_alerts) + " alerts, got " + std::to_string(buckets.size()) + " (" +
              std::to_string(matched) + " matching events)";
  }
  return RuleTestResult{rule.id(), name, detail.empty(), detail};
}

// A correlation's sequence fixture case: `correlation`, `events`, `alerts`.
RuleTestResult RunCorrelationCase(const YAML::Node& c, size_t number, const MakeEventFn& make_event,
                                  const CorrelationFixtureContext* ctx, std::vector<std::string>* fixtures) {
  const std::string ref = c["correlation"].IsScalar() ? c["correlation"].Scalar() : std::string();
  std::string name = "case " + std::to_string(number);
  if (c["name"] && c["name"].IsScalar()) name = c["name"].Scalar();
  std::shared_ptr<const CorrelationRule> corr;
  if (ctx != nullptr) {
    for (const auto& r : ctx->correlations)
      if (r->id() == ref || (!r->name().empty() && r->name() == ref)) corr = r;
  }
  if (!corr) return Fail(ref, name, "no correlation `" + ref + "` in the rule file");
  if (fixtures) fixtures->push_back(corr->id());
  if (!c["events"] || !c["events"].IsSequence())
    return Fail(corr->id(), name, "a correlation case needs `events` (a list of mappings)");
  if (!c["alerts"] || !c["alerts"].IsScalar()) return Fail(corr->id(), name, "a correlation case needs `alerts`");
  long long want = -1;
  try {
    want = std::stoll(c["alerts"].Scalar());
  } catch (const std::exception&) {
  }
  if (want < 0) return Fail(corr->id(), name, "`alerts` must be a non-negative number");
  auto det = CorrelationDetector::Create(std::make_unique<SigmaDetector>(ctx->rules), ctx->rules, {corr});
  if (!det.ok()) return Fail(corr->id(), name, det.status().ToString());
  // Firings roll up into alerts as live ingest rolls them: per entity and
  // rollup bucket.
  size_t fired = 0;
  std::set<std::pair<std::string, int64_t>> alerts;
  MatchSink sink = [&](const Event& ev, const Match& m) {
    if (m.rule_id != corr->id()) return;
    ++fired;
    alerts.emplace(m.entity, m.rollup_window_ns > 0 ? FloorDiv(ev.time_ns, m.rollup_window_ns) : 0);
  };
  size_t i = 0;
  for (const YAML::Node& e : c["events"]) {
    ++i;
    if (!e.IsMap()) return Fail(corr->id(), name, "event " + std::to_string(i) + " is not a mapping");
    Result<Event> ev = make_event(sigma_internal::YamlToJson(e));
    if (!ev.ok())
      return Fail(corr->id(), name, "event " + std::to_string(i) + ": cannot build an event: " + ev.status().ToString());
    (*det)->Process(*ev, sink);
  }
  (*det)->Flush(sink);
  if (static_cast<long long>(alerts.size()) == want) return RuleTestResult{corr->id(), name, true, ""};
  return Fail(corr->id(), name,
              "expected " + std::to_string(want) + " alerts, got " + std::to_string(alerts.size()) + " (" +
                  std::to_string(fired) + " firings over " + std::to_string(i) + " events)");
}

}  // namespace

std::string RuleTestResult::ToJson() const {
  std::string out = "{\"rule\":";
  sigma_internal::AppendJsonString(rule, &out);
  out += ",\"case\":";
  sigma_internal::AppendJsonString(case_name, &out);
  out += passed ? ",\"passed\":true" : ",\"passed\":false";
  out += ",\"detail\":";
  sigma_internal::AppendJsonString(detail, &out);
  out.push_back('}');
  return out;
}

namespace {

// `rule` is null for a file that holds only correlations.
std::vector<RuleTestResult> RunCases(const SigmaRule* rule, const std::string& owner, std::string_view tests_yaml,
                                     const MakeEventFn& make_event, const CorrelationFixtureContext* correlations,
                                     std::vector<std::string>* fixtures) {
  std::vector<RuleTestResult> out;
  try {
    YAML::Node root = YAML::Load(std::string(tests_yaml));
    if (!root.IsSequence()) {
      out.push_back(Fail(owner, "(tests file)", "the tests file must be a YAML list of cases"));
      return out;
    }
    size_t n = 0;
    for (const YAML::Node& c : root) {
      ++n;
      try {
        if (c.IsMap() && c["correlation"]) {
          out.push_back(RunCorrelationCase(c, n, make_event, correlations, fixtures));
        } else if (rule == nullptr) {
          out.push_back(Fail(owner, "case " + std::to_string(n), "the rule file holds no rule, only correlations"));
        } else {
          out.push_back(RunCase(*rule, c, n, make_event));
        }
      } catch (const std::exception& e) {
        out.push_back(Fail(owner, "case " + std::to_string(n), std::string("malformed case: ") + e.what()));
      }
    }
  } catch (const std::exception& e) {
    out.clear();
    out.push_back(Fail(owner, "(tests file)", std::string("cannot parse the tests file: ") + e.what()));
  }
  return out;
}

}  // namespace

std::vector<RuleTestResult> RunRuleTestCases(const SigmaRule& rule, std::string_view tests_yaml,
                                             const MakeEventFn& make_event, const CorrelationFixtureContext* correlations,
                                             std::vector<std::string>* fixtures) {
  return RunCases(&rule, rule.id(), tests_yaml, make_event, correlations, fixtures);
}

Result<std::vector<RuleTestResult>> RunRuleTests(const std::string& path, const MakeEventFn& make_event) {
  RuleSet set;
  LintReport report;
  VIGIL_RETURN_IF_ERROR(set.LoadPath(path, &report));
  VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> files, ListRuleFiles(path));
  std::unordered_map<std::string, const SigmaRule*> by_file;
  for (const LoadedRule& r : set.rules()) by_file[r.file] = r.rule.get();
  std::unordered_map<std::string, std::vector<std::shared_ptr<const CorrelationRule>>> corrs_by_file;
  for (const LoadedCorrelation& c : set.correlations()) corrs_by_file[c.file].push_back(c.correlation);
  const std::vector<std::shared_ptr<const SigmaRule>> all_rules = set.SharedRules();
  std::unordered_set<std::string> filter_files;  // filters have no test cases of their own
  for (const LoadedFilter& f : set.filters()) filter_files.insert(f.file);
  std::unordered_map<std::string, std::string> problems;
  for (const RuleIssue& i : report.errors) problems[i.file] = "error: " + i.reason;
  for (const RuleIssue& i : report.unsupported) problems[i.file] = "unsupported: " + i.reason;

  std::vector<RuleTestResult> out;
  for (const std::string& f : files) {
    const std::string tests = TestsFileFor(f);
    std::error_code ec;
    const bool has_tests = std::filesystem::is_regular_file(tests, ec);
    if (filter_files.count(f)) continue;
    auto it = by_file.find(f);
    const auto& file_corrs = corrs_by_file[f];
    if (it == by_file.end() && file_corrs.empty()) {
      auto p = problems.find(f);
      const std::string why = p == problems.end() ? "not loaded" : p->second;
      if (has_tests || why.rfind("error:", 0) == 0) out.push_back(Fail(f, "(load)", "rule did not load: " + why));
      continue;
    }
    const SigmaRule* rule = it == by_file.end() ? nullptr : it->second;
    const std::string owner = rule ? rule->id() : file_corrs.front()->id();
    CorrelationFixtureContext ctx{all_rules, file_corrs};
    std::vector<std::string> fixtures;
    if (has_tests) {
      auto text = ReadRuleFile(tests, 16 << 20);
      if (!text.ok()) {
        out.push_back(Fail(owner, "(tests file)", text.status().ToString()));
        continue;
      }
      auto results = RunCases(rule, owner, *text, make_event, &ctx, &fixtures);
      out.insert(out.end(), std::make_move_iterator(results.begin()), std::make_move_iterator(results.end()));
    }
    // Every correlation ships a sequence fixture.
    for (const auto& c : ctx.correlations) {
      if (std::find(fixtures.begin(), fixtures.end(), c->id()) != fixtures.end()) continue;
      out.push_back(Fail(c->id(), "(fixture)",
                         "correlation has no sequence fixture: add a case with `correlation: " + c->id() +
                             "`, `events` and `alerts` to " + tests));
    }
  }
  return out;
}

}  // namespace vigil
