// Security Hub findings in the AWS Security Finding Format (ASFF), recognised
// from content: `{"Findings": [...]}` (GetFindings output, exports), JSON
// arrays and JSON Lines of findings, one pretty-printed finding, and
// EventBridge events (`detail-type: "Security Hub Findings - Imported"`, or
// "- Custom Action"), whose `detail.findings` array becomes one event per finding.
//
// An event's raw bytes are the finding object's exact bytes (for EventBridge,
// each element of `detail.findings`; the envelope is not kept), so rules
// address the same paths (`Severity.Label`, `Resources.Type`) however the
// finding arrived. Full normalisation (OCSF) comes later.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "event/event.h"
#include "formats/parser.h"

namespace vigil {

inline constexpr std::string_view kSecurityHub = "securityhub";

std::unique_ptr<Parser> MakeSecurityHubParser(const InputLimits& limits = {});

// Builds an Event from one ASFF finding's exact bytes.
//   id:        `<Id>@<UpdatedAt>` (FindingEventId): Security Hub updates a
//              finding in place, and each update is a new event.
//   time:      UpdatedAt, else CreatedAt, else ingest time (*time_warning says why).
//   account:   AwsAccountId.
//   principal: the affected resource: the Id of the first of `Resources` whose
//              ResourceRole is not Actor (else the first resource); else the account.
//   resources: every Resources[].Id.
// Fails when the record is not a JSON object or breaks a limit.
Status BuildSecurityHubEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* out,
                             std::string* time_warning);

}  // namespace vigil
