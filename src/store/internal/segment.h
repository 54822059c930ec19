// Segment file v1: reading and writing one file (docs/storage-format.md has
// the byte layout). Internal to the store; the fuzzer uses SegmentReader too.
//
// Ownership and lifetime: RecordView fields point into the `raw` buffer passed
// to SegmentReader::ReadBlock and are valid until that buffer changes.
// Thread safety: a SegmentReader may be used from one thread at a time (it
// owns a decompression context); SegmentBuilder likewise.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/hash.h"
#include "common/byte_buffer.h"
#include "common/status.h"
#include "env/env.h"
#include "event/event.h"
#include "store/block_codec.h"
#include "store/event_store.h"
#include "store/keys.h"

namespace vigil::segment {

inline constexpr char kFileMagic[8] = {'V', 'I', 'G', 'I', 'L', 'S', 'E', 'G'};
inline constexpr char kTrailerMagic[8] = {'V', 'I', 'G', 'S', 'E', 'G', 'E', 'N'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint32_t kBlockMagic = 0x4B4C4256;  // "VBLK" little-endian
inline constexpr size_t kHeaderSize = 16;
inline constexpr size_t kBlockHeaderSize = 40;
inline constexpr size_t kBlockHandleSize = 40;
inline constexpr size_t kIdSize = 16;
inline constexpr size_t kTrailerSize = 48;
// Reader limits: larger values are treated as corruption, never allocated.
inline constexpr uint32_t kMaxBlockRawBytes = 64u << 20;
inline constexpr uint32_t kMaxIndexBytes = 64u << 20;
inline constexpr char kSegmentSuffix[] = ".seg";
inline constexpr char kTempSuffix[] = ".tmp";

struct BlockHandle {
  uint64_t offset = 0;  // of the block header
  uint32_t compressed_len = 0;
  uint32_t raw_len = 0;
  uint32_t record_count = 0;
  uint32_t checksum = 0;  // Checksum32 of the compressed bytes
  int64_t min_time_ns = 0;
  int64_t max_time_ns = 0;
};

// The 48-byte trailer both format versions end with (docs/storage-format.md):
// where the event-id set and the index are, and their checksums.
struct SegmentTrailer {
  uint64_t ids_offset = 0, ids_count = 0, index_offset = 0;
  uint32_t index_len = 0, ids_checksum = 0, index_checksum = 0;
};
// Appends `t` as the trailer (its own checksum and the end magic included).
void AppendSegmentTrailer(const SegmentTrailer& t, std::string* out);
// Reads and checks the trailer of `file` (`size` bytes): magic, checksum and
// offsets consistent with the size. Corruption names the file.
Status ReadSegmentTrailer(const RandomAccessFile& file, uint64_t size, SegmentTrailer* t);
// Reads and checks the event-id set the trailer locates.
Status ReadSegmentIds(const RandomAccessFile& file, const SegmentTrailer& t, std::vector<Hash128>* out);

struct SegmentIndex {
  std::string source_type;
  int64_t min_time_ns = 0;
  int64_t max_time_ns = 0;
  uint64_t record_count = 0;
  std::vector<BlockHandle> blocks;
};

struct RecordView {
  std::string_view id;
  int64_t time_ns = 0;
  int64_t ingest_time_ns = 0;
  bool time_fallback = false;
  std::string_view source_type;
  std::string_view account;
  std::string_view principal;
  std::string_view raw;
};

// The stored form of a record read back, as scans hand it on.
inline void ToStoredEvent(const RecordView& rec, StoredEvent* ev) {
  ev->id.assign(rec.id);
  ev->source_type.assign(rec.source_type);
  ev->time_ns = rec.time_ns;
  ev->ingest_time_ns = rec.ingest_time_ns;
  ev->time_fallback = rec.time_fallback;
  ev->account.assign(rec.account);
  ev->principal.assign(rec.principal);
  ev->raw.assign(rec.raw);
}

// Accumulates records for one block, then sorts them by (time, id) and
// compresses them. Buffers are reused across blocks.
class BlockBuilder {
 public:
  void Add(const Event& event);
  bool empty() const { return entries_.empty(); }
  size_t raw_bytes() const { return arena_.size(); }
  size_t count() const { return entries_.size(); }
  // Writes block header + compressed records into *out (replacing it) and
  // fills *handle (offset left 0). Resets the builder. With a codec the
  // compressed records are sealed by it as block `index` of its segment.
  Status Finish(ZSTD_CCtx* cctx, int level, std::string* out, BlockHandle* handle, BlockCodec* codec = nullptr,
                uint64_t index = 0);

 private:
  struct Entry {
    int64_t time_ns;
    uint32_t offset;
    uint32_t length;
    uint32_t id_offset;
    uint32_t id_length;
  };
  std::string arena_;
  std::string sorted_;
  ByteBuffer scratch_;  // compression output before it is copied into the block
  std::vector<Entry> entries_;
};

// Writes one segment to `<final_path>.tmp`. Seal completes and fsyncs the temp
// file (the segment is whole but not yet visible); Finish seals, renames it to
// `final_path` and fsyncs the directory. PublishSegment renames a sealed temp
// file on its own, also after a restart (see EventWriter::Prepare).
// With a key ring holding a master key, the segment is encrypted: Create
// writes its key file (`<final_path>.key`, block_codec.h) and the header
// carries kSegmentFlagEncrypted; blocks are sealed by codec().
class SegmentBuilder {
 public:
  static Result<std::unique_ptr<SegmentBuilder>> Create(Env* env, std::string final_path, std::string source_type,
                                                        const KeyRing* keys = nullptr);
  ~SegmentBuilder();  // abandons (removes the temp file) unless finished

  // `block` is the output of BlockBuilder::Finish.
  Status AddBlock(std::string_view block, BlockHandle handle);
  void AddId(const Hash128& id) { ids_.push_back(id); }
  // Writes ids, index and trailer; fsyncs (unless `sync` is false: the caller
  // then fsyncs it before relying on it, see EventWriter::PrepareUnsynced)
  // and closes the temp file. The builder no longer owns the file: it is not
  // removed on destruction.
  Status Seal(bool sync = true);
  // Seal, rename, fsync the directory.
  Status Finish();
  void Abandon();
  uint64_t file_size() const { return file_size_; }
  const std::string& final_path() const { return final_path_; }
  // The codec blocks of this segment pass through (null: stored as is), and
  // the index the next block will have.
  BlockCodec* codec() const { return codec_.get(); }
  uint64_t next_block_index() const { return index_.blocks.size(); }

 private:
  SegmentBuilder(Env* env, std::string final_path, std::unique_ptr<WritableFile> file, std::string source_type);
  Env* env_;
  std::unique_ptr<BlockCodec> codec_;
  std::string final_path_;
  std::unique_ptr<WritableFile> file_;
  SegmentIndex index_;
  std::vector<Hash128> ids_;
  uint64_t file_size_ = 0;
  bool done_ = false;
};

// Renames `<final_path>.tmp` (sealed) to `final_path`. Idempotent: OK when the
// rename already happened; Corruption when neither file exists. The caller
// fsyncs the directory.
Status PublishSegment(Env* env, const std::string& final_path);
// A new segment's file name ("<time>-<process nonce>-<seq>.seg"), unique
// across processes writing to one directory over time.
std::string NewSegmentName();

class SegmentReader {
 public:
  // Reads and validates header, trailer and index. Any failure is Corruption
  // (or IoError) naming the file: such a file is not a valid segment. An
  // encrypted segment opens without keys (its index and ids are not
  // encrypted); `keys` (borrowed, may be null) are needed to read its blocks.
  static Result<std::unique_ptr<SegmentReader>> Open(Env* env, const std::string& path,
                                                     const KeyRing* keys = nullptr);
  ~SegmentReader();

  const std::string& path() const { return file_->path(); }
  const SegmentIndex& index() const { return index_; }
  // The event-id hashes stored in the footer (checksummed), sorted.
  Status ReadIds(std::vector<Hash128>* out) const;
  // Reads, checks and decodes block `i`. *raw receives the decompressed bytes
  // and *records views into it, in stored (time, id) order. For an encrypted
  // segment, the first call unwraps its data key: a missing or wrong master
  // key is FailedPrecondition naming the segment and the key id, from every
  // call; a block that fails authentication is Corruption.
  Status ReadBlock(size_t i, std::string* raw, std::vector<RecordView>* records);
  bool encrypted() const { return encrypted_; }

 private:
  SegmentReader(std::unique_ptr<RandomAccessFile> file);
  std::unique_ptr<RandomAccessFile> file_;
  Env* env_ = nullptr;
  const KeyRing* keys_ = nullptr;
  bool encrypted_ = false;
  std::unique_ptr<BlockCodec> codec_;
  Status codec_error_;
  std::string opened_;  // a block's payload after the codec
  SegmentIndex index_;
  SegmentTrailer trailer_;
  std::string scratch_;
  ZSTD_DCtx* dctx_ = nullptr;
};

}  // namespace vigil::segment
