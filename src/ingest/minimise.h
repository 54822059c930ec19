// Data minimisation before storage (docs/operations.md#data-minimisation):
// per-source rules that drop, sample or aggregate events instead of storing
// each one, applied by the pipeline after detection (detections see every
// event) unless a rule says `before_detection`.
//
//   drop       events matching a hunting-language condition are not stored
//   sample     1 in N matching events is stored, chosen by event id (the same
//              events whatever the order or batching, so re-ingest agrees)
//   aggregate  matching events are rolled up per group (`by` fields) and time
//              window into one stored summary record (source type
//              `<source>.summary`, JSON: the group's fields, `count`, the
//              `sum` fields summed, `first`/`last` event times, and the
//              original bytes it replaces)
//
// The first rule (in file order) whose source and condition match decides;
// events no rule matches are stored as they are. Every event a rule keeps out
// of the store is counted per source and rule kind, in events and raw bytes,
// and the counters are committed with the events (metadata state
// kMinimiseCountersKey) so a cost report can read them.
//
// Aggregation state (open groups) is saved and restored like detector state,
// in the same commit as the events: an absorbed event is never lost and never
// counted twice. A window is written out once events for its source have
// moved `window_seconds` past its end, when more than `max_open_groups` are
// open (oldest windows first), and at the end of a finite run (Flush(true)).
//
// Thread safety: used from the pipeline's store thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alert/metadata.h"
#include "common/status.h"
#include "event/event.h"

namespace vigil {

struct MinimiseRule {
  enum class Kind { kNone, kDrop, kSample, kAggregate };  // kNone: not configured (an error)
  std::string name;      // for messages and metrics; default "<source>-<kind>-<index>"
  std::string source;    // source type, e.g. "cloudtrail"; "*" = every source
  Kind kind = Kind::kNone;
  std::string where;     // hunting-language condition; empty: every event of the source
  uint64_t sample_every = 0;             // sample: keep 1 in N (N >= 2)
  std::vector<std::string> by;           // aggregate: group fields
  std::vector<std::string> sum;          // aggregate: numeric fields summed
  int64_t window_seconds = 60;           // aggregate: window length
  bool before_detection = false;         // apply before detection: detectors never see what it removes
};

const char* MinimiseKindName(MinimiseRule::Kind kind);  // "drop", "sample", "aggregate"

// What minimisation kept out of the store, per source and rule kind.
struct MinimiseCount {
  uint64_t events = 0;          // events not stored as themselves
  uint64_t bytes = 0;           // their raw bytes
  uint64_t summaries = 0;       // aggregate: summary records stored instead
  uint64_t summary_bytes = 0;   // ... and their bytes
};
// source -> kind name -> count
using MinimiseCounters = std::map<std::string, std::map<std::string, MinimiseCount>>;

// The metadata state key holding the counters (JSON, cumulative across runs):
//   {"vpcflow":{"sample":{"events":9,"bytes":1210,"summaries":0,"summary_bytes":0}}, ...}
inline constexpr char kMinimiseCountersKey[] = "minimise/counters";
// ... and the open aggregation groups.
inline constexpr char kMinimiseOpenKey[] = "minimise/open";

std::string MinimiseCountersJson(const MinimiseCounters& counters);
Result<MinimiseCounters> ParseMinimiseCounters(std::string_view json);
// The counters committed in a data directory's metadata (empty when nothing
// was ever minimised): what a cost report reads.
Result<MinimiseCounters> LoadMinimiseCounters(MetadataStore* metadata);

class Minimiser {
 public:
  enum class Stage { kBeforeDetection, kAfterDetection };
  // InvalidArgument naming the rule for a missing kind, a condition that does
  // not parse, a sample rate below 2, an aggregate without `by`, or a window
  // outside 1 s to a day.
  static Result<std::unique_ptr<Minimiser>> Create(std::vector<MinimiseRule> rules);
  ~Minimiser();

  bool has_before_detection() const;
  // True when `event` is to be stored as it is; false when a rule of this
  // stage dropped, sampled out or absorbed it (counted). Needs event.fields.
  bool Keep(const Event& event, Stage stage);
  // Summary events of the windows that are complete (all open ones when
  // `all`), to be stored like any event; counted.
  void Flush(bool all, std::vector<Event>* out);

  // Counters: restored ones plus what this instance counted.
  const MinimiseCounters& counters() const { return counters_; }
  // Open groups and counters to and from the metadata state (as Detector).
  Status SaveState(const std::function<Status(const std::string&, const std::string&)>& put) const;
  Status RestoreState(const std::function<Result<std::optional<std::string>>(const std::string&)>& get);
  size_t open_groups() const;

 private:
  struct Impl;
  explicit Minimiser(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  MinimiseCounters counters_;
};

}  // namespace vigil
