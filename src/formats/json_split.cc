#include "formats/json_split.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
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

// Where a scan through a container stands: the next byte, the bracket depth
// and whether that byte is inside a string.
struct ScanState {
  size_t i = 0;
  size_t depth = 0;
  bool in_string = false;
};

// Applies the bracket at d[at] (outside strings). Returns true when it ends
// the scan: *end is then one past the closing bracket, or npos when the
// brackets do not match or nest deeper than max_depth.
inline bool Bracket(const char* d, size_t at, size_t max_depth, ScanState* s, size_t* end) {
  char ch = d[at];
  if (ch == '{' || ch == '[') {
    if (++s->depth > max_depth) {
      *end = std::string_view::npos;
      return true;
    }
    return false;
  }
  if (s->depth == 0) {
    *end = std::string_view::npos;
    return true;
  }
  if (--s->depth == 0) {
    *end = at + 1;
    return true;
  }
  return false;
}

// One 64-byte block's bit masks (bit k: byte k): opening and closing
// brackets, quotes, backslashes.
struct BlockBits {
  uint64_t opens, closes, quotes, escapes;
};

// Takes the brackets of one block without escapes, whose quotes are already
// resolved into `inside` (the bytes inside strings). Returns true when the
// scan ends in it (see Bracket).
inline bool TakeBlock(const char* d, const BlockBits& b, uint64_t inside, size_t max_depth, ScanState* s,
                      size_t* end) {
  const uint64_t opens = b.opens & ~inside, closes = b.closes & ~inside;
  const size_t n_open = static_cast<size_t>(__builtin_popcountll(opens));
  const size_t n_close = static_cast<size_t>(__builtin_popcountll(closes));
  if (n_close < s->depth && n_open <= max_depth - s->depth) {
    // The depth can neither reach 0 nor pass the limit inside this block:
    // only the count matters (most blocks of a record).
    s->depth = s->depth + n_open - n_close;
  } else {
    for (uint64_t bits = opens | closes; bits != 0; bits &= bits - 1)
      if (Bracket(d, s->i + static_cast<size_t>(__builtin_ctzll(bits)), max_depth, s, end)) return true;
  }
  s->in_string = (inside >> 63) & 1;
  s->i += 64;
  return false;
}

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
inline BlockBits BlockMasks(const char* p) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i escape = _mm_set1_epi8('\\');
  const __m128i open = _mm_set1_epi8('{');
  const __m128i close = _mm_set1_epi8('}');
  const __m128i fold = _mm_set1_epi8(0x20);  // '[' -> '{', ']' -> '}'
  BlockBits b{0, 0, 0, 0};
  for (int k = 0; k < 4; ++k) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    __m128i f = _mm_or_si128(v, fold);
    auto bits = [&](__m128i eq) {
      return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(eq))) << (16 * k);
    };
    b.quotes |= bits(_mm_cmpeq_epi8(v, quote));
    b.escapes |= bits(_mm_cmpeq_epi8(v, escape));
    b.opens |= bits(_mm_cmpeq_epi8(f, open));
    b.closes |= bits(_mm_cmpeq_epi8(f, close));
  }
  return b;
}

// Takes whole 64-byte blocks without backslashes from s->i on. Returns true
// when the scan ended in one (see Bracket); false at the first block it left
// for the byte loop (one with a backslash, or fewer than 64 bytes left).
bool ScanBlocksSse2(const char* d, size_t n, size_t max_depth, ScanState* s, size_t* end) {
  while (n - s->i >= 64) {
    const BlockBits b = BlockMasks(d + s->i);
    if (b.escapes != 0) return false;
    const uint64_t inside = PrefixXor(b.quotes) ^ (s->in_string ? ~uint64_t{0} : 0);
    if (TakeBlock(d, b, inside, max_depth, s, end)) return true;
  }
  return false;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define VIGIL_AVX2 __attribute__((target("avx2,pclmul,popcnt")))

// Bit k: byte k of the 64 bytes whose compare results are lo, hi.
VIGIL_AVX2 inline uint64_t Bits64(__m256i lo, __m256i hi) {
  return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(lo))) |
         static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(hi))) << 32;
}

