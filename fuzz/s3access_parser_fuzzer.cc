// Fuzzes the S3 server access log parser (fuzz/text_parser_fuzz.h says what is checked).
#include "formats/s3access.h"
#include "text_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::fuzz::FuzzParser(vigil::kS3Access, {"requester", "key", "operation"}, data, size);
}
