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
  const int best = SeverityRank(std::string(d.severity));
  if (rank != best) return rank > best;
  if (severity != d.severity) return severity > d.severity;
  if (title != d.title) return title > d.title;
  if (tags != *d.tags) return EncodeTagList(tags) > EncodeTagList(*d.tags);
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
    current_held_ = false;
  }
  Fold(h, match.explain ? &match.explain : nullptr, nullptr, /*by_set=*/false);
}

void AlertFold::Add(const AlertHit& hit) {
  Hit h{hit.rule_id, hit.title,    hit.severity,         hit.entity,       hit.finding_type,
        hit.event_id, &hit.tags,   hit.rollup_window_ns, hit.event_time_ns};
  current_event_ = nullptr;
  Fold(h, nullptr, hit.match.empty() ? nullptr : &hit.match, /*by_set=*/true);
}

std::string_view AlertFold::TextOf(const AlertDelta::IdRef& r) const {
  uint32_t offset, size;
  std::memcpy(&offset, r.bytes, 4);
  std::memcpy(&size, r.bytes + 4, 4);
  return std::string_view(arena_).substr(offset, size);
}

AlertDelta::IdRef AlertFold::Hold(int64_t time_ns, std::string_view id) {
  AlertDelta::IdRef r;
  r.time_ns = time_ns;
  r.form = PackId(id, r.bytes);
  if (r.form == IdForm::kText) {
    const auto offset = static_cast<uint32_t>(arena_.size());
    const auto size = static_cast<uint32_t>(id.size());
    std::memcpy(r.bytes, &offset, 4);
    std::memcpy(r.bytes + 4, &size, 4);
    arena_.append(id);
  }
  return r;
}

bool AlertFold::IdLess(const AlertDelta::IdRef& a, const AlertDelta::IdRef& b) const {
  if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns;
  // Packed bytes of one form order as their text does (lower-case hex
  // digits, dashes at the same places).
  if (a.form == b.form && a.form != IdForm::kText) return std::memcmp(a.bytes, b.bytes, 16) < 0;
  std::string abuf, bbuf;
  return IdText(a, &abuf) < IdText(b, &bbuf);
}

std::string_view AlertFold::IdText(const AlertDelta::IdRef& r, std::string* buf) const {
  if (r.form == IdForm::kText) return TextOf(r);
  buf->clear();
  UnpackHexId(r.bytes, r.form == IdForm::kUuid, buf);
  return *buf;
}

std::vector<AlertDelta::IdRef> AlertFold::SortedIdRefs(const AlertDelta& d) const {
  std::vector<AlertDelta::IdRef> out = d.event_ids;
  auto less = [this](const AlertDelta::IdRef& a, const AlertDelta::IdRef& b) { return IdLess(a, b); };
  if (std::is_sorted(out.begin(), out.end(), less)) return out;  // arrived in order
  std::sort(out.begin(), out.end(), [this](const AlertDelta::IdRef& a, const AlertDelta::IdRef& b) { return IdLess(a, b); });
  return out;
}

std::vector<std::pair<int64_t, std::string>> AlertFold::SortedEventIds(const AlertDelta& d) const {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const AlertDelta::IdRef& r : SortedIdRefs(d)) {
    std::string buf;
    out.emplace_back(r.time_ns, std::string(IdText(r, &buf)));
  }
  return out;
}

std::string_view AlertFold::Intern(std::string_view s) {
  auto it = strings_.find(s);
  if (it == strings_.end()) it = strings_.emplace(s).first;
  return *it;
}

const std::vector<std::string>* AlertFold::Intern(const std::vector<std::string>& tags) {
  return &*tag_lists_.insert(tags).first;
}

Hash128Index* AlertFold::BucketIndex(int64_t bucket) {
  if (last_index_ == nullptr || bucket != last_bucket_) {
    last_index_ = &buckets_.try_emplace(bucket, 64).first->second;
    last_bucket_ = bucket;
  }
  return last_index_;
}

