// QueryPipeline: runs the pipe stages of a hunt over the events its search
// matched. The caller (vigil hunt, a scheduled rule) scans the store, feeds
// every matching event to Push, calls Finish, and receives the output rows
// through the sink in order:
//
//   auto p = QueryPipeline::Build(query, text, options, sink);
//   for each matching event: if (!p->Push(row)) break;   // head may stop the scan early
//   p->Finish();
//
// Streaming stages (where, eval, fields, rename, bin, lookup, dedup, head)
// pass rows on as they come; the others (stats, timechart, top, rare, sort,
// tail) hold state and emit at Finish. All state together is bounded by
// QueryPipelineOptions::max_memory_bytes: a query that needs more stops with an
// error pointing at the stage that hit the bound (docs/query-language.md,
// "Memory").
//
// Thread safety: a QueryPipeline is used from one thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "query/ast.h"
#include "query/lookup.h"
#include "query/row.h"

namespace vigil {

struct QueryPipelineOptions {
  // Bound on all buffered state: groups of stats/top/rare/timechart with
  // their distinct sets and percentile samples, rows held by sort and tail,
  // keys remembered by dedup.
  size_t max_memory_bytes = 256 << 20;
  // Where `lookup TABLE` finds its table; null: only CSV files named by path.
  const LookupSources* lookups = nullptr;
};

// Receives output rows; returns false to stop (e.g. --limit reached).
using RowSink = std::function<bool(const Row&)>;

class QueryPipeline {
 public:
  // Compiles the stages of `query` (whose text is `text`, for errors) and
  // opens the lookup tables they name.
  static Result<std::unique_ptr<QueryPipeline>> Build(const Query& query, std::string_view text,
                                                 const QueryPipelineOptions& options, RowSink sink);
  ~QueryPipeline();

  // One input row (an event that matched the search). Returns false when no
  // further input can change the output (head is satisfied, or the sink
  // asked to stop); an error stops the query.
  Result<bool> Push(Row row);
  // Flushes the holding stages to the sink.
  Status Finish();

  // True when the output rows are events (no stage aggregates or chooses
  // columns): print them as events.
  bool outputs_events() const { return outputs_events_; }
  // Bytes of state held now (for tests and progress).
  size_t memory_used() const;

  class Stage;   // internal
  struct Shared;  // internal

 private:
  QueryPipeline() = default;
  // Declared before the stages, which release their memory to it when they
  // are destroyed.
  std::shared_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Stage>> stages_;
  bool outputs_events_ = true;
  bool done_ = false;
};

// Convenience for tests and small inputs: runs the pipeline over `rows` and
// returns every output row.
Result<std::vector<Row>> RunQueryPipeline(const Query& query, std::string_view text, std::vector<Row> rows,
                                     const QueryPipelineOptions& options = {});

}  // namespace vigil
