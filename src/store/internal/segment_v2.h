// Segment file v2 (docs/storage-format.md, "Segment file, version 2"): blocks
// of hot-field columns, dictionary-compressed raw records and bloom filters.
// Internal to the store; the fuzzer uses SegmentFile too.
//
// SegmentFile reads either version behind one interface, so that the store
// scans v1 and v2 segments side by side.
//
// Ownership and lifetime: RecordView fields point into the BlockData passed to
// ReadBlock (and into the SegmentFile for the source type) and are valid until
// either changes. Thread safety: one thread at a time per object (each owns
// zstd contexts); a DictionaryCache likewise.
#pragma once

#include <zstd.h>

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <unordered_map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/hash.h"
#include "common/status.h"
#include "env/env.h"
#include "event/event.h"
#include "store/event_store.h"
#include "store/block_codec.h"
#include "store/internal/segment.h"
#include "store/json_scan.h"
#include "store/keys.h"

namespace vigil::segment {

inline constexpr uint32_t kFormatVersion2 = 2;
inline constexpr uint32_t kBlockMagic2 = 0x32424C56;  // "VLB2" little-endian
inline constexpr size_t kBlockHeaderSize2 = 64;
inline constexpr uint32_t kTextBloomColumn = 65535;
inline constexpr char kDictDir[] = ".dict";
inline constexpr char kDictSuffix[] = ".zdict";

// Column roles in the index (bit set).
inline constexpr uint8_t kColumnHot = 1;    // values come from the record's fields
inline constexpr uint8_t kColumnBloom = 2;  // a bloom filter per block
inline constexpr uint8_t kColumnNoValues = 4;  // bloom only: values not stored (unique ids the raw record holds)
inline constexpr uint32_t kTextBloomBits = 1u << 17;  // before folding

// v2 header flags beside kSegmentFlagEncrypted (bit 0). Readers older than
// these flags refuse such segments as Unsupported ("unknown header flags").
// Packed: the id column holds ids in their packed forms (common/hex_id.h) and
// the raw section holds each record encoded against its id, with lower-case
// UUIDs packed apart (docs/storage-format.md, "Packed records").
inline constexpr uint32_t kSegmentFlagPacked = 2;
// No id set: the trailer's id set is empty and a segment's ids are those of
// its id column (written for packed segments that are not encrypted; an
// encrypted segment keeps its id set so that writers need no key to dedup).
inline constexpr uint32_t kSegmentFlagNoIdSet = 4;
// Columns dictionary: the index holds a second dictionary id, of the raw
// content the columns sections are compressed against (a first block's
// columns: values recur across blocks).
inline constexpr uint32_t kSegmentFlagColumnsDict = 8;
// The dictionary label of a log type's columns dictionary.
inline std::string ColumnsDictLabel(std::string_view source_type) { return "columns:" + std::string(source_type); }

// Fixed metadata columns, in this order, in every v2 schema.
enum MetaColumn : uint32_t { kColTime = 0, kColIngestTime, kColFlags, kColId, kColAccount, kColPrincipal, kFirstHotColumn };

struct ColumnSpec {
  std::string name;
  uint8_t role = 0;
  bool operator==(const ColumnSpec&) const = default;
};

// The column schema a writer uses for a log type (metadata columns, then its
// hot fields).
std::vector<ColumnSpec> SchemaFor(std::string_view source_type);

struct ColumnRange {
  uint32_t column = 0;
  int64_t min = 0;
  int64_t max = 0;
};

struct BlockHandle2 {
  uint64_t offset = 0;
  uint32_t record_count = 0;
  int64_t min_time_ns = 0;
  int64_t max_time_ns = 0;
  uint32_t columns_len = 0, columns_raw_len = 0;
  uint32_t raw_len = 0, raw_raw_len = 0;
  uint32_t filters_len = 0;
  uint32_t columns_checksum = 0, raw_checksum = 0, filters_checksum = 0;
  std::vector<ColumnRange> ranges;  // int-encoded columns
  uint64_t size() const { return kBlockHeaderSize2 + uint64_t{columns_len} + raw_len + filters_len; }
};

// Loads dictionaries from `<root>/.dict/` by id, checking them. `keys`
// (borrowed, may be null) opens encrypted dictionaries.
class DictionaryCache {
 public:
  DictionaryCache(Env* env, std::string root, const KeyRing* keys = nullptr)
      : env_(env), root_(std::move(root)), keys_(keys) {}
  ~DictionaryCache();
  DictionaryCache(const DictionaryCache&) = delete;
  DictionaryCache& operator=(const DictionaryCache&) = delete;
  // Null for id 0. Corruption naming the file when it is missing or damaged;
  // FailedPrecondition when it is encrypted and `keys` do not open it.
  Result<const ZSTD_DDict*> Get(uint64_t id);
  // The dictionary's bytes, checked as Get checks them (not cached).
  Status Load(uint64_t id, std::string* dict) const;

