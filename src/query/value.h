// Value: one field value inside a hunt pipeline (the rows that pipe stages
// read and write). Values are typed so that `where bytes > 1e6` compares
// numbers, `sort -count` orders numerically, `earliest(time)` prints a time,
// and `values(f)` is a list.
//
// Plain data: a Value owns its strings and copies freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"

namespace vigil {

struct Value {
  enum class Kind { kNull, kBool, kNumber, kString, kTime, kList };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  int64_t time_ns = 0;
  std::string str;
  std::vector<Value> list;

  static Value Null() { return {}; }
  static Value Bool(bool b);
  static Value Number(double d);
  static Value String(std::string s);
  static Value Time(int64_t ns);
  static Value List(std::vector<Value> items);
  // A scalar found in a record: numbers and booleans keep their type, strings
  // stay strings (a string that holds a number still compares as one).
  static Value FromField(const FieldValue& v);

  bool is_null() const { return kind == Kind::kNull; }
  // The value as text: numbers in their shortest exact form (3, 0.25, 1e+21),
  // times in RFC 3339, lists joined by ", ", null as "".
  std::string Text() const;
  // Truthiness for `where`: booleans as they are, null false, numbers non-zero,
  // strings and lists non-empty.
  bool Truthy() const;
  // The value as a number when it is one or is a string that holds one;
  // times count as seconds since the epoch.
  std::optional<double> AsNumber() const;
  // The value as a time: times, and strings that hold an RFC 3339 time.
  std::optional<int64_t> AsTime() const;
  // Appends the value as JSON (times as RFC 3339 strings).
  void AppendJson(std::string* out) const;
  // Rough bytes held, for the pipeline's memory budget.
  size_t Footprint() const;
};

// Orders values for sort, stats groups and min/max: null first, then numbers
// (and strings that hold numbers) numerically, then times, then other text
// (byte order), booleans as text. Returns <0, 0 or >0.
int CompareValues(const Value& a, const Value& b);

// Equality used by `=` in expressions: numbers numerically (a string holding a
// number equals that number), times as instants, text exactly (case matters).
bool ValuesEqual(const Value& a, const Value& b);

}  // namespace vigil
