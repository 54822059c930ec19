#include <cstdio>
#include <filesystem>
#include <map>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/workspace.h"
#include "common/time.h"
#include "simulate/cloudtrail_generator.h"

namespace vigil::cli {

// Defined in ingest_cmd.cc and alerts_cmd.cc.
Result<IngestStats> IngestPaths(Workspace& ws, const std::vector<std::string>& paths, Detector* detector,
                                bool show_progress, int threads, Minimiser* minimiser = nullptr);
std::string IngestSummaryJson(const IngestStats& s);
std::string IngestSummaryLine(const IngestStats& s);
std::string AlertJson(const Alert& a);
void PrintAlertTable(const std::vector<Alert>& alerts);

int RunDemo(const DemoOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = o.data_dir;
  // The demo owns its directory: refuse to wipe something that is not ours.
  if (fs::exists(root, ec) && !fs::is_empty(root, ec) && !fs::exists(root / ".vigil-demo", ec))
    return Fatal(Status::FailedPrecondition(root.string() +
                                            " exists and is not a vigil demo directory; choose another --data"));
  fs::remove_all(root, ec);
  if (ec) return Fatal(Status::IoError("cannot wipe " + root.string() + ": " + ec.message()));
  fs::create_directories(root / "input", ec);
  if (ec) return Fatal(Status::IoError("cannot create " + root.string() + ": " + ec.message()));
  if (FILE* f = std::fopen((root / ".vigil-demo").c_str(), "w")) std::fclose(f);

  GeneratorOptions gen;
  gen.seed = o.seed;
  gen.routine_events = o.events;
  auto summary = GenerateCloudTrailDay(gen, (root / "input").string());
  if (!summary.ok()) return Fatal(summary.status());
  Note("generated " + HumanCount(summary->records) + " CloudTrail records (" +
       HumanCount(summary->attack_records) + " from " + std::to_string(summary->attacks.size()) +
       " injected attack steps) in " + std::to_string(summary->log_files) + " files under " +
       (root / "input").string());

  auto ws = Workspace::Open((root / "data").string(), /*write=*/true);
  if (!ws.ok()) return Fatal(ws.status());
  auto rules = LoadRules(RuleDirectories({}));
  if (!rules.ok()) return Fatal(rules.status());
  for (const auto& e : rules->report.errors) Warn("rule " + e.file + ": " + e.reason);
  auto stats = IngestPaths(**ws, {(root / "input").string()}, rules->detector.get(), true, 2);
  if (!stats.ok()) return Fatal(stats.status());
  auto alerts = (*ws)->metadata()->ListAlerts(AlertQuery{});
  if (!alerts.ok()) return Fatal(alerts.status());

  if (o.json) {
    std::printf("%s\n", IngestSummaryJson(*stats).c_str());
    for (const Alert& a : *alerts) std::printf("%s\n", AlertJson(a).c_str());
    return kExitOk;
  }
  PrintAlertTable(*alerts);
  std::map<std::string, size_t> by_severity;
  std::map<std::string, size_t> by_tag;
  for (const Alert& a : *alerts) {
    ++by_severity[a.severity];
    for (const auto& t : a.tags)
      if (t.rfind("cis.", 0) == 0) ++by_tag[t];
  }
  std::printf("\n%s\n", IngestSummaryLine(*stats).c_str());
  std::printf("rules loaded: %zu; alerts: %zu (", rules->report.loaded, alerts->size());
  bool first = true;
  for (const char* sev : {"critical", "high", "medium", "low", "informational"}) {
    if (!by_severity.count(sev)) continue;
    std::printf("%s%zu %s", first ? "" : ", ", by_severity[sev], sev);
    first = false;
  }
  std::printf(")\nCIS controls alerted:");
  for (const auto& [tag, n] : by_tag) std::printf(" %s", tag.c_str());
  std::error_code exe_ec;
  std::string exe = fs::read_symlink("/proc/self/exe", exe_ec).string();
  if (exe_ec || exe.empty()) exe = "vigil";
  const std::string data = (root / "data").string();
  std::printf("\nexplore: %s alerts --data %s\n         %s hunt --data %s 'eventName=StopLogging'\n", exe.c_str(),
              data.c_str(), exe.c_str(), data.c_str());
  return kExitOk;
}

}  // namespace vigil::cli