// The same with AVX2 compares and a carry-less multiply for the prefix XOR,
// on processors that have them (chosen at run time; the build targets
// baseline x86-64).
VIGIL_AVX2 bool ScanBlocksAvx2(const char* d, size_t n, size_t max_depth,
                                                                    ScanState* s, size_t* end) {
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i escape = _mm256_set1_epi8('\\');
  const __m256i open = _mm256_set1_epi8('{');
  const __m256i close = _mm256_set1_epi8('}');
  const __m256i fold = _mm256_set1_epi8(0x20);
  const __m128i ones = _mm_set1_epi8(static_cast<char>(0xFF));
  while (n - s->i >= 64) {
    const char* p = d + s->i;
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    BlockBits b;
    b.escapes = Bits64(_mm256_cmpeq_epi8(lo, escape), _mm256_cmpeq_epi8(hi, escape));
    if (b.escapes != 0) return false;
    b.quotes = Bits64(_mm256_cmpeq_epi8(lo, quote), _mm256_cmpeq_epi8(hi, quote));
    const __m256i flo = _mm256_or_si256(lo, fold), fhi = _mm256_or_si256(hi, fold);
    b.opens = Bits64(_mm256_cmpeq_epi8(flo, open), _mm256_cmpeq_epi8(fhi, open));
    b.closes = Bits64(_mm256_cmpeq_epi8(flo, close), _mm256_cmpeq_epi8(fhi, close));
    const uint64_t prefix = static_cast<uint64_t>(
        _mm_cvtsi128_si64(_mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<long long>(b.quotes)), ones, 0)));
    const uint64_t inside = prefix ^ (s->in_string ? ~uint64_t{0} : 0);
    if (TakeBlock(d, b, inside, max_depth, s, end)) return true;
  }
  return false;
}
#undef VIGIL_AVX2
#endif

using ScanBlocksFn = bool (*)(const char*, size_t, size_t, ScanState*, size_t*);

ScanBlocksFn ChooseScanBlocks() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("popcnt"))
    return ScanBlocksAvx2;
#endif
#if defined(__SSE2__)
  return ScanBlocksSse2;
#else
  return nullptr;
#endif
}

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
  static const ScanBlocksFn scan_blocks = ChooseScanBlocks();
  const char* d = t.data();
  const size_t n = t.size();
  ScanState s;
  s.i = pos;
  size_t result;
  while (s.i < n) {
    // Whole blocks without escapes: strings and brackets from bit masks.
    if (scan_blocks != nullptr && scan_blocks(d, n, max_depth, &s, &result)) return result;
    // Byte at a time through a block with escapes (and through the tail).
    const size_t stop = std::min(n, s.i + 64);
    while (s.i < stop) {
      char ch = d[s.i];
      if (s.in_string) {
        if (ch == '\\') ++s.i;
        else if (ch == '"') s.in_string = false;
      } else if (ch == '"') {
        s.in_string = true;
      } else if (ch == '{' || ch == '[' || ch == '}' || ch == ']') {
        if (Bracket(d, s.i, max_depth, &s, &result)) return result;
      }
      ++s.i;
    }
  }
  return std::string_view::npos;
}

namespace json_split_internal {

Status UnterminatedElement(size_t pos) {
  return Status::InvalidArgument("input ends inside the array element starting at byte " + std::to_string(pos));
}
Status ExpectedCommaOrClose(size_t pos) {
  return Status::InvalidArgument("expected ',' or ']' at byte " + std::to_string(pos));
}
Status UnclosedArray() { return Status::InvalidArgument("input ends before the array closes"); }

}  // namespace json_split_internal

Status SplitJsonArray(std::string_view t, size_t open, size_t max_depth, std::vector<JsonSpan>* out) {
  return ForEachJsonArrayElement(t, open, max_depth, [out](const JsonSpan& s) { out->push_back(s); });
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
