// MetadataStore on embedded SQLite (schema: docs/storage-format.md).
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "alert/metadata.h"

#include "alert/fold.h"
#include "common/hash.h"
#include "common/hex_id.h"
#include "common/json_escape.h"
#include "common/json_writer.h"

namespace vigil {

namespace {

constexpr int kSchemaVersion = 4;

// The version 4 alert tables, as a new database and the migration make them.
// Alert ids are hashes, so an index on the id alone takes each new alert at
// a random place; with the bucket first, a commit's new alerts (recent
// buckets) land together (measured: 10% less CPU for ingest with 1,000
// rules, which creates 206k alerts).
constexpr char kAlertsColumns[] = R"sql((
  seq             INTEGER PRIMARY KEY,
  id              TEXT NOT NULL,
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
  ids             BLOB,
  ids_full_ns     INTEGER,
  UNIQUE (bucket_start_ns, id)
))sql";
constexpr char kAlertsPriorityIndex[] =
    "CREATE INDEX alerts_by_priority ON alerts (severity_rank DESC, last_seen_ns DESC);\n";
constexpr char kAlertEventIdsTable[] = "CREATE TABLE alert_event_ids (seq INTEGER PRIMARY KEY, ids BLOB NOT NULL);\n";

std::string SchemaSql() {
  return std::string("CREATE TABLE alerts ") + kAlertsColumns + ";\n" + kAlertsPriorityIndex + kAlertEventIdsTable +
         "CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;\n";
}

// Version 1 kept every contributing event id in a table of its own (a row
// write per match); version 2 keeps the first 1,000 per alert in the alert's
// row (as text lines), and the event time of the explanation.
constexpr char kMigrateV1[] = R"sql(
ALTER TABLE alerts ADD COLUMN match_time_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN event_ids TEXT NOT NULL DEFAULT '';
UPDATE alerts SET match_time_ns = first_seen_ns,
  event_ids = coalesce((SELECT group_concat(time_ns || char(9) || event_id, char(10)) FROM
                          (SELECT time_ns, event_id FROM alert_events e WHERE e.alert_id = alerts.id
                           ORDER BY time_ns, event_id LIMIT 1000)), '');
DROP TABLE alert_events;
)sql";
static_assert(kMaxAlertEventIds == 1000, "kMigrateV1 and MigrateV3Sql spell the limit out");

// Version 3 drops the (rule_id, last_seen_ns) index: every alert write paid
// for it (a sixth of the commit), and listing by rule reads the priority
// order anyway.
constexpr char kMigrateV2[] = "DROP INDEX IF EXISTS alerts_by_rule;";

// Version 4 stores event-id lists in binary (EncodeEventIds, ~22 bytes per
// CloudTrail eventID rather than 57) and moves a list out of its alert's row,
// into alert_event_ids, on the alert's first update: SQLite rewrites a whole
// row on any update, so a busy alert's ~55 KB of id text was rewritten by
// every commit that counted one more event, even when its list of the first
// 1,000 did not change. A new alert is still one row write. The row keeps
// `ids_full_ns` so that a commit can tell without reading the list that new,
// later events cannot enter it. `seq` names the row for alert_event_ids (an
// explicit INTEGER PRIMARY KEY, which VACUUM keeps).
std::string MigrateV3Sql() {
  return std::string("CREATE TABLE alerts_v4 ") + kAlertsColumns + ";\n" + R"sql(
INSERT INTO alerts_v4 (id, rule_id, title, severity, severity_rank, tags, entity, bucket_start_ns, first_seen_ns,
                       last_seen_ns, count, finding_type, match, match_time_ns, ids, ids_full_ns)
  SELECT id, rule_id, title, severity, severity_rank, tags, entity, bucket_start_ns, first_seen_ns, last_seen_ns,
         count, finding_type, match, match_time_ns, vigil_encode_event_ids(event_ids),
         CASE WHEN count >= 1000 THEN vigil_last_event_time(event_ids) END
  FROM alerts ORDER BY rowid;
DROP TABLE alerts;
ALTER TABLE alerts_v4 RENAME TO alerts;
)sql" +
         kAlertEventIdsTable + kAlertsPriorityIndex;
}

// (time, id) pairs in (time, id) order; views into the fold's arena or into a
// decoded list.
using EventIds = std::vector<std::pair<int64_t, std::string_view>>;

