#include "cli/scheduled_rules.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "alert/fold.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/hunt_run.h"
#include "cli/workspace.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "event/event.h"
#include "query/parser.h"

namespace vigil::cli {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMinScheduleNs = 60LL * 1'000'000'000;  // a minute: runs scan the store

Status Invalid(const std::string& file, const std::string& what) {
  return Status::InvalidArgument("scheduled rule " + file + ": " + what);
}

Result<std::string> Text(const YAML::Node& root, const char* key, const std::string& file, bool required) {
  YAML::Node n = root[key];
  if (!n) {
    if (required) return Invalid(file, std::string("missing `") + key + ":`");
    return std::string();
  }
  if (!n.IsScalar()) return Invalid(file, std::string("`") + key + ":` must be text");
  return n.as<std::string>();
}

std::string StateKey(const std::string& rule_id) { return "scheduled_rule:" + rule_id + ":window_end"; }

}  // namespace

static Result<ScheduledRule> ParseScheduledRuleYaml(const std::string& yaml, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Invalid(file, std::string("not YAML: ") + e.what());
  }
  if (!root.IsMap()) return Invalid(file, "expected a map of keys (title, id, schedule, query...)");
  static const char* kKeys[] = {"title", "id", "level", "description", "tags", "schedule", "window", "query",
                                "entity", "status", "author", "references", "falsepositives"};
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return key == k; }) == std::end(kKeys)) {
      return Invalid(file, "unknown key `" + key + ":`");
    }
  }
  ScheduledRule r;
  r.file = file;
  VIGIL_ASSIGN_OR_RETURN(r.title, Text(root, "title", file, true));
  VIGIL_ASSIGN_OR_RETURN(r.id, Text(root, "id", file, true));
  VIGIL_ASSIGN_OR_RETURN(std::string level, Text(root, "level", file, false));
  if (!level.empty()) {
    if (SeverityRank(level) < 0) {
      return Invalid(file, "`level: " + level + "` is not one of informational, low, medium, high, critical");
    }
    r.level = level;
  }
  VIGIL_ASSIGN_OR_RETURN(r.description, Text(root, "description", file, false));
  if (YAML::Node tags = root["tags"]) {
    if (!tags.IsSequence()) return Invalid(file, "`tags:` must be a list");
    for (const auto& t : tags) r.tags.push_back(t.as<std::string>());
  }
  VIGIL_ASSIGN_OR_RETURN(std::string schedule, Text(root, "schedule", file, true));
  auto every = ParseDuration(schedule);
  if (!every || *every < kMinScheduleNs) {
    return Invalid(file, "`schedule: " + schedule + "` is not a duration of at least 1m (such as 15m or 1h)");
  }
  r.schedule_ns = *every;
  VIGIL_ASSIGN_OR_RETURN(std::string window, Text(root, "window", file, false));
  r.window_ns = r.schedule_ns;
  if (!window.empty()) {
    auto w = ParseDuration(window);
    if (!w || *w <= 0) return Invalid(file, "`window: " + window + "` is not a duration such as 1h");
    r.window_ns = *w;
  }
  VIGIL_ASSIGN_OR_RETURN(r.query_text, Text(root, "query", file, true));
  // Folded YAML (`query: >`) ends in a line break; the query is the text.
  while (!r.query_text.empty() && (r.query_text.back() == '\n' || r.query_text.back() == ' ')) r.query_text.pop_back();
  auto q = ParseQuery(r.query_text);
  if (!q.ok()) return Invalid(file, q.status().message());
  r.query = std::move(*q);
  VIGIL_ASSIGN_OR_RETURN(r.entity, Text(root, "entity", file, false));
  return r;
}

Result<ScheduledRule> ParseScheduledRule(const std::string& yaml, const std::string& file) {
  try {
    return ParseScheduledRuleYaml(yaml, file);
  } catch (const YAML::Exception& e) {
    return Invalid(file, std::string("unexpected YAML: ") + e.what());
  }
}

Result<std::vector<ScheduledRule>> LoadScheduledRules(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        const std::string ext = it->path().extension().string();
        if (it->is_regular_file() && (ext == ".yml" || ext == ".yaml")) files.push_back(it->path().string());
      }
      if (ec) return Status::IoError("scheduled rules " + p + ": " + ec.message());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      return Status::NotFound("scheduled rules " + p + ": no such file or directory");
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<ScheduledRule> rules;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in.good() && !in.eof()) return Status::IoError("scheduled rule " + f + ": cannot read the file");
    VIGIL_ASSIGN_OR_RETURN(ScheduledRule r, ParseScheduledRule(ss.str(), f));
    for (const ScheduledRule& other : rules) {
      if (other.id == r.id) return Invalid(f, "id " + r.id + " is also the id of " + other.file);
    }
    rules.push_back(std::move(r));
  }
  return rules;
}

