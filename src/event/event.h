// Event: one log record as vigil carries it from parser to store and detectors.
//
// An Event owns the exact original bytes of the record (`raw`, never altered),
// its stable id, source type, times and entity. Field access is not tied to
// JSON: `fields` is a FieldResolver that answers dotted raw paths (and, later,
// OCSF names) for whatever log type the parser produced.
//
// Ownership and lifetime: an Event owns everything it points to. FieldValue
// string views handed to a visitor point into the resolver's storage and are
// valid only during the visit call.
// Thread safety: an Event is not shared between threads while it is mutated;
// const access (including Visit) is safe from several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

// A dotted path such as `userIdentity.sessionContext.attributes.mfaAuthenticated`,
// split once so that lookups do not re-split. A part of the form `[N]` (as in
// `resources.[0].ARN`) selects element N of an array instead of fanning out.
class FieldPath {
 public:
  FieldPath() = default;
  explicit FieldPath(std::string_view dotted);
  const std::string& str() const { return dotted_; }
  const std::vector<std::string>& parts() const { return parts_; }
  bool empty() const { return parts_.empty(); }
  bool operator==(const FieldPath& o) const { return dotted_ == o.dotted_; }

 private:
  std::string dotted_;
  std::vector<std::string> parts_;
};

enum class ValueKind { kNull, kBool, kNumber, kString, kObject, kArray };

// One value found at a path. For kString `text` is the unescaped string; for
// kNumber and kBool `text` is its canonical textual form ("443", "1.5", "true"),
// so that string matchers work on any scalar. Objects and arrays have empty text.
struct FieldValue {
  ValueKind kind = ValueKind::kNull;
  std::string_view text;
  double number = 0;   // kNumber
  bool is_integer = false;
  bool boolean = false; // kBool
};

// Called for each value; return false to stop the visit early.
using FieldVisitor = std::function<bool(const FieldValue&)>;

class FieldResolver {
 public:
  virtual ~FieldResolver() = default;
  // Visits every value at `path`. Arrays met on the way or at the end fan out:
  // each element is visited (so `a.b` matches if any element of array `a` has
  // b; a leaf array visits its elements). Returns true when the path exists at
  // all (even when its value is null), false otherwise.
  virtual bool Visit(const FieldPath& path, const FieldVisitor& visitor) const = 0;
  // Visits every scalar leaf of the record (for keyword/full-text matching).
  virtual void VisitAllScalars(const FieldVisitor& visitor) const = 0;
};

struct Event {
  std::string id;            // stable id: the log's own id, else hash(source_type, raw)
  std::string source_type;   // parser name, e.g. "cloudtrail"
  int64_t time_ns = 0;       // event time; ingest time when time_fallback
  int64_t ingest_time_ns = 0;
  bool time_fallback = false;
  std::string account;       // AWS account id when known
  std::string principal;     // who acted (entity model; see docs/architecture.md)
  std::vector<std::string> resources;  // what it touched (ARNs or names)
  std::string raw;           // original bytes, exact
  std::shared_ptr<const FieldResolver> fields;  // may be null for an unparsed record

  // Convenience: the first scalar value's text at `path`, or empty.
  std::string FirstString(const FieldPath& path) const;
};

// Makes an id from the log type and raw bytes (32 hex digits, xxh3-128).
std::string ContentId(std::string_view source_type, std::string_view raw);

}  // namespace vigil
