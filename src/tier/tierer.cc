#include "tier/tierer.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/hash.h"
#include "common/time.h"
#include "store/block_codec.h"
#include "store/segment_rewrite.h"
#include "tier/cold_env.h"

namespace vigil {
namespace {

constexpr int64_t kDayNs = 86'400'000'000'000;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

CatalogSegment FromSummary(const std::string& rel, const SegmentSummary& s, Tier tier) {
  CatalogSegment seg;
  seg.path = rel;
  seg.source_type = s.source_type;
  seg.min_time_ns = s.min_time_ns;
  seg.max_time_ns = s.max_time_ns;
  seg.events = s.events;
  seg.raw_bytes = s.raw_bytes;
  seg.stored_bytes = s.stored_bytes;
  seg.tier = tier;
  return seg;
}

SegmentSummary SummaryOf(const ColdStub& stub) {
  SegmentSummary s;
  s.source_type = stub.source_type;
  s.min_time_ns = stub.min_time_ns;
  s.max_time_ns = stub.max_time_ns;
  s.events = stub.events;
  s.raw_bytes = stub.raw_bytes;
  s.stored_bytes = stub.size;
  return s;
}

std::string ObjectUrl(const std::string& bucket, const std::string& key) { return "s3://" + bucket + "/" + key; }

}  // namespace

Tierer::Tierer(Env* env, std::string events_dir, std::string cache_dir, TieringConfig config, StorageCatalog* catalog,
               std::shared_ptr<const KeyRing> keys)
    : env_(env),
      events_dir_(std::move(events_dir)),
      cache_dir_(std::move(cache_dir)),
      config_(std::move(config)),
      catalog_(catalog),
      keys_(std::move(keys)) {}

Status Tierer::Step(const TierRunOptions& o, std::string_view step) {
  if (!o.crash_point) return Status::Ok();
  Status s = o.crash_point(step);
  if (!s.ok()) crashed_ = true;
  return s;
}

Result<const aws::S3Client*> Tierer::Client() {
  if (!config_.cold.enabled()) return Status::FailedPrecondition("storage.cold.bucket is not configured");
  if (client_ == nullptr) {
    VIGIL_ASSIGN_OR_RETURN(aws::S3Config c, ResolveColdS3(config_.cold.s3));
    client_ = std::make_unique<aws::S3Client>(std::move(c));
  }
  return client_.get();
}

Status Tierer::RemoveLocal(const std::string& path) {
  if (env_->FileExists(path)) VIGIL_RETURN_IF_ERROR(env_->RemoveFile(path));
  return Status::Ok();
}

// ------------------------------------------------------------------ recovery

Status Tierer::Recover(const TierRunOptions& o, TierRunStats* stats) {
  VIGIL_ASSIGN_OR_RETURN(auto pending, catalog_->Ledger(/*pending_only=*/true));
  VIGIL_ASSIGN_OR_RETURN(auto segments, catalog_->Segments());
  for (const LedgerEntry& e : pending) {
    const std::string path = JoinPath(events_dir_, e.path);
    const std::string stub_path = path + kColdStubSuffix;
    CatalogSegment seg;
    auto it = segments.find(e.path);
    if (it != segments.end()) seg = it->second;
    seg.path = e.path;
    if (seg.source_type.empty()) seg.source_type = e.source_type;
    if (e.action == "warm") {
      // The rename over the segment may or may not have happened; redoing
      // the recompression is harmless either way.
      if (!env_->FileExists(path)) {
        VIGIL_RETURN_IF_ERROR(catalog_->Finish(e.seq, "rolled_back", 0, "segment no longer local", nullptr, false));
        ++stats->rolled_back;
        continue;
      }
      auto s = RecompressSegment(env_, path, config_.warm_zstd_level, keys_.get());
      if (s.status().code() == StatusCode::kUnsupported) {
        seg.tier = Tier::kWarm;  // kept as written (see Warm)
        VIGIL_RETURN_IF_ERROR(catalog_->Finish(e.seq, "recovered", seg.stored_bytes, s.status().message(), &seg, false));
        ++stats->recovered;
        continue;
      }
      if (!s.ok()) return s.status();
      seg = FromSummary(e.path, *s, Tier::kWarm);
      VIGIL_RETURN_IF_ERROR(catalog_->Finish(e.seq, "recovered", s->stored_bytes, "", &seg, false));
      ++stats->recovered;
    } else if (e.action == "cold") {
      // The stub is written only after the upload succeeded, and the local
      // file removed only after the stub is durable.
      if (env_->FileExists(stub_path)) {
        VIGIL_RETURN_IF_ERROR(RemoveLocal(path));
        VIGIL_RETURN_IF_ERROR(env_->SyncDir(DirName(path)));
        VIGIL_RETURN_IF_ERROR(Step(o, "recover:cold_local_removed"));
        std::string text;
        VIGIL_RETURN_IF_ERROR(env_->ReadFile(stub_path, &text));
        VIGIL_ASSIGN_OR_RETURN(ColdStub stub, DecodeColdStub(text, stub_path));
        seg.tier = Tier::kCold;
        seg.stored_bytes = stub.size;
        VIGIL_RETURN_IF_ERROR(catalog_->Finish(e.seq, "recovered", stub.size, "", &seg, false));
        ++stats->recovered;
      } else {
        // Not moved: the local segment is untouched (an uploaded object is
        // overwritten when the move is planned again).
        VIGIL_RETURN_IF_ERROR(catalog_->Finish(e.seq, "rolled_back", 0, "", nullptr, false));
        ++stats->rolled_back;
      }
    } else if (e.action == "delete") {
      // Deletion only goes forward: whatever is left of the segment goes.
      VIGIL_RETURN_IF_ERROR(RemoveLocal(path));
      VIGIL_RETURN_IF_ERROR(RemoveLocal(stub_path));
      VIGIL_RETURN_IF_ERROR(RemoveLocal(segment::KeyFilePath(path)));
      VIGIL_RETURN_IF_ERROR(env_->SyncDir(DirName(path)));
      if (!e.object.empty()) {
        std::string rest = e.object.substr(5);  // after "s3://"
        size_t slash = rest.find('/');
        VIGIL_ASSIGN_OR_RETURN(const aws::S3Client* client, Client());
        VIGIL_RETURN_IF_ERROR(client->DeleteObject(rest.substr(0, slash), rest.substr(slash + 1)));
      }
      (void)RemoveLocal(JoinPath(cache_dir_, e.path));
      VIGIL_RETURN_IF_ERROR(catalog_->Finish(e.seq, "recovered", 0, "", nullptr, true));
      ++stats->recovered;
    } else if (e.action == "compact") {
      // No marker: the run stopped before it was written, so nothing was
      // published (the output's temp files go with the next writer's
      // clean-up). Otherwise the marker says which side stays.
      bool completed = false;
      if (env_->FileExists(path)) VIGIL_RETURN_IF_ERROR(SettleMarker(path, &completed));
      VIGIL_RETURN_IF_ERROR(catalog_->Finish(e.seq, completed ? "recovered" : "rolled_back", 0, "", nullptr, false));
      ++(completed ? stats->recovered : stats->rolled_back);
    } else {
      VIGIL_RETURN_IF_ERROR(catalog_->Finish(e.seq, "failed", 0, "unknown action", nullptr, false));
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------------ catalog

Status Tierer::SyncCatalog(TierRunStats* stats, bool add_only, const std::atomic<bool>* cancel) {
  std::vector<std::string> files;
  Status listed = env_->ListFilesRecursive(events_dir_, &files);
  if (!listed.ok() && listed.code() != StatusCode::kNotFound) return listed;
  std::set<std::string> local, cold;
  for (const std::string& f : files) {
    std::string base = BaseName(f);
    if (IsSegmentFileName(base)) {
      local.insert(f);
    } else if (EndsWith(base, kColdStubSuffix) &&
               IsSegmentFileName(base.substr(0, base.size() - (sizeof kColdStubSuffix - 1)))) {
      cold.insert(f.substr(0, f.size() - (sizeof kColdStubSuffix - 1)));
    }
  }
  VIGIL_ASSIGN_OR_RETURN(auto rows, catalog_->Segments());
  for (const std::string& rel : local) {
    if (cancel != nullptr && cancel->load()) return Status::Ok();
    const std::string path = JoinPath(events_dir_, rel);
    auto it = rows.find(rel);
    auto size = env_->FileSize(path);
    if (!size.ok()) continue;  // removed meanwhile
    if (it != rows.end() && (add_only || (it->second.tier != Tier::kCold && it->second.stored_bytes == *size))) continue;
    auto s = SummarizeSegment(env_, path, keys_.get());
    if (!s.ok()) {
      stats->errors.push_back(s.status());
      continue;
    }
    CatalogSegment seg =
        FromSummary(rel, *s, it != rows.end() && it->second.tier == Tier::kWarm ? Tier::kWarm : Tier::kHot);
    VIGIL_RETURN_IF_ERROR(catalog_->Upsert(seg, /*replace=*/!add_only));
    ++stats->catalogued;
  }
  for (const std::string& rel : cold) {
    if (local.count(rel)) continue;  // a local copy wins (see ColdReadEnv)
    auto it = rows.find(rel);
    if (it != rows.end() && (add_only || it->second.tier == Tier::kCold)) continue;
    const std::string stub_path = JoinPath(events_dir_, rel) + kColdStubSuffix;
    std::string text;
    VIGIL_RETURN_IF_ERROR(env_->ReadFile(stub_path, &text));
    auto stub = DecodeColdStub(text, stub_path);
    if (!stub.ok()) {
      stats->errors.push_back(stub.status());
      continue;
    }
    CatalogSegment seg = FromSummary(rel, SummaryOf(*stub), Tier::kCold);
    VIGIL_RETURN_IF_ERROR(catalog_->Upsert(seg, /*replace=*/!add_only));
    ++stats->catalogued;
  }
  for (const auto& [rel, row] : rows) {
    if (add_only) break;
    if (!local.count(rel) && !cold.count(rel)) VIGIL_RETURN_IF_ERROR(catalog_->Remove(rel));
  }
  return Status::Ok();
}

// ------------------------------------------------------------------ moves

Status Tierer::Warm(const TierRunOptions& o, CatalogSegment* seg, TierRunStats* stats) {
  const std::string path = JoinPath(events_dir_, seg->path);
  LedgerEntry e;
  e.action = "warm";
  e.path = seg->path;
  e.source_type = seg->source_type;
  e.from_tier = TierName(seg->tier);
  e.to_tier = "warm";
  e.events = seg->events;
  e.bytes_before = seg->stored_bytes;
  VIGIL_ASSIGN_OR_RETURN(int64_t seq, catalog_->Begin(e));
  VIGIL_RETURN_IF_ERROR(Step(o, "warm:begun"));
  auto s = RecompressSegment(env_, path, config_.warm_zstd_level, keys_.get());
  if (s.status().code() == StatusCode::kUnsupported) {
    // An encrypted segment stays as written: it is warm by age, not smaller.
    seg->tier = Tier::kWarm;
    VIGIL_RETURN_IF_ERROR(catalog_->Finish(seq, "done", seg->stored_bytes, s.status().message(), seg, false));
    ++stats->warmed;
    return Status::Ok();
  }
  if (!s.ok()) {
    VIGIL_RETURN_IF_ERROR(Step(o, "warm:failed"));
    (void)catalog_->Finish(seq, "failed", 0, s.status().ToString(), nullptr, false);
    return s.status();
  }
  VIGIL_RETURN_IF_ERROR(Step(o, "warm:rewritten"));
  if (s->events != seg->events || s->raw_bytes != seg->raw_bytes) {
    Status bad = Status::Corruption("recompressing " + path + ": " + std::to_string(s->events) + " events (" +
                                    std::to_string(s->raw_bytes) + " raw bytes) where the catalog has " +
                                    std::to_string(seg->events) + " (" + std::to_string(seg->raw_bytes) + ")");
    (void)catalog_->Finish(seq, "failed", s->stored_bytes, bad.ToString(), nullptr, false);
    return bad;
  }
  stats->warm_bytes_before += seg->stored_bytes;
  stats->warm_bytes_after += s->stored_bytes;
  seg->tier = Tier::kWarm;
  seg->stored_bytes = s->stored_bytes;
  VIGIL_RETURN_IF_ERROR(catalog_->Finish(seq, "done", s->stored_bytes, "", seg, false));
  ++stats->warmed;
  return Status::Ok();
}

Status Tierer::Cold(const TierRunOptions& o, CatalogSegment* seg, TierRunStats* stats) {
  const std::string path = JoinPath(events_dir_, seg->path);
  VIGIL_ASSIGN_OR_RETURN(const aws::S3Client* client, Client());
  const std::string key = ObjectKey(seg->path);
  LedgerEntry e;
  e.action = "cold";
  e.path = seg->path;
  e.source_type = seg->source_type;
  e.from_tier = TierName(seg->tier);
  e.to_tier = "cold";
  e.events = seg->events;
  e.bytes_before = seg->stored_bytes;
  e.object = ObjectUrl(config_.cold.bucket, key);
  // 1. The intent is durable before anything moves.
  VIGIL_ASSIGN_OR_RETURN(int64_t seq, catalog_->Begin(e));
  VIGIL_RETURN_IF_ERROR(Step(o, "cold:begun"));
  auto fail = [&](const Status& s) {
    (void)catalog_->Finish(seq, "failed", 0, s.ToString(), nullptr, false);
    return s;
  };
  std::string body;
  Status s = env_->ReadFile(path, &body);
  if (!s.ok()) return fail(s);
  // 2. Upload (a PUT is atomic: the object is whole or absent).
  s = client->PutObject(config_.cold.bucket, key, body);
  if (!s.ok()) return fail(s);
  VIGIL_RETURN_IF_ERROR(Step(o, "cold:uploaded"));
  // 3. The stub, atomically and durably, beside the segment.
  ColdStub stub;
  stub.bucket = config_.cold.bucket;
  stub.key = key;
  stub.endpoint = config_.cold.s3.endpoint;
  stub.region = config_.cold.s3.region;
  stub.path_style = config_.cold.s3.path_style;
  stub.size = body.size();
  stub.checksum = Hash64(body);
  stub.source_type = seg->source_type;
  stub.min_time_ns = seg->min_time_ns;
  stub.max_time_ns = seg->max_time_ns;
  stub.events = seg->events;
  stub.raw_bytes = seg->raw_bytes;
  s = env_->WriteFileAtomic(path + kColdStubSuffix, EncodeColdStub(stub));
  if (!s.ok()) return fail(s);
  VIGIL_RETURN_IF_ERROR(Step(o, "cold:stub_written"));
  // 4. The local copy goes; readers now fetch through the stub.
  s = env_->RemoveFile(path);
  if (s.ok()) s = env_->SyncDir(DirName(path));
  if (!s.ok()) return fail(s);
  VIGIL_RETURN_IF_ERROR(Step(o, "cold:local_removed"));
  // 5. Done, with the catalog's new tier in the same transaction.
  stats->cold_bytes += body.size();
  seg->tier = Tier::kCold;
  seg->stored_bytes = body.size();
  VIGIL_RETURN_IF_ERROR(catalog_->Finish(seq, "done", body.size(), "", seg, false));
  ++stats->cooled;
  return Status::Ok();
}

Status Tierer::Delete(const TierRunOptions& o, const CatalogSegment& seg, TierRunStats* stats) {
  const std::string path = JoinPath(events_dir_, seg.path);
  const std::string stub_path = path + kColdStubSuffix;
  LedgerEntry e;
  e.action = "delete";
  e.path = seg.path;
  e.source_type = seg.source_type;
  e.from_tier = TierName(seg.tier);
  e.events = seg.events;
  e.bytes_before = seg.stored_bytes;
  ColdStub stub;
  if (seg.tier == Tier::kCold && env_->FileExists(stub_path)) {
    std::string text;
    VIGIL_RETURN_IF_ERROR(env_->ReadFile(stub_path, &text));
    VIGIL_ASSIGN_OR_RETURN(stub, DecodeColdStub(text, stub_path));
    e.object = ObjectUrl(stub.bucket, stub.key);
  }
  VIGIL_ASSIGN_OR_RETURN(int64_t seq, catalog_->Begin(e));
  VIGIL_RETURN_IF_ERROR(Step(o, "delete:begun"));
  // Readers stop seeing it first (local file or stub), then the object goes.
  // An encrypted segment's key file goes last: without it nothing of the
  // segment could be read, wherever its bytes still are.
  Status s = RemoveLocal(path);
  if (s.ok()) s = RemoveLocal(stub_path);
  if (s.ok()) s = RemoveLocal(segment::KeyFilePath(path));
  if (s.ok()) s = env_->SyncDir(DirName(path));
  if (!s.ok()) {
    (void)catalog_->Finish(seq, "failed", 0, s.ToString(), nullptr, false);
    return s;
  }
  VIGIL_RETURN_IF_ERROR(Step(o, "delete:removed"));
  if (!e.object.empty()) {
    VIGIL_ASSIGN_OR_RETURN(const aws::S3Client* client, Client());
    // Stays pending on failure: recovery deletes the object later.
    VIGIL_RETURN_IF_ERROR(client->DeleteObject(stub.bucket, stub.key));
  }
  (void)RemoveLocal(JoinPath(cache_dir_, seg.path));
  stats->deleted_bytes += seg.stored_bytes;
  VIGIL_RETURN_IF_ERROR(catalog_->Finish(seq, "done", 0, "", nullptr, true));
  ++stats->deleted;
  return Status::Ok();
}

// ------------------------------------------------------------------ compaction

// A compaction published and awaiting its inputs' removal.
struct Tierer::Compaction {
  int64_t seq = 0;
  std::string dir;     // absolute
  std::string marker;  // absolute
  std::vector<std::string> inputs;   // file names in dir
  std::vector<CatalogSegment> outputs;
  uint64_t bytes_before = 0;
  std::string how;  // "blocks copied" or "records rewritten" (unknown after a restart)
};

Status Tierer::SettleMarker(const std::string& marker, bool* completed) {
  const std::string dir = DirName(marker);
  std::string text;
  VIGIL_RETURN_IF_ERROR(env_->ReadFile(marker, &text));
  auto m = DecodeCompactionMarker(text, marker);
  *completed = false;
  if (m.ok()) {
    *completed = std::all_of(m->outputs.begin(), m->outputs.end(),
                             [&](const std::string& o) { return env_->FileExists(JoinPath(dir, o)); });
    // The side that goes: the inputs once every output is published (they
    // hold the same records), else whatever of the outputs exists.
    for (const std::string& name : *completed ? m->inputs : m->outputs) {
      const std::string path = JoinPath(dir, name);
      VIGIL_RETURN_IF_ERROR(RemoveLocal(path));
      VIGIL_RETURN_IF_ERROR(RemoveUnpublishedSegment(env_, path));  // its key file too
      if (*completed) (void)catalog_->Remove(Relative(path));
    }
    VIGIL_RETURN_IF_ERROR(env_->SyncDir(dir));
  }
  // An unreadable marker was never acted on: readers ignore it too.
  VIGIL_RETURN_IF_ERROR(env_->RemoveFile(marker));
  return env_->SyncDir(dir);
}

std::string Tierer::Relative(const std::string& path) const {
  return path.size() > events_dir_.size() + 1 && path.compare(0, events_dir_.size(), events_dir_) == 0
             ? path.substr(events_dir_.size() + 1)
             : path;
}

Result<Tierer::Compaction> Tierer::CompactGroup(const TierRunOptions& o, const std::string& dir,
                                                const std::vector<std::string>& inputs,
                                                const std::map<std::string, Candidate>& candidates) {
  Compaction c;
  c.dir = dir;
  c.inputs = inputs;
  c.marker = JoinPath(dir, inputs.front().substr(0, inputs.front().rfind('.')) + kCompactionMarkerSuffix);
  LedgerEntry e;
  e.action = "compact";
  e.path = Relative(c.marker);
  e.from_tier = e.to_tier = "hot";
  for (const std::string& in : inputs) {
    const Candidate& k = candidates.at(in);
    e.source_type = k.head.source_type;
    e.events += k.head.events;
    c.bytes_before += k.bytes;
  }
  e.bytes_before = c.bytes_before;
  e.note = "merging " + std::to_string(inputs.size()) + " segments";
  VIGIL_ASSIGN_OR_RETURN(c.seq, catalog_->Begin(e));
  auto fail = [&](Status s) {
    (void)catalog_->Finish(c.seq, "failed", 0, s.ToString(), nullptr, false);
    return s.WithContext("compacting " + dir);
  };
  VIGIL_RETURN_IF_ERROR(Step(o, "compact:begun"));
  if (compaction_store_ == nullptr) {
    SegmentStoreOptions so;
    so.env = env_;
    so.keys = keys_;
    so.load_stored_ids = false;
    auto store = OpenSegmentStore(events_dir_, so);
    if (!store.ok()) return fail(store.status());
    compaction_store_ = std::move(store).value();
  }
  // Outputs as a writer's Prepare names them (relative to the events root).
  std::vector<std::string> names;
  // With no key to encrypt the output under, the inputs' blocks are copied
  // as stored, which costs a read and a write of their bytes; otherwise (or
  // when they cannot be copied) every record is rebuilt and stored again,
  // which costs about what storing it did the first time.
  if (keys_ == nullptr || keys_->empty()) {
    auto merged = MergeSegmentBlocks(env_, dir, inputs, config_.compaction.copy_block_bytes);
    if (merged.ok()) {
      names.push_back(Relative(JoinPath(dir, *merged)));
      c.how = "blocks copied";
    } else if (merged.status().code() != StatusCode::kUnsupported) {
      return fail(merged.status());
    }
  }
  if (names.empty()) {
    auto writer = compaction_store_->NewWriter();
    if (!writer.ok()) return fail(writer.status());
    for (const std::string& in : inputs) {
      Status s = ForEachSegmentRecord(env_, JoinPath(dir, in), keys_.get(), [&](const StoredEvent& se) -> Status {
        auto ev = rebuild_(se);
        if (!ev.ok()) return ev.status().WithContext("record " + se.id);
        auto added = (*writer)->Add(*ev);
        if (!added.ok()) return added.status();
        return Status::Ok();
      });
      if (!s.ok()) return fail(s.WithContext(in));
    }
    auto prepared = (*writer)->Prepare();
    if (!prepared.ok()) return fail(prepared.status());
    names = std::move(prepared).value();
    c.how = "records rewritten";
  }
  CompactionMarker marker;
  marker.inputs = inputs;
  auto drop_outputs = [&] {
    for (const std::string& n : names) (void)RemoveUnpublishedSegment(env_, JoinPath(events_dir_, n));
  };
  for (const std::string& n : names) {
    const std::string path = JoinPath(events_dir_, n);
    if (DirName(path) != dir) {  // records of another day or account: not this partition's
      drop_outputs();
      return fail(Status::Internal("merged segment " + n + " is not in " + dir));
    }
    marker.outputs.push_back(BaseName(path));
  }
  // The marker is durable before any output is visible: from the moment all
  // are, readers leave the inputs out.
  Status s = env_->WriteFileAtomic(c.marker, EncodeCompactionMarker(marker));
  if (!s.ok()) {
    drop_outputs();
    return fail(s);
  }
  VIGIL_RETURN_IF_ERROR(Step(o, "compact:marked"));
  s = compaction_store_->Publish(names);
  if (!s.ok()) {
    bool completed = false;
    (void)SettleMarker(c.marker, &completed);
    return fail(s);
  }
  VIGIL_RETURN_IF_ERROR(Step(o, "compact:published"));
  for (const std::string& n : names) {
    auto sum = SummarizeSegment(env_, JoinPath(events_dir_, n), keys_.get());
    if (!sum.ok()) continue;  // SyncCatalog catalogues it later
    c.outputs.push_back(FromSummary(n, *sum, Tier::kHot));
  }
  return c;
}

Status Tierer::FinishCompaction(const TierRunOptions& o, const Compaction& c, TierRunStats* stats) {
  for (const std::string& in : c.inputs) {
    const std::string path = JoinPath(c.dir, in);
    VIGIL_RETURN_IF_ERROR(RemoveLocal(path));
    VIGIL_RETURN_IF_ERROR(RemoveLocal(segment::KeyFilePath(path)));
    VIGIL_RETURN_IF_ERROR(catalog_->Remove(Relative(path)));
  }
  VIGIL_RETURN_IF_ERROR(env_->SyncDir(c.dir));
  VIGIL_RETURN_IF_ERROR(Step(o, "compact:inputs_removed"));
  uint64_t after = 0;
  for (const CatalogSegment& seg : c.outputs) {
    after += seg.stored_bytes;
    VIGIL_RETURN_IF_ERROR(catalog_->Upsert(seg));
  }
  VIGIL_RETURN_IF_ERROR(catalog_->Finish(c.seq, "done", after,
                                         "merged " + std::to_string(c.inputs.size()) + " segments into " +
                                             std::to_string(c.outputs.size()) +
                                             (c.how.empty() ? "" : " (" + c.how + ")"),
                                         nullptr, false));
  VIGIL_RETURN_IF_ERROR(RemoveLocal(c.marker));
  VIGIL_RETURN_IF_ERROR(env_->SyncDir(c.dir));
  ++stats->compactions;
  stats->compacted_segments += c.inputs.size();
  stats->compact_bytes_before += c.bytes_before;
  stats->compact_bytes_after += after;
  return Status::Ok();
}

Status Tierer::Compact(const TierRunOptions& o, TierRunStats* stats) {
  const CompactionConfig& k = config_.compaction;
  if (!k.enabled || !rebuild_) return Status::Ok();
  std::vector<std::string> files;
  Status listed = env_->ListFilesRecursive(events_dir_, &files);
  if (listed.code() == StatusCode::kNotFound) return Status::Ok();
  VIGIL_RETURN_IF_ERROR(listed);
  VIGIL_ASSIGN_OR_RETURN(auto rows, catalog_->Segments());
  // Small hot segments by directory; markers a finished run left behind
  // (Recover has dealt with every pending one).
  std::map<std::string, std::map<std::string, uint64_t>> small;  // dir -> name -> bytes
  for (const std::string& rel : files) {
    const std::string path = JoinPath(events_dir_, rel);
    const std::string base = BaseName(rel);
    if (EndsWith(base, kCompactionMarkerSuffix)) {
      bool completed = false;
      Status s = SettleMarker(path, &completed);
      if (!s.ok()) stats->errors.push_back(s);
      continue;
    }
    if (!IsSegmentFileName(base)) continue;
    auto row = rows.find(rel);
    if (row != rows.end() && row->second.tier != Tier::kHot) continue;  // warm: already rewritten once
    auto size = env_->FileSize(path);
    if (!size.ok() || *size >= k.small_segment_bytes) continue;
    small[DirName(path)][base] = *size;
  }
  std::vector<Compaction> published;
  for (auto& [dir, names] : small) {
    if (names.size() < k.min_segments) continue;
    if (o.cancel != nullptr && o.cancel->load()) break;
    // Per account (a segment holds one), in name order (the map's), in
    // groups of at most max_merged_bytes.
    std::map<std::string, std::vector<std::string>> by_account;
    std::map<std::string, Candidate> candidates;
    for (const auto& [n, bytes] : names) {
      auto head = ReadSegmentHead(env_, JoinPath(dir, n), keys_.get());
      if (!head.ok()) {
        stats->errors.push_back(head.status());
        continue;
      }
      by_account[head->account].push_back(n);
      candidates[n] = Candidate{std::move(head).value(), bytes};
    }
    for (auto& [account, list] : by_account) {
      std::vector<std::string> group;
      uint64_t group_bytes = 0;
      auto flush = [&]() -> Status {
        if (group.size() >= 2) {
          auto c = CompactGroup(o, dir, group, candidates);
          if (crashed_) return c.status();
          if (c.ok()) published.push_back(std::move(c).value());
          else stats->errors.push_back(c.status());
        }
        group.clear();
        group_bytes = 0;
        return Status::Ok();
      };
      for (const std::string& n : list) {
        const uint64_t size = names.at(n);
        if (!group.empty() && group_bytes + size > k.max_merged_bytes) VIGIL_RETURN_IF_ERROR(flush());
        group.push_back(n);
        group_bytes += size;
      }
      VIGIL_RETURN_IF_ERROR(flush());
    }
  }
  if (published.empty()) return Status::Ok();
  // A reader that listed a directory just before a publication may still be
  // opening the inputs it saw.
  std::this_thread::sleep_for(std::chrono::milliseconds(k.grace_ms));
  for (const Compaction& c : published) {
    Status s = FinishCompaction(o, c, stats);
    if (crashed_) return s;
    if (!s.ok()) stats->errors.push_back(s);  // the marker stays: the next run finishes it
  }
  return Status::Ok();
}

// ------------------------------------------------------------------ the run

Result<TierRunStats> Tierer::Run(const TierRunOptions& o) {
  TierRunStats stats;
  crashed_ = false;
  VIGIL_RETURN_IF_ERROR(Recover(o, &stats));
  // Before the catalog is brought up to date: merged inputs need no summary.
  VIGIL_RETURN_IF_ERROR(Compact(o, &stats));
  if (!config_.enabled()) return stats;
  VIGIL_RETURN_IF_ERROR(SyncCatalog(&stats, /*add_only=*/false, o.cancel));
  if (o.cancel != nullptr && o.cancel->load()) return stats;
  const int64_t now = o.now_ns != 0 ? o.now_ns : NowNanos();
  VIGIL_ASSIGN_OR_RETURN(auto rows, catalog_->Segments());

  enum Move { kWarm = 1, kCold = 2, kDelete = 4 };
  struct Planned {
    CatalogSegment seg;
    int moves;
  };
  std::vector<Planned> plan;
  size_t total = 0;
  for (auto& [rel, seg] : rows) {
    RetentionPolicy p = config_.PolicyFor(seg.source_type);
    if (!p.any()) continue;
    const int64_t age_days = std::max<int64_t>(0, (now - seg.max_time_ns) / kDayNs);
    int moves = 0;
    if (p.delete_after_days > 0 && age_days >= p.delete_after_days) {
      moves = kDelete;
    } else {
      bool cold_due = p.cold_after_days > 0 && age_days >= p.cold_after_days && seg.tier != Tier::kCold;
      bool warm_due = p.warm_after_days > 0 && age_days >= p.warm_after_days && seg.tier == Tier::kHot;
      if (warm_due) moves |= kWarm;
      if (cold_due) moves |= kCold;
    }
    if (moves == 0) continue;
    total += (moves & kWarm ? 1 : 0) + (moves & kCold ? 1 : 0) + (moves & kDelete ? 1 : 0);
    plan.push_back({seg, moves});
  }

  size_t done = 0;
  auto note = [&](const std::string& what) {
    if (o.progress) o.progress(done, total, what);
  };
  for (Planned& p : plan) {
    if (o.cancel != nullptr && o.cancel->load()) break;
    if (p.moves & kDelete) {
      // Holds are read again right before each deletion: one placed while
      // this run goes on still counts.
      VIGIL_ASSIGN_OR_RETURN(auto holds, catalog_->Holds());
      bool held = std::any_of(holds.begin(), holds.end(), [&](const LegalHold& h) {
        return h.Covers(p.seg.source_type, p.seg.min_time_ns, p.seg.max_time_ns);
      });
      note("delete " + p.seg.path);
      ++done;
      if (held) {
        ++stats.held;
        continue;
      }
      Status s = Delete(o, p.seg, &stats);
      if (crashed_) return s;
      if (!s.ok()) stats.errors.push_back(s);
      continue;
    }
    if (p.moves & kWarm) {
      note("warm " + p.seg.path);
      ++done;
      Status s = Warm(o, &p.seg, &stats);
      if (crashed_) return s;
      if (!s.ok()) {
        stats.errors.push_back(s);
        continue;
      }
    }
    if (p.moves & kCold) {
      note("cold " + p.seg.path);
      ++done;
      Status s = Cold(o, &p.seg, &stats);
      if (crashed_) return s;
      if (!s.ok()) stats.errors.push_back(s);
    }
  }
  if (o.progress) o.progress(done, total, "");
  return stats;
}

// ------------------------------------------------------------------ the loop

struct TieringLoop::State {
  std::unique_ptr<StorageCatalog> catalog;
  std::unique_ptr<Tierer> tierer;
  int64_t interval_seconds = 3600;
  Report report;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> stop{false};
  std::thread thread;
};

Result<std::unique_ptr<TieringLoop>> TieringLoop::Start(Env* env, const std::string& data_dir, TieringConfig config,
                                                        std::shared_ptr<const KeyRing> keys, Report report,
                                                        Tierer::EventRebuilder rebuild) {
  auto state = std::make_unique<State>();
  VIGIL_ASSIGN_OR_RETURN(state->catalog, StorageCatalog::Open(JoinPath(data_dir, kStorageCatalogFile)));
  state->interval_seconds = config.loop_seconds();
  state->tierer = std::make_unique<Tierer>(env, JoinPath(data_dir, "events"), JoinPath(data_dir, kColdCacheDir),
                                           std::move(config), state->catalog.get(), std::move(keys));
  state->tierer->set_rebuilder(std::move(rebuild));
  state->report = std::move(report);
  State* s = state.get();
  s->thread = std::thread([s] {
    while (!s->stop.load()) {
      TierRunOptions o;
      o.cancel = &s->stop;
      s->report(s->tierer->Run(o));
      std::unique_lock<std::mutex> l(s->mu);
      s->cv.wait_for(l, std::chrono::seconds(s->interval_seconds), [s] { return s->stop.load(); });
    }
  });
  std::unique_ptr<TieringLoop> loop(new TieringLoop());
  loop->state_ = std::move(state);
  return loop;
}

void TieringLoop::Stop() {
  if (state_ == nullptr || !state_->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> l(state_->mu);
    state_->stop.store(true);
  }
  state_->cv.notify_all();
  state_->thread.join();
}

TieringLoop::~TieringLoop() { Stop(); }

}  // namespace vigil
