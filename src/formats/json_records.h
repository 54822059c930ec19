// What the JSON log types (cloudtrail, guardduty, securityhub) share: framing
// an input into records, building an Event's common parts from one record, and
// handing the result (or a dead letter) to the sink.
//
// Lifetime: the record views handed to a RecordFn point into the input's bytes
// and are valid during the call only. An Event built here owns a copy.
// Thread safety: the functions keep no state.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "event/event.h"
#include "formats/parser.h"

namespace vigil {

// Receives one record's exact bytes and its index in the input (0-based).
using RecordFn = std::function<void(std::string_view raw, uint64_t index)>;

// Splits an input into records, whichever of these shapes it has:
//   [r, r, ...]                          a JSON array
//   {"<wrapper_key>": [r, ...], ...}     an object whose first key holds the array
//                                        (S3 delivery, API output)
//   r\nr\n...                            NDJSON, one record per line
//   {\n  ...\n}{\n ...}                  pretty-printed records one after another
//                                        (a single finding saved from a console)
// Lines longer than limits.max_line_bytes become dead letters here; every other
// record, well-formed or not, goes to `record`. A truncated input keeps its
// complete records, passes the partial tail on as a record (which then fails to
// parse) and warns. Fails only on empty input or a wrapper key that does not
// hold an array. The depth limit is the record builder's to enforce, so a too
// deep record becomes one dead letter instead of hiding its neighbours.
Status ForEachJsonRecord(const ParseInput& in, std::string_view wrapper_key, const InputLimits& limits, ParseSink& sink,
                         const RecordFn& record);

// Where the first record of an input head starts, for recognisers (the array's
// first element, the wrapper array's first element, or the first line or
// value): the rest of the head from there, not cut at the record's end (key
// visits stop there by themselves; finding the end would cost a pass). Empty
// when the head does not start like any shape above.
std::string_view FirstJsonRecord(std::string_view head, std::string_view wrapper_key);

// The top-level string value of `key` as written (escapes kept), or empty.
std::string_view TopLevelString(std::string_view record, std::string_view key);

// True when the first key of the object `record` holds an array: a container
// of records such as CloudTrail's `{"Records":[...]}`, never a record that
// the finding types recognise. Looks at the first key only.
bool FirstValueIsArray(std::string_view record);

// The string value whose opening quote is at `pos`, as written (escapes kept),
// or empty when no string starts there.
std::string_view JsonStringAt(std::string_view text, size_t pos);

// Which top-level keys of the object `record` are among `keys` (bit i set when
// keys[i] is present), with the value offsets of the present ones in
// `values` (npos for absent keys). One pass over the record.
uint64_t FindTopLevelKeys(std::string_view record, std::span<const std::string_view> keys, std::span<size_t> values);

// The exact bytes of the top-level value of `key` (any JSON type), or empty.
std::string_view TopLevelValue(std::string_view record, std::string_view key);

// Builds an Event from one record's exact bytes; *time_warning says why the
// event time fell back to ingest time, if it did.
using BuildEventFn = Status (*)(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* out,
                                std::string* time_warning);

// Builds the record's Event and hands it to the sink; a record that does not
// build becomes a dead letter with the reason, a time warning a warning.
void EmitJsonRecord(const ParseInput& in, std::string_view raw, uint64_t index, const InputLimits& limits,
                    BuildEventFn build, ParseSink& sink);

// The parts every JSON log type sets the same way: copies `raw` into ev->raw
// (exact, with zeroed spare capacity so the parse reads it in place), parses
// the fields (limits enforced), sets source type and ingest time. Clears
// account, principal and resources.
Status StartJsonEvent(std::string_view raw, std::string_view source_type, int64_t ingest_time_ns,
                      const InputLimits& limits, Event* ev);

// Event time: the first of `paths` whose value parses as a timestamp. When none
// does, the ingest time, with time_fallback set and *time_warning naming the
// first path ("no eventTime; ..." or "unusable eventTime \"...\"; ...").
void SetEventTime(std::span<const FieldPath> paths, Event* ev, std::string* time_warning);

// Sets ev->principal to the first non-empty string at `paths`; true when one was found.
bool SetPrincipal(std::span<const FieldPath> paths, Event* ev);

// Appends every non-empty string at `path` to ev->resources.
void AddResources(const FieldPath& path, Event* ev);

// Event id of a finding that its producer updates in place and re-delivers
// (GuardDuty, Security Hub): `<finding id>@<updated at, RFC 3339>`, so each
// update is a new event and the same delivery seen twice keeps one id. When
// `updated_at` is not a timestamp, its place is taken by a content hash; when
// the finding has no id, the id is ContentId(source_type, raw).
std::string FindingEventId(std::string_view source_type, std::string_view finding_id, std::string_view updated_at,
                           std::string_view raw);

}  // namespace vigil
