// Hash128Set: an open-addressing set of 128-bit hashes (16 bytes a slot, load
// <= 3/4). Event-id dedup in the store and (alert, event) dedup in alert
// folding hold millions of these; std::unordered_set would cost a node
// allocation per entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/hash.h"

namespace vigil {

namespace hash_internal {

inline bool IsZero(const Hash128& h) { return h.lo == 0 && h.hi == 0; }

// Doubles an open-addressing table (`first` slots at first, a power of two)
// and re-inserts its entries; a zero key marks an empty slot. `key(slot)`
// gives a slot's key.
template <typename Slot, typename KeyOf>
void Grow(std::vector<Slot>* slots, size_t* mask, KeyOf key, size_t first = 1024) {
  std::vector<Slot> old;
  old.swap(*slots);
  slots->assign(old.empty() ? first : old.size() * 2, Slot{});
  *mask = slots->size() - 1;
  for (const Slot& s : old) {
    if (IsZero(key(s))) continue;
    size_t i = key(s).lo & *mask;
    while (!IsZero(key((*slots)[i]))) i = (i + 1) & *mask;
    (*slots)[i] = s;
  }
}

}  // namespace hash_internal

class Hash128Set {
 public:
  bool Contains(const Hash128& h) const {
    if (IsZero(h)) return has_zero_;
    if (slots_.empty()) return false;
    for (size_t i = h.lo & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == h) return true;
      if (IsZero(slots_[i])) return false;
    }
  }
  // False when already present.
  bool Insert(const Hash128& h) {
    if (IsZero(h)) {
      bool inserted = !has_zero_;
      has_zero_ = true;
      size_ += inserted;
      return inserted;
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    size_t i = h.lo & mask_;
    for (; !IsZero(slots_[i]); i = (i + 1) & mask_) {
      if (slots_[i] == h) return false;
    }
    slots_[i] = h;
    ++size_;
    return true;
  }
  void Reserve(size_t n) {
    while ((n + 1) * 4 > slots_.size() * 3) Grow();
  }
  size_t size() const { return size_; }
  void Clear() {
    std::vector<Hash128>().swap(slots_);
    size_ = 0;
    mask_ = 0;
    has_zero_ = false;
  }

 private:
  static bool IsZero(const Hash128& h) { return hash_internal::IsZero(h); }
  void Grow() {
    hash_internal::Grow(&slots_, &mask_, [](const Hash128& h) -> const Hash128& { return h; });
  }
  std::vector<Hash128> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
  bool has_zero_ = false;
};

// Hash128Index: an open-addressing map from 128-bit hashes to uint32_t (24
// bytes a slot, load <= 3/4). Alert folding looks an alert up for every match;
// a node-based map costs a cache miss more per lookup there.
class Hash128Index {
 public:
  // `first_slots` (a power of two): the table's size when the first key
  // arrives; many small indexes start smaller than the default.
  explicit Hash128Index(size_t first_slots = 1024) : first_slots_(first_slots) {}
  // The value stored for `h`, inserting `value` first when absent; second is
  // true when inserted.
  std::pair<uint32_t, bool> FindOrInsert(const Hash128& h, uint32_t value) {
    if (IsZero(h)) {
      if (!has_zero_) {
        has_zero_ = true;
        zero_value_ = value;
        ++size_;
        return {value, true};
      }
      return {zero_value_, false};
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    size_t i = h.lo & mask_;
    for (; !IsZero(slots_[i].key); i = (i + 1) & mask_) {
      if (slots_[i].key == h) return {slots_[i].value, false};
    }
    slots_[i] = Slot{h, value};
    ++size_;
    return {value, true};
  }
  size_t size() const { return size_; }
  void Clear() {
    std::vector<Slot>().swap(slots_);
    size_ = 0;
    mask_ = 0;
    has_zero_ = false;
  }

 private:
  struct Slot {
    Hash128 key;
    uint32_t value = 0;
  };
  static bool IsZero(const Hash128& h) { return hash_internal::IsZero(h); }
  void Grow() {
    hash_internal::Grow(&slots_, &mask_, [](const Slot& s) -> const Hash128& { return s.key; }, first_slots_);
  }
  size_t first_slots_;
  std::vector<Slot> slots_;
  size_t size_ = 0;
  size_t mask_ = 0;
  bool has_zero_ = false;
  uint32_t zero_value_ = 0;
};

}  // namespace vigil
