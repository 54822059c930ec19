// CloudWatch Logs filter patterns (the JSON form, `{ $.field = value && ... }`)
// as a matcher over vigil events.
//
// AWS users already keep metric and subscription filters such as
//   { ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != "Yes") }
// A FilterPattern compiles one such pattern once and then answers, per event,
// whether it matches. The supported syntax and the match semantics (including
// `!=` on an absent field, which matches) are described in
// docs/rule-authoring.md, "CloudWatch Logs filter patterns".
//
// Only JSON patterns are supported. Term patterns (`ERROR "Failed login"`),
// space-delimited patterns (`[ip, user, ...]`), regex patterns (`%...%`) and
// regex values inside JSON patterns are reported as Status::Unsupported with
// the reason; a malformed pattern is Status::InvalidArgument naming the column
// (1-based) where parsing stopped.
//
// Ownership and lifetime: a FilterPattern owns its compiled form (shared,
// immutable), so copies are cheap and the source text need not outlive Parse.
// Thread safety: a FilterPattern is immutable after Parse; Matches may run on
// several threads at once. Matches does not allocate.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "event/event.h"

namespace vigil {

class FilterPattern {
 public:
  // Longest pattern accepted (AWS allows 1,024 characters; vigil is lenient
  // but bounded) and deepest parenthesis nesting.
  static constexpr size_t kMaxPatternBytes = 64 * 1024;
  static constexpr int kMaxNesting = 64;

  // Compiles `pattern`. Errors: InvalidArgument (syntax, with column),
  // Unsupported (a pattern kind vigil does not implement), LimitExceeded
  // (longer than kMaxPatternBytes or nested deeper than kMaxNesting).
  static Result<FilterPattern> Parse(std::string_view pattern);

  // True when the record behind `fields` satisfies the pattern.
  bool Matches(const FieldResolver& fields) const;

  // The pattern as written.
  const std::string& source() const;
  // Whether a selector uses an array index (`$.a[0].b`). Index steps reach
  // the resolver as FieldPath parts of the form `[N]` (`a.[0].b`).
  bool uses_array_index() const;

  struct Compiled;  // defined in filter_pattern.cc

 private:
  explicit FilterPattern(std::shared_ptr<const Compiled> compiled) : compiled_(std::move(compiled)) {}
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace vigil
