// MetadataStore on embedded SQLite (schema: docs/storage-format.md).
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cstring>
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

constexpr int kSchemaVersion = 5;

// The version 5 tables (docs/storage-format.md). A rule's descriptive fields
// are stored once, in `rules`, and each alert names its row: they were ~40%
// of an alert row, repeated in each of the hundreds of thousands of alerts a
// broad rule set raises. An alert's row number is derived from its bucket
// and id (AlertSeq), so the row number is the alert's key and no separate
// unique index is kept: a new alert is two B-tree inserts (its row, its
// priority entry) rather than three, and a commit's new alerts, which are in
// recent buckets, land together at the end of the table.
constexpr char kRulesTable[] = R"sql(CREATE TABLE rules (
  ref          INTEGER PRIMARY KEY,
  rule_id      TEXT NOT NULL,
  title        TEXT NOT NULL,
  severity     TEXT NOT NULL,
  tags         TEXT NOT NULL,
  finding_type TEXT NOT NULL,
  UNIQUE (rule_id, title, severity, tags, finding_type)
);
)sql";
constexpr char kAlertsColumns[] = R"sql((
  seq             INTEGER PRIMARY KEY,
  id              BLOB NOT NULL,
  rule            INTEGER NOT NULL,
  severity_rank   INTEGER NOT NULL,
  entity          TEXT NOT NULL,
  bucket_start_ns INTEGER NOT NULL,
  first_seen_ns   INTEGER NOT NULL,
  last_seen_ns    INTEGER NOT NULL,
  count           INTEGER NOT NULL,
  match           TEXT NOT NULL,
  match_time_ns   INTEGER NOT NULL,
  ids             BLOB,
  ids_full_ns     INTEGER
))sql";
// Ascending, though listings want the highest severity and latest first
// (SQLite reads it backwards): a commit's new alerts, in bucket order, then
// land at the end of their severity's entries (measured: 8% less for the
// alert commit than descending).
constexpr char kAlertsPriorityIndex[] =
    "CREATE INDEX alerts_by_priority ON alerts (severity_rank, last_seen_ns);\n";
constexpr char kAlertEventIdsTable[] = "CREATE TABLE alert_event_ids (seq INTEGER PRIMARY KEY, ids BLOB NOT NULL);\n";

std::string SchemaSql() {
  return std::string(kRulesTable) + "CREATE TABLE alerts " + kAlertsColumns + ";\n" + kAlertsPriorityIndex +
         kAlertEventIdsTable + "CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;\n";
}

// An alert id as stored: the 16 bytes its 32 hex digits spell (high half
// first), so that ids order as their text does.
void IdBytes(const Hash128& h, char out[16]) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>(h.hi >> (56 - 8 * i));
    out[8 + i] = static_cast<char>(h.lo >> (56 - 8 * i));
  }
}

// An alert's row number: its bucket's start in units of 2^32 ns (~4.3 s) in
// the high half, the low 32 bits of its id's high half below. Two alerts that
// share one are told apart by their ids: the later one takes the next free
// number (see UpsertAlert).
int64_t AlertSeq(int64_t bucket_start_ns, std::string_view id) {
  uint32_t low = 0;
  if (id.size() == 16) {
    for (int i = 4; i < 8; ++i) low = low << 8 | static_cast<uint8_t>(id[i]);
  }
  return static_cast<int64_t>(static_cast<uint64_t>(bucket_start_ns >> 32) << 32 | low);
}
int64_t NextSeq(int64_t seq) { return static_cast<int64_t>(static_cast<uint64_t>(seq) + 1); }

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
  return std::string(R"sql(CREATE TABLE alerts_v4 (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL, rule_id TEXT NOT NULL, title TEXT NOT NULL, severity TEXT NOT NULL,
  severity_rank INTEGER NOT NULL, tags TEXT NOT NULL, entity TEXT NOT NULL, bucket_start_ns INTEGER NOT NULL,
  first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL, count INTEGER NOT NULL, finding_type TEXT NOT NULL,
  match TEXT NOT NULL DEFAULT '', match_time_ns INTEGER NOT NULL DEFAULT 0, ids BLOB, ids_full_ns INTEGER,
  UNIQUE (bucket_start_ns, id));
INSERT INTO alerts_v4 (id, rule_id, title, severity, severity_rank, tags, entity, bucket_start_ns, first_seen_ns,
                       last_seen_ns, count, finding_type, match, match_time_ns, ids, ids_full_ns)
  SELECT id, rule_id, title, severity, severity_rank, tags, entity, bucket_start_ns, first_seen_ns, last_seen_ns,
         count, finding_type, match, match_time_ns, vigil_encode_event_ids(event_ids),
         CASE WHEN count >= 1000 THEN vigil_last_event_time(event_ids) END
  FROM alerts ORDER BY rowid;
DROP TABLE alerts;
ALTER TABLE alerts_v4 RENAME TO alerts;
)sql") + kAlertEventIdsTable;
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
// Writes at `p`, which has room for kMaxVarint bytes; returns the end.
constexpr size_t kMaxVarint = 10;
char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
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

