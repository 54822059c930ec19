// Fuzzes the VPC flow log parser (fuzz/text_parser_fuzz.h says what is checked).
#include "formats/vpcflow.h"
#include "text_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::fuzz::FuzzParser(vigil::kVpcFlow, {"srcaddr", "dstport", "account-id"}, data, size);
}