std::vector<ScheduledRun> RunScheduledRules(EventStore* store, MetadataStore* metadata,
                                            const std::vector<ScheduledRule>& rules, int64_t now_ns,
                                            const QueryPipelineOptions& options) {
  std::vector<ScheduledRun> runs;
  for (const ScheduledRule& rule : rules) {
    ScheduledRun run;
    run.rule_id = rule.id;
    run.to_ns = now_ns / rule.schedule_ns * rule.schedule_ns;  // the latest complete window
    run.from_ns = run.to_ns - rule.window_ns;
    auto state = metadata->GetState(StateKey(rule.id));
    if (!state.ok()) {
      run.error = state.status();
      runs.push_back(std::move(run));
      continue;
    }
    if (state->has_value()) {
      int64_t done = 0;
      try {
        done = std::stoll(**state);
      } catch (...) {
        done = 0;  // unreadable state: run again
      }
      if (done >= run.to_ns) {
        runs.push_back(std::move(run));
        continue;
      }
    }
    run.ran = true;
    ScanOptions scan;
    scan.from_ns = run.from_ns;
    scan.to_ns = run.to_ns;
    AlertFold fold;
    HuntCounts counts;
    const FieldPath entity_path(rule.entity);
    Status st = RunHuntQuery(
        store, rule.query, rule.query_text, scan, options,
        [&](const Row& row) {
          AlertHit hit;
          hit.rule_id = rule.id;
          hit.title = rule.title;
          hit.severity = rule.level;
          hit.tags = rule.tags;
          hit.rollup_window_ns = rule.window_ns;
          if (!rule.entity.empty()) {
            hit.entity = GetField(row, rule.entity, entity_path).Text();
          } else if (row.is_event()) {
            hit.entity = row.event->principal;
          } else if (!row.columns.empty()) {
            hit.entity = row.columns.front().second.Text();
          }
          std::string json = RowJson(row);
          if (!json.empty() && json.back() == '\n') json.pop_back();
          if (row.is_event()) {
            hit.event_time_ns = row.event->time_ns;
            hit.event_id = row.event->id;
            hit.match = "{\"event_id\":\"" + row.event->id + "\"}";
          } else {
            const Value* t = row.Find("time");
            hit.event_time_ns = t != nullptr && t->kind == Value::Kind::kTime ? t->time_ns : run.to_ns - 1;
            // A result row is identified by its rule, window and content, so
            // that the same row found again in this window is one event.
            hit.event_id = ContentId("scheduled:" + rule.id + ":" + std::to_string(run.to_ns), json);
            hit.match = json;
          }
          fold.Add(hit);
          ++run.rows;
          return true;
        },
        nullptr, nullptr, &counts);
    run.scanned = counts.scanned;
    if (!st.ok()) {
      run.error = st;
      runs.push_back(std::move(run));
      continue;
    }
    MetadataCommit commit;
    commit.alerts = &fold;
    commit.put_state.emplace_back(StateKey(rule.id), std::to_string(run.to_ns));
    auto committed = metadata->Commit(commit);
    if (!committed.ok()) {
      run.error = committed.status();
    } else {
      run.alerts = *committed;
    }
    runs.push_back(std::move(run));
  }
  return runs;
}

}  // namespace vigil::cli

namespace vigil::cli {

int RunRulesScheduled(const ScheduledOptions& o) {
  int64_t now = NowNanos();
  if (!o.now.empty()) {
    std::optional<int64_t> at;
    Status st = ParseTimeOption("--now", o.now, &at);
    if (!st.ok()) return Fatal(st);
    now = *at;
  }
  auto rules = LoadScheduledRules(o.paths);
  if (!rules.ok()) return Fatal(rules.status());
  if (rules->empty()) return Fatal(Status::InvalidArgument("no scheduled rules (*.yml, *.yaml) under the given paths"));
  auto keys = LoadMasterKeys(o.keys);
  if (!keys.ok()) return Fatal(keys.status());
  auto ws = Workspace::Open(o.data_dir, /*write=*/false, *keys);
  if (!ws.ok()) return Fatal(ws.status());
  QueryPipelineOptions options;
  std::vector<ScheduledRun> runs = RunScheduledRules((*ws)->store(), (*ws)->metadata(), *rules, now, options);
  bool failed = false;
  for (const ScheduledRun& r : runs) {
    failed = failed || !r.error.ok();
    if (o.json) {
      std::string line = JsonObject()
                             .Str("rule", r.rule_id)
                             .Str("from", FormatRfc3339(r.from_ns))
                             .Str("to", FormatRfc3339(r.to_ns))
                             .Bool("ran", r.ran)
                             .UInt("rows", r.rows)
                             .UInt("alerts", r.alerts)
                             .UInt("scanned", r.scanned)
                             .Str("error", r.error.ok() ? "" : r.error.message())
                             .Done();
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
    } else if (!r.error.ok()) {
      std::printf("%s window %s .. %s: failed: %s\n", r.rule_id.c_str(), FormatRfc3339(r.from_ns).c_str(),
                  FormatRfc3339(r.to_ns).c_str(), r.error.message().c_str());
    } else if (!r.ran) {
      std::printf("%s window %s .. %s: not due (already run)\n", r.rule_id.c_str(), FormatRfc3339(r.from_ns).c_str(),
                  FormatRfc3339(r.to_ns).c_str());
    } else {
      std::printf("%s window %s .. %s: %llu rows, %zu alerts (%llu events scanned)\n", r.rule_id.c_str(),
                  FormatRfc3339(r.from_ns).c_str(), FormatRfc3339(r.to_ns).c_str(),
                  static_cast<unsigned long long>(r.rows), r.alerts, static_cast<unsigned long long>(r.scanned));
    }
  }
  return failed ? kExitFailures : kExitOk;
}

}  // namespace vigil::cli
