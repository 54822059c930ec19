#include "formats/text_lines.h"

#include <charconv>

#include "common/time.h"

namespace vigil {
namespace {

constexpr size_t kDeadLetterBytes = 65536;

}  // namespace

Status ForEachLine(const ParseInput& in, const InputLimits& limits, ParseSink& sink, const LineFn& line) {
  std::string_view rest = in.bytes;
  if (rest.empty()) return Status::InvalidArgument(std::string(in.name) + ": empty input");
  uint64_t index = 0;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view l = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.size() > limits.max_line_bytes) {
      EmitBadLine(in, index, l,
                  "line of " + std::to_string(l.size()) + " bytes exceeds the limit of " +
                      std::to_string(limits.max_line_bytes) + " bytes",
                  sink);
    } else if (l.find_first_not_of(" \t") != std::string_view::npos) {
      line(l, index);
    }
    ++index;
  }
  return Status::Ok();
}

std::string_view FirstLine(std::string_view head) {
  std::string_view l = head.substr(0, head.find('\n'));
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  return l;
}

bool SplitFields(std::string_view line, const SplitOptions& options, std::vector<std::string_view>* fields,
                 std::string* error) {
  fields->clear();
  size_t i = 0;
  const size_t n = line.size();
  while (fields->size() < options.max_fields) {
    while (i < n && line[i] == ' ') ++i;
    if (i == n) break;
    const char open = line[i];
    if (open == '"' || (open == '[' && options.brackets)) {
      const char close = open == '"' ? '"' : ']';
      size_t j = i + 1;
      for (;; ++j) {
        j = line.find(close, j);
        if (j == std::string_view::npos) {
          *error = std::string(open == '"' ? "unterminated quote" : "unterminated [") + " in field " +
                   std::to_string(fields->size() + 1);
          return false;
        }
        if (j + 1 == n || line[j + 1] == ' ') break;
      }
      fields->push_back(line.substr(i + 1, j - i - 1));
      i = j + 1;
    } else {
      size_t j = line.find(' ', i);
      if (j == std::string_view::npos) j = n;
      fields->push_back(line.substr(i, j - i));
      i = j;
    }
  }
  return true;
}

Status ForEachSplitLine(const ParseInput& in, const InputLimits& limits, const SplitOptions& options, ParseSink& sink,
                        const FieldsFn& fn) {
  std::vector<std::string_view> fields;
  std::string error;
  return ForEachLine(in, limits, sink, [&](std::string_view line, uint64_t index) {
    if (!SplitFields(line, options, &fields, &error)) {
      EmitBadLine(in, index, line, error, sink);
      return;
    }
    fn(line, index, fields);
  });
}

bool SplitFirstLine(std::string_view head, const SplitOptions& options, std::vector<std::string_view>* fields) {
  if (head.empty() || !((head[0] >= 'a' && head[0] <= 'z') || (head[0] >= '0' && head[0] <= '9'))) return false;
  std::string error;
  return SplitFields(FirstLine(head.substr(0, 4096)), options, fields, &error);
}

void StartTextEvent(std::string_view source_type, std::string_view line, int64_t ingest_time_ns,
                    std::shared_ptr<const FieldTable> table, std::span<const std::string_view> values, Event* ev) {
  ev->raw.assign(line);
  ev->id = ContentId(source_type, line);
  ev->source_type = std::string(source_type);
  ev->ingest_time_ns = ingest_time_ns;
  ev->fields = std::make_shared<const DelimitedFields>(std::move(table), values);
  ev->account.clear();
  ev->principal.clear();
  ev->resources.clear();
}

void SetTextEventTime(std::optional<int64_t> t, std::string_view field, std::string_view value, Event* ev,
                      std::string* time_warning) {
  if (t) {
    ev->time_ns = *t;
    ev->time_fallback = false;
    return;
  }
  ev->time_ns = ev->ingest_time_ns;
  ev->time_fallback = true;
  if (!time_warning) return;
  *time_warning = value.empty() || value == "-" ? "no " + std::string(field) + "; using ingest time"
                                                : "unusable " + std::string(field) + " \"" +
                                                      std::string(value.substr(0, 64)) + "\"; using ingest time";
}

void EmitTextEvent(const ParseInput& in, uint64_t index, Event&& ev, const std::string& time_warning, ParseSink& sink) {
  if (!time_warning.empty()) sink.OnWarning(in.name, "record " + std::to_string(index) + ": " + time_warning);
  sink.OnEvent(std::move(ev));
}

void EmitBadLine(const ParseInput& in, uint64_t index, std::string_view line, std::string reason, ParseSink& sink) {
  sink.OnDeadLetter(
      DeadLetter{std::string(in.name), index, std::move(reason), std::string(line.substr(0, kDeadLetterBytes))});
}

std::optional<int64_t> ParseUnixSeconds(std::string_view s) {
  int64_t secs = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), secs);
  // Up to the year 2262, where int64 nanoseconds end.
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || secs < 0 || secs > 9'200'000'000)
    return std::nullopt;
  return secs * kNanosPerSecond;
}

void AddResource(std::string_view value, Event* ev) {
  if (!value.empty() && value != "-") ev->resources.emplace_back(value);
}

}  // namespace vigil
