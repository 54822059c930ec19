// Source: where raw inputs come from. `vigil ingest` reads files; `vigil serve`
// will add HTTP, Firehose, syslog and S3 sources behind the same interface.
#pragma once

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
};

// Files and directories (recursively, in sorted order). Paths that do not exist
// are reported by Next as errors naming them.
std::unique_ptr<Source> MakeFileSource(std::vector<std::string> paths);

}  // namespace vigil
