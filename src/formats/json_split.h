// Splits JSON containers into the byte ranges of their elements without
// building a document.
//
// Why hand-written: a log file is a container of independent records, and one
// malformed record must not lose the others. A full parser (simdjson included)
// stops at the first syntax error; this scanner only tracks strings, escapes
// and bracket depth, so each record's exact bytes are found even when a
// neighbour is broken, and each is then parsed (and dead-lettered) on its own.
// It runs at memory speed and is not a validator.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil {

struct JsonSpan {
  size_t begin = 0;  // offset of the element's first byte
  size_t end = 0;    // one past its last byte (whitespace trimmed)
};

// Skips whitespace (and a UTF-8 BOM at offset 0) from `pos`; returns the new position.
size_t SkipJsonSpace(std::string_view text, size_t pos);

// Skips one JSON value starting at `pos` (no validation). Returns the offset just
// past it, or npos when the input ends first.
size_t SkipJsonValue(std::string_view text, size_t pos, size_t max_depth);

// Splits the array whose '[' is at `open`. Appends each element's span to `out`.
// On an unterminated array the spans found so far are kept, the partial tail is
// appended as a last span, and an InvalidArgument error says where input ended.
Status SplitJsonArray(std::string_view text, size_t open, size_t max_depth, std::vector<JsonSpan>* out);

// The same, handing each span to `element(span)` as soon as it is found, so
// that a caller reads each element while the scan has its bytes in cache
// (records of a many-megabyte file would be out of cache again by the time a
// whole list of spans is done).
template <typename Element>
Status ForEachJsonArrayElement(std::string_view text, size_t open, size_t max_depth, Element&& element);

// For a top-level object, finds the value of key `key` (first occurrence at
// depth 1) and returns the offset of its first byte, or npos.
size_t FindTopLevelKey(std::string_view text, std::string_view key, size_t max_depth);

// For a top-level object, calls `visit(key, value_offset)` for each key at
// depth 1 in order (the key as written, escapes kept) until it returns false
// or the object (or `text`) ends. Cost: one pass, nested values skipped.
template <typename Visit>
void VisitTopLevelKeys(std::string_view text, size_t max_depth, Visit&& visit);

namespace json_split_internal {
size_t SkipString(std::string_view t, size_t pos);
}  // namespace json_split_internal

namespace json_split_internal {
Status UnterminatedElement(size_t pos);
Status ExpectedCommaOrClose(size_t pos);
Status UnclosedArray();
}  // namespace json_split_internal

template <typename Element>
Status ForEachJsonArrayElement(std::string_view t, size_t open, size_t max_depth, Element&& element) {
  size_t pos = SkipJsonSpace(t, open + 1);
  if (pos < t.size() && t[pos] == ']') return Status::Ok();
  while (pos < t.size()) {
    size_t end = SkipJsonValue(t, pos, max_depth);
    if (end == std::string_view::npos) {
      element(JsonSpan{pos, t.size()});
      return json_split_internal::UnterminatedElement(pos);
    }
    element(JsonSpan{pos, end});
    pos = SkipJsonSpace(t, end);
    if (pos < t.size() && t[pos] == ',') {
      pos = SkipJsonSpace(t, pos + 1);
      continue;
    }
    if (pos < t.size() && t[pos] == ']') return Status::Ok();
    if (pos >= t.size()) break;
    return json_split_internal::ExpectedCommaOrClose(pos);
  }
  return json_split_internal::UnclosedArray();
}

template <typename Visit>
void VisitTopLevelKeys(std::string_view t, size_t max_depth, Visit&& visit) {
  size_t pos = SkipJsonSpace(t, 0);
  if (pos >= t.size() || t[pos] != '{') return;
  pos = SkipJsonSpace(t, pos + 1);
  while (pos < t.size() && t[pos] == '"') {
    size_t kend = json_split_internal::SkipString(t, pos);
    if (kend == std::string_view::npos) return;
    std::string_view k = t.substr(pos + 1, kend - pos - 2);
    pos = SkipJsonSpace(t, kend);
    if (pos >= t.size() || t[pos] != ':') return;
    pos = SkipJsonSpace(t, pos + 1);
    if (!visit(k, pos)) return;
    pos = SkipJsonValue(t, pos, max_depth);
    if (pos == std::string_view::npos) return;
    pos = SkipJsonSpace(t, pos);
    if (pos < t.size() && t[pos] == ',') pos = SkipJsonSpace(t, pos + 1);
  }
}

}  // namespace vigil