 private:
  Env* env_;
  std::string root_;
  const KeyRing* keys_;
  std::map<uint64_t, ZSTD_DDict*> ddicts_;
};

std::string DictPath(const std::string& root, uint64_t id);
// Reads and checks a dictionary file; *source_type and *dict receive its
// content. An encrypted dictionary (file version 2) is opened with `keys`
// through its key file `<path>.key`; *encrypted (may be null) says which it was.
Status ReadDictionaryFile(Env* env, const std::string& path, std::string* source_type, std::string* dict,
                          const KeyRing* keys = nullptr, bool* encrypted = nullptr);
// Writes a dictionary file durably (temp, fsync, rename, directory fsync) and
// returns its id. Idempotent. With `keys` holding a master key the
// dictionary is sealed under a data key of its own, wrapped in `<path>.key`
// (written durably first), as a segment's blocks are.
Result<uint64_t> WriteDictionaryFile(Env* env, const std::string& root, std::string_view source_type,
                                     std::string_view dict, const KeyRing* keys = nullptr);
// The id of the log type's dictionary in `root` (smallest id), or 0. With a
// master key only encrypted dictionaries that `keys` open are candidates
// (trained from event content, a plain one would hold it in the clear);
// without one only plain dictionaries are.
Result<uint64_t> FindDictionary(Env* env, const std::string& root, std::string_view source_type,
                                const KeyRing* keys = nullptr);
// Trains a dictionary from samples; empty when zstd cannot (too few samples).
std::string TrainDictionary(const std::vector<std::string_view>& samples, size_t dict_bytes);

// A text a packed record may give up, under `mark` (docs/storage-format.md,
// "Packed records"); `at`, when known, is where the record holds it as a
// whole JSON string (else npos: the writer searches for it), which is
// JsonRecordScanner::strings()[string] (UINT32_MAX: not known).
struct Splice {
  uint32_t mark;
  std::string_view text;
  size_t at = std::string_view::npos;
  uint32_t string = UINT32_MAX;
};

// Accumulates records for one v2 block. Buffers are reused across blocks.
class BlockBuilder2 {
 public:
  // `packed`: ids and raw records in the packed forms (kSegmentFlagPacked);
  // the segment must be created with the same choice.
  BlockBuilder2(std::vector<ColumnSpec> schema, bool text_bloom, bool packed = true);
  ~BlockBuilder2();
  void Add(const Event& event);
  bool empty() const { return rows_.empty(); }
  size_t raw_bytes() const { return raw_bytes_; }
  size_t count() const { return rows_.size(); }
  // Raw records added so far, as the raw section holds them (packed or not):
  // samples for dictionary training.
  std::vector<std::string_view> RawSamples() const;
  // Content for a columns dictionary: this block's columns (but the ids,
  // which do not recur), at most `max_bytes`.
  std::string ColumnsContent(size_t max_bytes);
  // Writes the block (header + sections) into *out and fills *handle (offset
  // left 0). `cdict` may be null. With a codec each section is sealed as
  // codec block `index * 4 + section` (0 columns, 1 raw, 2 filters).
  // Resets the builder.
  // `columns_cdict` (may be null) compresses the columns section.
  Status Finish(ZSTD_CCtx* cctx, int level, const ZSTD_CDict* cdict, std::string* out, BlockHandle2* handle,
                BlockCodec* codec = nullptr, uint64_t index = 0, const ZSTD_CDict* columns_cdict = nullptr);

 private:
  struct Row {
    int64_t time_ns;
    int64_t ingest_time_ns;
    bool fallback;
    uint32_t id_offset, id_length;
    uint32_t raw_offset, raw_length;  // the raw bytes (packed: encoded) in raw_arena_
    uint32_t uuid_offset, uuid_count;  // packed: the record's UUIDs in uuid_arena_
    uint32_t account, principal;      // value ids
    uint32_t values_begin, values_end;  // into values_ (hot columns, in column order)
  };
  struct Value {
    uint32_t column;  // hot column index (schema index)
    uint32_t text;    // value id
    bool is_int;
    int64_t number;
  };
  uint32_t Intern(std::string_view text);
  // Appends the row's values of column `c` (a hot one).
  void AddValue(size_t c, ValueKind kind, std::string_view text, bool is_integer);
  void BuildColumns(const std::vector<uint32_t>& order, BlockHandle2* handle, std::string* cols, size_t* id_begin,
                    size_t* id_end);
  void AddTrigrams(std::string_view text);
  void SetTrigramBits(std::string_view text);

