#include "event/json_fields.h"

#include <simdjson.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>
#include <string>

namespace vigil {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

class JsonFields final : public FieldResolver {
 public:
  simdjson::dom::document doc;
  element root;

  bool Visit(const FieldPath& path, const FieldVisitor& visitor) const override {
    return Lookup(path, [&visitor](const FieldValue& v, bool) { return visitor(v); });
  }

  // Strings, booleans and structure markers point into `doc` or are
  // constants; only a number's text is formatted on the stack and copied.
  bool Collect(const FieldPath& path, FieldValueList* out) const override {
    return Lookup(path, [out](const FieldValue& v, bool stable) {
      out->Add(v, stable);
      return true;
    });
  }

  bool FirstScalar(const FieldPath& path, std::string_view* text, std::string* scratch) const override {
    bool found = false;
    Lookup(path, [&](const FieldValue& v, bool stable) {
      if (v.kind == ValueKind::kObject || v.kind == ValueKind::kArray || v.kind == ValueKind::kNull) return true;
      if (stable) {
        *text = v.text;
      } else {
        scratch->assign(v.text);
        *text = *scratch;
      }
      found = true;
      return false;
    });
    return found;
  }

  // Lists the root object's keys after a parse (see Lookup), in document
  // order, so a duplicate key resolves to its first occurrence as at_key does.
  void IndexRoot() {
    root_keys_.clear();
    simdjson::dom::object obj;
    if (root.get(obj) != simdjson::SUCCESS) return;
    for (auto field : obj) root_keys_.push_back(RootKey{Head(field.key), field.key.data(), field.key.size(), field.value});
    // Linear probing in document order: a duplicate key lands after the
    // first occurrence, which a lookup therefore finds first.
    root_table_.fill(0);
    if (root_keys_.size() > kRootTableMaxKeys) return;  // lookups scan the list
    for (size_t i = 0; i < root_keys_.size(); ++i) {
      size_t h = Slot(root_keys_[i].head, root_keys_[i].length);
      while (root_table_[h] != 0) h = (h + 1) & (kRootTableSize - 1);
      root_table_[h] = static_cast<uint8_t>(i + 1);
    }
  }

  void VisitAllScalars(const FieldVisitor& visitor) const override {
    bool stop = false;
    AllScalars(root, visitor, stop);
  }

  std::string_view ParsedJson() const override { return parsed_in_place_; }
  // The caller's text when parsed in place (see ParseJsonFields), else empty.
  std::string_view parsed_in_place_;

 private:
  struct RootKey {
    uint64_t head;     // Head(key)
    const char* data;  // into doc's string buffer
    size_t length;
    element value;
  };
  std::vector<RootKey> root_keys_;  // capacity reused when pooled
  // Open-addressing table over root_keys_ (index + 1; 0 is empty), used
  // when the root has at most kRootTableMaxKeys keys (CloudTrail has ~25).
  static constexpr size_t kRootTableSize = 128;
  static constexpr size_t kRootTableMaxKeys = 64;
  std::array<uint8_t, kRootTableSize> root_table_{};

  static size_t Slot(uint64_t head, size_t length) {
    return static_cast<size_t>(((head ^ length) * 0x9E3779B97F4A7C15ull) >> 57);  // 7 bits
  }

  // Keys of 9 to 16 bytes (most of CloudTrail's) are told apart by their
  // last 8 bytes without a call to memcmp.
  static bool SameKey(const RootKey& k, uint64_t head, const std::string& key) {
    if (k.head != head || k.length != key.size()) return false;
    if (k.length <= 8) return true;
    uint64_t a, b;
    std::memcpy(&a, k.data + k.length - 8, 8);
    std::memcpy(&b, key.data() + k.length - 8, 8);
    return a == b && (k.length <= 16 || std::memcmp(k.data + 8, key.data() + 8, k.length - 16) == 0);
  }

