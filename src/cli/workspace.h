// Workspace: the opened data directory (format version, lock, event store,
// metadata, dead letters) and the loaded rules, as the subcommands use them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "alert/metadata.h"
#include "common/status.h"
#include "detect/detector.h"
#include "detect/sigma/rule_set.h"
#include "ingest/pipeline.h"
#include "store/event_store.h"
#include "store/keys.h"
#include "tier/tier_config.h"

namespace vigil::cli {

struct RuleLoad {
  LintReport report;                   // what loaded, what did not and why
  std::unique_ptr<Detector> detector;  // evaluates every loaded rule
};

// Loads every rule under `paths` (files or directories). `geoip_override`:
// a GeoIP table every behavioural rule naming one reads instead of its own.
Result<RuleLoad> LoadRules(const std::vector<std::string>& paths, const std::string& geoip_override = "");

// The detector live ingest runs for a rule set: Sigma rules and filters, and
// the correlations over them when there are any.
Result<std::unique_ptr<Detector>> MakeDetector(const RuleSet& set);

class Workspace {
 public:
  virtual ~Workspace() = default;
  // `write`: take the data directory's exclusive lock (ingest, demo). Readers
  // (hunt, alerts) open without it and may run while an ingest is going on.
  // `keys`: master keys for encrypted segments (LoadMasterKeys); writers
  // encrypt new segments with the first. Cold segments are fetched on read
  // (tier/cold_env.h) with `storage`'s cache bound and credentials (null:
  // defaults and the environment).
  static Result<std::unique_ptr<Workspace>> Open(const std::string& data_dir, bool write,
                                                 std::shared_ptr<const KeyRing> keys = nullptr,
                                                 const TieringConfig* storage = nullptr);
  virtual EventStore* store() = 0;
  virtual MetadataStore* metadata() = 0;
  virtual DeadLetterSink* dead_letters() = 0;
  // Where the dead-letter day files are (store/dead_letters.h).
  virtual std::string dead_letter_dir() const = 0;
};

// The master keys named by --key-file/--key-env; with neither, the key in
// $VIGIL_MASTER_KEY when that is set; else none (null).
Result<std::shared_ptr<const KeyRing>> LoadMasterKeys(const KeySources& sources);

// The rules ingest runs (none with `no_detect`), load problems warned about.
Result<RuleLoad> LoadIngestRules(const std::vector<std::string>& extra_rules, bool no_detect);

// Runs the ingest pipeline over `source` into the workspace (opened for
// writing): `detector` may be null (store only); `threads` 1 or 2; progress
// on a terminal counts inputs as `unit` ("files"). Used by ingest, demo and
// deadletter replay.
// `minimiser` (may be null) applies data minimisation rules.
Result<IngestStats> IngestSource(Workspace& ws, Source* source, Detector* detector, bool show_progress, int threads,
                                 const ParserRegistry& parsers, const std::string& unit,
                                 Minimiser* minimiser = nullptr);

}  // namespace vigil::cli
