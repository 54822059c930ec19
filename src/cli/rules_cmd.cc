#include <cstdio>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "detect/sigma/rule_set.h"
#include "detect/sigma/rule_tests.h"
#include "detect/schema/sigma_schema.h"
#include "formats/cloudtrail.h"
#include "formats/parser.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>

namespace vigil::cli {

namespace {

// Checks every document of every rule file under `paths` against the Sigma
// JSON schemas; one issue per rejected file, its violations joined.
Result<std::vector<RuleIssue>> SchemaIssues(const std::vector<std::string>& paths, const std::string& schema_dir) {
  auto schemas = SigmaSchemas::Load(schema_dir);
  if (!schemas.ok()) return schemas.status();
  std::vector<RuleIssue> issues;
  for (const auto& p : paths) {
    auto files = ListRuleFiles(p);
    if (!files.ok()) return files.status();
    for (const auto& file : *files) {
      std::vector<YAML::Node> docs;
      try {
        docs = YAML::LoadAllFromFile(file);
      } catch (const YAML::Exception&) {
        continue;  // not YAML: the rule loader reports it as an error already
      }
      std::string reasons;
      for (const auto& doc : docs) {
        if (doc.IsMap() && doc["detector"]) continue;  // a behavioural rule: vigil's own format, not Sigma
        for (const auto& v : schemas->Check(doc)) reasons += (reasons.empty() ? "" : "; ") + v;
      }
      if (!reasons.empty()) issues.push_back(RuleIssue{file, reasons});
    }
  }
  return issues;
}

}  // namespace

int RunRulesLint(const RulesOptions& o) {
  RuleSet set;
  LintReport report;
  for (const auto& p : o.paths) {
    Status st = set.LoadPath(p, &report);
    if (!st.ok()) return Fatal(st);
  }
  std::string schema_dir = o.schema_dir;
  if (schema_dir.empty())
    if (const char* env = std::getenv("VIGIL_SIGMA_SCHEMAS")) schema_dir = env;
  std::vector<RuleIssue> schema;
  if (!schema_dir.empty()) {
    auto issues = SchemaIssues(o.paths, schema_dir);
    if (!issues.ok()) return Fatal(issues.status());
    schema = std::move(issues).value();
  }
  if (o.json) {
    // The report's object, with the schema findings added as "schema".
    std::string json = report.ToJson();
    if (!schema_dir.empty() && !json.empty() && json.back() == '}') {
      json.pop_back();
      json += ",\"schema\":[";
      for (size_t i = 0; i < schema.size(); ++i)
        json += (i ? "," : "") + JsonObject().Str("file", schema[i].file).Str("reason", schema[i].reason).Done();
      json += "]}";
    }
    std::printf("%s\n", json.c_str());
  } else {
    for (const auto& s : schema) std::printf("schema      %s: %s\n", s.file.c_str(), s.reason.c_str());
    for (const auto& e : report.errors) std::printf("error       %s: %s\n", e.file.c_str(), e.reason.c_str());
    for (const auto& u : report.unsupported) std::printf("unsupported %s: %s\n", u.file.c_str(), u.reason.c_str());
    for (const auto& w : report.warnings) std::printf("warning     %s: %s\n", w.file.c_str(), w.reason.c_str());
    std::printf("%zu rules, %zu behavioural rules and %zu filters loaded, %zu unsupported, %zu errors, %zu warnings\n",
                report.loaded, report.behaviours, report.filters, report.unsupported.size(), report.errors.size(), report.warnings.size());
  }
  return report.errors.empty() ? kExitOk : kExitFailures;
}

int RunRulesTest(const RulesOptions& o) {
  // Test events are built exactly as ingest builds them: by the parser that
  // recognises the record (a GuardDuty or Security Hub finding, a CloudTrail
  // record), else as a CloudTrail record (cases often give only the fields a
  // rule reads).
  MakeEventFn make_event = [](const std::string& json) -> Result<Event> {
    const Parser* parser = ParserRegistry::Default().Recognize(json);
    if (parser != nullptr && parser->name() != "cloudtrail") {
      struct One final : ParseSink {
        std::vector<Event> events;
        std::vector<std::string> problems;
        void OnEvent(Event&& e) override { events.push_back(std::move(e)); }
        void OnDeadLetter(DeadLetter&& d) override { problems.push_back(d.reason); }
        void OnWarning(std::string_view, std::string_view) override {}
      } sink;
      Status st = parser->Parse(ParseInput{"test event", json, NowNanos()}, sink);
      if (!st.ok()) return st;
      if (!sink.problems.empty()) return Status::InvalidArgument(sink.problems.front());
      if (sink.events.size() != 1) {
        return Status::InvalidArgument("a test event must be one " + std::string(parser->name()) + " record, not " +
                                       std::to_string(sink.events.size()));
      }
      return std::move(sink.events.front());
    }
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
