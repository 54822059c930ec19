// Reading the plain attributes of Sigma documents (rules, filters,
// correlations) from yaml-cpp nodes, with the same errors everywhere.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace YAML {
class Node;
}

namespace vigil::sigma_internal {

// `root[key]` as a string; empty when absent or null; an error when not a scalar.
Result<std::string> YamlString(const YAML::Node& root, const char* key);

// `root[key]` as a list of strings (a lone scalar is a list of one); empty when
// absent or null. `where` prefixes the error, e.g. "correlation: ".
Result<std::vector<std::string>> YamlStringList(const YAML::Node& root, const char* key,
                                                std::string_view where = "");

}  // namespace vigil::sigma_internal
