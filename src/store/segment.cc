#include "store/internal/segment.h"

#include "store/internal/coding.h"

#include <algorithm>
#include <cstring>

namespace vigil::segment {
namespace {

void PutHandle(std::string* out, const BlockHandle& h) {
  PutFixed64(out, h.offset);
  PutFixed32(out, h.compressed_len);
  PutFixed32(out, h.raw_len);
  PutFixed32(out, h.record_count);
  PutFixed32(out, h.checksum);
  PutFixed64(out, static_cast<uint64_t>(h.min_time_ns));
  PutFixed64(out, static_cast<uint64_t>(h.max_time_ns));
}

bool GetHandle(Reader* r, BlockHandle* h) {
  return r->Fixed64(&h->offset) && r->Fixed32(&h->compressed_len) && r->Fixed32(&h->raw_len) &&
         r->Fixed32(&h->record_count) && r->Fixed32(&h->checksum) && r->Int64(&h->min_time_ns) &&
         r->Int64(&h->max_time_ns);
}

Status Corrupt(const std::string& path, const std::string& what) {
  return Status::Corruption("segment " + path + ": " + what);
}

}  // namespace

// ---------------------------------------------------------------- BlockBuilder

void BlockBuilder::Add(const Event& e) {
  Entry entry;
  entry.time_ns = e.time_ns;
  entry.offset = static_cast<uint32_t>(arena_.size());
  PutVarint32(&arena_, static_cast<uint32_t>(e.id.size()));
  entry.id_offset = static_cast<uint32_t>(arena_.size());
  entry.id_length = static_cast<uint32_t>(e.id.size());
  arena_.append(e.id);
  PutFixed64(&arena_, static_cast<uint64_t>(e.time_ns));
  PutFixed64(&arena_, static_cast<uint64_t>(e.ingest_time_ns));
  arena_.push_back(e.time_fallback ? 1 : 0);
  PutLengthPrefixed(&arena_, e.source_type);
  PutLengthPrefixed(&arena_, e.account);
  PutLengthPrefixed(&arena_, e.principal);
  PutLengthPrefixed(&arena_, e.raw);
  entry.length = static_cast<uint32_t>(arena_.size() - entry.offset);
  entries_.push_back(entry);
}

Status BlockBuilder::Finish(ZSTD_CCtx* cctx, int level, std::string* out, BlockHandle* handle, BlockCodec* codec,
                            uint64_t index) {
  const char* base = arena_.data();
  auto less = [base](const Entry& a, const Entry& b) {
    if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns;
    return std::string_view(base + a.id_offset, a.id_length) < std::string_view(base + b.id_offset, b.id_length);
  };
  std::string_view records = arena_;
  if (!std::is_sorted(entries_.begin(), entries_.end(), less)) {  // logs mostly arrive in time order
    std::sort(entries_.begin(), entries_.end(), less);
    sorted_.resize(arena_.size());
    char* dst = sorted_.data();
    for (const Entry& e : entries_) {
      std::memcpy(dst, base + e.offset, e.length);
      dst += e.length;
    }
    records = sorted_;
  }
  // Compress into scratch (not zero-filled), then copy the much smaller result.
  size_t bound = ZSTD_compressBound(records.size());
  scratch_.Resize(bound);
  size_t n = ZSTD_compressCCtx(cctx, scratch_.data(), bound, records.data(), records.size(), level);
  if (ZSTD_isError(n)) return Status::Internal(std::string("zstd compress: ") + ZSTD_getErrorName(n));
  out->resize(kBlockHeaderSize);
  if (codec != nullptr) {
    VIGIL_RETURN_IF_ERROR(codec->Seal(index, std::string_view(scratch_.data(), n), out));
    n = out->size() - kBlockHeaderSize;
  } else {
    out->append(scratch_.data(), n);
  }

  *handle = BlockHandle{};
  handle->compressed_len = static_cast<uint32_t>(n);
  handle->raw_len = static_cast<uint32_t>(records.size());
  handle->record_count = static_cast<uint32_t>(entries_.size());
  handle->checksum = Checksum32(std::string_view(out->data() + kBlockHeaderSize, n));
  handle->min_time_ns = entries_.front().time_ns;
  handle->max_time_ns = entries_.back().time_ns;

  char* h = out->data();
  EncodeFixed32(h + 0, kBlockMagic);
  EncodeFixed32(h + 4, handle->compressed_len);
  EncodeFixed32(h + 8, handle->raw_len);
  EncodeFixed32(h + 12, handle->record_count);
  EncodeFixed64(h + 16, static_cast<uint64_t>(handle->min_time_ns));
  EncodeFixed64(h + 24, static_cast<uint64_t>(handle->max_time_ns));
  EncodeFixed32(h + 32, handle->checksum);
  EncodeFixed32(h + 36, Checksum32(std::string_view(h, 36)));

  arena_.clear();
  entries_.clear();
  return Status::Ok();
}

// -------------------------------------------------------------- SegmentBuilder

SegmentBuilder::SegmentBuilder(Env* env, std::string final_path, std::unique_ptr<WritableFile> file,
                               std::string source_type)
    : env_(env), final_path_(std::move(final_path)), file_(std::move(file)) {
  index_.source_type = std::move(source_type);
}

SegmentBuilder::~SegmentBuilder() { Abandon(); }

Result<std::unique_ptr<SegmentBuilder>> SegmentBuilder::Create(Env* env, std::string final_path,
                                                               std::string source_type, const KeyRing* keys) {
  auto file = env->NewWritableFile(final_path + kTempSuffix);
  std::unique_ptr<BlockCodec> codec;
  if (file.ok() && keys != nullptr && keys->active() != nullptr) {
    // The key file is durable before the segment can be published; the temp
    // file exists first, so a crash leaves no key file without one (the next
    // writer removes both).
    auto c = CreateSegmentKey(env, final_path, *keys);
    if (!c.ok()) {
      (void)(*file)->Close();
      (void)env->RemoveFile(final_path + kTempSuffix);
      return c.status();
    }
    codec = std::move(c).value();
  }
  std::string header(kFileMagic, sizeof kFileMagic);
  PutFixed32(&header, kFormatVersion);
  PutFixed32(&header, codec != nullptr ? kSegmentFlagEncrypted : 0);
  Status s = file.ok() ? (*file)->Append(header) : file.status();
  if (!s.ok()) {
    if (file.ok()) (void)(*file)->Close();
    (void)env->RemoveFile(final_path + kTempSuffix);
    if (codec != nullptr) AbandonSegmentKey(env, final_path);
    return s;
  }
  std::unique_ptr<SegmentBuilder> b(
      new SegmentBuilder(env, std::move(final_path), std::move(file).value(), std::move(source_type)));
  b->codec_ = std::move(codec);
  b->file_size_ = kHeaderSize;
  return b;
}

Status SegmentBuilder::AddBlock(std::string_view block, BlockHandle handle) {
  handle.offset = file_size_;
  VIGIL_RETURN_IF_ERROR(file_->Append(block));
  file_size_ += block.size();
  if (index_.blocks.empty()) {
    index_.min_time_ns = handle.min_time_ns;
    index_.max_time_ns = handle.max_time_ns;
  } else {
    index_.min_time_ns = std::min(index_.min_time_ns, handle.min_time_ns);
    index_.max_time_ns = std::max(index_.max_time_ns, handle.max_time_ns);
  }
  index_.record_count += handle.record_count;
  index_.blocks.push_back(handle);
  return Status::Ok();
}

Status SegmentBuilder::Seal(bool sync) {
  if (done_) return Status::FailedPrecondition("segment " + final_path_ + " already finished");
  std::sort(ids_.begin(), ids_.end());
  std::string tail;
  tail.reserve(ids_.size() * kIdSize + index_.blocks.size() * kBlockHandleSize + 256);
  const uint64_t ids_offset = file_size_;
  for (const Hash128& id : ids_) {
    PutFixed64(&tail, id.lo);
    PutFixed64(&tail, id.hi);
  }
  const uint32_t ids_checksum = Checksum32(tail);
  const uint64_t index_offset = ids_offset + tail.size();
  const size_t index_start = tail.size();
  PutFixed32(&tail, static_cast<uint32_t>(index_.source_type.size()));
  tail.append(index_.source_type);
  PutFixed64(&tail, static_cast<uint64_t>(index_.min_time_ns));
  PutFixed64(&tail, static_cast<uint64_t>(index_.max_time_ns));
  PutFixed64(&tail, index_.record_count);
  PutFixed32(&tail, static_cast<uint32_t>(index_.blocks.size()));
  for (const BlockHandle& h : index_.blocks) PutHandle(&tail, h);
  AppendSegmentTrailer({ids_offset, ids_.size(), index_offset, static_cast<uint32_t>(tail.size() - index_start),
                        ids_checksum, Checksum32(std::string_view(tail).substr(index_start))},
                       &tail);

  Status s = file_->Append(tail);
  if (s.ok() && sync) s = file_->Sync();
  if (s.ok()) s = file_->Close();
  if (!s.ok()) {
    Abandon();
    return s.WithContext("writing segment " + final_path_);
  }
  done_ = true;
  file_size_ += tail.size();
  return Status::Ok();
}

Status SegmentBuilder::Finish() {
  VIGIL_RETURN_IF_ERROR(Seal());
  Status s = PublishSegment(env_, final_path_);
  if (!s.ok()) {
    (void)env_->RemoveFile(final_path_ + kTempSuffix);
    return s;
  }
  // The rename is in the directory; until it is synced the segment may vanish
  // on a crash, but never appear half-written.
  return env_->SyncDir(DirName(final_path_)).WithContext("writing segment " + final_path_);
}

Status PublishSegment(Env* env, const std::string& final_path) {
  const std::string tmp = final_path + kTempSuffix;
  if (env->FileExists(tmp)) return env->RenameFile(tmp, final_path).WithContext("publishing segment " + final_path);
  if (env->FileExists(final_path)) return Status::Ok();
  return Status::Corruption("segment " + final_path + " was prepared but neither it nor its temp file exists");
}

void SegmentBuilder::Abandon() {
  if (done_) return;
  done_ = true;
  (void)file_->Close();
  (void)env_->RemoveFile(final_path_ + kTempSuffix);
  if (codec_ != nullptr) AbandonSegmentKey(env_, final_path_);
}

// --------------------------------------------------------------- SegmentReader

SegmentReader::SegmentReader(std::unique_ptr<RandomAccessFile> file) : file_(std::move(file)) {}

SegmentReader::~SegmentReader() {
  if (dctx_ != nullptr) ZSTD_freeDCtx(dctx_);
}

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(Env* env, const std::string& path, const KeyRing* keys) {
  VIGIL_ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(path));
  std::unique_ptr<SegmentReader> r(new SegmentReader(std::move(file)));
  r->env_ = env;
  r->keys_ = keys;
  const uint64_t size = r->file_->Size();
  if (size < kHeaderSize + kTrailerSize) {
    return Corrupt(path, "file too short (" + std::to_string(size) + " bytes) to be a segment");
  }
  std::string buf;
  VIGIL_RETURN_IF_ERROR(r->file_->Read(0, kHeaderSize, &buf));
  if (buf.size() != kHeaderSize || std::memcmp(buf.data(), kFileMagic, sizeof kFileMagic) != 0) {
    return Corrupt(path, "bad header magic");
  }
  uint32_t version = DecodeFixed32(buf.data() + 8);
  if (version != kFormatVersion) {
    return Status::Unsupported("segment " + path + ": format version " + std::to_string(version) +
                               "; this vigil reads version " + std::to_string(kFormatVersion));
  }
  const uint32_t flags = DecodeFixed32(buf.data() + 12);
  if ((flags & ~kSegmentFlagEncrypted) != 0) {
    return Status::Unsupported("segment " + path + ": unknown header flags " + std::to_string(flags));
  }
  r->encrypted_ = (flags & kSegmentFlagEncrypted) != 0;
  VIGIL_RETURN_IF_ERROR(ReadSegmentTrailer(*r->file_, size, &r->trailer_));
  const uint64_t index_offset = r->trailer_.index_offset;
  const uint32_t index_len = r->trailer_.index_len;
  const uint32_t index_checksum = r->trailer_.index_checksum;
  VIGIL_RETURN_IF_ERROR(r->file_->Read(index_offset, index_len, &buf));
  if (buf.size() != index_len || Checksum32(buf) != index_checksum) return Corrupt(path, "index checksum mismatch");

