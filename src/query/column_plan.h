// Column plans: whether a hunt query can be answered from the stored columns
// of its events instead of their raw records, and which fields it reads
// (docs/query-language.md, "Reading columns").
//
// A query qualifies when its search has no full-text words and no `!=` or
// `=*` terms on record fields (a column cannot tell an absent field from one
// holding an object), and its stages up to the first aggregation (stats, top,
// rare, timechart) are where, eval and bin, the aggregation's functions being
// count, dc, values, min, max, sum or avg. Those stages see each row on its
// own and the aggregation does not depend on the order of its input, so the
// executor may hand it one weighted row per distinct combination of the
// values the query reads (Row::weight) and get the same result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "query/ast.h"

namespace vigil {

struct ColumnPlan {
  // Event fields the search and the stages up to the aggregation read:
  // raw field paths and the pseudo-fields source, account and principal
  // (sorted, unique; `time` is not among them).
  std::vector<std::string> fields;
  // The event time is read as it is.
  bool exact_time = false;
  // > 0: the event time is read only as bin(time, span) with this span in
  // nanoseconds (`| stats ... by bin(time, 1h)`, timechart), so events may be
  // grouped by their bucket.
  int64_t time_bucket_ns = 0;
};

// The plan of `query`, or nullopt when it must read raw records.
std::optional<ColumnPlan> PlanColumns(const Query& query);

}  // namespace vigil
