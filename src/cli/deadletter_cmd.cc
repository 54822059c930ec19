// `vigil deadletter list|replay`: the records ingest could not read, and
// reading them again once the cause is fixed (a newer vigil whose parser reads
// them, or a limit raised).
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/workspace.h"
#include "common/base64.h"
#include "common/glob.h"
#include "common/json_escape.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "formats/parser.h"
#include "ingest/source.h"
#include "store/dead_letters.h"

namespace vigil::cli {
namespace {

struct Filter {
  std::optional<int64_t> from, to;
  std::optional<GlobPattern> input, reason;

  static Result<Filter> Make(const DeadLetterOptions& o) {
    Filter f;
    VIGIL_RETURN_IF_ERROR(ParseTimeOption("--from", o.from, &f.from));
    VIGIL_RETURN_IF_ERROR(ParseTimeOption("--to", o.to, &f.to));
    if (!o.input.empty()) f.input = GlobPattern::Compile(o.input);
    if (!o.reason.empty()) f.reason = GlobPattern::Compile(o.reason);
    return f;
  }
  bool Matches(const StoredDeadLetter& l) const {
    if (from && l.time_ns < *from) return false;
    if (to && l.time_ns >= *to) return false;
    if (input && !input->Matches(l.input)) return false;
    if (reason && !reason->Matches(l.reason)) return false;
    return true;
  }
};

// The start of a record on one line: control characters shown as `.`, cut at
// a UTF-8 boundary.
std::string Preview(std::string_view raw, size_t max_bytes = 60) {
  bool cut = raw.size() > max_bytes;
  if (cut) raw = raw.substr(0, IsValidUtf8(raw) ? Utf8PrefixLength(raw, max_bytes) : max_bytes);
  std::string out;
  for (char c : raw) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '.' : c);
  if (!IsValidUtf8(out)) out = "(binary, " + std::to_string(raw.size()) + " bytes)";
  if (cut) out += "...";
  return out;
}

std::string LetterJson(const StoredDeadLetter& l) {
  JsonObject o;
  o.Str("time", FormatRfc3339(l.time_ns)).Str("input", l.input).UInt("record", l.record).Str("reason", l.reason);
  if (IsValidUtf8(l.raw)) {
    o.Str("raw", l.raw);
  } else {
    o.Str("raw_base64", Base64Encode(l.raw));  // every byte kept: invalid UTF-8 cannot travel in a JSON string
  }
  return o.Bool("truncated", l.truncated).UInt("raw_bytes", l.truncated ? l.raw_bytes : l.raw.size()).Done();
}

// What a dead letter's record does when read again now.
struct Retry {
  enum Kind { kReplay, kStillFails, kTruncated } kind = kStillFails;
  std::string parser;  // kReplay: the parser that reads it
  std::string reason;  // kStillFails: why, now
};

struct OneInput : ParseSink {
  uint64_t events = 0;
  std::string problem;
  void OnEvent(Event&&) override { ++events; }
  void OnDeadLetter(DeadLetter&& d) override {
    if (problem.empty()) problem = std::move(d.reason);
  }
  void OnWarning(std::string_view, std::string_view) override {}
};

Retry TryAgain(const ParserRegistry& parsers, const StoredDeadLetter& l) {
  Retry r;
  if (l.truncated) {
    r.kind = Retry::kTruncated;  // only the first 64 KiB were kept: the record cannot be read whole
    return r;
  }
  const Parser* parser = parsers.Recognize(std::string_view(l.raw).substr(0, 65536));
  if (parser == nullptr) {
    r.reason = "not a recognised log (no parser reads this record)";
    return r;
  }
  OneInput sink;
  Status st = parser->Parse(ParseInput{l.input, l.raw, NowNanos()}, sink);
  if (!sink.problem.empty()) {
    r.reason = sink.problem;
  } else if (!st.ok()) {
    r.reason = st.message();
  } else if (sink.events == 0) {
    r.reason = std::string(parser->name()) + ": the record holds no event";
  } else {
    r.kind = Retry::kReplay;
    r.parser = std::string(parser->name());
  }
  return r;
}

// The records to replay, each named as its original input.
class ReplaySource final : public Source {
 public:
  explicit ReplaySource(std::vector<RawInput> inputs) : inputs_(std::move(inputs)) {}
  std::string_view name() const override { return "deadletter replay"; }
  std::optional<Result<RawInput>> Next() override {
    if (next_ >= inputs_.size()) return std::nullopt;
    return Result<RawInput>(std::move(inputs_[next_++]));
  }
  size_t total() const override { return inputs_.size(); }

