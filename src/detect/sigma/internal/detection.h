// Internal: the compiled form of a Sigma `detection:` block and its evaluation.
// Not part of the public contract of the detect module; include
// "detect/sigma/rule.h" instead.
//
// Everything here is immutable after compilation and safe to evaluate from
// several threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/glob.h"
#include "common/ip.h"
#include "common/status.h"
#include "detect/sigma/internal/event_fields.h"
#include "detect/sigma/internal/value_transforms.h"
#include "event/event.h"

namespace re2 {
class RE2;
}

namespace vigil::sigma_internal {

// IP parsing and networks live in common/ip.h; the names stay usable here.
using vigil::CidrContains;
using vigil::IpNetwork;
using vigil::ParseCidr;
using vigil::ParseIp;

// One rule value after its modifiers were applied.
struct ValueMatcher {
  enum class Kind {
    kGlob,      // wildcard/literal match on the scalar's text
    kRegex,     // RE2 partial match
    kCidr,      // IP in network
    kCompare,   // lt/lte/gt/gte
    kNull,      // field missing or null
    kExists,    // field present (or absent when exists_expected is false)
    kFieldRef,  // equal to (or starts/ends with, contains) a value of another field
    kTimePart,  // a component (hour, month...) of a timestamp compared to `number`
    kAnyOf,     // any of `any_of` (one rule value expanded by a modifier)
  };
  enum class Cmp { kLt, kLte, kGt, kGte, kEq };

  Kind kind = Kind::kGlob;
  GlobPattern glob;
  // Plain numeric rule values (`EventID: 4738`) also equal a numeric field
  // whose value is the same number written differently (4738.0).
  bool numeric_equal = false;
  double number = 0;  // for numeric_equal and kCompare
  Cmp cmp = Cmp::kLt;
  std::shared_ptr<const re2::RE2> regex;
  // Lower-case literals of which a regex match must contain at least one
  // (from RE2's FilteredRE2); empty when none could be derived. The first
  // `regex_required` of them every match contains (the prefilter ANDs them):
  // a value lacking one skips the regex engine.
  std::vector<std::string> regex_atoms;
  size_t regex_required = 0;
  IpNetwork network;
  bool exists_expected = true;
  FieldPath ref;
  uint32_t ref_slot = kNoSlot;  // FieldSlot(ref.str())
  bool cased = false;  // kFieldRef: case-sensitive comparison
  // kFieldRef: how the field's value relates to the referenced one (kExact:
  // equal; kPrefix: starts with it; kSuffix: ends with it; kContains).
  GlobPattern::Shape ref_shape = GlobPattern::Shape::kExact;
  // kGlob with `windash`: `glob` was compiled from the value with every dash
  // character mapped to `-`, and the field's text is mapped the same way.
  bool windash = false;
  TimePart time_part = TimePart::kHour;
  std::vector<ValueMatcher> any_of;  // kAnyOf: scalar matchers

  // For scalar matchers (glob, regex, cidr, compare): does this value match?
  bool MatchesScalar(const FieldValue& v) const;
};

// `field|mods: values` (or a keyword list when `keyword`).
struct FieldMatcher {
  FieldPath path;
  uint32_t slot = kNoSlot;  // FieldSlot(path.str()); kNoSlot for keywords
  std::string display;   // the key as written, for diagnostics
  bool keyword = false;  // match against every scalar of the record
  bool all = false;      // every value must match (default: any)
  bool negate = false;   // `neq`: present, and no value matches
  std::vector<ValueMatcher> values;
  // When every value is a literal the field must equal, ASCII
  // case-insensitively, and there are several (eventName: [a list]): each
  // one's lower-case Hash64 with its index, sorted, so that a field value is
  // looked up once rather than compared with every value. Empty otherwise.
  std::vector<std::pair<uint64_t, uint32_t>> exact_index;

  // Builds exact_index; called once the values are compiled.
  void IndexExactValues();
  bool Matches(EventFields& fields) const;
  bool Matches(const FieldResolver& fields) const;
};

// A search identifier: OR over alternatives, each an AND of field matchers.
struct Selection {
  std::string name;
  std::vector<std::vector<FieldMatcher>> alternatives;

  bool Matches(EventFields& fields) const;
  bool Matches(const FieldResolver& fields) const;
};

// Condition syntax tree; `N of X*`, `all of them` etc. are expanded at parse
// time into kAtLeast / kAnd / kOr over selection references.
struct CondNode {
  enum class Op { kRef, kAnd, kOr, kNot, kAtLeast };
  Op op = Op::kRef;
  int selection = -1;  // kRef
  int count = 1;       // kAtLeast
  std::vector<CondNode> kids;
};

// Per selection, what one evaluation decided (0 not evaluated, 1 did not
// hold, 2 held); declared in detect/sigma/rule.h.
using SelectionResults = std::vector<int8_t>;

struct Detection {
  std::vector<Selection> selections;
  CondNode condition;

  bool Matches(EventFields& fields) const;
  // The same, recording in `*results` (resized to the selections, all
  // undecided first) each selection the evaluation decided, so that an
  // explanation of the match need not decide them again.
  bool Matches(EventFields& fields, SelectionResults* results) const;
  bool Matches(const FieldResolver& fields) const;
};

// Parses one condition string against the named selections. Fails with
// kInvalidArgument (syntax, unknown identifier) or kUnsupported (deprecated
// aggregation expressions such as `| count() by x > 5` or `| near`).
Result<CondNode> ParseCondition(std::string_view text, const std::vector<Selection>& selections);

}  // namespace vigil::sigma_internal
