#include "formats/cloudwatchlogs.h"

#include <simdjson.h>

#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "formats/json_records.h"
#include "formats/json_split.h"

namespace vigil {
namespace {

constexpr size_t kNpos = std::string_view::npos;
constexpr size_t kNoDepthLimit = ~size_t{0};
constexpr size_t kDeadLetterBytes = 65536;
constexpr int64_t kNanosPerMilli = 1'000'000;

// What one payload says about all its log events.
struct PayloadContext {
  std::string owner, log_group, log_stream;
  std::vector<std::string> filters;
};

// One log event's own part of the context.
struct LogEventRef {
  std::string id;
  std::optional<int64_t> timestamp_ms;
};

// The inner record's fields, with the payload's context under `cloudwatch.`.
// Owns (shares) everything it answers from.
class CloudWatchFields final : public FieldResolver {
 public:
  CloudWatchFields(std::shared_ptr<const FieldResolver> inner, std::shared_ptr<const PayloadContext> context,
                   const LogEventRef& ref)
      : inner_(std::move(inner)),
        context_(std::move(context)),
        id_(ref.id),
        timestamp_(ref.timestamp_ms ? std::to_string(*ref.timestamp_ms) : std::string()),
        timestamp_ms_(ref.timestamp_ms.value_or(0)) {}

  bool Visit(const FieldPath& path, const FieldVisitor& visitor) const override {
    if (auto own = Own(path)) return VisitOwn(*own, visitor);
    return inner_ && inner_->Visit(path, visitor);
  }
  void VisitAllScalars(const FieldVisitor& visitor) const override {
    if (inner_) inner_->VisitAllScalars(visitor);
  }
  bool Collect(const FieldPath& path, FieldValueList* out) const override {
    if (Own(path)) return FieldResolver::Collect(path, out);
    return inner_ && inner_->Collect(path, out);
  }

 private:
  enum class Key { kOwner, kLogGroup, kLogStream, kFilters, kId, kTimestamp };

  static std::optional<Key> Own(const FieldPath& path) {
    const auto& parts = path.parts();
    if (parts.size() != 2 || parts[0] != "cloudwatch") return std::nullopt;
    static constexpr std::pair<std::string_view, Key> kKeys[] = {{"owner", Key::kOwner},
                                                                 {"logGroup", Key::kLogGroup},
                                                                 {"logStream", Key::kLogStream},
                                                                 {"subscriptionFilters", Key::kFilters},
                                                                 {"id", Key::kId},
                                                                 {"timestamp", Key::kTimestamp}};
    for (const auto& [name, key] : kKeys)
      if (parts[1] == name) return key;
    return std::nullopt;
  }

  static bool VisitString(std::string_view s, const FieldVisitor& visitor) {
    FieldValue v;
    v.kind = ValueKind::kString;
    v.text = s;
    visitor(v);
    return true;
  }

  bool VisitOwn(Key key, const FieldVisitor& visitor) const {
    switch (key) {
      case Key::kOwner:
        return VisitString(context_->owner, visitor);
      case Key::kLogGroup:
        return VisitString(context_->log_group, visitor);
      case Key::kLogStream:
        return VisitString(context_->log_stream, visitor);
      case Key::kId:
        return VisitString(id_, visitor);
      case Key::kFilters:
        for (const std::string& f : context_->filters) {
          FieldValue v;
          v.kind = ValueKind::kString;
          v.text = f;
          if (!visitor(v)) break;
        }
        return true;
      case Key::kTimestamp: {
        if (timestamp_.empty()) return false;
        FieldValue v;
        v.kind = ValueKind::kNumber;
        v.text = timestamp_;
        v.number = static_cast<double>(timestamp_ms_);
        v.is_integer = true;
        visitor(v);
        return true;
      }
    }
    return false;
  }

  std::shared_ptr<const FieldResolver> inner_;
  std::shared_ptr<const PayloadContext> context_;
  std::string id_;
  std::string timestamp_;
  int64_t timestamp_ms_;
};

std::optional<int64_t> MillisToNanos(int64_t ms) {
  // Within int64 nanoseconds (up to the year 2262), and not before the epoch.
  if (ms < 0 || ms > 9'200'000'000'000) return std::nullopt;
  return ms * kNanosPerMilli;
}

// Hands what the inner parser makes of one log event's message to the sink,
// as the log event's: dead letters and warnings say which log event, events
// get the payload's context. With a usable log event timestamp the inner
// parse ran with it as its ingest time, so a time fallback means that
// timestamp: the event keeps it, unflagged and unwarned, and gets the real
// ingest time back.
class UnwrappingSink final : public ParseSink {
 public:
  UnwrappingSink(ParseSink& out, std::string_view input, uint64_t index, std::string where,
                 std::optional<int64_t> fallback, int64_t ingest_time_ns,
                 const std::shared_ptr<const PayloadContext>& context, const LogEventRef& ref)
      : out_(out),
        input_(input),
        index_(index),
        where_(std::move(where)),
        fallback_(fallback),
        ingest_time_ns_(ingest_time_ns),
        context_(context),
        ref_(ref) {}

