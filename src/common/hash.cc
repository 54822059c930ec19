#include "common/hash.h"

// The streaming state on the stack (XXH3_state_t's layout).
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>


namespace vigil {

uint64_t Hash64(std::string_view data, uint64_t seed) { return XXH3_64bits_withSeed(data.data(), data.size(), seed); }

uint64_t Hash64(std::string_view a, std::string_view b) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, a.data(), a.size());
  XXH3_64bits_update(&state, b.data(), b.size());
  return XXH3_64bits_digest(&state);
}

Hash128 HashId128(std::string_view data) {
  XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  return Hash128{h.low64, h.high64};
}

std::string HexHash128(std::string_view data) { return Hex(HashId128(data)); }

// Written digit by digit rather than through snprintf, which cost ~1,600
// instructions a call: every event of a log type without ids of its own gets
// one, and every new alert.
std::string Hex(const Hash128& h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = kDigits[(h.hi >> (4 * i)) & 15];
    out[31 - i] = kDigits[(h.lo >> (4 * i)) & 15];
  }
  return out;
}

uint32_t Checksum32(std::string_view data) { return static_cast<uint32_t>(XXH3_64bits(data.data(), data.size())); }

}  // namespace vigil
