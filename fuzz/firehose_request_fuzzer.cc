// Fuzzes the Firehose HTTP endpoint request parser through FirehoseEndpoint:
// headers (Content-Encoding, common attributes), gzip, JSON, base64, limits.
// Input: one flags byte (bit 0: Content-Encoding gzip; bit 1: the bytes up to
// the first NUL are an X-Amz-Firehose-Common-Attributes header), then the body.
// Checked: every response is JSON with the request id and a status Firehose
// understands; accepted records are non-empty, within the record limit, and
// encode back to a body that parses to the same records.
#include <simdjson.h>

#include <cstdlib>
#include <string>

#include "common/base64.h"
#include "server/firehose.h"

namespace {

class KeepIntake : public vigil::Intake {
 public:
  vigil::Status Accept(std::vector<vigil::IntakeRecord> records) override {
    last = std::move(records);
    return vigil::Status::Ok();
  }
  std::vector<vigil::IntakeRecord> last;
};

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static KeepIntake intake;
  static vigil::FirehoseConfig config = [] {
    vigil::FirehoseConfig c;
    c.access_keys = {"k"};
    c.max_body_bytes = 1 << 20;
    c.max_inflated_bytes = 4 << 20;
    c.max_record_bytes = 64 << 10;
    return c;
  }();
  static auto endpoint = vigil::FirehoseEndpoint::Create(config, &intake, nullptr, [] { return int64_t{1}; });

  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  vigil::HttpHeaders headers = {{"X-Amz-Firehose-Request-Id", "rid"}, {"X-Amz-Firehose-Access-Key", "k"}};
  if (flags & 1) headers.emplace_back("Content-Encoding", "gzip");
  if (flags & 2) {
    size_t nul = rest.find('\0');
    headers.emplace_back("X-Amz-Firehose-Common-Attributes", std::string(rest.substr(0, nul)));
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }

  intake.last.clear();
  vigil::FirehoseResponse r = (*endpoint)->Handle("POST", headers, rest, "fuzz");
  Check(r.status == 200 || r.status == 400 || r.status == 413);
  simdjson::dom::parser parser;
  simdjson::dom::element reply;
  Check(parser.parse(r.body).get(reply) == simdjson::SUCCESS);
  std::string_view id;
  Check(reply["requestId"].get_string().get(id) == simdjson::SUCCESS && id == "rid");
  if (r.status != 200) {
    Check(intake.last.empty());
    return 0;
  }
  std::string again = R"({"records":[)";
  for (size_t i = 0; i < intake.last.size(); ++i) {
    const vigil::IntakeRecord& rec = intake.last[i];
    Check(!rec.bytes.empty() && rec.bytes.size() <= config.max_record_bytes);
    again += (i ? "," : "") + std::string(R"({"data":")") + vigil::Base64Encode(rec.bytes) + R"("})";
  }
  again += "]}";
  vigil::FirehoseDelivery d;
  vigil::FirehoseError error{0, ""};
  Check(vigil::ParseFirehoseDelivery(config, {}, again, "fuzz", &d, &error));
  Check(d.records.size() == intake.last.size());
  for (size_t i = 0; i < d.records.size(); ++i) Check(d.records[i].bytes == intake.last[i].bytes);
  return 0;
}
