// The column executor of `vigil hunt`: runs a query that PlanColumns
// accepted from the stored columns of its events (docs/query-language.md,
// "Reading columns").
#pragma once

#include <functional>

#include "cli/hunt_run.h"
#include "query/column_plan.h"
#include "query/matcher.h"
#include "query/pipeline.h"
#include "store/event_store.h"

namespace vigil::cli {

// Scans `store` within `scan` for the fields `plan` reads. Blocks the store
// answers from columns are grouped by those values (and the time or its
// bucket); each group the search `matcher` accepts goes to `pipeline` as one
// row weighted by its number of events. Every other event goes to `raw`,
// which runs the usual per-record path (return false to stop). Pipeline
// errors land in *pipe_status and stop the scan.
Status ScanFromColumns(EventStore* store, const ColumnPlan& plan, const ScanOptions& scan, const Matcher& matcher,
                       QueryPipeline* pipeline, const std::function<bool(const StoredEvent&)>& raw,
                       const std::function<void(const HuntCounts&)>& progress, HuntCounts* counts,
                       Status* pipe_status);

}  // namespace vigil::cli
