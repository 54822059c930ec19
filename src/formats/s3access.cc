#include "formats/s3access.h"

#include <string>
#include <vector>

#include "common/time.h"
#include "formats/text_lines.h"

namespace vigil {
namespace {

constexpr size_t kMinFields = 17;  // through user_agent

const std::shared_ptr<const FieldTable>& Table() {
  static const auto* table = new std::shared_ptr<const FieldTable>(
      std::make_shared<const FieldTable>(std::vector<std::string>{"bucket_owner",
                                                                  "bucket",
                                                                  "time",
                                                                  "remote_ip",
                                                                  "requester",
                                                                  "request_id",
                                                                  "operation",
                                                                  "key",
                                                                  "request_uri",
                                                                  "http_status",
                                                                  "error_code",
                                                                  "bytes_sent",
                                                                  "object_size",
                                                                  "total_time",
                                                                  "turn_around_time",
                                                                  "referer",
                                                                  "user_agent",
                                                                  "version_id",
                                                                  "host_id",
                                                                  "signature_version",
                                                                  "cipher_suite",
                                                                  "authentication_type",
                                                                  "host_header",
                                                                  "tls_version",
                                                                  "access_point_arn",
                                                                  "acl_required"}));
  return *table;
}

bool Number(std::string_view s, size_t at, size_t len, int* out) {
  if (at + len > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

class S3AccessParser final : public Parser {
 public:
  explicit S3AccessParser(const InputLimits& limits) : limits_(limits) {}

  std::string_view name() const override { return kS3Access; }

  bool Recognize(std::string_view head) const override {
    std::vector<std::string_view> words;
    return SplitFirstLine(head, SplitOptions{.brackets = true, .max_fields = 3}, &words) && words.size() == 3 &&
           ParseS3AccessTime(words[2]).has_value();
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    const auto& table = Table();
    return ForEachSplitLine(
        in, limits_, SplitOptions{.brackets = true}, sink,
        [&](std::string_view line, uint64_t index, std::vector<std::string_view>& fields) {
          if (fields.size() < kMinFields) {
            EmitBadLine(in, index, line,
                        std::to_string(fields.size()) + " fields; an S3 access log line has at least " +
                            std::to_string(kMinFields),
                        sink);
            return;
          }
          std::optional<int64_t> time = ParseS3AccessTime(fields[2]);
          if (!time) {
            EmitBadLine(in, index, line,
                        "third field \"" + std::string(fields[2].substr(0, 64)) + "\" is not an S3 access log [time]",
                        sink);
            return;
          }
          Event ev;
          StartTextEvent(kS3Access, line, in.ingest_time_ns, table, fields, &ev);
          const auto& f = static_cast<const DelimitedFields&>(*ev.fields);
          std::string warning;
          SetTextEventTime(time, "time", fields[2], &ev, &warning);
          std::string_view requester = f.Text("requester");
          ev.principal = requester.starts_with("arn:") ? requester : f.Text("remote_ip");
          if (ev.principal.empty()) ev.principal = requester;
          AddResource(f.Text("bucket"), &ev);
          AddResource(f.Text("access_point_arn"), &ev);
          EmitTextEvent(in, index, std::move(ev), warning, sink);
        });
  }

 private:
  InputLimits limits_;
};

}  // namespace

std::optional<int64_t> ParseS3AccessTime(std::string_view s) {
  // 06/Feb/2019:00:00:38 +0000
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (s.size() != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' || s[20] != ' ' ||
      (s[21] != '+' && s[21] != '-'))
    return std::nullopt;
  int day, year, h, mi, sec, oh, om;
  if (!Number(s, 0, 2, &day) || !Number(s, 7, 4, &year) || !Number(s, 12, 2, &h) || !Number(s, 15, 2, &mi) ||
      !Number(s, 18, 2, &sec) || !Number(s, 22, 2, &oh) || !Number(s, 24, 2, &om))
    return std::nullopt;
  size_t m = kMonths.find(s.substr(3, 3));
  if (m == std::string_view::npos || m % 3 != 0) return std::nullopt;
  if (day < 1 || day > 31 || year < 1678 || year > 2261 || h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
    return std::nullopt;
  int64_t offset = (oh * 3600 + om * 60) * (s[21] == '+' ? 1 : -1);
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(m / 3 + 1), static_cast<unsigned>(day));
  return (days * 86400 + h * 3600 + mi * 60 + sec - offset) * kNanosPerSecond;
}

std::unique_ptr<Parser> MakeS3AccessParser(const InputLimits& limits) {
  return std::make_unique<S3AccessParser>(limits);
}

}  // namespace vigil
