// A validator of OCSF events built from the OCSF schema's own files (the
// layout of the ocsf/ocsf-schema repository: dictionary.json,
// categories.json, events/**, objects/, profiles/). It resolves a class with
// its inheritance (`extends`) and included profiles, and checks an event:
// every attribute known to its class or object, required attributes present
// (nested objects' too; a profile's only when metadata.profiles names it),
// object constraints (at_least_one, just_one), values of the attribute's type
// (dictionary `types`: string_t, integer_t, long_t, timestamp_t, ip_t with its
// regex, port_t with its range, boolean_t, float_t, json_t, uuid_t, ...),
// enum values, enum captions in the sibling attribute (except 99 "Other",
// whose sibling holds the source's own word), and the classification ids
// (class_uid, category_uid, type_uid = class_uid * 100 + activity_id).
//
// Thread safety: a loaded Schema is immutable; Validate is safe from several
// threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "env/env.h"

namespace vigil::ocsf {

struct Violation {
  std::string path;     // attribute path, arrays as `resources[].uid`; "" for the event
  std::string problem;  // what is wrong, for a person
};

struct ValidationReport {
  std::vector<Violation> violations;
  // Required attributes and constraints unmet only because the normaliser
  // left an invalid raw value out (an attribute path listed in `left_out`).
  std::vector<Violation> excused;
};

class Schema {
 public:
  virtual ~Schema() = default;
  // Reads the schema under `dir` through `env`; an unreadable or malformed
  // file is an error naming it.
  static Result<std::unique_ptr<Schema>> Load(Env* env, const std::string& dir);

  // Validates one event given as JSON text. `left_out`: attribute paths the
  // normaliser left out as invalid (Normalized::invalid).
  virtual ValidationReport Validate(std::string_view event_json,
                                    const std::vector<std::string>& left_out = {}) const = 0;

  // Whether `path` (dotted, arrays as `name[]`) names an attribute of class
  // `class_uid`: for linting mappings. Error says which part is unknown.
  virtual Status CheckAttributePath(int class_uid, std::string_view path) const = 0;
};

}  // namespace vigil::ocsf
