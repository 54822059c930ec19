// Fuzzes the syslog stream framing (src/ingest/syslog_framing.h): whatever
// the bytes, and however a connection cuts them into reads, the decoder must
// yield the same messages, none empty or over the limit, while buffering at
// most the limit; each message must stay one line in a batch.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/syslog_framing.h"

namespace {

struct Out {
  std::vector<std::string> messages;
  std::vector<bool> truncated;
  size_t missing = 0;
};

Out Decode(std::string_view stream, size_t max, const std::vector<size_t>& cuts) {
  Out out;
  vigil::SyslogFrameDecoder dec(max);
  auto fn = [&](std::string_view m, bool t) {
    if (m.empty() || m.size() > max) std::abort();
    out.messages.emplace_back(m);
    out.truncated.push_back(t);
  };
  size_t pos = 0;
  for (size_t cut : cuts) {
    if (cut <= pos || cut > stream.size()) continue;
    dec.Feed(stream.substr(pos, cut - pos), fn);
    if (dec.buffered() > max) std::abort();
    pos = cut;
  }
  dec.Feed(stream.substr(pos), fn);
  if (dec.buffered() > max) std::abort();
  out.missing = dec.Finish(fn);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // First byte: the message limit (16..271 bytes, so truncation is reached);
  // second: the read size for the split decoding.
  size_t max = 16 + data[0];
  size_t step = 1 + data[1] % 32;
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  Out whole = Decode(stream, max, {});
  std::vector<size_t> cuts;
  for (size_t c = step; c < stream.size(); c += step + (c % 7)) cuts.push_back(c);
  Out split = Decode(stream, max, cuts);
  if (whole.messages != split.messages || whole.truncated != split.truncated || whole.missing != split.missing)
    std::abort();

  std::string batch;
  size_t appended = 0;
  for (const auto& m : whole.messages) appended += vigil::AppendSyslogLine(m, &batch);
  size_t lines = batch.empty() ? 0 : 1;
  for (char c : batch) lines += c == '\n';
  if (lines != appended) std::abort();
  return 0;
}
