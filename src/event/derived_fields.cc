#include "event/derived_fields.h"

namespace vigil {

DerivedFields::DerivedFields(std::shared_ptr<const FieldResolver> record,
                             std::vector<std::pair<std::string, std::string>> derived)
    : record_(std::move(record)) {
  for (auto& [name, text] : derived) {
    names_.push_back(std::move(name));
    texts_.push_back(std::move(text));
  }
  for (const std::string& t : texts_) {  // after texts_ stops growing: the views stay valid
    FieldValue v;
    v.kind = ValueKind::kString;
    v.text = t;
    values_.push_back(v);
  }
}

const FieldValue* DerivedFields::Derived(const FieldPath& path) const {
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == path.str()) return &values_[i];
  return nullptr;
}

bool DerivedFields::Visit(const FieldPath& path, const FieldVisitor& visitor) const {
  if (const FieldValue* v = Derived(path)) {
    visitor(*v);
    return true;
  }
  return record_->Visit(path, visitor);
}

void DerivedFields::VisitAllScalars(const FieldVisitor& visitor) const {
  bool stopped = false;
  record_->VisitAllScalars([&](const FieldValue& v) {
    if (!visitor(v)) stopped = true;
    return !stopped;
  });
  for (size_t i = 0; i < values_.size() && !stopped; ++i) stopped = !visitor(values_[i]);
}

bool DerivedFields::Collect(const FieldPath& path, FieldValueList* out) const {
  if (const FieldValue* v = Derived(path)) {
    out->Add(*v, /*text_is_stable=*/true);
    return true;
  }
  return record_->Collect(path, out);
}

}  // namespace vigil
