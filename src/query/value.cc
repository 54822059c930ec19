#include "query/value.h"

#include <charconv>
#include <cmath>

#include "common/json_writer.h"
#include "common/time.h"
#include "query/internal/bound.h"

namespace vigil {

Value Value::Bool(bool b) {
  Value v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}
Value Value::Number(double d) {
  Value v;
  if (!std::isfinite(d)) return v;  // 1/0 and friends are null, never inf or nan in output
  v.kind = Kind::kNumber;
  v.number = d;
  return v;
}
Value Value::String(std::string s) {
  Value v;
  v.kind = Kind::kString;
  v.str = std::move(s);
  return v;
}
Value Value::Time(int64_t ns) {
  Value v;
  v.kind = Kind::kTime;
  v.time_ns = ns;
  return v;
}
Value Value::List(std::vector<Value> items) {
  Value v;
  v.kind = Kind::kList;
  v.list = std::move(items);
  return v;
}

Value Value::FromField(const FieldValue& f) {
  switch (f.kind) {
    case ValueKind::kBool:
      return Bool(f.boolean);
    case ValueKind::kNumber:
      return Number(f.number);
    case ValueKind::kString:
      return String(std::string(f.text));
    default:
      return Null();
  }
}

namespace {

std::string NumberText(double d) {
  if (d == std::floor(d) && std::fabs(d) < 1e15) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d));
    return std::string(buf, r.ptr);
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

}  // namespace

std::string Value::Text() const {
  switch (kind) {
    case Kind::kNull:
      return "";
    case Kind::kBool:
      return boolean ? "true" : "false";
    case Kind::kNumber:
      return NumberText(number);
    case Kind::kString:
      return str;
    case Kind::kTime:
      return FormatRfc3339(time_ns);
    case Kind::kList: {
      std::string out;
      for (const Value& v : list) {
        if (!out.empty()) out += ", ";
        out += v.Text();
      }
      return out;
    }
  }
  return "";
}

bool Value::Truthy() const {
  switch (kind) {
    case Kind::kNull:
      return false;
    case Kind::kBool:
      return boolean;
    case Kind::kNumber:
      return number != 0;
    case Kind::kString:
      return !str.empty();
    case Kind::kTime:
      return true;
    case Kind::kList:
      return !list.empty();
  }
  return false;
}

std::optional<double> Value::AsNumber() const {
  switch (kind) {
    case Kind::kNumber:
      return number;
    case Kind::kString:
      return query_internal::ParseNumber(str);
    case Kind::kTime:
      return static_cast<double>(time_ns) / 1e9;
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> Value::AsTime() const {
  if (kind == Kind::kTime) return time_ns;
  if (kind == Kind::kString) return query_internal::ParseTimeInRange(str);
  return std::nullopt;
}

void Value::AppendJson(std::string* out) const {
  switch (kind) {
    case Kind::kNull:
      out->append("null");
      return;
    case Kind::kBool:
      out->append(boolean ? "true" : "false");
      return;
    case Kind::kNumber:
      out->append(NumberText(number));
      return;
    case Kind::kString:
      AppendJsonString(out, str);
      return;
    case Kind::kTime:
      AppendJsonString(out, FormatRfc3339(time_ns));
      return;
    case Kind::kList:
      out->push_back('[');
      for (size_t i = 0; i < list.size(); ++i) {
        if (i) out->push_back(',');
        list[i].AppendJson(out);
      }
      out->push_back(']');
      return;
  }
}

size_t Value::Footprint() const {
  size_t n = sizeof(Value) + str.capacity();
  for (const Value& v : list) n += v.Footprint();
  return n;
}

namespace {

// Rank of a value's ordering class in CompareValues.
int Rank(const Value& v, std::optional<double>* num, std::optional<int64_t>* time) {
  if (v.kind == Value::Kind::kNull) return 0;
  if (v.kind == Value::Kind::kNumber) {
    *num = v.number;
    return 1;
  }
  if (v.kind == Value::Kind::kTime) {
    *time = v.time_ns;
    return 2;
  }
  if (v.kind == Value::Kind::kString) {
    if ((*num = query_internal::ParseNumber(v.str))) return 1;
    if ((*time = query_internal::ParseTimeInRange(v.str))) return 2;
  }
  return 3;
}

}  // namespace

int CompareValues(const Value& a, const Value& b) {
  std::optional<double> na, nb;
  std::optional<int64_t> ta, tb;
  const int ra = Rank(a, &na, &ta), rb = Rank(b, &nb, &tb);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return *na < *nb ? -1 : *na > *nb ? 1 : 0;
    case 2:
      return *ta < *tb ? -1 : *ta > *tb ? 1 : 0;
    default: {
      const std::string sa = a.Text(), sb = b.Text();
      return sa.compare(sb) < 0 ? -1 : sa == sb ? 0 : 1;
    }
  }
}

bool ValuesEqual(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return false;
  if (a.kind == Value::Kind::kList || b.kind == Value::Kind::kList) {
    // A multi-valued field equals a value when any of its values does.
    const Value& list = a.kind == Value::Kind::kList ? a : b;
    const Value& other = a.kind == Value::Kind::kList ? b : a;
    for (const Value& v : list.list)
      if (ValuesEqual(v, other)) return true;
    return false;
  }
  if (a.kind == Value::Kind::kNumber || b.kind == Value::Kind::kNumber) {
    auto x = a.AsNumber(), y = b.AsNumber();
    if (x && y) return *x == *y;
  }
  if (a.kind == Value::Kind::kTime || b.kind == Value::Kind::kTime) {
    auto x = a.AsTime(), y = b.AsTime();
    return x && y && *x == *y;
  }
  return a.Text() == b.Text();
}

}  // namespace vigil
