// Parser: turns the bytes of one input (a file, an HTTP body, a stream chunk)
// into Events. One parser per log type, registered by name.
//
// Parsers never throw and never stop at a bad record: a record that cannot be
// parsed goes to the sink as a DeadLetter with the reason, and the rest of the
// input still lands. A Status error from Parse means the input as a whole was
// not of this type (or unreadable); records already emitted stay emitted.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "event/event.h"

namespace vigil {

struct InputLimits {
  size_t max_record_bytes = 4 << 20;  // one record
  size_t max_depth = 64;              // JSON nesting
  size_t max_line_bytes = 4 << 20;    // one NDJSON / text line
};

struct DeadLetter {
  std::string input;    // file name or source description
  uint64_t record = 0;  // index of the record in the input (0-based)
  std::string reason;
  std::string raw;      // the offending bytes (truncated to 64 KiB)
};

class ParseSink {
 public:
  virtual ~ParseSink() = default;
  virtual void OnEvent(Event&& event) = 0;
  virtual void OnDeadLetter(DeadLetter&& dead) = 0;
  virtual void OnWarning(std::string_view input, std::string_view message) = 0;
};

struct ParseInput {
  std::string_view name;   // for diagnostics
  std::string_view bytes;  // decompressed content; valid during Parse only
  int64_t ingest_time_ns = 0;
  // Zero bytes readable past the end of `bytes` (ByteBuffer::kPadding when the
  // content sits in a ByteBuffer): lets SIMD parsers read it in place.
  size_t readable_padding = 0;
};

class Parser {
 public:
  virtual ~Parser() = default;
  virtual std::string_view name() const = 0;
  // Looks at the start of decompressed content and says whether this parser
  // reads it. Must be cheap and must not throw.
  virtual bool Recognize(std::string_view head) const = 0;
  virtual Status Parse(const ParseInput& input, ParseSink& sink) const = 0;
};

// The registry of parsers. Registration is one line in registry.cc.
class ParserRegistry {
 public:
  // Every log type, with the default InputLimits.
  static const ParserRegistry& Default();
  // Every log type, in Default()'s order, with other limits (e.g. a replay of
  // dead letters with a limit raised).
  static std::unique_ptr<ParserRegistry> WithLimits(const InputLimits& limits);
  void Register(std::unique_ptr<Parser> parser);
  const Parser* Find(std::string_view name) const;
  // The first parser that recognises `head`, or nullptr.
  const Parser* Recognize(std::string_view head) const;
  const std::vector<std::unique_ptr<Parser>>& parsers() const { return parsers_; }

 private:
  std::vector<std::unique_ptr<Parser>> parsers_;
};

}  // namespace vigil
