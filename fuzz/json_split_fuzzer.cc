// Differential fuzzer of the record splitter: SkipJsonValue (whole 64-byte
// blocks by bit masks, SIMD chosen at run time) must find exactly the end a
// byte-at-a-time scan finds, for any bytes and depth limit; SplitJsonArray
// must never hand out a span past the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "formats/json_split.h"

namespace {

constexpr size_t kNpos = std::string_view::npos;

// The definition SkipJsonValue implements, one byte at a time.
size_t ReferenceSkip(std::string_view t, size_t pos, size_t max_depth) {
  if (pos >= t.size()) return kNpos;
  if (t[pos] != '{' && t[pos] != '[') return kNpos;  // only containers are compared
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = pos; i < t.size(); ++i) {
    const char c = t[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return kNpos;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return kNpos;
      if (--depth == 0) return i + 1;
    }
  }
  return kNpos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // First byte: the depth limit (0 stands for none); the rest is the text.
  const size_t max_depth = data[0] == 0 ? ~size_t{0} : data[0] % 16;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  for (size_t pos = 0; pos < text.size() && pos < 8; ++pos) {
    if (text[pos] != '{' && text[pos] != '[') continue;
    if (vigil::SkipJsonValue(text, pos, max_depth) != ReferenceSkip(text, pos, max_depth)) std::abort();
  }
  std::vector<vigil::JsonSpan> spans;
  if (text[0] == '[') (void)vigil::SplitJsonArray(text, 0, max_depth, &spans);
  for (const vigil::JsonSpan& s : spans)
    if (s.begin > s.end || s.end > text.size()) std::abort();
  return 0;
}
