#include "formats/json_split.h"

#include <string>

namespace vigil {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Skips a string starting at the opening quote; returns offset past the closing quote or npos.
size_t SkipString(std::string_view t, size_t pos) {
  for (size_t i = pos + 1; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

size_t SkipJsonSpace(std::string_view text, size_t pos) {
  if (pos == 0 && text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  return pos;
}

size_t SkipJsonValue(std::string_view t, size_t pos, size_t max_depth) {
  if (pos >= t.size()) return std::string_view::npos;
  char c = t[pos];
  if (c == '"') return SkipString(t, pos);
  if (c != '{' && c != '[') {
    size_t i = pos;
    while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && !IsSpace(t[i])) ++i;
    return i;
  }
  size_t depth = 0;
  for (size_t i = pos; i < t.size(); ++i) {
    char ch = t[i];
    if (ch == '"') {
      i = SkipString(t, i);
      if (i == std::string_view::npos) return i;
      --i;
    } else if (ch == '{' || ch == '[') {
      if (++depth > max_depth) return std::string_view::npos;
    } else if (ch == '}' || ch == ']') {
      if (depth == 0) return std::string_view::npos;
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

Status SplitJsonArray(std::string_view t, size_t open, size_t max_depth, std::vector<JsonSpan>* out) {
  size_t pos = SkipJsonSpace(t, open + 1);
  if (pos < t.size() && t[pos] == ']') return Status::Ok();
  while (pos < t.size()) {
    size_t end = SkipJsonValue(t, pos, max_depth);
    if (end == std::string_view::npos) {
      out->push_back({pos, t.size()});
      return Status::InvalidArgument("input ends inside the array element starting at byte " + std::to_string(pos));
    }
    out->push_back({pos, end});
    pos = SkipJsonSpace(t, end);
    if (pos < t.size() && t[pos] == ',') {
      pos = SkipJsonSpace(t, pos + 1);
      continue;
    }
    if (pos < t.size() && t[pos] == ']') return Status::Ok();
    if (pos >= t.size()) break;
    return Status::InvalidArgument("expected ',' or ']' at byte " + std::to_string(pos));
  }
  return Status::InvalidArgument("input ends before the array closes");
}

size_t FindTopLevelKey(std::string_view t, std::string_view key, size_t max_depth) {
  size_t pos = SkipJsonSpace(t, 0);
  if (pos >= t.size() || t[pos] != '{') return std::string_view::npos;
  pos = SkipJsonSpace(t, pos + 1);
  while (pos < t.size() && t[pos] == '"') {
    size_t kend = SkipString(t, pos);
    if (kend == std::string_view::npos) return kend;
    std::string_view k = t.substr(pos + 1, kend - pos - 2);
    pos = SkipJsonSpace(t, kend);
    if (pos >= t.size() || t[pos] != ':') return std::string_view::npos;
    pos = SkipJsonSpace(t, pos + 1);
    if (k == key) return pos;
    pos = SkipJsonValue(t, pos, max_depth);
    if (pos == std::string_view::npos) return pos;
    pos = SkipJsonSpace(t, pos);
    if (pos < t.size() && t[pos] == ',') pos = SkipJsonSpace(t, pos + 1);
  }
  return std::string_view::npos;
}

}  // namespace vigil
