// Reading a stored record again: the FieldResolver of an event rebuilt from
// its log type and raw bytes, as the parser of that type built it at ingest.
// For the stores and commands that keep only `raw` (hunt, backtest) and must
// answer the same field names the detectors saw: JSON paths for the JSON
// types, the AWS field names for the text types (vpcflow, alb, s3access) and
// the RFC names for syslog. A record that came in a CloudWatch Logs payload is
// stored as the record it carries, so it reads again as its own type (without
// the payload's `cloudwatch.` fields); a `cloudwatchlogs` event is JSON.
//
// The resolver owns copies of what it needs; `raw` need not outlive the call.
// Thread safety: stateless; safe from several threads.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "event/event.h"

namespace vigil {

// Fails with the reason when `raw` does not read as a record of `source_type`.
// An unknown source type is read as JSON.
Result<std::shared_ptr<const FieldResolver>> RecordFields(std::string_view source_type, std::string_view raw);

}  // namespace vigil
