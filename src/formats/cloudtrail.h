// CloudTrail: records as delivered to S3 (`{"Records":[...]}` files), JSON
// arrays of records (CloudTrail Lake exports, Stratus Red Team samples), NDJSON
// and pretty-printed records (copied from the console), recognised from content.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "event/event.h"
#include "formats/parser.h"

namespace vigil {

inline constexpr std::string_view kCloudTrail = "cloudtrail";

std::unique_ptr<Parser> MakeCloudTrailParser(const InputLimits& limits = {});

// Builds an Event from one CloudTrail record's exact bytes: parses the fields,
// sets the id (eventID when it is a well-formed UUID, else a content hash), event
// time (ingest time when eventTime is missing or unusable; *time_warning says
// why), account, principal and resources. Fails when the record is not a JSON
// object or breaks a limit.
Status BuildCloudTrailEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* out,
                            std::string* time_warning);

}  // namespace vigil
