// Source: where raw inputs come from. `vigil ingest` reads files; `vigil serve`
// will add HTTP, Firehose, syslog and S3 sources behind the same interface.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace vigil {

struct RawInput {
  std::string name;   // path or description, used in every diagnostic
  std::string bytes;  // as read (possibly compressed)
  bool explicit_input = false;  // named by the user (not found by walking a directory)
  // The parser to use, by registered name (e.g. "syslog" for what a syslog
  // listener received); empty: recognised from content.
  std::string parser;
  // The collecting source that handed it to `vigil serve` (IntakeRecord::source,
  // e.g. "http", "syslog-tcp", an S3 source's name), for per-source counts;
  // empty for files named to `vigil ingest`.
  std::string source;
  // When a network source received it (wall clock, ns); 0: the run's start.
  // Becomes the events' ingest time, from which serve measures event-to-alert
  // latency.
  int64_t received_ns = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual std::string_view name() const = 0;
  // Next input, nullopt at the end. A read error is returned as a Status for
  // that input; the caller reports it and calls Next again.
  virtual std::optional<Result<RawInput>> Next() = 0;
  // Inputs known so far (for progress); 0 when unknown.
  virtual size_t total() const { return 0; }

  // ---- Never-ending, resumable sources (serve's write-ahead log) ----
  // Waits up to `wait` for an input; false when none came, so the pipeline
  // flushes and commits what it holds. Finite sources never wait.
  virtual bool WaitForInput(std::chrono::milliseconds /*wait*/) { return true; }
  // Non-empty: each pipeline commit stores Position() under this metadata
  // state key, atomically with the events and alerts of the inputs before it,
  // so a restart resumes exactly after what was committed.
  virtual std::string_view checkpoint_key() const { return {}; }
  // Position after the input Next returned last. Called on Next's thread.
  virtual std::string Position() const { return {}; }
  // A commit made `position` durable. Called on the committing thread
  // (concurrently with Next).
  virtual Status Committed(const std::string& /*position*/) { return Status::Ok(); }
};

// Files and directories. A directory's files (found recursively) come in
// delivery-time order, as a live deployment receives them: by the time their
// names carry (DeliveryTimeKey), then by path; files whose names carry none
// come first, in path order. Path order alone would replay one account and
// region's whole history before the next and make every detector with a time
// window see the others' events late. Paths that do not exist are reported by
// Next as errors naming them.
std::unique_ptr<Source> MakeFileSource(std::vector<std::string> paths);

// The delivery time a log file's name carries, as "YYYYMMDDHHMMSS", or empty
// when it carries none: `…_20250304T1215Z_…` (CloudTrail, VPC flow, Route 53
// Resolver, ALB and the other AWSLogs layouts; to the minute) or
// `2025-03-04-12-15-00-…` (S3 server access logs; to the second).
std::string DeliveryTimeKey(std::string_view file_name);

}  // namespace vigil
