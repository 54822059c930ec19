// Decompression of framed inputs (gzip today; zstd later). gzip is inflated
// with libdeflate: zlib inflates at ~0.3 GB/s here, below the JSON parse floor.
#pragma once

#include <string>
#include <string_view>

#include "common/byte_buffer.h"
#include "common/status.h"

namespace vigil {

inline constexpr size_t kMaxDecompressedBytes = size_t{4} << 30;  // 4 GiB

bool IsGzip(std::string_view bytes);

// Inflates a gzip stream (all members, as concatenated .gz files are valid).
// Errors name the problem; `name` is used in messages.
Result<ByteBuffer> GunzipAll(std::string_view bytes, std::string_view name,
                              size_t max_bytes = kMaxDecompressedBytes);

// The same into `out` (its previous content is dropped, its allocation kept):
// a caller inflating one input after another reuses one buffer instead of
// mapping (and page-faulting) fresh memory for each. On error `out` is empty.
Status GunzipInto(std::string_view bytes, std::string_view name, ByteBuffer* out,
                  size_t max_bytes = kMaxDecompressedBytes);

// One gzip member holding `bytes` (for writers of gzip: tests, the HTTP load
// generator, Firehose-style payloads).
std::string Gzip(std::string_view bytes, int level = 6);

// Returns `bytes` decompressed when framed (gzip), else a copy. Either way the
// result carries ByteBuffer's zero padding, so parsers may read it in place.
Result<ByteBuffer> MaybeDecompress(std::string_view bytes, std::string_view name);

}  // namespace vigil