  void OnEvent(Event&& e) override {
    if (fallback_) {
      e.time_fallback = false;
      e.ingest_time_ns = ingest_time_ns_;
    }
    if (e.account.empty()) e.account = context_->owner;
    e.fields = std::make_shared<const CloudWatchFields>(std::move(e.fields), context_, ref_);
    out_.OnEvent(std::move(e));
  }
  void OnDeadLetter(DeadLetter&& d) override {
    d.record = index_;
    d.reason = where_ + d.reason;
    out_.OnDeadLetter(std::move(d));
  }
  void OnWarning(std::string_view, std::string_view message) override {
    if (fallback_ && message.ends_with("; using ingest time")) return;  // the log event's timestamp stood in
    out_.OnWarning(input_, where_ + std::string(message));
  }

 private:
  ParseSink& out_;
  std::string_view input_;
  uint64_t index_;
  std::string where_;
  std::optional<int64_t> fallback_;
  int64_t ingest_time_ns_;
  const std::shared_ptr<const PayloadContext>& context_;
  const LogEventRef& ref_;
};

class CloudWatchLogsParser final : public Parser {
 public:
  explicit CloudWatchLogsParser(const InputLimits& limits) : limits_(limits) {}

  std::string_view name() const override { return kCloudWatchLogs; }

  bool Recognize(std::string_view head) const override {
    // A payload is an object: `{` first (arrays of payloads are not a shape
    // CloudWatch or Firehose writes).
    size_t pos = SkipJsonSpace(head, 0);
    if (pos >= head.size() || head[pos] != '{') return false;
    std::string_view first = head.substr(pos);
    if (FirstValueIsArray(first)) return false;
    static constexpr std::string_view kKeys[] = {"messageType", "logGroup"};
    size_t at[std::size(kKeys)];
    if (FindTopLevelKeys(first, kKeys, at) != 0b11) return false;
    std::string_view type = JsonStringAt(first, at[0]);
    return type == "DATA_MESSAGE" || type == "CONTROL_MESSAGE";
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    std::string_view t = in.bytes;
    size_t pos = SkipJsonSpace(t, 0);
    if (pos >= t.size()) return Status::InvalidArgument(std::string(in.name) + ": empty input");
    State state(in, sink);
    // Payloads one after another, with or without whitespace between.
    for (; pos < t.size(); pos = SkipJsonSpace(t, pos)) {
      size_t end = SkipJsonValue(t, pos, kNoDepthLimit);
      if (end == kNpos) {
        sink.OnWarning(in.name, "input ends inside the payload starting at byte " + std::to_string(pos));
        end = t.size();
      } else if (end <= pos) {  // a stray closing bracket or comma: the rest of its line is one bad payload
        end = t.find('\n', pos);
        if (end == kNpos) end = t.size();
      }
      ParsePayload(t.substr(pos, end - pos), state);
      pos = end;
    }
    return Status::Ok();
  }

 private:
  struct State {
    State(const ParseInput& i, ParseSink& s) : in(i), sink(s) {}
    const ParseInput& in;
    ParseSink& sink;
    uint64_t index = 0;  // the next record index
    simdjson::dom::parser json;
  };

  void Dead(State& s, std::string reason, std::string_view raw) const {
    s.sink.OnDeadLetter(
        DeadLetter{std::string(s.in.name), s.index++, std::move(reason), std::string(raw.substr(0, kDeadLetterBytes))});
  }

