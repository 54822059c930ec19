// Fuzzes the GuardDuty findings parser (fuzz/text_parser_fuzz.h says what is checked).
#include "formats/guardduty.h"
#include "text_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::fuzz::FuzzParser(vigil::kGuardDuty,
                                 {"resource.accessKeyDetails.userName",
                                  "service.action.awsApiCallAction.affectedResources"},
                                 data, size);
}