  Reader in(buf);
  SegmentIndex& idx = r->index_;
  uint32_t st_len;
  std::string_view st;
  uint32_t block_count;
  if (!in.Fixed32(&st_len) || !in.Bytes(st_len, &st) || !in.Int64(&idx.min_time_ns) || !in.Int64(&idx.max_time_ns) ||
      !in.Fixed64(&idx.record_count) || !in.Fixed32(&block_count) ||
      static_cast<uint64_t>(block_count) * kBlockHandleSize > index_len) {
    return Corrupt(path, "malformed index");
  }
  idx.source_type.assign(st);
  idx.blocks.resize(block_count);
  uint64_t next_offset = kHeaderSize;
  uint64_t records = 0;
  for (uint32_t i = 0; i < block_count; ++i) {
    BlockHandle& h = idx.blocks[i];
    if (!GetHandle(&in, &h)) return Corrupt(path, "malformed index");
    if (h.offset != next_offset || h.raw_len > kMaxBlockRawBytes || h.min_time_ns > h.max_time_ns ||
        h.min_time_ns < idx.min_time_ns || h.max_time_ns > idx.max_time_ns || h.record_count == 0) {
      return Corrupt(path, "index entry for block " + std::to_string(i) + " is invalid");
    }
    next_offset = h.offset + kBlockHeaderSize + h.compressed_len;
    records += h.record_count;
  }
  if (!in.empty() || next_offset != r->trailer_.ids_offset || records != idx.record_count ||
      idx.record_count != r->trailer_.ids_count || idx.min_time_ns > idx.max_time_ns) {
    return Corrupt(path, "index inconsistent with blocks or ids");
  }
  return r;
}

