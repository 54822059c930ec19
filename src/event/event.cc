#include "event/event.h"

#include "common/hash.h"

namespace vigil {

FieldPath::FieldPath(std::string_view dotted) : dotted_(dotted) {
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string_view::npos) dot = dotted.size();
    if (dot > start) parts_.emplace_back(dotted.substr(start, dot - start));
    start = dot + 1;
  }
}

std::string Event::FirstString(const FieldPath& path) const {
  std::string out;
  if (!fields) return out;
  fields->Visit(path, [&](const FieldValue& v) {
    if (v.kind == ValueKind::kObject || v.kind == ValueKind::kArray || v.kind == ValueKind::kNull) return true;
    out.assign(v.text);
    return false;
  });
  return out;
}

std::string ContentId(std::string_view source_type, std::string_view raw) {
  std::string buf;
  buf.reserve(source_type.size() + 1 + raw.size());
  buf.append(source_type);
  buf.push_back('\0');
  buf.append(raw);
  return HexHash128(buf);
}

}  // namespace vigil
