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

// Parses `json` (one object) into a resolver. Errors: invalid JSON, too deep,
// too large. The bytes are copied into padded storage; `json` need not outlive it.
Result<std::shared_ptr<const FieldResolver>> ParseJsonFields(std::string_view json,
                                                            const JsonLimits& limits = {});

}  // namespace vigil
