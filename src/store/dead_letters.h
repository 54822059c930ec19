// Dead letters: records vigil could not accept, kept with the reason so that
// bad input is a diagnostic, never a crash and never a silent drop.
//
// Files: <data>/deadletter/<YYYY-MM-DD>.ndjson, one per UTC day of the time the
// record was rejected, append-only (only a replay rewrites them, see
// RewriteDeadLetters). One JSON object per line:
//   {"time":"2024-07-31T13:06:24.123Z","input":"s3://b/k.json.gz","record":17,
//    "reason":"cloudtrail: missing eventTime","raw":"{...}"}
// `time` has millisecond precision. `raw` is cut to kDeadLetterMaxRaw bytes (at a UTF-8 boundary), in which case
// "truncated":true and "raw_bytes":<original size> follow. Raw bytes that are
// not valid UTF-8 are stored as "raw_base64" instead of "raw".
// (docs/storage-format.md)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "env/env.h"
#include "formats/parser.h"  // DeadLetter (header only; no link dependency)

namespace vigil {

inline constexpr size_t kDeadLetterMaxRaw = 64 * 1024;

// A dead letter as read back from the files.
struct StoredDeadLetter {
  int64_t time_ns = 0;  // when the record was rejected (millisecond precision)
  std::string input;    // where it came from: file path, S3 key, "http:<peer>", ...
  uint64_t record = 0;  // record index within the input, as the parser gave it
  std::string reason;
  std::string raw;      // possibly truncated (see `truncated`)
  bool truncated = false;
  uint64_t raw_bytes = 0;  // original size of raw
};

// One NDJSON line (with the trailing '\n') for a record rejected at `time_ns`.
std::string FormatDeadLetter(const DeadLetter& letter, int64_t time_ns);

// Appends dead letters to the day file under `dir` (created when missing).
// Each Append is one write(2) of a whole line; Sync makes them durable.
// Ownership: does not own `env`. Thread safety: all methods are thread-safe.
class DeadLetterWriter {
 public:
  DeadLetterWriter(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}
  // `time_ns`: when the record was rejected (picks the day file).
  Status Append(const DeadLetter& letter, int64_t time_ns);
  Status Sync();
  // Where the letters appended so far end (see CutDeadLettersAfter): the day
  // file, its length and a hash of its last line; empty before any Append.
  std::string Mark();

 private:
  Env* env_;
  std::string dir_;
  std::mutex mu_;
  std::string file_name_;
  std::unique_ptr<WritableFile> file_;
  uint64_t last_line_hash_ = 0;  // of the line the last Append wrote
};

// The end of the dead-letter files as they stand, in Mark's form (a mark
// before every day file when there are none).
Result<std::string> DeadLetterEnd(Env* env, const std::string& dir);

// Removes the dead letters written after `mark` (DeadLetterWriter::Mark or
// DeadLetterEnd): the tail of its day file past its length, and every later
// day file. A pipeline commits the mark of the letters of the inputs it
// commits; after a crash the inputs past it are replayed and rejected again,
// so their letters from before the crash are cut first. A mark that no longer
// describes the files (its file shorter, or its last line another, as after
// a rewrite without a new mark) cuts nothing and says so in `*note`.
// `cut_letters` (optional) counts the lines removed. The caller must hold the
// data directory's write lock.
Status CutDeadLettersAfter(Env* env, const std::string& dir, std::string_view mark, uint64_t* cut_letters,
                           std::string* note);

struct DeadLetterStats {
  uint64_t count = 0;
  uint64_t files = 0;
  uint64_t malformed_lines = 0;  // e.g. a line torn by a crash; skipped
};

// One NDJSON line for a dead letter read back (its truncation kept).
std::string FormatStoredDeadLetter(const StoredDeadLetter& letter);

// Rewrites the day files under `dir` after a replay: `fn` sees each dead
// letter in ListDeadLetters' order with its ordinal (0-based, counting only
// lines that parse) and returns false to drop it or true to keep it, possibly
// with a new reason. Lines that do not parse, and letters kept unchanged, stay
// byte for byte. A changed file is replaced atomically (a temporary file
// written and synced, then renamed over it); a file left empty is removed.
// The caller must hold the data directory's write lock, so nothing appends to
// the files meanwhile. `removed` (optional) counts the letters dropped.
Status RewriteDeadLetters(Env* env, const std::string& dir,
                          const std::function<bool(uint64_t ordinal, StoredDeadLetter* letter)>& fn,
                          uint64_t* removed = nullptr);

Result<DeadLetterStats> CountDeadLetters(Env* env, const std::string& dir);
// Calls `fn` for each dead letter, oldest day first, in file order; stop by
// returning false. Malformed lines are skipped. A missing `dir` has none.
Status ListDeadLetters(Env* env, const std::string& dir, const std::function<bool(const StoredDeadLetter&)>& fn,
                       DeadLetterStats* stats = nullptr);

}  // namespace vigil
