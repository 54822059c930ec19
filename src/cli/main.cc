// The `vigil` command. Contract (docs/cli.md): results on stdout (only JSON
// with --json), diagnostics and progress on stderr; exit 0 success, 1 ran but
// found failures, 2 usage or fatal error.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/cli_util.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace vigil::cli;
  CLI::App app{"vigil: a self-hosted SIEM for AWS logs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("vigil 0.1.0"));

  // Master keys for encryption at rest (docs/operations.md#encryption-at-rest).
  auto add_key_options = [](CLI::App* cmd, vigil::KeySources* keys, const char* what) {
    cmd->add_option("--key-file", keys->files,
                    std::string("Master key file (<id>:<64 hex digits> per line; repeatable) ") + what)
        ->allow_extra_args(false);
    cmd->add_option("--key-env", keys->env_vars,
                    "Environment variable holding a master key (repeatable; without --key-file/--key-env, "
                    "VIGIL_MASTER_KEY is used when set)")
        ->allow_extra_args(false);
  };
  constexpr char kWriteKeys[] = "to encrypt new segments (the first key) and read encrypted ones";
  constexpr char kReadKeys[] = "to read encrypted segments";

  IngestOptions ingest;
  auto* ingest_cmd = app.add_subcommand("ingest", "Ingest log files and directories (recursively)");
  ingest_cmd->add_option("paths", ingest.paths, "Files or directories (CloudTrail .json/.json.gz, arrays, NDJSON)")
      ->required();
  auto* ingest_data = ingest_cmd->add_option("--data", ingest.data_dir, "Data directory")->capture_default_str();
  ingest_cmd->add_option("--config", ingest.config,
                         "YAML configuration as vigil serve reads it: data_dir, encryption, minimise, pipeline rules "
                         "(docs/operations.md)");
  ingest_cmd->add_option("--rules", ingest.extra_rules, "Extra rule directory (repeatable)")->allow_extra_args(false);
  ingest_cmd->add_flag("--json", ingest.json, "Print the summary as one JSON object");
  ingest_cmd->add_flag("--no-detect", ingest.no_detect, "Store only; run no rules");
  ingest_cmd->add_option("--threads", ingest.threads, "1: one thread (least CPU); 2: parse on a second thread")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
  ingest_cmd->add_option("--intel", ingest.intel, "Threat-intel feed file: STIX, MISP, CSV or a list (repeatable)")
      ->allow_extra_args(false);
  add_key_options(ingest_cmd, &ingest.keys, kWriteKeys);

  AlertsOptions alerts;
  auto* alerts_cmd = app.add_subcommand("alerts", "List alerts");
  alerts_cmd->add_option("--data", alerts.data_dir, "Data directory")->capture_default_str();
  alerts_cmd->add_flag("--json", alerts.json, "One JSON object per alert per line");
  alerts_cmd->add_option("--from", alerts.from, "Only alerts last seen at or after this RFC 3339 time");
  alerts_cmd->add_option("--to", alerts.to, "Only alerts first seen before this RFC 3339 time");
  alerts_cmd->add_option("--rule", alerts.rule_id, "Only alerts of this rule id");
  alerts_cmd->add_option("--min-severity", alerts.min_severity, "informational|low|medium|high|critical");
  alerts_cmd->add_option("--limit", alerts.limit, "At most N alerts (0: all)");

  HuntOptions hunt;
  auto* hunt_cmd = app.add_subcommand("hunt", "Search stored events");
  hunt_cmd->add_option("query", hunt.query, "Query, e.g. 'eventName=ConsoleLogin errorMessage=\"Failed*\"'");
  hunt_cmd->add_option("--data", hunt.data_dir, "Data directory")->capture_default_str();
  hunt_cmd->add_flag("--json", hunt.json,
                     "Print the stored raw records, one per line (after stats, top, fields...: one JSON object "
                     "per result row)");
  hunt_cmd->add_option("--from", hunt.from, "Events at or after this RFC 3339 time");
  hunt_cmd->add_option("--to", hunt.to, "Events before this RFC 3339 time");
  hunt_cmd->add_option("--limit", hunt.limit, "At most N events or result rows (0: all)")->capture_default_str();
  hunt_cmd->add_option("--lookup", hunt.lookups,
                       "NAME=FILE.csv: a table that `| lookup NAME key ...` reads (repeatable)")
      ->allow_extra_args(false);
  hunt_cmd->add_option("--intel", hunt.intel,
                       "Threat-intel feed (STIX, MISP, CSV, list) for `| lookup intel FIELD` (repeatable)")
      ->allow_extra_args(false);
  hunt_cmd->add_option("--max-memory", hunt.max_memory_mib,
                       "MiB of state that stats, top, sort, tail and dedup may hold")
      ->capture_default_str();
  hunt_cmd->add_flag("--ocsf", hunt.ocsf,
                     "Print each event's OCSF form (one OCSF JSON object per line with --json); "
                     "queries may name OCSF fields as ocsf.<attribute> with or without it");
  add_key_options(hunt_cmd, &hunt.keys, kReadKeys);

  auto* rules_cmd = app.add_subcommand("rules", "Lint and test detection rules");
  rules_cmd->require_subcommand(1);
  RulesOptions lint;
  auto* lint_cmd = rules_cmd->add_subcommand("lint", "Check rule files; report unsupported and broken ones");
  lint_cmd->add_option("paths", lint.paths, "Rule files or directories")->required();
  lint_cmd->add_flag("--json", lint.json, "Print one JSON object");
  lint_cmd->add_option("--schemas", lint.schema_dir,
                       "Also check each file against the Sigma JSON schemas in this directory "
                       "(default: $VIGIL_SIGMA_SCHEMAS)");
  RulesOptions test;
  auto* test_cmd = rules_cmd->add_subcommand("test", "Run the test cases beside each rule (foo.tests.yml)");
  test_cmd->add_option("paths", test.paths, "Rule files or directories")->required();
  test_cmd->add_flag("--json", test.json, "One JSON object per case");

  BacktestOptions backtest;
  auto* backtest_cmd =
      rules_cmd->add_subcommand("backtest", "Run rules over stored events and report the alerts they would raise");
  backtest_cmd->add_option("rules", backtest.rules, "Rule files, or ids of loaded rules (optional with --intel)");
  backtest_cmd->add_option("--data", backtest.data_dir, "Data directory")->capture_default_str();
  backtest_cmd->add_option("--rules", backtest.extra_rules, "Extra rule directory (repeatable)")->allow_extra_args(false);
  backtest_cmd->add_option("--from", backtest.from, "Events at or after this RFC 3339 time");
  backtest_cmd->add_option("--to", backtest.to, "Events before this RFC 3339 time");
  backtest_cmd->add_option("--examples", backtest.examples, "Example alerts to show per rule")->capture_default_str();
  backtest_cmd->add_flag("--json", backtest.json, "One JSON object per rule");
  backtest_cmd->add_option("--intel", backtest.intel, "Also match this threat-intel feed (repeatable)")
      ->allow_extra_args(false);
  add_key_options(backtest_cmd, &backtest.keys, kReadKeys);

  ScheduledOptions scheduled;
  auto* scheduled_cmd = rules_cmd->add_subcommand(
      "run-scheduled", "Run the scheduled rules (a hunt query on a timer) whose latest window has not run");
  scheduled_cmd->add_option("paths", scheduled.paths, "Scheduled rule files or directories")->required();
  scheduled_cmd->add_option("--data", scheduled.data_dir, "Data directory")->capture_default_str();
  scheduled_cmd->add_option("--now", scheduled.now, "Run as if it were this RFC 3339 time (default: now)");
  scheduled_cmd->add_flag("--json", scheduled.json, "One JSON object per rule");
  add_key_options(scheduled_cmd, &scheduled.keys, kReadKeys);

  ImportOptions import;
  auto* import_cmd = rules_cmd->add_subcommand(
      "import-cloudwatch", "Turn CloudWatch Logs metric filter patterns into vigil rule files");
  import_cmd->add_option("file", import.input,
                         "aws logs describe-metric-filters JSON, a JSON array of patterns, or one pattern per line")
      ->required();
  import_cmd->add_option("--out", import.out_dir, "Directory for the rule files")->required();
  import_cmd->add_option("--level", import.level, "Rule level")->capture_default_str();
  import_cmd->add_option("--service", import.service, "logsource service")->capture_default_str();
  import_cmd->add_option("--tag", import.tags, "Tag for every rule (repeatable)");
  import_cmd->add_flag("--json", import.json, "Print one JSON object");

  auto* deadletter_cmd = app.add_subcommand("deadletter", "List dead-lettered records; replay them after a fix");
  deadletter_cmd->require_subcommand(1);
  DeadLetterOptions dl_list;
  auto* dl_list_cmd = deadletter_cmd->add_subcommand("list", "Show records ingest could not read, with the reason");
  DeadLetterOptions dl_replay;
  auto* dl_replay_cmd = deadletter_cmd->add_subcommand(
      "replay", "Ingest dead-lettered records again; drop those that now read, keep (with the new reason) the rest");
  for (auto [cmd, o] : {std::pair{dl_list_cmd, &dl_list}, std::pair{dl_replay_cmd, &dl_replay}}) {
    cmd->add_option("--data", o->data_dir, "Data directory")->capture_default_str();
    cmd->add_option("--from", o->from, "Records rejected at or after this RFC 3339 time");
    cmd->add_option("--to", o->to, "Records rejected before this RFC 3339 time");
    cmd->add_option("--input", o->input, "Only records of inputs matching this wildcard pattern (e.g. '*.json.gz')");
    cmd->add_option("--reason", o->reason, "Only records whose reason matches this wildcard pattern");
  }
  dl_list_cmd->add_flag("--json", dl_list.json, "One JSON object per record per line");
  dl_list_cmd->add_option("--limit", dl_list.limit, "At most N records (0: all)");
  dl_replay_cmd->add_flag("--json", dl_replay.json, "Print the summary as one JSON object");
  dl_replay_cmd->add_flag("--dry-run", dl_replay.dry_run, "Say what would be replayed; change nothing");
  dl_replay_cmd->add_flag("--no-detect", dl_replay.no_detect, "Store only; run no rules");
  dl_replay_cmd->add_option("--rules", dl_replay.extra_rules, "Extra rule directory (repeatable)")
      ->allow_extra_args(false);
  dl_replay_cmd->add_option("--threads", dl_replay.threads, "1: one thread; 2: parse on a second thread")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
  dl_replay_cmd->add_option("--max-depth", dl_replay.max_depth, "Raise the JSON nesting limit (default 64)");
  dl_replay_cmd->add_option("--max-record-bytes", dl_replay.max_record_bytes,
                            "Raise the record size limit (default 4 MiB)");
  dl_replay_cmd->add_option("--max-line-bytes", dl_replay.max_line_bytes, "Raise the line length limit (default 4 MiB)");
  add_key_options(dl_replay_cmd, &dl_replay.keys, kWriteKeys);

  DemoOptions demo;
  auto* demo_cmd = app.add_subcommand(
      "demo", "Simulate a live AWS organisation under attack, stream it into vigil serve, show alerts as they arrive");
  demo_cmd->add_option("--seed", demo.seed, "Simulation seed")->capture_default_str();
  demo_cmd->add_option("--data", demo.data_dir, "Keep the demo's files here (wiped first) instead of a temporary directory");
  demo_cmd->add_option("--events", demo.events, "Routine records on a weekday, all log types")->capture_default_str();
  demo_cmd->add_option("--principals", demo.principals, "Human IAM users")->check(CLI::Range(4, 100000))->capture_default_str();
  demo_cmd->add_option("--history-days", demo.history_days,
                       "Days of routine history sent first, unpaced, for behavioural baselines")
      ->capture_default_str();
  demo_cmd->add_option("--speed", demo.speed, "Simulated seconds per wall second on live days (0: unpaced)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  demo_cmd->add_flag("--follow", demo.follow, "Keep the estate running day after day until interrupted (Ctrl-C)");
  demo_cmd->add_option("--attack", demo.attacks, "Inject only this scenario (repeatable; default: all)")
      ->allow_extra_args(false);
  demo_cmd->add_option("--min-severity", demo.min_severity, "Show alerts of this severity and above")
      ->capture_default_str();
  demo_cmd->add_flag("--json", demo.json, "Alerts as JSON lines as they arrive, then one JSON summary");

  auto* intel_cmd = app.add_subcommand("intel", "Threat-intelligence feeds");
  intel_cmd->require_subcommand(1);
  IntelCheckOptions intel_check;
  auto* intel_check_cmd =
      intel_cmd->add_subcommand("check", "Read feeds (STIX 2.1, MISP, CSV, lists) and print what each holds");
  intel_check_cmd->add_option("feeds", intel_check.feeds, "Feed files")->required();
  intel_check_cmd->add_option("--format", intel_check.format, "auto|stix|misp|csv|list")->capture_default_str();
  intel_check_cmd->add_flag("--json", intel_check.json, "One JSON object per feed");

  SimulateCmdOptions simulate;
  auto* simulate_cmd = app.add_subcommand(
      "simulate", "Generate a synthetic AWS organisation's logs (CloudTrail, VPC Flow, Resolver, ALB, S3 access) with labelled attacks");
  // The organisation's options, shared with `vigil eval`.
  auto add_generation_options = [](CLI::App* cmd, SimulateCmdOptions* sim) {
    cmd->add_option("--seed", sim->seed, "Seed: the same seed and options give byte-identical output")
        ->capture_default_str();
    cmd->add_option("--days", sim->days, "Simulated days")->check(CLI::Range(1, 366))->capture_default_str();
    cmd->add_option("--principals", sim->principals, "Human IAM users (instances grow with them)")
        ->check(CLI::Range(4, 100000))
        ->capture_default_str();
    cmd->add_option("--events", sim->events, "Routine records on a weekday, all log types")->capture_default_str();
    cmd->add_option("--start", sim->start, "First day, e.g. 2025-03-03 (default: that Monday)");
    cmd->add_option("--attack", sim->attack, "Inject this scenario (repeatable; see --list-attacks)")
        ->allow_extra_args(false);
    cmd->add_option("--attacks", sim->attacks_set, "'all' to inject every scenario, 'none' for none")
        ->capture_default_str();
  };
  add_generation_options(simulate_cmd, &simulate);
  simulate_cmd->add_flag("--list-attacks", simulate.list_attacks, "List the scenarios and their finding types");
  simulate_cmd->add_option("--out", simulate.out, "Output directory (logs/, labels.jsonl, geoip.csv, intel/)")
      ->capture_default_str();
  simulate_cmd->add_flag("--force", simulate.force, "Replace a previous simulation in --out");
  simulate_cmd->add_option("--to", simulate.to, "Stream to a running vigil serve instead, e.g. http://127.0.0.1:8080");
  simulate_cmd->add_option("--token", simulate.token, "Ingest token for --to");
  simulate_cmd->add_option("--speed", simulate.speed, "With --to: simulated seconds per wall second (0: as fast as possible)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  simulate_cmd->add_flag("--json", simulate.json, "Print the summary as one JSON object");

  EvalCmdOptions eval;
  eval.simulate.days = 7;
  eval.simulate.attacks_set = "all";
  auto* eval_cmd = app.add_subcommand(
      "eval", "Score detection on a labelled simulation: per scenario detected or missed and how soon, recall, "
              "precision, false alerts per million benign events");
  eval_cmd->add_option("dir", eval.dir,
                       "A `vigil simulate` output directory (default: simulate now with the options below)");
  add_generation_options(eval_cmd, &eval.simulate);
  auto* eval_out = eval_cmd->add_option("--out", eval.simulate.out,
                                        "Keep the simulation in this new directory (default: a temporary one)");
  eval_cmd->add_option("--data", eval.data_dir,
                       "Data directory to ingest into and keep (default: a temporary one); must be new or empty");
  eval_cmd->add_option("--rules", eval.extra_rules, "Extra rule directory (repeatable)")->allow_extra_args(false);
  eval_cmd->add_option("--slack", eval.slack,
                       "How long after a scenario's last record an alert still counts (windowed and baseline "
                       "detectors)")
      ->capture_default_str();
  eval_cmd->add_option("--threads", eval.threads, "1: one thread; 2: parsing on its own thread")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
  eval_cmd->add_flag("--json", eval.json, "Print the report as one JSON object");
  eval_cmd->add_option("--min-recall", eval.min_recall,
                       "Exit 1 when the share of scenarios detected is below this (0 to 1; e.g. 0.95)")
      ->check(CLI::Range(0.0, 1.0));
  eval_cmd->add_option("--max-false-per-million", eval.max_false_per_million,
                       "Exit 1 when false alerts per million benign events are above this (e.g. 2)")
      ->check(CLI::NonNegativeNumber);
  eval_cmd->footer(
      "An alert detects a scenario (a line of labels.jsonl) when one of the names of the scenario's entity in\n"
      "org.json (a user's ARN, access key or name; an instance's id, ENI, private or public address) appears in\n"
      "the alert's entity as a whole word and its first..last seen time\n"
      "overlaps the scenario's start..end + slack. Counted alerts: threat-intel findings, behavioural findings and\n"
      "threat rules of severity low and above; compliance rules (cis.* tags) and informational rules are not.\n"
      "recall = scenarios detected / scenarios; precision = counted alerts matching a scenario / counted alerts;\n"
      "false alerts per million = counted alerts matching no scenario per million events that are not attack\n"
      "records. Every counted alert should carry an explanation (`match`). See docs/eval.md.");

  ServeOptions serve;
  auto* serve_cmd = app.add_subcommand(
      "serve", "Run the collector and detector: HTTP ingest into a write-ahead log, detection, storage");
  serve_cmd->add_option("--config", serve.config, "YAML configuration file (docs/serve.md)");
  serve_cmd->add_option("--data", serve.data_dir, "Data directory (overrides data_dir in the file)");
  serve_cmd->add_flag("--json", serve.json, "Log one JSON object per line (as log_format: json)");
  serve_cmd->add_flag("--check-config", serve.check, "Validate the configuration and exit");
  add_key_options(serve_cmd, &serve.keys, "(instead of encryption in the file)");

  auto* keys_cmd = app.add_subcommand("keys", "Master keys for encryption at rest: generate, status, rotate");
  keys_cmd->require_subcommand(1);
  KeysOptions keys_generate, keys_status, keys_rotate;
  auto* keys_generate_cmd = keys_cmd->add_subcommand("generate", "Print a new random master key (<id>:<hex>)");
  keys_generate_cmd->add_option("--id", keys_generate.id, "The key's id (letters, digits, '.', '_', '-')")->required();
  keys_generate_cmd->add_option("--out", keys_generate.out, "Write it to this new file (mode 0600) instead of stdout");
  keys_generate_cmd->add_flag("--json", keys_generate.json, "With --out: print one JSON object");
  auto* keys_status_cmd =
      keys_cmd->add_subcommand("status", "Count the segments each master key wraps (needs no key)");
  keys_status_cmd->add_option("--data", keys_status.data_dir, "Data directory")->capture_default_str();
  keys_status_cmd->add_flag("--json", keys_status.json, "Print one JSON object");
  auto* keys_rotate_cmd = keys_cmd->add_subcommand(
      "rotate", "Re-wrap every segment's data key under the first key given; segment data is not rewritten");
  keys_rotate_cmd->add_option("--data", keys_rotate.data_dir, "Data directory")->capture_default_str();
  keys_rotate_cmd->add_flag("--json", keys_rotate.json, "Print one JSON object");
  add_key_options(keys_rotate_cmd, &keys_rotate.keys, "(the new key first, then the old ones)");

  auto* storage_cmd = app.add_subcommand("storage", "Retention and tiering, legal holds, and the storage cost report");
  storage_cmd->require_subcommand(1);
  StorageOptions st_tier, st_report, st_history, st_hold, st_release, st_holds;
  auto* st_tier_cmd = storage_cmd->add_subcommand(
      "tier", "Move segments due by the retention policy: hot -> warm -> cold (S3) -> deleted");
  auto* st_report_cmd = storage_cmd->add_subcommand(
      "report", "Per source and tier: events, raw and stored bytes, compression ratio, monthly cost");
  auto* st_history_cmd = storage_cmd->add_subcommand("history", "Every move, deletion and legal hold change");
  auto* st_hold_cmd = storage_cmd->add_subcommand("hold", "Place a legal hold: covered segments are never deleted");
  auto* st_release_cmd = storage_cmd->add_subcommand("release", "Release a legal hold");
  auto* st_holds_cmd = storage_cmd->add_subcommand("holds", "List the legal holds in force");
  for (auto [cmd, o] : {std::pair{st_tier_cmd, &st_tier}, std::pair{st_report_cmd, &st_report},
                        std::pair{st_history_cmd, &st_history}, std::pair{st_hold_cmd, &st_hold},
                        std::pair{st_release_cmd, &st_release}, std::pair{st_holds_cmd, &st_holds}}) {
    cmd->add_option("--data", o->data_dir, "Data directory (default: the config's data_dir, else ./vigil-data)");
    cmd->add_option("--config", o->config, "vigil serve YAML whose `storage` section to use (docs/operations.md)");
    cmd->add_flag("--json", o->json, "JSON output (one object per line)");
  }
  st_tier_cmd->add_option("--now", st_tier.now, "Count ages from this RFC 3339 time instead of now");
  add_key_options(st_tier_cmd, &st_tier.keys, "(to summarise encrypted segments)");
  add_key_options(st_report_cmd, &st_report.keys, "(to count raw bytes of encrypted segments)");
  st_history_cmd->add_option("--limit", st_history.limit, "The newest N entries (0: all)");
  st_hold_cmd->add_option("--source", st_hold.source, "Source type to hold (default: every source)");
  st_hold_cmd->add_option("--from", st_hold.from, "Hold events at or after this RFC 3339 time");
  st_hold_cmd->add_option("--to", st_hold.to, "Hold events before this RFC 3339 time");
  st_hold_cmd->add_option("--reason", st_hold.reason, "Why (a case or matter reference)")->required();
  st_release_cmd->add_option("id", st_release.hold_id, "The hold's id (vigil storage holds)")->required();
  st_release_cmd->add_option("--reason", st_release.reason, "Why it is released");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitFatal;
  }

  ingest.data_dir_given = ingest_data->count() > 0;
  if (*ingest_cmd) return RunIngest(ingest);
  if (*alerts_cmd) return RunAlerts(alerts);
  if (*hunt_cmd) return RunHunt(hunt);
  if (*lint_cmd) return RunRulesLint(lint);
  if (*test_cmd) return RunRulesTest(test);
  if (*backtest_cmd) return RunRulesBacktest(backtest);
  if (*scheduled_cmd) return RunRulesScheduled(scheduled);
  if (*import_cmd) return RunRulesImportCloudWatch(import);
  if (*demo_cmd) return RunDemo(demo);
  if (*serve_cmd) return RunServe(serve);
  if (*simulate_cmd) return RunSimulate(simulate);
  eval.keep_simulation = eval_out->count() > 0;
  if (*eval_cmd) return RunEval(eval);
  if (*dl_list_cmd) return RunDeadLetterList(dl_list);
  if (*intel_check_cmd) return RunIntelCheck(intel_check);
  if (*dl_replay_cmd) return RunDeadLetterReplay(dl_replay);
  if (*keys_generate_cmd) return RunKeysGenerate(keys_generate);
  if (*keys_status_cmd) return RunKeysStatus(keys_status);
  if (*keys_rotate_cmd) return RunKeysRotate(keys_rotate);
  if (*st_tier_cmd) return RunStorageTier(st_tier);
  if (*st_report_cmd) return RunStorageReport(st_report);
  if (*st_history_cmd) return RunStorageHistory(st_history);
  if (*st_hold_cmd) return RunStorageHold(st_hold);
  if (*st_release_cmd) return RunStorageRelease(st_release);
  if (*st_holds_cmd) return RunStorageHolds(st_holds);
  return kExitFatal;
}
