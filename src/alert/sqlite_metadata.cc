// MetadataStore on embedded SQLite (schema: docs/storage-format.md).
#include <sqlite3.h>

#include <mutex>
#include <tuple>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "alert/metadata.h"
#include "common/hash.h"
#include "common/json_escape.h"
#include "common/json_writer.h"

namespace vigil {

int SeverityRank(const std::string& severity) {
  if (severity == "informational") return 0;
  if (severity == "low") return 1;
  if (severity == "medium") return 2;
  if (severity == "high") return 3;
  if (severity == "critical") return 4;
  return -1;
}

int64_t AlertBucketStart(int64_t event_time_ns, int64_t rollup_window_ns) {
  if (rollup_window_ns <= 0) return 0;
  int64_t q = event_time_ns / rollup_window_ns;
  if (event_time_ns % rollup_window_ns != 0 && event_time_ns < 0) --q;
  return q * rollup_window_ns;
}

std::string AlertId(const std::string& rule_id, const std::string& entity, int64_t bucket_start_ns) {
  std::string key;
  key.reserve(rule_id.size() + entity.size() + 48);
  key.append(std::to_string(rule_id.size())).push_back(':');
  key.append(rule_id);
  key.append(std::to_string(entity.size())).push_back(':');
  key.append(entity);
  key.append(std::to_string(bucket_start_ns));
  return HexHash128(key);
}

namespace {

constexpr int kSchemaVersion = 1;

constexpr char kSchema[] = R"sql(
CREATE TABLE alerts (
  id              TEXT PRIMARY KEY,
  rule_id         TEXT NOT NULL,
  title           TEXT NOT NULL,
  severity        TEXT NOT NULL,
  severity_rank   INTEGER NOT NULL,
  tags            TEXT NOT NULL,
  entity          TEXT NOT NULL,
  bucket_start_ns INTEGER NOT NULL,
  first_seen_ns   INTEGER NOT NULL,
  last_seen_ns    INTEGER NOT NULL,
  count           INTEGER NOT NULL,
  finding_type    TEXT NOT NULL,
  match           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_by_priority ON alerts (severity_rank DESC, last_seen_ns DESC);
CREATE INDEX alerts_by_rule ON alerts (rule_id, last_seen_ns);
CREATE TABLE alert_events (
  alert_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  time_ns  INTEGER NOT NULL,
  PRIMARY KEY (alert_id, event_id)
) WITHOUT ROWID;
CREATE TABLE state (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
)sql";

// On conflict the alert keeps the descriptive fields of the "largest" hit by
// (severity_rank, severity, title, tags, finding_type), so the result does not
// depend on the order hits arrive in.
constexpr char kUpsertAlert[] = R"sql(
INSERT INTO alerts (id, rule_id, title, severity, severity_rank, tags, entity, bucket_start_ns,
                    first_seen_ns, last_seen_ns, count, finding_type, match)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12, ?10, ?13)
ON CONFLICT (id) DO UPDATE SET
  count = count + excluded.count,
  match = CASE WHEN excluded.match != '' AND
                    (match = '' OR (excluded.first_seen_ns, excluded.match) < (first_seen_ns, match))
               THEN excluded.match ELSE match END,
  first_seen_ns = min(first_seen_ns, excluded.first_seen_ns),
  last_seen_ns = max(last_seen_ns, excluded.last_seen_ns),
  title = CASE WHEN (excluded.severity_rank, excluded.severity, excluded.title, excluded.tags, excluded.finding_type)
                    > (severity_rank, severity, title, tags, finding_type) THEN excluded.title ELSE title END,
  tags = CASE WHEN (excluded.severity_rank, excluded.severity, excluded.title, excluded.tags, excluded.finding_type)
                   > (severity_rank, severity, title, tags, finding_type) THEN excluded.tags ELSE tags END,
  finding_type = CASE WHEN (excluded.severity_rank, excluded.severity, excluded.title, excluded.tags,
                            excluded.finding_type) > (severity_rank, severity, title, tags, finding_type)
                      THEN excluded.finding_type ELSE finding_type END,
  severity = CASE WHEN (excluded.severity_rank, excluded.severity, excluded.title, excluded.tags,
                        excluded.finding_type) > (severity_rank, severity, title, tags, finding_type)
                  THEN excluded.severity ELSE severity END,
  severity_rank = max(severity_rank, excluded.severity_rank)
)sql";

// A hit for an event the alert already counts may still carry "larger"
// descriptive fields (same event, several rule variants); keep the largest.
constexpr char kRefineAlert[] = R"sql(
UPDATE alerts SET severity = ?2, severity_rank = ?3, title = ?4, tags = ?5, finding_type = ?6
WHERE id = ?1 AND (?3, ?2, ?4, ?5, ?6) > (severity_rank, severity, title, tags, finding_type)
)sql";

