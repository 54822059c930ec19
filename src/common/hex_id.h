// Compact forms of the ids logs are full of: a lower-case UUID (8-4-4-4-12
// hex digits) or 32 lower-case hex digits packs into 16 bytes and unpacks to
// exactly the same text. Used by the alert event-id lists (meta.db) and by
// segment v2's packed id column and raw records (docs/storage-format.md).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

// How an id is stored: its 16 packed bytes (kUuid, kHex32) or as text.
enum class IdForm : uint8_t { kText = 0, kUuid = 1, kHex32 = 2 };

namespace hex_id_internal {
// Hex digit values, 0xff for anything else (upper case included: an
// upper-case id is kept as text, so that it reads back as it came).
inline constexpr std::array<uint8_t, 256> kHexValue = [] {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0xff;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<uint8_t>(c - 'a' + 10);
  return t;
}();
}  // namespace hex_id_internal

// Packs the hex digits of `id` (skipping the '-' at a UUID's positions when
// `uuid`) into 16 bytes; false when it is not exactly that form.
inline bool PackHexId(std::string_view id, bool uuid, char out[16]) {
  if (id.size() != (uuid ? 36u : 32u)) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(id.data());
  if (uuid && (p[8] != '-' || p[13] != '-' || p[18] != '-' || p[23] != '-')) return false;
  uint8_t bad = 0;
  int pos = 0;
  for (int i = 0; i < 16; ++i) {
    if (uuid && (i == 4 || i == 6 || i == 8 || i == 10)) ++pos;  // the dash
    const uint8_t hi = hex_id_internal::kHexValue[p[pos]], lo = hex_id_internal::kHexValue[p[pos + 1]];
    bad |= static_cast<uint8_t>(hi | lo);
    out[i] = static_cast<char>((hi << 4) | (lo & 15));
    pos += 2;
  }
  return (bad & 0xf0) == 0;
}

// Writes the 36 (uuid) or 32 characters `in` packs to `out`.
inline void UnpackHexId(const char in[16], bool uuid, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) {
    if (uuid && (i == 4 || i == 6 || i == 8 || i == 10)) *out++ = '-';
    const uint8_t b = static_cast<uint8_t>(in[i]);
    *out++ = kDigits[b >> 4];
    *out++ = kDigits[b & 15];
  }
}
inline void UnpackHexId(const char in[16], bool uuid, std::string* out) {
  const size_t at = out->size();
  out->resize(at + (uuid ? 36 : 32));
  UnpackHexId(in, uuid, out->data() + at);
}

// The form `id` is stored in; for kUuid and kHex32 its packed bytes are in `packed`.
inline IdForm PackId(std::string_view id, char packed[16]) {
  if (PackHexId(id, /*uuid=*/true, packed)) return IdForm::kUuid;
  if (PackHexId(id, /*uuid=*/false, packed)) return IdForm::kHex32;
  return IdForm::kText;
}

}  // namespace vigil
