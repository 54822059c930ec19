// The v1 segment store: time-partitioned, zstd-compressed segment files.
// Layout and crash-safety argument: docs/storage-format.md.
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <queue>
#include <random>

#include "common/hash.h"
#include "common/hash_set.h"
#include "common/time.h"
#include "env/env.h"
#include "store/event_store.h"
#include "store/internal/segment.h"

namespace vigil {
namespace {

using segment::BlockBuilder;
using segment::BlockHandle;
using segment::RecordView;
using segment::SegmentBuilder;
using segment::SegmentReader;

// Largest raw record the store accepts (keeps every block under the reader's
// kMaxBlockRawBytes limit).
constexpr size_t kMaxRawBytes = 16u << 20;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Directory name for a source type: [A-Za-z0-9_-] and inner '.' kept, every
// other byte (and a leading '.') as %XX. Empty becomes "%".
std::string EscapeSourceType(std::string_view st) {
  if (st.empty()) return "%";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(st.size());
  for (size_t i = 0; i < st.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(st[i]);
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                (c == '.' && i > 0);
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string DayPath(int64_t day) {
  CivilDate c = CivilFromDays(day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d/%02d/%02d", c.year, c.month, c.day);
  return buf;
}

std::string NewSegmentName() {
  static std::atomic<uint64_t> seq{0};
  static const uint64_t nonce = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%016llx-%016llx-%06llx%s", static_cast<unsigned long long>(NowNanos()),
                static_cast<unsigned long long>(nonce), static_cast<unsigned long long>(seq++),
                segment::kSegmentSuffix);
  return buf;
}

bool ParseInt(std::string_view s, size_t digits, int* out) {
  if (s.size() != digits) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

Status ListDirOrEmpty(Env* env, const std::string& dir, std::vector<DirEntry>* out) {
  Status s = env->ListDir(dir, out);
  if (s.code() == StatusCode::kNotFound) {
    out->clear();
    return Status::Ok();
  }
  return s;
}

// Partition directories by day: day -> [events/<st>/<YYYY>/<MM>/<DD>, ...].
Status ListPartitions(Env* env, const std::string& root, const std::optional<std::string>& source_type,
                      std::map<int64_t, std::vector<std::string>>* out) {
  out->clear();
  std::vector<DirEntry> sts, years, months, days;
  VIGIL_RETURN_IF_ERROR(ListDirOrEmpty(env, root, &sts));
  std::string wanted = source_type ? EscapeSourceType(*source_type) : std::string();
  for (const DirEntry& st : sts) {
    if (!st.is_dir || (source_type && st.name != wanted)) continue;
    std::string st_dir = JoinPath(root, st.name);
    VIGIL_RETURN_IF_ERROR(ListDirOrEmpty(env, st_dir, &years));
    for (const DirEntry& y : years) {
      int year;
      if (!y.is_dir || !ParseInt(y.name, 4, &year)) continue;
      std::string y_dir = JoinPath(st_dir, y.name);
      VIGIL_RETURN_IF_ERROR(ListDirOrEmpty(env, y_dir, &months));
      for (const DirEntry& m : months) {
        int month;
        if (!m.is_dir || !ParseInt(m.name, 2, &month) || month < 1 || month > 12) continue;
        std::string m_dir = JoinPath(y_dir, m.name);
        VIGIL_RETURN_IF_ERROR(ListDirOrEmpty(env, m_dir, &days));
        for (const DirEntry& d : days) {
          int day;
          if (!d.is_dir || !ParseInt(d.name, 2, &day) || day < 1 || day > 31) continue;
          int64_t n = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
          (*out)[n].push_back(JoinPath(m_dir, d.name));
        }
      }
    }
  }
  return Status::Ok();
}

// Segment file paths in a partition directory, sorted by name.
Status ListSegments(Env* env, const std::string& dir, std::vector<std::string>* out) {
  out->clear();
  std::vector<DirEntry> entries;
  VIGIL_RETURN_IF_ERROR(ListDirOrEmpty(env, dir, &entries));
  for (const DirEntry& e : entries) {
    if (!e.is_dir && EndsWith(e.name, segment::kSegmentSuffix)) out->push_back(JoinPath(dir, e.name));
  }
  std::sort(out->begin(), out->end());
  return Status::Ok();
}

class SegmentWriter;

class SegmentStore final : public EventStore {
 public:
  SegmentStore(std::string root, SegmentStoreOptions options) : root_(std::move(root)), options_(std::move(options)) {}

  Result<std::unique_ptr<EventWriter>> NewWriter() override;
  Status Publish(const std::vector<std::string>& names) override;
  Status Scan(const ScanOptions& options, const std::function<bool(const StoredEvent&)>& fn) override;
  Result<uint64_t> CountEvents() override;
  Result<StoreCheck> Verify() override;

  Env* env() const { return options_.env; }
  const std::string& root() const { return root_; }
  const SegmentStoreOptions& options() const { return options_; }
  void Report(const Status& s) const {
    if (options_.on_skipped_file) options_.on_skipped_file(s);
  }

 private:
  Status ScanDay(const std::vector<std::string>& dirs, const ScanOptions& options,
                 const std::function<void(const Status&)>& report,
                 const std::function<bool(const StoredEvent&)>& fn, bool* stopped);

  std::string root_;
  SegmentStoreOptions options_;
  bool stale_removed_ = false;
};

// ---------------------------------------------------------------- the writer

class SegmentWriter final : public EventWriter {
 public:
  explicit SegmentWriter(SegmentStore* store) : store_(store), env_(store->env()), options_(store->options()) {}
  ~SegmentWriter() override {
    if (cctx_ != nullptr) ZSTD_freeCCtx(cctx_);
    // In-progress segments are abandoned by ~SegmentBuilder (temp files
    // removed); so are sealed ones not yet handed out by Prepare.
    for (const Sealed& sealed : sealed_) (void)env_->RemoveFile(JoinPath(store_->root(), sealed.name) + segment::kTempSuffix);
  }

  Status Init() {
    cctx_ = ZSTD_createCCtx();
    if (cctx_ == nullptr) return Status::Internal("zstd: cannot create compression context");
    return Status::Ok();
  }

  bool Contains(const Event& event) override {
    Partition* p = GetPartition(event.source_type, DayNumber(event.time_ns));
    return p != nullptr && p->ids.Contains(IdHash(event.id));
  }

  Result<bool> Add(const Event& event) override {
    if (!error_.ok()) return error_;
    if (event.raw.size() > kMaxRawBytes) {
      return Status::LimitExceeded("event " + event.id + ": raw record of " + std::to_string(event.raw.size()) +
                                   " bytes exceeds the store limit of " + std::to_string(kMaxRawBytes));
    }
    Partition* p = GetPartition(event.source_type, DayNumber(event.time_ns));
    if (p == nullptr) return error_;
    Hash128 h = IdHash(event.id);
    if (!p->ids.Insert(h)) return false;
    ++cached_ids_;
    if (p->block == nullptr) {
      Status s = Activate(p);
      if (!s.ok()) return Fail(s);
    }
    p->block->Add(event);
    p->segment_ids.push_back(h);
    if (p->block->raw_bytes() >= options_.block_raw_bytes) {
      Status s = FlushBlock(p);
      if (!s.ok()) return Fail(s);
    }
    return true;
  }

  Result<std::vector<std::string>> Prepare() override {
    if (!error_.ok()) return error_;
    for (auto& [key, p] : partitions_) {
      if (p->block == nullptr) continue;
      Status s = Roll(p.get());
      if (!s.ok()) return Fail(s);
    }
    std::vector<std::string> names;
    names.reserve(sealed_.size());
    std::set<std::string> dirs;
    for (Sealed& sealed : sealed_) {
      names.push_back(sealed.name);
      dirs.insert(sealed.partition->dir);
      handed_out_.push_back(std::move(sealed));
    }
    sealed_.clear();
    // The temp files' directory entries must survive a crash for Publish to
    // roll them forward.
    for (const std::string& d : dirs) {
      Status s = env_->SyncDir(d);
      if (!s.ok()) return Fail(s.WithContext("preparing segments"));
    }
    return names;
  }

  Status Publish(const std::vector<std::string>& names) override {
    if (!error_.ok()) return error_;
    Status s = store_->Publish(names);
    if (!s.ok()) return Fail(s);
    for (const std::string& name : names) {
      for (size_t i = 0; i < handed_out_.size(); ++i) {
        if (handed_out_[i].name != name) continue;
        --handed_out_[i].partition->unpublished;
        handed_out_[i] = std::move(handed_out_.back());
        handed_out_.pop_back();
        break;
      }
    }
    return Status::Ok();
  }

 private:
  struct Partition {
    std::string source_type;
    int64_t day = 0;
    std::string rel_dir;  // relative to the store root
    std::string dir;
    bool dir_ready = false;
    bool ids_loaded = false;
    Hash128Set ids;
    std::unique_ptr<BlockBuilder> block;  // non-null while active
    std::unique_ptr<SegmentBuilder> segment;
    std::string segment_name;  // of `segment`, relative to the store root
    std::vector<Hash128> segment_ids;  // ids added since the last roll
    size_t unpublished = 0;  // sealed segments not yet published: their ids live only here
    uint64_t last_use = 0;
  };
  // A sealed segment (temp file) awaiting publication.
  struct Sealed {
    std::string name;  // relative to the store root
    Partition* partition;
  };

  // Callers usually ask Contains(e) and then Add(e): hash each id once.
  Hash128 IdHash(const std::string& id) {
    if (id.size() != last_id_.size() || id != last_id_) {
      last_id_.assign(id);
      last_hash_ = HashId128(id);
    }
    return last_hash_;
  }

  Status Fail(const Status& s) {
    if (error_.ok()) error_ = s;
    return error_;
  }

  Partition* GetPartition(const std::string& source_type, int64_t day) {
    Partition* p = last_;
    if (p == nullptr || p->day != day || p->source_type != source_type) {
      auto& slot = partitions_[std::make_pair(source_type, day)];
      if (slot == nullptr) {
        slot = std::make_unique<Partition>();
        slot->source_type = source_type;
        slot->day = day;
        slot->rel_dir = JoinPath(EscapeSourceType(source_type), DayPath(day));
        slot->dir = JoinPath(store_->root(), slot->rel_dir);
      }
      p = slot.get();
      last_ = p;
      p->last_use = ++clock_;
    }
    if (!p->ids_loaded) {
      Status s = LoadIds(p);
      if (!s.ok()) {
        (void)Fail(s);
        return nullptr;
      }
    }
    return p;
  }

  // Reads the id sets of every valid segment already in the partition.
  Status LoadIds(Partition* p) {
    std::vector<std::string> files;
    VIGIL_RETURN_IF_ERROR(ListSegments(env_, p->dir, &files));
    std::vector<Hash128> ids;
    for (const std::string& f : files) {
      auto reader = SegmentReader::Open(env_, f);
      Status s = reader.ok() ? (*reader)->ReadIds(&ids) : reader.status();
      if (!s.ok()) {
        store_->Report(s);
        continue;
      }
      p->ids.Reserve(p->ids.size() + ids.size());
      for (const Hash128& h : ids) cached_ids_ += p->ids.Insert(h);
    }
    // Ids added by this writer before an eviction are all in published
    // segments (only idle, published partitions are evicted), so the files
    // above cover them.
    p->ids_loaded = true;
    MaybeEvict(p);
    return Status::Ok();
  }

  void MaybeEvict(Partition* keep) {
    while (cached_ids_ > options_.max_cached_ids) {
      Partition* victim = nullptr;
      for (auto& [key, q] : partitions_) {
        if (q.get() == keep || !q->ids_loaded || q->block != nullptr || q->unpublished > 0) continue;
        if (victim == nullptr || q->last_use < victim->last_use) victim = q.get();
      }
      if (victim == nullptr) return;
      cached_ids_ -= victim->ids.size();
      victim->ids.Clear();
      victim->ids_loaded = false;
      if (last_ == victim) last_ = nullptr;
    }
  }

  Status Activate(Partition* p) {
    if (active_ >= options_.max_open_partitions) {
      Partition* victim = nullptr;
      for (auto& [key, q] : partitions_) {
        if (q.get() == p || q->block == nullptr) continue;
        if (victim == nullptr || q->last_use < victim->last_use) victim = q.get();
      }
      if (victim != nullptr) VIGIL_RETURN_IF_ERROR(Roll(victim));
    }
    if (!pool_.empty()) {
      p->block = std::move(pool_.back());
      pool_.pop_back();
    } else {
      p->block = std::make_unique<BlockBuilder>();
    }
    ++active_;
    return Status::Ok();
  }

  Status EnsureDir(Partition* p) {
    if (p->dir_ready) return Status::Ok();
    VIGIL_RETURN_IF_ERROR(env_->CreateDirs(p->dir));
    // Make the directory entries durable, from the partition up to the root;
    // also when they already exist, as a crashed writer may not have synced them.
    std::string d = p->dir;
    while (d.size() > store_->root().size()) {
      d = DirName(d);
      VIGIL_RETURN_IF_ERROR(env_->SyncDir(d));
    }
    p->dir_ready = true;
    return Status::Ok();
  }

  Status FlushBlock(Partition* p) {
    if (p->block->empty()) return Status::Ok();
    if (p->segment == nullptr) {
      VIGIL_RETURN_IF_ERROR(EnsureDir(p));
      p->segment_name = JoinPath(p->rel_dir, NewSegmentName());
      VIGIL_ASSIGN_OR_RETURN(p->segment, SegmentBuilder::Create(env_, JoinPath(store_->root(), p->segment_name),
                                                                p->source_type, options_.keys.get()));
    }
    BlockHandle handle;
    VIGIL_RETURN_IF_ERROR(p->block->Finish(cctx_, options_.zstd_level, &block_buf_, &handle, p->segment->codec(),
                                           p->segment->next_block_index()));
    VIGIL_RETURN_IF_ERROR(p->segment->AddBlock(block_buf_, handle));
    if (p->segment->file_size() >= options_.segment_bytes) VIGIL_RETURN_IF_ERROR(FinishSegment(p));
    return Status::Ok();
  }

  Status FinishSegment(Partition* p) {
    if (p->segment == nullptr) return Status::Ok();
    for (const Hash128& h : p->segment_ids) p->segment->AddId(h);
    Status s = p->segment->Seal();
    p->segment.reset();
    p->segment_ids.clear();
    if (s.ok()) {
      sealed_.push_back(Sealed{p->segment_name, p});
      ++p->unpublished;
    }
    return s;
  }

  // Flushes the pending block, finishes the segment and deactivates.
  Status Roll(Partition* p) {
    VIGIL_RETURN_IF_ERROR(FlushBlock(p));
    VIGIL_RETURN_IF_ERROR(FinishSegment(p));
    if (p->block != nullptr) {
      if (pool_.size() < options_.max_open_partitions) pool_.push_back(std::move(p->block));
      p->block.reset();
      --active_;
    }
    if (p->segment_ids.capacity() > 4096) std::vector<Hash128>().swap(p->segment_ids);
    return Status::Ok();
  }

  SegmentStore* store_;
  Env* env_;
  const SegmentStoreOptions& options_;
  ZSTD_CCtx* cctx_ = nullptr;
  std::string block_buf_;
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<Partition>> partitions_;
  Partition* last_ = nullptr;
  std::string last_id_;
  Hash128 last_hash_ = HashId128("");
  std::vector<std::unique_ptr<BlockBuilder>> pool_;
  std::vector<Sealed> sealed_;      // sealed, not yet returned by Prepare
  std::vector<Sealed> handed_out_;  // returned by Prepare, not yet published
  size_t active_ = 0;
  size_t cached_ids_ = 0;
  uint64_t clock_ = 0;
  Status error_;
};

Result<std::unique_ptr<EventWriter>> SegmentStore::NewWriter() {
  if (options_.read_only) return Status::FailedPrecondition("event store " + root_ + " is open read-only");
  if (options_.remove_stale_temp_files && !stale_removed_) {
    std::vector<std::string> files;
    Status s = env()->ListFilesRecursive(root_, &files);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    std::set<std::string> removed;
    for (const std::string& rel : files) {
      if (!EndsWith(rel, segment::kTempSuffix)) continue;
      VIGIL_RETURN_IF_ERROR(env()->RemoveFile(JoinPath(root_, rel)));
      removed.insert(rel);
    }
    // The key files of those segments (never published; interrupted commits
    // were rolled forward before this). Only those: a key file whose segment
    // is elsewhere (a cold tier's stub) is the one thing that still opens it.
    for (const std::string& rel : files) {
      if (!EndsWith(rel, std::string(segment::kSegmentSuffix) + segment::kKeyFileSuffix)) continue;
      const std::string seg = rel.substr(0, rel.size() - std::strlen(segment::kKeyFileSuffix));
      if (removed.count(seg + segment::kTempSuffix)) VIGIL_RETURN_IF_ERROR(env()->RemoveFile(JoinPath(root_, rel)));
    }
    stale_removed_ = true;
  }
  auto w = std::make_unique<SegmentWriter>(this);
  VIGIL_RETURN_IF_ERROR(w->Init());
  return std::unique_ptr<EventWriter>(std::move(w));
}

Status SegmentStore::Publish(const std::vector<std::string>& names) {
  std::set<std::string> dirs;
  for (const std::string& name : names) {
    const std::string path = JoinPath(root_, name);
    VIGIL_RETURN_IF_ERROR(segment::PublishSegment(env(), path));
    dirs.insert(DirName(path));
  }
  // Until the directories are synced a published segment may vanish on a
  // crash (and be rolled forward again), but never appear half-written.
  for (const std::string& d : dirs) VIGIL_RETURN_IF_ERROR(env()->SyncDir(d).WithContext("publishing segments"));
  return Status::Ok();
}

// ---------------------------------------------------------------- scanning

// One decoded block being merged.
struct Cursor {
  std::string raw;
  std::vector<RecordView> records;
  size_t next = 0;  // records consumed
};

// A heap entry: an unopened block (keyed by its first possible time) or the
// next record of an open block.
struct MergeItem {
  int64_t time;
  bool is_block;
  std::string_view id;  // records only
  size_t reader;
  size_t block;   // blocks only
  size_t cursor;  // records only
};

Status SegmentStore::ScanDay(const std::vector<std::string>& dirs, const ScanOptions& options,
                             const std::function<void(const Status&)>& report,
                             const std::function<bool(const StoredEvent&)>& fn, bool* stopped) {
  const bool desc = options.newest_first;
  const int64_t from = options.from_ns.value_or(INT64_MIN);
  const int64_t to = options.to_ns.value_or(INT64_MAX);
  const bool to_set = options.to_ns.has_value();
  auto in_range = [&](int64_t t) { return t >= from && (!to_set || t < to); };
  auto overlaps = [&](int64_t lo, int64_t hi) { return hi >= from && (!to_set || lo < to); };

  std::vector<std::unique_ptr<SegmentReader>> readers;
  std::vector<std::string> files;
  for (const std::string& dir : dirs) {
    VIGIL_RETURN_IF_ERROR(ListSegments(env(), dir, &files));
    for (const std::string& f : files) {
      auto r = SegmentReader::Open(env(), f, options_.keys.get());
      if (!r.ok()) {
        if (report) report(r.status());
        continue;
      }
      const auto& idx = (*r)->index();
      if (options.source_type && idx.source_type != *options.source_type) continue;
      if (!overlaps(idx.min_time_ns, idx.max_time_ns)) continue;
      readers.push_back(std::move(r).value());
    }
  }

  // before(a, b): a is emitted first.
  auto before = [desc](const MergeItem& a, const MergeItem& b) {
    if (a.time != b.time) return desc ? a.time > b.time : a.time < b.time;
    if (a.is_block != b.is_block) return a.is_block;
    if (a.is_block) return false;
    return desc ? a.id > b.id : a.id < b.id;
  };
  auto cmp = [&before](const MergeItem& a, const MergeItem& b) { return before(b, a); };
  std::priority_queue<MergeItem, std::vector<MergeItem>, decltype(cmp)> heap(cmp);
  for (size_t r = 0; r < readers.size(); ++r) {
    const auto& blocks = readers[r]->index().blocks;
    for (size_t b = 0; b < blocks.size(); ++b) {
      if (!overlaps(blocks[b].min_time_ns, blocks[b].max_time_ns)) continue;
      heap.push({desc ? blocks[b].max_time_ns : blocks[b].min_time_ns, true, {}, r, b, 0});
    }
  }

  std::vector<std::unique_ptr<Cursor>> cursors;
  std::vector<size_t> free_cursors;
  auto push_next = [&](size_t c) {
    Cursor& cur = *cursors[c];
    if (cur.next >= cur.records.size()) {
      free_cursors.push_back(c);
      return;
    }
    const RecordView& rec = cur.records[desc ? cur.records.size() - 1 - cur.next : cur.next];
    heap.push({rec.time_ns, false, rec.id, 0, 0, c});
  };

  StoredEvent ev;
  while (!heap.empty()) {
    MergeItem item = heap.top();
    heap.pop();
    if (item.is_block) {
      size_t c;
      if (!free_cursors.empty()) {
        c = free_cursors.back();
        free_cursors.pop_back();
      } else {
        c = cursors.size();
        cursors.push_back(std::make_unique<Cursor>());
      }
      Cursor& cur = *cursors[c];
      cur.next = 0;
      VIGIL_RETURN_IF_ERROR(readers[item.reader]->ReadBlock(item.block, &cur.raw, &cur.records));
      push_next(c);
      continue;
    }
    Cursor& cur = *cursors[item.cursor];
    const RecordView& rec = cur.records[desc ? cur.records.size() - 1 - cur.next : cur.next];
    ++cur.next;
    if (in_range(rec.time_ns)) {
      ev.id.assign(rec.id);
      ev.source_type.assign(rec.source_type);
      ev.time_ns = rec.time_ns;
      ev.ingest_time_ns = rec.ingest_time_ns;
      ev.time_fallback = rec.time_fallback;
      ev.account.assign(rec.account);
      ev.principal.assign(rec.principal);
      ev.raw.assign(rec.raw);
      if (!fn(ev)) {
        *stopped = true;
        return Status::Ok();
      }
    }
    push_next(item.cursor);
  }
  return Status::Ok();
}

Status SegmentStore::Scan(const ScanOptions& options, const std::function<bool(const StoredEvent&)>& fn) {
  if (options.from_ns && options.to_ns && *options.from_ns >= *options.to_ns) return Status::Ok();
  if (options.to_ns && *options.to_ns == INT64_MIN) return Status::Ok();
  const auto& report = options.on_skipped_file ? options.on_skipped_file : options_.on_skipped_file;
  std::map<int64_t, std::vector<std::string>> days;
  VIGIL_RETURN_IF_ERROR(ListPartitions(env(), root_, options.source_type, &days));
  auto first = options.from_ns ? days.lower_bound(DayNumber(*options.from_ns)) : days.begin();
  auto last = options.to_ns ? days.upper_bound(DayNumber(*options.to_ns - 1)) : days.end();
  if (first == days.end() || (last != days.end() && first->first >= last->first)) return Status::Ok();
  std::vector<std::map<int64_t, std::vector<std::string>>::iterator> order;
  for (auto it = first; it != last; ++it) order.push_back(it);
  if (options.newest_first) std::reverse(order.begin(), order.end());
  bool stopped = false;
  for (auto it : order) {
    VIGIL_RETURN_IF_ERROR(ScanDay(it->second, options, report, fn, &stopped));
    if (stopped) break;
  }
  return Status::Ok();
}

Result<uint64_t> SegmentStore::CountEvents() {
  std::map<int64_t, std::vector<std::string>> days;
  VIGIL_RETURN_IF_ERROR(ListPartitions(env(), root_, std::nullopt, &days));
  uint64_t total = 0;
  std::vector<std::string> files;
  for (const auto& [day, dirs] : days) {
    for (const std::string& dir : dirs) {
      VIGIL_RETURN_IF_ERROR(ListSegments(env(), dir, &files));
      for (const std::string& f : files) {
        auto r = SegmentReader::Open(env(), f);
        if (!r.ok()) {
          Report(r.status());
          continue;
        }
        total += (*r)->index().record_count;
      }
    }
  }
  return total;
}

Result<StoreCheck> SegmentStore::Verify() {
  StoreCheck check;
  std::vector<std::string> files;
  Status s = env()->ListFilesRecursive(root_, &files);
  if (s.code() == StatusCode::kNotFound) return check;
  VIGIL_RETURN_IF_ERROR(s);
  std::string raw;
  std::vector<RecordView> records;
  std::vector<Hash128> ids;
  for (const std::string& rel : files) {
    if (EndsWith(rel, segment::kTempSuffix)) {
      ++check.temp_files;
      continue;
    }
    if (!EndsWith(rel, segment::kSegmentSuffix)) continue;
    auto r = SegmentReader::Open(env(), JoinPath(root_, rel), options_.keys.get());
    if (!r.ok()) {
      check.problems.push_back(r.status());
      continue;
    }
    Status ids_status = (*r)->ReadIds(&ids);
    if (!ids_status.ok()) check.problems.push_back(ids_status);
    bool segment_ok = ids_status.ok();
    for (size_t b = 0; b < (*r)->index().blocks.size(); ++b) {
      Status bs = (*r)->ReadBlock(b, &raw, &records);
      if (!bs.ok()) {
        check.problems.push_back(bs);
        segment_ok = false;
        continue;
      }
      ++check.blocks;
      check.events += records.size();
    }
    if (segment_ok) ++check.segments;
  }
  return check;
}

}  // namespace

Result<std::unique_ptr<EventStore>> OpenSegmentStore(const std::string& dir, const SegmentStoreOptions& options) {
  SegmentStoreOptions o = options;
  if (o.env == nullptr) o.env = Env::Default();
  if (o.block_raw_bytes == 0 || o.block_raw_bytes > segment::kMaxBlockRawBytes / 2) {
    return Status::InvalidArgument("segment store: block_raw_bytes must be in 1.." +
                                   std::to_string(segment::kMaxBlockRawBytes / 2));
  }
  if (o.max_open_partitions == 0) o.max_open_partitions = 1;
  return std::unique_ptr<EventStore>(new SegmentStore(dir, std::move(o)));
}

}  // namespace vigil
