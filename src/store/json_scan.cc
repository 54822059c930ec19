#include "store/json_scan.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/json_escape.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vigil::segment {
namespace {

// Beyond any depth simdjson is allowed to accept (InputLimits max_depth).
constexpr uint32_t kMaxDepth = 4096;

// True when the `len` bytes at p (with at least 16 readable) hold a '.'.
inline __attribute__((always_inline)) bool HasDot(const char* p, size_t len, size_t readable) {
#if defined(__SSE2__)
  if (len <= 16 && readable >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))));
    return (mask & ((1u << len) - 1)) != 0;
  }
#endif
  (void)readable;
  return std::memchr(p, '.', len) != nullptr;
}

// The index of the first '"' or '\\' at or after `i`, or `n`.
inline __attribute__((always_inline)) size_t FindQuoteOrBackslash(const char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (i < n && p[i] != '"' && p[i] != '\\') ++i;
  return i;
}

// \uXXXX's four hex digits.
bool Hex4(const char* p, uint32_t* out) {
  uint32_t v = 0;
  for (int k = 0; k < 4; ++k) {
    const int d = json_internal::HexValue(p[k]);
    if (d < 0) return false;
    v = v << 4 | static_cast<uint32_t>(d);
  }
  *out = v;
  return true;
}

// A key's first 8 bytes (zero-padded) and its length, for a quick first
// comparison. `readable`: bytes readable from p (at least len).
inline __attribute__((always_inline)) uint64_t KeyHead(const char* p, size_t len, size_t readable) {
  uint64_t h = 0;
  if (readable >= 8) {
    std::memcpy(&h, p, 8);
    if (len < 8) h &= (uint64_t{1} << (8 * len)) - 1;
  } else {
    for (size_t k = 0; k < len && k < 8; ++k) h |= uint64_t{static_cast<unsigned char>(p[k])} << (8 * k);
  }
  return h ^ (uint64_t{len} << 56);
}

}  // namespace

JsonRecordScanner::JsonRecordScanner(const std::vector<const FieldPath*>& paths) {
  nodes_.emplace_back();
  for (size_t c = 0; c < paths.size(); ++c) {
    if (paths[c] == nullptr) continue;
    const std::vector<std::string>& parts = paths[c]->parts();
    if (parts.empty()) {
      usable_ = false;
      continue;
    }
    int32_t node = 0;
    for (const std::string& part : parts) {
      // `[N]` steps and keys the resolver might match by joining parts are
      // not followed here.
      if (part.empty() || part.front() == '[' || part.find('.') != std::string::npos) usable_ = false;
      int32_t next = -1;
      for (const Key& key : nodes_[node].children)
        if (key.name == part) next = key.node;
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        uint64_t tail = 0;
        if (part.size() >= 8) std::memcpy(&tail, part.data() + part.size() - 8, 8);
        nodes_[node].children.push_back(Key{part, KeyHead(part.data(), part.size(), part.size()), tail, next});
        nodes_.emplace_back();
      }
      node = next;
    }
    if (nodes_[node].column >= 0) usable_ = false;  // two columns on one path
    nodes_[node].column = static_cast<int32_t>(c);
  }
  for (Node& nd : nodes_) {
    nd.slots.fill(-1);
    if (nd.children.size() > kSlots / 2) {
      usable_ = false;
      nd.children.clear();
      continue;
    }
    for (size_t k = 0; k < nd.children.size(); ++k) {
      size_t h = Slot(nd.children[k].head);
      while (nd.slots[h] >= 0) h = (h + 1) & (kSlots - 1);
      nd.slots[h] = static_cast<int8_t>(k);
    }
  }
  seen_.assign(nodes_.size(), 0);
}

inline __attribute__((always_inline)) int32_t JsonRecordScanner::Child(int32_t node, size_t begin, size_t end) const {
  const size_t len = end - begin;
  const uint64_t head = KeyHead(p_ + begin, len, n_ - begin);
  const Node& nd = nodes_[node];
  for (size_t h = Slot(head);; h = (h + 1) & (kSlots - 1)) {
    const int8_t k = nd.slots[h];
    if (k < 0) return -1;
    const Key& key = nd.children[static_cast<size_t>(k)];
    if (key.head != head || key.name.size() != len) continue;
    if (len <= 8) return key.node;
    if (len <= 16) {  // the last 8 bytes (overlapping the head) settle it
      uint64_t tail;
      std::memcpy(&tail, p_ + end - 8, 8);
      if (tail == key.tail) return key.node;
      continue;
    }
    if (std::memcmp(key.name.data() + 8, p_ + begin + 8, len - 8) == 0) return key.node;
  }
}

