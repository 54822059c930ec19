// Segment-format specific: the only code tiering runs against segment files
// (v1 and v2).
#include "store/segment_rewrite.h"

#include <zstd.h>

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "store/block_codec.h"
#include "store/internal/segment.h"
#include "store/internal/segment_v2.h"

namespace vigil {

bool IsSegmentFileName(std::string_view name) {
  std::string_view suffix = segment::kSegmentSuffix;
  return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
}

namespace {

// Reads every block of `reader`, calling `block_fn(records)` for each.
template <typename BlockFn>
Result<SegmentSummary> ReadAll(Env* env, segment::SegmentReader& reader, BlockFn&& block_fn) {
  SegmentSummary s;
  s.encrypted = reader.encrypted();
  s.source_type = reader.index().source_type;
  s.min_time_ns = reader.index().min_time_ns;
  s.max_time_ns = reader.index().max_time_ns;
  std::string raw;
  std::vector<segment::RecordView> records;
  for (size_t b = 0; b < reader.index().blocks.size(); ++b) {
    VIGIL_RETURN_IF_ERROR(reader.ReadBlock(b, &raw, &records));
    s.events += records.size();
    for (const auto& r : records) s.raw_bytes += r.raw.size();
    VIGIL_RETURN_IF_ERROR(block_fn(records));
  }
  VIGIL_ASSIGN_OR_RETURN(s.stored_bytes, env->FileSize(reader.path()));
  return s;
}

// The store root of a segment (where `.dict/` is): four directories above
// the partition's files.
std::string StoreRootOf(const std::string& path) {
  std::string root = DirName(path);
  for (int i = 0; i < 4; ++i) root = DirName(root);
  return root;
}

// v2 segments: read through SegmentFile.
Result<SegmentSummary> SummarizeV2(Env* env, const std::string& path, const KeyRing* keys) {
  segment::DictionaryCache dicts(env, StoreRootOf(path), keys);
  VIGIL_ASSIGN_OR_RETURN(auto file, segment::SegmentFile::Open(env, path, &dicts, keys));
  SegmentSummary s;
  s.encrypted = file->encrypted();
  s.source_type = file->index().source_type;
  s.min_time_ns = file->index().min_time_ns;
  s.max_time_ns = file->index().max_time_ns;
  if (s.encrypted && keys == nullptr) {
    s.events = file->index().record_count;
  } else {
    segment::BlockData data;
    for (size_t b = 0; b < file->index().blocks.size(); ++b) {
      VIGIL_RETURN_IF_ERROR(file->CheckBlock(b, &data));
      s.events += data.records.size();
      for (const auto& r : data.records) s.raw_bytes += r.raw.size();
    }
  }
  VIGIL_ASSIGN_OR_RETURN(s.stored_bytes, env->FileSize(path));
  return s;
}

bool IsV2(Env* env, const std::string& path) {
  auto f = env->NewRandomAccessFile(path);
  std::string head;
  if (!f.ok() || !(*f)->Read(0, segment::kHeaderSize, &head).ok() || head.size() != segment::kHeaderSize) return false;
  const uint32_t version = static_cast<unsigned char>(head[8]) | (static_cast<unsigned char>(head[9]) << 8);
  return version == segment::kFormatVersion2;
}

}  // namespace

Result<SegmentSummary> SummarizeSegment(Env* env, const std::string& path, const KeyRing* keys) {
  if (IsV2(env, path)) return SummarizeV2(env, path, keys);
  VIGIL_ASSIGN_OR_RETURN(auto reader, segment::SegmentReader::Open(env, path, keys));
  if (reader->encrypted() && keys == nullptr) {
    SegmentSummary s;
    s.encrypted = true;
    s.source_type = reader->index().source_type;
    s.min_time_ns = reader->index().min_time_ns;
    s.max_time_ns = reader->index().max_time_ns;
    s.events = reader->index().record_count;
    VIGIL_ASSIGN_OR_RETURN(s.stored_bytes, env->FileSize(path));
    return s;
  }
  return ReadAll(env, *reader, [](const std::vector<segment::RecordView>&) { return Status::Ok(); });
}

Result<std::string> MergeSegmentBlocks(Env* env, const std::string& dir, const std::vector<std::string>& inputs,
                                       uint64_t min_block_bytes) {
  std::vector<std::string> paths;
  paths.reserve(inputs.size());
  for (const std::string& in : inputs) paths.push_back(JoinPath(dir, in));
  const std::string name = segment::NewSegmentName();
  VIGIL_RETURN_IF_ERROR(segment::MergeSegmentBlocks2(env, paths, JoinPath(dir, name), min_block_bytes));
  return name;
}

Result<SegmentSummary> RecompressSegment(Env* env, const std::string& path, int level, const KeyRing* keys) {
  if (IsV2(env, path)) {
    segment::DictionaryCache dicts(env, StoreRootOf(path), keys);
    VIGIL_RETURN_IF_ERROR(segment::RecompressSegment2(env, path, &dicts, keys, level));
    // Read back in full: the summary is of the file now in place, and every
    // section of it is checked once more.
    return SummarizeV2(env, path, keys);
  }
  VIGIL_ASSIGN_OR_RETURN(auto reader, segment::SegmentReader::Open(env, path, keys));
  if (reader->encrypted()) return Status::Unsupported("segment " + path + " is encrypted: not recompressed");
  std::vector<Hash128> ids;
  VIGIL_RETURN_IF_ERROR(reader->ReadIds(&ids));
  VIGIL_ASSIGN_OR_RETURN(auto builder, segment::SegmentBuilder::Create(env, path, reader->index().source_type));
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (cctx == nullptr) return Status::Internal("zstd: cannot create compression context");
  segment::BlockBuilder block;
  std::string out;
  Event e;
  // One block out per block in: records are already in (time, id) order, so
  // the block builder's sort keeps them where they were.
  auto rewrite = [&](const std::vector<segment::RecordView>& records) -> Status {
    for (const auto& r : records) {
      e.id.assign(r.id);
      e.source_type.assign(r.source_type);
      e.time_ns = r.time_ns;
      e.ingest_time_ns = r.ingest_time_ns;
      e.time_fallback = r.time_fallback;
      e.account.assign(r.account);
      e.principal.assign(r.principal);
      e.raw.assign(r.raw);
      block.Add(e);
    }
    segment::BlockHandle handle;
    VIGIL_RETURN_IF_ERROR(block.Finish(cctx.get(), level, &out, &handle));
    return builder->AddBlock(out, handle);
  };
  VIGIL_ASSIGN_OR_RETURN(SegmentSummary before, ReadAll(env, *reader, rewrite));
  for (const Hash128& id : ids) builder->AddId(id);
  reader.reset();
  VIGIL_RETURN_IF_ERROR(builder->Finish().WithContext("recompressing " + path));
  VIGIL_ASSIGN_OR_RETURN(before.stored_bytes, env->FileSize(path));
  return before;
}

Status RemoveUnpublishedSegment(Env* env, const std::string& path) {
  for (const std::string& f : {path + segment::kTempSuffix, segment::KeyFilePath(path)})
    if (env->FileExists(f)) VIGIL_RETURN_IF_ERROR(env->RemoveFile(f));
  return Status::Ok();
}

Result<SegmentHead> ReadSegmentHead(Env* env, const std::string& path, const KeyRing* keys) {
  VIGIL_ASSIGN_OR_RETURN(auto file, segment::SegmentFile::Open(env, path, nullptr, keys));
  return SegmentHead{file->index().source_type, file->account(), file->index().record_count};
}

Status ForEachSegmentRecord(Env* env, const std::string& path, const KeyRing* keys,
                            const std::function<Status(const StoredEvent&)>& fn) {
  segment::DictionaryCache dicts(env, StoreRootOf(path), keys);
  VIGIL_ASSIGN_OR_RETURN(auto file, segment::SegmentFile::Open(env, path, &dicts, keys));
  segment::BlockData data;
  StoredEvent ev;
  for (size_t b = 0; b < file->index().blocks.size(); ++b) {
    VIGIL_RETURN_IF_ERROR(file->ReadBlock(b, nullptr, &data, nullptr));
    for (const segment::RecordView& r : data.records) {
      segment::ToStoredEvent(r, &ev);
      VIGIL_RETURN_IF_ERROR(fn(ev));
    }
  }
  return Status::Ok();
}

// The marker is a few lines of text: a version line, then "out <name>" and
// "in <name>" lines. Names never hold a newline (segment names are generated).
constexpr std::string_view kMarkerHead = "vigil compaction 1\n";

std::string EncodeCompactionMarker(const CompactionMarker& m) {
  std::string out(kMarkerHead);
  for (const std::string& o : m.outputs) out.append("out ").append(o).push_back('\n');
  for (const std::string& i : m.inputs) out.append("in ").append(i).push_back('\n');
  return out;
}

Result<CompactionMarker> DecodeCompactionMarker(std::string_view text, const std::string& path) {
  auto bad = [&](const std::string& why) { return Status::Corruption("compaction marker " + path + ": " + why); };
  if (text.substr(0, kMarkerHead.size()) != kMarkerHead) return bad("not a compaction marker");
  CompactionMarker m;
  text.remove_prefix(kMarkerHead.size());
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return bad("a line without its end (torn)");
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line.substr(0, 4) == "out " && IsSegmentFileName(line.substr(4))) {
      m.outputs.emplace_back(line.substr(4));
    } else if (line.substr(0, 3) == "in " && IsSegmentFileName(line.substr(3))) {
      m.inputs.emplace_back(line.substr(3));
    } else {
      return bad("unexpected line '" + std::string(line) + "'");
    }
  }
  if (m.outputs.empty() || m.inputs.empty()) return bad("names no output or no input");
  return m;
}

void DropCompactedInputs(Env* env, const std::string& dir, const std::vector<std::string>& markers,
                         std::vector<std::string>* segments) {
  if (markers.empty()) return;
  const std::set<std::string> present(segments->begin(), segments->end());
  std::set<std::string> drop;
  for (const std::string& name : markers) {
    const std::string path = JoinPath(dir, name);
    std::string text;
    if (!env->ReadFile(path, &text).ok()) continue;  // removed meanwhile: its inputs are gone too
    auto m = DecodeCompactionMarker(text, path);
    if (!m.ok()) continue;
    const bool published = std::all_of(m->outputs.begin(), m->outputs.end(),
                                       [&](const std::string& o) { return present.count(JoinPath(dir, o)) > 0; });
    if (!published) continue;
    for (const std::string& i : m->inputs) drop.insert(JoinPath(dir, i));
  }
  if (drop.empty()) return;
  segments->erase(std::remove_if(segments->begin(), segments->end(),
                                 [&](const std::string& s) { return drop.count(s) > 0; }),
                  segments->end());
}

}  // namespace vigil
