// Fuzzes the HTTP ingest API's body check (CountIngestRecords): NDJSON, JSON
// arrays, CloudTrail files and anything else a sender might post. Checked: it
// never crashes, and an answer of N records never exceeds the body's bytes.
#include <cstdlib>
#include <string_view>

#include "server/http_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto n = vigil::server::CountIngestRecords(body);
  if (n.ok() && *n > size) std::abort();
  return 0;
}
