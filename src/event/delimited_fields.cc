#include "event/delimited_fields.h"

#include <bit>
#include <charconv>

namespace vigil {
namespace {

uint64_t HashName(std::string_view s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

FieldTable::FieldTable(std::vector<std::string> names) : names_(std::move(names)) {
  slots_.assign(std::bit_ceil(names_.size() * 2 + 1), 0);
  const size_t mask = slots_.size() - 1;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (Find(names_[i]) != npos) continue;
    size_t s = HashName(names_[i]) & mask;
    while (slots_[s] != 0) s = (s + 1) & mask;
    slots_[s] = static_cast<uint32_t>(i + 1);
  }
}

size_t FieldTable::Find(std::string_view name) const {
  const size_t mask = slots_.size() - 1;
  for (size_t s = HashName(name) & mask; slots_[s] != 0; s = (s + 1) & mask)
    if (names_[slots_[s] - 1] == name) return slots_[s] - 1;
  return npos;
}

ValueKind ClassifyDelimitedValue(std::string_view text, double* number, bool* is_integer) {
  if (text == "-") return ValueKind::kNull;
  size_t digits_at = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() <= digits_at || text[digits_at] < '0' || text[digits_at] > '9') return ValueKind::kString;
  // A leading zero followed by a digit (an account id, "0022") stays text, as JSON would have it.
  if (text[digits_at] == '0' && text.size() > digits_at + 1 && text[digits_at + 1] >= '0' && text[digits_at + 1] <= '9')
    return ValueKind::kString;
  const char* end = text.data() + text.size();
  int64_t i = 0;
  auto ir = std::from_chars(text.data(), end, i);
  if (ir.ec == std::errc() && ir.ptr == end) {
    *number = static_cast<double>(i);
    *is_integer = true;
    return ValueKind::kNumber;
  }
  double d = 0;
  auto dr = std::from_chars(text.data(), end, d, std::chars_format::fixed);
  if (dr.ec == std::errc() && dr.ptr == end) {
    *number = d;
    *is_integer = false;
    return ValueKind::kNumber;
  }
  return ValueKind::kString;
}

DelimitedFields::DelimitedFields(std::shared_ptr<const FieldTable> table, std::span<const std::string_view> values)
    : table_(std::move(table)) {
  const size_t n = std::min(values.size(), table_->size());
  size_t bytes = 0;
  for (size_t i = 0; i < n; ++i) bytes += values[i].size();
  text_.reserve(bytes);
  values_.resize(table_->size());
  for (size_t i = 0; i < n; ++i) {
    FieldValue& v = values_[i];
    v.kind = ClassifyDelimitedValue(values[i], &v.number, &v.is_integer);
    if (v.kind == ValueKind::kNull) continue;
    v.text = std::string_view(text_.data() + text_.size(), values[i].size());  // no reallocation: reserved
    text_.append(values[i]);
  }
}

const FieldValue* DelimitedFields::value(size_t i) const {
  return i < values_.size() && values_[i].kind != ValueKind::kNull ? &values_[i] : nullptr;
}

std::string_view DelimitedFields::Text(std::string_view name) const {
  const FieldValue* v = value(table_->Find(name));
  return v ? v->text : std::string_view();
}

bool DelimitedFields::Visit(const FieldPath& path, const FieldVisitor& visitor) const {
  const FieldValue* v = value(table_->Find(path.str()));
  if (!v) return false;
  visitor(*v);
  return true;
}

void DelimitedFields::VisitAllScalars(const FieldVisitor& visitor) const {
  for (const FieldValue& v : values_)
    if (v.kind != ValueKind::kNull && !visitor(v)) return;
}

bool DelimitedFields::Collect(const FieldPath& path, FieldValueList* out) const {
  const FieldValue* v = value(table_->Find(path.str()));
  if (!v) return false;
  out->Add(*v, /*text_is_stable=*/true);
  return true;
}

}  // namespace vigil
