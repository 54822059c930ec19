// `vigil eval`: runs a labelled simulation through the ingest pipeline with
// every rule pack, the simulation's GeoIP table and its intel feeds, and
// scores the alerts against the labels (docs/eval.md).
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/intel_feeds.h"
#include "cli/workspace.h"
#include "common/time.h"
#include "simulate/eval.h"
#include "simulate/org_simulator.h"

namespace vigil::cli {

// Defined in ingest_cmd.cc.
Result<IngestStats> IngestPaths(Workspace& ws, const std::vector<std::string>& paths, Detector* detector,
                                bool show_progress, int threads, Minimiser* minimiser = nullptr);

namespace {

namespace fs = std::filesystem;

Result<std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path.string() + ": cannot read (is this a `vigil simulate` output directory?)");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A directory under $TMPDIR removed when the run ends, unless kept.
class TempDir {
 public:
  static Result<TempDir> Make(const char* what) {
    std::string pattern = (fs::temp_directory_path() / (std::string("vigil-eval-") + what + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) return Status::IoError("cannot create a temporary directory " + pattern);
    return TempDir(pattern);
  }
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

std::string Duration(int64_t ns) {
  const int64_t s = ns / 1'000'000'000;
  char buf[32];
  if (s < 120) std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 7200) std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s / 60 % 60));
  return buf;
}

std::string Percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v * 100);
  return buf;
}

std::string SummaryLine(const sim::EvalReport& r) {
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.2f", r.false_per_million);
  return "eval: " + std::to_string(r.detected) + "/" + std::to_string(r.labels.size()) + " scenarios detected (recall " +
         Percent(r.recall) + "), precision " + Percent(r.precision) + " (" + HumanCount(r.true_alerts) + " of " +
         HumanCount(r.detections) + " alerts), " + rate + " false alerts per million benign events (" +
         HumanCount(r.false_alerts) + " in " + HumanCount(r.benign_events) + "), " + HumanCount(r.explained) + "/" +
         HumanCount(r.detections) + " explained";
}

void PrintTable(const sim::EvalReport& r) {
  std::printf("%-36s %-8s %-8s %s\n", "SCENARIO", "RESULT", "ALERTED", "RULES (first alert first)");
  for (const sim::LabelResult& lr : r.labels) {
    std::string rules;
    for (const std::string& t : lr.rules) rules += (rules.empty() ? "" : "; ") + t;
    std::printf("%-36s %-8s %-8s %s\n", lr.label.id.c_str(), lr.detected ? "detected" : "MISSED",
                lr.detected ? Duration(lr.time_to_detect_ns).c_str() : "-", rules.c_str());
  }
  if (!r.false_by_rule.empty()) {
    std::printf("\nfalse alerts by rule:\n");
    for (const auto& [title, n] : r.false_by_rule) std::printf("  %6zu  %s\n", n, title.c_str());
  }
  std::printf("\n");
}

}  // namespace

// The fields of a stored alert that scoring reads (also `vigil demo`'s).
sim::EvalAlert ToEvalAlert(const Alert& a) {
  sim::EvalAlert e;
  e.rule_id = a.rule_id;
  e.title = a.title;
  e.severity = a.severity;
  e.entity = a.entity;
  e.finding_type = a.finding_type;
  e.tags = a.tags;
  e.first_seen_ns = a.first_seen_ns;
  e.last_seen_ns = a.last_seen_ns;
  e.match = a.match;
  return e;
}

