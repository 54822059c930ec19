// Internal: one event's field values as Sigma evaluation reads them, each
// path resolved at most once per event.
//
// Rules share fields (eventName, eventSource, userIdentity.type...). Every
// path a compiled rule or filter reads gets a process-wide slot number at
// compile time (FieldSlot); EventFields keeps, per slot, the values the
// resolver returned the first time the path was asked for, so that the next
// selection, rule or filter reading the same path costs an array lookup.
//
// Detectors share fields too (the principal, eventName, the source address):
// while a SharedEventFields is open on a thread for a resolver, every
// EventFields over that resolver on the thread uses its storage, so that a
// path one detector resolved costs the next one an array lookup.
// DetectorList opens one around its members.
//
// Lifetime: an EventFields borrows the resolver and must not outlive it. A
// Values stays usable while the EventFields lives; a FieldValue read from it
// is valid until the next Get() (which may grow the storage its text is in). Thread safety: an EventFields belongs to one thread; its
// storage comes from a per-thread pool (nested instances on one thread, as a
// re-entrant sink makes, each get their own, unless they read the resolver a
// SharedEventFields is open for).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

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
  // A path already resolved for the event costs an inlined array lookup.
  Values Get(const FieldPath& path, uint32_t slot);
  // The text of the first value at `path` that is not an object, an array
  // or null, as Event::FirstString reads it; false when there is none. Valid
  // until the next Get.
  bool FirstScalar(const FieldPath& path, uint32_t slot, std::string_view* text);

  const FieldResolver& resolver() const { return fields_; }

  // The values of every path resolved for one event (kept per thread and
  // reused, see event_fields.cc).
  struct Storage {
    struct Slot {
      uint32_t epoch = 0;  // the slot is filled when equal to Storage::epoch
      uint32_t begin = 0;
      uint32_t count = 0;
      bool present = false;
    };
    std::vector<Slot> slots;
    uint32_t epoch = 0;
    FieldValueList values;
  };

 private:
  // Get for a path not resolved yet for the event.
  Values Resolve(const FieldPath& path, uint32_t slot);

  const FieldResolver& fields_;
  Storage* storage_;
  bool shared_ = false;  // storage_ is an open SharedEventFields'
};

// Opens one storage for every EventFields over `resolver` on this thread
// while it lives (see above); a no-op for a null resolver or one a scope is
// already open for. Scopes nest (a re-entrant sink may open one for another
// event).
class SharedEventFields {
 public:
  explicit SharedEventFields(const FieldResolver* resolver);
  ~SharedEventFields();
  SharedEventFields(const SharedEventFields&) = delete;
  SharedEventFields& operator=(const SharedEventFields&) = delete;

 private:
  friend class EventFields;
  const FieldResolver* resolver_ = nullptr;  // null: not open
  EventFields::Storage* storage_ = nullptr;
  SharedEventFields* outer_ = nullptr;
};

inline EventFields::Values EventFields::Get(const FieldPath& path, uint32_t slot) {
  const Storage& st = *storage_;
  if (slot < st.slots.size() && st.slots[slot].epoch == st.epoch) {  // kNoSlot is never below the size
    const Storage::Slot& s = st.slots[slot];
    return Values{&st.values, s.begin, s.count, s.present};
  }
  return Resolve(path, slot);
}

}  // namespace vigil::sigma_internal
