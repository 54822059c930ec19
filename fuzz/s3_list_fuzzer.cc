// Fuzzes the S3 response readers: the XML reader under ListObjectsV2 pages
// and S3 error documents (bytes from the network).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aws/s3_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto page = vigil::aws::ParseListObjectsV2(in);
  if (page.ok()) {
    size_t n = 0;
    for (const auto& o : page->objects) n += o.key.size() + o.etag.size();
    for (const auto& p : page->common_prefixes) n += p.size();
    if (page->is_truncated && page->next_continuation_token.empty()) __builtin_trap();
    (void)n;
  }
  auto err = vigil::aws::ParseS3Error(in);
  (void)err;
  return 0;
}
