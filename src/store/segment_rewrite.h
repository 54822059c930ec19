// The two operations storage tiering needs from the segment format, kept in
// one place so that tiering itself (src/tier/) knows nothing of the format:
// which files are segments, a summary of one segment, and rewriting one with a
// stronger compression level.
//
// Thread safety: free functions; a segment file may be summarised from several
// threads, but only one caller may rewrite a given file at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "env/env.h"
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

}  // namespace vigil