// Version 3's text form of a list: "<time_ns>\t<id>" lines joined by "\n".
EventIds DecodeEventIdLines(std::string_view s) {
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

// The stored list (alert_event_ids.ids), per id in (time, id) order:
//   varint   zigzag(time_ns - previous time_ns)   (the first: minus 0)
//   byte     form: 1 = lower-case UUID text (8-4-4-4-12), 2 = 32 lower-case
//            hex digits, each followed by its 16 bytes; 0 = other, followed
//            by varint length and the bytes.
// About 22 bytes per CloudTrail eventID rather than 57 as text lines.
void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
bool GetVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Appends one id of a list: its time as a delta from the previous one, then
// its form and bytes.
void AppendListEntry(std::string* out, int64_t* prev, int64_t t, IdForm form, const char* packed,
                     std::string_view text) {
  const uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(*prev);
  PutVarint(out, (delta << 1) ^ static_cast<uint64_t>(static_cast<int64_t>(delta) >> 63));
  *prev = t;
  out->push_back(static_cast<char>(form));
  if (form == IdForm::kText) {
    PutVarint(out, text.size());
    out->append(text);
  } else {
    out->append(packed, 16);
  }
}

std::string EncodeEventIds(const EventIds& ids) {
  std::string out;
  out.reserve(ids.size() * 24);
  int64_t prev = 0;
  char packed[16];
  for (const auto& [t, id] : ids) AppendListEntry(&out, &prev, t, PackId(id, packed), packed, id);
  return out;
}

// The same for a fold's ids, which it holds packed already.
std::string EncodeEventIds(const AlertFold& fold, const std::vector<AlertDelta::IdRef>& ids) {
  std::string out;
  out.reserve(ids.size() * 24);
  int64_t prev = 0;
  for (const AlertDelta::IdRef& r : ids)
    AppendListEntry(&out, &prev, r.time_ns, r.form, r.bytes, r.form == IdForm::kText ? fold.TextOf(r) : std::string_view());
  return out;
}

// Decodes a stored list; the ids' text goes to `arena` (the views point into
// it, so it is sized up front and not grown afterwards). False when corrupt.
bool DecodeEventIds(std::string_view in, std::string* arena, EventIds* ids) {
  ids->clear();
  arena->clear();
  arena->reserve(in.size() * 3);  // 16 bytes decode to at most 36 characters
  std::vector<std::pair<int64_t, std::pair<size_t, size_t>>> spans;
  int64_t t = 0;
  while (!in.empty()) {
    uint64_t z;
    if (!GetVarint(&in, &z) || in.empty()) return false;
    t = static_cast<int64_t>(static_cast<uint64_t>(t) + ((z >> 1) ^ (~(z & 1) + 1)));
    const char form = in.front();
    in.remove_prefix(1);
    const size_t start = arena->size();
    if (form == 1 || form == 2) {
      if (in.size() < 16) return false;
      UnpackHexId(in.data(), form == 1, arena);
      in.remove_prefix(16);
    } else if (form == 0) {
      uint64_t len;
      if (!GetVarint(&in, &len) || len > in.size()) return false;
      arena->append(in.data(), len);
      in.remove_prefix(len);
    } else {
      return false;
    }
    spans.emplace_back(t, std::make_pair(start, arena->size() - start));
  }
  ids->reserve(spans.size());
  for (const auto& [time, span] : spans) ids->emplace_back(time, std::string_view(*arena).substr(span.first, span.second));
  return true;
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

// A new alert is one insert (ON CONFLICT DO NOTHING, so sqlite3_changes
// tells whether it was new); an existing one is looked up and updated by row
// number. (An upsert with RETURNING would tell the two apart in one
// statement, but SQLite builds a temporary table and a statement journal for
// it on every call: measured, it tripled the commit's instructions.)
constexpr char kFindAlert[] =
    "SELECT seq, count, ids_full_ns, ids IS NOT NULL FROM alerts WHERE bucket_start_ns = ?8 AND id = ?1";
constexpr char kInlineIds[] = "SELECT ids FROM alerts WHERE seq = ?1";
constexpr char kInsertAlert[] = R"sql(
INSERT INTO alerts (id, rule_id, title, severity, severity_rank, tags, entity, bucket_start_ns,
                    first_seen_ns, last_seen_ns, count, finding_type, match, match_time_ns, ids, ids_full_ns)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12, ?10, ?13, ?14, ?16, ?17)
ON CONFLICT (bucket_start_ns, id) DO NOTHING
)sql";
// The stored alert keeps the descriptive fields of the "largest" hit by
// (severity_rank, severity, title, tags, finding_type), so the result does not
// depend on the order hits arrive in. Parameters as in kInsertAlert; ?15 is
// the row; ?16 (true: the list now lives in alert_event_ids) clears the
// inline list.
constexpr char kUpdateAlert[] = R"sql(
UPDATE alerts SET
  count = count + ?12,
  match = CASE WHEN ?13 != '' AND (match = '' OR (?14, ?13) < (match_time_ns, match)) THEN ?13 ELSE match END,
  match_time_ns = CASE WHEN ?13 != '' AND (match = '' OR (?14, ?13) < (match_time_ns, match))
                  THEN ?14 ELSE match_time_ns END,
  first_seen_ns = min(first_seen_ns, ?9),
  last_seen_ns = max(last_seen_ns, ?11),
  title = CASE WHEN (?5, ?4, ?3, ?6, ?10) > (severity_rank, severity, title, tags, finding_type)
               THEN ?3 ELSE title END,
  tags = CASE WHEN (?5, ?4, ?3, ?6, ?10) > (severity_rank, severity, title, tags, finding_type)
              THEN ?6 ELSE tags END,
  finding_type = CASE WHEN (?5, ?4, ?3, ?6, ?10) > (severity_rank, severity, title, tags, finding_type)
                      THEN ?10 ELSE finding_type END,
  severity = CASE WHEN (?5, ?4, ?3, ?6, ?10) > (severity_rank, severity, title, tags, finding_type)
                  THEN ?4 ELSE severity END,
  severity_rank = max(severity_rank, ?5),
  ids = CASE WHEN ?16 THEN NULL ELSE ids END,
  ids_full_ns = ?17