  const RootKey* FindRootKey(const std::string& key) const {
    const uint64_t head = Head(key);
    if (root_keys_.size() > kRootTableMaxKeys) {
      for (const RootKey& k : root_keys_)
        if (SameKey(k, head, key)) return &k;
      return nullptr;
    }
    for (size_t h = Slot(head, key.size()); root_table_[h] != 0; h = (h + 1) & (kRootTableSize - 1)) {
      const RootKey& k = root_keys_[root_table_[h] - 1];
      if (SameKey(k, head, key)) return &k;
    }
    return nullptr;
  }

  // The first 8 bytes of a key, zero-padded: one comparison rejects almost
  // every other key of the same length.
  static uint64_t Head(std::string_view key) {
    uint64_t h = 0;
    if (key.size() >= 8) {
      std::memcpy(&h, key.data(), 8);
    } else {
      for (size_t i = 0; i < key.size(); ++i) h |= uint64_t{static_cast<unsigned char>(key[i])} << (8 * i);
    }
    return h;
  }

  // True when a root key is `first` followed by a dot (as in a root key
  // `a.b` for the path a.b.c): only then can a path whose first part is not
  // a root key still resolve.
  bool HasDottedRootKey(const std::string& first) const {
    for (const RootKey& k : root_keys_)
      if (k.length > first.size() && k.data[first.size()] == '.' && std::memcmp(k.data, first.data(), first.size()) == 0)
        return true;
    return false;
  }

  // `sink(value, text_is_stable)` returns false to stop. A template rather
  // than a FieldVisitor so that Collect runs without an indirect call per value.
  template <typename Sink>
  bool Lookup(const FieldPath& path, const Sink& sink) const {
    bool stop = false;
    const auto& parts = path.parts();
    if (!parts.empty() && !root_keys_.empty()) {
      // Every lookup starts at the root: take its first step from a hash
      // table of the root's keys instead of walking the tape.
      if (const RootKey* k = FindRootKey(parts[0])) return Walk(k->value, parts, 1, sink, stop);
      // Not there; only a root key with a dot in it (`a.b` for path a.b.c)
      // could still match, which the walk from the root tries.
      if (parts.size() == 1 || !HasDottedRootKey(parts[0])) return false;
    }
    return Walk(root, parts, 0, sink, stop);
  }

  template <typename Sink>
  static bool Emit(element e, const Sink& sink, bool& stop) {
    FieldValue v;
    char buf[40];
    bool stable = true;
    switch (e.type()) {
      case element_type::NULL_VALUE:
        v.kind = ValueKind::kNull;
        break;
      case element_type::BOOL: {
        bool b = false;
        if (e.get(b) != simdjson::SUCCESS) return false;
        v.kind = ValueKind::kBool;
        v.boolean = b;
        v.text = b ? "true" : "false";
        break;
      }
      case element_type::INT64: {
        int64_t i = 0;
        if (e.get(i) != simdjson::SUCCESS) return false;
        v.kind = ValueKind::kNumber;
        v.number = static_cast<double>(i);
        v.is_integer = true;
        auto r = std::to_chars(buf, buf + sizeof buf, i);
        v.text = std::string_view(buf, r.ptr - buf);
        stable = false;
        break;
      }
      case element_type::UINT64: {
        uint64_t u = 0;
        if (e.get(u) != simdjson::SUCCESS) return false;
        v.kind = ValueKind::kNumber;
        v.number = static_cast<double>(u);
        v.is_integer = true;
        auto r = std::to_chars(buf, buf + sizeof buf, u);
        v.text = std::string_view(buf, r.ptr - buf);
        stable = false;
        break;
      }
      case element_type::DOUBLE: {
        double d = 0;
        if (e.get(d) != simdjson::SUCCESS) return false;
        v.kind = ValueKind::kNumber;
        v.number = d;
        auto r = std::to_chars(buf, buf + sizeof buf, d);
        v.text = std::string_view(buf, r.ptr - buf);
        stable = false;
        break;
      }
      case element_type::STRING:
        v.kind = ValueKind::kString;
        if (e.get(v.text) != simdjson::SUCCESS) return false;
        break;
      case element_type::OBJECT:
        v.kind = ValueKind::kObject;
        break;
      case element_type::ARRAY:
        v.kind = ValueKind::kArray;
        break;
    }
    if (!sink(v, stable)) stop = true;
    return true;
  }

