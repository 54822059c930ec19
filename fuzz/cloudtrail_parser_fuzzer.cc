// Fuzzes content recognition, gzip framing and the CloudTrail parser: any bytes
// must yield events, dead letters or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "formats/cloudtrail.h"
#include "formats/decompress.h"
#include "formats/parser.h"

namespace {

struct NullSink : vigil::ParseSink {
  void OnEvent(vigil::Event&& e) override {
    // Touch what downstream stages read.
    (void)e.FirstString(vigil::FieldPath("userIdentity.sessionContext.attributes.mfaAuthenticated"));
    (void)e.FirstString(vigil::FieldPath("resources.ARN"));
  }
  void OnDeadLetter(vigil::DeadLetter&&) override {}
  void OnWarning(std::string_view, std::string_view) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto text = vigil::GunzipAll(bytes, "fuzz", 1 << 24);
  std::string_view input = text.ok() ? text->view() : bytes;
  const auto& registry = vigil::ParserRegistry::Default();
  const vigil::Parser* parser = registry.Recognize(input.substr(0, 65536));
  if (!parser) parser = registry.Find(vigil::kCloudTrail);
  NullSink sink;
  // Both framing paths: in place over padded bytes, and the copying one.
  (void)parser->Parse(vigil::ParseInput{"fuzz", input, 0, text.ok() ? text->padding() : 0}, sink);
  return 0;
}