WHERE seq = ?15
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
// An empty view may have no data, which would bind NULL.
void BindStaticText(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}
std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i));
}

std::string_view ValueText(sqlite3_value* v) {
  const unsigned char* p = sqlite3_value_text(v);
  return p == nullptr ? std::string_view()
                      : std::string_view(reinterpret_cast<const char*>(p), sqlite3_value_bytes(v));
}

// SQL functions for the version 3 to 4 migration: a text list in the binary
// form, and the time of its last id.
void EncodeEventIdsSql(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  const std::string out = EncodeEventIds(DecodeEventIdLines(argc > 0 ? ValueText(argv[0]) : std::string_view()));
  sqlite3_result_blob(ctx, out.data(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
}
void LastEventTimeSql(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  const EventIds ids = DecodeEventIdLines(argc > 0 ? ValueText(argv[0]) : std::string_view());
  if (ids.empty()) {
    sqlite3_result_null(ctx);
  } else {
    sqlite3_result_int64(ctx, ids.back().first);
  }
}

class SqliteMetadata final : public MetadataStore {
 public:
  explicit SqliteMetadata(std::string path) : path_(std::move(path)) {}
  ~SqliteMetadata() override {
    find_alert_.reset();
    insert_alert_.reset();
    update_alert_.reset();
    get_ids_.reset();
    put_ids_.reset();
    inline_ids_.reset();
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
    if (sqlite3_create_function(db_, "vigil_encode_event_ids", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                EncodeEventIdsSql, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_create_function(db_, "vigil_last_event_time", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                LastEventTimeSql, nullptr, nullptr) != SQLITE_OK) {
      return Error("register migration functions");
    }
    // Alert-event rows are inserted at random places in their indexes; keep
    // the hot pages in memory rather than re-reading them through syscalls.
    VIGIL_RETURN_IF_ERROR(Exec("PRAGMA cache_size = -65536"));  // KiB
    VIGIL_RETURN_IF_ERROR(Exec("PRAGMA temp_store = MEMORY"));
    VIGIL_RETURN_IF_ERROR(Exec("PRAGMA mmap_size = 268435456"));
    int version = 0;
    VIGIL_RETURN_IF_ERROR(QueryInt("PRAGMA user_version", &version));
    if (version > kSchemaVersion) {
      return Status::Unsupported("metadata database " + path_ + " has schema version " + std::to_string(version) +
                                 "; this vigil reads up to " + std::to_string(kSchemaVersion));
    }
    if (!read_only) {
      // Alert rows carry up to 1,000 event ids (~22 KB): larger pages keep
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
        if (s.ok() && version == 0) s = Exec(SchemaSql());
        if (s.ok() && version == 1) s = Exec(kMigrateV1);
        if (s.ok() && version >= 1 && version <= 2) s = Exec(kMigrateV2);
        if (s.ok() && version >= 1 && version <= 3) s = Exec(MigrateV3Sql());
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
    VIGIL_RETURN_IF_ERROR(Prepare(&find_alert_, kFindAlert));
    VIGIL_RETURN_IF_ERROR(Prepare(&insert_alert_, kInsertAlert));
    VIGIL_RETURN_IF_ERROR(Prepare(&update_alert_, kUpdateAlert));
    VIGIL_RETURN_IF_ERROR(Prepare(&get_ids_, "SELECT ids FROM alert_event_ids WHERE seq = ?1"));
    VIGIL_RETURN_IF_ERROR(Prepare(&put_ids_, "INSERT OR REPLACE INTO alert_event_ids (seq, ids) VALUES (?1, ?2)"));
    VIGIL_RETURN_IF_ERROR(Prepare(&inline_ids_, kInlineIds));
    VIGIL_RETURN_IF_ERROR(Prepare(&put_state_, "INSERT OR REPLACE INTO state (key, value) VALUES (?1, ?2)"));
    VIGIL_RETURN_IF_ERROR(Prepare(&delete_state_, "DELETE FROM state WHERE key = ?1"));
    VIGIL_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    // Keyed by address: a list freed after the last commit may share one
    // with another now.
    tags_json_.clear();
    size_t touched = 0;
    if (commit.alerts != nullptr) {
      // In the order of the (bucket_start_ns, id) index: each new alert
      // lands next to the previous one instead of at a random place in its
      // bucket, and the commit touches each index page once.
      const std::vector<AlertDelta>& deltas = commit.alerts->deltas();
      std::vector<const AlertDelta*> order;
      order.reserve(deltas.size());
      for (const AlertDelta& d : deltas)
        if (d.count > 0) order.push_back(&d);
      std::sort(order.begin(), order.end(), [](const AlertDelta* a, const AlertDelta* b) {
        return a->bucket_start_ns != b->bucket_start_ns ? a->bucket_start_ns < b->bucket_start_ns : a->key < b->key;
      });
      for (const AlertDelta* d : order) {
        VIGIL_RETURN_IF_ERROR(UpsertAlert(*commit.alerts, *d));
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
        "finding_type, match, coalesce(a.ids, e.ids) FROM alerts a LEFT JOIN alert_event_ids e USING (seq) WHERE 1=1";
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
      const char* blob = static_cast<const char*>(sqlite3_column_blob(s, 12));
      EventIds ids;
      if (blob != nullptr &&
          !DecodeEventIds(std::string_view(blob, static_cast<size_t>(sqlite3_column_bytes(s, 12))), &scratch_, &ids)) {
        return Status::Corruption("metadata database " + path_ + ": alert " + a.id + ": event-id list is corrupt");
      }
      for (const auto& [t, id] : ids) a.event_ids.emplace_back(id);
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
  // Adds one delta to its stored alert. Inside Commit's transaction; an error
  // has already rolled it back.
  Status UpsertAlert(const AlertFold& fold, const AlertDelta& d) {
    const std::vector<AlertDelta::IdRef> refs = fold.SortedIdRefs(d);
    if (refs.empty()) return Status::Ok();  // every counted event brings its id
    // Bound without copies: the delta and these locals outlive the steps.
    const std::string id = d.id();
    // Matches of one rule share its tags list: encode each list once.
    auto [tags_it, new_tags] = tags_json_.try_emplace(d.tags);
    if (new_tags) tags_it->second = EncodeAlertTags(*d.tags);
    const std::string& tags = tags_it->second;
    auto bind_alert = [&](sqlite3_stmt* s) {
      sqlite3_reset(s);
      BindStaticText(s, 1, id);
      BindStaticText(s, 2, d.rule_id);
      BindStaticText(s, 3, d.title);
      BindStaticText(s, 4, d.severity);
      sqlite3_bind_int(s, 5, SeverityRank(std::string(d.severity)));
      BindStaticText(s, 6, tags);
      BindStaticText(s, 7, d.entity);
      sqlite3_bind_int64(s, 8, d.bucket_start_ns);
      sqlite3_bind_int64(s, 9, d.first_seen_ns);
      BindStaticText(s, 10, d.finding_type);
      sqlite3_bind_int64(s, 11, d.last_seen_ns);
      sqlite3_bind_int64(s, 12, static_cast<int64_t>(d.count));
      BindStaticText(s, 13, d.match);
      sqlite3_bind_int64(s, 14, d.match_time_ns);
    };
    // A full list's last time (?17).
    auto bind_full = [](sqlite3_stmt* s, size_t size, int64_t last_ns) {
      if (size == kMaxAlertEventIds) sqlite3_bind_int64(s, 17, last_ns);
    };
    // A new alert: one row, its list inline.
    {
      const std::string encoded = EncodeEventIds(fold, refs);
      sqlite3_stmt* s = insert_alert_->get();
      bind_alert(s);
      sqlite3_bind_blob(s, 16, encoded.data(), static_cast<int>(encoded.size()), SQLITE_STATIC);
      bind_full(s, refs.size(), refs.back().time_ns);
      const int rc = sqlite3_step(s);
      sqlite3_clear_bindings(s);  // no pointer into the locals survives them
      if (rc != SQLITE_DONE) return Abort("insert alert " + id);
      if (sqlite3_changes(db_) == 1) return Status::Ok();
    }
    // An existing one: merge the lists as text.
    const std::vector<std::pair<int64_t, std::string>> texts = fold.SortedEventIds(d);
    EventIds ids;
    ids.reserve(texts.size());
    for (const auto& [t, text] : texts) ids.emplace_back(t, text);
    sqlite3_stmt* find = find_alert_->get();
    sqlite3_reset(find);
    BindStaticText(find, 1, id);
    sqlite3_bind_int64(find, 8, d.bucket_start_ns);
    if (sqlite3_step(find) != SQLITE_ROW) return Abort("find alert " + id);
    const int64_t seq = sqlite3_column_int64(find, 0);
    const bool full = sqlite3_column_type(find, 2) != SQLITE_NULL;
    const int64_t full_ns = sqlite3_column_int64(find, 2);
    const bool inline_ids = sqlite3_column_int(find, 3) != 0;
    sqlite3_reset(find);
    // A full list of events no later than these stays as it is (the common
    // case for a busy alert fed in time order): no need to read it.
    const bool unchanged_full = full && ids.front().first > full_ns;
    // The list moves out of the row on the alert's first update, so that
    // later updates rewrite a small row.
    const bool move_list = inline_ids;
    EventIds stored, merged;
    bool write_list = false;
    if (!unchanged_full || move_list) {
      sqlite3_stmt* g = inline_ids ? inline_ids_->get() : get_ids_->get();
      sqlite3_reset(g);
      sqlite3_bind_int64(g, 1, seq);
      const int grc = sqlite3_step(g);
      if (grc == SQLITE_ROW) {
        const char* p = static_cast<const char*>(sqlite3_column_blob(g, 0));
        const std::string_view blob(p == nullptr ? "" : p, static_cast<size_t>(sqlite3_column_bytes(g, 0)));
        if (!DecodeEventIds(blob, &scratch_, &stored)) {
          sqlite3_reset(g);
          (void)Exec("ROLLBACK");
          return Status::Corruption("metadata database " + path_ + ": alert " + id + ": event-id list is corrupt");
        }
      } else if (grc != SQLITE_DONE) {
        return Abort("read event ids of alert " + id);
      }
      sqlite3_reset(g);  // `stored` views scratch_, not the statement's row
      if (!unchanged_full) {
        merged = MergeEventIds(stored, ids);
        write_list = merged != stored;
      }
    }
    if (write_list || move_list) {
      const EventIds& list = write_list ? merged : stored;
      const std::string encoded = EncodeEventIds(list);
      sqlite3_stmt* p = put_ids_->get();
      sqlite3_reset(p);
      sqlite3_bind_int64(p, 1, seq);
      sqlite3_bind_blob(p, 2, encoded.data(), static_cast<int>(encoded.size()), SQLITE_STATIC);
      const int prc = sqlite3_step(p);
      sqlite3_clear_bindings(p);
      if (prc != SQLITE_DONE) return Abort("write event ids of alert " + id);
    }
    sqlite3_stmt* u = update_alert_->get();
    bind_alert(u);
    sqlite3_bind_int64(u, 15, seq);
    sqlite3_bind_int(u, 16, move_list ? 1 : 0);
    if (write_list) {
      bind_full(u, merged.size(), merged.back().first);
    } else if (full) {
      sqlite3_bind_int64(u, 17, full_ns);
    }
    const int rc = sqlite3_step(u);
    sqlite3_clear_bindings(u);
    if (rc != SQLITE_DONE) return Abort("update alert " + id);
    return Status::Ok();
  }

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
  std::unique_ptr<Stmt> find_alert_, insert_alert_, update_alert_, inline_ids_, get_ids_, put_ids_, put_state_, delete_state_, get_state_;
  std::string scratch_;  // decoded id text of the list being merged
  // Encoded tag lists by list, for one commit (the fold's deltas point at them).
  std::unordered_map<const std::vector<std::string>*, std::string> tags_json_;
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenSqliteMetadata(const std::string& path, const MetadataOptions& options) {
  auto store = std::make_unique<SqliteMetadata>(path);
  VIGIL_RETURN_IF_ERROR(store->Init(options.read_only));
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace vigil
