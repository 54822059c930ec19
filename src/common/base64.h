// Base64 (RFC 4648 section 4, the standard alphabet with `+` and `/`).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace vigil {

// Padded with `=` to a multiple of four characters.
std::string Base64Encode(std::string_view bytes);

// Strict decoding: only the standard alphabet, `=` padding only at the end
// (optional, but a text of 4n+1 characters is never valid), no whitespace, and
// the unused low bits of the last character zero, so one byte string has one
// accepted encoding. kInvalidArgument naming the offset of the first bad
// character otherwise.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace vigil