void AlertFold::Fold(const Hit& hit, const std::function<std::string()>* explain, const std::string* match,
                     bool by_set) {
  const int64_t window = hit.rollup_window_ns > 0 ? hit.rollup_window_ns : kDefaultRollupWindowNs;
  const int64_t bucket = AlertBucketStart(hit.event_time_ns, window);
  Hash128Index* bucket_index = BucketIndex(bucket);
  Hash128 probe{Hash64(hit.rule_id), Hash64(hit.entity)};
  uint32_t index;
  bool inserted;
  for (;;) {
    std::tie(index, inserted) = bucket_index->FindOrInsert(probe, static_cast<uint32_t>(deltas_.size()));
    if (inserted || (deltas_[index].rule_id == hit.rule_id && deltas_[index].entity == hit.entity)) break;
    probe.lo += 0x9E3779B97F4A7C15ull;  // another alert's hashes: the next slot of this chain
  }
  // A hit's strings may be a reused variable's: keep copies. A match's view
  // its rule's, which stay put (detector.h).
  auto own = [&](std::string_view s) { return by_set ? Intern(s) : s; };
  if (inserted) {
    AlertDelta& d = deltas_.emplace_back();
    d.key = HashId128(AlertKey(&key_, hit.rule_id, hit.entity, bucket));
    d.rule_id = own(hit.rule_id);
    d.title = own(hit.title);
    d.severity = own(hit.severity);
    d.tags = by_set ? Intern(*hit.tags) : hit.tags;
    d.entity = Intern(hit.entity);
    d.finding_type = own(hit.finding_type);
    d.bucket_start_ns = bucket;
  }
  AlertDelta& d = deltas_[index];
  // Matches of one rule carry the same strings: the same addresses need no
  // comparison.
  const bool same_source = d.tags == hit.tags && d.title.data() == hit.title.data() &&
                           d.severity.data() == hit.severity.data() && d.finding_type.data() == hit.finding_type.data();
  if (!inserted && !same_source &&
      (hit.severity != d.severity || hit.title != d.title || *hit.tags != *d.tags ||
       hit.finding_type != d.finding_type) &&
      Larger(hit.severity, hit.title, *hit.tags, hit.finding_type, d)) {
    d.title = own(hit.title);
    d.severity = own(hit.severity);
    d.tags = by_set ? Intern(*hit.tags) : hit.tags;
    d.finding_type = own(hit.finding_type);
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
    const Hash128 pair{ev.lo ^ (d.key.lo * 0x9E3779B97F4A7C15ull), ev.hi ^ (d.key.hi * 0xC2B2AE3D27D4EB4Full)};
    if (!seen_.Insert(pair)) return;
  } else {
    if (std::find(current_alerts_.begin(), current_alerts_.end(), index) != current_alerts_.end()) return;
    current_alerts_.push_back(index);
  }
  // An event's id is packed once for all of its matches.
  auto hold = [&]() {
    if (by_set) return Hold(hit.event_time_ns, hit.event_id);
    if (!current_held_) {
      current_ref_ = Hold(hit.event_time_ns, hit.event_id);
      current_held_ = true;
    }
    return current_ref_;
  };
  const int64_t t = hit.event_time_ns;
  d.first_seen_ns = d.count == 0 ? t : std::min(d.first_seen_ns, t);
  d.last_seen_ns = d.count == 0 ? t : std::max(d.last_seen_ns, t);
  ++d.count;
  // Keep the smallest (time, id) pairs: every one until there are
  // kMaxAlertEventIds (in arrival order: most alerts never fill up, and
  // pushing onto a heap in time order costs a climb to the top each time),
  // then a max-heap of them.
  auto less = [this](const AlertDelta::IdRef& a, const AlertDelta::IdRef& b) { return IdLess(a, b); };
  if (d.event_ids.size() < kMaxAlertEventIds) {
    d.event_ids.push_back(hold());
    if (d.event_ids.size() == kMaxAlertEventIds) std::make_heap(d.event_ids.begin(), d.event_ids.end(), less);
    ++held_ids_;
  } else if (const AlertDelta::IdRef& last = d.event_ids.front();
             t < last.time_ns || (t == last.time_ns && hit.event_id < IdText(last, &key_))) {
    std::pop_heap(d.event_ids.begin(), d.event_ids.end(), less);
    d.event_ids.back() = hold();
    std::push_heap(d.event_ids.begin(), d.event_ids.end(), less);
  }
}

void AlertFold::Clear() {
  deltas_.clear();
  buckets_.clear();
  last_index_ = nullptr;
  seen_.Clear();
  current_event_ = nullptr;
  current_alerts_.clear();
  current_held_ = false;
  std::string().swap(arena_);
  held_ids_ = 0;
  strings_.clear();
  tag_lists_.clear();
}

}  // namespace vigil
