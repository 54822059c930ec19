#include "formats/app_json.h"

#include <charconv>
#include <cstdint>
#include <iterator>

#include "common/time.h"
#include "formats/json_records.h"
#include "formats/text_lines.h"

namespace vigil {
namespace {

const FieldPath kTimes[] = {FieldPath("timestamp"), FieldPath("@timestamp"), FieldPath("time"),
                            FieldPath("ts"),        FieldPath("date"),       FieldPath("datetime")};
const FieldPath kAccounts[] = {FieldPath("account_id"), FieldPath("accountId"), FieldPath("account")};
const FieldPath kUser("user");
const FieldPath kPrincipals[] = {FieldPath("username"),  FieldPath("user_name"), FieldPath("userName"),
                                 FieldPath("user.name"), FieldPath("user.id"),   FieldPath("principal"),
                                 FieldPath("actor")};

// Top-level keys: the first 10 claim a record, the rest mark another log type.
constexpr std::string_view kKeys[] = {"timestamp",
                                      "@timestamp",
                                      "time",
                                      "ts",
                                      "date",
                                      "datetime",
                                      "message",
                                      "msg",
                                      "level",
                                      "log",
                                      "eventName",
                                      "eventSource",
                                      "eventVersion",
                                      "Records",
                                      "schemaVersion",
                                      "SchemaVersion",
                                      "ProductArn",
                                      "findings",
                                      "Findings",
                                      "query_name",
                                      "query_timestamp",
                                      "messageType",
                                      "logEvents",
                                      "digestStartTime",
                                      "detail-type"};
constexpr size_t kClaimKeys = 10;
constexpr size_t kDetailType = std::size(kKeys) - 1;

bool IsAppLogRecord(std::string_view record) {
  size_t at[std::size(kKeys)];
  uint64_t found = FindTopLevelKeys(record, kKeys, at);
  const uint64_t claim = (uint64_t{1} << kClaimKeys) - 1;
  const uint64_t deny = ((uint64_t{1} << std::size(kKeys)) - 1) & ~claim & ~(uint64_t{1} << kDetailType);
  if ((found & claim) == 0 || (found & deny) != 0) return false;
  std::string_view detail_type = JsonStringAt(record, at[kDetailType]);
  return !(detail_type.starts_with("GuardDuty") || detail_type.starts_with("Security Hub") ||
           detail_type.ends_with("via CloudTrail"));
}

class AppJsonParser final : public Parser {
 public:
  explicit AppJsonParser(const InputLimits& limits) : limits_(limits) {}

  std::string_view name() const override { return kJson; }

  bool Recognize(std::string_view head) const override {
    std::string_view first = FirstJsonRecord(head, "");
    return !first.empty() && !FirstValueIsArray(first) && IsAppLogRecord(first);
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    return ForEachJsonRecord(in, "", limits_, sink, [&](std::string_view raw, uint64_t index) {
      EmitJsonRecord(in, raw, index, limits_, BuildAppJsonEvent, sink);
    });
  }

 private:
  InputLimits limits_;
};

}  // namespace

std::optional<int64_t> ParseEpochTime(std::string_view s) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return std::nullopt;
  // Whole and fractional parts apart, so that no digit is lost to a double.
  size_t dot = s.find('.');
  std::string_view whole_text = s.substr(0, dot), frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  int64_t whole = 0;
  auto r = std::from_chars(whole_text.data(), whole_text.data() + whole_text.size(), whole);
  if (r.ec != std::errc() || r.ptr != whole_text.data() + whole_text.size()) return std::nullopt;
  if (dot != std::string_view::npos && (frac.empty() || frac.find_first_not_of("0123456789") != std::string_view::npos))
    return std::nullopt;
  // The unit by magnitude, as nanoseconds per unit.
  const int64_t unit = whole < 100'000'000'000           ? kNanosPerSecond
                       : whole < 100'000'000'000'000     ? 1'000'000
                       : whole < 100'000'000'000'000'000 ? 1'000
                                                         : 1;
  if (whole > INT64_MAX / unit) return std::nullopt;
  int64_t ns = whole * unit, scale = unit;
  for (char c : frac) {
    scale /= 10;
    if (scale == 0) break;
    ns += (c - '0') * scale;
  }
  return ns;
}

Status BuildAppJsonEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* ev,
                         std::string* time_warning) {
  VIGIL_RETURN_IF_ERROR(StartJsonEvent(raw, kJson, ingest_time_ns, limits, ev));
  ev->id = ContentId(kJson, raw);
  std::optional<int64_t> t;
  std::string first_name, first_value;
  for (const FieldPath& path : kTimes) {
    ev->fields->Visit(path, [&](const FieldValue& v) {
      if (v.kind != ValueKind::kString && v.kind != ValueKind::kNumber) return false;
      if (first_name.empty()) {
        first_name = path.str();
        first_value = std::string(v.text);
      }
      t = v.kind == ValueKind::kString ? ParseTimestamp(v.text) : std::nullopt;
      if (!t) t = ParseEpochTime(v.text);
      return false;
    });
    if (t) break;
  }
  SetTextEventTime(t, first_name.empty() ? "timestamp" : first_name, first_value, ev, time_warning);
  for (const FieldPath& p : kAccounts) {
    ev->account = ev->FirstString(p);
    if (!ev->account.empty()) break;
  }
  ev->fields->Visit(kUser, [&](const FieldValue& v) {
    if (v.kind == ValueKind::kString) ev->principal = std::string(v.text);
    return false;
  });
  if (ev->principal.empty() && !SetPrincipal(kPrincipals, ev)) ev->principal = ev->account;
  return Status::Ok();
}

std::unique_ptr<Parser> MakeAppJsonParser(const InputLimits& limits) { return std::make_unique<AppJsonParser>(limits); }

}  // namespace vigil
