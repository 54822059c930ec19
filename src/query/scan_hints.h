// Scan hints: what a search expression says about which stored events can
// possibly match, so that the executor reads fewer partitions.
//
// Hints are conservative: every event the expression matches lies inside
// them; events inside them still have to go through the Matcher. A term whose
// value is an IP network (SearchExpr::network, `sourceIPAddress=10.0.0.0/8`)
// matches addresses inside it, so it is never an exact value to look up. They assume
// the executor answers the `source` and `time` pseudo-fields from metadata
// (MetadataFields), which is what makes a store-level filter equivalent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "query/ast.h"

namespace vigil {

struct ScanHints {
  // `field=value` (or `field=a OR field=b ...`) in the top-level conjunction,
  // on a field other than `source`: some value at `field` must match one of
  // `patterns` (the SearchExpr value text, wildcards and escapes as written).
  struct Equality {
    std::string field;
    std::vector<std::string> patterns;
    bool network = false;  // some alternative is an IP network: not an exact value
  };
  // `field<n` and friends with a number bound, on a field other than `time`.
  struct Compare {
    std::string field;
    CompareOp op = CompareOp::kLt;
    double bound = 0;
  };

  // Source types an event must have, lower-cased, sorted, unique; nullopt when
  // any source may match. An empty vector means nothing can match
  // (e.g. `source=cloudtrail source=vpcflow`).
  std::optional<std::vector<std::string>> sources;
  std::optional<int64_t> from_ns;  // event time >= from_ns
  std::optional<int64_t> to_ns;    // event time <  to_ns
  std::vector<Equality> equalities;
  std::vector<Compare> compares;
  // Lower-cased literal runs (3 or more bytes) of full-text words: some
  // scalar value of a matching record contains each of them.
  std::vector<std::string> text_runs;
};

// Reads `source=x` (exact values, OR-ed alternatives allowed),
// `time>=T`/`time>T`/`time<T`/`time<=T`, field equalities, numeric
// comparisons and full-text words from the top-level conjunction.
ScanHints ExtractScanHints(const SearchExpr& expr);

}  // namespace vigil

namespace vigil {
// The exact text of a search pattern without wildcards (escapes resolved), or
// nullopt when it has any.
std::optional<std::string> PatternLiteral(std::string_view pattern);
}  // namespace vigil
