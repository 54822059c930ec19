// Fuzzes the Route 53 Resolver query log parser (fuzz/text_parser_fuzz.h says what is checked).
#include "formats/route53resolver.h"
#include "text_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::fuzz::FuzzParser(vigil::kRoute53Resolver, {"query_name", "srcids.instance", "answers.Rdata"}, data, size);
}
