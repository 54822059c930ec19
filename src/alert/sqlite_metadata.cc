// MetadataStore on embedded SQLite (schema: docs/storage-format.md).
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <tuple>

#include "alert/metadata.h"

#include "alert/fold.h"
#include "common/hash.h"
#include "common/json_escape.h"
#include "common/json_writer.h"

namespace vigil {

namespace {

constexpr int kSchemaVersion = 3;

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
  match           TEXT NOT NULL DEFAULT '',
  match_time_ns   INTEGER NOT NULL DEFAULT 0,
  event_ids       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_by_priority ON alerts (severity_rank DESC, last_seen_ns DESC);
CREATE TABLE state (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
)sql";

// Version 1 kept every contributing event id in a table of its own (a row
// write per match); version 2 keeps the first 1,000 per alert in the alert's
// row (EncodeEventIds), and the event time of the explanation.
constexpr char kMigrateV1[] = R"sql(
ALTER TABLE alerts ADD COLUMN match_time_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN event_ids TEXT NOT NULL DEFAULT '';
UPDATE alerts SET match_time_ns = first_seen_ns,
  event_ids = coalesce((SELECT group_concat(time_ns || char(9) || event_id, char(10)) FROM
                          (SELECT time_ns, event_id FROM alert_events e WHERE e.alert_id = alerts.id
                           ORDER BY time_ns, event_id LIMIT 1000)), '');
DROP TABLE alert_events;
)sql";
static_assert(kMaxAlertEventIds == 1000, "kMigrateV1 spells the limit out");

// Version 3 drops the (rule_id, last_seen_ns) index: every alert write paid
// for it (a sixth of the commit), and listing by rule reads the priority
// order anyway.
constexpr char kMigrateV2[] = "DROP INDEX IF EXISTS alerts_by_rule;";

// Views into the fold's arena or into an encoded list.
using EventIds = std::vector<std::pair<int64_t, std::string_view>>;

// An alert's event ids as stored: "<time_ns>\t<id>" lines joined by "\n", in
// (time, id) order.
std::string EncodeEventIds(const EventIds& ids) {
  std::string out;
  size_t size = 0;
  for (const auto& [t, id] : ids) size += id.size() + 22;
  out.reserve(size);
  char num[24];
  for (const auto& [t, id] : ids) {
    if (!out.empty()) out.push_back('\n');
    auto [end, ec] = std::to_chars(num, num + sizeof num, t);
    out.append(num, end).push_back('\t');
    out.append(id);
  }
  return out;
}

EventIds DecodeEventIds(std::string_view s) {
  EventIds ids;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    int64_t t = 0;
    std::from_chars(line.data(), line.data() + tab, t);
    ids.emplace_back(t, line.substr(tab + 1));
  }
  return ids;
}

// The smallest kMaxAlertEventIds of two sorted lists (duplicates once).
EventIds MergeEventIds(const EventIds& a, const EventIds& b) {
  EventIds out;
  out.reserve(std::min(a.size() + b.size(), kMaxAlertEventIds));
  size_t i = 0, j = 0;
  while (out.size() < kMaxAlertEventIds && (i < a.size() || j < b.size())) {
    if (j == b.size() || (i < a.size() && a[i] < b[j])) {
      out.push_back(a[i++]);
    } else {
      if (i < a.size() && a[i] == b[j]) ++i;
      out.push_back(b[j++]);
    }
  }
  return out;
}

// On conflict the alert keeps the descriptive fields of the "largest" hit by
// (severity_rank, severity, title, tags, finding_type), so the result does not
// depend on the order hits arrive in.
constexpr char kUpsertAlert[] = R"sql(
INSERT INTO alerts (id, rule_id, title, severity, severity_rank, tags, entity, bucket_start_ns,
                    first_seen_ns, last_seen_ns, count, finding_type, match, match_time_ns, event_ids)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12, ?10, ?13, ?14, ?15)
ON CONFLICT (id) DO UPDATE SET
  count = count + excluded.count,
  event_ids = vigil_merge_event_ids(event_ids, excluded.event_ids),
  match = CASE WHEN excluded.match != '' AND
                    (match = '' OR (excluded.match_time_ns, excluded.match) < (match_time_ns, match))
               THEN excluded.match ELSE match END,
  match_time_ns = CASE WHEN excluded.match != '' AND
                    (match = '' OR (excluded.match_time_ns, excluded.match) < (match_time_ns, match))
               THEN excluded.match_time_ns ELSE match_time_ns END,
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
// For text that stays alive and unchanged until the statement is stepped:
// not copied (a copy per bind was an eighth of the alert commit).
void BindStaticText(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}
std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i));
}

// SQL function vigil_merge_event_ids(stored, added): merges two encoded lists,
// so that an upsert merges an alert's ids in one statement.
void MergeEventIdsSql(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto text = [&](int i) {
    const unsigned char* p = argc > i ? sqlite3_value_text(argv[i]) : nullptr;
    return p == nullptr ? std::string_view()
                        : std::string_view(reinterpret_cast<const char*>(p), sqlite3_value_bytes(argv[i]));
  };
  std::string_view stored = text(0), added = text(1);
  if (stored.empty() || added.empty()) {
    std::string_view one = stored.empty() ? added : stored;
    sqlite3_result_text(ctx, one.data(), static_cast<int>(one.size()), SQLITE_TRANSIENT);
    return;
  }
  std::string merged = EncodeEventIds(MergeEventIds(DecodeEventIds(stored), DecodeEventIds(added)));
  sqlite3_result_text(ctx, merged.data(), static_cast<int>(merged.size()), SQLITE_TRANSIENT);
}

