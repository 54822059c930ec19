// Fuzzes the Security Hub (ASFF) findings parser, given the bytes directly and through content
// recognition and gzip framing: any bytes must yield events, dead letters or an
// error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "formats/decompress.h"
#include "formats/parser.h"
#include "formats/securityhub.h"

namespace {

struct NullSink : vigil::ParseSink {
  void OnEvent(vigil::Event&& e) override {
    // Touch what downstream stages read.
    (void)e.FirstString(vigil::FieldPath("Resources.Details.AwsIamAccessKey.PrincipalId"));
    (void)e.FirstString(vigil::FieldPath("Severity.Label"));
  }
  void OnDeadLetter(vigil::DeadLetter&&) override {}
  void OnWarning(std::string_view, std::string_view) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto& registry = vigil::ParserRegistry::Default();
  NullSink sink;
  (void)registry.Find(vigil::kSecurityHub)->Parse(vigil::ParseInput{"fuzz", bytes, 0, 0}, sink);
  auto text = vigil::GunzipAll(bytes, "fuzz", 1 << 24);
  std::string_view input = text.ok() ? text->view() : bytes;
  if (const vigil::Parser* parser = registry.Recognize(input.substr(0, 65536)))
    (void)parser->Parse(vigil::ParseInput{"fuzz", input, 0, text.ok() ? text->padding() : 0}, sink);
  return 0;
}
