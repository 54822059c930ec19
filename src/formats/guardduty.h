// GuardDuty findings, recognised from content: finding objects as GuardDuty
// exports them to S3 (JSON Lines, JSON arrays, or one pretty-printed finding),
// and EventBridge events with `detail-type: "GuardDuty Finding"`, whose
// `detail` is the finding.
//
// An event's raw bytes are the finding object's exact bytes: for an
// EventBridge event, the `detail` value (the envelope's own fields, its id,
// time and region, repeat or describe the delivery and are not kept), so
// rules address the same paths (`severity`, `service.action.actionType`)
// however the finding arrived. Full normalisation (OCSF) comes later.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "event/event.h"
#include "formats/parser.h"

namespace vigil {

inline constexpr std::string_view kGuardDuty = "guardduty";

std::unique_ptr<Parser> MakeGuardDutyParser(const InputLimits& limits = {});

// Builds an Event from one finding object's exact bytes.
//   id:        `<id>@<updatedAt>`: GuardDuty updates a finding in place (count,
//              eventLastSeen, severity) and re-delivers it; each update is a
//              new event, and the same delivery seen twice keeps one id. A
//              content hash when the finding has no id.
//   time:      updatedAt, else createdAt, else ingest time (*time_warning says why).
//   account:   accountId.
//   principal: the affected resource, by resource.resourceType: the access key's
//              user name, the instance id, the bucket name, the cluster, function
//              or database name; else the account.
//   resources: the affected resources' ARNs and ids.
// Fails when the record is not a JSON object or breaks a limit.
Status BuildGuardDutyEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* out,
                           std::string* time_warning);

}  // namespace vigil