// Writes one id of a list at `p` (room for ListEntryBound bytes): its time
// as a delta from the previous one, then its form and bytes; returns the end.
// Lists are written into a buffer sized once for the whole list: appending
// byte by byte to a string was most of the cost of encoding a busy alert's
// list of 1,000.
char* PutListEntry(char* p, int64_t* prev, int64_t t, IdForm form, const char* packed, std::string_view text) {
  const uint64_t delta = static_cast<uint64_t>(t) - static_cast<uint64_t>(*prev);
  p = PutVarint(p, (delta << 1) ^ static_cast<uint64_t>(static_cast<int64_t>(delta) >> 63));
  *prev = t;
  *p++ = static_cast<char>(form);
  if (form == IdForm::kText) {
    p = PutVarint(p, text.size());
    if (!text.empty()) std::memcpy(p, text.data(), text.size());
    return p + text.size();
  }
  std::memcpy(p, packed, 16);
  return p + 16;
}
// At least the bytes PutListEntry writes for an id whose text (or packed
// bytes) has `size` bytes.
size_t ListEntryBound(size_t size) { return 2 * kMaxVarint + 1 + std::max<size_t>(size, 16); }

std::string EncodeEventIds(const EventIds& ids) {
  size_t bound = 0;
  for (const auto& id : ids) bound += ListEntryBound(id.second.size());
  std::string out(bound, '\0');
  char* p = out.data();
  int64_t prev = 0;
  char packed[16];
  for (const auto& [t, id] : ids) p = PutListEntry(p, &prev, t, PackId(id, packed), packed, id);
  out.resize(static_cast<size_t>(p - out.data()));
  return out;
}

// One id of a list as stored: its time, its form, and its 16 packed bytes
// or (IdForm::kText) its text; a view into a stored list or a fold. Lists are
// merged in this form: unpacking a stored list's ids to text and packing the
// merged list again was most of the cost of updating a busy alert.
struct StoredId {
  int64_t time_ns;
  IdForm form;
  std::string_view bytes;
};
using StoredIds = std::vector<StoredId>;

std::string EncodeEventIds(const StoredIds& ids) {
  size_t bound = 0;
  for (const StoredId& id : ids) bound += ListEntryBound(id.bytes.size());
  std::string out(bound, '\0');
  char* p = out.data();
  int64_t prev = 0;
  for (const StoredId& id : ids) p = PutListEntry(p, &prev, id.time_ns, id.form, id.bytes.data(), id.bytes);
  out.resize(static_cast<size_t>(p - out.data()));
  return out;
}

// A fold's ids (in (time, id) order), which it holds packed already.
StoredIds FoldIds(const AlertFold& fold, const std::vector<AlertDelta::IdRef>& refs) {
  StoredIds ids;
  ids.reserve(refs.size());
  for (const AlertDelta::IdRef& r : refs)
    ids.push_back({r.time_ns, r.form, r.form == IdForm::kText ? fold.TextOf(r) : std::string_view(r.bytes, 16)});
  return ids;
}

// Reads a stored list without unpacking its ids (the views point into `in`).
// False when corrupt.
bool ParseEventIds(std::string_view in, StoredIds* ids) {
  ids->clear();
  int64_t t = 0;
  while (!in.empty()) {
    uint64_t z;
    if (!GetVarint(&in, &z) || in.empty()) return false;
    t = static_cast<int64_t>(static_cast<uint64_t>(t) + ((z >> 1) ^ (~(z & 1) + 1)));
    const char form = in.front();
    in.remove_prefix(1);
    uint64_t len = 16;
    if (form == 0) {
      if (!GetVarint(&in, &len)) return false;
    } else if (form != 1 && form != 2) {
      return false;
    }
    if (len > in.size()) return false;
    ids->push_back({t, static_cast<IdForm>(form), in.substr(0, len)});
    in.remove_prefix(len);
  }
  return true;
}

// An id's text; a packed one is unpacked into `buf`.
std::string_view StoredIdText(const StoredId& id, char buf[36]) {
  if (id.form == IdForm::kText) return id.bytes;
  const bool uuid = id.form == IdForm::kUuid;
  UnpackHexId(id.bytes.data(), uuid, buf);
  return std::string_view(buf, uuid ? 36 : 32);
}

// (time, id text) order. Packed bytes of one form order as their text does
// (lower-case hex digits, dashes at the same places).
int CompareStoredIds(const StoredId& a, const StoredId& b) {
  if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns ? -1 : 1;
  if (a.form == b.form && a.form != IdForm::kText) return std::memcmp(a.bytes.data(), b.bytes.data(), 16);
  char abuf[36], bbuf[36];
  return StoredIdText(a, abuf).compare(StoredIdText(b, bbuf));
}