class SqliteMetadata final : public MetadataStore {
 public:
  explicit SqliteMetadata(std::string path) : path_(std::move(path)) {}
  ~SqliteMetadata() override {
    upsert_alert_.reset();
    delete_state_.reset();
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
    if (sqlite3_create_function(db_, "vigil_merge_event_ids", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                MergeEventIdsSql, nullptr, nullptr) != SQLITE_OK) {
      return Error("register vigil_merge_event_ids");
    }
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
      // Alert rows carry up to 1,000 event ids (~55 KB): larger pages keep
      // them in fewer overflow pages (measured: the end-of-run commit of the
      // benchmark's 66k alerts 25% faster than with 4 KiB). Only a new
      // database takes it; WAL fixes the page size from then on.
      if (version == 0) VIGIL_RETURN_IF_ERROR(Exec("PRAGMA page_size = 16384"));
      VIGIL_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
      VIGIL_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
      // Checkpoint the WAL every ~64 MiB rather than every 4 MiB: a commit
      // writes many alert rows at once.
      VIGIL_RETURN_IF_ERROR(Exec("PRAGMA wal_autocheckpoint = " + std::to_string(WalCheckpointPages())));
      if (version < kSchemaVersion) {
        VIGIL_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
        // Re-check under the write lock: another process may have just done it.
        Status s = QueryInt("PRAGMA user_version", &version);
        if (s.ok() && version == 0) s = Exec(kSchema);
        if (s.ok() && version == 1) s = Exec(kMigrateV1);
        if (s.ok() && version >= 1 && version <= 2) s = Exec(kMigrateV2);
        if (s.ok() && version < kSchemaVersion) s = Exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
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

  Result<size_t> Commit(const MetadataCommit& commit) override {
    std::lock_guard<std::mutex> l(mu_);
    VIGIL_RETURN_IF_ERROR(Prepare(&upsert_alert_, kUpsertAlert));
    VIGIL_RETURN_IF_ERROR(Prepare(&put_state_, "INSERT OR REPLACE INTO state (key, value) VALUES (?1, ?2)"));
    VIGIL_RETURN_IF_ERROR(Prepare(&delete_state_, "DELETE FROM state WHERE key = ?1"));
    VIGIL_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    size_t touched = 0;
    if (commit.alerts != nullptr) {
      for (const AlertDelta& d : commit.alerts->deltas()) {
        if (d.count == 0) continue;
        // The delta's ids; the upsert merges them with those already stored.
        EventIds ids = commit.alerts->SortedEventIds(d);
        sqlite3_stmt* s = upsert_alert_->get();
        sqlite3_reset(s);
        // Bound without copies: the delta and these locals outlive the step.
        const std::string tags = EncodeAlertTags(d.tags);
        const std::string event_ids = EncodeEventIds(ids);
        BindStaticText(s, 1, d.id);
        BindStaticText(s, 2, d.rule_id);
        BindStaticText(s, 3, d.title);
        BindStaticText(s, 4, d.severity);
        sqlite3_bind_int(s, 5, SeverityRank(d.severity));
        BindStaticText(s, 6, tags);
        BindStaticText(s, 7, d.entity);
        sqlite3_bind_int64(s, 8, d.bucket_start_ns);
        sqlite3_bind_int64(s, 9, d.first_seen_ns);
        BindStaticText(s, 10, d.finding_type);
        sqlite3_bind_int64(s, 11, d.last_seen_ns);
        sqlite3_bind_int64(s, 12, static_cast<int64_t>(d.count));
        BindStaticText(s, 13, d.match);
        sqlite3_bind_int64(s, 14, d.match_time_ns);
        BindStaticText(s, 15, event_ids);
        const int rc = sqlite3_step(s);
        sqlite3_clear_bindings(s);  // no pointer into the locals survives them
        if (rc != SQLITE_DONE) return Abort("upsert alert");
        ++touched;
      }
    }
    for (const auto& [key, value] : commit.put_state) {
      sqlite3_stmt* s = put_state_->get();
      sqlite3_reset(s);
      BindText(s, 1, key);
      sqlite3_bind_blob(s, 2, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
      if (sqlite3_step(s) != SQLITE_DONE) return Abort("put state " + key);
    }
    for (const std::string& key : commit.delete_state) {
      sqlite3_stmt* s = delete_state_->get();
      sqlite3_reset(s);
      BindText(s, 1, key);
      if (sqlite3_step(s) != SQLITE_DONE) return Abort("delete state " + key);
    }
    Status c = Exec("COMMIT");
    if (!c.ok()) {
      (void)Exec("ROLLBACK");
      return c;
    }
    return touched;
  }

  Result<std::vector<Alert>> ListAlerts(const AlertQuery& query) override {
    std::lock_guard<std::mutex> l(mu_);
    std::string sql =
        "SELECT id, rule_id, title, severity, tags, entity, bucket_start_ns, first_seen_ns, last_seen_ns, count, "
        "finding_type, match, event_ids FROM alerts WHERE 1=1";
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
      const std::string ids = ColumnText(s, 12);
      for (const auto& [t, id] : DecodeEventIds(ids)) a.event_ids.emplace_back(id);
      alerts.push_back(std::move(a));
    }
    if (rc != SQLITE_DONE) return Error("list alerts");
    return alerts;
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
  // About 64 MiB of WAL between checkpoints, whatever the page size.
  int WalCheckpointPages() {
    int page = 4096;
    if (!QueryInt("PRAGMA page_size", &page).ok() || page <= 0) page = 4096;
    return (64 << 20) / page;
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
  std::unique_ptr<Stmt> upsert_alert_, put_state_, delete_state_, get_state_;
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenSqliteMetadata(const std::string& path, const MetadataOptions& options) {
  auto store = std::make_unique<SqliteMetadata>(path);
  VIGIL_RETURN_IF_ERROR(store->Init(options.read_only));
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace vigil
