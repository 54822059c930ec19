// The mapping language's compiled form (see docs/ocsf.md for the file format).
// Internal to the ocsf module: normalizer.h is the public face.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/event.h"

namespace vigil::ocsf::internal {

// How a raw value becomes an OCSF value.
enum class Conv { kString, kInteger, kFloat, kBool, kIp, kPort, kTimestamp, kTimestampSeconds };

// An enum result: the `_id` value (JSON text) and the caption written to the
// sibling attribute (`caption_to`). A caption of "$raw" means the raw value
// itself (OCSF's convention for 99 "Other").
struct Coded {
  std::string json;
  std::optional<std::string> caption;
};

// One attribute (or array of objects) the mapping writes.
struct FieldSpec {
  std::string target;                // OCSF path relative to its parent, dotted
  std::vector<std::string> target_parts;
  std::vector<std::string> from;     // raw paths, first present wins
  std::vector<FieldPath> from_paths; // the same, compiled (top-level specs only)
  bool event_time = false;           // `event: time`
  std::optional<Coded> constant;     // `value:`
  Conv as = Conv::kString;
  bool array = false;                // every raw value, as an array
  std::map<std::string, Coded, std::less<>> map;  // raw text -> coded
  std::vector<std::pair<std::string, Coded>> prefixes;  // raw text starts with -> coded, in order
  std::optional<Coded> otherwise;    // `else:` for map and prefixes
  std::vector<std::pair<double, Coded>> ranges;   // descending minimums
  std::optional<Coded> present, absent;
  std::vector<std::string> caption_to;  // sibling for captions, relative like target
  std::vector<std::string> else_to;     // for `as: ip`: where a non-address name goes
  std::optional<FieldPath> if_absent;   // applies only when this raw field is absent
  std::string each;                     // raw array path: one object per element
  std::vector<FieldSpec> each_fields;   // relative to the element
};

struct Condition {
  enum Kind { kAlways, kHas, kIn } kind = kAlways;
  FieldPath field;
  std::vector<std::string> values;
};

struct ClassMapping {
  Condition when;
  int class_uid = 0;
  std::string class_name;
  int category_uid = 0;
  std::string category_name;
  FieldSpec activity;  // target activity_id, caption to activity_name
  std::vector<FieldSpec> fields;
};

struct Mapping {
  std::string source_type;
  std::vector<std::string> profiles;  // metadata.profiles
  std::vector<FieldSpec> common;      // written for every class
  std::vector<ClassMapping> classes;  // first whose `when` holds
};

// Compiles one mapping file. `name` is for messages.
Result<std::unique_ptr<Mapping>> LoadMapping(std::string_view name, std::string_view yaml);

}  // namespace vigil::ocsf::internal
