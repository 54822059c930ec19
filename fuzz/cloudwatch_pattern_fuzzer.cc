// Fuzzes the CloudWatch Logs filter pattern parser: any bytes must come out as
// a pattern, an unsupported-pattern status or an error, never a crash, hang or
// leak. A pattern that parses is also matched against a fixed CloudTrail-like
// record.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "detect/cloudwatch/filter_pattern.h"
#include "event/json_fields.h"

namespace {

const vigil::FieldResolver* SampleFields() {
  static const std::shared_ptr<const vigil::FieldResolver>* fields = [] {
    auto r = vigil::ParseJsonFields(
        R"({"eventVersion":"1.08","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin",)"
        R"("sourceIPAddress":"203.0.113.7","errorCode":null,"readOnly":false,"latency":1.5e3,"port":"443",)"
        R"("userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice"},)"
        R"("additionalEventData":{"MFAUsed":"No"},"tags":["a","b"],"empty":[],)"
        R"("resources":[{"ARN":"arn:aws:cloudtrail:us-east-1:123456789012:trail/main"},{"ARN":"x"}]})");
    return new std::shared_ptr<const vigil::FieldResolver>(r.ok() ? *r : nullptr);
  }();
  return fields->get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto pattern = vigil::FilterPattern::Parse(text);
  if (!pattern.ok()) return 0;
  const vigil::FieldResolver* fields = SampleFields();
  if (fields != nullptr) (void)pattern->Matches(*fields);
  return 0;
}
