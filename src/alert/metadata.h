// MetadataStore: alerts and detector state, behind an interface so that
// PostgreSQL can replace the embedded SQLite store when vigil scales out.
//
// Alert rollup: one alert per (rule_id, entity, bucket_start) where
// bucket_start = floor(event_time / rollup_window) * rollup_window, aligned to
// the Unix epoch (a window <= 0 means one alert per rule and entity, bucket 0).
// The result does not depend on the order or repetition of hits: count is the
// number of distinct event ids, first/last_seen the min/max event time,
// event_ids the smallest kMaxAlertEventIds by (time, id), and title, tags,
// finding_type and severity come from the hit with the highest severity (ties
// broken by comparing the fields themselves), whether or not its event id was
// already counted. An event id is assumed to come with one event time.
//
// Thread safety: implementations are safe to call from several threads (the
// SQLite store serialises calls on one connection). Several processes may open
// the same database: SQLite in WAL mode lets readers run beside one writer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
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

// One match to fold into an alert.
struct AlertHit {
  std::string rule_id;
  std::string title;
  std::string severity;
  std::vector<std::string> tags;
  std::string entity;
  std::string finding_type;
  std::string match;  // why it matched (JSON), filled by FillExplanations
  int64_t rollup_window_ns = 0;
  int64_t event_time_ns = 0;
  std::string event_id;
  // AlertId(rule_id, entity, bucket) when the caller computed it (HitFromMatch
  // does); Upsert computes it when empty.
  std::string alert_id;
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
  // Folds hits into alerts (one alert per rule, entity and rollup bucket).
  // Idempotent per (alert, event id): a hit whose event id the alert already
  // counts changes nothing. Returns the number of alerts created or updated.
  virtual Result<size_t> Upsert(const std::vector<AlertHit>& hits) = 0;
  // Alerts matching `query`, ordered by severity (highest first), then
  // last_seen (newest first), then id.
  virtual Result<std::vector<Alert>> ListAlerts(const AlertQuery& query) = 0;
  // Detector state blobs (correlation windows, baselines), keyed by name.
  virtual Status PutState(const std::string& key, const std::string& value) = 0;
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

}  // namespace vigil
