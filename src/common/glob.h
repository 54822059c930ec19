// Wildcard patterns with Sigma's semantics, shared by detection and hunting.
//
//   *  any run of characters (also none)     \*  a literal *
//   ?  exactly one character                 \?  a literal ?
//   \\ a literal backslash; a backslash before anything else is itself literal.
//
// Matching is ASCII case-insensitive unless compiled case-sensitive. Patterns of
// the shapes `lit`, `lit*`, `*lit` and `*lit*` take fast paths; the general case
// runs the classic two-pointer algorithm, which is O(n*m) at worst and never
// backtracks exponentially.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vigil {

class GlobPattern {
 public:
  enum class Shape { kExact, kPrefix, kSuffix, kContains, kGeneral, kAny };

  GlobPattern() = default;
  // `wildcards` false: the whole pattern is a literal (no escapes processed).
  static GlobPattern Compile(std::string_view pattern, bool case_sensitive = false, bool wildcards = true);
  // Builds a literal pattern of a given shape (used by Sigma's contains/startswith/endswith).
  static GlobPattern Literal(std::string_view text, Shape shape, bool case_sensitive = false);

  bool Matches(std::string_view s) const;
  // Matches(s) given ToLower(s) instead, for a text tested against many
  // patterns: a case-insensitive pattern then compares without folding
  // again. (A case-sensitive one must be given the text itself.)
  bool MatchesLowered(std::string_view lower) const;
  Shape shape() const { return shape_; }
  // For literal shapes: the literal text (lower-cased when case-insensitive).
  const std::string& literal() const { return literal_; }
  bool case_sensitive() const { return case_sensitive_; }

 private:
  struct Token {
    enum Kind { kLit, kOne, kStar } kind;
    char c;
  };
  Shape shape_ = Shape::kExact;
  bool case_sensitive_ = false;
  std::string literal_;
  std::vector<Token> tokens_;  // only for kGeneral
};

// ASCII case folding helpers.
inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix);
// `needle_lower` must already be lower case.
bool ContainsIgnoreCase(std::string_view s, std::string_view needle_lower);
std::string ToLower(std::string_view s);
// ToLower into `out` (its capacity reused).
void ToLowerInto(std::string_view s, std::string* out);
// `s` without leading and trailing spaces, tabs, CRs and LFs.
std::string_view TrimSpace(std::string_view s);

}  // namespace vigil
