// Fuzzes the cold segment stub reader (files in the data directory that name
// an object in the cold bucket): decoding never crashes, and what decodes
// encodes back to a stub that decodes to the same values.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tier/cold_env.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto stub = vigil::DecodeColdStub(in, "fuzz");
  if (!stub.ok()) return 0;
  auto again = vigil::DecodeColdStub(vigil::EncodeColdStub(*stub), "fuzz");
  if (!again.ok()) __builtin_trap();
  const auto& a = *stub;
  const auto& b = *again;
  if (a.bucket != b.bucket || a.key != b.key || a.endpoint != b.endpoint || a.region != b.region ||
      a.path_style != b.path_style || a.size != b.size || a.checksum != b.checksum || a.source_type != b.source_type ||
      a.min_time_ns != b.min_time_ns || a.max_time_ns != b.max_time_ns || a.events != b.events ||
      a.raw_bytes != b.raw_bytes)
    __builtin_trap();
  return 0;
}
