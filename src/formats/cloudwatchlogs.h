// CloudWatch Logs subscription payloads, recognised from content: the JSON a
// subscription filter delivers to Kinesis or Firehose (gzip, inflated before
// parsing by formats/decompress), one payload or several back to back as
// Firehose writes them to S3 (`{...}{...}`, or one per line):
//   {"messageType":"DATA_MESSAGE","owner":"111122223333","logGroup":"...",
//    "logStream":"...","subscriptionFilters":["..."],
//    "logEvents":[{"id":"...","timestamp":1700000000000,"message":"..."}, ...]}
// `CONTROL_MESSAGE` payloads (CloudWatch checking that the destination is
// reachable) carry no log and are skipped, not errors.
//
// Each log event's message is unwrapped: the registry recognises it as it
// would a file (a CloudTrail record, a VPC flow line, a Route 53 Resolver
// query, a syslog line, a JSON application log...) and that type's parser
// builds it, so the event is the one the record would have made arriving
// directly: same source type, raw bytes (the message), id and fields. Two
// things differ:
//   time:    the record's own, else the log event's `timestamp` (ms) rather
//            than the ingest time (no warning then); a time written without
//            a year (RFC 3164 syslog) takes its year from that timestamp;
//   account: the payload's `owner` when the record names no account.
// The payload's context is answered next to the record's own fields under
// `cloudwatch.`: `cloudwatch.owner`, `cloudwatch.logGroup`,
// `cloudwatch.logStream`, `cloudwatch.subscriptionFilters`, `cloudwatch.id`
// and `cloudwatch.timestamp` (the log event's). Detection sees them; a stored
// record is the inner record alone (so it reads again, and deduplicates, as
// its own type), so `vigil hunt` does not. Keyword (full-text) matching sees
// the record's values only, as when it comes directly.
//
// A message no parser recognises (a Lambda `START RequestId...` line, free
// text) is an event of type `cloudwatchlogs` whose raw bytes are the log
// event with its context, as JSON:
//   {"cloudwatch":{"owner":..,"logGroup":..,"logStream":..,
//    "subscriptionFilters":[..],"id":..,"timestamp":..},"message":"..."}
// so `cloudwatch.logGroup` and `message` answer at ingest and in hunt alike.
// Its id is ContentId("cloudwatchlogs", raw), its time the log event's
// timestamp, its account and principal the owner, its resource the log group.
//
// A payload that is not JSON, has another messageType or no logEvents array,
// a log event without a string message, and a message its parser rejects are
// dead letters with the reason; record indexes count log events (a bad payload
// counts as one) across the input.
#pragma once

#include <memory>
#include <string_view>

#include "formats/parser.h"

namespace vigil {

inline constexpr std::string_view kCloudWatchLogs = "cloudwatchlogs";

// Messages are recognised by ParserRegistry::Default() (itself excepted), at
// parse time, so this parser may be registered in it.
std::unique_ptr<Parser> MakeCloudWatchLogsParser(const InputLimits& limits = {});

}  // namespace vigil
