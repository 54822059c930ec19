#include "query/row.h"

#include <algorithm>

namespace vigil {

const Value* Row::Find(std::string_view name) const {
  for (const auto& [k, v] : columns)
    if (k == name) return &v;
  return nullptr;
}

void Row::Set(std::string_view name, Value v) {
  for (auto& [k, old] : columns) {
    if (k == name) {
      old = std::move(v);
      return;
    }
  }
  columns.emplace_back(std::string(name), std::move(v));
}

void Row::Remove(std::string_view name) {
  columns.erase(std::remove_if(columns.begin(), columns.end(), [&](const auto& c) { return c.first == name; }),
                columns.end());
  if (event && !projected && !IsRemoved(name)) removed.emplace_back(name);
}

bool Row::IsRemoved(std::string_view name) const {
  return std::find(removed.begin(), removed.end(), name) != removed.end();
}

size_t Row::Footprint() const {
  size_t n = sizeof(Row);
  for (const auto& [k, v] : columns) n += k.capacity() + v.Footprint();
  for (const std::string& r : removed) n += r.capacity() + sizeof(std::string);
  // The event is shared, but a buffered row keeps it alive: count its record
  // and a parsed form of about twice its size.
  if (event) n += sizeof(RowEvent) + 3 * event->raw.size();
  return n;
}

Value GetField(const Row& row, std::string_view name, const FieldPath& path) {
  if (const Value* v = row.Find(name)) return *v;
  if (!row.event || row.projected || row.IsRemoved(name)) return Value::Null();
  const RowEvent& e = *row.event;
  if (path.parts().size() == 1) {
    auto text = [](const std::string& s) { return s.empty() ? std::optional<Value>() : Value::String(s); };
    std::optional<Value> meta;
    if (name == "source") meta = text(e.source);
    else if (name == "id") meta = text(e.id);
    else if (name == "principal") meta = text(e.principal);
    else if (name == "account") meta = text(e.account);
    else if (name == "time") meta = Value::Time(e.time_ns);
    if (meta) return *meta;
  }
  if (!e.fields) return Value::Null();
  std::vector<Value> found;
  e.fields->Visit(path, [&](const FieldValue& f) {
    if (f.kind != ValueKind::kObject && f.kind != ValueKind::kArray) found.push_back(Value::FromField(f));
    return found.size() < 10000;  // a pathological array is cut, not a memory blow-up
  });
  if (found.empty()) return Value::Null();
  if (found.size() == 1) return std::move(found.front());
  return Value::List(std::move(found));
}

Value GetField(const Row& row, std::string_view name) { return GetField(row, name, FieldPath(name)); }

}  // namespace vigil
