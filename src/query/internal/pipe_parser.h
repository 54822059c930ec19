// Parser of the pipe stages of a query (everything from the first top-level
// `|`). Internal to the query module: ParseQuery calls it.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"
#include "query/ast.h"

namespace vigil::query_internal {

// `text` is the whole query and text[begin] is the first `|`; offsets in the
// result and in errors are offsets into `text`. `max_depth` bounds the
// nesting of expressions (parentheses, NOT, unary minus).
Result<std::vector<PipeStage>> ParsePipes(std::string_view text, size_t begin, size_t max_depth);

}  // namespace vigil::query_internal
