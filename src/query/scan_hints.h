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
  // Source types an event must have, lower-cased, sorted, unique; nullopt when
  // any source may match. An empty vector means nothing can match
  // (e.g. `source=cloudtrail source=vpcflow`).
  std::optional<std::vector<std::string>> sources;
  std::optional<int64_t> from_ns;  // event time >= from_ns
  std::optional<int64_t> to_ns;    // event time <  to_ns
};

// Reads `source=x` (exact values, OR-ed alternatives allowed) and
// `time>=T`/`time>T`/`time<T`/`time<=T` terms from the top-level conjunction.
ScanHints ExtractScanHints(const SearchExpr& expr);

}  // namespace vigil
