// The segment store: time-partitioned, zstd-compressed segment files (v2
// written, v1 and v2 read).
// Layout and crash-safety argument: docs/storage-format.md.
// For ZSTD_createCDict_advanced (DictFor: a dictionary's tables sized for the
// blocks it compresses).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>
#include <queue>
#include <random>

#include "common/hash.h"
#include "common/hash_set.h"
#include "common/time.h"
#include "env/env.h"
#include "store/event_store.h"
#include "store/internal/segment.h"
#include "store/internal/segment_v2.h"
#include "store/segment_rewrite.h"

namespace vigil {

namespace segment {

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

}  // namespace segment

namespace {

using segment::BlockBuilder;
using segment::BlockHandle;
using segment::RecordView;
using segment::SegmentBuilder;
using segment::BlockBuilder2;
using segment::BlockData;
using segment::BlockHandle2;
using segment::DictionaryCache;
using segment::SegmentBuilder2;
using segment::SegmentFile;
using segment::ToStoredEvent;

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

// Segment file paths in a partition directory, sorted by name, without the
// inputs of a published compaction (segment_rewrite.h) not yet removed.
Status ListSegments(Env* env, const std::string& dir, std::vector<std::string>* out) {
  out->clear();
  std::vector<DirEntry> entries;
  VIGIL_RETURN_IF_ERROR(ListDirOrEmpty(env, dir, &entries));
  std::vector<std::string> markers;
  for (const DirEntry& e : entries) {
    if (e.is_dir) continue;
    if (EndsWith(e.name, segment::kSegmentSuffix)) out->push_back(JoinPath(dir, e.name));
    else if (EndsWith(e.name, kCompactionMarkerSuffix)) markers.push_back(e.name);
  }
  DropCompactedInputs(env, dir, markers, out);
  std::sort(out->begin(), out->end());
  return Status::Ok();
}

class SegmentWriter;

class SegmentStore final : public EventStore {
 public:
  SegmentStore(std::string root, SegmentStoreOptions options)
      : root_(std::move(root)), options_(std::move(options)), dicts_(options_.env, root_, options_.keys.get()) {}

  Result<std::unique_ptr<EventWriter>> NewWriter() override;
  Status Publish(const std::vector<std::string>& names) override;
  Status Scan(const ScanOptions& options, const std::function<bool(const StoredEvent&)>& fn) override;
  Status ScanColumns(const ScanOptions& options, const ColumnRequest& request,
                     const std::function<bool(const ColumnBlock&)>& on_block,
                     const std::function<bool(const StoredEvent&)>& on_event) override;
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
  // The partition directories a scan within `options` visits, by day, in
  // its order.
  Status DaysOf(const ScanOptions& options, std::vector<const std::vector<std::string>*>* out,
                std::map<int64_t, std::vector<std::string>>* days);
  // The valid segments in `dirs` that overlap `options` (invalid ones reported).
  Status OpenSegments(const std::vector<std::string>& dirs, const ScanOptions& options,
                      const std::function<void(const Status&)>& report,
                      std::vector<std::unique_ptr<SegmentFile>>* readers);

  std::string root_;
  SegmentStoreOptions options_;
  DictionaryCache dicts_;  // for reading v2 blocks
  bool stale_removed_ = false;
};

// ---------------------------------------------------------------- the writer

class SegmentWriter final : public EventWriter {
 public:
  explicit SegmentWriter(SegmentStore* store) : store_(store), env_(store->env()), options_(store->options()) {}
  ~SegmentWriter() override {
    if (cctx_ != nullptr) ZSTD_freeCCtx(cctx_);
    for (auto& [st, d] : dicts_)
      if (d.cdict != nullptr) ZSTD_freeCDict(d.cdict);
    // In-progress segments are abandoned by their builders (temp files
    // removed); so are sealed ones not yet handed out by Prepare.
    for (const Sealed& sealed : sealed_) (void)env_->RemoveFile(JoinPath(store_->root(), sealed.name) + segment::kTempSuffix);
  }

  Status Init() {
    cctx_ = ZSTD_createCCtx();
    if (cctx_ == nullptr) return Status::Internal("zstd: cannot create compression context");
    return Status::Ok();
  }

  bool Contains(const Event& event) override {
    IdSet* p = GetIdSet(event.source_type, DayNumber(event.time_ns));
    return p != nullptr && p->ids.Contains(IdHash(event.id));
  }