int RunEval(const EvalCmdOptions& o) {
  auto slack = ParseDuration(o.slack);
  if (!slack || *slack < 0) return Fatal(Status::InvalidArgument("--slack: not a duration (30m, 1h): " + o.slack));

  // 1. The labelled simulation: given, or generated now.
  std::optional<TempDir> sim_tmp;
  std::string sim_dir = o.dir;
  if (sim_dir.empty()) {
    auto opt = ToSimulateOptions(o.simulate);
    if (!opt.ok()) return Fatal(opt.status());
    if (o.keep_simulation) {
      sim_dir = o.simulate.out;
      std::error_code ec;
      if (fs::exists(sim_dir, ec) && !fs::is_empty(sim_dir, ec))
        return Fatal(Status::FailedPrecondition(sim_dir + " exists and is not empty; choose another --out"));
    } else {
      auto t = TempDir::Make("sim");
      if (!t.ok()) return Fatal(t.status());
      sim_tmp.emplace(std::move(t).value());
      sim_dir = sim_tmp->path();
    }
    Progress progress("simulate");
    auto made = sim::SimulateToDirectory(*opt, sim_dir, [&](int day, const sim::SimulateSummary& s) {
      progress.Update("day " + std::to_string(day + 1) + "/" + std::to_string(opt->days) + ", " +
                      HumanCount(s.records) + " records", true);
    });
    progress.Finish();
    if (!made.ok()) return Fatal(made.status());
    Note("simulated " + std::to_string(made->days) + " days: " + HumanCount(made->records) + " records, " +
         std::to_string(made->labels.size()) + " labelled attack stages");
  }
  const fs::path root(sim_dir);
  auto labels_text = ReadWhole(root / "labels.jsonl");
  if (!labels_text.ok()) return Fatal(labels_text.status());
  auto labels = sim::ReadLabelsJsonl(*labels_text);
  if (!labels.ok()) return Fatal(labels.status().WithContext(sim_dir));
  auto org_text = ReadWhole(root / "org.json");
  if (!org_text.ok()) return Fatal(org_text.status());
  auto matcher = sim::LabelMatcher::FromOrgJson(*org_text);
  if (!matcher.ok()) return Fatal(matcher.status().WithContext(sim_dir));
  matcher->slack_ns = *slack;

  // 2. The pipeline `vigil ingest` runs: every rule directory, the
  // simulation's GeoIP table for the rules that read one, its intel feeds.
  std::optional<TempDir> data_tmp;
  std::string data_dir = o.data_dir;
  if (data_dir.empty()) {
    auto t = TempDir::Make("data");
    if (!t.ok()) return Fatal(t.status());
    data_tmp.emplace(std::move(t).value());
    data_dir = data_tmp->path();
  }
  std::error_code ec;
  const std::string geoip = fs::exists(root / "geoip.csv", ec) ? (root / "geoip.csv").string() : "";
  if (geoip.empty()) Warn(sim_dir + "/geoip.csv not found: the GeoIP rules do not run");
  auto rules = LoadRules(RuleDirectories(o.extra_rules), geoip);
  if (!rules.ok()) return Fatal(rules.status());
  for (const auto& e : rules->report.errors) Warn("rule " + e.file + ": " + e.reason);
  for (const auto& e : rules->report.unsupported) Warn("rule not run: " + e.file + ": " + e.reason);
  std::vector<std::string> feeds;
  for (const auto& entry : fs::directory_iterator(root / "intel", ec))
    if (entry.is_regular_file()) feeds.push_back(entry.path().string());
  std::sort(feeds.begin(), feeds.end());
  std::unique_ptr<intel::IntelStore> intel;
  if (!feeds.empty()) {
    auto loaded = LoadIntelFeeds(FeedConfigsForPaths(feeds), /*quiet=*/true);
    if (!loaded.ok()) return Fatal(loaded.status());
    intel = std::move(loaded).value();
    AddIntelDetector(&*rules, intel.get());
  }
  auto ws = Workspace::Open(data_dir, /*write=*/true);
  if (!ws.ok()) return Fatal(ws.status());
  // The logs directory is read in delivery-time order (MakeFileSource), as
  // a live deployment receives it.
  const fs::path logs = root / "logs";
  if (fs::is_empty(logs, ec) || ec) return Fatal(Status::NotFound(logs.string() + ": no log files"));
  auto stats = IngestPaths(**ws, {logs.string()}, rules->detector.get(), true, o.threads);
  if (!stats.ok()) return Fatal(stats.status());
  if (stats->errors > 0 || stats->failed_inputs > 0)
    Warn(HumanCount(stats->errors) + " records dead-lettered and " + HumanCount(stats->failed_inputs) +
         " inputs failed: the score covers only what was read");
  auto stored = (*ws)->metadata()->ListAlerts(AlertQuery{});
  if (!stored.ok()) return Fatal(stored.status());

  // 3. The score.
  std::vector<sim::EvalAlert> alerts;
  alerts.reserve(stored->size());
  for (const Alert& a : *stored) alerts.push_back(ToEvalAlert(a));
  const sim::EvalReport report = sim::Evaluate(*labels, *matcher, alerts, stats->events);
  if (o.json) {
    std::printf("%s\n", sim::EvalReportJson(report).c_str());
  } else {
    PrintTable(report);
    std::printf("%s\n", SummaryLine(report).c_str());
    if (!o.data_dir.empty()) std::printf("alerts: vigil alerts --data %s\n", o.data_dir.c_str());
  }
  // The gates, each failure named (on stderr, so --json output stays one object).
  int rc = kExitOk;
  if (report.recall < o.min_recall) {
    std::fprintf(stderr, "vigil: eval: recall %s is below --min-recall %s\n", Percent(report.recall).c_str(),
                 Percent(o.min_recall).c_str());
    rc = kExitFailures;
  }
  if (o.max_false_per_million >= 0 && report.false_per_million > o.max_false_per_million) {
    std::fprintf(stderr, "vigil: eval: %.2f false alerts per million benign events is above --max-false-per-million %g\n",
                 report.false_per_million, o.max_false_per_million);
    rc = kExitFailures;
  }
  return rc;
}

}  // namespace vigil::cli
