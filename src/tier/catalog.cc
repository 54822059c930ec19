#include "tier/catalog.h"

#include <sqlite3.h>

#include "common/time.h"

namespace vigil {

const char* TierName(Tier tier) {
  switch (tier) {
    case Tier::kHot: return "hot";
    case Tier::kWarm: return "warm";
    case Tier::kCold: return "cold";
  }
  return "hot";
}

Result<Tier> ParseTier(const std::string& name) {
  if (name == "hot") return Tier::kHot;
  if (name == "warm") return Tier::kWarm;
  if (name == "cold") return Tier::kCold;
  return Status::Corruption("storage catalog: unknown tier '" + name + "'");
}

bool LegalHold::Covers(const std::string& source, int64_t min_ns, int64_t max_ns) const {
  if (source_type != "*" && source_type != source) return false;
  if (from_ns && max_ns < *from_ns) return false;
  if (to_ns && min_ns >= *to_ns) return false;
  return true;
}

namespace {

constexpr int kSchemaVersion = 1;

constexpr char kSchema[] = R"sql(
CREATE TABLE segments (
  path         TEXT PRIMARY KEY,
  source_type  TEXT NOT NULL,
  min_time_ns  INTEGER NOT NULL,
  max_time_ns  INTEGER NOT NULL,
  events       INTEGER NOT NULL,
  raw_bytes    INTEGER NOT NULL,
  stored_bytes INTEGER NOT NULL,
  tier         TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE ledger (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  started_ns   INTEGER NOT NULL,
  finished_ns  INTEGER NOT NULL DEFAULT 0,
  action       TEXT NOT NULL,
  status       TEXT NOT NULL,
  path         TEXT NOT NULL DEFAULT '',
  source_type  TEXT NOT NULL DEFAULT '',
  from_tier    TEXT NOT NULL DEFAULT '',
  to_tier      TEXT NOT NULL DEFAULT '',
  events       INTEGER NOT NULL DEFAULT 0,
  bytes_before INTEGER NOT NULL DEFAULT 0,
  bytes_after  INTEGER NOT NULL DEFAULT 0,
  object       TEXT NOT NULL DEFAULT '',
  note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ledger_pending ON ledger (status) WHERE status = 'pending';
CREATE TABLE holds (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  source_type TEXT NOT NULL,
  from_ns     INTEGER,
  to_ns       INTEGER,
  reason      TEXT NOT NULL,
  created_ns  INTEGER NOT NULL,
  released_ns INTEGER
);
)sql";

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Status status() const {
    return rc_ == SQLITE_OK ? Status::Ok() : Status::IoError(std::string("storage catalog: ") + sqlite3_errmsg(db_));
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::optional<int64_t>& v) {
    if (v) sqlite3_bind_int64(s_, i, *v);
    else sqlite3_bind_null(s_, i);
    return *this;
  }
  // SQLITE_ROW / SQLITE_DONE, or an error status.
  Result<bool> Step() {
    if (rc_ != SQLITE_OK) return status();
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Status::IoError(std::string("storage catalog: ") + sqlite3_errmsg(db_));
  }
  Status Run() {
    auto r = Step();
    return r.ok() ? Status::Ok() : r.status();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  bool Null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::IoError("storage catalog: " + m);
  }
  return Status::Ok();
}

// Runs `fn` in one IMMEDIATE transaction.
template <typename Fn>
Status Transaction(sqlite3* db, Fn&& fn) {
  VIGIL_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
  Status s = fn();
  if (!s.ok()) {
    (void)Exec(db, "ROLLBACK");
    return s;
  }
  return Exec(db, "COMMIT");
}

Status UpsertRow(sqlite3* db, const CatalogSegment& s, bool replace = true) {
  const std::string sql = std::string(replace ? "INSERT OR REPLACE" : "INSERT OR IGNORE") +
                          " INTO segments (path, source_type, min_time_ns, max_time_ns, events, raw_bytes, "
                          "stored_bytes, tier) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
  Stmt st(db, sql.c_str());
  st.Bind(1, s.path).Bind(2, s.source_type).Bind(3, s.min_time_ns).Bind(4, s.max_time_ns);
  st.Bind(5, static_cast<int64_t>(s.events)).Bind(6, static_cast<int64_t>(s.raw_bytes));
  st.Bind(7, static_cast<int64_t>(s.stored_bytes)).Bind(8, std::string(TierName(s.tier)));
  return st.Run();
}

Status RemoveRow(sqlite3* db, const std::string& path) {
  Stmt st(db, "DELETE FROM segments WHERE path = ?1");
  st.Bind(1, path);
  return st.Run();
}

Result<int64_t> InsertLedger(sqlite3* db, const LedgerEntry& e) {
  Stmt st(db,
          "INSERT INTO ledger (started_ns, finished_ns, action, status, path, source_type, from_tier, to_tier, events, "
          "bytes_before, bytes_after, object, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  st.Bind(1, e.started_ns).Bind(2, e.finished_ns).Bind(3, e.action).Bind(4, e.status).Bind(5, e.path);
  st.Bind(6, e.source_type).Bind(7, e.from_tier).Bind(8, e.to_tier).Bind(9, static_cast<int64_t>(e.events));
  st.Bind(10, static_cast<int64_t>(e.bytes_before)).Bind(11, static_cast<int64_t>(e.bytes_after));
  st.Bind(12, e.object).Bind(13, e.note);
  VIGIL_RETURN_IF_ERROR(st.Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
}

}  // namespace

struct StorageCatalog::Db {
  sqlite3* db = nullptr;
  ~Db() { sqlite3_close(db); }
};

StorageCatalog::StorageCatalog(std::unique_ptr<Db> db) : db_(std::move(db)) {}
StorageCatalog::~StorageCatalog() = default;

Result<std::unique_ptr<StorageCatalog>> StorageCatalog::Open(const std::string& path) {
  auto db = std::make_unique<Db>();
  if (sqlite3_open_v2(path.c_str(), &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return Status::IoError(path + ": cannot open the storage catalog: " +
                           (db->db ? sqlite3_errmsg(db->db) : "out of memory"));
  }
  sqlite3_busy_timeout(db->db, 10'000);
  // FULL: a ledger row must be durable before the move it records begins.
  Status s = Exec(db->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  if (!s.ok()) return s.WithContext(path);
  int64_t version = 0;
  {
    Stmt st(db->db, "PRAGMA user_version");
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) version = st.Int(0);
  }
  if (version > kSchemaVersion) {
    return Status::Unsupported(path + ": storage catalog schema " + std::to_string(version) + "; this vigil reads up to " +
                               std::to_string(kSchemaVersion));
  }
  if (version == 0) {
    s = Transaction(db->db, [&] {
      VIGIL_RETURN_IF_ERROR(Exec(db->db, kSchema));
      return Exec(db->db, "PRAGMA user_version = 1");
    });
    // Another process may have created it first.
    if (!s.ok()) {
      Stmt st(db->db, "PRAGMA user_version");
      auto row = st.Step();
      if (!row.ok() || !*row || st.Int(0) != kSchemaVersion) return s.WithContext(path);
    }
  }
  return std::unique_ptr<StorageCatalog>(new StorageCatalog(std::move(db)));
}

Result<std::map<std::string, CatalogSegment>> StorageCatalog::Segments() {
  std::map<std::string, CatalogSegment> out;
  Stmt st(db_->db,
          "SELECT path, source_type, min_time_ns, max_time_ns, events, raw_bytes, stored_bytes, tier FROM segments");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    CatalogSegment s;
    s.path = st.Text(0);
    s.source_type = st.Text(1);
    s.min_time_ns = st.Int(2);
    s.max_time_ns = st.Int(3);
    s.events = static_cast<uint64_t>(st.Int(4));
    s.raw_bytes = static_cast<uint64_t>(st.Int(5));
    s.stored_bytes = static_cast<uint64_t>(st.Int(6));
    VIGIL_ASSIGN_OR_RETURN(s.tier, ParseTier(st.Text(7)));
    out.emplace(s.path, std::move(s));
  }
  return out;
}

Status StorageCatalog::Upsert(const CatalogSegment& segment, bool replace) {
  return UpsertRow(db_->db, segment, replace);
}
Status StorageCatalog::Remove(const std::string& path) { return RemoveRow(db_->db, path); }

Result<int64_t> StorageCatalog::Begin(const LedgerEntry& entry) {
  LedgerEntry e = entry;
  e.status = "pending";
  e.finished_ns = 0;
  if (e.started_ns == 0) e.started_ns = NowNanos();
  return InsertLedger(db_->db, e);
}

Status StorageCatalog::Finish(int64_t seq, const std::string& status, uint64_t bytes_after, const std::string& note,
                              const CatalogSegment* segment, bool remove_segment) {
  Status s = Transaction(db_->db, [&]() -> Status {
    Stmt st(db_->db, "UPDATE ledger SET status = ?1, finished_ns = ?2, bytes_after = ?3, note = ?4 WHERE seq = ?5");
    st.Bind(1, status).Bind(2, NowNanos()).Bind(3, static_cast<int64_t>(bytes_after)).Bind(4, note).Bind(5, seq);
    VIGIL_RETURN_IF_ERROR(st.Run());
    if (segment != nullptr) VIGIL_RETURN_IF_ERROR(UpsertRow(db_->db, *segment));
    if (remove_segment) {
      Stmt rm(db_->db, "DELETE FROM segments WHERE path = (SELECT path FROM ledger WHERE seq = ?1)");
      rm.Bind(1, seq);
      VIGIL_RETURN_IF_ERROR(rm.Run());
    }
    return Status::Ok();
  });
  return s.WithContext("storage ledger entry " + std::to_string(seq));
}

Result<std::vector<LedgerEntry>> StorageCatalog::Ledger(bool pending_only, size_t limit) {
  std::string sql =
      "SELECT seq, started_ns, finished_ns, action, status, path, source_type, from_tier, to_tier, events, "
      "bytes_before, bytes_after, object, note FROM ledger";
  if (pending_only) sql += " WHERE status = 'pending'";
  // The newest `limit` rows, printed oldest first.
  if (limit > 0) sql = "SELECT * FROM (" + sql + " ORDER BY seq DESC LIMIT " + std::to_string(limit) + ")";
  sql += " ORDER BY seq";
  Stmt st(db_->db, sql.c_str());
  std::vector<LedgerEntry> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    LedgerEntry e;
    e.seq = st.Int(0);
    e.started_ns = st.Int(1);
    e.finished_ns = st.Int(2);
    e.action = st.Text(3);
    e.status = st.Text(4);
    e.path = st.Text(5);
    e.source_type = st.Text(6);
    e.from_tier = st.Text(7);
    e.to_tier = st.Text(8);
    e.events = static_cast<uint64_t>(st.Int(9));
    e.bytes_before = static_cast<uint64_t>(st.Int(10));
    e.bytes_after = static_cast<uint64_t>(st.Int(11));
    e.object = st.Text(12);
    e.note = st.Text(13);
    out.push_back(std::move(e));
  }
  return out;
}

namespace {

std::string DescribeHold(const LegalHold& h) {
  std::string d = "source " + h.source_type;
  if (h.from_ns) d += " from " + FormatRfc3339(*h.from_ns);
  if (h.to_ns) d += " to " + FormatRfc3339(*h.to_ns);
  return d;
}

}  // namespace

Result<int64_t> StorageCatalog::AddHold(const LegalHold& hold) {
  int64_t id = 0;
  Status s = Transaction(db_->db, [&]() -> Status {
    const int64_t now = NowNanos();
    Stmt st(db_->db, "INSERT INTO holds (source_type, from_ns, to_ns, reason, created_ns) VALUES (?1, ?2, ?3, ?4, ?5)");
    st.Bind(1, hold.source_type).Bind(2, hold.from_ns).Bind(3, hold.to_ns).Bind(4, hold.reason).Bind(5, now);
    VIGIL_RETURN_IF_ERROR(st.Run());
    id = sqlite3_last_insert_rowid(db_->db);
    LedgerEntry e;
    e.started_ns = e.finished_ns = now;
    e.action = "hold";
    e.status = "done";
    e.source_type = hold.source_type;
    e.note = "hold " + std::to_string(id) + " (" + DescribeHold(hold) + "): " + hold.reason;
    return InsertLedger(db_->db, e).status();
  });
  if (!s.ok()) return s;
  return id;
}

Status StorageCatalog::ReleaseHold(int64_t id, const std::string& note) {
  return Transaction(db_->db, [&]() -> Status {
    const int64_t now = NowNanos();
    Stmt st(db_->db, "UPDATE holds SET released_ns = ?1 WHERE id = ?2 AND released_ns IS NULL");
    st.Bind(1, now).Bind(2, id);
    VIGIL_RETURN_IF_ERROR(st.Run());
    if (sqlite3_changes(db_->db) == 0) return Status::NotFound("no legal hold " + std::to_string(id) + " in force");
    Stmt src(db_->db, "SELECT source_type FROM holds WHERE id = ?1");
    src.Bind(1, id);
    VIGIL_ASSIGN_OR_RETURN(bool row, src.Step());
    LedgerEntry e;
    e.started_ns = e.finished_ns = now;
    e.action = "release";
    e.status = "done";
    e.source_type = row ? src.Text(0) : "";
    e.note = "hold " + std::to_string(id) + " released" + (note.empty() ? "" : ": " + note);
    return InsertLedger(db_->db, e).status();
  });
}

Result<std::vector<LegalHold>> StorageCatalog::Holds() {
  Stmt st(db_->db,
          "SELECT id, source_type, from_ns, to_ns, reason, created_ns FROM holds WHERE released_ns IS NULL ORDER BY id");
  std::vector<LegalHold> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    LegalHold h;
    h.id = st.Int(0);
    h.source_type = st.Text(1);
    if (!st.Null(2)) h.from_ns = st.Int(2);
    if (!st.Null(3)) h.to_ns = st.Int(3);
    h.reason = st.Text(4);
    h.created_ns = st.Int(5);
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace vigil