  void ParsePayload(std::string_view payload, State& s) const {
    simdjson::dom::element doc;
    if (auto err = s.json.parse(payload.data(), payload.size()).get(doc)) {
      Dead(s, std::string("payload is not JSON: ") + simdjson::error_message(err), payload);
      return;
    }
    simdjson::dom::object obj;
    if (doc.get(obj) != simdjson::SUCCESS) {
      Dead(s, "payload is not a JSON object", payload);
      return;
    }
    std::string_view type;
    if (obj["messageType"].get(type) != simdjson::SUCCESS) {
      Dead(s, "payload without a messageType", payload);
      return;
    }
    if (type == "CONTROL_MESSAGE") return;
    if (type != "DATA_MESSAGE") {
      Dead(s, "messageType \"" + std::string(type.substr(0, 64)) + "\" is neither DATA_MESSAGE nor CONTROL_MESSAGE",
           payload);
      return;
    }
    simdjson::dom::array events;
    if (obj["logEvents"].get(events) != simdjson::SUCCESS) {
      Dead(s, "DATA_MESSAGE payload without a logEvents array", payload);
      return;
    }
    auto context = std::make_shared<PayloadContext>();
    std::string_view text;
    if (obj["owner"].get(text) == simdjson::SUCCESS) context->owner = text;
    if (obj["logGroup"].get(text) == simdjson::SUCCESS) context->log_group = text;
    if (obj["logStream"].get(text) == simdjson::SUCCESS) context->log_stream = text;
    simdjson::dom::array filters;
    if (obj["subscriptionFilters"].get(filters) == simdjson::SUCCESS) {
      for (simdjson::dom::element f : filters)
        if (f.get(text) == simdjson::SUCCESS) context->filters.emplace_back(text);
    }
    std::shared_ptr<const PayloadContext> shared = std::move(context);
    for (simdjson::dom::element e : events) {
      LogEventRef ref;
      std::string_view message;
      simdjson::dom::object log_event;
      if (e.get(log_event) != simdjson::SUCCESS || log_event["message"].get(message) != simdjson::SUCCESS) {
        Dead(s, "log event without a string message", simdjson::minify(e));
        continue;
      }
      if (log_event["id"].get(text) == simdjson::SUCCESS) ref.id = text;
      int64_t ms = 0;
      if (log_event["timestamp"].get(ms) == simdjson::SUCCESS && MillisToNanos(ms)) ref.timestamp_ms = ms;
      HandleMessage(message, shared, ref, s);
    }
  }

  static const Parser* RecogniseMessage(std::string_view message) {
    std::string_view head = message.substr(0, 65536);
    for (const auto& p : ParserRegistry::Default().parsers())
      if (p->name() != kCloudWatchLogs && p->Recognize(head)) return p.get();
    return nullptr;
  }

  void HandleMessage(std::string_view message, const std::shared_ptr<const PayloadContext>& context,
                     const LogEventRef& ref, State& s) const {
    const uint64_t index = s.index++;
    const Parser* parser = RecogniseMessage(message);
    if (!parser) {
      EmitUnrecognised(message, *context, ref, index, s);
      return;
    }
    // The inner parser takes the log event's time for the ingest time: it is
    // what a record without a time of its own falls back to, and the reference
    // for times written without a year (syslog).
    std::optional<int64_t> fallback = ref.timestamp_ms ? MillisToNanos(*ref.timestamp_ms) : std::nullopt;
    std::string where = "log event " + std::to_string(index) + " (" + std::string(parser->name()) + "): ";
    UnwrappingSink sink(s.sink, s.in.name, index, where, fallback, s.in.ingest_time_ns, context, ref);
    Status st = parser->Parse(ParseInput{s.in.name, message, fallback.value_or(s.in.ingest_time_ns), 0}, sink);
    if (!st.ok()) {
      s.sink.OnDeadLetter(DeadLetter{std::string(s.in.name), index, where + st.message(),
                                     std::string(message.substr(0, kDeadLetterBytes))});
    }
  }

  void EmitUnrecognised(std::string_view message, const PayloadContext& context, const LogEventRef& ref, uint64_t index,
                        State& s) const {
    JsonObject cw;
    cw.Str("owner", context.owner)
        .Str("logGroup", context.log_group)
        .Str("logStream", context.log_stream)
        .StrList("subscriptionFilters", context.filters)
        .Str("id", ref.id);
    if (ref.timestamp_ms) cw.Int("timestamp", *ref.timestamp_ms);
    std::string raw = JsonObject().Raw("cloudwatch", cw.Done()).Str("message", message).Done();
    Event ev;
    Status st = StartJsonEvent(raw, kCloudWatchLogs, s.in.ingest_time_ns, limits_, &ev);
    if (!st.ok()) {
      s.sink.OnDeadLetter(DeadLetter{std::string(s.in.name), index,
                                     "log event " + std::to_string(index) + ": " + st.message(),
                                     std::string(message.substr(0, kDeadLetterBytes))});
      return;
    }
    ev.id = ContentId(kCloudWatchLogs, ev.raw);
    if (auto t = ref.timestamp_ms ? MillisToNanos(*ref.timestamp_ms) : std::nullopt) {
      ev.time_ns = *t;
      ev.time_fallback = false;
    } else {
      ev.time_ns = ev.ingest_time_ns;
      ev.time_fallback = true;
      s.sink.OnWarning(s.in.name, "record " + std::to_string(index) + ": no timestamp; using ingest time");
    }
    ev.account = context.owner;
    ev.principal = context.owner;
    if (!context.log_group.empty()) ev.resources.push_back(context.log_group);
    s.sink.OnEvent(std::move(ev));
  }

  InputLimits limits_;
};

}  // namespace

std::unique_ptr<Parser> MakeCloudWatchLogsParser(const InputLimits& limits) {
  return std::make_unique<CloudWatchLogsParser>(limits);
}

}  // namespace vigil
