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

// Values gathered from a resolver (FieldResolver::Collect), appended in visit
// order. A value's text either stays where the resolver keeps it (text the
// resolver guarantees for its own lifetime) or is copied into the list, so
// the FieldValue that at() returns is valid until the list is next appended
// to or cleared, and the list must not outlive the resolver.
// Thread safety: none; one list per thread.
class FieldValueList {
 public:
  size_t size() const { return items_.size(); }
  FieldValue at(size_t i) const {
    const Item& it = items_[i];
    FieldValue v = it.value;
    if (it.copied) v.text = std::string_view(copies_.data() + it.offset, v.text.size());
    return v;
  }
  // `text_is_stable`: v.text lives as long as the resolver (else it is copied).
  void Add(const FieldValue& v, bool text_is_stable) {
    Item it{v, !text_is_stable, 0};
    if (it.copied) {
      it.offset = static_cast<uint32_t>(copies_.size());
      copies_.append(v.text);
    }
    items_.push_back(it);
  }
  void clear() {
    items_.clear();
    copies_.clear();
  }

 private:
  struct Item {
    FieldValue value;
    bool copied;
    uint32_t offset;  // into copies_ when copied
  };
  std::vector<Item> items_;
  std::string copies_;
};

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
  // Appends every value Visit(path) would visit to `out` and returns what
  // Visit returns. The default copies each text through Visit; resolvers
  // whose text outlives a visit override it to skip the callback and copies.
  virtual bool Collect(const FieldPath& path, FieldValueList* out) const {
    return Visit(path, [out](const FieldValue& v) {
      out->Add(v, false);
      return true;
    });
  }
  // The text of the first value at `path` that is not an object, an array or
  // null (what Event::FirstString returns); false when there is none. `text`
  // stays valid while the resolver lives and `scratch` is untouched: text the
  // resolver keeps is not copied, other text (a number's) is written to
  // `scratch` first. The default goes through Visit; resolvers override it
  // to skip the callback (building an event reads several such values).
  virtual bool FirstScalar(const FieldPath& path, std::string_view* text, std::string* scratch) const;
  // When this resolver answers from one JSON text parsed in place (the
  // event's raw record): that text's address and size. VisitAllScalars then
  // visits exactly that text's scalars, and Visit answers every path from it
  // as JsonFields does (a wrapper may answer paths of its own namespace, as
  // `ocsf.`, which no raw field path uses). Empty otherwise. Only the address
  // and size are meaningful, since the text may be gone: a caller compares
  // them with the record it holds and reads its own copy (segment v2's
  // writer then takes what it needs from one pass over the record's bytes).
  virtual std::string_view ParsedJson() const { return {}; }
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