Status SegmentReader::ReadIds(std::vector<Hash128>* out) const { return ReadSegmentIds(*file_, trailer_, out); }

void AppendSegmentTrailer(const SegmentTrailer& t, std::string* out) {
  const size_t start = out->size();
  PutFixed64(out, t.ids_offset);
  PutFixed64(out, t.ids_count);
  PutFixed64(out, t.index_offset);
  PutFixed32(out, t.index_len);
  PutFixed32(out, t.ids_checksum);
  PutFixed32(out, t.index_checksum);
  PutFixed32(out, Checksum32(std::string_view(*out).substr(start, 36)));
  out->append(kTrailerMagic, sizeof kTrailerMagic);
}

Status ReadSegmentTrailer(const RandomAccessFile& file, uint64_t size, SegmentTrailer* t) {
  const std::string& path = file.path();
  std::string buf;
  VIGIL_RETURN_IF_ERROR(file.Read(size - kTrailerSize, kTrailerSize, &buf));
  if (buf.size() != kTrailerSize || std::memcmp(buf.data() + 40, kTrailerMagic, sizeof kTrailerMagic) != 0) {
    return Corrupt(path, "no valid trailer (incomplete or not a segment)");
  }
  if (Checksum32(std::string_view(buf.data(), 36)) != DecodeFixed32(buf.data() + 36)) {
    return Corrupt(path, "trailer checksum mismatch");
  }
  t->ids_offset = DecodeFixed64(buf.data());
  t->ids_count = DecodeFixed64(buf.data() + 8);
  t->index_offset = DecodeFixed64(buf.data() + 16);
  t->index_len = DecodeFixed32(buf.data() + 24);
  t->ids_checksum = DecodeFixed32(buf.data() + 28);
  t->index_checksum = DecodeFixed32(buf.data() + 32);
  if (t->index_len > kMaxIndexBytes || t->index_offset > size || t->index_offset + t->index_len + kTrailerSize != size ||
      t->ids_count > size / kIdSize || t->ids_offset < kHeaderSize || t->ids_offset > size ||
      t->ids_offset + t->ids_count * kIdSize != t->index_offset) {
    return Corrupt(path, "trailer offsets inconsistent with file size " + std::to_string(size));
  }
  return Status::Ok();
}