  Result<bool> Add(const Event& event) override {
    if (!error_.ok()) return error_;
    if (event.raw.size() > kMaxRawBytes) {
      return Status::LimitExceeded("event " + event.id + ": raw record of " + std::to_string(event.raw.size()) +
                                   " bytes exceeds the store limit of " + std::to_string(kMaxRawBytes));
    }
    const int64_t day = DayNumber(event.time_ns);
    IdSet* set = GetIdSet(event.source_type, day);
    if (set == nullptr) return error_;
    Hash128 h = IdHash(event.id);
    if (!set->ids.Insert(h)) return false;
    ++cached_ids_;
    // v1 partitions have no account. Both branches are references: a
    // temporary in one made the other a copy of the account per event.
    static const std::string kNoAccount;
    Partition* p = GetPartition(set, event.source_type, v2() ? event.account : kNoAccount, day);
    if (!p->active()) {
      Status s = Activate(p);
      if (!s.ok()) return Fail(s);
    }
    if (p->block2 != nullptr) {
      p->block2->Add(event);
    } else {
      p->block->Add(event);
    }
    p->segment_ids.push_back(h);
    if (p->raw_bytes() >= options_.block_raw_bytes) {
      Status s = FlushBlock(p);
      if (!s.ok()) return Fail(s);
    }
    return true;
  }

  Result<std::vector<std::string>> Prepare() override { return Seal(/*sync=*/true); }
  Result<std::vector<std::string>> PrepareUnsynced() override { return Seal(/*sync=*/false); }

  // Reads only the store's root and Env.
  Status SyncPrepared(const std::vector<std::string>& names) override {
    std::set<std::string> dirs;
    for (const std::string& name : names) {
      const std::string tmp = JoinPath(store_->root(), name) + segment::kTempSuffix;
      if (!env_->FileExists(tmp)) return Status::Corruption("segment " + tmp + " was prepared but is missing");
      // An empty append that syncs: the file's data, written by Seal.
      VIGIL_RETURN_IF_ERROR(env_->AppendToFile(tmp, {}, /*sync=*/true).WithContext("preparing segments"));
      dirs.insert(DirName(tmp));
    }
    for (const std::string& d : dirs) VIGIL_RETURN_IF_ERROR(env_->SyncDir(d).WithContext("preparing segments"));
    return Status::Ok();
  }

  // Prepare's work; with `sync` false, SyncPrepared's fsyncs are left out.
  Result<std::vector<std::string>> Seal(bool sync) {
    if (!error_.ok()) return error_;
    for (auto& [key, p] : partitions_) {
      if (!p->active()) continue;
      Status s = Roll(p.get(), sync);
      if (!s.ok()) return Fail(s);
    }
    std::vector<std::string> names;
    names.reserve(sealed_.size());
    std::set<std::string> dirs;
    for (Sealed& sealed : sealed_) {
      names.push_back(sealed.name);
      dirs.insert(sealed.set->dir);
      handed_out_.push_back(std::move(sealed));
    }
    sealed_.clear();
    if (!sync) return names;  // SyncPrepared's
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
    Status s = PublishFiles(names);
    if (!s.ok()) return Fail(s);
    Published(names);
    return Status::Ok();
  }

  // The store's Publish reads only the store's root and Env.
  Status PublishFiles(const std::vector<std::string>& names) override { return store_->Publish(names); }

  void Published(const std::vector<std::string>& names) override {
    for (const std::string& name : names) {
      for (size_t i = 0; i < handed_out_.size(); ++i) {
        if (handed_out_[i].name != name) continue;
        --handed_out_[i].set->unpublished;
        handed_out_[i] = std::move(handed_out_.back());
        handed_out_.pop_back();
        break;
      }
    }
  }

