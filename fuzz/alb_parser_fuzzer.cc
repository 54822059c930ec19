// Fuzzes the load balancer log parser (fuzz/text_parser_fuzz.h says what is checked).
#include "formats/alb.h"
#include "text_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::fuzz::FuzzParser(vigil::kAlb, {"request", "client_ip", "elb_status_code"}, data, size);
}