// Decodes a stored list to text; the ids' text goes to `arena` (the views
// point into it, so it is sized up front and not grown afterwards). False
// when corrupt.
bool DecodeEventIds(std::string_view in, std::string* arena, EventIds* ids) {
  ids->clear();
  arena->clear();
  StoredIds parsed;
  if (!ParseEventIds(in, &parsed)) return false;
  arena->reserve(in.size() * 3);  // 16 bytes decode to at most 36 characters
  std::vector<std::pair<size_t, size_t>> spans;
  spans.reserve(parsed.size());
  for (const StoredId& id : parsed) {
    char buf[36];
    const size_t start = arena->size();
    arena->append(StoredIdText(id, buf));
    spans.emplace_back(start, arena->size() - start);
  }
  ids->reserve(parsed.size());
  for (size_t i = 0; i < parsed.size(); ++i)
    ids->emplace_back(parsed[i].time_ns, std::string_view(*arena).substr(spans[i].first, spans[i].second));
  return true;
}

// The smallest kMaxAlertEventIds of a stored list and more ids, both sorted
// (duplicates once); *added tells whether any of `more` is among them, that
// is, whether the result differs from `stored`.
StoredIds MergeEventIds(const StoredIds& stored, const StoredIds& more, bool* added) {
  StoredIds out;
  out.reserve(std::min(stored.size() + more.size(), kMaxAlertEventIds));
  *added = false;
  size_t i = 0, j = 0;
  while (out.size() < kMaxAlertEventIds && (i < stored.size() || j < more.size())) {
    const int c = j == more.size() ? -1 : i == stored.size() ? 1 : CompareStoredIds(stored[i], more[j]);
    if (c <= 0) {
      out.push_back(stored[i++]);
      if (c == 0) ++j;
    } else {
      out.push_back(more[j++]);
      *added = true;
    }
  }
  return out;
}

// An alert that may be stored already is looked up at its AlertSeq (and the
// numbers after it, while another alert holds the one looked at); a new one
// is inserted at the first free number (ON CONFLICT DO NOTHING, so
// sqlite3_changes tells whether it was new). (An upsert with RETURNING would tell the two apart in one
// statement, but SQLite builds a temporary table and a statement journal for
// it on every call: measured, it tripled the commit's instructions.)
constexpr char kFindAlert[] = "SELECT id, count, ids_full_ns, ids IS NOT NULL, rule FROM alerts WHERE seq = ?1";
constexpr char kInlineIds[] = "SELECT ids FROM alerts WHERE seq = ?1";
constexpr char kInsertAlert[] = R"sql(
INSERT INTO alerts (seq, id, rule, severity_rank, entity, bucket_start_ns, first_seen_ns, last_seen_ns, count,
                    match, match_time_ns, ids, ids_full_ns)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
ON CONFLICT DO NOTHING
)sql";
// New alerts, kInsertBatch rows a statement (the per-statement work was a
// third of a one-row insert's). Parameters: kInsertAlert's for each row.
// OR ROLLBACK: a multi-row statement that may fail half-way (the default,
// ABORT) makes SQLite keep a statement journal, copying every page the
// statement touches first; a failure here rolls the whole commit back anyway.
constexpr size_t kInsertBatch = 64;
constexpr int kAlertParams = 13;
std::string InsertBatchSql() {
  std::string sql =
      "INSERT OR ROLLBACK INTO alerts (seq, id, rule, severity_rank, entity, bucket_start_ns, first_seen_ns, last_seen_ns, "
      "count, match, match_time_ns, ids, ids_full_ns) VALUES ";
  for (size_t i = 0; i < kInsertBatch; ++i) {
    sql += i == 0 ? "(" : ",(";
    for (int p = 0; p < kAlertParams; ++p) sql += p == 0 ? "?" : ",?";
    sql += ")";
  }
  return sql;
}
// Parameters as in kInsertAlert; ?3 and ?4 are the rule row that wins (see
// UpsertAlert); ?12 (true: the list now lives in alert_event_ids) clears the
// inline list.
constexpr char kUpdateAlert[] = R"sql(
UPDATE alerts SET
  count = count + ?9,
  match = CASE WHEN ?10 != '' AND (match = '' OR (?11, ?10) < (match_time_ns, match)) THEN ?10 ELSE match END,
  match_time_ns = CASE WHEN ?10 != '' AND (match = '' OR (?11, ?10) < (match_time_ns, match))
                  THEN ?11 ELSE match_time_ns END,
  first_seen_ns = min(first_seen_ns, ?7),
  last_seen_ns = max(last_seen_ns, ?8),
  rule = ?3,
  severity_rank = ?4,
  ids = CASE WHEN ?12 THEN NULL ELSE ids END,
  ids_full_ns = ?13
WHERE seq = ?1
)sql";
constexpr char kFindRule[] =
    "SELECT ref FROM rules WHERE rule_id = ?1 AND title = ?2 AND severity = ?3 AND tags = ?4 AND finding_type = ?5";
