// One function per subcommand; each returns the process exit code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/keys.h"

namespace vigil::sim {
struct SimulateOptions;
}

namespace vigil::cli {

inline constexpr char kDefaultDataDir[] = "./vigil-data";

struct IngestOptions {
  std::vector<std::string> paths;
  std::string data_dir = kDefaultDataDir;
  bool data_dir_given = false;  // --data was given (it wins over the configuration's data_dir)
  std::string config;           // YAML (docs/serve.md): data_dir, encryption, minimise, pipeline rules
  std::vector<std::string> extra_rules;
  bool json = false;
  bool no_detect = false;
  int threads = 2;  // 1: one thread; 2: parsing on its own thread
  std::vector<std::string> intel;  // threat-intel feed files (docs/threat-intel.md)
  KeySources keys;  // --key-file / --key-env (store/keys.h)
};
int RunIngest(const IngestOptions& options);

struct AlertsOptions {
  std::string data_dir = kDefaultDataDir;
  bool json = false;
  std::string from, to, rule_id, min_severity;
  size_t limit = 0;
};
int RunAlerts(const AlertsOptions& options);

struct HuntOptions {
  std::string query;
  std::string data_dir = kDefaultDataDir;
  bool json = false;
  std::string from, to;
  size_t limit = 0;
  bool ocsf = false;  // print each event's OCSF form instead of the raw record
  KeySources keys;  // --key-file / --key-env (store/keys.h)
  std::vector<std::string> lookups;  // NAME=FILE.csv tables for `| lookup NAME ...`
  std::vector<std::string> intel;    // threat-intel feeds: `| lookup intel FIELD`
  size_t max_memory_mib = 256;       // bound on pipe stage state (stats groups, sort buffers)
};
int RunHunt(const HuntOptions& options);

struct RulesOptions {
  std::vector<std::string> paths;
  bool json = false;
  std::string schema_dir;  // lint: Sigma JSON schemas to check files against (or VIGIL_SIGMA_SCHEMAS)
};
int RunRulesLint(const RulesOptions& options);

struct ScheduledOptions {
  std::vector<std::string> paths;  // scheduled rule files or directories
  std::string data_dir = kDefaultDataDir;
  std::string now;  // RFC 3339; empty: the clock
  bool json = false;
  KeySources keys;  // --key-file / --key-env (store/keys.h)
};
int RunRulesScheduled(const ScheduledOptions& options);
int RunRulesTest(const RulesOptions& options);

struct BacktestOptions {
  std::vector<std::string> rules;  // rule files, or ids of rules in the rule directories
  std::vector<std::string> extra_rules;
  std::string data_dir = kDefaultDataDir;
  std::string from, to;
  bool json = false;
  size_t examples = 5;
  std::vector<std::string> intel;  // threat-intel feeds: their findings are reported too
  KeySources keys;  // --key-file / --key-env (store/keys.h)
};
int RunRulesBacktest(const BacktestOptions& options);

struct ImportOptions {
  std::string input;    // describe-metric-filters JSON, a JSON array, or text lines
  std::string out_dir;  // where the rule files go
  std::string level = "medium";
  std::string service = "cloudtrail";
  std::vector<std::string> tags;
  bool json = false;
};
int RunRulesImportCloudWatch(const ImportOptions& options);

struct DeadLetterOptions {
  std::string data_dir = kDefaultDataDir;
  bool json = false;
  std::string from, to;  // RFC 3339, on the time the record was rejected
  std::string input;     // wildcard pattern on the input name
  std::string reason;    // wildcard pattern on the reason
  size_t limit = 0;      // list: at most N (0: all)
  // replay
  bool dry_run = false;
  bool no_detect = false;
  std::vector<std::string> extra_rules;
  int threads = 2;
  size_t max_depth = 0, max_record_bytes = 0, max_line_bytes = 0;  // 0: the default limit
  KeySources keys;  // --key-file / --key-env (store/keys.h)
};
int RunDeadLetterList(const DeadLetterOptions& options);
int RunDeadLetterReplay(const DeadLetterOptions& options);

struct DemoOptions {
  uint64_t seed = 1;
  std::string data_dir;       // empty: a temporary directory, removed at exit
  size_t events = 20000;      // routine records on a weekday
  size_t principals = 40;
  int history_days = 7;       // days streamed unpaced before the live day
  double speed = 960;         // simulated seconds per wall second on live days (a day in 90 s); 0: unpaced
  bool follow = false;        // live day after day until SIGINT/SIGTERM
  std::vector<std::string> attacks;  // empty: every scenario
  std::string min_severity = "medium";  // alerts shown
  bool json = false;
};
int RunDemo(const DemoOptions& options);

struct IntelCheckOptions {
  std::vector<std::string> feeds;
  std::string format;  // empty: from content
  bool json = false;
};
int RunIntelCheck(const IntelCheckOptions& options);

struct SimulateCmdOptions {
  uint64_t seed = 1;
  int days = 1;
  size_t principals = 40;
  size_t events = 20000;           // routine records on a weekday
  std::string start;               // first day (RFC 3339 date); empty: 2025-03-03
  std::vector<std::string> attack; // --attack NAME (repeatable)
  std::string attacks_set;         // --attacks all|none
  std::string out = "./vigil-sim";
  bool force = false;
  std::string to;                  // http://host:port of a `vigil serve`
  std::string token;
  double speed = 1440;             // simulated seconds per wall second when streaming; 0: unpaced
  bool list_attacks = false;
  bool json = false;
};
int RunSimulate(const SimulateCmdOptions& options);

// The generation options of `vigil simulate` (shared by `vigil eval`).
Result<sim::SimulateOptions> ToSimulateOptions(const SimulateCmdOptions& options);

// `vigil eval` (docs/eval.md): runs a labelled simulation through the
// ingest pipeline with every shipped rule and scores the alerts.
struct EvalCmdOptions {
  std::string dir;              // an existing `vigil simulate` output; empty: simulate first
  SimulateCmdOptions simulate;  // generation options when `dir` is empty (out: where to keep it)
  bool keep_simulation = false; // --out was given: keep the simulation there
  std::string data_dir;         // empty: a temporary data directory, removed afterwards
  std::vector<std::string> extra_rules;
  std::string slack = "1h";     // after a label's end, for windowed and baseline detectors
  int threads = 2;
  bool json = false;
  // Gates for scripts and CI: exit 1 when recall is below `min_recall` or
  // the false-alert rate above `max_false_per_million` (negative: no gate).
  double min_recall = 0;
  double max_false_per_million = -1;
};
int RunEval(const EvalCmdOptions& options);

struct ServeOptions {
  std::string config;    // YAML file (docs/serve.md); empty: every default
  std::string data_dir;  // overrides the file's data_dir when set
  bool json = false;     // log one JSON object per line
  bool check = false;    // validate the configuration and exit
  KeySources keys;  // --key-file / --key-env (store/keys.h)
};
int RunServe(const ServeOptions& options);

// `vigil keys generate|status|rotate` (docs/operations.md#encryption-at-rest).
struct KeysOptions {
  std::string data_dir = kDefaultDataDir;
  std::string id;        // generate: the new key's id
  std::string out;       // generate: write the key to this new file (mode 0600) instead of stdout
  KeySources keys;       // rotate: the new (active, first) key and the old ones
  bool json = false;
};
int RunKeysGenerate(const KeysOptions& options);
int RunKeysStatus(const KeysOptions& options);
int RunKeysRotate(const KeysOptions& options);
// `vigil storage ...` (docs/operations.md).
struct StorageOptions {
  std::string data_dir;  // empty: the config file's data_dir, else the default
  std::string config;    // serve YAML; its `storage` section (retention, cold bucket, prices)
  bool json = false;
  std::string now;       // tier: count ages from this RFC 3339 time instead of the clock
  size_t limit = 0;      // history: the newest N entries (0: all)
  std::string source;    // hold: source type ("*" or empty: every source)
  std::string from, to;  // hold: event time range (RFC 3339; empty: unbounded)
  std::string reason;    // hold (required), release (optional)
  int64_t hold_id = 0;   // release
  KeySources keys;       // tier, report: to read encrypted segments (store/keys.h)
};
int RunStorageTier(const StorageOptions& options);
int RunStorageReport(const StorageOptions& options);
int RunStorageHistory(const StorageOptions& options);
int RunStorageHold(const StorageOptions& options);
int RunStorageRelease(const StorageOptions& options);
int RunStorageHolds(const StorageOptions& options);

}  // namespace vigil::cli
