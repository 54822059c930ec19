// ParseQuery: text of a `vigil hunt` query to its syntax tree (see ast.h and
// docs/query-language.md for the grammar).
//
// Errors are Status values whose message names the problem, the 1-based column
// and shows the query with a caret under the offending token:
//
//   query: unexpected ')' at column 13
//     eventName=X )
//                 ^
//
// Codes: kInvalidArgument for malformed queries, kLimitExceeded for queries
// that are too long or nest too deeply.
//
// Thread safety: ParseQuery is a pure function; call it from any thread.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"
#include "query/ast.h"

namespace vigil {

struct QueryLimits {
  size_t max_query_bytes = 64 * 1024;
  size_t max_depth = 100;  // nesting of parentheses and NOT
};

// Parses a whole query: the search expression, then the pipe stages. An empty
// (or all-blank) query is valid and matches every event.
Result<Query> ParseQuery(std::string_view text, const QueryLimits& limits = {});

}  // namespace vigil
