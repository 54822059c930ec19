// Event-time helpers. All times in vigil are int64 nanoseconds since the Unix
// epoch, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Parses ISO 8601 / RFC 3339 timestamps as found in AWS logs:
//   2024-07-31T13:06:24Z, 2024-07-31T13:06:24.123456Z, 2024-07-31T13:06:24+02:00,
//   2024-07-31 13:06:24.123456789 (no zone: UTC), 2024-07-31 (midnight UTC).
// Returns nullopt for anything else ("...", empty, out-of-range fields).
std::optional<int64_t> ParseTimestamp(std::string_view s);

// Formats as RFC 3339 UTC: 2024-07-31T13:06:24Z, with milliseconds when non-zero.
std::string FormatRfc3339(int64_t nanos);
// YYYY-MM-DDTHH:MM:SSZ into `out` without allocating (CloudTrail's
// eventTime); false unless `nanos` is a whole second in years 0 to 9999.
bool FormatRfc3339Seconds(int64_t nanos, char (&out)[20]);

// Parses durations such as 30s, 5m, 1h, 2d, 1w, 500ms. Returns nullopt on error.
std::optional<int64_t> ParseDuration(std::string_view s);

// Wall clock now, in nanoseconds since the epoch.
int64_t NowNanos();

// Days since the epoch for a time (floor), and the civil date of a day.
int64_t DayNumber(int64_t nanos);
struct CivilDate {
  int year;
  int month;
  int day;
};
CivilDate CivilFromDays(int64_t days);
int64_t DaysFromCivil(int y, unsigned m, unsigned d);

}  // namespace vigil
