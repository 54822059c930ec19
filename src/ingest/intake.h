// Intake: where `vigil serve`'s sources (HTTP ingest API, Firehose endpoint,
// syslog listeners, directory watch, S3 polling) hand what they receive.
//
// Accept returns Ok only once every record is durable in the write-ahead log
// (fsynced, usually by a group commit shared with other callers), so a source
// acknowledges its sender after Accept returns Ok and never before. From the
// log the records reach parsing, detection and the store exactly once in
// effect, also across crashes (a replay is de-duplicated by event id).
//
// Under overload, or while shutting down, Accept refuses the whole call
// quickly with StatusCode::kUnavailable and accepts nothing: HTTP sources
// answer 429/503 with Retry-After, stream sources stop reading for a while
// (backpressure). Any other error is a failure to make the records durable.
//
// Thread safety: Accept may be called from many threads at once.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace vigil {

struct IntakeRecord {
  std::string source;  // configured source name, e.g. "http", "firehose", "syslog-tcp"; used by metrics
  std::string name;    // what the input was, for diagnostics and dead letters ("http 10.0.0.5 #42")
  std::string bytes;   // as received (gzip allowed): one or more records of one log type
  std::string parser;  // registered parser name to use; empty: recognised from content
};

class Intake {
 public:
  virtual ~Intake() = default;
  virtual Status Accept(std::vector<IntakeRecord> records) = 0;
};

}  // namespace vigil
