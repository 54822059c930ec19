#include "formats/json_records.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/glob.h"
#include "common/time.h"
#include "event/json_fields.h"
#include "formats/json_split.h"

namespace vigil {
namespace {

constexpr size_t kNoDepthLimit = ~size_t{0};
constexpr size_t kNpos = std::string_view::npos;
constexpr size_t kDeadLetterBytes = 65536;

// True when the object whose '{' is at `open` starts with key `key`.
bool FirstKeyIs(std::string_view t, size_t open, std::string_view key) {
  if (key.empty()) return false;
  size_t q = SkipJsonSpace(t, open + 1);
  return q + key.size() + 2 <= t.size() && t[q] == '"' && t.substr(q + 1, key.size()) == key &&
         t[q + 1 + key.size()] == '"';
}

void EmitLines(const ParseInput& in, size_t pos, const InputLimits& limits, ParseSink& sink, const RecordFn& record) {
  std::string_view t = in.bytes;
  uint64_t index = 0;
  while (pos < t.size()) {
    size_t nl = t.find('\n', pos);
    if (nl == kNpos) nl = t.size();
    std::string_view line = TrimSpace(t.substr(pos, nl - pos));
    pos = nl + 1;
    if (line.empty()) continue;
    if (line.size() > limits.max_line_bytes) {
      sink.OnDeadLetter(DeadLetter{std::string(in.name), index++,
                                   "line of " + std::to_string(line.size()) + " bytes exceeds the limit of " +
                                       std::to_string(limits.max_line_bytes) + " bytes",
                                   std::string(line.substr(0, kDeadLetterBytes))});
      continue;
    }
    record(line, index++);
  }
}

void EmitValues(const ParseInput& in, size_t pos, ParseSink& sink, const RecordFn& record) {
  std::string_view t = in.bytes;
  uint64_t index = 0;
  for (pos = SkipJsonSpace(t, pos); pos < t.size(); pos = SkipJsonSpace(t, pos)) {
    size_t end = SkipJsonValue(t, pos, kNoDepthLimit);
    if (end == kNpos) {
      record(t.substr(pos), index++);
      sink.OnWarning(in.name, "input ends inside the record starting at byte " + std::to_string(pos));
      return;
    }
    if (end <= pos) {  // a stray closing bracket or comma: the rest of its line is one bad record
      end = t.find('\n', pos);
      if (end == kNpos) end = t.size();
    }
    record(t.substr(pos, end - pos), index++);
    pos = end;
  }
}

}  // namespace

Status ForEachJsonRecord(const ParseInput& in, std::string_view wrapper_key, const InputLimits& limits, ParseSink& sink,
                         const RecordFn& record) {
  std::string_view t = in.bytes;
  size_t pos = SkipJsonSpace(t, 0);
  if (pos >= t.size()) return Status::InvalidArgument(std::string(in.name) + ": empty input");
  size_t open = kNpos;  // the records' array
  if (t[pos] == '[') {
    open = pos;
  } else if (t[pos] == '{' && FirstKeyIs(t, pos, wrapper_key)) {
    open = FindTopLevelKey(t, wrapper_key, kNoDepthLimit);
    if (open == kNpos || open >= t.size() || t[open] != '[')
      return Status::InvalidArgument(std::string(in.name) + ": \"" + std::string(wrapper_key) + "\" is not an array");
  } else {
    // NDJSON unless the first record runs past its line: then pretty-printed
    // records follow one another. A first line that never completes is a
    // broken NDJSON line, unless it is a lone '{' (a truncated document).
    size_t nl = t.find('\n', pos);
    size_t first_end = SkipJsonValue(t, pos, kNoDepthLimit);
    bool lines = nl == kNpos || (first_end != kNpos && first_end <= nl) ||
                 (first_end == kNpos && TrimSpace(t.substr(pos, nl - pos)) != "{");
    if (lines) {
      EmitLines(in, pos, limits, sink, record);
    } else {
      EmitValues(in, pos, sink, record);
    }
    return Status::Ok();
  }
  // Each record is built as soon as the scan finds its end, while its bytes
  // are still in cache.
  uint64_t index = 0;
  Status framing = ForEachJsonArrayElement(t, open, kNoDepthLimit, [&](const JsonSpan& s) {
    record(t.substr(s.begin, s.end - s.begin), index++);
  });
  if (!framing.ok()) sink.OnWarning(in.name, framing.message());
  return Status::Ok();
}

std::string_view FirstJsonRecord(std::string_view head, std::string_view wrapper_key) {
  size_t pos = SkipJsonSpace(head, 0);
  if (pos >= head.size()) return {};
  if (head[pos] == '{' && FirstKeyIs(head, pos, wrapper_key)) {
    size_t arr = FindTopLevelKey(head.substr(pos), wrapper_key, kNoDepthLimit);
    if (arr == kNpos) return {};
    pos += arr;
    if (pos >= head.size() || head[pos] != '[') return {};
  }
  if (head[pos] == '[') {
    pos = SkipJsonSpace(head, pos + 1);
    if (pos >= head.size() || head[pos] != '{') return {};
  }
  if (head[pos] != '{') return {};
  return head.substr(pos);
}

bool FirstValueIsArray(std::string_view record) {
  bool array = false;
  VisitTopLevelKeys(record, kNoDepthLimit, [&](std::string_view, size_t value) {
    array = value < record.size() && record[value] == '[';
    return false;
  });
  return array;
}

std::string_view TopLevelValue(std::string_view record, std::string_view key) {
  size_t pos = FindTopLevelKey(record, key, kNoDepthLimit);
  if (pos == kNpos || pos >= record.size()) return {};
  size_t end = SkipJsonValue(record, pos, kNoDepthLimit);
  return end == kNpos ? std::string_view() : record.substr(pos, end - pos);
}

std::string_view JsonStringAt(std::string_view text, size_t pos) {
  if (pos >= text.size() || text[pos] != '"') return {};
  size_t end = SkipJsonValue(text, pos, kNoDepthLimit);
  return end == kNpos ? std::string_view() : text.substr(pos + 1, end - pos - 2);
}

std::string_view TopLevelString(std::string_view record, std::string_view key) {
  return JsonStringAt(record, FindTopLevelKey(record, key, kNoDepthLimit));
}

uint64_t FindTopLevelKeys(std::string_view record, std::span<const std::string_view> keys, std::span<size_t> values) {
  uint64_t found = 0;
  std::fill(values.begin(), values.end(), kNpos);
  VisitTopLevelKeys(record, kNoDepthLimit, [&](std::string_view k, size_t value) {
    for (size_t i = 0; i < keys.size() && i < 64; ++i) {
      if (k != keys[i] || (found >> i & 1)) continue;
      found |= uint64_t{1} << i;
      if (i < values.size()) values[i] = value;
    }
    return true;
  });
  return found;
}

void EmitJsonRecord(const ParseInput& in, std::string_view raw, uint64_t index, const InputLimits& limits,
                    BuildEventFn build, ParseSink& sink) {
  Event ev;
  std::string warning;
  Status st = build(raw, in.ingest_time_ns, limits, &ev, &warning);
  if (!st.ok()) {
    sink.OnDeadLetter(
        DeadLetter{std::string(in.name), index, st.message(), std::string(raw.substr(0, kDeadLetterBytes))});
    return;
  }
  if (!warning.empty()) sink.OnWarning(in.name, "record " + std::to_string(index) + ": " + warning);
  sink.OnEvent(std::move(ev));
}

Status StartJsonEvent(std::string_view raw, std::string_view source_type, int64_t ingest_time_ns,
                      const InputLimits& limits, Event* ev) {
  JsonLimits jl{limits.max_record_bytes, limits.max_depth};
  if (raw.size() > jl.max_record_bytes)  // before the copy below: an oversized record costs nothing
    return ParseJsonFields(raw, jl).status();
  // The event keeps the raw bytes anyway: copy them once, with spare capacity
  // (zeroed) so the JSON parse can read them in place.
  ev->raw.clear();
  ev->raw.reserve(raw.size() + kJsonPadding);
  ev->raw.assign(raw);
  std::memset(ev->raw.data() + raw.size(), 0, kJsonPadding);  // within capacity, past size
  auto fields = ParseJsonFields(ev->raw, jl, ev->raw.capacity() - ev->raw.size());
  if (!fields.ok()) return fields.status();
  ev->fields = std::move(fields).value();
  ev->source_type = std::string(source_type);
  ev->ingest_time_ns = ingest_time_ns;
  ev->account.clear();
  ev->principal.clear();
  ev->resources.clear();
  return Status::Ok();
}

void SetEventTime(std::span<const FieldPath> paths, Event* ev, std::string* time_warning) {
  // Parsed in place (no copy of the text) on the common path.
  std::string scratch;
  for (const FieldPath& path : paths) {
    std::optional<int64_t> t;
    std::string_view text;
    if (ev->fields && ev->fields->FirstScalar(path, &text, &scratch)) t = ParseTimestamp(text);
    if (t) {
      ev->time_ns = *t;
      ev->time_fallback = false;
      return;
    }
  }
  const std::string first = paths.empty() ? std::string() : ev->FirstString(paths[0]);
  ev->time_ns = ev->ingest_time_ns;
  ev->time_fallback = true;
  if (time_warning && !paths.empty()) {
    const std::string& name = paths[0].str();
    *time_warning = first.empty() ? "no " + name + "; using ingest time"
                                  : "unusable " + name + " \"" + first.substr(0, 64) + "\"; using ingest time";
  }
}

bool SetPrincipal(std::span<const FieldPath> paths, Event* ev) {
  for (const FieldPath& p : paths) {
    ev->principal = ev->FirstString(p);
    if (!ev->principal.empty()) return true;
  }
  return false;
}

std::string FindingEventId(std::string_view source_type, std::string_view finding_id, std::string_view updated_at,
                           std::string_view raw) {
  if (finding_id.empty()) return ContentId(source_type, raw);
  auto t = ParseTimestamp(updated_at);
  return std::string(finding_id) + "@" + (t ? FormatRfc3339(*t) : ContentId(source_type, raw));
}

void AddResources(const FieldPath& path, Event* ev) {
  if (!ev->fields) return;
  thread_local FieldValueList values;  // reused: no allocation per event
  values.clear();
  ev->fields->Collect(path, &values);
  for (size_t i = 0; i < values.size(); ++i) {
    const FieldValue v = values.at(i);
    if (v.kind == ValueKind::kString && !v.text.empty()) ev->resources.emplace_back(v.text);
  }
}

}  // namespace vigil