constexpr char kInsertRule[] =
    "INSERT INTO rules (rule_id, title, severity, tags, finding_type) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr char kGetRule[] = "SELECT rule_id, title, severity, tags, finding_type FROM rules WHERE ref = ?1";

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
    insert_batch_.reset();
    max_seq_.reset();
    update_alert_.reset();
    get_ids_.reset();
    put_ids_.reset();
    inline_ids_.reset();
    find_rule_.reset();
    insert_rule_.reset();
    get_rule_.reset();
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
        if (s.ok() && version >= 1 && version <= 4) s = MigrateV4();
        if (s.ok() && version < kSchemaVersion) s = Exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
        if (s.ok()) s = Exec("COMMIT");
        if (!s.ok()) {
          (void)Exec("ROLLBACK");
          return s;
        }
      }
    } else if (version == 0) {
      return Status::FailedPrecondition("metadata database " + path_ + " has no schema yet (nothing ingested)");
    } else if (version < kSchemaVersion) {
      return Status::FailedPrecondition("metadata database " + path_ + " has schema version " +
                                        std::to_string(version) + "; open it for writing once to migrate it");
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
    VIGIL_RETURN_IF_ERROR(Prepare(&insert_batch_, InsertBatchSql()));
    VIGIL_RETURN_IF_ERROR(Prepare(&find_rule_, kFindRule));
    VIGIL_RETURN_IF_ERROR(Prepare(&insert_rule_, kInsertRule));
    VIGIL_RETURN_IF_ERROR(Prepare(&get_rule_, kGetRule));
    VIGIL_RETURN_IF_ERROR(Prepare(&put_state_, "INSERT OR REPLACE INTO state (key, value) VALUES (?1, ?2)"));
    VIGIL_RETURN_IF_ERROR(Prepare(&delete_state_, "DELETE FROM state WHERE key = ?1"));
    VIGIL_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    // Per commit: keyed by address, and a list or string freed after the
    // last commit may share one with another now; a rule row written by a
    // commit that rolled back is gone.
    tags_json_.clear();
    rule_refs_.clear();
    rules_.clear();
    size_t touched = 0;
    if (commit.alerts != nullptr) {
      // In row-number order: each new alert lands next to the previous one,
      // and the commit touches each table page once.
      const std::vector<AlertDelta>& deltas = commit.alerts->deltas();
      std::vector<std::pair<int64_t, const AlertDelta*>> order;
      order.reserve(deltas.size());
      for (const AlertDelta& d : deltas) {
        if (d.count == 0) continue;
        char id[16];
        IdBytes(d.key, id);
        order.emplace_back(AlertSeq(d.bucket_start_ns, std::string_view(id, 16)), &d);
      }
      std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second->key < b.second->key;
      });
      // Alerts whose numbers lie above every stored row's are new (an
      // alert's row number is never below its AlertSeq): they are numbered
      // here, each taking the next free number after a taken one as
      // UpsertAlert would, and inserted many rows a statement. The rest are
      // looked up one by one, after them.
      int64_t max_seq = 0;
      bool any_stored = false;
      VIGIL_RETURN_IF_ERROR(MaxSeq(&any_stored, &max_seq));
      std::vector<std::pair<int64_t, const AlertDelta*>> fresh, known;
      bool numbering = true;
      for (const auto& [seq, d] : order) {
        ++touched;
        if (d->event_ids.empty()) continue;  // every counted event brings its id
        const bool above = !any_stored || seq > max_seq;
        if (numbering && above) {
          int64_t n = seq;
          if (!fresh.empty() && n <= fresh.back().first) {
            n = NextSeq(fresh.back().first);
            numbering = n > fresh.back().first;  // wrapped past INT64_MAX: number the rest one by one
          }
          if (numbering) {
            fresh.emplace_back(n, d);
            continue;
          }
        }
        known.emplace_back(seq, d);
      }
      VIGIL_RETURN_IF_ERROR(InsertNew(*commit.alerts, fresh));
      for (const auto& [seq, d] : known) VIGIL_RETURN_IF_ERROR(UpsertAlert(*commit.alerts, *d, seq));
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
        "SELECT a.id, r.rule_id, r.title, r.severity, r.tags, a.entity, a.bucket_start_ns, a.first_seen_ns, "
        "a.last_seen_ns, a.count, r.finding_type, a.match, coalesce(a.ids, e.ids) FROM alerts a "
        "JOIN rules r ON r.ref = a.rule LEFT JOIN alert_event_ids e ON e.seq = a.seq WHERE 1=1";
    if (query.from_ns) sql += " AND a.last_seen_ns >= ?1";
    if (query.to_ns) sql += " AND a.first_seen_ns < ?2";
    if (query.rule_id) sql += " AND a.rule IN (SELECT ref FROM rules WHERE rule_id = ?3)";
    int min_rank = -1;
    if (query.min_severity) {
      min_rank = SeverityRank(*query.min_severity);
      if (min_rank < 0) {
        return Status::InvalidArgument("unknown severity \"" + *query.min_severity +
                                       "\" (informational, low, medium, high, critical)");
      }
      sql += " AND a.severity_rank >= ?4";
    }
    sql += " ORDER BY a.severity_rank DESC, a.last_seen_ns DESC, a.id ASC";
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
      a.id = IdText(ColumnBlob(s, 0));
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
  // A rules row's fields (tags as stored: JSON).
  struct RuleRow {
    std::string rule_id, title, severity, tags, finding_type;
    int rank = -1;
  };
  // The descriptive fields of a delta, by address (the fold's strings stay
  // put for a commit); compared by address only, so equal text at two
  // addresses is looked up twice, which is harmless.
  struct RuleKey {
    const char* p[4];
    size_t n[4];
    const std::vector<std::string>* tags;
    bool operator==(const RuleKey& o) const {
      return std::equal(p, p + 4, o.p) && std::equal(n, n + 4, o.n) && tags == o.tags;
    }
  };
  struct RuleKeyHash {
    size_t operator()(const RuleKey& k) const {
      size_t h = reinterpret_cast<uintptr_t>(k.tags);
      for (int i = 0; i < 4; ++i) h = h * 0x9E3779B97F4A7C15ull ^ reinterpret_cast<uintptr_t>(k.p[i]) ^ k.n[i];
      return h;
    }
  };

  static std::string_view ColumnBlob(sqlite3_stmt* s, int i) {
    const char* p = static_cast<const char*>(sqlite3_column_blob(s, i));
    return p == nullptr ? std::string_view() : std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s, i)));
  }
  // A stored id as text: its 32 hex digits (an id that is not 16 bytes, which
  // vigil never writes, as it is).
  static std::string IdText(std::string_view stored) {
    if (stored.size() != 16) return std::string(stored);
    std::string out;
    UnpackHexId(stored.data(), /*uuid=*/false, &out);
    return out;
  }

  // The rules row of a delta's fields, added when new.
  Result<int64_t> RuleRef(const AlertDelta& d, const std::string& tags) {
    const RuleKey key{{d.rule_id.data(), d.title.data(), d.severity.data(), d.finding_type.data()},
                      {d.rule_id.size(), d.title.size(), d.severity.size(), d.finding_type.size()},
                      d.tags};
    auto it = rule_refs_.find(key);
    if (it != rule_refs_.end()) return it->second;
    auto bind = [&](sqlite3_stmt* s) {
      sqlite3_reset(s);
      BindStaticText(s, 1, d.rule_id);
      BindStaticText(s, 2, d.title);
      BindStaticText(s, 3, d.severity);
      BindStaticText(s, 4, tags);
      BindStaticText(s, 5, d.finding_type);
    };
    int64_t ref;
    sqlite3_stmt* f = find_rule_->get();
    bind(f);
    const int rc = sqlite3_step(f);
    if (rc == SQLITE_ROW) {
      ref = sqlite3_column_int64(f, 0);
      sqlite3_reset(f);
    } else if (rc != SQLITE_DONE) {
      return Abort("find rule " + std::string(d.rule_id));
    } else {
      sqlite3_reset(f);
      sqlite3_stmt* s = insert_rule_->get();
      bind(s);
      const int irc = sqlite3_step(s);
      sqlite3_clear_bindings(s);
      if (irc != SQLITE_DONE) return Abort("add rule " + std::string(d.rule_id));
      ref = sqlite3_last_insert_rowid(db_);
    }
    sqlite3_clear_bindings(f);
    rule_refs_.emplace(key, ref);
    rules_.try_emplace(ref, RuleRow{std::string(d.rule_id), std::string(d.title), std::string(d.severity), tags,
                                    std::string(d.finding_type), SeverityRank(std::string(d.severity))});
    return ref;
  }

  // A rules row by number.
  Result<const RuleRow*> Rule(int64_t ref) {
    auto it = rules_.find(ref);
    if (it != rules_.end()) return &it->second;
    sqlite3_stmt* g = get_rule_->get();
    sqlite3_reset(g);
    sqlite3_bind_int64(g, 1, ref);
    if (sqlite3_step(g) != SQLITE_ROW) return Abort("read rule " + std::to_string(ref));
    RuleRow row{ColumnText(g, 0), ColumnText(g, 1), ColumnText(g, 2), ColumnText(g, 3), ColumnText(g, 4), -1};
    row.rank = SeverityRank(row.severity);
    sqlite3_reset(g);
    return &rules_.emplace(ref, std::move(row)).first->second;
  }

  // Binds ?1 to ?11 of an alert row (kInsertAlert's order) at parameter
  // `base` + 1 onwards; text is bound without copies.
  static void BindAlert(sqlite3_stmt* s, int base, int64_t row, const char id[16], int64_t rule_ref, int rule_rank,
                        const AlertDelta& d) {
    sqlite3_bind_int64(s, base + 1, row);
    sqlite3_bind_blob(s, base + 2, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(s, base + 3, rule_ref);
    sqlite3_bind_int(s, base + 4, rule_rank);
    BindStaticText(s, base + 5, d.entity);
    sqlite3_bind_int64(s, base + 6, d.bucket_start_ns);
    sqlite3_bind_int64(s, base + 7, d.first_seen_ns);
    sqlite3_bind_int64(s, base + 8, d.last_seen_ns);
    sqlite3_bind_int64(s, base + 9, static_cast<int64_t>(d.count));
    BindStaticText(s, base + 10, d.match);
    sqlite3_bind_int64(s, base + 11, d.match_time_ns);
  }

  // Inserts alerts known to be new at the row numbers given,
  // kInsertBatch rows a statement (the rest one by one).
  Status InsertNew(const AlertFold& fold, const std::vector<std::pair<int64_t, const AlertDelta*>>& rows) {
    struct Row {
      char id[16];
      std::string encoded;
      size_t ids = 0;
      int64_t last_ns = 0;
    };
    std::vector<Row> bound(kInsertBatch);
    for (size_t at = 0; at < rows.size();) {
      const bool batch = rows.size() - at >= kInsertBatch;
      const size_t n = batch ? kInsertBatch : 1;
      sqlite3_stmt* s = batch ? insert_batch_->get() : insert_alert_->get();
      sqlite3_reset(s);
      for (size_t i = 0; i < n; ++i) {
        const auto& [seq, d] = rows[at + i];
        Row& r = bound[i];
        const std::vector<AlertDelta::IdRef> refs = fold.SortedIdRefs(*d);
        r.encoded = EncodeEventIds(FoldIds(fold, refs));
        r.ids = refs.size();
        r.last_ns = refs.empty() ? 0 : refs.back().time_ns;
        IdBytes(d->key, r.id);
        auto [tags_it, new_tags] = tags_json_.try_emplace(d->tags);
        if (new_tags) tags_it->second = EncodeAlertTags(*d->tags);
        VIGIL_ASSIGN_OR_RETURN(int64_t rule, RuleRef(*d, tags_it->second));
        const int base = static_cast<int>(i) * kAlertParams;
        BindAlert(s, base, seq, r.id, rule, SeverityRank(std::string(d->severity)), *d);
        sqlite3_bind_blob(s, base + 12, r.encoded.data(), static_cast<int>(r.encoded.size()), SQLITE_STATIC);
        if (r.ids == kMaxAlertEventIds) sqlite3_bind_int64(s, base + 13, r.last_ns);
      }
      const int rc = sqlite3_step(s);
      sqlite3_clear_bindings(s);
      if (rc != SQLITE_DONE || sqlite3_changes(db_) != static_cast<int>(n))
        return Abort("insert alert " + rows[at].second->id());
      at += n;
    }
    return Status::Ok();
  }

  // Adds one delta to its stored alert, whose row number is `seq` or, when
  // that is another alert's, the next free one after it. Inside Commit's
  // transaction; an error has already rolled it back.
  Status UpsertAlert(const AlertFold& fold, const AlertDelta& d, int64_t seq) {
    const std::vector<AlertDelta::IdRef> refs = fold.SortedIdRefs(d);
    if (refs.empty()) return Status::Ok();  // every counted event brings its id
    // Bound without copies: the delta and these locals outlive the steps.
    char id[16];
    IdBytes(d.key, id);
    // Matches of one rule share its tags list: encode each list once.
    auto [tags_it, new_tags] = tags_json_.try_emplace(d.tags);
    if (new_tags) tags_it->second = EncodeAlertTags(*d.tags);
    const std::string& tags = tags_it->second;
    VIGIL_ASSIGN_OR_RETURN(int64_t rule, RuleRef(d, tags));
    const int rank = SeverityRank(std::string(d.severity));
    auto bind_alert = [&](sqlite3_stmt* s, int64_t row, int64_t rule_ref, int rule_rank) {
      sqlite3_reset(s);
      BindAlert(s, 0, row, id, rule_ref, rule_rank, d);
    };
    // A full list's last time (?13).
    auto bind_full = [](sqlite3_stmt* s, size_t size, int64_t last_ns) {
      if (size == kMaxAlertEventIds) sqlite3_bind_int64(s, 13, last_ns);
    };
    // The alert's row is at its number or, when another alert took that
    // first, at the next number that is not another's; a free number there
    // means it is new: one row, its list inline. (Looked up before inserting:
    // nearly all of these are stored already, and an insert that conflicts
    // costs as much as the lookup.)
    int64_t stored_rule = 0, full_ns = 0;
    bool full = false, inline_ids = false;
    for (;; seq = NextSeq(seq)) {
      sqlite3_stmt* find = find_alert_->get();
      sqlite3_reset(find);
      sqlite3_bind_int64(find, 1, seq);
      const int frc = sqlite3_step(find);
      if (frc == SQLITE_DONE) {
        sqlite3_reset(find);
        const std::string encoded = EncodeEventIds(FoldIds(fold, refs));
        sqlite3_stmt* s = insert_alert_->get();
        bind_alert(s, seq, rule, rank);
        sqlite3_bind_blob(s, 12, encoded.data(), static_cast<int>(encoded.size()), SQLITE_STATIC);
        bind_full(s, refs.size(), refs.back().time_ns);
        const int rc = sqlite3_step(s);
        sqlite3_clear_bindings(s);  // no pointer into the locals survives them
        if (rc != SQLITE_DONE || sqlite3_changes(db_) != 1) return Abort("insert alert " + d.id());
        return Status::Ok();
      }
      if (frc != SQLITE_ROW) return Abort("find alert " + d.id());
      const bool same = ColumnBlob(find, 0) == std::string_view(id, 16);
      full = sqlite3_column_type(find, 2) != SQLITE_NULL;
      full_ns = sqlite3_column_int64(find, 2);
      inline_ids = sqlite3_column_int(find, 3) != 0;
      stored_rule = sqlite3_column_int64(find, 4);
      sqlite3_reset(find);
      if (same) break;
    }
    // An existing one: the rule row that is largest by (severity rank,
    // severity, title, tags, finding type) wins, so the result does not
    // depend on the order hits arrive in.
    int64_t win_rule = stored_rule;
    int win_rank;
    {
      VIGIL_ASSIGN_OR_RETURN(const RuleRow* stored, Rule(stored_rule));
      win_rank = stored->rank;
      if (rule != stored_rule &&
          std::forward_as_tuple(rank, d.severity, d.title, std::string_view(tags), d.finding_type) >
              std::forward_as_tuple(stored->rank, std::string_view(stored->severity), std::string_view(stored->title),
                                    std::string_view(stored->tags), std::string_view(stored->finding_type))) {
        win_rule = rule;
        win_rank = rank;
      }
    }
    // A full list of events no later than these stays as it is (the common
    // case for a busy alert fed in time order): no need to read it.
    const bool unchanged_full = full && refs.front().time_ns > full_ns;
    // The list moves out of the row on the alert's first update, so that
    // later updates rewrite a small row.
    const bool move_list = inline_ids;
    StoredIds merged;
    bool write_list = false;
    if (!unchanged_full || move_list) {
      sqlite3_stmt* g = inline_ids ? inline_ids_->get() : get_ids_->get();
      sqlite3_reset(g);
      sqlite3_bind_int64(g, 1, seq);
      const int grc = sqlite3_step(g);
      // Copied: the merge views it after the statement is reset.
      if (grc == SQLITE_ROW) {
        const std::string_view blob = ColumnBlob(g, 0);
        scratch_.assign(blob.data(), blob.size());
      } else if (grc == SQLITE_DONE) {
        scratch_.clear();
      } else {
        return Abort("read event ids of alert " + d.id());
      }
      sqlite3_reset(g);
      if (!unchanged_full) {
        if (!ParseEventIds(scratch_, &stored_ids_)) {
          (void)Exec("ROLLBACK");
          return Status::Corruption("metadata database " + path_ + ": alert " + d.id() +
                                    ": event-id list is corrupt");
        }
        merged = MergeEventIds(stored_ids_, FoldIds(fold, refs), &write_list);
      }
    }
    if (write_list || move_list) {
      // Moved unchanged: the stored bytes as they are.
      const std::string encoded = write_list ? EncodeEventIds(merged) : std::string();
      const std::string_view list = write_list ? std::string_view(encoded) : std::string_view(scratch_);
      sqlite3_stmt* p = put_ids_->get();
      sqlite3_reset(p);
      sqlite3_bind_int64(p, 1, seq);
      sqlite3_bind_blob(p, 2, list.data(), static_cast<int>(list.size()), SQLITE_STATIC);
      const int prc = sqlite3_step(p);
      sqlite3_clear_bindings(p);
      if (prc != SQLITE_DONE) return Abort("write event ids of alert " + d.id());
    }
    sqlite3_stmt* u = update_alert_->get();
    bind_alert(u, seq, win_rule, win_rank);
    sqlite3_bind_int(u, 12, move_list ? 1 : 0);
    if (write_list) {
      bind_full(u, merged.size(), merged.back().time_ns);
    } else if (full) {
      sqlite3_bind_int64(u, 13, full_ns);
    }
    const int rc = sqlite3_step(u);
    sqlite3_clear_bindings(u);
    if (rc != SQLITE_DONE) return Abort("update alert " + d.id());
    return Status::Ok();
  }

  // The largest row number of `alerts`; *any false when it is empty.
  Status MaxSeq(bool* any, int64_t* max) {
    VIGIL_RETURN_IF_ERROR(Prepare(&max_seq_, "SELECT max(seq) FROM alerts"));
    sqlite3_stmt* s = max_seq_->get();
    sqlite3_reset(s);
    if (sqlite3_step(s) != SQLITE_ROW) return Abort("read the last alert row");
    *any = sqlite3_column_type(s, 0) != SQLITE_NULL;
    *max = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return Status::Ok();
  }

  // Version 4 to 5, inside Init's transaction: rules rows from the alerts'
  // fields, then each alert renumbered by AlertSeq with a 16-byte id (an id
  // that is not 32 hex digits, which vigil never wrote, kept as its text).
  Status MigrateV4() {
    VIGIL_RETURN_IF_ERROR(Exec(std::string(kRulesTable) + R"sql(
INSERT OR IGNORE INTO rules (rule_id, title, severity, tags, finding_type)
  SELECT rule_id, title, severity, tags, finding_type FROM alerts ORDER BY seq;
CREATE TABLE alerts_v5 )sql" + kAlertsColumns + R"sql(;
CREATE TABLE alert_event_ids_v5 (seq INTEGER PRIMARY KEY, ids BLOB NOT NULL);
)sql"));
    {
      Stmt read, insert, put_ids;
      if (sqlite3_prepare_v2(db_, R"sql(
SELECT a.id, r.ref, a.severity_rank, a.entity, a.bucket_start_ns, a.first_seen_ns, a.last_seen_ns, a.count,
       a.match, a.match_time_ns, a.ids, a.ids_full_ns, e.ids
FROM alerts a JOIN rules r ON (r.rule_id, r.title, r.severity, r.tags, r.finding_type) =
                              (a.rule_id, a.title, a.severity, a.tags, a.finding_type)
LEFT JOIN alert_event_ids e ON e.seq = a.seq ORDER BY a.seq)sql",
                             -1, read.out(), nullptr) != SQLITE_OK ||
          sqlite3_prepare_v2(db_, R"sql(
INSERT INTO alerts_v5 (seq, id, rule, severity_rank, entity, bucket_start_ns, first_seen_ns, last_seen_ns, count,
                       match, match_time_ns, ids, ids_full_ns)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) ON CONFLICT DO NOTHING)sql",
                             -1, insert.out(), nullptr) != SQLITE_OK ||
          sqlite3_prepare_v2(db_, "INSERT INTO alert_event_ids_v5 (seq, ids) VALUES (?1, ?2)", -1, put_ids.out(),
                             nullptr) != SQLITE_OK) {
        return Error("migrate to schema version 5");
      }
      int rc;
      while ((rc = sqlite3_step(read.get())) == SQLITE_ROW) {
        sqlite3_stmt* r = read.get();
        const std::string_view text = ColumnBlob(r, 0);
        char packed[16];
        const std::string id = PackHexId(text, /*uuid=*/false, packed) ? std::string(packed, 16) : std::string(text);
        sqlite3_stmt* w = insert.get();
        int64_t seq = AlertSeq(sqlite3_column_int64(r, 4), id);
        for (;; seq = NextSeq(seq)) {
          sqlite3_reset(w);
          sqlite3_bind_int64(w, 1, seq);
          sqlite3_bind_blob(w, 2, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
          for (int c = 1; c < 12; ++c) sqlite3_bind_value(w, c + 2, sqlite3_column_value(r, c));
          if (sqlite3_step(w) != SQLITE_DONE) return Error("migrate alert " + std::string(text));
          if (sqlite3_changes(db_) == 1) break;
        }
        if (sqlite3_column_type(r, 12) != SQLITE_NULL) {
          sqlite3_reset(put_ids.get());
          sqlite3_bind_int64(put_ids.get(), 1, seq);
          sqlite3_bind_value(put_ids.get(), 2, sqlite3_column_value(r, 12));
          if (sqlite3_step(put_ids.get()) != SQLITE_DONE) return Error("migrate event ids of alert " + std::string(text));
        }
      }
      if (rc != SQLITE_DONE) return Error("migrate to schema version 5");
    }
    return Exec(std::string(R"sql(
DROP TABLE alerts;
DROP TABLE alert_event_ids;
ALTER TABLE alerts_v5 RENAME TO alerts;
ALTER TABLE alert_event_ids_v5 RENAME TO alert_event_ids;
)sql") + kAlertsPriorityIndex);
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
  std::unique_ptr<Stmt> find_alert_, insert_alert_, insert_batch_, max_seq_, update_alert_, inline_ids_, get_ids_,
      put_ids_, find_rule_, insert_rule_, get_rule_, put_state_, delete_state_, get_state_;
  std::string scratch_;  // decoded id text (ListAlerts), or the stored list being merged
  StoredIds stored_ids_;  // the stored list being merged, viewing scratch_
  // For one commit: encoded tag lists by list, rules rows by the fold's
  // strings (the deltas point at them), and rules rows read or written.
  std::unordered_map<const std::vector<std::string>*, std::string> tags_json_;
  std::unordered_map<RuleKey, int64_t, RuleKeyHash> rule_refs_;
  std::unordered_map<int64_t, RuleRow> rules_;
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenSqliteMetadata(const std::string& path, const MetadataOptions& options) {
  auto store = std::make_unique<SqliteMetadata>(path);
  VIGIL_RETURN_IF_ERROR(store->Init(options.read_only));
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace vigil
