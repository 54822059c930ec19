#include "formats/json_split.h"

#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string>

namespace vigil {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Bytes that matter when skipping a container: quotes and brackets.
struct StructuralTable {
  bool is[256] = {};
  constexpr StructuralTable() {
    is[static_cast<unsigned char>('"')] = true;
    is[static_cast<unsigned char>('{')] = true;
    is[static_cast<unsigned char>('}')] = true;
    is[static_cast<unsigned char>('[')] = true;
    is[static_cast<unsigned char>(']')] = true;
  }
};
constexpr StructuralTable kStructural;

// The next quote or bracket at or after p (end when none). 16 bytes at a time
// with SSE2: OR-ing 0x20 folds '[' onto '{' and ']' onto '}'.
const char* FindStructural(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i open = _mm_set1_epi8('{');
  const __m128i close = _mm_set1_epi8('}');
  const __m128i fold = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i f = _mm_or_si128(v, fold);
    __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_or_si128(_mm_cmpeq_epi8(f, open), _mm_cmpeq_epi8(f, close)));
    int bits = _mm_movemask_epi8(m);
    if (bits) return p + __builtin_ctz(static_cast<unsigned>(bits));
    p += 16;
  }
#endif
  while (p < end && !kStructural.is[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

// The next quote or backslash at or after p (end when none).
const char* FindQuoteOrEscape(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i escape = _mm_set1_epi8('\\');
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    int bits = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, escape)));
    if (bits) return p + __builtin_ctz(static_cast<unsigned>(bits));
    p += 16;
  }
#endif
  while (p < end && *p != '"' && *p != '\\') ++p;
  return p;
}

// Skips a string starting at the opening quote; returns offset past the closing
// quote or npos.
size_t SkipString(std::string_view t, size_t pos) {
  const char* p = t.data() + pos + 1;
  const char* end = t.data() + t.size();
  for (;;) {
    p = FindQuoteOrEscape(p, end);
    if (p >= end) return std::string_view::npos;
    if (*p == '"') return static_cast<size_t>(p - t.data()) + 1;
    p += 2;  // a backslash and the byte it escapes
  }
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
  const char* base = t.data();
  const char* end = base + t.size();
  for (const char* p = base + pos;; ++p) {
    p = FindStructural(p, end);
    if (p >= end) return std::string_view::npos;
    char ch = *p;
    if (ch == '"') {
      size_t after = SkipString(t, static_cast<size_t>(p - base));
      if (after == std::string_view::npos) return after;
      p = base + after - 1;
    } else if (ch == '{' || ch == '[') {
      if (++depth > max_depth) return std::string_view::npos;
    } else {
      if (depth == 0) return std::string_view::npos;
      if (--depth == 0) return static_cast<size_t>(p - base) + 1;
    }
  }
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
