#include "detect/sigma/internal/event_fields.h"

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace vigil::sigma_internal {

uint32_t FieldSlot(std::string_view dotted) {
  static std::mutex mu;
  static auto* slots = new std::unordered_map<std::string, uint32_t>();  // never destroyed
  std::lock_guard<std::mutex> lock(mu);
  auto [it, added] = slots->try_emplace(std::string(dotted), static_cast<uint32_t>(slots->size()));
  (void)added;
  return it->second;
}

namespace {

// Storage outlives one event so that slots and value buffers are allocated
// once per thread, not per event.
class StoragePool {
 public:
  ~StoragePool() {
    for (auto* s : free_) delete s;
  }
  static StoragePool& ForThread() {
    thread_local StoragePool pool;
    return pool;
  }
  EventFields::Storage* Take() {
    if (free_.empty()) return new EventFields::Storage();
    EventFields::Storage* s = free_.back();
    free_.pop_back();
    return s;
  }
  void Give(EventFields::Storage* s) { free_.push_back(s); }

 private:
  std::vector<EventFields::Storage*> free_;
};

// A fresh storage from this thread's pool: every slot unfilled.
EventFields::Storage* TakeStorage() {
  EventFields::Storage* s = StoragePool::ForThread().Take();
  if (++s->epoch == 0) {  // wrapped: forget every slot's stale epoch
    for (auto& slot : s->slots) slot.epoch = 0;
    s->epoch = 1;
  }
  s->values.clear();
  return s;
}

thread_local SharedEventFields* open_scope = nullptr;  // innermost

}  // namespace

SharedEventFields::SharedEventFields(const FieldResolver* resolver) {
  for (SharedEventFields* s = open_scope; s != nullptr; s = s->outer_)
    if (s->resolver_ == resolver) return;
  if (resolver == nullptr) return;
  resolver_ = resolver;
  storage_ = TakeStorage();
  outer_ = open_scope;
  open_scope = this;
}

SharedEventFields::~SharedEventFields() {
  if (resolver_ == nullptr) return;
  open_scope = outer_;
  StoragePool::ForThread().Give(storage_);
}

EventFields::EventFields(const FieldResolver& fields) : fields_(fields), storage_(nullptr) {
  for (SharedEventFields* s = open_scope; s != nullptr; s = s->outer_) {
    if (s->resolver_ == &fields) {
      storage_ = s->storage_;
      shared_ = true;
      return;
    }
  }
  storage_ = TakeStorage();
}

EventFields::~EventFields() {
  if (!shared_) StoragePool::ForThread().Give(storage_);
}

bool EventFields::FirstScalar(const FieldPath& path, uint32_t slot, std::string_view* text) {
  const Values vals = Get(path, slot);
  for (uint32_t i = 0; i < vals.count; ++i) {
    const FieldValue v = vals[i];
    if (v.kind == ValueKind::kObject || v.kind == ValueKind::kArray || v.kind == ValueKind::kNull) continue;
    *text = v.text;
    return true;
  }
  return false;
}

EventFields::Values EventFields::Resolve(const FieldPath& path, uint32_t slot) {
  Storage& st = *storage_;
  const auto begin = static_cast<uint32_t>(st.values.size());
  const bool present = fields_.Collect(path, &st.values);
  const auto count = static_cast<uint32_t>(st.values.size()) - begin;
  if (slot != kNoSlot) {
    if (slot >= st.slots.size()) st.slots.resize(slot + 1);
    st.slots[slot] = Storage::Slot{st.epoch, begin, count, present};
  }
  return Values{&st.values, begin, count, present};
}

}  // namespace vigil::sigma_internal
