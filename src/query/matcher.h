// Matcher: a search expression compiled for evaluation over many events.
//
// Compilation turns every value into a GlobPattern, every field into a
// pre-split FieldPath, every comparison bound into a number or a time, and
// orders each AND so that cheap tests run first. Matches() then only walks the
// compiled tree; it allocates nothing on the common paths.
//
// Semantics (docs/query-language.md):
//   field=v     some value at the path matches v (arrays: any element)
//   field!=v    the path exists and no value at it matches v
//   field=*     the path exists (any value, null included)
//   field<n     some value at the path compares; numbers, or RFC 3339 times
//   word        some scalar value anywhere in the record contains the word
// Values match case-insensitively with Sigma wildcards; numbers and booleans
// match through their text ("443", "true"); null matches the value `null`.
//
// Pseudo-fields: `source`, `id`, `principal`, `account` and `time` are
// answered from MetadataFields when the caller supplies them (the executor
// fills them from the stored event); when it does not, or leaves the one in
// question unset, the raw record's field of that name is used instead.
//
// Thread safety: a Matcher is immutable after Compile; Matches() may run on
// many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "common/status.h"
#include "event/event.h"
#include "query/ast.h"

namespace vigil {

// Event metadata that pseudo-fields read. Views are borrowed: they must stay
// valid for the duration of the Matches() call only.
struct MetadataFields {
  std::optional<std::string_view> source;  // source type, e.g. "cloudtrail"
  std::optional<std::string_view> id;
  std::optional<std::string_view> principal;
  std::optional<std::string_view> account;
  std::optional<int64_t> time_ns;  // event time
};

// Metadata of an in-memory Event (views into `event`, which must outlive them).
MetadataFields MetadataOf(const Event& event);

class Matcher {
 public:
  // Compiles `expr`. Fails (kInvalidArgument) only for comparisons whose bound
  // is neither a number nor an RFC 3339 time; ParseQuery already rejects
  // those, so a parsed query always compiles.
  static Result<Matcher> Compile(const SearchExpr& expr);

  Matcher(Matcher&&) noexcept;
  Matcher& operator=(Matcher&&) noexcept;
  ~Matcher();

  // True when the record (and, for pseudo-fields, `meta`, which may be null)
  // satisfies the expression.
  bool Matches(const FieldResolver& fields, const MetadataFields* meta = nullptr) const;

  struct Node;  // internal

 private:
  explicit Matcher(std::unique_ptr<Node> root);
  std::unique_ptr<Node> root_;
};

// One-shot convenience: compiles and evaluates. Prefer a Matcher in loops.
bool Matches(const SearchExpr& expr, const FieldResolver& fields, const MetadataFields* meta = nullptr);

}  // namespace vigil
