// MetadataStore: alerts and detector state, behind an interface so that
// PostgreSQL can replace the embedded SQLite store when vigil scales out.
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
  bool truncated = false;
  std::string finding_type;
};

// One match to fold into an alert.
struct AlertHit {
  std::string rule_id;
  std::string title;
  std::string severity;
  std::vector<std::string> tags;
  std::string entity;
  std::string finding_type;
  int64_t rollup_window_ns = 0;
  int64_t event_time_ns = 0;
  std::string event_id;
};

struct AlertQuery {
  std::optional<int64_t> from_ns;  // last_seen >= from
  std::optional<int64_t> to_ns;    // first_seen < to
  std::optional<std::string> rule_id;
  std::optional<std::string> min_severity;
  size_t limit = 0;  // 0: all
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;
  // Folds hits into alerts (one alert per rule, entity and rollup bucket).
  // Idempotent per (alert, event id): a hit whose event id the alert already
  // counts changes nothing. Returns the number of alerts created or updated.
  virtual Result<size_t> Upsert(const std::vector<AlertHit>& hits) = 0;
  virtual Result<std::vector<Alert>> ListAlerts(const AlertQuery& query) = 0;
  // Detector state blobs (correlation windows, baselines), keyed by name.
  virtual Status PutState(const std::string& key, const std::string& value) = 0;
  virtual Result<std::optional<std::string>> GetState(const std::string& key) = 0;
};

// Opens (creating if needed) the SQLite metadata database at `path`.
Result<std::unique_ptr<MetadataStore>> OpenSqliteMetadata(const std::string& path);

// Severity order: informational < low < medium < high < critical. -1 if unknown.
int SeverityRank(const std::string& severity);

}  // namespace vigil
