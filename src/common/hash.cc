#include "common/hash.h"

#include <xxhash.h>

#include <cstdio>

namespace vigil {

uint64_t Hash64(std::string_view data, uint64_t seed) { return XXH3_64bits_withSeed(data.data(), data.size(), seed); }

Hash128 HashId128(std::string_view data) {
  XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  return Hash128{h.low64, h.high64};
}

std::string HexHash128(std::string_view data) { return Hex(HashId128(data)); }

std::string Hex(const Hash128& h) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.hi),
                static_cast<unsigned long long>(h.lo));
  return std::string(buf, 32);
}

uint32_t Checksum32(std::string_view data) { return static_cast<uint32_t>(XXH3_64bits(data.data(), data.size())); }

}  // namespace vigil
