// What the delimited text log types (vpcflow, alb, s3access) share: framing an
// input into lines, splitting a line into space-separated fields, building an
// Event over a FieldTable, and the event time rule for times that are not
// RFC 3339 text.
//
// Lifetime: line and field views point into the input's bytes and are valid
// during the callback only; an Event built here owns copies.
// Thread safety: the functions keep no state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/delimited_fields.h"
#include "event/event.h"
#include "formats/parser.h"

namespace vigil {

// Receives one line (without its `\n` or `\r\n`) and its index among the
// input's lines (0-based, blank lines counted, so it is the line number - 1).
using LineFn = std::function<void(std::string_view line, uint64_t index)>;

// Calls `line` for every non-blank line. A line longer than
// limits.max_line_bytes becomes a dead letter. Fails only on empty input.
Status ForEachLine(const ParseInput& in, const InputLimits& limits, ParseSink& sink, const LineFn& line);

// The first line of a recogniser's head (possibly cut short by the head's end).
std::string_view FirstLine(std::string_view head);

struct SplitOptions {
  // `[...]` is one field (S3's time), brackets dropped.
  bool brackets = false;
  // Stop after this many fields (the rest of the line is not looked at).
  size_t max_fields = 64;
};

// Splits a line at runs of spaces. A field opening with `"` runs to the next
// `"` that ends the line or is followed by a space, so spaces and stray quotes
// inside it are kept; the quotes are dropped and backslash escapes kept as
// written. On an unterminated quote or bracket returns false with *error set.
bool SplitFields(std::string_view line, const SplitOptions& options, std::vector<std::string_view>* fields,
                 std::string* error);

// Receives one line, its index (as for LineFn) and its fields (SplitFields),
// which the callee may change.
using FieldsFn = std::function<void(std::string_view line, uint64_t index, std::vector<std::string_view>& fields)>;

// ForEachLine, with each line split into fields; a line that does not split
// (an unterminated quote) becomes a dead letter naming the field.
Status ForEachSplitLine(const ParseInput& in, const InputLimits& limits, const SplitOptions& options, ParseSink& sink,
                        const FieldsFn& fn);

// For recognisers: splits the first line of `head` (up to options.max_fields
// fields, looking at 4 KiB at most). False when the head does not start with a
// lowercase letter or a digit, as no JSON or binary input does, or the line
// does not split.
bool SplitFirstLine(std::string_view head, const SplitOptions& options, std::vector<std::string_view>* fields);

// Starts an Event over `line`: raw = line, id = ContentId(source_type, line),
// fields = a DelimitedFields over `values` (which may add derived columns
// after the line's own), source type and ingest time set.
void StartTextEvent(std::string_view source_type, std::string_view line, int64_t ingest_time_ns,
                    std::shared_ptr<const FieldTable> table, std::span<const std::string_view> values, Event* ev);

// Event time for text logs, with the JSON types' rule: `t` when set; else the
// ingest time, time_fallback set and *time_warning naming the field ("no
// start; using ingest time" or "unusable start \"x\"; using ingest time").
void SetTextEventTime(std::optional<int64_t> t, std::string_view field, std::string_view value, Event* ev,
                      std::string* time_warning);

// Hands a built event (and its time warning, if any) to the sink.
void EmitTextEvent(const ParseInput& in, uint64_t index, Event&& ev, const std::string& time_warning, ParseSink& sink);

// A dead letter for line `index` with `reason`.
void EmitBadLine(const ParseInput& in, uint64_t index, std::string_view line, std::string reason, ParseSink& sink);

// Unix seconds (`1418530010`) as nanoseconds, or nullopt.
std::optional<int64_t> ParseUnixSeconds(std::string_view s);

// Appends `value` to ev->resources unless it is empty or `-`.
void AddResource(std::string_view value, Event* ev);

}  // namespace vigil
