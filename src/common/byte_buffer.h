// ByteBuffer: a growable byte buffer that does not zero what it is about to
// overwrite (std::string::resize does, which cost ~3% of ingest CPU on
// decompression alone), and that always keeps kPadding zero bytes readable
// past its end, so SIMD parsers can read it in place.
//
// Ownership: owns its bytes; views from view() are valid until the next
// Resize or the buffer's destruction. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace vigil {

class ByteBuffer {
 public:
  static constexpr size_t kPadding = 64;

  ByteBuffer() = default;
  explicit ByteBuffer(std::string_view bytes) {
    Resize(bytes.size());
    if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  }
  ByteBuffer(ByteBuffer&&) noexcept = default;
  ByteBuffer& operator=(ByteBuffer&&) noexcept = default;

  // Sets the size to `n`, keeping the first min(n, size()) bytes. New bytes
  // are uninitialised; the kPadding bytes after the end are zero.
  void Resize(size_t n) {
    if (n + kPadding > capacity_) {
      size_t cap = capacity_ ? capacity_ : 4096;
      while (cap < n + kPadding) cap *= 2;
      std::unique_ptr<char[]> bigger(new char[cap]);
      if (size_) std::memcpy(bigger.get(), data_.get(), size_);
      data_ = std::move(bigger);
      capacity_ = cap;
    }
    size_ = n;
    std::memset(data_.get() + size_, 0, kPadding);
  }

  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  // Bytes allocated (size, padding and spare room for growth).
  size_t capacity() const { return capacity_; }
  // Bytes readable (and zero) after the end.
  size_t padding() const { return data_ ? kPadding : 0; }
  std::string_view view() const { return data_ ? std::string_view(data_.get(), size_) : std::string_view(); }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace vigil
