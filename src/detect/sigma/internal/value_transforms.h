// Internal: the value-transforming Sigma modifiers (windash, base64,
// base64offset, utf16*, wide, expand) and timestamp components for the time
// modifiers. Not part of the public contract; see docs/rule-authoring.md.
//
// All functions are pure and thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "common/status.h"
#include "event/event.h"

namespace vigil::sigma_internal {

// Most values one rule value may expand into (windash permutations, expand
// placeholders); more is a lint error rather than a slow rule.
inline constexpr size_t kMaxExpansion = 4096;

// A Sigma string split into literal text and wildcards, with the escapes of
// common/glob.h resolved: `\*`, `\?`, `\\` are literals, any other backslash
// is itself.
struct SigmaString {
  struct Part {
    char wildcard = 0;  // '*' or '?'; 0 for literal text
    std::string text;   // the literal bytes when wildcard == 0
  };
  std::vector<Part> parts;

  static SigmaString Parse(std::string_view text);
  // Back to a GlobPattern source, literals escaped.
  std::string ToPattern() const;
  bool HasWildcards() const;
  // The literal bytes; only meaningful without wildcards.
  std::string Literal() const;
};

// Every permutation of the dash characters `-`, `/`, en dash, em dash and
// horizontal bar in the literal text. kInvalidArgument beyond kMaxExpansion.
Result<std::vector<SigmaString>> WindashExpand(const SigmaString& s);

// Maps each of the five dash characters to `-` (in place of a copy when the
// text holds none of them, `*out` is left untouched and false is returned).
bool WindashNormalize(std::string_view text, std::string* out);

enum class Utf16Form { kLe, kBe, kLeWithBom };
// UTF-8 literal text to UTF-16; wildcards stay wildcards. kInvalidArgument on
// text that is not UTF-8.
Result<SigmaString> ToUtf16(const SigmaString& s, Utf16Form form);

using ::vigil::Base64Encode;  // common/base64.h
// The three shift variants of `bytes` as it appears inside a longer base64
// text: only the characters that do not depend on the neighbouring bytes.
// kInvalidArgument when a variant would be empty (a one-byte value).
Result<std::vector<std::string>> Base64OffsetVariants(std::string_view bytes);

// Replaces each `%name%` placeholder (name: letters, digits, `_`, `-`, `.`)
// by each of its values, raw Sigma text in, raw Sigma text out. kUnsupported
// naming the first placeholder missing from `placeholders`;
// kInvalidArgument beyond kMaxExpansion.
Result<std::vector<std::string>> ExpandPlaceholders(
    std::string_view text, const std::map<std::string, std::vector<std::string>>& placeholders);

enum class TimePart { kMinute, kHour, kDay, kWeek, kMonth, kYear };
// The component of a timestamp value, read from its text without any time
// zone conversion: `YYYY-MM-DD[T ]hh:mm...` (date-only values have no
// minute/hour), or a JSON number taken as Unix epoch seconds (milliseconds
// when above 1e11), UTC. Week is the ISO 8601 week number (1..53).
std::optional<int> TimeComponent(const FieldValue& v, TimePart part);

}  // namespace vigil::sigma_internal
