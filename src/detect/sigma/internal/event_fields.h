// Internal: one event's field values as Sigma evaluation reads them, each
// path resolved at most once per event.
//
// Rules share fields (eventName, eventSource, userIdentity.type...). Every
// path a compiled rule or filter reads gets a process-wide slot number at
// compile time (FieldSlot); EventFields keeps, per slot, the values the
// resolver returned the first time the path was asked for, so that the next
// selection, rule or filter reading the same path costs an array lookup.
//
// Lifetime: an EventFields borrows the resolver and must not outlive it. A
// Values stays usable while the EventFields lives; a FieldValue read from it
// is valid until the next Get() (which may grow the storage its text is in). Thread safety: an EventFields belongs to one thread; its
// storage comes from a per-thread pool (nested instances on one thread, as a
// re-entrant sink makes, each get their own).
#pragma once

#include <cstdint>
#include <string_view>

#include "event/event.h"

namespace vigil::sigma_internal {

inline constexpr uint32_t kNoSlot = UINT32_MAX;

// The slot of a dotted path; equal paths get equal slots. Thread-safe.
uint32_t FieldSlot(std::string_view dotted);

class EventFields {
 public:
  explicit EventFields(const FieldResolver& fields);
  ~EventFields();
  EventFields(const EventFields&) = delete;
  EventFields& operator=(const EventFields&) = delete;

  // The values at one path: values(i) for i < count; `present` as
  // FieldResolver::Visit returns it.
  struct Values {
    const FieldValueList* list = nullptr;
    uint32_t begin = 0;
    uint32_t count = 0;
    bool present = false;
    FieldValue operator[](uint32_t i) const { return list->at(begin + i); }
  };

  // `slot` is FieldSlot(path.str()), or kNoSlot to resolve without caching.
  Values Get(const FieldPath& path, uint32_t slot);

  const FieldResolver& resolver() const { return fields_; }

  struct Storage;  // defined in event_fields.cc

 private:
  const FieldResolver& fields_;
  Storage* storage_;
};

}  // namespace vigil::sigma_internal
