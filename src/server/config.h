// ServeConfig: the YAML file `vigil serve --config` reads (docs/serve.md,
// example in docs/examples/vigil-serve.yaml).
//
// Every option has a safe default: listen on loopback only, refuse ingest
// until a token is configured, bounded body size, backlog and queues. Loading
// is strict: an unknown key, or a value of the wrong type, is an error naming
// the key's path ("http.tls.cert_file") and the file.
//
// Adding a section (a new source such as syslog, a directory watch or S3
// polling): add its struct to ServeConfig, a `ParseXxx` beside the others in
// config.cc and one line in the section table there (kSections). Every
// source hands what it receives to the Intake (ingest/intake.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "ingest/dir_watch.h"
#include "ingest/minimise.h"
#include "ingest/s3_source.h"
#include "ingest/syslog_listener.h"
#include "intel/indicator.h"
#include "store/keys.h"
#include "tier/tier_config.h"

namespace vigil::server {

struct TlsConfig {
  std::string cert_file;  // PEM; both set: HTTPS instead of HTTP
  std::string key_file;
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct HttpConfig {
  std::string listen = "127.0.0.1";
  int port = 8514;
  TlsConfig tls;
  // Decompressed request body limit; larger requests get 413.
  uint64_t max_body_bytes = 16ull << 20;
  // Concurrent requests being handled (each holds at most one body in memory).
  int threads = 8;
  std::chrono::seconds read_timeout{30};
  // Told to clients refused with 429/503.
  int retry_after_seconds = 1;
};

struct IngestAuthConfig {
  std::vector<std::string> tokens;       // accepted bearer tokens
  std::vector<std::string> token_files;  // files with one token per line (# comments)
  std::string token_env;                 // an environment variable holding one token
};

struct WalConfig {
  uint64_t segment_bytes = 64ull << 20;
  // Accepted bytes not yet committed downstream; above it ingest answers 429.
  uint64_t max_backlog_bytes = 1ull << 30;
  uint64_t max_pending_bytes = 64ull << 20;  // waiting for the log writer
  int recycle_segments = 16;  // checkpointed segment files kept to be written over (max_backlog_bytes / segment_bytes)
};

struct PipelineConfig {
  std::vector<std::string> rules;  // extra rule directories
  bool builtin_rules = true;       // the rules shipped with vigil (as `vigil ingest`)
  bool detect = true;              // false: store only
  // Scheduled rule files or directories (docs/rule-authoring.md, "Scheduled
  // rules"), run on their timers beside the pipeline.
  std::vector<std::string> scheduled_rules;
  // How often events, alerts and the log position are committed (the bound
  // on event-to-alert latency, plus detection time).
  std::chrono::milliseconds commit_interval{250};
};

// Polling sources (docs/polling-sources.md) keep their checkpoints in
// <data_dir>/sources/<name>/, so their names are unique.
struct SourcesConfig {
  std::vector<S3SourceConfig> s3;          // sources.s3: buckets polled through the S3 API
  std::vector<DirWatchConfig> directory;   // sources.directory: directory trees of S3-layout drops
  std::vector<SyslogListenerConfig> syslog;  // sources.syslog: listeners (docs/serve.md#syslog)
};

// The Amazon Data Firehose HTTP endpoint (docs/firehose.md); served on the
// HTTP listener when an access key is configured.
struct FirehoseSourceConfig {
  std::vector<std::string> access_keys;  // the stream's access key(s)
  std::string access_key_env;            // an environment variable holding one key
  std::string path = "/api/v1/firehose";
  std::string parser;                    // one parser for every record; empty: recognised
  uint64_t max_record_bytes = 4ull << 20;
  bool enabled() const { return !access_keys.empty() || !access_key_env.empty(); }
  // The keys from `access_keys` and `access_key_env`.
  Result<std::vector<std::string>> ResolveKeys() const;
};

// Threat-intel feeds (docs/threat-intel.md): read at start (a feed that does
// not read stops start-up), re-read when their files change and on SIGHUP.
struct IntelConfig {
  std::vector<intel::FeedConfig> feeds;
  int reload_seconds = 30;  // how often feed files are checked for changes; 0: only on SIGHUP
};

// Encryption at rest (docs/operations.md#encryption-at-rest): master keys
// wrapping each segment's data key. The first key found (files in order, then
// the variable) encrypts new segments; the others only read older ones.
struct EncryptionConfig {
  std::vector<std::string> key_files;  // "<id>:<64 hex>" per line
  std::string key_env;                 // an environment variable holding one key (must be set)
  KeySources sources() const {
    KeySources k{key_files, {}};
    if (!key_env.empty()) k.env_vars.push_back(key_env);
    return k;
  }
};

// Data minimisation (docs/operations.md#data-minimisation): `minimise`, a
// list of rules, each with `source` and one of `drop: <condition>`,
// `sample: <N>` or `aggregate: {by, sum, window_seconds}`, optionally
// `where`, `name` and `before_detection`.
using MinimiseConfig = std::vector<MinimiseRule>;

struct ServeConfig {
  std::string source_file;  // where it was loaded from (diagnostics)
  std::string data_dir = "./vigil-data";
  std::string log_format = "text";  // text: key=value per line; json: one object per line
  HttpConfig http;
  IngestAuthConfig ingest;
  WalConfig wal;
  PipelineConfig pipeline;
  SourcesConfig sources;
  FirehoseSourceConfig firehose;
  IntelConfig intel;
  EncryptionConfig encryption;
  MinimiseConfig minimise;
  TieringConfig storage;  // retention, tiering and the cost report's prices (docs/operations.md)
  // Sections for the other sources (firehose, syslog, watch, s3) are added
  // here and in config.cc's section table.

  // The tokens from `ingest` (inline, files, environment) resolved; empty
  // means ingest is refused (401) for everyone.
  Result<std::vector<std::string>> ResolveTokens() const;
};

// Parses YAML text (`name` names it in errors). Empty text: all defaults.
Result<ServeConfig> ParseServeConfig(const std::string& yaml, const std::string& name);
Result<ServeConfig> LoadServeConfig(const std::string& path);

// "64MiB", "1GiB", "512KiB", "10MB", "4096" -> bytes.
Result<uint64_t> ParseByteSize(const std::string& text);

}  // namespace vigil::server
