// Fuzzes the JSON application log parser (fuzz/text_parser_fuzz.h says what
// is checked).
#include "formats/app_json.h"
#include "text_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::fuzz::FuzzParser(vigil::kJson, {"timestamp", "msg", "user.name"}, data, size);
}
