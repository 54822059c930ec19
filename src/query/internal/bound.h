// Bounds of `<`, `<=`, `>`, `>=` comparisons. Internal to the query module.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/time.h"

namespace vigil::query_internal {

struct Bound {
  bool is_time = false;
  double number = 0;    // !is_time
  int64_t time_ns = 0;  // is_time
};

// A finite decimal number ("443", "-1.5", "1e6"), parsed whole.
inline std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double d = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

// ParseTimestamp restricted to the years int64 nanoseconds can hold
// (1678..2261), so that a timestamp such as "9999-12-31" in a query or in a
// record is simply not a time rather than an arithmetic overflow.
inline std::optional<int64_t> ParseTimeInRange(std::string_view s) {
  if (s.size() < 4) return std::nullopt;
  int year = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    year = year * 10 + (s[i] - '0');
  }
  if (year < 1678 || year > 2261) return std::nullopt;
  return ParseTimestamp(s);
}

// A number, else an RFC 3339 / ISO 8601 time; nullopt for anything else.
inline std::optional<Bound> ParseBound(std::string_view s) {
  if (auto d = ParseNumber(s)) return Bound{false, *d, 0};
  if (auto t = ParseTimeInRange(s)) return Bound{true, 0, *t};
  return std::nullopt;
}

}  // namespace vigil::query_internal