 private:
  // Dedup state of one (source type, day): its directory and stored ids.
  struct IdSet {
    std::string rel_dir;  // relative to the store root
    std::string dir;
    bool dir_ready = false;
    bool ids_loaded = false;
    Hash128Set ids;
    size_t unpublished = 0;  // sealed segments not yet published: their ids live only here
    size_t active = 0;       // partitions of it with a block or segment in progress
    uint64_t last_use = 0;
  };
  // Where blocks are built: one (source type, account, day); the account is
  // always empty when writing v1.
  struct Partition {
    std::string source_type;
    std::string account;
    IdSet* set = nullptr;
    std::unique_ptr<BlockBuilder> block;    // v1; non-null while active
    std::unique_ptr<BlockBuilder2> block2;  // v2; non-null while active
    std::unique_ptr<SegmentBuilder> segment;
    std::unique_ptr<SegmentBuilder2> segment2;
    std::string segment_name;  // of the segment in progress, relative to the store root
    const ZSTD_CDict* cdict = nullptr;          // of segment2
    const ZSTD_CDict* columns_cdict = nullptr;  // of segment2
    std::vector<Hash128> segment_ids;  // ids added since the last roll
    uint64_t last_use = 0;
    bool active() const { return block != nullptr || block2 != nullptr; }
    size_t raw_bytes() const { return block2 != nullptr ? block2->raw_bytes() : block->raw_bytes(); }
    bool block_empty() const { return block2 != nullptr ? block2->empty() : block->empty(); }
    bool has_segment() const { return segment != nullptr || segment2 != nullptr; }
  };
  // A sealed segment (temp file) awaiting publication.
  struct Sealed {
    std::string name;  // relative to the store root
    IdSet* set;
  };
  // The zstd dictionary of a log type, once found or trained.
  struct Dict {
    bool resolved = false;  // found, trained, or given up on
    uint64_t id = 0;
    ZSTD_CDict* cdict = nullptr;
  };

  bool v2() const { return options_.format_version != 1; }

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

  IdSet* GetIdSet(const std::string& source_type, int64_t day) {
    IdSet* p = last_set_;
    if (p == nullptr || last_set_day_ != day || last_set_source_ != source_type) {
      auto& slot = sets_[std::make_pair(source_type, day)];
      if (slot == nullptr) {
        slot = std::make_unique<IdSet>();
        slot->rel_dir = JoinPath(EscapeSourceType(source_type), DayPath(day));
        slot->dir = JoinPath(store_->root(), slot->rel_dir);
      }
      p = slot.get();
      last_set_ = p;
      last_set_day_ = day;
      last_set_source_ = source_type;
      p->last_use = ++clock_;
    }
    if (!p->ids_loaded && !options_.load_stored_ids) p->ids_loaded = true;
    if (!p->ids_loaded) {
      Status s = LoadIds(p);
      if (!s.ok()) {
        (void)Fail(s);
        return nullptr;
      }
    }
    return p;
  }

  Partition* GetPartition(IdSet* set, const std::string& source_type, const std::string& account, int64_t day) {
    Partition* p = last_;
    if (p == nullptr || p->set != set || p->account != account) {
      auto& slot = partitions_[std::make_tuple(source_type, day, account)];
      if (slot == nullptr) {
        slot = std::make_unique<Partition>();
        slot->source_type = source_type;
        slot->account = account;
        slot->set = set;
      }
      p = slot.get();
      last_ = p;
    }
    p->last_use = ++clock_;
    return p;
  }

  // Reads the id sets of every valid segment already in the partition.
  Status LoadIds(IdSet* p) {
    std::vector<std::string> files;
    VIGIL_RETURN_IF_ERROR(ListSegments(env_, p->dir, &files));
    std::vector<Hash128> ids;
    for (const std::string& f : files) {
      // Packed segments without an id set read their id columns, which may
      // be compressed against a columns dictionary.
      auto reader = SegmentFile::Open(env_, f, &read_dicts_);
      Status s = reader.ok() ? (*reader)->ReadIds(&ids) : reader.status();
      if (!s.ok()) {
        store_->Report(s);
        continue;
      }
      p->ids.Reserve(p->ids.size() + ids.size());
      for (const Hash128& h : ids) cached_ids_ += p->ids.Insert(h);
    }
    // Ids added by this writer before an eviction are all in published
    // segments (only idle, published sets are evicted), so the files above
    // cover them.
    p->ids_loaded = true;
    MaybeEvict(p);
    return Status::Ok();
  }

  void MaybeEvict(IdSet* keep) {
    while (cached_ids_ > options_.max_cached_ids) {
      IdSet* victim = nullptr;
      for (auto& [key, q] : sets_) {
        if (q.get() == keep || !q->ids_loaded || q->active > 0 || q->unpublished > 0) continue;
        if (victim == nullptr || q->last_use < victim->last_use) victim = q.get();
      }
      if (victim == nullptr) return;
      cached_ids_ -= victim->ids.size();
      victim->ids.Clear();
      victim->ids_loaded = false;
      if (last_set_ == victim) last_set_ = nullptr;
    }
  }

