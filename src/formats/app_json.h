// Generic JSON application logs, recognised from content: JSON Lines, arrays
// of objects, or pretty-printed objects one after another (the shapes of
// formats/json_records.h) that no specific parser claims. Registered last.
//
// Recognised when the first record is an object with a common log key at the
// top level (a time key below, `message`, `msg`, `level` or `log`) and none
// that marks another log type: CloudTrail (`eventName`, `eventSource`,
// `eventVersion`, `Records`), GuardDuty and Security Hub (`schemaVersion`,
// `SchemaVersion`, `ProductArn`, `findings`, `Findings`, and EventBridge
// events whose `detail-type` carries them or CloudTrail), Route 53 Resolver
// (`query_name`, `query_timestamp`), CloudWatch Logs payloads (`messageType`,
// `logEvents`) and CloudTrail digests (`digestStartTime`). So a record of
// those types that its parser rejects is never read as an application log.
//
// Each record is an Event whose fields are its JSON paths:
//   id:        ContentId("json", record).
//   time:      the first top-level key of `timestamp`, `@timestamp`, `time`,
//              `ts`, `date`, `datetime` that holds a time: RFC 3339 text, or
//              epoch seconds, milliseconds, microseconds or nanoseconds (a
//              number or a string of digits, told apart by magnitude;
//              fractional seconds allowed). Else ingest time, with a warning.
//   account:   `account_id`, `accountId`, `account`.
//   principal: the first string of `user` (when a string), `username`,
//              `user_name`, `userName`, `user.name`, `user.id`, `principal`,
//              `actor`; else the account.
// A record that is not a JSON object, or breaks a limit, is a dead letter.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "common/status.h"
#include "event/event.h"
#include "formats/parser.h"

namespace vigil {

inline constexpr std::string_view kJson = "json";

std::unique_ptr<Parser> MakeAppJsonParser(const InputLimits& limits = {});

// Builds an Event from one record's exact bytes.
Status BuildAppJsonEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* out,
                         std::string* time_warning);

// Epoch seconds, milliseconds, microseconds or nanoseconds (by magnitude:
// below 1e11 seconds, 1e14 milliseconds, 1e17 microseconds, else
// nanoseconds), as nanoseconds; nullopt for anything else or before the epoch.
std::optional<int64_t> ParseEpochTime(std::string_view text);

}  // namespace vigil
