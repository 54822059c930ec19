// Checkpoint encoding shared by stateful detectors: LEB128 varints,
// length-prefixed strings and doubles by their bits. A Reader fails (returns
// false) on truncated or oversized input instead of reading past the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace vigil {

inline void PutU64(uint64_t v, std::string* out) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v) b |= 0x80;
    out->push_back(static_cast<char>(b));
  } while (v);
}
inline void PutStr(std::string_view s, std::string* out) {
  PutU64(s.size(), out);
  out->append(s);
}
inline void PutI64(int64_t v, std::string* out) { PutU64(static_cast<uint64_t>(v), out); }
inline void PutF64(double v, std::string* out) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  PutU64(bits, out);
}

class VarintReader {
 public:
  explicit VarintReader(std::string_view s) : s_(s) {}
  bool U64(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (s_.empty()) return false;
      uint8_t b = static_cast<uint8_t>(s_.front());
      s_.remove_prefix(1);
      *v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool I64(int64_t* v) {
    uint64_t u;
    if (!U64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool F64(double* v) {
    uint64_t u;
    if (!U64(&u)) return false;
    std::memcpy(v, &u, sizeof u);
    return true;
  }
  bool Str(std::string* out) {
    uint64_t n;
    if (!U64(&n) || n > s_.size()) return false;
    out->assign(s_.substr(0, n));
    s_.remove_prefix(n);
    return true;
  }
  // `n` raw bytes.
  bool Bytes(size_t n, std::string_view* out) {
    if (n > s_.size()) return false;
    *out = s_.substr(0, n);
    s_.remove_prefix(n);
    return true;
  }
  bool done() const { return s_.empty(); }

 private:
  std::string_view s_;
};

}  // namespace vigil
