#include "formats/json_split.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string>

namespace vigil {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

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

}  // namespace

namespace json_split_internal {

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

}  // namespace json_split_internal

using json_split_internal::SkipString;

size_t SkipJsonSpace(std::string_view text, size_t pos) {
  if (pos == 0 && text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  return pos;
}

namespace {

// Bit k of the result is the XOR of bits 0..k of x: with x the quote positions
// of a 64-byte block, the set bits are the bytes inside strings (opening quote
// included, closing quote excluded).
inline uint64_t PrefixXor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

#if defined(__SSE2__)
// Masks of quotes, backslashes and brackets in the 64 bytes at p.
inline void BlockMasks(const char* p, uint64_t* quotes, uint64_t* escapes, uint64_t* brackets) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i escape = _mm_set1_epi8('\\');
  const __m128i open = _mm_set1_epi8('{');
  const __m128i close = _mm_set1_epi8('}');
  const __m128i fold = _mm_set1_epi8(0x20);  // '[' -> '{', ']' -> '}'
  uint64_t q = 0, e = 0, b = 0;
  for (int k = 0; k < 4; ++k) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    __m128i f = _mm_or_si128(v, fold);
    q |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)))) << (16 * k);
    e |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, escape)))) << (16 * k);
    b |= static_cast<uint64_t>(static_cast<uint32_t>(
             _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(f, open), _mm_cmpeq_epi8(f, close)))))
         << (16 * k);
  }
  *quotes = q;
  *escapes = e;
  *brackets = b;
}
#endif

}  // namespace

size_t SkipJsonValue(std::string_view t, size_t pos, size_t max_depth) {
  if (pos >= t.size()) return std::string_view::npos;
  char c = t[pos];
  if (c == '"') return SkipString(t, pos);
  if (c != '{' && c != '[') {
    size_t i = pos;
    while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && !IsSpace(t[i])) ++i;
    return i;
  }
  const char* d = t.data();
  const size_t n = t.size();
  size_t depth = 0;
  bool in_string = false;
  size_t i = pos;
  // Returns true when the bracket at i closes the value (result in *end).
  auto bracket = [&](size_t at, size_t* end) {
    char ch = d[at];
    if (ch == '{' || ch == '[') {
      if (++depth > max_depth) {
        *end = std::string_view::npos;
        return true;
      }
      return false;
    }
    if (depth == 0) {
      *end = std::string_view::npos;
      return true;
    }
    if (--depth == 0) {
      *end = at + 1;
      return true;
    }
    return false;
  };
  size_t result;
  while (i < n) {
#if defined(__SSE2__)
    if (n - i >= 64) {
      uint64_t quotes, escapes, brackets;
      BlockMasks(d + i, &quotes, &escapes, &brackets);
      if (escapes == 0) {
        // Whole block without escapes: strings and brackets from bit masks.
        uint64_t inside = PrefixXor(quotes);
        if (in_string) inside = ~inside;
        for (uint64_t s = brackets & ~inside; s != 0; s &= s - 1) {
          if (bracket(i + static_cast<size_t>(__builtin_ctzll(s)), &result)) return result;
        }
        in_string = (inside >> 63) & 1;
        i += 64;
        continue;
      }
    }
#endif
    // Byte at a time through a block with escapes (and through the tail).
    const size_t stop = std::min(n, i + 64);
    while (i < stop) {
      char ch = d[i];
      if (in_string) {
        if (ch == '\\') ++i;
        else if (ch == '"') in_string = false;
      } else if (ch == '"') {
        in_string = true;
      } else if (ch == '{' || ch == '[' || ch == '}' || ch == ']') {
        if (bracket(i, &result)) return result;
      }
      ++i;
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
  size_t found = std::string_view::npos;
  VisitTopLevelKeys(t, max_depth, [&](std::string_view k, size_t value) {
    if (k != key) return true;
    found = value;
    return false;
  });
  return found;
}

}  // namespace vigil
