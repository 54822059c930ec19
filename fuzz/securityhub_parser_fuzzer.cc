// Fuzzes the Security Hub ASFF findings parser (fuzz/text_parser_fuzz.h says what is checked).
#include "formats/securityhub.h"
#include "text_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::fuzz::FuzzParser(vigil::kSecurityHub,
                                 {"Resources.Details.AwsIamAccessKey.PrincipalId", "Severity.Label"}, data, size);
}
