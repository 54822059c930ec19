// Fuzzes the CSV threat-intel feed parser (fuzz/intel_feed_fuzz.h says what is checked).
#include "intel_feed_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::fuzz::FuzzFeed(vigil::intel::FeedFormat::kCsv, data, size);
}