  std::vector<ColumnSpec> schema_;
  std::vector<FieldPath> paths_;  // per schema column (hot ones)
  std::unique_ptr<JsonRecordScanner> scanner_;  // over paths_
  bool text_bloom_;
  bool packed_;
  std::string arena_;      // ids
  std::string uuid_arena_;  // packed: 16 bytes per UUID taken out of raw records, in arrival order
  std::vector<Splice> splices_;  // packed: the values a record may give up
  std::vector<std::pair<size_t, size_t>> cuts_;                 // packed: scratch
  std::vector<uint8_t> cut_strings_;                            // packed: scratch
  std::string raw_arena_;  // raw records (packed: encoded), in arrival order, back to back
  std::string raw_sorted_;  // the raw section
  size_t raw_bytes_ = 0;
  std::vector<Row> rows_;
  std::vector<Value> values_;
  std::deque<std::string> texts_;  // value id -> text (a deque: views of its elements stay valid)
  // text -> value id: open addressing over value id + 1 (0 empty), with each
  // value's hash beside it, at most half full.
  std::vector<uint32_t> text_slots_;
  std::vector<uint64_t> text_hashes_;  // per value id
  std::vector<uint8_t> text_trigrams_;  // per value id: its trigrams are set
  std::vector<uint32_t> hot_scalar_;    // Add's scratch: per scalar of the record, its value id if a hot value's
  std::vector<bool> unknown_;  // per column: some record's fields could not be read
  // The text bloom, filled as records arrive (folded to size in Finish).
  std::vector<uint64_t> text_bits_;
  // Trigrams of the memo's alphabet whose bits are set (SetTrigramBits).
  std::vector<uint64_t> trigram_memo_;
  std::string scratch_;  // a compressed section before sealing
  // Finish's scratch: per value id its lower-cased hash (when hashed_), a
  // column's bloom hashes, the table that makes them distinct, a lower-cased text.
  std::vector<uint64_t> lower_hash_;
  std::vector<uint8_t> hashed_;
  std::vector<uint64_t> bloom_scratch_;
  std::vector<uint64_t> distinct_slots_;
  std::string lower_;
  // Hashes of values of kSeenMinBytes or more whose trigrams are set (open
  // addressing, 0 = empty).
  static constexpr size_t kSeenMinBytes = 8;
  std::vector<uint64_t> seen_;
  size_t seen_count_ = 0;
  std::string sections_;
};

// Writes one v2 segment (same temp-file protocol as SegmentBuilder). With a
// key ring holding a master key the segment is encrypted exactly as a v1
// segment is (block_codec.h): key file first, header flag, sealed sections.
class SegmentBuilder2 {
 public:
  static Result<std::unique_ptr<SegmentBuilder2>> Create(Env* env, std::string final_path, std::string source_type,
                                                         std::string account, uint64_t dict_id,
                                                         std::vector<ColumnSpec> schema,
                                                         const KeyRing* keys = nullptr, bool packed = true,
                                                         uint64_t columns_dict_id = 0);
  // Rewriting a published segment in place (RecompressSegment2): `codec`
  // (may be null) is the segment's own, opened from its key file, which is
  // kept as it is and never removed by Abandon.
  static Result<std::unique_ptr<SegmentBuilder2>> CreateRewrite(Env* env, std::string path, std::string source_type,
                                                                std::string account, uint64_t dict_id,
                                                                std::vector<ColumnSpec> schema,
                                                                std::unique_ptr<BlockCodec> codec, bool packed,
                                                                uint64_t columns_dict_id = 0);
  ~SegmentBuilder2();
  Status AddBlock(std::string_view block, BlockHandle2 handle);
  void AddId(const Hash128& id) {
    if (write_ids_) ids_.push_back(id);
  }
  // As SegmentBuilder::Seal.
  Status Seal(bool sync = true);
  void Abandon();
  uint64_t file_size() const { return file_size_; }
  const std::string& final_path() const { return final_path_; }
  BlockCodec* codec() const { return codec_.get(); }
  uint64_t next_block_index() const { return blocks_.size(); }

