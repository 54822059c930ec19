// OCSF normalisation: the Open Cybersecurity Schema Framework form of an event,
// computed from its raw fields by a mapping written as data.
//
// Each log type has one mapping file (src/ocsf/mappings/<source_type>.yaml,
// embedded in the binary at build time; the format is in docs/ocsf.md). A
// mapping picks the event's OCSF class by conditions on raw fields, then
// copies raw values into OCSF attributes with typed conversion. A raw value
// that fails its OCSF type (an IP address with leading zeros, a port of
// 70000) is left out of the OCSF form and reported in `invalid`: it is never
// passed through invalid. The raw bytes stay available under raw field names.
//
// Normalisation is lazy: WithOcsf() wraps an event's resolver so that only a
// path starting with `ocsf.` (say `ocsf.src_endpoint.ip`) pays for it, once
// per event; every other path goes straight to the raw resolver.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/event.h"

namespace vigil::ocsf {

// The OCSF schema version the mappings are written against (metadata.version).
inline constexpr std::string_view kSchemaVersion = "1.9.0-dev";

// A raw value that failed its OCSF attribute's type and was left out.
struct InvalidValue {
  std::string attribute;  // OCSF path, e.g. "src_endpoint.ip"
  std::string raw_path;   // raw field it came from, e.g. "sourceIPAddress"
  std::string value;      // the raw text
};

struct Normalized {
  int class_uid = -1;      // -1 when no class of the mapping applied (json is then empty)
  std::string json;        // the OCSF event, one JSON object
  // Raw values left out because they failed their attribute's type; the JSON
  // lists them too, under `unmapped.invalid` (OCSF's place for what a
  // mapping did not map), as {attribute, raw_field, value}.
  std::vector<InvalidValue> invalid;
};

// What normalisation knows of an event besides its fields.
struct EventContext {
  std::string_view source_type;
  int64_t time_ns = 0;  // the event time the parser found (OCSF `time`)
};

// Normalises one event. Fails (NotFound) when the log type has no mapping;
// an event that no class of its mapping matches normalises to class_uid -1.
// Thread safety: safe from several threads (the mappings are immutable once
// loaded, on first use).
Result<Normalized> Normalize(const EventContext& ctx, const FieldResolver& raw);

// Log types that have a mapping, and the problems found loading the embedded
// mapping files (empty when all loaded; a file that fails is skipped).
std::vector<std::string> MappedSourceTypes();
const std::vector<std::string>& MappingLoadErrors();

// Every OCSF attribute path a mapping can write for `source_type`, as
// `class_uid attribute.path` strings (arrays as `resources[].uid`), for
// linting mappings against the schema.
std::vector<std::pair<int, std::string>> MappedAttributes(std::string_view source_type);

// The prefix under which an event's resolver answers OCSF attributes.
inline constexpr std::string_view kOcsfPrefix = "ocsf";

// Wraps `raw` so that paths under `ocsf.` answer the event's OCSF form
// (computed on the first such lookup) and every other path goes to `raw`.
// Thread safety: the wrapper is immutable apart from the lazily computed OCSF
// form, which is built under std::call_once, so const access (Visit, Collect,
// NormalizedOf) is safe from several threads, as Event promises.
std::shared_ptr<const FieldResolver> WithOcsf(const EventContext& ctx, std::shared_ptr<const FieldResolver> raw);

// Wraps e->fields (once; a second call does nothing). For every place that
// builds events for detectors or hunts.
void AttachOcsf(Event* e);

// The normalised form behind a resolver made by WithOcsf (computing it if
// needed), or nullptr for any other resolver.
const Normalized* NormalizedOf(const FieldResolver& fields);

}  // namespace vigil::ocsf
