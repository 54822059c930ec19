#include "cli/sim_stream.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "common/time.h"

namespace vigil::cli {

using sim::LogType;
using sim::SimRecord;

SimStreamer::SimStreamer(const std::string& url, std::string token) : client_(url), token_(std::move(token)) {
  client_.set_connection_timeout(10);
  client_.set_read_timeout(60);
  client_.set_keep_alive(true);
}

Status SimStreamer::Day(const std::vector<SimRecord>& records, double speed, const SliceFn& on_slice) {
  constexpr size_t kMaxBatch = 2000;
  // One request per log type per slice: half a wall second of simulated time
  // when paced; a day when not (each request waits for an fsync, so fewer,
  // fuller requests go faster).
  const int64_t slice = speed > 0 ? std::max<int64_t>(kNanosPerSecond, static_cast<int64_t>(speed * 0.5 * kNanosPerSecond))
                                  : 86400 * kNanosPerSecond;
  if (speed != clock_speed_) clock_speed_ = 0;  // (re)start the clock at this day's first slice
  std::string bodies[sim::kLogTypeCount];
  size_t i = 0;
  while (i < records.size()) {
    const int64_t slice_start = records[i].time_ns - records[i].time_ns % slice;
    if (speed > 0) {
      if (clock_speed_ == 0) {
        clock_speed_ = speed;
        sim_origin_ = slice_start;
        wall_origin_ = std::chrono::steady_clock::now();
      }
      std::this_thread::sleep_until(wall_origin_ + std::chrono::nanoseconds(static_cast<int64_t>(
                                                       static_cast<double>(slice_start - sim_origin_) / speed)));
    }
    size_t counts[sim::kLogTypeCount] = {};
    size_t j = i;
    while (j < records.size() && records[j].time_ns < slice_start + slice) {
      const int t = static_cast<int>(records[j].type);
      bodies[t] += records[j].text;
      bodies[t] += '\n';
      if (++counts[t] == kMaxBatch) {
        VIGIL_RETURN_IF_ERROR(Post(static_cast<LogType>(t), bodies[t]));
        bodies[t].clear();
        counts[t] = 0;
      }
      ++j;
    }
    for (int t = 0; t < sim::kLogTypeCount; ++t) {
      if (counts[t]) VIGIL_RETURN_IF_ERROR(Post(static_cast<LogType>(t), bodies[t]));
      bodies[t].clear();
    }
    sent_ += j - i;
    i = j;
    if (on_slice && !on_slice(slice_start, sent_)) {
      stopped_ = true;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status SimStreamer::Post(LogType type, const std::string& body) {
  const std::string path = "/api/v1/ingest?type=" + std::string(sim::LogTypeName(type));
  httplib::Headers headers = {{"Authorization", "Bearer " + token_}};
  for (int attempt = 0;; ++attempt) {
    auto res = client_.Post(path, headers, body, "application/x-ndjson");
    ++requests_;
    if (!res) return Status::IoError("simulate: cannot reach " + path + ": " + httplib::to_string(res.error()));
    if (res->status == 200) return Status::Ok();
    if ((res->status == 429 || res->status == 503) && attempt < 20) {
      int wait = std::atoi(res->get_header_value("Retry-After").c_str());
      std::this_thread::sleep_for(std::chrono::seconds(std::clamp(wait, 1, 30)));
      continue;
    }
    return Status::IoError("simulate: ingest refused with HTTP " + std::to_string(res->status) + ": " + res->body);
  }
}

}  // namespace vigil::cli