  // `[N]` with 1 to 10 digits: the index, else -1.
  static int64_t IndexStep(const std::string& part) {
    if (part.size() < 3 || part.size() > 12 || part.front() != '[' || part.back() != ']') return -1;
    int64_t n = 0;
    for (size_t k = 1; k + 1 < part.size(); ++k) {
      if (part[k] < '0' || part[k] > '9') return -1;
      n = n * 10 + (part[k] - '0');
    }
    return n;
  }

  template <typename Sink>
  static bool Walk(element e, const std::vector<std::string>& parts, size_t i, const Sink& sink, bool& stop) {
    if (stop) return true;
    if (i == parts.size()) {
      if (e.type() == element_type::ARRAY) {
        // A leaf array: visit its elements (a path matches if any element does).
        bool any = false;
        simdjson::dom::array arr;
        if (e.get(arr) != simdjson::SUCCESS) return false;
        for (element child : arr) {
          any = true;
          Emit(child, sink, stop);
          if (stop) break;
        }
        if (!any) Emit(e, sink, stop);  // empty array: report presence once
        return true;
      }
      return Emit(e, sink, stop);
    }
    if (int64_t index = IndexStep(parts[i]); index >= 0) {
      // `[N]` picks one element of an array (no fan-out); anything else is absent.
      simdjson::dom::array arr;
      if (e.get(arr) != simdjson::SUCCESS) return false;
      element child;
      if (arr.at(static_cast<size_t>(index)).get(child) != simdjson::SUCCESS) return false;
      return Walk(child, parts, i + 1, sink, stop);
    }
    if (e.type() == element_type::ARRAY) {
      bool found = false;
      simdjson::dom::array arr;
      if (e.get(arr) != simdjson::SUCCESS) return false;
      for (element child : arr) {
        found |= Walk(child, parts, i, sink, stop);
        if (stop) break;
      }
      return found;
    }
    if (e.type() != element_type::OBJECT) return false;
    simdjson::dom::object obj;
    if (e.get(obj) != simdjson::SUCCESS) return false;
    element child;
    if (obj.at_key(parts[i]).get(child) == simdjson::SUCCESS) {
      return Walk(child, parts, i + 1, sink, stop);
    }
    if (i + 1 == parts.size()) return false;
    // Keys may themselves contain dots (e.g. "x-amz-server-side-encryption.kms"):
    // try joining the remaining parts greedily. The buffer is per thread so
    // that a missing nested path costs no allocation.
    thread_local std::string joined;
    joined = parts[i];
    for (size_t j = i + 1; j < parts.size(); ++j) {
      joined += '.';
      joined += parts[j];
      if (obj.at_key(joined).get(child) == simdjson::SUCCESS) return Walk(child, parts, j + 1, sink, stop);
    }
    return false;
  }

  static void AllScalars(element e, const FieldVisitor& visitor, bool& stop) {
    if (stop) return;
    switch (e.type()) {
      case element_type::OBJECT: {
        simdjson::dom::object obj;
        if (e.get(obj) != simdjson::SUCCESS) return;
        for (auto field : obj) {
          AllScalars(field.value, visitor, stop);
          if (stop) return;
        }
        break;
      }
      case element_type::ARRAY: {
        simdjson::dom::array arr;
        if (e.get(arr) != simdjson::SUCCESS) return;
        for (element child : arr) {
          AllScalars(child, visitor, stop);
          if (stop) return;
        }
        break;
      }
      default:
        Emit(e, [&visitor](const FieldValue& v, bool) { return visitor(v); }, stop);
    }
  }
};

// Recycles JsonFields (and the simdjson document buffers inside them, which
// are sized to the largest record seen) instead of allocating a fresh tape per
// record. Events may be built on one thread and destroyed on another, so each
// thread keeps a small bin on either side and trades whole bins with a shared
// stack under a mutex: one lock per kBin records, not per record.
class FieldsPool {
 public:
  static constexpr size_t kBin = 256;
  static constexpr size_t kMaxPooled = 64 * kBin;
  // Documents that grew past this are freed rather than pooled.
  static constexpr size_t kMaxPooledCapacity = 1 << 20;