 private:
  std::vector<RawInput> inputs_;
  size_t next_ = 0;
};

}  // namespace

int RunDeadLetterList(const DeadLetterOptions& o) {
  auto filter = Filter::Make(o);
  if (!filter.ok()) return Fatal(filter.status());
  auto ws = Workspace::Open(o.data_dir, /*write=*/false);
  if (!ws.ok()) return Fatal(ws.status());
  size_t shown = 0;
  DeadLetterStats stats;
  bool header = false;
  Status st = ListDeadLetters(Env::Default(), (*ws)->dead_letter_dir(), [&](const StoredDeadLetter& l) {
    if (!filter->Matches(l)) return true;
    if (o.json) {
      std::printf("%s\n", LetterJson(l).c_str());
    } else {
      if (!header) {
        std::printf("%-24s  %-40s  %7s  %-40s  %s\n", "TIME", "INPUT", "RECORD", "REASON", "PREVIEW");
        header = true;
      }
      std::printf("%-24s  %-40s  %7llu  %-40s  %s\n", FormatRfc3339(l.time_ns).c_str(), l.input.c_str(),
                  static_cast<unsigned long long>(l.record), l.reason.c_str(), Preview(l.raw).c_str());
    }
    ++shown;
    return o.limit == 0 || shown < o.limit;
  }, &stats);
  if (!st.ok()) return Fatal(st);
  if (stats.malformed_lines > 0) {
    Warn(std::to_string(stats.malformed_lines) + " dead-letter lines do not parse (torn by a crash?) and were skipped");
  }
  if (!o.json) Note(HumanCount(shown) + " dead letters" + (shown < stats.count ? " shown" : ""));
  return kExitOk;
}

