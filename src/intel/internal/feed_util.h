// Helpers the feed parsers share (not part of the intel interface).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vigil::intel::internal {

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Lines of a text, numbered from 1, without their "\n" or "\r\n"; a UTF-8
// byte order mark before the first line is dropped.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text) {
    if (rest_.starts_with("\xEF\xBB\xBF")) rest_.remove_prefix(3);
  }
  bool Next(std::string_view* line) {
    if (done_) return false;
    size_t nl = rest_.find('\n');
    ++line_;
    if (nl == std::string_view::npos) {
      *line = rest_;
      done_ = true;
      if (rest_.empty()) return false;
    } else {
      *line = rest_.substr(0, nl);
      rest_.remove_prefix(nl + 1);
    }
    if (line->ends_with('\r')) line->remove_suffix(1);
    return true;
  }
  uint32_t line() const { return line_; }
  // What is left after the current line.
  std::string_view rest() const { return done_ ? std::string_view() : rest_; }
  // Continues into the next line (a quoted CSV field spanning lines).
  bool Extend(std::string_view* line) {
    std::string_view next;
    const char* start = line->data();
    if (!Next(&next)) return false;
    *line = std::string_view(start, static_cast<size_t>(next.data() + next.size() - start));
    return true;
  }

 private:
  std::string_view rest_;
  uint32_t line_ = 0;
  bool done_ = false;
};

// "path:line: message"
inline Status LineError(const std::string& path, uint32_t line, const std::string& message) {
  return Status::InvalidArgument(path + ":" + std::to_string(line) + ": " + message);
}

// Finds 1-based line numbers of ascending offsets in a text without
// rescanning it (JSON feeds locate each object by its id).
class LineCounter {
 public:
  explicit LineCounter(std::string_view text) : text_(text) {}
  // The line of the first occurrence of `needle` at or after the previous
  // one found; 0 when absent (the position is then unchanged).
  uint32_t LineOf(std::string_view needle) {
    if (needle.empty()) return 0;
    size_t at = text_.find(needle, pos_);
    if (at == std::string_view::npos) return 0;
    for (; pos_ < at; ++pos_)
      if (text_[pos_] == '\n') ++line_;
    return line_;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
};

// A confidence: a whole number 0-100, or high/medium/low. -2 when unreadable.
inline int ParseConfidence(std::string_view s) {
  if (s == "high" || s == "High" || s == "HIGH") return 85;
  if (s == "medium" || s == "Medium" || s == "MEDIUM") return 50;
  if (s == "low" || s == "Low" || s == "LOW") return 15;
  if (s.empty() || s.size() > 3) return -2;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -2;
    v = v * 10 + (c - '0');
  }
  return v <= 100 ? v : -2;
}

}  // namespace vigil::intel::internal
