#include "alert/fold.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <tuple>

#include "common/json_writer.h"

namespace vigil {

int SeverityRank(const std::string& severity) {
  if (severity == "informational") return 0;
  if (severity == "low") return 1;
  if (severity == "medium") return 2;
  if (severity == "high") return 3;
  if (severity == "critical") return 4;
  return -1;
}

int64_t AlertBucketStart(int64_t event_time_ns, int64_t rollup_window_ns) {
  if (rollup_window_ns <= 0) return 0;
  int64_t q = event_time_ns / rollup_window_ns;
  if (event_time_ns % rollup_window_ns != 0 && event_time_ns < 0) --q;
  return q * rollup_window_ns;
}

namespace {

// "<len>:<rule_id><len>:<entity><bucket>": unambiguous, hashed into the alert id.
// Built once per match, so it is written with memcpy into a buffer that only
// grows (appending piece by piece cost ~750 instructions a match).
std::string_view AlertKey(std::string* buf, std::string_view rule_id, std::string_view entity,
                          int64_t bucket_start_ns) {
  char rlen[24], elen[24], bucket[24];
  const size_t nr = static_cast<size_t>(std::to_chars(rlen, rlen + sizeof rlen, rule_id.size()).ptr - rlen);
  const size_t ne = static_cast<size_t>(std::to_chars(elen, elen + sizeof elen, entity.size()).ptr - elen);
  const size_t nb = static_cast<size_t>(std::to_chars(bucket, bucket + sizeof bucket, bucket_start_ns).ptr - bucket);
  const size_t n = nr + 1 + rule_id.size() + ne + 1 + entity.size() + nb;
  if (buf->size() < n) buf->resize(n);
  char* p = buf->data();
  auto put = [&p](const char* d, size_t len) {
    if (len > 0) std::memcpy(p, d, len);
    p += len;
  };
  put(rlen, nr);
  *p++ = ':';
  put(rule_id.data(), rule_id.size());
  put(elen, ne);
  *p++ = ':';
  put(entity.data(), entity.size());
  put(bucket, nb);
  return std::string_view(buf->data(), n);
}

std::string EncodeTagList(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, tags[i]);
  }
  out.push_back(']');
  return out;
}

// The order MetadataStore keeps descriptive fields by: (rank, severity, title,
// tags as JSON, finding_type), largest wins.
bool Larger(std::string_view severity, std::string_view title, const std::vector<std::string>& tags,
            std::string_view finding_type, const AlertDelta& d) {
  const int rank = SeverityRank(std::string(severity));
  const int best = SeverityRank(d.severity);
  if (rank != best) return rank > best;
  if (severity != d.severity) return severity > d.severity;
  if (title != d.title) return title > d.title;
  if (tags != d.tags) return EncodeTagList(tags) > EncodeTagList(d.tags);
  return finding_type > d.finding_type;
}

}  // namespace

std::string AlertId(const std::string& rule_id, const std::string& entity, int64_t bucket_start_ns) {
  std::string key;
  return HexHash128(AlertKey(&key, rule_id, entity, bucket_start_ns));
}

std::string EncodeAlertTags(const std::vector<std::string>& tags) { return EncodeTagList(tags); }

void AlertFold::Add(const Event& event, const Match& match) {
  Hit h{match.rule_id,
        match.title,
        match.severity,
        match.entity.empty() ? std::string_view(event.principal) : std::string_view(match.entity),
        match.finding_type,
        event.id,
        match.tags,
        match.rollup_window_ns,
        event.time_ns};
  // A new event: another object, or the same object (a caller's reused
  // variable) holding another event.
  if (current_event_ != &event || current_id_ != event.id) {
    current_event_ = &event;
    current_id_.assign(event.id);
    current_alerts_.clear();
  }
  Fold(h, match.explain ? &match.explain : nullptr, nullptr, /*by_set=*/false);
}

void AlertFold::Add(const AlertHit& hit) {
  Hit h{hit.rule_id, hit.title,    hit.severity,         hit.entity,       hit.finding_type,
        hit.event_id, &hit.tags,   hit.rollup_window_ns, hit.event_time_ns};
  current_event_ = nullptr;
  Fold(h, nullptr, hit.match.empty() ? nullptr : &hit.match, /*by_set=*/true);
}

std::vector<std::pair<int64_t, std::string_view>> AlertFold::SortedEventIds(const AlertDelta& d) const {
  std::vector<std::pair<int64_t, std::string_view>> out;
  out.reserve(d.event_ids.size());
  for (const AlertDelta::IdRef& r : d.event_ids) out.emplace_back(r.time_ns, IdOf(r));
  std::sort(out.begin(), out.end());
  return out;
}

