// Internal: small JSON text helpers for lint/test reports and rule test cases.
#pragma once

#include <string>
#include <string_view>

namespace YAML {
class Node;
}

namespace vigil::sigma_internal {

// Appends `s` as a JSON string literal (with quotes) to `out`.
void AppendJsonString(std::string_view s, std::string* out);

// Converts a YAML node to JSON text. Plain scalars that read as null, true,
// false or a JSON number keep that type; quoted scalars are strings. Throws
// YAML exceptions like yaml-cpp itself; callers wrap it.
std::string YamlToJson(const YAML::Node& node);

}  // namespace vigil::sigma_internal
