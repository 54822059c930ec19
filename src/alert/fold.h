// AlertFold: rolls a run's matches up into alerts in memory; MetadataStore
// applies the result in one transaction (MetadataStore::Commit). Live ingest
// and backtests both fold through this class, so they roll matches up
// identically.
//
// Rollup: one alert per (rule_id, entity, bucket_start), bucket_start =
// floor(event_time / rollup_window) * rollup_window, aligned to the Unix epoch
// (a window <= 0 means one alert per rule and entity, bucket 0). The entity is
// the match's own, else the event's principal; the window the match's, else
// kDefaultRollupWindowNs. Within a fold the result does not depend on the
// order or repetition of hits: an (alert, event id) pair counts once (for
// Add(Event, Match), whose callers deliver an event's matches together, among
// the matches of that event); the
// event ids kept are the smallest kMaxAlertEventIds by (time, id); title,
// tags, finding_type and severity come from the hit with the highest severity
// (ties broken by comparing the fields themselves); the explanation is that of
// the earliest event (ties: the smallest text). An event id is assumed to come
// with one event time.
//
// Folding is additive across commits: the caller folds each event once (the
// pipeline skips events the store already holds, and commits alerts and
// events together, see Pipeline).
//
// Thread safety: none; one fold per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alert/metadata.h"
#include "common/hash.h"
#include "common/hash_set.h"
#include "detect/detector.h"
#include "event/event.h"

namespace vigil {

// The default rollup window when a match names none: one hour.
inline constexpr int64_t kDefaultRollupWindowNs = 3600LL * 1'000'000'000;

// One match to fold, for callers that do not hold an Event and a Match.
struct AlertHit {
  std::string rule_id;
  std::string title;
  std::string severity;
  std::vector<std::string> tags;
  std::string entity;
  std::string finding_type;
  std::string match;  // why it matched (JSON); may be empty
  int64_t rollup_window_ns = 0;
  int64_t event_time_ns = 0;
  std::string event_id;
};

// What one fold adds to one alert.
struct AlertDelta {
  std::string id;  // AlertId(rule_id, entity, bucket_start_ns)
  std::string rule_id;
  std::string title;
  std::string severity;
  std::vector<std::string> tags;
  std::string entity;
  std::string finding_type;
  int64_t bucket_start_ns = 0;
  int64_t first_seen_ns = 0;
  int64_t last_seen_ns = 0;
  uint64_t count = 0;  // distinct events
  // The smallest kMaxAlertEventIds (time, id) pairs as a max-heap; the ids
  // live in the fold (AlertFold::SortedEventIds).
  struct IdRef {
    int64_t time_ns;
    uint32_t offset;  // into the fold's id arena
    uint32_t size;
  };
  std::vector<IdRef> event_ids;
  std::string match;  // explanation of the earliest event; empty when none
  int64_t match_time_ns = 0;
};

class AlertFold {
 public:
  // Folds a detector's match on a live event (its explanation, if any, is
  // built only when this event becomes the alert's earliest). All matches of
  // one event come before the next event's, as detectors deliver them.
  void Add(const Event& event, const Match& match);
  // Folds a hit; hits may come in any order and repeat.
  void Add(const AlertHit& hit);
  // A delta's event ids in (time, id) order; views valid until Clear.
  std::vector<std::pair<int64_t, std::string_view>> SortedEventIds(const AlertDelta& delta) const;

  const std::vector<AlertDelta>& deltas() const { return deltas_; }
  size_t size() const { return deltas_.size(); }
  bool empty() const { return deltas_.empty(); }
  // What the fold holds, in entries of about 50 bytes (event ids, (alert,
  // event) pairs, 64-byte units of id text): bounds its memory.
  size_t held_entries() const { return held_ids_ + seen_.size() + arena_.size() / 64; }
  void Clear();

 private:
  struct Hit {
    std::string_view rule_id, title, severity, entity, finding_type, event_id;
    const std::vector<std::string>* tags;
    int64_t rollup_window_ns;
    int64_t event_time_ns;
  };
  // `by_set`: dedup (alert, event) pairs with seen_ (any order) rather than
  // among the current event's matches.
  void Fold(const Hit& hit, const std::function<std::string()>* explain, const std::string* match, bool by_set);
  std::string_view IdOf(const AlertDelta::IdRef& r) const { return std::string_view(arena_).substr(r.offset, r.size); }

  std::vector<AlertDelta> deltas_;
  // Per delta: the tags list its descriptive fields came from. Matches of one
  // rule share the rule's list, so a hit pointing at the same list (and the
  // same title text) needs no field-by-field comparison.
  struct Source {
    const std::vector<std::string>* tags;
    const char* title;
  };
  std::vector<Source> sources_;
  static Source SourceOf(const Hit& hit, bool by_set);
  Hash128Index index_;  // alert key -> deltas_ index
  Hash128Set seen_;  // (alert, event id) pairs folded through Add(AlertHit)
  // Alerts the current event (Add(Event, Match)) has hit.
  const Event* current_event_ = nullptr;
  std::string current_id_;
  std::vector<Hash128> current_alerts_;
  std::string arena_;  // event ids held by deltas
  std::string key_;  // scratch
  size_t held_ids_ = 0;
};

}  // namespace vigil