// Only matches (Add(Event, Match)) view strings that stay put for the fold's
// life (detector.h); a hit's may be a reused variable's, so it never matches.
AlertFold::Source AlertFold::SourceOf(const Hit& hit, bool by_set) {
  return by_set ? Source{nullptr, nullptr} : Source{hit.tags, hit.title.data()};
}

void AlertFold::Fold(const Hit& hit, const std::function<std::string()>* explain, const std::string* match,
                     bool by_set) {
  const int64_t window = hit.rollup_window_ns > 0 ? hit.rollup_window_ns : kDefaultRollupWindowNs;
  const int64_t bucket = AlertBucketStart(hit.event_time_ns, window);
  const Hash128 alert = HashId128(AlertKey(&key_, hit.rule_id, hit.entity, bucket));
  auto [index, inserted] = index_.FindOrInsert(alert, static_cast<uint32_t>(deltas_.size()));
  if (inserted) {
    sources_.push_back(SourceOf(hit, by_set));
    AlertDelta& d = deltas_.emplace_back();
    d.id = Hex(alert);
    d.rule_id = hit.rule_id;
    d.title = hit.title;
    d.severity = hit.severity;
    d.tags = *hit.tags;
    d.entity = hit.entity;
    d.finding_type = hit.finding_type;
    d.bucket_start_ns = bucket;
  }
  AlertDelta& d = deltas_[index];
  Source& source = sources_[index];
  if (!inserted && (source.tags != hit.tags || source.title != hit.title.data()) &&
      (hit.severity != d.severity || hit.title != d.title || *hit.tags != d.tags ||
       hit.finding_type != d.finding_type) &&
      Larger(hit.severity, hit.title, *hit.tags, hit.finding_type, d)) {
    d.title = hit.title;
    d.severity = hit.severity;
    d.tags = *hit.tags;
    d.finding_type = hit.finding_type;
    source = SourceOf(hit, by_set);
  }
  // The explanation of the earliest event (ties: the smallest text).
  if ((explain != nullptr || match != nullptr) && (d.match.empty() || hit.event_time_ns <= d.match_time_ns)) {
    std::string text = match != nullptr ? *match : (*explain)();
    if (!text.empty() && (d.match.empty() || hit.event_time_ns < d.match_time_ns || text < d.match)) {
      d.match = std::move(text);
      d.match_time_ns = hit.event_time_ns;
    }
  }
  // Count each (alert, event) once.
  if (by_set) {
    const Hash128 ev = HashId128(hit.event_id);
    const Hash128 pair{ev.lo ^ (alert.lo * 0x9E3779B97F4A7C15ull), ev.hi ^ (alert.hi * 0xC2B2AE3D27D4EB4Full)};
    if (!seen_.Insert(pair)) return;
  } else {
    if (std::find(current_alerts_.begin(), current_alerts_.end(), alert) != current_alerts_.end()) return;
    current_alerts_.push_back(alert);
  }
  const int64_t t = hit.event_time_ns;
  d.first_seen_ns = d.count == 0 ? t : std::min(d.first_seen_ns, t);
  d.last_seen_ns = d.count == 0 ? t : std::max(d.last_seen_ns, t);
  ++d.count;
  // Keep the smallest (time, id) pairs in a max-heap; ids go to the arena.
  auto less = [this](const AlertDelta::IdRef& a, const AlertDelta::IdRef& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : IdOf(a) < IdOf(b);
  };
  auto stash = [&] {
    AlertDelta::IdRef r{t, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(hit.event_id.size())};
    arena_.append(hit.event_id);
    return r;
  };
  if (d.event_ids.size() < kMaxAlertEventIds) {
    d.event_ids.push_back(stash());
    std::push_heap(d.event_ids.begin(), d.event_ids.end(), less);
    ++held_ids_;
  } else if (t < d.event_ids.front().time_ns ||
             (t == d.event_ids.front().time_ns && hit.event_id < IdOf(d.event_ids.front()))) {
    std::pop_heap(d.event_ids.begin(), d.event_ids.end(), less);
    d.event_ids.back() = stash();
    std::push_heap(d.event_ids.begin(), d.event_ids.end(), less);
  }
}

void AlertFold::Clear() {
  deltas_.clear();
  sources_.clear();
  index_.Clear();
  seen_.Clear();
  current_event_ = nullptr;
  current_alerts_.clear();
  std::string().swap(arena_);
  held_ids_ = 0;
}

}  // namespace vigil
