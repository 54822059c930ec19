// Streams a simulated organisation's records to a running `vigil serve`
// (`vigil simulate --to`, `vigil demo`): NDJSON to POST /api/v1/ingest?type=
// <log type>, at most 2,000 records a request, one request per log type per
// slice of simulated time, in time order, paced so that `speed` simulated
// seconds pass per wall second. A 429 or 503 is retried after its Retry-After.
//
// Thread safety: one SimStreamer is used from one thread.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "simulate/org_simulator.h"

namespace vigil::cli {

class SimStreamer {
 public:
  // `url`: http://host:port of the server; `token`: one of its ingest tokens.
  SimStreamer(const std::string& url, std::string token);

  // Called after each slice is acknowledged, with the slice's start (event
  // time) and the records sent so far. Returning false stops the stream.
  using SliceFn = std::function<bool(int64_t slice_start_ns, size_t sent)>;

  // Sends one day's records (sorted by time) at `speed` simulated seconds per
  // wall second (0: as fast as the server takes them). Consecutive paced days
  // keep one clock, so a slow request is caught up on rather than stretching
  // the day. Returns early, with OK, when `on_slice` asks to stop (stopped()).
  Status Day(const std::vector<sim::SimRecord>& records, double speed, const SliceFn& on_slice);

  size_t requests() const { return requests_; }
  size_t sent() const { return sent_; }
  bool stopped() const { return stopped_; }

 private:
  Status Post(sim::LogType type, const std::string& body);

  httplib::Client client_;
  std::string token_;
  double clock_speed_ = 0;  // the speed the pacing clock runs at (0: not running)
  int64_t sim_origin_ = 0;
  std::chrono::steady_clock::time_point wall_origin_;
  size_t sent_ = 0;
  size_t requests_ = 0;
  bool stopped_ = false;
};

}  // namespace vigil::cli
