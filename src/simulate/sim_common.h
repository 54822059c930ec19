// Pieces shared by the simulators (cloudtrail_generator, org_simulator):
// a platform-independent PRNG, JSON text builders, delivery-path stamps and a
// reproducible gzip writer. Nothing here keeps global state.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace vigil::sim {

inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int64_t kMinute = 60 * kSecond;
inline constexpr int64_t kHour = 60 * kMinute;
inline constexpr int64_t kDay = 24 * kHour;

inline constexpr std::string_view kUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
inline constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::string_view kLowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";

// Deterministic randomness: xoshiro256** seeded through splitmix64. Only
// integer arithmetic, so the stream is the same on every platform. Not
// thread-safe; one per generator.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next();
  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64); }
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1))); }
  // True with probability per_mille / 1000.
  bool PerMille(uint64_t per_mille) { return Below(1000) < per_mille; }
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& items) {
    return items[Below(N)];
  }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }
  // Index drawn with the given integer weights (not all zero).
  size_t Weighted(const int* weights, size_t n);
  std::string Uuid();
  std::string Chars(size_t n, std::string_view alphabet);
  std::string Hex(size_t n) { return Chars(n, "0123456789abcdef"); }

 private:
  uint64_t s_[4];
};

// Hand-written JSON: values are rendered to text as they are built.
void AppendEscaped(std::string& out, std::string_view s);
std::string Q(std::string_view s);
inline std::string Num(int64_t n) { return std::to_string(n); }
inline std::string Bool(bool b) { return b ? "true" : "false"; }
using Member = std::pair<std::string_view, std::string>;
// {"k": v, ...} where each v is already JSON text; members with an empty value
// are left out.
std::string Obj(std::initializer_list<Member> members);
std::string Arr(const std::vector<std::string>& items);

// 20250304T0215Z
std::string FileStamp(int64_t t);
// 2025/03/04
std::string DatePath(int64_t t);
// Mar 4, 2025, 2:41:00 AM: the style of dates inside some CloudTrail response elements.
std::string ResponseDate(int64_t t);

// gzip (libdeflate, level 6) with a zeroed header timestamp, so the same
// input gives the same bytes.
Result<std::string> Gzip(std::string_view data);
// Creates parent directories and writes `bytes`, replacing the file.
Status WriteFile(const std::filesystem::path& path, std::string_view bytes);

}  // namespace vigil::sim
