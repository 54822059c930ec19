// The operations storage tiering and compaction need from the segment format,
// kept in one place so that tiering itself (src/tier/) knows nothing of the
// format: which files are segments, a summary of one segment, rewriting one
// with a stronger compression level, reading one's records back, and the
// compaction markers that let readers see a merged segment instead of its
// inputs.
//
// Thread safety: free functions; a segment file may be summarised from several
// threads, but only one caller may rewrite a given file at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "env/env.h"
#include "store/event_store.h"
#include "store/keys.h"

namespace vigil {

struct SegmentSummary {
  std::string source_type;
  int64_t min_time_ns = 0;
  int64_t max_time_ns = 0;
  uint64_t events = 0;
  uint64_t raw_bytes = 0;     // sum of the stored records' original bytes (Event::raw)
  uint64_t stored_bytes = 0;  // the file's size
  bool encrypted = false;     // blocks sealed under a data key (store/block_codec.h)
};

// True for the name of a published segment file ("x.seg").
bool IsSegmentFileName(std::string_view name);

// Reads and checks every block of the segment at `path`. Corruption naming the
// file and block when it does not read back. An encrypted segment without
// `keys` (borrowed, may be null) is summarised from its index: raw_bytes 0.
Result<SegmentSummary> SummarizeSegment(Env* env, const std::string& path, const KeyRing* keys = nullptr);

// Rewrites the segment at `path` in place with zstd `level`: every record
// (id, times, metadata and raw bytes) is kept exactly, block by block (v2:
// columns and raw records recompressed, the raw ones against the segment's
// own dictionary; filters, ids and index entries kept). The new file is
// built beside it (`<path>.tmp`), fsynced and renamed over `path`, so a crash
// leaves either the old or the new segment, both complete. Returns the new
// file's summary. An encrypted v2 segment is sealed again under its own data
// key (its key file is unchanged), so `keys` must open it. Unsupported,
// before anything is written, for an encrypted v1 segment (its writer has no
// way to reuse the data key; it is kept as written).
Result<SegmentSummary> RecompressSegment(Env* env, const std::string& path, int level, const KeyRing* keys = nullptr);

// Removes what an unpublished segment `path` ("….seg") left: its temp file
// and key file (a writer's Prepare handed them out; see EventWriter).
Status RemoveUnpublishedSegment(Env* env, const std::string& path);

// What a segment's header and index say, without reading a block: its log
// type, the account every record in it is of ("" for records without one)
// and its record count.
struct SegmentHead {
  std::string source_type;
  std::string account;
  uint64_t events = 0;
};
Result<SegmentHead> ReadSegmentHead(Env* env, const std::string& path, const KeyRing* keys = nullptr);

// Calls `fn` for every record of the segment at `path`, block by block, each
// in (time, id) order, as a scan would hand it on; stops at the first error
// (`fn`'s, or Corruption naming the file and block).
Status ForEachSegmentRecord(Env* env, const std::string& path, const KeyRing* keys,
                            const std::function<Status(const StoredEvent&)>& fn);

// Compaction (docs/storage-format.md#compaction) merges small segments of a
// partition directory into one. Its marker, `<dir>/<output>.compact`, names
// the merged segment(s) and the inputs they replace (file names in the same
// directory). It is written durably before the output is published; from the
// moment every output it names is published, readers leave its inputs out
// (DropCompactedInputs), so a scan sees each record once whether the inputs
// have been removed yet or not. Once they are, the marker goes too.
inline constexpr char kCompactionMarkerSuffix[] = ".compact";

// Compaction's cheap path: merges the segments `inputs` (file names in
// `dir`, all of one partition) into a new segment in `dir` by copying their
// blocks as stored, with no record decoded or compressed again; returns its
// file name. It is sealed but not published (publish it as a writer's
// Prepare output; RemoveUnpublishedSegment undoes it). Unsupported, before
// anything is written, when the blocks cannot be copied: a v1 or encrypted
// input, or inputs that differ in dictionaries or columns. Blocks stay the
// size their writers gave them.
// Unsupported too when the inputs' blocks hold on average fewer than
// `min_block_bytes` raw bytes (small blocks are better rewritten).
Result<std::string> MergeSegmentBlocks(Env* env, const std::string& dir, const std::vector<std::string>& inputs,
                                       uint64_t min_block_bytes = 0);

struct CompactionMarker {
  std::vector<std::string> outputs;  // segment file names
  std::vector<std::string> inputs;
};

std::string EncodeCompactionMarker(const CompactionMarker& marker);
// Corruption naming `path` when `text` is not a marker.
Result<CompactionMarker> DecodeCompactionMarker(std::string_view text, const std::string& path);

// Removes from `segments` (paths of the segment files listed in `dir`) the
// inputs of each marker in `markers` (file names in `dir`) whose outputs are
// all among `segments`. A marker that cannot be read is ignored: its inputs
// are then still read, as they were before the compaction began.
void DropCompactedInputs(Env* env, const std::string& dir, const std::vector<std::string>& markers,
                         std::vector<std::string>* segments);

}  // namespace vigil
