// Running a parsed hunt query over the event store: the scan (pruned by the
// query's scan hints), the search matcher and the pipe stages. `vigil hunt`
// prints what it yields; scheduled rules turn its rows into alerts.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "common/status.h"
#include "query/ast.h"
#include "query/pipeline.h"
#include "store/event_store.h"

namespace vigil::cli {

struct HuntCounts {
  uint64_t scanned = 0;     // events read from the store
  uint64_t matched = 0;     // events the search matched
  uint64_t unreadable = 0;  // stored records that no longer parse (skipped)
  ScanStats blocks;         // what the store read and skipped
};

// Scans `store` within `scan` (narrowed further by the query's own source
// and time terms), feeds every event the search matches through the stages,
// and hands each output row to `sink`. `built` is called once with the
// pipeline before the scan (to check what it outputs); `progress` after
// each scanned event. Errors: a malformed query part, a lookup table that
// cannot be opened, a stage over its memory bound, a failing scan.
Status RunHuntQuery(EventStore* store, const Query& query, std::string_view text, ScanOptions scan,
                    const QueryPipelineOptions& options, RowSink sink,
                    const std::function<Status(const QueryPipeline&)>& built,
                    const std::function<void(const HuntCounts&)>& progress, HuntCounts* counts);

// One row of columns as a JSON object line ({"a":1,"b":"x"}\n).
std::string RowJson(const Row& row);

}  // namespace vigil::cli
