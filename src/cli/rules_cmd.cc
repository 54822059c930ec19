#include <cstdio>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/time.h"
#include "detect/sigma/rule_set.h"
#include "detect/sigma/rule_tests.h"
#include "formats/cloudtrail.h"

namespace vigil::cli {

int RunRulesLint(const RulesOptions& o) {
  RuleSet set;
  LintReport report;
  for (const auto& p : o.paths) {
    Status st = set.LoadPath(p, &report);
    if (!st.ok()) return Fatal(st);
  }
  if (o.json) {
    std::printf("%s\n", report.ToJson().c_str());
  } else {
    for (const auto& e : report.errors) std::printf("error       %s: %s\n", e.file.c_str(), e.reason.c_str());
    for (const auto& u : report.unsupported) std::printf("unsupported %s: %s\n", u.file.c_str(), u.reason.c_str());
    for (const auto& w : report.warnings) std::printf("warning     %s: %s\n", w.file.c_str(), w.reason.c_str());
    std::printf("%zu rules and %zu filters loaded, %zu unsupported, %zu errors, %zu warnings\n", report.loaded,
                report.filters, report.unsupported.size(), report.errors.size(), report.warnings.size());
  }
  return report.errors.empty() ? kExitOk : kExitFailures;
}

int RunRulesTest(const RulesOptions& o) {
  // Test events are CloudTrail records: built exactly as ingest builds them.
  MakeEventFn make_event = [](const std::string& json) -> Result<Event> {
    Event ev;
    std::string warning;
    Status st = BuildCloudTrailEvent(json, NowNanos(), InputLimits{}, &ev, &warning);
    if (!st.ok()) return st;
    return ev;
  };
  size_t passed = 0, failed = 0;
  for (const auto& p : o.paths) {
    auto results = RunRuleTests(p, make_event);
    if (!results.ok()) return Fatal(results.status());
    for (const auto& r : *results) {
      (r.passed ? passed : failed)++;
      if (o.json) {
        std::printf("%s\n", r.ToJson().c_str());
      } else if (!r.passed) {
        std::printf("FAIL %s / %s: %s\n", r.rule.c_str(), r.case_name.c_str(), r.detail.c_str());
      }
    }
  }
  if (!o.json) std::printf("%zu passed, %zu failed\n", passed, failed);
  return failed == 0 ? kExitOk : kExitFailures;
}

}  // namespace vigil::cli