 private:
  SegmentBuilder2() = default;
  struct Identity {  // what the header and index say of the segment
    std::string source_type, account;
    uint64_t dict_id;
    std::vector<ColumnSpec> schema;
    bool packed;
    uint64_t columns_dict_id;
  };
  // Writes the file header to `file` (a new `<final_path>.tmp`).
  static Result<std::unique_ptr<SegmentBuilder2>> Start(Env* env, std::string final_path,
                                                        Result<std::unique_ptr<WritableFile>> file,
                                                        std::unique_ptr<BlockCodec> codec, bool owns_key_file,
                                                        Identity id);
  Env* env_ = nullptr;
  std::unique_ptr<BlockCodec> codec_;
  bool owns_key_file_ = false;  // created here: removed when abandoned
  std::string final_path_;
  std::unique_ptr<WritableFile> file_;
  std::string source_type_, account_;
  uint64_t dict_id_ = 0;
  uint64_t columns_dict_id_ = 0;
  std::vector<ColumnSpec> schema_;
  std::vector<BlockHandle2> blocks_;
  int64_t min_time_ns_ = 0, max_time_ns_ = 0;
  uint64_t record_count_ = 0;
  std::vector<Hash128> ids_;
  bool write_ids_ = true;  // false: kSegmentFlagNoIdSet
  uint64_t file_size_ = 0;
  bool done_ = false;
};

// Rewrites the v2 segment at `path` in place with its columns and raw
// sections recompressed at zstd `level` (the raw records against the
// segment's own dictionary, from `dicts`), every record, column value,
// filter, id and index entry kept, lengths and checksums recomputed. An
// encrypted segment is sealed again under its own data key (fresh nonces;
// its key file is left as it is). The new file is `<path>.tmp`, fsynced,
// renamed over `path`, the directory fsynced: a crash leaves the old or the
// new segment, both whole. Unsupported for a v1 segment.
Status RecompressSegment2(Env* env, const std::string& path, DictionaryCache* dicts, const KeyRing* keys, int level);
// Writes the blocks of the unencrypted v2 segments `inputs`, as stored (not
// decompressed), one input after another, into a new segment at
// `final_path`, sealed but not published (its temp file; PublishSegment).
// The inputs must agree in log type, account, dictionaries, packing and
// columns; Unsupported, before anything is written, when they do not, or
// when one is v1 or encrypted (its blocks authenticate their own segment).
// Also Unsupported when the inputs' blocks hold on average fewer than
// `min_block_bytes` raw (uncompressed) bytes.
Status MergeSegmentBlocks2(Env* env, const std::vector<std::string>& inputs, const std::string& final_path,
                           uint64_t min_block_bytes = 0);

// Decoded block being scanned.
struct BlockData {
  std::string sealed;   // section bytes as read
  std::string columns;  // decompressed columns section
  std::string raw;      // decompressed raw section (v1: the records)
  std::string raw_text;  // packed: the decoded records handed on
  std::string id_text;   // packed: the decoded ids
  std::vector<std::string_view> dict_scratch;
  std::vector<RecordView> records;
};

// Reads a segment of either version.
class SegmentFile {
 public:
  // Validates header, trailer and index (Corruption or Unsupported naming the
  // file). `dicts` (may be null when no block will be read) loads v2
  // dictionaries; `keys` (may be null) open encrypted segments' blocks.
  static Result<std::unique_ptr<SegmentFile>> Open(Env* env, const std::string& path, DictionaryCache* dicts,
                                                   const KeyRing* keys = nullptr);
  virtual ~SegmentFile() = default;
  virtual const std::string& path() const = 0;
  virtual uint32_t version() const = 0;
  // Source type, time range, record count and per-block time ranges and
  // counts (offset and lengths are v1's only).
  virtual const SegmentIndex& index() const = 0;
  virtual const std::string& account() const = 0;
  // Blocks sealed by the segment's codec (encryption at rest).
  virtual bool encrypted() const = 0;
  // HashId128 of every id (from the id set, or from the id column of a
  // segment written without one), in no particular order.
  virtual Status ReadIds(std::vector<Hash128>* out) = 0;
  // False when the ids are read from the blocks (kSegmentFlagNoIdSet).
  virtual bool has_id_set() const { return true; }
  // False when the block cannot hold a record passing `filter` (index and
  // bloom filters; reads the filters section). Counts in *stats.
  virtual Result<bool> BlockMayMatch(size_t i, const ScanFilter& filter, ScanStats* stats) = 0;
  // Reads, checks and decodes block `i` into data->records, in (time, id)
  // order, leaving out records that fail `filter` (may be null). The raw
  // bytes are read only when some record passes.
  virtual Status ReadBlock(size_t i, const ScanFilter* filter, BlockData* data, ScanStats* stats) = 0;
  // Decodes block `i`'s values of request.fields into *out (its times too
  // when `times`), without reading the raw section, and marks in out->pass
  // the records whose columns do not rule out `filter` (may be null; counted
  // in *stats as records_dropped). False (nothing read)
  // when the segment cannot answer from columns: version 1, a field it has
  // no value column for; false after reading when some record's values are
  // unknown, an account or principal is empty (the matcher then reads the
  // record's own field) or a text value could be a JSON null, boolean or
  // number (a column does not say which).
  virtual Result<bool> ReadColumnBlock(size_t i, const ColumnRequest& request, bool times, const ScanFilter* filter,
                                       BlockData* data, ColumnBlock* out, ScanStats* stats) = 0;
  // Reads every section of block `i` (Verify).
  virtual Status CheckBlock(size_t i, BlockData* data) = 0;
};

}  // namespace vigil::segment
