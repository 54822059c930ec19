// Fuzzes the syslog parser (fuzz/text_parser_fuzz.h says what is checked).
#include "formats/syslog.h"
#include "text_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::fuzz::FuzzParser(vigil::kSyslog, {"hostname", "appname", "message", "sd.origin.ip"}, data, size);
}
