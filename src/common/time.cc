#include "common/time.h"

#include <chrono>
#include <cstdio>

namespace vigil {

// Howard Hinnant's civil-date algorithms (public domain descriptions).
int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp + (mp < 10 ? 3 : -9);
  return CivilDate{static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d)};
}

int64_t DayNumber(int64_t nanos) {
  int64_t secs = nanos / kNanosPerSecond;
  if (nanos < 0 && nanos % kNanosPerSecond != 0) --secs;
  int64_t days = secs / 86400;
  if (secs < 0 && secs % 86400 != 0) --days;
  return days;
}

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::optional<int64_t> ParseTimestamp(std::string_view s) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
      !Digits(s, 8, 2, &d))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  // int64 nanoseconds span 1677-09-21 to 2262-04-11; keep clear of both ends.
  if (y < 1678 || y > 2261) return std::nullopt;
  size_t p = 10;
  int64_t frac_ns = 0;
  int64_t offset_s = 0;
  if (p < s.size()) {
    if (s[p] != 'T' && s[p] != 't' && s[p] != ' ') return std::nullopt;
    ++p;
    if (!Digits(s, p, 2, &h) || p + 2 >= s.size() || s[p + 2] != ':' || !Digits(s, p + 3, 2, &mi))
      return std::nullopt;
    p += 5;
    if (p < s.size() && s[p] == ':') {
      if (!Digits(s, p + 1, 2, &sec)) return std::nullopt;
      p += 3;
    }
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      size_t start = p;
      int64_t scale = 100'000'000;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        frac_ns += (s[p] - '0') * scale;
        scale /= 10;
        ++p;
      }
      if (p == start) return std::nullopt;
    }
    if (p < s.size()) {
      if ((s[p] == 'Z' || s[p] == 'z') && p + 1 == s.size()) {
        ++p;
      } else if (s[p] == '+' || s[p] == '-') {
        int oh, om = 0;
        if (!Digits(s, p + 1, 2, &oh)) return std::nullopt;
        size_t q = p + 3;
        if (q < s.size() && s[q] == ':') ++q;
        if (q < s.size() && !Digits(s, q, 2, &om)) return std::nullopt;
        if (q < s.size()) q += 2;
        if (q != s.size() || oh > 23 || om > 59) return std::nullopt;
        offset_s = (oh * 3600 + om * 60) * (s[p] == '+' ? 1 : -1);
        p = q;
      } else {
        return std::nullopt;
      }
    }
  }
  if (p != s.size()) return std::nullopt;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * kNanosPerSecond + frac_ns;
}

bool FormatRfc3339Seconds(int64_t nanos, char (&out)[20]) {
  if (nanos % kNanosPerSecond != 0) return false;
  const int64_t days = DayNumber(nanos);
  const int64_t sod = (nanos - days * 86400 * kNanosPerSecond) / kNanosPerSecond;
  const CivilDate d = CivilFromDays(days);
  if (d.year < 0 || d.year > 9999) return false;
  // By hand: snprintf was a tenth of the cost of packing a stored record.
  auto two = [&out](int at, int v) {
    out[at] = static_cast<char>('0' + v / 10);
    out[at + 1] = static_cast<char>('0' + v % 10);
  };
  two(0, d.year / 100);
  two(2, d.year % 100);
  out[4] = '-';
  two(5, d.month);
  out[7] = '-';
  two(8, d.day);
  out[10] = 'T';
  two(11, static_cast<int>(sod / 3600));
  out[13] = ':';
  two(14, static_cast<int>(sod / 60 % 60));
  out[16] = ':';
  two(17, static_cast<int>(sod % 60));
  out[19] = 'Z';
  return true;
}

std::string FormatRfc3339(int64_t nanos) {
  int64_t days = DayNumber(nanos);
  int64_t rem = nanos - days * 86400 * kNanosPerSecond;
  int64_t secs = rem / kNanosPerSecond;
  int64_t ns = rem % kNanosPerSecond;
  char buf[64];
  if (ns / 1'000'000 == 0) {
    char whole[20];
    if (FormatRfc3339Seconds(nanos - ns, whole)) return std::string(whole, 20);
  }
  CivilDate c = CivilFromDays(days);
  if (ns / 1'000'000 != 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.year, c.month, c.day,
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60),
                  static_cast<int>(ns / 1'000'000));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day,
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  }
  return buf;
}

std::optional<int64_t> ParseDuration(std::string_view s) {
  size_t i = 0;
  int64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    n = n * 10 + (s[i] - '0');
    if (n > 1'000'000'000) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = s.substr(i);
  int64_t mul;
  if (unit == "ms") mul = 1'000'000;
  else if (unit == "s") mul = kNanosPerSecond;
  else if (unit == "m") mul = 60 * kNanosPerSecond;
  else if (unit == "h") mul = 3600 * kNanosPerSecond;
  else if (unit == "d") mul = 86400 * kNanosPerSecond;
  else if (unit == "w") mul = 7 * 86400 * kNanosPerSecond;
  else if (unit == "M") mul = 30 * 86400 * kNanosPerSecond;
  else if (unit == "y") mul = 365 * 86400 * kNanosPerSecond;
  else return std::nullopt;
  return n * mul;
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace vigil
