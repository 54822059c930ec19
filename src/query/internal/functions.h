// The functions of `where` and `eval` expressions, for the parser (names and
// argument counts) and the evaluator. Internal to the query module; the list
// with examples is in docs/query-language.md.
#pragma once

#include <cstddef>
#include <string_view>

namespace vigil::query_internal {

struct FunctionInfo {
  std::string_view name;       // lower case
  size_t min_args;
  size_t max_args;
  std::string_view signature;  // for errors: "like(text, pattern)"
};

// nullptr when `name` (lower case) is not a function.
const FunctionInfo* FindFunction(std::string_view name);

}  // namespace vigil::query_internal
