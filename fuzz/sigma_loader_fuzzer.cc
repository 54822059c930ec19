// Fuzzes the Sigma rule loader: any bytes must come out as a rule, an
// unsupported-rule status or an error, never a crash, hang or leak. A rule
// that loads is also evaluated against a fixed CloudTrail-like record.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "detect/sigma/filter.h"
#include "detect/sigma/rule.h"
#include "detect/sigma/sigma_detector.h"
#include "event/json_fields.h"

namespace {

const vigil::Event& SampleEvent() {
  static const vigil::Event* event = [] {
    auto* e = new vigil::Event();
    e->raw = R"({"eventVersion":"1.08","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging",)"
             R"("sourceIPAddress":"203.0.113.7","errorCode":null,"readOnly":false,"port":443,)"
             R"("userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice","userName":"alice"},)"
             R"("resources":[{"ARN":"arn:aws:cloudtrail:us-east-1:123456789012:trail/main"},{"ARN":"x"}]})";
    auto fields = vigil::ParseJsonFields(e->raw);
    if (fields.ok()) e->fields = *fields;
    e->principal = "arn:aws:iam::123456789012:user/alice";
    return e;
  }();
  return *event;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Rules, filters and correlations, in files of one or several documents.
  auto docs = vigil::ParseSigmaFile(text);
  if (!docs.ok()) return 0;
  const vigil::Event& event = SampleEvent();
  for (const auto& doc : *docs) {
    if (doc.filter) (void)doc.filter->Matches(event);
    if (doc.rule) {
      (void)doc.rule->Matches(event);
      vigil::SigmaDetector detector({doc.rule});
      detector.Process(event, [](const vigil::Event&, const vigil::Match&) {});
    }
  }
  return 0;
}
