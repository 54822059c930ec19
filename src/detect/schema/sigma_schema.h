// Checks Sigma documents (rules, filters, correlations) against the Sigma JSON
// schemas (the `json-schema/` folder of the Sigma specification), as part of
// `vigil rules lint --schemas DIR`.
//
// Why hand-written: the schemas use a small set of JSON Schema keywords (type,
// const, enum, properties, required, additionalProperties, items, min/max
// Length/Items, uniqueItems, pattern, format, anyOf/oneOf/allOf/not,
// if/then/else), and Debian's only C++ validator package (valijson) depends on
// Qt, Poco and four JSON libraries. This validator interprets exactly those
// keywords, over yaml-cpp nodes directly (YAML plain scalars are typed by the
// YAML 1.2 core schema: null, booleans, integers, floats, else strings).
// Unknown keywords are ignored, as JSON Schema requires.
//
// Thread safety: immutable after Load; Check may run concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace YAML {
class Node;
}

namespace vigil {

class SigmaSchemas {
 public:
  // Loads sigma-detection-rule-schema.json, sigma-filters-schema.json and
  // sigma-correlation-rules-schema.json from `dir`.
  static Result<SigmaSchemas> Load(const std::string& dir);

  // Violations of the schema that fits the document (correlation, filter or
  // detection rule), each "<path>: <problem>", at most `max_errors`.
  std::vector<std::string> Check(const YAML::Node& document, size_t max_errors = 10) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace vigil