Status ReadSegmentIds(const RandomAccessFile& file, const SegmentTrailer& t, std::vector<Hash128>* out) {
  out->clear();
  std::string buf;
  VIGIL_RETURN_IF_ERROR(file.Read(t.ids_offset, static_cast<size_t>(t.ids_count * kIdSize), &buf));
  if (buf.size() != t.ids_count * kIdSize || Checksum32(buf) != t.ids_checksum) {
    return Corrupt(file.path(), "event-id set checksum mismatch");
  }
  out->resize(static_cast<size_t>(t.ids_count));
  for (size_t i = 0; i < out->size(); ++i) {
    (*out)[i].lo = DecodeFixed64(buf.data() + i * kIdSize);
    (*out)[i].hi = DecodeFixed64(buf.data() + i * kIdSize + 8);
  }
  return Status::Ok();
}

Status SegmentReader::ReadBlock(size_t i, std::string* raw, std::vector<RecordView>* records) {
  records->clear();
  if (i >= index_.blocks.size()) return Status::InvalidArgument("segment " + path() + ": no block " + std::to_string(i));
  const BlockHandle& h = index_.blocks[i];
  const std::string where = "block " + std::to_string(i) + " at offset " + std::to_string(h.offset);
  VIGIL_RETURN_IF_ERROR(file_->Read(h.offset, kBlockHeaderSize + h.compressed_len, &scratch_));
  if (scratch_.size() != kBlockHeaderSize + h.compressed_len) return Corrupt(path(), where + ": truncated");
  const char* p = scratch_.data();
  if (DecodeFixed32(p) != kBlockMagic || Checksum32(std::string_view(p, 36)) != DecodeFixed32(p + 36)) {
    return Corrupt(path(), where + ": block header checksum mismatch");
  }
  if (DecodeFixed32(p + 4) != h.compressed_len || DecodeFixed32(p + 8) != h.raw_len ||
      DecodeFixed32(p + 12) != h.record_count || static_cast<int64_t>(DecodeFixed64(p + 16)) != h.min_time_ns ||
      static_cast<int64_t>(DecodeFixed64(p + 24)) != h.max_time_ns || DecodeFixed32(p + 32) != h.checksum) {
    return Corrupt(path(), where + ": block header disagrees with index");
  }
  std::string_view compressed(p + kBlockHeaderSize, h.compressed_len);
  if (Checksum32(compressed) != h.checksum) return Corrupt(path(), where + ": checksum mismatch");
  if (encrypted_) {
    if (codec_ == nullptr) {
      if (codec_error_.ok()) {
        auto codec = OpenSegmentKey(env_, path(), keys_);
        if (codec.ok()) {
          codec_ = std::move(codec).value();
        } else {
          codec_error_ = codec.status();
        }
      }
      if (!codec_error_.ok()) return codec_error_;
    }
    VIGIL_RETURN_IF_ERROR(codec_->Open(i, compressed, &opened_));
    compressed = opened_;
  }
  if (dctx_ == nullptr) {
    dctx_ = ZSTD_createDCtx();
    if (dctx_ == nullptr) return Status::Internal("zstd: cannot create decompression context");
  }
  raw->resize(h.raw_len);
  size_t n = ZSTD_decompressDCtx(dctx_, raw->data(), raw->size(), compressed.data(), compressed.size());
  if (ZSTD_isError(n) || n != h.raw_len) {
    return Corrupt(path(), where + ": cannot decompress" +
                               (ZSTD_isError(n) ? std::string(" (") + ZSTD_getErrorName(n) + ")" : std::string()));
  }
  Reader in(*raw);
  records->reserve(h.record_count);
  for (uint32_t k = 0; k < h.record_count; ++k) {
    RecordView rec;
    uint64_t t, it;
    uint8_t flags;
    if (!in.LengthPrefixed(&rec.id) || !in.Fixed64(&t) || !in.Fixed64(&it) || !in.Byte(&flags) ||
        !in.LengthPrefixed(&rec.source_type) || !in.LengthPrefixed(&rec.account) ||
        !in.LengthPrefixed(&rec.principal) || !in.LengthPrefixed(&rec.raw)) {
      return Corrupt(path(), where + ": record " + std::to_string(k) + " is malformed");
    }
    rec.time_ns = static_cast<int64_t>(t);
    rec.ingest_time_ns = static_cast<int64_t>(it);
    rec.time_fallback = (flags & 1) != 0;
    if (rec.time_ns < h.min_time_ns || rec.time_ns > h.max_time_ns) {
      return Corrupt(path(), where + ": record " + std::to_string(k) + " time outside block range");
    }
    records->push_back(rec);
  }
  if (!in.empty()) return Corrupt(path(), where + ": trailing bytes after records");
  return Status::Ok();
}

}  // namespace vigil::segment
