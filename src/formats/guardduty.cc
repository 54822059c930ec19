#include "formats/guardduty.h"

#include <iterator>
#include <span>
#include <string>

#include "formats/json_records.h"
#include "formats/json_split.h"

namespace vigil {
namespace {

const FieldPath kId("id");
const FieldPath kTimes[] = {FieldPath("updatedAt"), FieldPath("createdAt")};
const FieldPath kAccount("accountId");
const FieldPath kResourceType("resource.resourceType");

// The affected resource's name for each resource type, in the order tried when
// the type is missing or unknown.
struct ResourceKind {
  std::string_view type;
  FieldPath name;  // the principal
  FieldPath arn;   // added to resources
};
const ResourceKind kKinds[] = {
    {"AccessKey", FieldPath("resource.accessKeyDetails.userName"), FieldPath("resource.accessKeyDetails.accessKeyId")},
    {"Instance", FieldPath("resource.instanceDetails.instanceId"), FieldPath("resource.instanceDetails.instanceId")},
    {"S3Bucket", FieldPath("resource.s3BucketDetails.name"), FieldPath("resource.s3BucketDetails.arn")},
    {"EKSCluster", FieldPath("resource.eksClusterDetails.name"), FieldPath("resource.eksClusterDetails.arn")},
    {"ECSCluster", FieldPath("resource.ecsClusterDetails.name"), FieldPath("resource.ecsClusterDetails.arn")},
    {"Lambda", FieldPath("resource.lambdaDetails.functionName"), FieldPath("resource.lambdaDetails.functionArn")},
    {"RDSDBInstance", FieldPath("resource.rdsDbInstanceDetails.dbInstanceIdentifier"),
     FieldPath("resource.rdsDbInstanceDetails.dbInstanceArn")},
    {"Container", FieldPath("resource.containerDetails.name"), FieldPath("resource.containerDetails.id")},
};
// When the access key's user name is missing: its principal, then the key.
const FieldPath kAccessKeyFallbacks[] = {FieldPath("resource.accessKeyDetails.principalId"),
                                         FieldPath("resource.accessKeyDetails.accessKeyId")};

enum class Kind { kOther, kFinding, kEventBridge };

// Tells a GuardDuty finding (its ARN, or the keys every finding has) and an
// EventBridge `GuardDuty Finding` event from anything else, in one pass over
// the record's top-level keys.
Kind Classify(std::string_view record) {
  static constexpr std::string_view kKeys[] = {"detail-type", "arn", "schemaVersion", "service", "severity", "type"};
  if (FirstValueIsArray(record)) return Kind::kOther;
  size_t at[std::size(kKeys)];
  uint64_t found = FindTopLevelKeys(record, kKeys, at);
  if (JsonStringAt(record, at[0]) == "GuardDuty Finding") return Kind::kEventBridge;
  std::string_view arn = JsonStringAt(record, at[1]);
  if (arn.starts_with("arn:aws") && arn.find(":guardduty:") != std::string_view::npos &&
      arn.find("/finding/") != std::string_view::npos)
    return Kind::kFinding;
  return (found & 0b111100) == 0b111100 ? Kind::kFinding : Kind::kOther;
}

class GuardDutyParser final : public Parser {
 public:
  explicit GuardDutyParser(const InputLimits& limits) : limits_(limits) {}

  std::string_view name() const override { return kGuardDuty; }

  bool Recognize(std::string_view head) const override {
    std::string_view first = FirstJsonRecord(head, "findings");
    return !first.empty() && Classify(first) != Kind::kOther;
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    return ForEachJsonRecord(in, "findings", limits_, sink, [&](std::string_view raw, uint64_t index) {
      if (Classify(raw) == Kind::kEventBridge) {
        std::string_view detail = TopLevelValue(raw, "detail");
        if (!detail.starts_with('{')) {
          sink.OnDeadLetter(DeadLetter{std::string(in.name), index, "GuardDuty Finding event without a detail object",
                                       std::string(raw.substr(0, 65536))});
          return;
        }
        raw = detail;
      }
      EmitJsonRecord(in, raw, index, limits_, BuildGuardDutyEvent, sink);
    });
  }

 private:
  InputLimits limits_;
};

}  // namespace

Status BuildGuardDutyEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* ev,
                           std::string* time_warning) {
  VIGIL_RETURN_IF_ERROR(StartJsonEvent(raw, kGuardDuty, ingest_time_ns, limits, ev));
  SetEventTime(kTimes, ev, time_warning);
  ev->id = FindingEventId(kGuardDuty, ev->FirstString(kId), ev->FirstString(kTimes[0]), raw);
  ev->account = ev->FirstString(kAccount);

  std::string type = ev->FirstString(kResourceType);
  const ResourceKind* kind = nullptr;
  for (const ResourceKind& k : kKinds)
    if (k.type == type) kind = &k;
  if (kind) {
    SetPrincipal(std::span(&kind->name, 1), ev);
    if (ev->principal.empty() && kind == &kKinds[0]) SetPrincipal(kAccessKeyFallbacks, ev);
    AddResources(kind->arn, ev);
  }
  for (const ResourceKind& k : kKinds) {
    if (&k == kind) continue;
    if (ev->principal.empty()) SetPrincipal(std::span(&k.name, 1), ev);
    AddResources(k.arn, ev);
  }
  if (ev->principal.empty()) ev->principal = ev->account;
  return Status::Ok();
}

std::unique_ptr<Parser> MakeGuardDutyParser(const InputLimits& limits) {
  return std::make_unique<GuardDutyParser>(limits);
}

}  // namespace vigil
