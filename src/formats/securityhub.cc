#include "formats/securityhub.h"

#include <iterator>
#include <string>
#include <vector>

#include "formats/json_records.h"
#include "formats/json_split.h"

namespace vigil {
namespace {

const FieldPath kId("Id");
const FieldPath kTimes[] = {FieldPath("UpdatedAt"), FieldPath("CreatedAt")};
const FieldPath kAccount("AwsAccountId");
const FieldPath kResourceIds("Resources.Id");

// Resources.[i].Id and Resources.[i].ResourceRole for the first few resources:
// the affected one is almost always first.
constexpr int kRolesChecked = 8;
struct IndexedResource {
  FieldPath id, role;
};
const std::vector<IndexedResource>& Indexed() {
  static const std::vector<IndexedResource> paths = [] {
    std::vector<IndexedResource> v;
    for (int i = 0; i < kRolesChecked; ++i) {
      std::string prefix = "Resources.[" + std::to_string(i) + "].";
      v.push_back({FieldPath(prefix + "Id"), FieldPath(prefix + "ResourceRole")});
    }
    return v;
  }();
  return paths;
}

enum class Kind { kOther, kFinding, kEventBridge };

// Tells an ASFF finding (SchemaVersion and ProductArn, both required) and an
// EventBridge `Security Hub Findings - ...` event from anything else, in one
// pass over the record's top-level keys.
Kind Classify(std::string_view record) {
  static constexpr std::string_view kKeys[] = {"detail-type", "SchemaVersion", "ProductArn"};
  if (FirstValueIsArray(record)) return Kind::kOther;
  size_t at[std::size(kKeys)];
  uint64_t found = FindTopLevelKeys(record, kKeys, at);
  if (JsonStringAt(record, at[0]).starts_with("Security Hub Findings")) return Kind::kEventBridge;
  return (found & 0b110) == 0b110 ? Kind::kFinding : Kind::kOther;
}

class SecurityHubParser final : public Parser {
 public:
  explicit SecurityHubParser(const InputLimits& limits) : limits_(limits) {}

  std::string_view name() const override { return kSecurityHub; }

  bool Recognize(std::string_view head) const override {
    std::string_view first = FirstJsonRecord(head, "Findings");
    return !first.empty() && Classify(first) != Kind::kOther;
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    return ForEachJsonRecord(in, "Findings", limits_, sink, [&](std::string_view raw, uint64_t index) {
      if (Classify(raw) != Kind::kEventBridge) {
        EmitJsonRecord(in, raw, index, limits_, BuildSecurityHubEvent, sink);
        return;
      }
      // One event per finding; dead letters name the EventBridge event's index.
      std::string_view findings = TopLevelValue(TopLevelValue(raw, "detail"), "findings");
      std::vector<JsonSpan> spans;
      Status framing = findings.starts_with('[') ? SplitJsonArray(findings, 0, ~size_t{0}, &spans)
                                                 : Status::InvalidArgument("no detail.findings array");
      for (const JsonSpan& s : spans)
        EmitJsonRecord(in, findings.substr(s.begin, s.end - s.begin), index, limits_, BuildSecurityHubEvent, sink);
      if (!framing.ok())
        sink.OnDeadLetter(DeadLetter{std::string(in.name), index, "Security Hub Findings event: " + framing.message(),
                                     std::string(raw.substr(0, 65536))});
    });
  }

 private:
  InputLimits limits_;
};

}  // namespace

Status BuildSecurityHubEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* ev,
                             std::string* time_warning) {
  VIGIL_RETURN_IF_ERROR(StartJsonEvent(raw, kSecurityHub, ingest_time_ns, limits, ev));
  SetEventTime(kTimes, ev, time_warning);
  ev->id = FindingEventId(kSecurityHub, ev->FirstString(kId), ev->FirstString(kTimes[0]), raw);
  ev->account = ev->FirstString(kAccount);
  for (const IndexedResource& r : Indexed()) {
    std::string id = ev->FirstString(r.id);
    if (id.empty()) break;
    if (ev->principal.empty()) ev->principal = id;  // the first resource, unless a later one is not an Actor
    if (ev->FirstString(r.role) != "Actor") {
      ev->principal = std::move(id);
      break;
    }
  }
  if (ev->principal.empty()) ev->principal = ev->account;
  AddResources(kResourceIds, ev);
  return Status::Ok();
}

std::unique_ptr<Parser> MakeSecurityHubParser(const InputLimits& limits) {
  return std::make_unique<SecurityHubParser>(limits);
}

}  // namespace vigil
