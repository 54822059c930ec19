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

bool FieldResolver::FirstScalar(const FieldPath& path, std::string_view* text, std::string* scratch) const {
  bool found = false;
  Visit(path, [&](const FieldValue& v) {
    if (v.kind == ValueKind::kObject || v.kind == ValueKind::kArray || v.kind == ValueKind::kNull) return true;
    scratch->assign(v.text);
    found = true;
    return false;
  });
  if (found) *text = *scratch;
  return found;
}

std::string Event::FirstString(const FieldPath& path) const {
  std::string out;
  std::string_view text;
  if (fields && fields->FirstScalar(path, &text, &out) && text.data() != out.data()) out.assign(text);
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
