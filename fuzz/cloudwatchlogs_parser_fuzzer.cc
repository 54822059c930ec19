// Fuzzes the CloudWatch Logs subscription payload parser, and through it the
// parsers of the messages it unwraps (fuzz/text_parser_fuzz.h says what is
// checked).
#include "formats/cloudwatchlogs.h"
#include "text_parser_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::fuzz::FuzzParser(
      vigil::kCloudWatchLogs,
      {"cloudwatch.logGroup", "cloudwatch.subscriptionFilters", "cloudwatch.timestamp", "message", "eventName"}, data,
      size);
}