  Status Activate(Partition* p) {
    if (active_ >= options_.max_open_partitions) {
      Partition* victim = nullptr;
      for (auto& [key, q] : partitions_) {
        if (q.get() == p || !q->active()) continue;
        if (victim == nullptr || q->last_use < victim->last_use) victim = q.get();
      }
      if (victim != nullptr) VIGIL_RETURN_IF_ERROR(Roll(victim));
    }
    if (v2()) {
      // A builder of this log type rolled before keeps its grown buffers.
      for (size_t i = 0; i < pool2_.size(); ++i) {
        if (pool2_[i].first != p->source_type) continue;
        p->block2 = std::move(pool2_[i].second);
        pool2_[i] = std::move(pool2_.back());
        pool2_.pop_back();
        break;
      }
      if (p->block2 == nullptr) {
        if (!pool2_.empty() && pool2_.size() + active_ + 1 > options_.max_open_partitions) pool2_.erase(pool2_.begin());
        p->block2 = std::make_unique<BlockBuilder2>(segment::SchemaFor(p->source_type), options_.text_bloom);
      }
    } else if (!pool_.empty()) {
      p->block = std::move(pool_.back());
      pool_.pop_back();
    } else {
      p->block = std::make_unique<BlockBuilder>();
    }
    ++active_;
    ++p->set->active;
    return Status::Ok();
  }

