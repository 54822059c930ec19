// FieldResolver over a JSON record, backed by a simdjson DOM document the
// resolver owns. Construction parses; on failure the error names the problem.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "event/event.h"

namespace vigil {

struct JsonLimits {
  size_t max_record_bytes = 4 << 20;  // 4 MiB
  size_t max_depth = 64;
};

// Bytes that must be readable past the end of `json` for an in-place parse.
inline constexpr size_t kJsonPadding = 64;

// Parses `json` (one object) into a resolver. Errors: invalid JSON, too deep,
// too large. The resolver keeps its own copy of what it needs; `json` need not
// outlive the call. When the caller guarantees `readable_padding` >=
// kJsonPadding bytes readable after `json` (e.g. spare string capacity), the
// parse reads `json` in place instead of copying it to padded storage.
Result<std::shared_ptr<const FieldResolver>> ParseJsonFields(std::string_view json, const JsonLimits& limits = {},
                                                            size_t readable_padding = 0);

}  // namespace vigil