  static FieldsPool& Get() {
    static FieldsPool* pool = new FieldsPool();  // never destroyed: bins may outlive main
    return *pool;
  }

  JsonFields* Take() {
    Bins& b = ThreadBins();
    if (b.supply.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!full_bins_.empty()) {
        b.supply = std::move(full_bins_.back());
        full_bins_.pop_back();
      }
    }
    if (b.supply.empty()) {
      // Same-thread reuse (single-threaded ingest, tests) needs no lock.
      if (!b.returns.empty()) b.supply.swap(b.returns);
      else return new JsonFields();
    }
    JsonFields* f = b.supply.back();
    b.supply.pop_back();
    return f;
  }

  void Give(JsonFields* f) {
    if (f->doc.capacity() > kMaxPooledCapacity) {
      delete f;
      return;
    }
    Bins& b = ThreadBins();
    b.returns.push_back(f);
    if (b.returns.size() < kBin) return;
    std::vector<JsonFields*> full;
    full.swap(b.returns);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (full_bins_.size() * kBin < kMaxPooled) {
        full_bins_.push_back(std::move(full));
        return;
      }
    }
    for (JsonFields* x : full) delete x;
  }

 private:
  struct Bins {
    std::vector<JsonFields*> supply;
    std::vector<JsonFields*> returns;
    ~Bins() {
      for (JsonFields* f : supply) delete f;
      for (JsonFields* f : returns) delete f;
    }
  };
  static Bins& ThreadBins() {
    thread_local Bins bins;
    return bins;
  }
  std::mutex mu_;
  std::vector<std::vector<JsonFields*>> full_bins_;
};

simdjson::dom::parser& ThreadParser(size_t max_depth) {
  thread_local simdjson::dom::parser parser;
  thread_local size_t depth = 0;
  if (depth != max_depth) {
    if (parser.allocate(64 * 1024, max_depth) != simdjson::SUCCESS) std::abort();
    depth = max_depth;
  }
  return parser;
}

}  // namespace

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING, "kJsonPadding must cover simdjson's padding");

Result<std::shared_ptr<const FieldResolver>> ParseJsonFields(std::string_view json, const JsonLimits& limits,
                                                            size_t readable_padding) {
  if (json.size() > limits.max_record_bytes) {
    return Status::LimitExceeded("record of " + std::to_string(json.size()) + " bytes exceeds the limit of " +
                                 std::to_string(limits.max_record_bytes) + " bytes");
  }
  std::shared_ptr<JsonFields> fields(FieldsPool::Get().Take(), [](JsonFields* f) { FieldsPool::Get().Give(f); });
  auto& parser = ThreadParser(limits.max_depth);
  simdjson::error_code err;
  if (readable_padding >= kJsonPadding) {
    err = parser.parse_into_document(fields->doc, json.data(), json.size(), false).get(fields->root);
    fields->parsed_in_place_ = json;
  } else {
    fields->parsed_in_place_ = {};
    simdjson::padded_string padded(json);
    err = parser.parse_into_document(fields->doc, padded.data(), padded.size(), false).get(fields->root);
  }
  if (err) {
    if (err == simdjson::DEPTH_ERROR)
      return Status::LimitExceeded("record nests deeper than " + std::to_string(limits.max_depth) + " levels");
    return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  if (fields->root.type() != element_type::OBJECT) return Status::InvalidArgument("record is not a JSON object");
  fields->IndexRoot();
  return std::shared_ptr<const FieldResolver>(std::move(fields));
}

}  // namespace vigil
