// Scheduled detection rules: a hunt query run on a timer, whose result rows
// become alerts (docs/rule-authoring.md, "Scheduled rules"):
//
//   title: Console sign-in failures from one address
//   id: 5f0c1a9e-7a53-4d1c-9b1e-2f7f1a0c6d11
//   level: high
//   schedule: 15m            # how often it runs
//   window: 1h               # how far back each run looks (default: schedule)
//   query: >
//     source=cloudtrail eventName=ConsoleLogin errorMessage="Failed authentication"
//     | stats count() by sourceIPAddress | where count > 5
//
// Runs are aligned to the schedule (a 15m rule covers the window ending at
// :00, :15, :30, :45) and each window runs once: the end of the last window
// run is kept in the metadata store beside the alerts it raised, in the same
// transaction.
//
// Thread safety: loading is pure; RunScheduledRules may run beside an
// ingest (it only reads the event store) but not beside another run of the
// same rules.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "alert/metadata.h"
#include "common/status.h"
#include "query/ast.h"
#include "query/pipeline.h"
#include "store/event_store.h"

namespace vigil::cli {

struct ScheduledRule {
  std::string file;
  std::string id;
  std::string title;
  std::string level = "medium";
  std::string description;
  std::vector<std::string> tags;
  std::string query_text;
  Query query;
  int64_t schedule_ns = 0;
  int64_t window_ns = 0;
  std::string entity;  // the column naming each alert's entity; empty: the first column
};

// A rule file's text; errors name the file and the key.
Result<ScheduledRule> ParseScheduledRule(const std::string& yaml, const std::string& file);
// Files, and the *.yml / *.yaml files under directories (recursively).
Result<std::vector<ScheduledRule>> LoadScheduledRules(const std::vector<std::string>& paths);

struct ScheduledRun {
  std::string rule_id;
  int64_t from_ns = 0, to_ns = 0;  // the window
  bool ran = false;                // false: this window had already run
  uint64_t rows = 0;               // result rows (each an alert hit)
  size_t alerts = 0;               // alerts created or updated
  uint64_t scanned = 0;
  Status error;                    // the query failed (the others still run)
};

// Runs every rule whose latest complete window at `now_ns` has not run yet.
std::vector<ScheduledRun> RunScheduledRules(EventStore* store, MetadataStore* metadata,
                                            const std::vector<ScheduledRule>& rules, int64_t now_ns,
                                            const QueryPipelineOptions& options);

}  // namespace vigil::cli