  Status EnsureDir(IdSet* p) {
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

  // The log type's dictionary, or (`columns`) its columns dictionary: found
  // in the store, or made from the block about to be flushed when it is
  // large enough (trained from its raw records; a columns dictionary is the
  // raw content of its columns, since values recur from block to block).
  // Written durably before any segment that uses it is sealed.
  Result<Dict*> DictFor(Partition* p, bool columns) {
    const std::string label = columns ? segment::ColumnsDictLabel(p->source_type) : p->source_type;
    Dict& d = dicts_[label];
    if (d.resolved || !options_.dictionaries) return &d;
    const KeyRing* keys = options_.keys.get();
    VIGIL_ASSIGN_OR_RETURN(d.id, segment::FindDictionary(env_, store_->root(), label, keys));
    std::string bytes;
    if (d.id != 0) {
      std::string st;
      VIGIL_RETURN_IF_ERROR(
          segment::ReadDictionaryFile(env_, segment::DictPath(store_->root(), d.id), &st, &bytes, keys));
    } else {
      const size_t min_bytes = std::min<size_t>(128 << 10, options_.block_raw_bytes / 2);
      if (p->block2->count() < 64 || p->block2->raw_bytes() < min_bytes) return &d;  // try again with a fuller block
      bytes = columns ? p->block2->ColumnsContent(64 << 10) : segment::TrainDictionary(p->block2->RawSamples(), 64 << 10);
      if (bytes.empty()) {
        d.resolved = true;  // zstd found nothing to learn: no dictionary for this writer
        return &d;
      }
      VIGIL_ASSIGN_OR_RETURN(d.id, segment::WriteDictionaryFile(env_, store_->root(), label, bytes, keys));
    }
    // The parameters zstd picks for the size of what a dictionary
    // compresses: a block's raw section, or its columns (about a twentieth
    // of its raw bytes). Created for an unknown size, the raw dictionary
    // had parameters other than a block's, and each block loaded it again
    // (7% more instructions, bytes no fewer). Columns against their
    // dictionary are compressed at level 2 at least: on the benchmark's
    // CloudTrail events as small as at level 3 (5,919,433 bytes against
    // 5,922,199 for 200k events) with a quarter fewer instructions; without
    // one at level 3 at least (BlockBuilder2::Finish).
    const int level = columns ? std::max(options_.zstd_level, 2) : options_.zstd_level;
    const size_t hint = columns ? options_.block_raw_bytes / 16 : options_.block_raw_bytes;
    d.cdict = ZSTD_createCDict_advanced(bytes.data(), bytes.size(), ZSTD_dlm_byCopy, ZSTD_dct_auto,
                                        ZSTD_getCParams(level, hint, bytes.size()), ZSTD_defaultCMem);
    if (d.cdict == nullptr) return Status::Internal("zstd: cannot load dictionary " + label);
    d.resolved = true;
    return &d;
  }

  Status FlushBlock(Partition* p) {
    if (p->block_empty()) return Status::Ok();
    if (p->block2 != nullptr) {
      if (p->segment2 == nullptr) {
        VIGIL_RETURN_IF_ERROR(EnsureDir(p->set));
        VIGIL_ASSIGN_OR_RETURN(Dict * dict, DictFor(p, /*columns=*/false));
        VIGIL_ASSIGN_OR_RETURN(Dict * columns_dict, DictFor(p, /*columns=*/true));
        p->segment_name = JoinPath(p->set->rel_dir, segment::NewSegmentName());
        VIGIL_ASSIGN_OR_RETURN(p->segment2, SegmentBuilder2::Create(env_, JoinPath(store_->root(), p->segment_name),
                                                                    p->source_type, p->account, dict->id,
                                                                    segment::SchemaFor(p->source_type),
                                                                    options_.keys.get(), /*packed=*/true,
                                                                    columns_dict->id));
        p->cdict = dict->cdict;
        p->columns_cdict = columns_dict->cdict;
      }
      BlockHandle2 handle;
      VIGIL_RETURN_IF_ERROR(p->block2->Finish(cctx_, options_.zstd_level, p->cdict, &block_buf_, &handle,
                                              p->segment2->codec(), p->segment2->next_block_index(),
                                              p->columns_cdict));
      VIGIL_RETURN_IF_ERROR(p->segment2->AddBlock(block_buf_, std::move(handle)));
      if (p->segment2->file_size() >= options_.segment_bytes) VIGIL_RETURN_IF_ERROR(FinishSegment(p));
      return Status::Ok();
    }
    if (p->segment == nullptr) {
      VIGIL_RETURN_IF_ERROR(EnsureDir(p->set));
      p->segment_name = JoinPath(p->set->rel_dir, segment::NewSegmentName());
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

  Status FinishSegment(Partition* p, bool sync = true) {
    if (!p->has_segment()) return Status::Ok();
    Status s;
    if (p->segment2 != nullptr) {
      for (const Hash128& h : p->segment_ids) p->segment2->AddId(h);
      s = p->segment2->Seal(sync);
      p->segment2.reset();
    } else {
      for (const Hash128& h : p->segment_ids) p->segment->AddId(h);
      s = p->segment->Seal(sync);
      p->segment.reset();
    }
    p->segment_ids.clear();
    if (s.ok()) {
      sealed_.push_back(Sealed{p->segment_name, p->set});
      ++p->set->unpublished;
    }
    return s;
  }

  // Flushes the pending block, finishes the segment and deactivates.
  Status Roll(Partition* p, bool sync = true) {
    VIGIL_RETURN_IF_ERROR(FlushBlock(p));
    VIGIL_RETURN_IF_ERROR(FinishSegment(p, sync));
    if (p->active()) {
      if (p->block != nullptr && pool_.size() < options_.max_open_partitions) pool_.push_back(std::move(p->block));
      // Flushed above, so empty and reset. Idle builders and active ones
      // together stay within max_open_partitions (the memory bound).
      if (p->block2 != nullptr && pool2_.size() + active_ <= options_.max_open_partitions) {
        pool2_.emplace_back(p->source_type, std::move(p->block2));
      }
      p->block.reset();
      p->block2.reset();
      --active_;
      --p->set->active;
    }
    if (p->segment_ids.capacity() > 4096) std::vector<Hash128>().swap(p->segment_ids);
    return Status::Ok();
  }

  SegmentStore* store_;
  Env* env_;
  const SegmentStoreOptions& options_;
  ZSTD_CCtx* cctx_ = nullptr;
  std::string block_buf_;
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<IdSet>> sets_;
  std::map<std::tuple<std::string, int64_t, std::string>, std::unique_ptr<Partition>> partitions_;
  std::map<std::string, Dict> dicts_;  // by dictionary label: the source type, or ColumnsDictLabel of it
  DictionaryCache read_dicts_{env_, store_->root(), options_.keys.get()};  // for LoadIds
  IdSet* last_set_ = nullptr;
  int64_t last_set_day_ = 0;
  std::string last_set_source_;
  Partition* last_ = nullptr;
  std::string last_id_;
  Hash128 last_hash_ = HashId128("");
  std::vector<std::unique_ptr<BlockBuilder>> pool_;
  std::vector<std::pair<std::string, std::unique_ptr<BlockBuilder2>>> pool2_;  // by source type
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
    // A `<name>.seg.tmp` beside its `<name>.seg` (or cold stub) is an
    // interrupted in-place rewrite (warm recompression): the key file is
    // the published segment's and stays.
    const std::set<std::string> present(files.begin(), files.end());
    for (const std::string& rel : files) {
      if (!EndsWith(rel, std::string(segment::kSegmentSuffix) + segment::kKeyFileSuffix)) continue;
      const std::string seg = rel.substr(0, rel.size() - std::strlen(segment::kKeyFileSuffix));
      if (removed.count(seg + segment::kTempSuffix) && !present.count(seg) && !present.count(seg + ".cold")) {
        VIGIL_RETURN_IF_ERROR(env()->RemoveFile(JoinPath(root_, rel)));
      }
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
  BlockData data;
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


Status SegmentStore::OpenSegments(const std::vector<std::string>& dirs, const ScanOptions& options,
                                  const std::function<void(const Status&)>& report,
                                  std::vector<std::unique_ptr<SegmentFile>>* readers) {
  const int64_t from = options.from_ns.value_or(INT64_MIN);
  const bool to_set = options.to_ns.has_value();
  const int64_t to = options.to_ns.value_or(INT64_MAX);
  std::vector<std::string> files;
  for (const std::string& dir : dirs) {
    VIGIL_RETURN_IF_ERROR(ListSegments(env(), dir, &files));
    for (const std::string& f : files) {
      auto r = SegmentFile::Open(env(), f, &dicts_, options_.keys.get());
      if (!r.ok()) {
        if (report) report(r.status());
        continue;
      }
      const auto& idx = (*r)->index();
      if (options.source_type && idx.source_type != *options.source_type) continue;
      if (idx.max_time_ns < from || (to_set && idx.min_time_ns >= to)) continue;
      readers->push_back(std::move(r).value());
    }
  }
  return Status::Ok();
}

Status SegmentStore::ScanDay(const std::vector<std::string>& dirs, const ScanOptions& options,
                             const std::function<void(const Status&)>& report,
                             const std::function<bool(const StoredEvent&)>& fn, bool* stopped) {
  const bool desc = options.newest_first;
  const int64_t from = options.from_ns.value_or(INT64_MIN);
  const int64_t to = options.to_ns.value_or(INT64_MAX);
  const bool to_set = options.to_ns.has_value();
  auto in_range = [&](int64_t t) { return t >= from && (!to_set || t < to); };
  auto overlaps = [&](int64_t lo, int64_t hi) { return hi >= from && (!to_set || lo < to); };

  std::vector<std::unique_ptr<SegmentFile>> readers;
  VIGIL_RETURN_IF_ERROR(OpenSegments(dirs, options, report, &readers));

  // before(a, b): a is emitted first.
  auto before = [desc](const MergeItem& a, const MergeItem& b) {
    if (a.time != b.time) return desc ? a.time > b.time : a.time < b.time;
    if (a.is_block != b.is_block) return a.is_block;
    if (a.is_block) return false;
    return desc ? a.id > b.id : a.id < b.id;
  };
  auto cmp = [&before](const MergeItem& a, const MergeItem& b) { return before(b, a); };
  std::priority_queue<MergeItem, std::vector<MergeItem>, decltype(cmp)> heap(cmp);
  const ScanFilter* filter = options.filter != nullptr && !options.filter->empty() ? options.filter : nullptr;
  ScanStats* stats = options.stats;
  for (size_t r = 0; r < readers.size(); ++r) {
    if (stats != nullptr) ++stats->segments;
    const auto& blocks = readers[r]->index().blocks;
    for (size_t b = 0; b < blocks.size(); ++b) {
      if (!overlaps(blocks[b].min_time_ns, blocks[b].max_time_ns)) continue;
      if (stats != nullptr) ++stats->blocks;
      if (filter != nullptr) {
        VIGIL_ASSIGN_OR_RETURN(bool may, readers[r]->BlockMayMatch(b, *filter, stats));
        if (!may) continue;
      }
      heap.push({desc ? blocks[b].max_time_ns : blocks[b].min_time_ns, true, {}, r, b, 0});
    }
  }

  std::vector<std::unique_ptr<Cursor>> cursors;
  std::vector<size_t> free_cursors;
  auto push_next = [&](size_t c) {
    Cursor& cur = *cursors[c];
    const auto& records = cur.data.records;
    if (cur.next >= records.size()) {
      free_cursors.push_back(c);
      return;
    }
    const RecordView& rec = records[desc ? records.size() - 1 - cur.next : cur.next];
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
      VIGIL_RETURN_IF_ERROR(readers[item.reader]->ReadBlock(item.block, filter, &cur.data, stats));
      push_next(c);
      continue;
    }
    Cursor& cur = *cursors[item.cursor];
    const auto& records = cur.data.records;
    const RecordView& rec = records[desc ? records.size() - 1 - cur.next : cur.next];
    ++cur.next;
    if (in_range(rec.time_ns)) {
      ToStoredEvent(rec, &ev);
      if (!fn(ev)) {
        *stopped = true;
        return Status::Ok();
      }
    }
    push_next(item.cursor);
  }
  return Status::Ok();
}

Status SegmentStore::DaysOf(const ScanOptions& options, std::vector<const std::vector<std::string>*>* out,
                            std::map<int64_t, std::vector<std::string>>* days) {
  out->clear();
  if (options.from_ns && options.to_ns && *options.from_ns >= *options.to_ns) return Status::Ok();
  if (options.to_ns && *options.to_ns == INT64_MIN) return Status::Ok();
  VIGIL_RETURN_IF_ERROR(ListPartitions(env(), root_, options.source_type, days));
  auto first = options.from_ns ? days->lower_bound(DayNumber(*options.from_ns)) : days->begin();
  auto last = options.to_ns ? days->upper_bound(DayNumber(*options.to_ns - 1)) : days->end();
  if (first == days->end() || (last != days->end() && first->first >= last->first)) return Status::Ok();
  for (auto it = first; it != last; ++it) out->push_back(&it->second);
  if (options.newest_first) std::reverse(out->begin(), out->end());
  return Status::Ok();
}

Status SegmentStore::Scan(const ScanOptions& options, const std::function<bool(const StoredEvent&)>& fn) {
  const auto& report = options.on_skipped_file ? options.on_skipped_file : options_.on_skipped_file;
  std::map<int64_t, std::vector<std::string>> days;
  std::vector<const std::vector<std::string>*> order;
  VIGIL_RETURN_IF_ERROR(DaysOf(options, &order, &days));
  bool stopped = false;
  for (const auto* dirs : order) {
    VIGIL_RETURN_IF_ERROR(ScanDay(*dirs, options, report, fn, &stopped));
    if (stopped) break;
  }
  return Status::Ok();
}

Status SegmentStore::ScanColumns(const ScanOptions& options, const ColumnRequest& request,
                                 const std::function<bool(const ColumnBlock&)>& on_block,
                                 const std::function<bool(const StoredEvent&)>& on_event) {
  const auto& report = options.on_skipped_file ? options.on_skipped_file : options_.on_skipped_file;
  std::map<int64_t, std::vector<std::string>> days;
  std::vector<const std::vector<std::string>*> order;
  VIGIL_RETURN_IF_ERROR(DaysOf(options, &order, &days));
  const int64_t from = options.from_ns.value_or(INT64_MIN);
  const bool to_set = options.to_ns.has_value();
  const int64_t to = options.to_ns.value_or(INT64_MAX);
  auto in_range = [&](int64_t t) { return t >= from && (!to_set || t < to); };
  // The bucket (bin) of a time, rounded down as bin() rounds.
  const int64_t span = request.time_bucket_ns;
  auto bucket = [span](int64_t t) { return t / span - (t < 0 && t % span != 0 ? 1 : 0); };
  const ScanFilter* filter = options.filter != nullptr && !options.filter->empty() ? options.filter : nullptr;
  ScanStats* stats = options.stats;
  BlockData data;
  ColumnBlock block;
  StoredEvent ev;
  std::vector<std::unique_ptr<SegmentFile>> readers;
  for (const auto* dirs : order) {
    readers.clear();
    VIGIL_RETURN_IF_ERROR(OpenSegments(*dirs, options, report, &readers));
    for (const auto& reader : readers) {
      if (stats != nullptr) ++stats->segments;
      const auto& blocks = reader->index().blocks;
      for (size_t b = 0; b < blocks.size(); ++b) {
        const int64_t lo = blocks[b].min_time_ns, hi = blocks[b].max_time_ns;
        if (hi < from || (to_set && lo >= to)) continue;
        if (stats != nullptr) ++stats->blocks;
        if (filter != nullptr) {
          VIGIL_ASSIGN_OR_RETURN(bool may, reader->BlockMayMatch(b, *filter, stats));
          if (!may) continue;
        }
        // Per-record times when the caller reads them, when the block is not
        // wholly inside the time range, or when it spans several buckets.
        const bool times = request.times || !in_range(lo) || !in_range(hi) ||
                           (span > 0 && bucket(lo) != bucket(hi));
        VIGIL_ASSIGN_OR_RETURN(bool from_columns,
                               reader->ReadColumnBlock(b, request, times, filter, &data, &block, stats));
        if (from_columns) {
          if (!block.pass.empty() && std::find(block.pass.begin(), block.pass.end(), 1) == block.pass.end()) {
            if (stats != nullptr) ++stats->blocks_pruned_columns;
            continue;
          }
          if (stats != nullptr) ++stats->blocks_from_columns;
          if (!on_block(block)) return Status::Ok();
          continue;
        }
        VIGIL_RETURN_IF_ERROR(reader->ReadBlock(b, filter, &data, stats));
        for (const RecordView& rec : data.records) {
          if (!in_range(rec.time_ns)) continue;
          ToStoredEvent(rec, &ev);
          if (!on_event(ev)) return Status::Ok();
        }
      }
    }
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
        auto r = SegmentFile::Open(env(), f, nullptr);
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
  // The inputs of a published compaction not yet removed hold records the
  // merged segment holds too: checked once, in the merged segment.
  std::set<std::string> superseded;
  std::map<std::string, std::vector<std::string>> markers, segments;  // by directory
  for (const std::string& rel : files) {
    const std::string path = JoinPath(root_, rel);
    if (EndsWith(rel, kCompactionMarkerSuffix)) markers[DirName(path)].push_back(path.substr(path.rfind('/') + 1));
    else if (EndsWith(rel, segment::kSegmentSuffix)) segments[DirName(path)].push_back(path);
  }
  for (const auto& [dir, names] : markers) {
    std::vector<std::string> kept = segments[dir];
    DropCompactedInputs(env(), dir, names, &kept);
    const std::set<std::string> keep(kept.begin(), kept.end());
    for (const std::string& p : segments[dir])
      if (!keep.count(p)) superseded.insert(p);
  }
  BlockData data;
  std::vector<Hash128> ids;
  for (const std::string& rel : files) {
    if (EndsWith(rel, segment::kTempSuffix)) {
      ++check.temp_files;
      continue;
    }
    if (!EndsWith(rel, segment::kSegmentSuffix) || superseded.count(JoinPath(root_, rel))) continue;
    auto r = SegmentFile::Open(env(), JoinPath(root_, rel), &dicts_, options_.keys.get());
    if (!r.ok()) {
      check.problems.push_back(r.status());
      continue;
    }
    bool segment_ok = true;
    for (size_t b = 0; b < (*r)->index().blocks.size(); ++b) {
      Status bs = (*r)->CheckBlock(b, &data);
      if (!bs.ok()) {
        check.problems.push_back(bs);
        segment_ok = false;
        continue;
      }
      ++check.blocks;
      check.events += data.records.size();
    }
    // Ids read from the blocks (no id set) add nothing when a block failed.
    if (segment_ok || (*r)->has_id_set()) {
      Status ids_status = (*r)->ReadIds(&ids);
      if (!ids_status.ok()) check.problems.push_back(ids_status);
      segment_ok = segment_ok && ids_status.ok();
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
  if (o.format_version == 0) {
    const char* v = std::getenv("VIGIL_SEGMENT_FORMAT");
    o.format_version = v != nullptr && std::string_view(v) == "1" ? 1 : 2;
  }
  if (o.format_version != 1 && o.format_version != 2) {
    return Status::InvalidArgument("segment store: format_version must be 1 or 2");
  }
  return std::unique_ptr<EventStore>(new SegmentStore(dir, std::move(o)));
}

}  // namespace vigil