std::string* JsonRecordScanner::NextKept() {
  if (kept_used_ == kept_.size()) kept_.emplace_back();
  std::string* s = &kept_[kept_used_++];
  s->clear();
  return s;
}

// A string starting at the quote at i_: [*begin, *end) its bytes as written;
// i_ moves past the closing quote.
inline __attribute__((always_inline)) bool JsonRecordScanner::String(size_t* begin, size_t* end, bool* escaped) {
  *begin = ++i_;
  *escaped = false;
  for (;;) {
    i_ = FindQuoteOrBackslash(p_, i_, n_);
    if (i_ >= n_) return false;
    if (p_[i_] == '"') break;
    *escaped = true;
    i_ += 2;  // the backslash and the byte it escapes (\uXXXX's digits are not quotes)
  }
  *end = i_++;
  if (*end - *begin >= kLongString) long_strings_.push_back(static_cast<uint32_t>(strings_.size()));
  strings_.push_back(Span{static_cast<uint32_t>(*begin), static_cast<uint32_t>(*end), *escaped});
  return true;
}

bool JsonRecordScanner::Unescape(size_t begin, size_t end, std::string* out) const {
  size_t i = begin;
  while (i < end) {
    const void* b = std::memchr(p_ + i, '\\', end - i);
    const size_t stop = b != nullptr ? static_cast<size_t>(static_cast<const char*>(b) - p_) : end;
    out->append(p_ + i, stop - i);
    if (stop == end) break;
    if (stop + 1 >= end) return false;
    const char c = p_[stop + 1];
    i = stop + 2;
    switch (c) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case '/': out->push_back('/'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'u': {
        uint32_t cp;
        if (i + 4 > end || !Hex4(p_ + i, &cp)) return false;
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
          uint32_t lo;
          if (i + 6 > end || p_[i] != '\\' || p_[i + 1] != 'u' || !Hex4(p_ + i + 2, &lo) || lo < 0xDC00 || lo >= 0xE000)
            return false;  // a lone surrogate: leave it to the parser's own reading
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          return false;
        }
        json_internal::AppendUtf8(out, cp);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

inline __attribute__((always_inline)) bool JsonRecordScanner::StringValue(int32_t column) {
  size_t b, e;
  bool escaped;
  if (!String(&b, &e, &escaped)) return false;
  std::string_view text(p_ + b, e - b);
  if (escaped) {
    std::string* out = NextKept();
    if (!Unescape(b, e, out)) return false;
    text = *out;
    if (column >= 0) hot_ok_ = false;
  } else if (column >= 0) {
    AddHot(HotValue{static_cast<uint32_t>(column), ValueKind::kString, text, 0,
                            static_cast<uint32_t>(strings_.size() - 1), static_cast<uint32_t>(scalars_.size())});
  }
  scalars_.push_back(text);
  return true;
}

bool JsonRecordScanner::Value(int32_t node, uint32_t depth) {
  if (depth > kMaxDepth) return false;
  SkipSpace();
  if (i_ >= n_) return false;
  const char c = p_[i_];
  const int32_t column = node >= 0 ? nodes_[node].column : -1;
  if (c == '{') {
    ++i_;
    const bool on_path = node >= 0 && !nodes_[node].children.empty();
    // Records rarely hold whitespace: each step first tests for the byte it
    // expects and skips whitespace only when that is not there.
    for (bool first = true;; first = false) {
      if (i_ >= n_ || p_[i_] != '"') {
        SkipSpace();
        if (i_ >= n_) return false;
        if (p_[i_] == '}') {
          if (!first) return false;  // a trailing comma
          ++i_;
          return true;
        }
        if (p_[i_] != '"') return false;
      }
      size_t kb, ke;
      bool escaped;
      if (!String(&kb, &ke, &escaped)) return false;
      int32_t child = -1;
      if (on_path) {
        if (escaped) {
          hot_ok_ = false;  // its text may be a hot key's
        } else if (HasDot(p_ + kb, ke - kb, n_ - kb)) {
          // The resolver may read `a.b` as the parts a, b of a path (when
          // the object lacks a): it matters when `a` is a key of a hot path here.
          const size_t dot = static_cast<size_t>(static_cast<const char*>(std::memchr(p_ + kb, '.', ke - kb)) - p_);
          if (Child(node, kb, dot) >= 0) hot_ok_ = false;
        } else if ((child = Child(node, kb, ke)) >= 0) {
          if (seen_[child]) hot_ok_ = false;  // a repeated key: the resolver takes the first
          seen_[child] = 1;
        }
      }
      if (i_ >= n_ || p_[i_] != ':') {
        SkipSpace();
        if (i_ >= n_ || p_[i_] != ':') return false;
      }
      ++i_;
      if (i_ < n_ && p_[i_] != '"') SkipSpace();
      if (i_ < n_ && p_[i_] == '"') {  // most values: no call
        if (!StringValue(child >= 0 ? nodes_[child].column : -1)) return false;
      } else if (!Value(child, depth + 1)) {
        return false;
      }
      if (i_ < n_ && p_[i_] == ',') {
        ++i_;
        continue;
      }
      SkipSpace();
      if (i_ >= n_) return false;
      if (p_[i_] == ',') {
        ++i_;
        continue;
      }
      if (p_[i_] != '}') return false;
      ++i_;
      return true;
    }
  }
  if (c == '[') {
    ++i_;
    if (node >= 0) hot_ok_ = false;  // values along or at a hot path fan out
    for (bool first = true;; first = false) {
      SkipSpace();
      if (i_ >= n_) return false;
      if (p_[i_] == ']') {
        if (!first) return false;
        ++i_;
        return true;
      }
      if (!Value(-1, depth + 1)) return false;
      SkipSpace();
      if (i_ >= n_) return false;
      if (p_[i_] == ',') {
        ++i_;
        continue;
      }
      if (p_[i_] != ']') return false;
      ++i_;
      return true;
    }
  }
  if (c == '"') return StringValue(column);
  if (c == 't' || c == 'f' || c == 'n') {
    const std::string_view word = c == 't' ? "true" : c == 'f' ? "false" : "null";
    if (n_ - i_ < word.size()) return false;
    uint32_t got, want;  // the first four bytes, then "false"'s 'e'
    std::memcpy(&got, p_ + i_, 4);
    std::memcpy(&want, word.data(), 4);
    if (got != want || (word.size() == 5 && p_[i_ + 4] != 'e')) return false;
    i_ += word.size();
    if (column >= 0) {
      AddHot(HotValue{static_cast<uint32_t>(column), c == 'n' ? ValueKind::kNull : ValueKind::kBool, word, 0});
    }
    if (c != 'n') scalars_.push_back(word);
    return true;
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    const size_t b = i_;
    bool plain = true;  // -?digits
    ++i_;
    while (i_ < n_) {
      const char d = p_[i_];
      if (d >= '0' && d <= '9') {
        ++i_;
      } else if (d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-') {
        plain = false;
        ++i_;
      } else {
        break;
      }
    }
    const std::string_view text(p_ + b, i_ - b);
    const size_t digits = text.size() - (c == '-' ? 1 : 0);
    if (digits == 0) return false;
    // The resolver prints integers of int64 range as they are written (JSON
    // has no leading zeros); other numbers it formats from their value.
    const bool exact = plain && digits <= 18 && text != "-0";
    scalars_.push_back(text);
    if (text == "-0") scalars_.push_back("0");  // as an integer
    if (!exact) {
      double d = 0;
      auto r = std::from_chars(text.data(), text.data() + text.size(), d);
      if (r.ec == std::errc() && r.ptr == text.data() + text.size()) {
        char buf[40];
        auto w = std::to_chars(buf, buf + sizeof buf, d);
        std::string* out = NextKept();
        out->assign(buf, static_cast<size_t>(w.ptr - buf));
        scalars_.push_back(*out);
      } else if (r.ec == std::errc::result_out_of_range) {
        // Too small for a double: the parser reads it as zero (an overflow
        // is no number it accepts).
        scalars_.push_back(text.front() == '-' ? "-0" : "0");
      } else {
        return false;
      }
    }
    if (column >= 0) {
      int64_t v = 0;
      if (!exact || std::from_chars(text.data(), text.data() + text.size(), v).ec != std::errc()) {
        hot_ok_ = false;
      } else {
        AddHot(HotValue{static_cast<uint32_t>(column), ValueKind::kNumber, text, v});
      }
    }
    return true;
  }
  return false;
}

JsonRecordScanner::Outcome JsonRecordScanner::Scan(std::string_view json) {
  p_ = json.data();
  n_ = json.size();
  i_ = 0;
  hot_ok_ = usable_;
  scalars_.clear();
  hot_count_ = 0;
  strings_.clear();
  long_strings_.clear();
  kept_used_ = 0;
  if (json.size() >= UINT32_MAX) return Outcome::kFailed;
  std::fill(seen_.begin(), seen_.end(), 0);
  SkipSpace();
  if (i_ >= n_ || p_[i_] != '{') return Outcome::kFailed;
  if (!Value(0, 0)) return Outcome::kFailed;
  SkipSpace();
  if (i_ != n_) return Outcome::kFailed;
  if (!hot_ok_) return Outcome::kScalarsOnly;
  std::sort(hot_.begin(), hot_.begin() + static_cast<std::ptrdiff_t>(hot_count_), [](const HotValue& a, const HotValue& b) { return a.column < b.column; });
  return Outcome::kAll;
}

}  // namespace vigil::segment