std::string EncodeTags(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, tags[i]);
  }
  out.push_back(']');
  return out;
}

std::vector<std::string> DecodeTags(std::string_view s) {
  std::vector<std::string> tags;
  size_t i = 1;
  while (i < s.size() && s[i] == '"') {
    std::string tag;
    if (!ReadJsonString(s, &i, &tag)) break;
    tags.push_back(std::move(tag));
    if (i < s.size() && s[i] == ',') ++i;
  }
  return tags;
}

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt** out() { return &stmt_; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

void BindText(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i));
}

class SqliteMetadata final : public MetadataStore {
 public:
  explicit SqliteMetadata(std::string path) : path_(std::move(path)) {}
  ~SqliteMetadata() override {
    insert_event_.reset();
    upsert_alert_.reset();
    refine_alert_.reset();
    list_events_.reset();
    put_state_.reset();
    get_state_.reset();
    sqlite3_close(db_);
  }

  Status Init(bool read_only) {
    int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path_.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      return Error("open");
    }
    sqlite3_busy_timeout(db_, 10000);
    // Alert-event rows are inserted at random places in their indexes; keep
    // the hot pages in memory rather than re-reading them through syscalls.
    VIGIL_RETURN_IF_ERROR(Exec("PRAGMA cache_size = -65536"));  // KiB
    VIGIL_RETURN_IF_ERROR(Exec("PRAGMA mmap_size = 268435456"));
    int version = 0;
    VIGIL_RETURN_IF_ERROR(QueryInt("PRAGMA user_version", &version));
    if (version > kSchemaVersion) {
      return Status::Unsupported("metadata database " + path_ + " has schema version " + std::to_string(version) +
                                 "; this vigil reads up to " + std::to_string(kSchemaVersion));
    }
    if (!read_only) {
      VIGIL_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
      VIGIL_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
      // Checkpoint the WAL every ~64 MiB rather than every 4 MiB: alert folding
      // rewrites the same index pages batch after batch.
      VIGIL_RETURN_IF_ERROR(Exec("PRAGMA wal_autocheckpoint = 16384"));
      if (version == 0) {
        VIGIL_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
        // Re-check under the write lock: another process may have just created it.
        Status s = QueryInt("PRAGMA user_version", &version);
        if (s.ok() && version == 0) s = Exec(kSchema);
        if (s.ok() && version == 0) s = Exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
        if (s.ok()) s = Exec("COMMIT");
        if (!s.ok()) {
          (void)Exec("ROLLBACK");
          return s;
        }
      }
    } else if (version == 0) {
      return Status::FailedPrecondition("metadata database " + path_ + " has no schema yet (nothing ingested)");
    }
    return Status::Ok();
  }

  Result<size_t> Upsert(const std::vector<AlertHit>& hits) override {
    std::lock_guard<std::mutex> l(mu_);
    if (hits.empty()) return size_t{0};
    VIGIL_RETURN_IF_ERROR(Prepare(&insert_event_,
                                  "INSERT OR IGNORE INTO alert_events (alert_id, event_id, time_ns) VALUES (?1, ?2, ?3)"));
    VIGIL_RETURN_IF_ERROR(Prepare(&upsert_alert_, kUpsertAlert));
    VIGIL_RETURN_IF_ERROR(Prepare(&refine_alert_, kRefineAlert));
    VIGIL_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    // Record each (alert, event) once, then write each alert's row once per
    // call: noisy rules fold thousands of hits into a few alerts per batch.
    struct Pending {
      const AlertHit* best = nullptr;  // the "largest" descriptive fields seen
      std::string tags;
      int64_t bucket = 0;
      int64_t first = 0, last = 0;
      uint64_t added = 0;  // events new to the alert
      const std::string* match = nullptr;  // of the earliest explained added event (ties: smallest text)
      int64_t match_time = 0;
    };
    std::unordered_map<std::string, Pending> pending;
    for (const AlertHit& hit : hits) {
      const int64_t bucket = AlertBucketStart(hit.event_time_ns, hit.rollup_window_ns);
      std::string id = hit.alert_id.empty() ? AlertId(hit.rule_id, hit.entity, bucket) : hit.alert_id;
      sqlite3_stmt* s = insert_event_->get();
      sqlite3_reset(s);
      BindText(s, 1, id);
      BindText(s, 2, hit.event_id);
      sqlite3_bind_int64(s, 3, hit.event_time_ns);
      if (sqlite3_step(s) != SQLITE_DONE) return Abort("record alert event");
      const bool added = sqlite3_changes(db_) > 0;  // 0: this event already counts for this alert
      Pending& p = pending[std::move(id)];
      // The same order as the SQL's tuple comparison: (rank, severity, title, tags, finding_type).
      // Hits of one alert come from one rule, so the fields rarely differ: encode tags only then.
      if (!p.best) {
        p.best = &hit;
        p.tags = EncodeTags(hit.tags);
      } else if (hit.severity != p.best->severity || hit.title != p.best->title || hit.tags != p.best->tags ||
                 hit.finding_type != p.best->finding_type) {
        std::string tags = EncodeTags(hit.tags);
        const int rank = SeverityRank(hit.severity);
        const int best_rank = SeverityRank(p.best->severity);
        if (std::tie(rank, hit.severity, hit.title, tags, hit.finding_type) >
            std::tie(best_rank, p.best->severity, p.best->title, p.tags, p.best->finding_type)) {
          p.best = &hit;
          p.tags = std::move(tags);
        }
      }
      p.bucket = bucket;
      if (added) {
        // The explanation of the earliest explained hit (ties: the smallest text).
        if (!hit.match.empty() &&
            (!p.match || p.match->empty() || std::tie(hit.event_time_ns, hit.match) < std::tie(p.match_time, *p.match))) {
          p.match = &hit.match;
          p.match_time = hit.event_time_ns;
        }
        p.first = p.added ? std::min(p.first, hit.event_time_ns) : hit.event_time_ns;
        p.last = p.added ? std::max(p.last, hit.event_time_ns) : hit.event_time_ns;
        ++p.added;
      }
    }
    std::unordered_set<std::string> touched;
    for (const auto& [id, p] : pending) {
      const AlertHit& hit = *p.best;
      sqlite3_stmt* s;
      if (p.added == 0) {
        s = refine_alert_->get();
        sqlite3_reset(s);
        BindText(s, 1, id);
        BindText(s, 2, hit.severity);
        sqlite3_bind_int(s, 3, SeverityRank(hit.severity));
        BindText(s, 4, hit.title);
        BindText(s, 5, p.tags);
        BindText(s, 6, hit.finding_type);
        if (sqlite3_step(s) != SQLITE_DONE) return Abort("refine alert");
        if (sqlite3_changes(db_) > 0) touched.insert(id);
        continue;
      }
      s = upsert_alert_->get();
      sqlite3_reset(s);
      BindText(s, 1, id);
      BindText(s, 2, hit.rule_id);
      BindText(s, 3, hit.title);
      BindText(s, 4, hit.severity);
      sqlite3_bind_int(s, 5, SeverityRank(hit.severity));
      BindText(s, 6, p.tags);
      BindText(s, 7, hit.entity);
      sqlite3_bind_int64(s, 8, p.bucket);
      sqlite3_bind_int64(s, 9, p.first);
      BindText(s, 10, hit.finding_type);
      sqlite3_bind_int64(s, 11, p.last);
      sqlite3_bind_int64(s, 12, static_cast<int64_t>(p.added));
      BindText(s, 13, p.match ? *p.match : std::string());
      if (sqlite3_step(s) != SQLITE_DONE) return Abort("upsert alert");
      touched.insert(id);
    }
    Status c = Exec("COMMIT");
    if (!c.ok()) {
      (void)Exec("ROLLBACK");
      return c;
    }
    return touched.size();
  }

  Result<std::vector<Alert>> ListAlerts(const AlertQuery& query) override {
    std::lock_guard<std::mutex> l(mu_);
    std::string sql =
        "SELECT id, rule_id, title, severity, tags, entity, bucket_start_ns, first_seen_ns, last_seen_ns, count, "
        "finding_type, match FROM alerts WHERE 1=1";
    if (query.from_ns) sql += " AND last_seen_ns >= ?1";
    if (query.to_ns) sql += " AND first_seen_ns < ?2";
    if (query.rule_id) sql += " AND rule_id = ?3";
    int min_rank = -1;
    if (query.min_severity) {
      min_rank = SeverityRank(*query.min_severity);
      if (min_rank < 0) {
        return Status::InvalidArgument("unknown severity \"" + *query.min_severity +
                                       "\" (informational, low, medium, high, critical)");
      }
      sql += " AND severity_rank >= ?4";
    }
    sql += " ORDER BY severity_rank DESC, last_seen_ns DESC, id ASC";
    if (query.limit > 0) sql += " LIMIT " + std::to_string(query.limit);
    Stmt stmt;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, stmt.out(), nullptr) != SQLITE_OK) return Error("list alerts");
    sqlite3_stmt* s = stmt.get();
    if (query.from_ns) sqlite3_bind_int64(s, 1, *query.from_ns);
    if (query.to_ns) sqlite3_bind_int64(s, 2, *query.to_ns);
    if (query.rule_id) BindText(s, 3, *query.rule_id);
    if (query.min_severity) sqlite3_bind_int(s, 4, min_rank);
    VIGIL_RETURN_IF_ERROR(Prepare(&list_events_,
                                  "SELECT event_id FROM alert_events WHERE alert_id = ?1 "
                                  "ORDER BY time_ns, event_id LIMIT " + std::to_string(kMaxAlertEventIds)));
    std::vector<Alert> alerts;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      Alert a;
      a.id = ColumnText(s, 0);
      a.rule_id = ColumnText(s, 1);
      a.title = ColumnText(s, 2);
      a.severity = ColumnText(s, 3);
      a.tags = DecodeTags(ColumnText(s, 4));
      a.entity = ColumnText(s, 5);
      a.bucket_start_ns = sqlite3_column_int64(s, 6);
      a.first_seen_ns = sqlite3_column_int64(s, 7);
      a.last_seen_ns = sqlite3_column_int64(s, 8);
      a.count = static_cast<uint64_t>(sqlite3_column_int64(s, 9));
      a.finding_type = ColumnText(s, 10);
      a.match = ColumnText(s, 11);
      a.truncated = a.count > kMaxAlertEventIds;
      sqlite3_stmt* e = list_events_->get();
      sqlite3_reset(e);
      BindText(e, 1, a.id);
      int erc;
      while ((erc = sqlite3_step(e)) == SQLITE_ROW) a.event_ids.push_back(ColumnText(e, 0));
      if (erc != SQLITE_DONE) return Error("list alert events");
      alerts.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE) return Error("list alerts");
    return alerts;
  }

  Status PutState(const std::string& key, const std::string& value) override {
    std::lock_guard<std::mutex> l(mu_);
    VIGIL_RETURN_IF_ERROR(Prepare(&put_state_, "INSERT OR REPLACE INTO state (key, value) VALUES (?1, ?2)"));
    sqlite3_stmt* s = put_state_->get();
    sqlite3_reset(s);
    BindText(s, 1, key);
    sqlite3_bind_blob(s, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) return Error("put state " + key);
    return Status::Ok();
  }

  Result<std::optional<std::string>> GetState(const std::string& key) override {
    std::lock_guard<std::mutex> l(mu_);
    VIGIL_RETURN_IF_ERROR(Prepare(&get_state_, "SELECT value FROM state WHERE key = ?1"));
    sqlite3_stmt* s = get_state_->get();
    sqlite3_reset(s);
    BindText(s, 1, key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return Error("get state " + key);
    const char* p = static_cast<const char*>(sqlite3_column_blob(s, 0));
    std::string v = p == nullptr ? std::string() : std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, 0)));
    return std::optional<std::string>(std::move(v));
  }

 private:
  Status Error(const std::string& what) const {
    return Status::IoError("metadata database " + path_ + ": " + what + ": " +
                           (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory"));
  }
  Status Abort(const std::string& what) {
    Status s = Error(what);
    (void)Exec("ROLLBACK");
    return s;
  }
  Status Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err != nullptr ? err : "unknown error";
      sqlite3_free(err);
      return Status::IoError("metadata database " + path_ + ": " + m);
    }
    return Status::Ok();
  }
  Status QueryInt(const std::string& sql, int* out) {
    Stmt stmt;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, stmt.out(), nullptr) != SQLITE_OK) return Error(sql);
    int rc = sqlite3_step(stmt.get());
    if (rc != SQLITE_ROW) return Error(sql);
    *out = sqlite3_column_int(stmt.get(), 0);
    return Status::Ok();
  }
  Status Prepare(std::unique_ptr<Stmt>* stmt, const std::string& sql) {
    if (*stmt != nullptr) return Status::Ok();
    auto s = std::make_unique<Stmt>();
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, s->out(), nullptr) != SQLITE_OK) return Error("prepare");
    *stmt = std::move(s);
    return Status::Ok();
  }

  std::string path_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Stmt> insert_event_, upsert_alert_, refine_alert_, list_events_, put_state_, get_state_;
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenSqliteMetadata(const std::string& path, const MetadataOptions& options) {
  auto store = std::make_unique<SqliteMetadata>(path);
  VIGIL_RETURN_IF_ERROR(store->Init(options.read_only));
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace vigil
