// FieldResolver over a record's own resolver plus a few names a parser derives
// from the record where the log packs a value differently from how rules and
// hunts want it (route53resolver's `query_domain`: `query_name` without the
// trailing dot the log writes). A derived name is answered as a string; every
// other path goes to the record's resolver unchanged, and full-text visits
// see the record's scalars, then the derived values.
//
// Ownership and lifetime: shares the record's resolver and owns the derived
// texts; every text it hands out lives as long as the resolver.
// Thread safety: immutable after construction; const use from several threads
// is safe.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "event/event.h"

namespace vigil {

class DerivedFields final : public FieldResolver {
 public:
  // `derived`: (name, value) pairs; names the record does not use itself.
  DerivedFields(std::shared_ptr<const FieldResolver> record, std::vector<std::pair<std::string, std::string>> derived);

  bool Visit(const FieldPath& path, const FieldVisitor& visitor) const override;
  void VisitAllScalars(const FieldVisitor& visitor) const override;
  bool Collect(const FieldPath& path, FieldValueList* out) const override;

 private:
  const FieldValue* Derived(const FieldPath& path) const;

  std::shared_ptr<const FieldResolver> record_;
  std::vector<std::string> names_;
  std::vector<std::string> texts_;
  std::vector<FieldValue> values_;  // texts point into texts_
};

}  // namespace vigil
