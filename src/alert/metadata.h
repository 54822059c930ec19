// MetadataStore: alerts and detector state, behind an interface so that
// PostgreSQL can replace the embedded SQLite store when vigil scales out.
//
// Alerts are rolled up in memory by AlertFold (alert/fold.h: one alert per
// rule, entity and rollup bucket) and added here by Commit, which merges each
// delta into the stored alert the same way the fold merges hits: count and
// first/last_seen add up, event_ids keep the smallest kMaxAlertEventIds by
// (time, id), descriptive fields the "largest" (severity first), match the
// earliest. The result does not depend on how events were split into commits.
//
// Thread safety: implementations are safe to call from several threads (the
// SQLite store serialises calls on one connection). Several processes may open
// the same database: SQLite in WAL mode lets readers run beside one writer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace vigil {

inline constexpr size_t kMaxAlertEventIds = 1000;

struct Alert {
  std::string id;          // stable: hash(rule_id, entity, bucket_start)
  std::string rule_id;
  std::string title;
  std::string severity;
  std::vector<std::string> tags;
  std::string entity;
  int64_t bucket_start_ns = 0;
  int64_t first_seen_ns = 0;
  int64_t last_seen_ns = 0;
  uint64_t count = 0;
  // The earliest contributing events by (time, id), at most kMaxAlertEventIds.
  std::vector<std::string> event_ids;
  bool truncated = false;  // count > kMaxAlertEventIds
  std::string finding_type;
  std::string match;  // why the rule fired (JSON object), from the earliest event; may be empty
};

class AlertFold;

// One metadata transaction: alerts folded by a run, and detector state.
struct MetadataCommit {
  const AlertFold* alerts = nullptr;  // added to the alerts (not idempotent: fold each event once)
  std::vector<std::pair<std::string, std::string>> put_state;
  std::vector<std::string> delete_state;
};

struct AlertQuery {
  std::optional<int64_t> from_ns;  // last_seen >= from
  std::optional<int64_t> to_ns;    // first_seen < to
  std::optional<std::string> rule_id;
  std::optional<std::string> min_severity;  // InvalidArgument when not a known severity
  size_t limit = 0;  // 0: all
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;
  // Applies `commit` in one transaction. Returns the number of alerts created
  // or updated.
  virtual Result<size_t> Commit(const MetadataCommit& commit) = 0;
  // Alerts matching `query`, ordered by severity (highest first), then
  // last_seen (newest first), then id.
  virtual Result<std::vector<Alert>> ListAlerts(const AlertQuery& query) = 0;
  // Detector state blobs (correlation windows, baselines), keyed by name;
  // written by Commit (put_state, delete_state).
  virtual Result<std::optional<std::string>> GetState(const std::string& key) = 0;
};

struct MetadataOptions {
  // Open without creating or migrating anything (readers beside a running
  // ingest). FailedPrecondition when the database has no schema yet.
  bool read_only = false;
};

// Opens (creating if needed) the SQLite metadata database at `path`: WAL
// journal, synchronous=NORMAL, schema version in PRAGMA user_version (a newer
// version than this vigil knows is refused with Unsupported).
Result<std::unique_ptr<MetadataStore>> OpenSqliteMetadata(const std::string& path,
                                                          const MetadataOptions& options = {});

// The rollup bucket of an event time (see above) and the alert id derived from
// it: 32 hex digits of xxh3-128 over "<len>:<rule_id><len>:<entity><bucket>".
int64_t AlertBucketStart(int64_t event_time_ns, int64_t rollup_window_ns);
std::string AlertId(const std::string& rule_id, const std::string& entity, int64_t bucket_start_ns);

// Severity order: informational < low < medium < high < critical. -1 if unknown.
int SeverityRank(const std::string& severity);
// Tags as stored: a JSON array of strings.
std::string EncodeAlertTags(const std::vector<std::string>& tags);

}  // namespace vigil
