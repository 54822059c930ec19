#include "formats/cloudtrail.h"

#include <cstring>
#include <string>

#include "common/glob.h"
#include "common/time.h"
#include "event/json_fields.h"
#include "formats/json_split.h"

namespace vigil {
namespace {

const FieldPath& P(int i) {
  static const FieldPath kPaths[] = {
      FieldPath("eventID"),                 // 0
      FieldPath("eventTime"),               // 1
      FieldPath("recipientAccountId"),      // 2
      FieldPath("userIdentity.accountId"),  // 3
      FieldPath("userIdentity.arn"),        // 4
      FieldPath("userIdentity.principalId"),// 5
      FieldPath("userIdentity.invokedBy"),  // 6
      FieldPath("resources.ARN"),           // 7
  };
  return kPaths[i];
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

bool LooksLikeRecord(std::string_view head) {
  return head.find("\"eventName\"") != std::string_view::npos &&
         (head.find("\"eventSource\"") != std::string_view::npos ||
          head.find("\"eventVersion\"") != std::string_view::npos);
}

// Record framing does not enforce the depth limit: each record's own parse does,
// so a too-deep record becomes one dead letter instead of hiding its neighbours.
constexpr size_t kNoDepthLimit = ~size_t{0};

class CloudTrailParser final : public Parser {
 public:
  explicit CloudTrailParser(const InputLimits& limits) : limits_(limits) {}

  std::string_view name() const override { return kCloudTrail; }

  bool Recognize(std::string_view head) const override {
    size_t pos = SkipJsonSpace(head, 0);
    if (pos >= head.size()) return false;
    if (head[pos] == '{') {
      size_t q = SkipJsonSpace(head, pos + 1);
      if (head.substr(q, 9) == "\"Records\"") return true;
      size_t nl = head.find('\n', pos);
      return LooksLikeRecord(head.substr(pos, nl == std::string_view::npos ? head.size() - pos : nl - pos));
    }
    if (head[pos] == '[') return LooksLikeRecord(head.substr(pos, 16384));
    return false;
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    std::string_view t = in.bytes;
    size_t pos = SkipJsonSpace(t, 0);
    if (pos >= t.size()) return Status::InvalidArgument(std::string(in.name) + ": empty input");
    std::vector<JsonSpan> spans;
    Status framing;
    if (t[pos] == '[') {
      framing = SplitJsonArray(t, pos, kNoDepthLimit, &spans);
    } else if (t[pos] == '{' && t.substr(SkipJsonSpace(t, pos + 1), 9) == "\"Records\"") {
      size_t arr = FindTopLevelKey(t, "Records", kNoDepthLimit);
      if (arr == std::string_view::npos || arr >= t.size() || t[arr] != '[')
        return Status::InvalidArgument(std::string(in.name) + ": \"Records\" is not an array");
      framing = SplitJsonArray(t, arr, kNoDepthLimit, &spans);
    } else {
      return ParseLines(in, sink);
    }
    uint64_t index = 0;
    for (const JsonSpan& s : spans) EmitRecord(in, t.substr(s.begin, s.end - s.begin), index++, sink);
    if (!framing.ok()) sink.OnWarning(in.name, framing.message());
    return Status::Ok();
  }

 private:
  Status ParseLines(const ParseInput& in, ParseSink& sink) const {
    std::string_view t = in.bytes;
    uint64_t index = 0;
    size_t pos = 0;
    while (pos < t.size()) {
      size_t nl = t.find('\n', pos);
      if (nl == std::string_view::npos) nl = t.size();
      std::string_view line = TrimSpace(t.substr(pos, nl - pos));
      pos = nl + 1;
      if (line.empty()) continue;
      if (line.size() > limits_.max_line_bytes) {
        sink.OnDeadLetter(DeadLetter{std::string(in.name), index++,
                                     "line of " + std::to_string(line.size()) + " bytes exceeds the limit of " +
                                         std::to_string(limits_.max_line_bytes) + " bytes",
                                     std::string(line.substr(0, 65536))});
        continue;
      }
      EmitRecord(in, line, index++, sink);
    }
    return Status::Ok();
  }

  void EmitRecord(const ParseInput& in, std::string_view raw, uint64_t index, ParseSink& sink) const {
    Event ev;
    std::string warning;
    Status st = BuildCloudTrailEvent(raw, in.ingest_time_ns, limits_, &ev, &warning);
    if (!st.ok()) {
      sink.OnDeadLetter(DeadLetter{std::string(in.name), index, st.message(), std::string(raw.substr(0, 65536))});
      return;
    }
    if (!warning.empty()) sink.OnWarning(in.name, "record " + std::to_string(index) + ": " + warning);
    sink.OnEvent(std::move(ev));
  }

  InputLimits limits_;
};

}  // namespace

Status BuildCloudTrailEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* ev,
                            std::string* time_warning) {
  JsonLimits jl{limits.max_record_bytes, limits.max_depth};
  // The event keeps the raw bytes anyway: copy them once, with spare capacity
  // (zeroed) so the JSON parse can read them in place.
  ev->raw.clear();
  ev->raw.reserve(raw.size() + kJsonPadding);
  ev->raw.assign(raw);
  std::memset(ev->raw.data() + raw.size(), 0, kJsonPadding);  // within capacity, past size
  auto fields = ParseJsonFields(ev->raw, jl, ev->raw.capacity() - ev->raw.size());
  if (!fields.ok()) return fields.status();
  ev->fields = std::move(fields).value();
  ev->source_type = std::string(kCloudTrail);
  ev->ingest_time_ns = ingest_time_ns;

  std::string event_id = ev->FirstString(P(0));
  ev->id = IsUuid(event_id) ? event_id : ContentId(kCloudTrail, raw);

  std::string when = ev->FirstString(P(1));
  auto t = ParseTimestamp(when);
  if (t) {
    ev->time_ns = *t;
    ev->time_fallback = false;
  } else {
    ev->time_ns = ingest_time_ns;
    ev->time_fallback = true;
    if (time_warning)
      *time_warning = when.empty() ? "no eventTime; using ingest time"
                                   : "unusable eventTime \"" + when.substr(0, 64) + "\"; using ingest time";
  }
  ev->account = ev->FirstString(P(2));
  if (ev->account.empty()) ev->account = ev->FirstString(P(3));
  for (int i : {4, 5, 6}) {
    ev->principal = ev->FirstString(P(i));
    if (!ev->principal.empty()) break;
  }
  if (ev->principal.empty()) ev->principal = ev->FirstString(P(3));
  if (ev->principal.empty()) ev->principal = ev->account;
  ev->resources.clear();
  ev->fields->Visit(P(7), [&](const FieldValue& v) {
    if (v.kind == ValueKind::kString && !v.text.empty()) ev->resources.emplace_back(v.text);
    return true;
  });
  return Status::Ok();
}

std::unique_ptr<Parser> MakeCloudTrailParser(const InputLimits& limits) {
  return std::make_unique<CloudTrailParser>(limits);
}

}  // namespace vigil
