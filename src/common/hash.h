// Hashing: xxHash3 (fast, non-cryptographic) for ids, blooms and checksums.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

uint64_t Hash64(std::string_view data, uint64_t seed = 0);
// Hash64 (seed 0) of `a` followed by `b`, without joining them.
uint64_t Hash64(std::string_view a, std::string_view b);
struct Hash128 {
  uint64_t lo = 0;
  uint64_t hi = 0;
  bool operator==(const Hash128& o) const { return lo == o.lo && hi == o.hi; }
  bool operator<(const Hash128& o) const { return hi != o.hi ? hi < o.hi : lo < o.lo; }
};
Hash128 HashId128(std::string_view data);
// 32 lower-case hex digits: Hex(HashId128(data)).
std::string HexHash128(std::string_view data);
std::string Hex(const Hash128& h);  // high half first
// 32-bit checksum of a block (low bits of xxh3-64).
uint32_t Checksum32(std::string_view data);

struct Hash128Hasher {
  size_t operator()(const Hash128& h) const { return static_cast<size_t>(h.lo ^ (h.hi * 0x9E3779B97F4A7C15ull)); }
};

}  // namespace vigil
