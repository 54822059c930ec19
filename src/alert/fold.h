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
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "alert/metadata.h"
#include "common/hash.h"
#include "common/hash_set.h"
#include "common/hex_id.h"
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

// What one fold adds to one alert. Its strings view the matched rule's (which
// stay put while the detector lives, see detector.h) or, for an AlertHit,
// copies the fold keeps: valid until the fold is cleared.
struct AlertDelta {
  Hash128 key;  // of the alert key; id() is its hex, AlertId(rule_id, entity, bucket_start_ns)
  std::string_view rule_id;
  std::string_view title;
  std::string_view severity;
  const std::vector<std::string>* tags = nullptr;  // never null once folded
  std::string_view entity;
  std::string_view finding_type;
  int64_t bucket_start_ns = 0;
  int64_t first_seen_ns = 0;
  int64_t last_seen_ns = 0;
  uint64_t count = 0;  // distinct events
  // One of the smallest kMaxAlertEventIds (time, id) pairs, in arrival
  // order until there are that many, then kept as a max-heap. A UUID or hex id is packed in place (common/hex_id.h), as the
  // store keeps it, so that folding and storing read no other memory; other
  // ids are text in the fold (AlertFold::TextOf).
  struct IdRef {
    int64_t time_ns;
    char bytes[16];  // the packed id, or (offset, size) into the fold's arena
    IdForm form;
  };
  std::vector<IdRef> event_ids;
  std::string match;  // explanation of the earliest event; empty when none
  int64_t match_time_ns = 0;

  std::string id() const { return Hex(key); }
};

class AlertFold {
 public:
  // Folds a detector's match on a live event (its explanation, if any, is
  // built only when this event becomes the alert's earliest). All matches of
  // one event come before the next event's, as detectors deliver them.
  void Add(const Event& event, const Match& match);
  // Folds a hit; hits may come in any order and repeat.
  void Add(const AlertHit& hit);
  // A delta's event ids in (time, id) order.
  std::vector<std::pair<int64_t, std::string>> SortedEventIds(const AlertDelta& delta) const;
  // The same as they are held (packed), in (time, id) order.
  std::vector<AlertDelta::IdRef> SortedIdRefs(const AlertDelta& delta) const;
  // The text of an id held as text (IdForm::kText); valid until Clear.
  std::string_view TextOf(const AlertDelta::IdRef& r) const;

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
  // among the current event's matches; the hit's strings are copied (a hit's
  // may be a reused variable's), where a match's rule strings are viewed.
  void Fold(const Hit& hit, const std::function<std::string()>* explain, const std::string* match, bool by_set);
  // (time, id) order of two held ids.
  bool IdLess(const AlertDelta::IdRef& a, const AlertDelta::IdRef& b) const;
  AlertDelta::IdRef Hold(int64_t time_ns, std::string_view id);
  // An id's text: in the arena, or unpacked into `buf`.
  std::string_view IdText(const AlertDelta::IdRef& r, std::string* buf) const;
  // A copy of `s` that lives until Clear; equal strings share one.
  std::string_view Intern(std::string_view s);
  const std::vector<std::string>* Intern(const std::vector<std::string>& tags);

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // The alerts of a bucket: (Hash64(rule_id), Hash64(entity)) -> deltas_
  // index, checked against the delta's own fields. One small table per bucket
  // rather than one for the whole fold: events arrive roughly in time order,
  // so the alerts being hit are those of a few recent buckets, and their
  // table stays in cache where a fold-wide one of 200k alerts missed it on
  // every match. The alert's key (AlertKey hashed) is computed only when the
  // alert is new.
  Hash128Index* BucketIndex(int64_t bucket);
  std::vector<AlertDelta> deltas_;
  std::unordered_map<int64_t, Hash128Index> buckets_;
  int64_t last_bucket_ = 0;
  Hash128Index* last_index_ = nullptr;  // buckets_[last_bucket_]
  Hash128Set seen_;  // (alert, event id) pairs folded through Add(AlertHit)
  // Alerts (deltas_ indexes) the current event (Add(Event, Match)) has hit,
  // and its id as held, once one of its matches counted.
  const Event* current_event_ = nullptr;
  std::string current_id_;
  std::vector<uint32_t> current_alerts_;
  bool current_held_ = false;
  AlertDelta::IdRef current_ref_{};
  std::string arena_;  // event ids held as text
  std::string key_;  // scratch
  size_t held_ids_ = 0;
  // Entities and the strings of hits (few distinct ones: rules, principals).
  std::unordered_set<std::string, StringHash, std::equal_to<>> strings_;
  std::set<std::vector<std::string>> tag_lists_;
};

}  // namespace vigil
