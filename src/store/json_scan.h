// One linear pass over a JSON record's bytes that yields what a v2 block
// needs from it (the text of every scalar for the trigram bloom, and the
// values at the log type's hot field paths), instead of a walk of the parsed
// document with a callback per scalar and one path lookup per hot column.
//
// The pass answers exactly as the record's JsonFields would (event/json_fields.h:
// VisitAllScalars and Visit), or says it cannot: it reports the scalars only
// for a text it tokenized completely, and the hot values only when no path
// met anything whose resolution it does not reproduce (an array along a hot
// path, a repeated key, a key with a dot or an escape in an object on a hot
// path, a hot value that is an escaped string or a number other than a
// plain integer of at most 18 digits). The caller then falls back to the
// resolver for that part.
//
// Thread safety: one thread at a time per object (it owns scratch buffers).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"

namespace vigil::segment {

class JsonRecordScanner {
 public:
  // `paths[i]` is hot column i's field path; null or a path the pass does
  // not follow (an empty part, an `[N]` step) leaves column i without values
  // from the pass (Scan then never reports hot values).
  explicit JsonRecordScanner(const std::vector<const FieldPath*>& paths);

  struct HotValue {
    uint32_t column;
    ValueKind kind;          // kString, kNumber (integers only), kBool or kNull
    std::string_view text;   // into the scanned text ("null" for kNull)
    int64_t number;          // kNumber
    uint32_t string = UINT32_MAX;  // kString: its index in strings()
    uint32_t scalar = UINT32_MAX;  // kString: its index in scalars()
  };

  enum class Outcome {
    kFailed,       // nothing usable: the text did not tokenize as one JSON object
    kScalarsOnly,  // scalars() is exact; the hot values must come from the resolver
    kAll,          // scalars() and hot() are exact
  };

  // Scans `json`, a text simdjson accepted as one object (JsonFields' source).
  Outcome Scan(std::string_view json);
  // The text of every scalar but null, as VisitAllScalars gives it (strings
  // unescaped, numbers in canonical form; a number may also appear as it is
  // written), in no particular order. Valid until the next Scan.
  const std::vector<std::string_view>& scalars() const { return scalars_; }
  // The values at the hot paths, in column order (at most one per column:
  // the pass gives up on anything that fans out).
  std::span<const HotValue> hot() const { return {hot_.data(), hot_count_}; }
  // Every string of the text (keys and values) as written between its
  // quotes, in text order; `escaped` when it holds a backslash. Valid after
  // any Scan but kFailed, until the next.
  struct Span {
    uint32_t begin, end;
    bool escaped;
  };
  const std::vector<Span>& strings() const { return strings_; }
  // The indexes in strings() of the strings of kLongString bytes or more
  // (those that can hold a UUID), in text order.
  static constexpr size_t kLongString = 36;
  const std::vector<uint32_t>& long_strings() const { return long_strings_; }

 private:
  struct Key {
    std::string name;
    uint64_t head;  // KeyHead of name
    uint64_t tail;  // its last 8 bytes, when it has 8
    int32_t node;
  };
  static constexpr size_t kSlots = 32;  // per node: open addressing over children (-1 empty)
  static size_t Slot(uint64_t head) { return static_cast<size_t>((head * 0x9E3779B97F4A7C15ull) >> 59); }
  struct Node {
    int32_t column = -1;  // the hot column whose path ends here
    std::vector<Key> children;
    std::array<int8_t, kSlots> slots;
  };
  void SkipSpace() {
    while (i_ < n_ && static_cast<unsigned char>(p_[i_]) <= ' ' &&
           (p_[i_] == ' ' || p_[i_] == '\n' || p_[i_] == '\r' || p_[i_] == '\t'))
      ++i_;
  }
  bool StringValue(int32_t column);  // a string value at i_ of hot column `column` (-1: none)
  int32_t Child(int32_t node, size_t begin, size_t end) const;
  // Parses the value at i_; `node` is its position on the hot paths (-1: none).
  bool Value(int32_t node, uint32_t depth);
  bool String(size_t* begin, size_t* end, bool* escaped);
  bool Unescape(size_t begin, size_t end, std::string* out) const;

  std::vector<Node> nodes_;  // nodes_[0] is the root object
  bool usable_ = true;      // every path is one the pass can follow
  std::vector<uint8_t> seen_;  // per node, this scan: met once already
  const char* p_ = nullptr;
  size_t n_ = 0, i_ = 0;
  bool hot_ok_ = true;
  std::vector<std::string_view> scalars_;
  // hot_[0, hot_count_): grown only, written in place (a push_back here
  // was a call per value).
  std::vector<HotValue> hot_;
  size_t hot_count_ = 0;
  void AddHot(const HotValue& v) {
    if (hot_count_ == hot_.size()) hot_.resize(2 * hot_.size() + 16);
    hot_[hot_count_++] = v;
  }
  std::vector<Span> strings_;
  std::vector<uint32_t> long_strings_;
  // Owners of unescaped strings and reformatted numbers, reused (a deque:
  // views of its elements stay valid as it grows).
  std::deque<std::string> kept_;
  size_t kept_used_ = 0;
  std::string* NextKept();
};

}  // namespace vigil::segment