int RunDeadLetterReplay(const DeadLetterOptions& o) {
  auto filter = Filter::Make(o);
  if (!filter.ok()) return Fatal(filter.status());
  // Replay takes the write lock: nothing appends dead letters while their
  // files are rewritten.
  auto keys = LoadMasterKeys(o.keys);
  if (!keys.ok()) return Fatal(keys.status());
  auto ws = Workspace::Open(o.data_dir, /*write=*/!o.dry_run, *keys);
  if (!ws.ok()) return Fatal(ws.status());
  const std::string dir = (*ws)->dead_letter_dir();
  InputLimits limits;
  if (o.max_depth > 0) limits.max_depth = o.max_depth;
  if (o.max_record_bytes > 0) limits.max_record_bytes = o.max_record_bytes;
  if (o.max_line_bytes > 0) limits.max_line_bytes = o.max_line_bytes;
  std::unique_ptr<ParserRegistry> parsers = ParserRegistry::WithLimits(limits);

  // Which of the selected letters now read, by ordinal in the files.
  std::map<uint64_t, Retry> retries;
  std::vector<RawInput> inputs;
  uint64_t ordinal = 0;
  Status st = ListDeadLetters(Env::Default(), dir, [&](const StoredDeadLetter& l) {
    uint64_t n = ordinal++;
    if (!filter->Matches(l)) return true;
    Retry r = TryAgain(*parsers, l);
    if (r.kind == Retry::kReplay) {
      RawInput in;
      in.name = l.input;
      in.bytes = l.raw;
      in.explicit_input = true;
      in.parser = r.parser;
      inputs.push_back(std::move(in));
    }
    retries.emplace(n, std::move(r));
    return true;
  });
  if (!st.ok()) return Fatal(st);

  uint64_t replayable = inputs.size(), truncated = 0;
  std::map<std::string, uint64_t> still_failing;  // by reason
  for (const auto& [n, r] : retries) {
    if (r.kind == Retry::kTruncated) ++truncated;
    if (r.kind == Retry::kStillFails) ++still_failing[r.reason];
  }
  uint64_t failing = retries.size() - replayable - truncated;

  IngestStats stats;
  uint64_t removed = 0;
  if (!o.dry_run && replayable > 0) {
    auto rules = LoadIngestRules(o.extra_rules, o.no_detect);
    if (!rules.ok()) return Fatal(rules.status());
    ReplaySource source(std::move(inputs));
    auto ran = IngestSource(**ws, &source, rules->detector.get(), true, o.threads, *parsers, "records");
    if (!ran.ok()) return Fatal(ran.status());
    stats = *ran;
    // The events are committed; only now are their dead letters dropped. A
    // crash in between leaves them to be replayed again, as duplicates.
  }
  if (!o.dry_run && !retries.empty()) {
    st = RewriteDeadLetters(Env::Default(), dir, [&](uint64_t n, StoredDeadLetter* l) {
      auto it = retries.find(n);
      if (it == retries.end()) return true;
      if (it->second.kind == Retry::kReplay) return false;
      if (it->second.kind == Retry::kStillFails) l->reason = it->second.reason;
      return true;
    }, &removed);
    if (!st.ok()) return Fatal(st.WithContext("rewriting dead letters"));
  }

  if (o.json) {
    JsonObject by_reason;
    for (const auto& [reason, n] : still_failing) by_reason.UInt(reason, n);
    std::printf("%s\n", JsonObject()
                            .UInt("selected", retries.size())
                            .UInt("replayed", o.dry_run ? 0 : replayable)
                            .UInt("replayable", replayable)
                            .UInt("events", stats.events)
                            .UInt("duplicates", stats.duplicates)
                            .UInt("alerts", stats.alerts)
                            .UInt("still_failing", failing)
                            .UInt("truncated", truncated)
                            .UInt("removed", removed)
                            .Bool("dry_run", o.dry_run)
                            .Raw("still_failing_reasons", by_reason.Done())
                            .Done()
                            .c_str());
  } else {
    if (retries.empty()) {
      std::printf("no dead letters to replay\n");
    } else if (o.dry_run) {
      std::printf("%s of %s dead letters would be replayed; %s still fail, %s truncated (dry run: nothing changed)\n",
                  HumanCount(replayable).c_str(), HumanCount(retries.size()).c_str(), HumanCount(failing).c_str(),
                  HumanCount(truncated).c_str());
    } else {
      std::printf("replayed %s of %s dead letters: %s new events, %s duplicates, %s alerts; %s still fail, %s "
                  "truncated\n",
                  HumanCount(replayable).c_str(), HumanCount(retries.size()).c_str(),
                  HumanCount(stats.events).c_str(), HumanCount(stats.duplicates).c_str(),
                  HumanCount(stats.alerts).c_str(), HumanCount(failing).c_str(), HumanCount(truncated).c_str());
    }
    for (const auto& [reason, n] : still_failing) std::printf("  still failing: %s x %s\n", HumanCount(n).c_str(), reason.c_str());
    if (truncated > 0) {
      std::printf("  %s records were cut to 64 KiB when dead-lettered and cannot be replayed; ingest their input "
                  "again\n",
                  HumanCount(truncated).c_str());
    }
  }
  return failing > 0 ? kExitFailures : kExitOk;
}

}  // namespace vigil::cli
