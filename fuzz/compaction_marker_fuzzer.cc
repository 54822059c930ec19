// Fuzzes the compaction marker reader (files in the data directory that tell
// readers which segments a merged one replaces): decoding never crashes, what
// decodes names only segment files, and it encodes back to a marker that
// decodes to the same names.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "store/segment_rewrite.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto marker = vigil::DecodeCompactionMarker(in, "fuzz");
  if (!marker.ok()) return 0;
  for (const auto* names : {&marker->outputs, &marker->inputs})
    for (const std::string& n : *names)
      if (!vigil::IsSegmentFileName(n) || n.find('\n') != std::string::npos) __builtin_trap();
  auto again = vigil::DecodeCompactionMarker(vigil::EncodeCompactionMarker(*marker), "fuzz");
  if (!again.ok() || again->outputs != marker->outputs || again->inputs != marker->inputs) __builtin_trap();
  return 0;
}
