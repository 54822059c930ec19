#include <cstdio>
#include <filesystem>
#include <set>

#include "alert/fold.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/intel_feeds.h"
#include "cli/workspace.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "detect/sigma/rule_set.h"
#include "intel/intel_detector.h"
#include "ingest/rebuild_event.h"
#include "ocsf/normalizer.h"

namespace vigil::cli {

std::string AlertJson(const Alert& a);  // alerts_cmd.cc

int RunRulesBacktest(const BacktestOptions& o) {
  ScanOptions scan;
  Status st = ParseTimeOption("--from", o.from, &scan.from_ns);
  if (st.ok()) st = ParseTimeOption("--to", o.to, &scan.to_ns);
  if (!st.ok()) return Fatal(st);

  // Each RULE is a rule file or directory, or the id of a rule or correlation
  // in the rule directories. Files run on their own; ids run with the whole
  // library (a correlation needs its base rules), and only they are reported.
  RuleSet chosen, library;
  LintReport chosen_report, library_report;
  bool any_ids = false;
  struct Reported {
    std::string id, title;
  };
  std::vector<Reported> reported;
  for (const auto& r : o.rules) {
    std::error_code ec;
    if (!std::filesystem::exists(r, ec)) {
      any_ids = true;
      continue;
    }
    Status ls = chosen.LoadPath(r, &chosen_report);
    if (!ls.ok()) return Fatal(ls);
  }
  for (const auto& e : chosen_report.errors) return Fatal(Status::InvalidArgument(e.file + ": " + e.reason));
  for (const auto& loaded : chosen.rules()) reported.push_back({loaded.rule->id(), loaded.rule->title()});
  for (const auto& loaded : chosen.correlations())
    reported.push_back({loaded.correlation->id(), loaded.correlation->title()});
  for (const auto& loaded : chosen.behaviours()) reported.push_back({loaded.rule->id, loaded.rule->title});
  if (any_ids) {
    for (const auto& dir : RuleDirectories(o.extra_rules)) {
      Status ls = library.LoadPath(dir, &library_report);
      if (!ls.ok()) return Fatal(ls);
    }
    for (const auto& r : o.rules) {
      std::error_code ec;
      if (std::filesystem::exists(r, ec)) continue;
      bool found = false;
      for (const auto& loaded : library.rules())
        if (loaded.rule->id() == r) {
          reported.push_back({r, loaded.rule->title()});
          found = true;
        }
      for (const auto& loaded : library.correlations())
        if (loaded.correlation->id() == r) {
          reported.push_back({r, loaded.correlation->title()});
          found = true;
        }
      for (const auto& loaded : library.behaviours())
        if (loaded.rule->id == r) {
          reported.push_back({r, loaded.rule->title});
          found = true;
        }
      if (!found) return Fatal(Status::NotFound("no rule file or loaded rule id \"" + r + "\""));
    }
  }
  if (any_ids && (!chosen.rules().empty() || !chosen.behaviours().empty()))
    return Fatal(Status::InvalidArgument("give rule files or rule ids, not both"));
  if (o.rules.empty() && o.intel.empty()) return Fatal(Status::InvalidArgument("give rule files, rule ids or --intel"));
  auto made = MakeDetector(any_ids ? library : chosen);
  if (!made.ok()) return Fatal(made.status());
  RuleLoad load;
  load.detector = std::move(made).value();
  std::unique_ptr<intel::IntelStore> intel;
  if (!o.intel.empty()) {
    auto loaded = LoadIntelFeeds(FeedConfigsForPaths(o.intel));
    if (!loaded.ok()) return Fatal(loaded.status());
    intel = std::move(loaded).value();
    AddIntelDetector(&load, intel.get());
  }
  std::unique_ptr<Detector> detector = std::move(load.detector);

  auto keys = LoadMasterKeys(o.keys);
  if (!keys.ok()) return Fatal(keys.status());
  auto ws = Workspace::Open(o.data_dir, /*write=*/false, *keys);
  if (!ws.ok()) return Fatal(ws.status());
  // Alerts go to a private in-memory store, folded exactly as live ingest folds them.
  auto alerts_db = OpenSqliteMetadata(":memory:");
  if (!alerts_db.ok()) return Fatal(alerts_db.status());

  AlertFold fold;
  uint64_t scanned = 0, matches = 0, unreadable = 0;
  Progress progress("backtest");
  scan.newest_first = false;
  st = (*ws)->store()->Scan(scan, [&](const StoredEvent& s) {
    ++scanned;
    progress.Update(HumanCount(scanned) + " events, " + HumanCount(matches) + " matches");
    auto e = RebuildEvent(s);
    if (!e.ok()) {
      ++unreadable;
      return true;
    }
    detector->Process(*e, [&](const Event& ev, const Match& m) {
      ++matches;
      fold.Add(ev, m);
    });
    return true;
  });
  MetadataCommit commit;
  commit.alerts = &fold;
  Status failure = st.ok() ? (*alerts_db)->Commit(commit).status() : Status::Ok();
  progress.Finish();
  if (!st.ok()) return Fatal(st);
  if (!failure.ok()) return Fatal(failure);
  if (unreadable) Warn(std::to_string(unreadable) + " stored records could not be read and were skipped");

  // Intel findings are reported by the rules that raised any.
  if (intel) {
    size_t before = reported.size();
    for (const intel::IntelRule* r : intel::AllIntelRules()) {
      AlertQuery q;
      q.rule_id = std::string(r->id);
      q.limit = 1;
      auto any = (*alerts_db)->ListAlerts(q);
      if (!any.ok()) return Fatal(any.status());
      if (!any->empty()) reported.push_back({std::string(r->id), std::string(r->title)});
    }
    if (reported.size() == before) Note("intel: no event matched an indicator");
  }
  for (const auto& rule : reported) {
    AlertQuery q;
    q.rule_id = rule.id;
    auto alerts = (*alerts_db)->ListAlerts(q);
    if (!alerts.ok()) return Fatal(alerts.status());
    std::set<std::string> entities;
    uint64_t rule_matches = 0;
    for (const Alert& a : *alerts) {
      entities.insert(a.entity);
      rule_matches += a.count;
    }
    if (o.json) {
      std::string examples = "[";
      for (size_t i = 0; i < alerts->size() && i < o.examples; ++i) {
        if (i) examples += ",";
        examples += AlertJson((*alerts)[i]);
      }
      examples += "]";
      std::printf("%s\n", JsonObject()
                              .Str("rule", rule.id)
                              .Str("title", rule.title)
                              .UInt("events_scanned", scanned)
                              .UInt("matches", rule_matches)
                              .UInt("alerts", alerts->size())
                              .UInt("entities", entities.size())
                              .Raw("examples", examples)
                              .Done()
                              .c_str());
    } else {
      std::printf("%s  %s\n  %llu events scanned: %llu matches, %zu alerts on %zu entities\n", rule.id.c_str(),
                  rule.title.c_str(), static_cast<unsigned long long>(scanned),
                  static_cast<unsigned long long>(rule_matches), alerts->size(), entities.size());
      for (size_t i = 0; i < alerts->size() && i < o.examples; ++i) {
        const Alert& a = (*alerts)[i];
        std::printf("    %-9s %-50s %s x%llu\n", a.severity.c_str(), a.entity.substr(0, 50).c_str(),
                    FormatRfc3339(a.first_seen_ns).c_str(), static_cast<unsigned long long>(a.count));
      }
    }
  }
  return kExitOk;
}

}  // namespace vigil::cli
