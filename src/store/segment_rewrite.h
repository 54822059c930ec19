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

namespace vigil {

struct SegmentSummary {
  std::string source_type;
  int64_t min_time_ns = 0;
  int64_t max_time_ns = 0;
  uint64_t events = 0;
  uint64_t raw_bytes = 0;     // sum of the stored records' original bytes (Event::raw)
  uint64_t stored_bytes = 0;  // the file's size
};

// True for the name of a published segment file ("x.seg").
bool IsSegmentFileName(std::string_view name);

// Reads and checks every block of the segment at `path`. Corruption naming the
// file and block when it does not read back.
Result<SegmentSummary> SummarizeSegment(Env* env, const std::string& path);

// Rewrites the segment at `path` in place with zstd `level`: every record
// (id, times, metadata and raw bytes) is kept exactly, block by block. The new
// file is built beside it (`<path>.tmp`), fsynced and renamed over `path`, so
// a crash leaves either the old or the new segment, both complete. Returns
// the new file's summary.
Result<SegmentSummary> RecompressSegment(Env* env, const std::string& path, int level);

}  // namespace vigil
