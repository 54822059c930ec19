#include <cstdio>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/intel_feeds.h"
#include "cli/workspace.h"
#include "common/json_writer.h"
#include "formats/parser.h"
#include "ingest/pipeline.h"
#include "ingest/minimise.h"
#include "ingest/source.h"
#include "server/config.h"

namespace vigil::cli {

// Diagnostics from the pipeline: notes and errors always, warnings up to a cap
// (a file of records without usable times would otherwise flood the terminal).
class DiagnosticPrinter {
 public:
  explicit DiagnosticPrinter(Progress* progress) : progress_(progress) {}
  void operator()(DiagnosticLevel level, const std::string& message) {
    if (level == DiagnosticLevel::kWarning && ++warnings_ > kMaxWarnings) return;
    progress_->Finish();
    switch (level) {
      case DiagnosticLevel::kNote: Note(message); break;
      case DiagnosticLevel::kWarning: Warn(message); break;
      case DiagnosticLevel::kError: std::fprintf(stderr, "vigil: error: %s\n", message.c_str()); break;
    }
  }
  void Summarize() {
    if (warnings_ > kMaxWarnings) Warn(std::to_string(warnings_ - kMaxWarnings) + " more warnings not shown");
  }

 private:
  static constexpr uint64_t kMaxWarnings = 20;
  Progress* progress_;
  uint64_t warnings_ = 0;
};

Result<IngestStats> IngestPaths(Workspace& ws, const std::vector<std::string>& paths, Detector* detector,
                                bool show_progress, int threads, Minimiser* minimiser = nullptr) {
  auto source = MakeFileSource(paths);
  return IngestSource(ws, source.get(), detector, show_progress, threads, ParserRegistry::Default(), "files",
                      minimiser);
}

Result<IngestStats> IngestSource(Workspace& ws, Source* source, Detector* detector, bool show_progress, int threads,
                                 const ParserRegistry& parsers, const std::string& unit, Minimiser* minimiser) {
  std::vector<Detector*> detectors;
  if (detector) detectors.push_back(detector);
  auto writer = ws.store()->NewWriter();
  if (!writer.ok()) return writer.status();
  PipelineOptions options;
  options.threaded = threads > 1;
  // On one thread each batch is parsed, detected and stored in turn: 16
  // events keep every parsed document in cache until detection reads it
  // (1M CloudTrail events, every shipped rule, 4 alternated pairs: a mean of
  // 9.51 CPU-s against 9.85 with 64). Threaded runs keep the default, which
  // bounds their hand-offs.
  if (!options.threaded) options.batch_events = 16;
  options.minimiser = minimiser;
  Pipeline pipeline(source, &parsers, detectors, writer->get(), ws.metadata(), ws.dead_letters(), options);
  Progress progress("ingest");
  DiagnosticPrinter printer(&progress);
  pipeline.set_diagnostics([&](DiagnosticLevel l, const std::string& m) { printer(l, m); });
  if (show_progress) {
    pipeline.set_progress([&](const IngestStats& s, size_t done, size_t total) {
      progress.Update(std::to_string(done) + "/" + std::to_string(total) + " " + unit + ", " + HumanCount(s.events) +
                      " events, " + HumanCount(s.duplicates) + " duplicates, " + HumanCount(s.errors) + " errors");
    });
  }
  auto stats = pipeline.Run();
  progress.Finish();
  printer.Summarize();
  return stats;
}

std::string IngestSummaryJson(const IngestStats& s) {
  return JsonObject()
      .UInt("files", s.files)
      .UInt("skipped", s.skipped)
      .UInt("events", s.events)
      .UInt("duplicates", s.duplicates)
      .UInt("errors", s.errors)
      .UInt("alerts", s.alerts)
      .Num("seconds", s.seconds)
      .UInt("failed_inputs", s.failed_inputs)
      .UInt("warnings", s.warnings)
      .UInt("bytes", s.bytes)
      .UInt("minimised", s.minimised)
      .UInt("summaries", s.summaries)
      .Done();
}

std::string IngestSummaryLine(const IngestStats& s) {
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.2fs", s.seconds);
  return "ingested " + HumanCount(s.files) + " files (" + HumanCount(s.skipped) + " skipped): " +
         HumanCount(s.events) + " new events, " + HumanCount(s.duplicates) + " duplicates, " + HumanCount(s.errors) +
         " dead-lettered, " + HumanCount(s.alerts) + " alerts in " + rate +
         (s.minimised + s.summaries > 0 ? "; minimisation kept " + HumanCount(s.minimised) +
                                              " events out of the store and stored " + HumanCount(s.summaries) +
                                              " summaries"
                                        : "");
}

Result<RuleLoad> LoadIngestRules(const std::vector<std::string>& extra_rules, bool no_detect) {
  RuleLoad rules;
  if (no_detect) return rules;
  auto loaded = LoadRules(RuleDirectories(extra_rules));
  if (!loaded.ok()) return loaded.status();
  rules = std::move(loaded).value();
  for (const auto& e : rules.report.errors) Warn("rule " + e.file + ": " + e.reason);
  if (rules.report.loaded == 0) Warn("no detection rules loaded; events are stored without detection");
  return rules;
}

int RunIngest(const IngestOptions& o) {
  // A configuration file (as `vigil serve` reads) supplies the data
  // directory, master keys, minimisation rules and rule directories; flags win.
  std::string data_dir = o.data_dir;
  KeySources key_sources = o.keys;
  std::vector<std::string> extra_rules = o.extra_rules;
  bool no_detect = o.no_detect;
  std::unique_ptr<Minimiser> minimiser;
  if (!o.config.empty()) {
    auto config = server::LoadServeConfig(o.config);
    if (!config.ok()) return Fatal(config.status());
    if (!o.data_dir_given) data_dir = config->data_dir;
    if (key_sources.empty()) key_sources = config->encryption.sources();
    extra_rules.insert(extra_rules.begin(), config->pipeline.rules.begin(), config->pipeline.rules.end());
    if (!config->pipeline.detect) no_detect = true;
    if (!config->minimise.empty()) {
      auto m = Minimiser::Create(config->minimise);
      if (!m.ok()) return Fatal(m.status().WithContext(o.config));
      minimiser = std::move(m).value();
    }
  }
  auto keys = LoadMasterKeys(key_sources);
  if (!keys.ok()) return Fatal(keys.status());
  auto ws = Workspace::Open(data_dir, /*write=*/true, *keys);
  if (!ws.ok()) return Fatal(ws.status());
  auto rules = LoadIngestRules(extra_rules, no_detect);
  if (!rules.ok()) return Fatal(rules.status());
  std::unique_ptr<intel::IntelStore> intel;
  if (!o.intel.empty()) {
    if (no_detect) return Fatal(Status::InvalidArgument("--intel matches events; it cannot go with --no-detect"));
    auto loaded = LoadIntelFeeds(FeedConfigsForPaths(o.intel));
    if (!loaded.ok()) return Fatal(loaded.status());
    intel = std::move(loaded).value();
    AddIntelDetector(&*rules, intel.get());
  }
  auto stats = IngestPaths(**ws, o.paths, rules->detector.get(), true, o.threads, minimiser.get());
  if (!stats.ok()) return Fatal(stats.status());
  if (o.json) {
    std::printf("%s\n", IngestSummaryJson(*stats).c_str());
  } else {
    std::printf("%s\n", IngestSummaryLine(*stats).c_str());
  }
  return (stats->errors > 0 || stats->failed_inputs > 0) ? kExitFailures : kExitOk;
}

}  // namespace vigil::cli
