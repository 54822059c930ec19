#include "formats/cloudtrail.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "common/glob.h"
#include "formats/json_records.h"
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

// Without a branch per character: hex digits and letters alternate at
// random in a UUID, and a loop that branches on each one mispredicted often
// enough to cost more than the rest of building the event's id.
bool IsUuid(std::string_view s) {
  static constexpr auto kHex = [] {
    std::array<uint8_t, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = 1;
    for (int c = 'a'; c <= 'f'; ++c) t[c] = 1;
    for (int c = 'A'; c <= 'F'; ++c) t[c] = 1;
    return t;
  }();
  if (s.size() != 36) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned ok = (p[8] == '-') & (p[13] == '-') & (p[18] == '-') & (p[23] == '-');
  for (size_t i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;  // unrolled away: i is known
    ok &= kHex[p[i]];
  }
  return ok != 0;
}

bool LooksLikeRecord(std::string_view head) {
  return head.find("\"eventName\"") != std::string_view::npos &&
         (head.find("\"eventSource\"") != std::string_view::npos ||
          head.find("\"eventVersion\"") != std::string_view::npos);
}

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
      std::string_view line = head.substr(pos, nl == std::string_view::npos ? head.size() - pos : nl - pos);
      // A lone '{' starts a pretty-printed record (one copied from the console).
      if (TrimSpace(line) == "{") line = FirstJsonRecord(head, "Records").substr(0, 16384);
      return LooksLikeRecord(line);
    }
    if (head[pos] == '[') return LooksLikeRecord(head.substr(pos, 16384));
    return false;
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    return ForEachJsonRecord(in, "Records", limits_, sink, [&](std::string_view raw, uint64_t index) {
      EmitJsonRecord(in, raw, index, limits_, BuildCloudTrailEvent, sink);
    });
  }

 private:
  InputLimits limits_;
};

}  // namespace

Status BuildCloudTrailEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* ev,
                            std::string* time_warning) {
  VIGIL_RETURN_IF_ERROR(StartJsonEvent(raw, kCloudTrail, ingest_time_ns, limits, ev));
  std::string event_id = ev->FirstString(P(0));
  ev->id = IsUuid(event_id) ? std::move(event_id) : ContentId(kCloudTrail, raw);
  SetEventTime(std::span(&P(1), 1), ev, time_warning);
  ev->account = ev->FirstString(P(2));
  if (ev->account.empty()) ev->account = ev->FirstString(P(3));
  if (!SetPrincipal(std::span(&P(4), 3), ev)) {  // arn, principalId, invokedBy
    ev->principal = ev->FirstString(P(3));
    if (ev->principal.empty()) ev->principal = ev->account;
  }
  AddResources(P(7), ev);
  return Status::Ok();
}

std::unique_ptr<Parser> MakeCloudTrailParser(const InputLimits& limits) {
  return std::make_unique<CloudTrailParser>(limits);
}

}  // namespace vigil
