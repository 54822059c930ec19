// Value-transforming Sigma modifiers and timestamp components.
#include "detect/sigma/internal/value_transforms.h"

#include <cmath>

#include "common/base64.h"
#include "common/time.h"

namespace vigil::sigma_internal {
namespace {

// The three-byte dashes (UTF-8): en dash U+2013, em dash U+2014, horizontal
// bar U+2015, all E2 80 9x.
constexpr std::string_view kDashes[] = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"};

// Length of the dash at text[i], or 0.
size_t DashAt(std::string_view text, size_t i) {
  const char c = text[i];
  if (c == '-' || c == '/') return 1;
  if (static_cast<unsigned char>(c) == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80) {
    const unsigned char t = static_cast<unsigned char>(text[i + 2]);
    if (t >= 0x93 && t <= 0x95) return 3;
  }
  return 0;
}

Status TooMany() {
  return Status::InvalidArgument("the value expands to more than " + std::to_string(kMaxExpansion) +
                                 " values; split the rule");
}

bool IsPlaceholderChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

// Decodes one UTF-8 code point at s[*i]; false on malformed input.
bool NextCodePoint(std::string_view s, size_t* i, uint32_t* cp) {
  const unsigned char b0 = static_cast<unsigned char>(s[*i]);
  int extra = 0;
  uint32_t v = 0;
  if (b0 < 0x80) {
    v = b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    extra = 1;
    v = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2;
    v = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3;
    v = b0 & 0x07;
  } else {
    return false;
  }
  if (*i + static_cast<size_t>(extra) >= s.size()) return false;
  for (int k = 1; k <= extra; ++k) {
    const unsigned char b = static_cast<unsigned char>(s[*i + static_cast<size_t>(k)]);
    if ((b & 0xC0) != 0x80) return false;
    v = (v << 6) | (b & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (v < kMin[extra] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
  *i += static_cast<size_t>(extra) + 1;
  *cp = v;
  return true;
}

void PutUnit(uint16_t u, bool big_endian, std::string* out) {
  const char lo = static_cast<char>(u & 0xFF), hi = static_cast<char>(u >> 8);
  if (big_endian) {
    out->push_back(hi);
    out->push_back(lo);
  } else {
    out->push_back(lo);
    out->push_back(hi);
  }
}

bool ReadDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

int IsoWeek(int64_t days) {
  const int64_t weekday = ((days + 3) % 7 + 7) % 7;  // Monday = 0; 1970-01-01 was a Thursday
  const int64_t thursday = days - weekday + 3;
  const int year = CivilFromDays(thursday).year;
  return static_cast<int>((thursday - DaysFromCivil(year, 1, 1)) / 7 + 1);
}

}  // namespace

SigmaString SigmaString::Parse(std::string_view text) {
  SigmaString s;
  auto literal = [&]() -> std::string& {
    if (s.parts.empty() || s.parts.back().wildcard != 0) s.parts.push_back({});
    return s.parts.back().text;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '*' || text[i + 1] == '?' || text[i + 1] == '\\')) {
      literal().push_back(text[++i]);
    } else if (c == '*' || c == '?') {
      s.parts.push_back({c, {}});
    } else {
      literal().push_back(c);
    }
  }
  return s;
}

std::string SigmaString::ToPattern() const {
  std::string out;
  for (const Part& p : parts) {
    if (p.wildcard) {
      out.push_back(p.wildcard);
      continue;
    }
    for (char c : p.text) {
      if (c == '*' || c == '?' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
  }
  return out;
}

bool SigmaString::HasWildcards() const {
  for (const Part& p : parts)
    if (p.wildcard) return true;
  return false;
}

std::string SigmaString::Literal() const {
  std::string out;
  for (const Part& p : parts) out += p.text;
  return out;
}

Result<std::vector<SigmaString>> WindashExpand(const SigmaString& s) {
  std::vector<SigmaString> out{SigmaString{}};
  for (const SigmaString::Part& p : s.parts) {
    if (p.wildcard) {
      for (SigmaString& o : out) o.parts.push_back(p);
      continue;
    }
    // Split the literal at dashes; each dash multiplies the alternatives by 5.
    size_t start = 0;
    for (size_t i = 0; i <= p.text.size();) {
      const size_t dash = i < p.text.size() ? DashAt(p.text, i) : 0;
      if (i < p.text.size() && dash == 0) {
        ++i;
        continue;
      }
      const std::string run = p.text.substr(start, i - start);
      for (SigmaString& o : out) {
        if (o.parts.empty() || o.parts.back().wildcard) o.parts.push_back({});
        o.parts.back().text += run;
      }
      if (i == p.text.size()) break;
      if (out.size() * std::size(kDashes) > kMaxExpansion) return TooMany();
      std::vector<SigmaString> next;
      next.reserve(out.size() * std::size(kDashes));
      for (const SigmaString& o : out) {
        for (std::string_view d : kDashes) {
          SigmaString n = o;
          n.parts.back().text.append(d);
          next.push_back(std::move(n));
        }
      }
      out = std::move(next);
      i += dash;
      start = i;
    }
  }
  return out;
}

bool WindashNormalize(std::string_view text, std::string* out) {
  size_t i = 0;
  while (i < text.size() && DashAt(text, i) == 0) ++i;
  if (i == text.size()) return false;
  out->assign(text.substr(0, i));
  while (i < text.size()) {
    const size_t dash = DashAt(text, i);
    if (dash) {
      out->push_back('-');
      i += dash;
    } else {
      out->push_back(text[i++]);
    }
  }
  return true;
}

Result<SigmaString> ToUtf16(const SigmaString& s, Utf16Form form) {
  SigmaString out;
  const bool big_endian = form == Utf16Form::kBe;
  if (form == Utf16Form::kLeWithBom) out.parts.push_back({0, std::string("\xFF\xFE", 2)});
  for (const SigmaString::Part& p : s.parts) {
    if (p.wildcard) {
      out.parts.push_back(p);
      continue;
    }
    std::string enc;
    for (size_t i = 0; i < p.text.size();) {
      uint32_t cp = 0;
      if (!NextCodePoint(p.text, &i, &cp))
        return Status::InvalidArgument("the value is not UTF-8 text and cannot be encoded as UTF-16");
      if (cp >= 0x10000) {
        cp -= 0x10000;
        PutUnit(static_cast<uint16_t>(0xD800 + (cp >> 10)), big_endian, &enc);
        PutUnit(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)), big_endian, &enc);
      } else {
        PutUnit(static_cast<uint16_t>(cp), big_endian, &enc);
      }
    }
    if (!out.parts.empty() && out.parts.back().wildcard == 0) {
      out.parts.back().text += enc;
    } else {
      out.parts.push_back({0, std::move(enc)});
    }
  }
  return out;
}

Result<std::vector<std::string>> Base64OffsetVariants(std::string_view bytes) {
  std::vector<std::string> out;
  for (size_t shift = 0; shift < 3; ++shift) {
    // Encode behind `shift` filler bytes. A character holds 6 bits; keep the
    // ones whose bits all come from the value: from bit 8*shift to the last
    // whole character before the value ends (bit 8*(shift+n)).
    std::string padded(shift, '\0');
    padded.append(bytes);
    const std::string enc = Base64Encode(padded);
    const size_t first = (8 * shift + 5) / 6;
    const size_t end = 8 * padded.size() / 6;
    if (end <= first)
      return Status::InvalidArgument("the value is too short for base64offset (every variant would be empty)");
    out.push_back(enc.substr(first, end - first));
  }
  return out;
}

Result<std::vector<std::string>> ExpandPlaceholders(
    std::string_view text, const std::map<std::string, std::vector<std::string>>& placeholders) {
  std::vector<std::string> out{std::string()};
  size_t i = 0;
  while (i < text.size()) {
    size_t end = std::string_view::npos;
    if (text[i] == '%') {
      size_t j = i + 1;
      while (j < text.size() && IsPlaceholderChar(text[j])) ++j;
      if (j < text.size() && text[j] == '%' && j > i + 1) end = j;
    }
    if (end == std::string_view::npos) {
      for (std::string& o : out) o.push_back(text[i]);
      ++i;
      continue;
    }
    const std::string name(text.substr(i + 1, end - i - 1));
    auto it = placeholders.find(name);
    if (it == placeholders.end())
      return Status::Unsupported("placeholder `%" + name +
                                 "%` has no values; supply it at load time (Sigma modifiers appendix, Specific "
                                 "Modifiers: expand)");
    if (it->second.empty()) return Status::InvalidArgument("placeholder `%" + name + "%` is defined with no values");
    if (out.size() * it->second.size() > kMaxExpansion) return TooMany();
    std::vector<std::string> next;
    next.reserve(out.size() * it->second.size());
    for (const std::string& o : out)
      for (const std::string& v : it->second) next.push_back(o + v);
    out = std::move(next);
    i = end + 1;
  }
  return out;
}

std::optional<int> TimeComponent(const FieldValue& v, TimePart part) {
  int year = 0, month = 0, day = 0, hour = -1, minute = -1;
  if (v.kind == ValueKind::kNumber) {
    if (!std::isfinite(v.number)) return std::nullopt;
    const double secs = v.number > 1e11 ? v.number / 1000 : v.number;
    if (secs < -1e12 || secs > 1e12) return std::nullopt;  // beyond any plausible date
    const int64_t s = static_cast<int64_t>(std::floor(secs));
    const int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
    const int64_t in_day = s - days * 86400;
    CivilDate d = CivilFromDays(days);
    year = d.year;
    month = d.month;
    day = d.day;
    hour = static_cast<int>(in_day / 3600);
    minute = static_cast<int>(in_day % 3600 / 60);
  } else if (v.kind == ValueKind::kString) {
    const std::string_view s = v.text;
    if (!ReadDigits(s, 0, 4, &year) || s.size() < 10 || s[4] != '-' || !ReadDigits(s, 5, 2, &month) || s[7] != '-' ||
        !ReadDigits(s, 8, 2, &day))
      return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
    if (s.size() > 10) {
      if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
      if (!ReadDigits(s, 11, 2, &hour) || s.size() < 16 || s[13] != ':' || !ReadDigits(s, 14, 2, &minute) ||
          hour > 23 || minute > 59)
        return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  switch (part) {
    case TimePart::kMinute:
      return minute < 0 ? std::nullopt : std::optional<int>(minute);
    case TimePart::kHour:
      return hour < 0 ? std::nullopt : std::optional<int>(hour);
    case TimePart::kDay:
      return day;
    case TimePart::kWeek:
      return IsoWeek(DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)));
    case TimePart::kMonth:
      return month;
    case TimePart::kYear:
      return year;
  }
  return std::nullopt;
}

}  // namespace vigil::sigma_internal
