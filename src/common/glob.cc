#include "common/glob.h"

#include <algorithm>
#include <cstring>

namespace vigil {

void ToLowerInto(std::string_view s, std::string* out) {
  const size_t n = s.size();
  out->resize(n);
  const char* in = s.data();
  char* o = out->data();
  size_t i = 0;
  // Eight bytes at a time: user agents, ARNs and paths are long, and a
  // byte loop with a branch per character does not vectorise at -O2. Bytes
  // with the high bit set are left alone, as AsciiLower does.
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, in + i, 8);
    const uint64_t low7 = x & (0x7f * kOnes);
    const uint64_t above_z = low7 + (0x25 * kOnes);   // high bit set for bytes > 'Z'
    const uint64_t from_a = low7 + (0x3f * kOnes);    // high bit set for bytes >= 'A'
    const uint64_t upper = ~x & (from_a ^ above_z) & (0x80 * kOnes);
    x |= upper >> 2;
    std::memcpy(o + i, &x, 8);
  }
  for (; i < n; ++i) o[i] = AsciiLower(in[i]);
}

std::string ToLower(std::string_view s) {
  std::string out;
  ToLowerInto(s, &out);
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  return true;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && EqualsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

bool ContainsIgnoreCase(std::string_view s, std::string_view needle) {
  if (needle.empty()) return true;
  if (s.size() < needle.size()) return false;
  // A long text is folded eight bytes at a time and searched with find
  // (memchr for the first byte): a byte loop that folds and branches on
  // every character cost about twice as much on ARNs and user agents.
  if (s.size() >= 32) {
    thread_local std::string lower;
    ToLowerInto(s, &lower);
    return std::string_view(lower).find(needle) != std::string_view::npos;
  }
  const char first = needle[0];
  const char first_up = (first >= 'a' && first <= 'z') ? static_cast<char>(first - 32) : first;
  for (size_t i = 0; i + needle.size() <= s.size(); ++i) {
    char c = s[i];
    if (c != first && c != first_up) continue;
    size_t j = 1;
    while (j < needle.size() && AsciiLower(s[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

GlobPattern GlobPattern::Literal(std::string_view text, Shape shape, bool case_sensitive) {
  GlobPattern p;
  p.case_sensitive_ = case_sensitive;
  p.shape_ = shape;
  p.literal_ = case_sensitive ? std::string(text) : ToLower(text);
  return p;
}

GlobPattern GlobPattern::Compile(std::string_view pattern, bool case_sensitive, bool wildcards) {
  if (!wildcards) return Literal(pattern, Shape::kExact, case_sensitive);
  std::vector<Token> toks;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size() &&
        (pattern[i + 1] == '*' || pattern[i + 1] == '?' || pattern[i + 1] == '\\')) {
      toks.push_back({Token::kLit, pattern[++i]});
    } else if (c == '*') {
      if (toks.empty() || toks.back().kind != Token::kStar) toks.push_back({Token::kStar, 0});
    } else if (c == '?') {
      toks.push_back({Token::kOne, 0});
    } else {
      toks.push_back({Token::kLit, case_sensitive ? c : AsciiLower(c)});
    }
  }
  GlobPattern p;
  p.case_sensitive_ = case_sensitive;
  const bool has_one = std::any_of(toks.begin(), toks.end(), [](const Token& t) { return t.kind == Token::kOne; });
  size_t stars = std::count_if(toks.begin(), toks.end(), [](const Token& t) { return t.kind == Token::kStar; });
  auto lit_of = [&](size_t from, size_t to) {
    std::string s;
    for (size_t i = from; i < to; ++i) s.push_back(toks[i].c);
    return s;
  };
  if (!has_one) {
    if (stars == 0) {
      p.shape_ = Shape::kExact;
      p.literal_ = lit_of(0, toks.size());
      return p;
    }
    if (stars == 1 && toks.size() == 1) {
      p.shape_ = Shape::kAny;
      return p;
    }
    const bool lead = toks.front().kind == Token::kStar;
    const bool trail = toks.back().kind == Token::kStar;
    if (stars == 1 && trail) {
      p.shape_ = Shape::kPrefix;
      p.literal_ = lit_of(0, toks.size() - 1);
      return p;
    }
    if (stars == 1 && lead) {
      p.shape_ = Shape::kSuffix;
      p.literal_ = lit_of(1, toks.size());
      return p;
    }
    if (stars == 2 && lead && trail) {
      p.shape_ = Shape::kContains;
      p.literal_ = lit_of(1, toks.size() - 1);
      return p;
    }
  }
  p.shape_ = Shape::kGeneral;
  p.tokens_ = std::move(toks);
  return p;
}

bool GlobPattern::MatchesLowered(std::string_view lower) const {
  if (case_sensitive_) return Matches(lower);
  switch (shape_) {
    case Shape::kExact:
      return lower == literal_;
    case Shape::kPrefix:
      return lower.substr(0, literal_.size()) == literal_;
    case Shape::kSuffix:
      return lower.size() >= literal_.size() && lower.substr(lower.size() - literal_.size()) == literal_;
    case Shape::kContains:
      return lower.find(literal_) != std::string_view::npos;
    default:
      return Matches(lower);  // folding a folded text changes nothing
  }
}

bool GlobPattern::Matches(std::string_view s) const {
  switch (shape_) {
    case Shape::kAny:
      return true;
    case Shape::kExact:
      return case_sensitive_ ? s == literal_ : EqualsIgnoreCase(s, literal_);
    case Shape::kPrefix:
      return case_sensitive_ ? s.substr(0, literal_.size()) == literal_ : StartsWithIgnoreCase(s, literal_);
    case Shape::kSuffix:
      return case_sensitive_ ? (s.size() >= literal_.size() && s.substr(s.size() - literal_.size()) == literal_)
                             : EndsWithIgnoreCase(s, literal_);
    case Shape::kContains:
      return case_sensitive_ ? s.find(literal_) != std::string_view::npos : ContainsIgnoreCase(s, literal_);
    case Shape::kGeneral:
      break;
  }
  // Two-pointer wildcard matching with a single backtrack point per star.
  size_t si = 0, ti = 0, star_ti = std::string::npos, star_si = 0;
  const size_t n = tokens_.size();
  while (si < s.size()) {
    if (ti < n) {
      const Token& t = tokens_[ti];
      if (t.kind == Token::kStar) {
        star_ti = ti++;
        star_si = si;
        continue;
      }
      char c = case_sensitive_ ? s[si] : AsciiLower(s[si]);
      if (t.kind == Token::kOne || t.c == c) {
        ++si;
        ++ti;
        continue;
      }
    }
    if (star_ti == std::string::npos) return false;
    ti = star_ti + 1;
    si = ++star_si;
  }
  while (ti < n && tokens_[ti].kind == Token::kStar) ++ti;
  return ti == n;
}

}  // namespace vigil
