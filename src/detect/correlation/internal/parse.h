// Internal: YAML -> CorrelationRule, for the Sigma document loader in
// detect/sigma/rule.cc. yaml-cpp throws; callers call these inside a try block.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>

#include "common/status.h"
#include "detect/correlation/correlation_rule.h"

namespace vigil::correlation_internal {

// Parses one YAML document with a top-level `correlation:` map.
Result<std::shared_ptr<const CorrelationRule>> ParseCorrelationDocument(const YAML::Node& root);

}  // namespace vigil::correlation_internal
