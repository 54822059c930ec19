#include "cli/hunt_columns.h"

#include <charconv>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/varint.h"

namespace vigil::cli {
namespace {

// The values of one group of events at the planned fields, answering the
// matcher and the stages as the raw record would for these paths.
class GroupFields final : public FieldResolver {
 public:
  struct Field {
    FieldPath path;
    std::vector<FieldValue> values;  // texts point into texts_
  };

  explicit GroupFields(const std::vector<std::string>& names) {
    for (const std::string& n : names) fields_.push_back({FieldPath(n), {}});
  }
  Field& field(size_t i) { return fields_[i]; }
  std::string_view Keep(std::string_view text) { return texts_.emplace_back(text); }

  bool Visit(const FieldPath& path, const FieldVisitor& visitor) const override {
    for (const Field& f : fields_) {
      if (!(f.path == path)) continue;
      for (const FieldValue& v : f.values)
        if (!visitor(v)) break;
      return !f.values.empty();
    }
    return false;
  }
  void VisitAllScalars(const FieldVisitor& visitor) const override {
    for (const Field& f : fields_)
      for (const FieldValue& v : f.values)
        if (!visitor(v)) return;
  }

 private:
  std::vector<Field> fields_;
  std::deque<std::string> texts_;  // a deque: views of its elements stay valid
};

// bin(t, span) for a time, as the bin() function computes it.
int64_t BinStart(int64_t t, int64_t span) {
  int64_t b = t / span * span;
  if (t < 0 && t % span != 0) b -= span;
  return b;
}

class ColumnRunner {
 public:
  ColumnRunner(const ColumnPlan& plan, const ScanOptions& scan, const Matcher& matcher, QueryPipeline* pipeline,
               HuntCounts* counts, Status* pipe_status)
      : plan_(plan), scan_(scan), matcher_(matcher), pipeline_(pipeline), counts_(counts), pipe_status_(pipe_status) {
    for (size_t f = 0; f < plan_.fields.size(); ++f) {
      const std::string& n = plan_.fields[f];
      if (n == "source") source_ = static_cast<int>(f);
      else if (n == "account") account_ = static_cast<int>(f);
      else if (n == "principal") principal_ = static_cast<int>(f);
      else record_fields_.push_back(f);
    }
  }

  // Groups one block's records into groups_. False to stop.
  bool Add(const ColumnBlock& b) {
    const int64_t from = scan_.from_ns.value_or(INT64_MIN);
    const bool to_set = scan_.to_ns.has_value();
    const int64_t to = scan_.to_ns.value_or(INT64_MAX);
    const int64_t span = plan_.time_bucket_ns;
    const bool have_times = !b.times.empty();
    // The time a record's group carries: exact, its bucket, or none read.
    auto time_of = [&](uint32_t r) -> int64_t {
      const int64_t t = have_times ? b.times[r] : b.min_time_ns;
      if (plan_.exact_time) return t;
      if (span > 0) return BinStart(t, span);
      return 0;
    };
    // Records with equal local keys have equal values: dense index when every
    // field has one value a record and the combinations are few, else a hash.
    bool dense = !plan_.exact_time;
    uint64_t size = 1;
    uint64_t buckets = 1;
    int64_t first_bucket = 0;
    if (span > 0 && have_times) {
      first_bucket = BinStart(b.min_time_ns, span);
      buckets = static_cast<uint64_t>((BinStart(b.max_time_ns, span) - first_bucket) / span) + 1;
    }
    size = buckets;
    // dense_ keeps its size across blocks and only touched slots are reset,
    // so a large index space costs memory (4 bytes a slot), not time.
    constexpr uint64_t limit = uint64_t{1} << 20;
    for (const ColumnBlock::Column& c : b.columns) {
      if (!dense) break;
      dense = c.single && !c.is_int && !c.text.empty() && size <= limit / c.text.size();
      size *= c.text.empty() ? 1 : c.text.size();
    }
    slots_.clear();
    if (dense) {
      if (dense_.size() < size) dense_.resize(size, UINT32_MAX);
      for (uint32_t r = 0; r < b.rows; ++r) {
        if (!b.pass.empty() && !b.pass[r]) continue;
        if (have_times && !InRange(b.times[r], from, to_set, to)) continue;
        uint64_t idx = have_times && span > 0 ? static_cast<uint64_t>((BinStart(b.times[r], span) - first_bucket) / span) : 0;
        for (const ColumnBlock::Column& c : b.columns) idx = idx * c.text.size() + c.values[r];
        uint32_t& slot = dense_[idx];
        if (slot == UINT32_MAX) {
          slot = static_cast<uint32_t>(slots_.size());
          slots_.push_back({r, 0, idx});
        }
        ++slots_[slot].count;
      }
      for (const Slot& s : slots_) dense_[s.dense] = UINT32_MAX;
    } else {
      local_.clear();
      for (uint32_t r = 0; r < b.rows; ++r) {
        if (!b.pass.empty() && !b.pass[r]) continue;
        if (have_times && !InRange(b.times[r], from, to_set, to)) continue;
        key_.clear();
        PutI64(time_of(r), &key_);
        for (const ColumnBlock::Column& c : b.columns) {
          PutU64(c.begin[r + 1] - c.begin[r], &key_);
          for (uint32_t k = c.begin[r]; k < c.begin[r + 1]; ++k)
            PutU64(c.is_int ? static_cast<uint64_t>(c.ints[k]) : c.values[k], &key_);
        }
        auto [it, inserted] = local_.try_emplace(key_, static_cast<uint32_t>(slots_.size()));
        if (inserted) slots_.push_back({r, 0, 0});
        ++slots_[it->second].count;
      }
    }
    // The block's dictionary entries as global value numbers, looked up once
    // per entry rather than once per group.
    global_of_.resize(b.columns.size());
    for (size_t f = 0; f < b.columns.size(); ++f) {
      const ColumnBlock::Column& c = b.columns[f];
      global_of_[f].resize(c.text.size());
      for (size_t v = 0; v < c.text.size(); ++v) global_of_[f][v] = GlobalId(f, c.text[v]);
    }
    for (const Slot& s : slots_) {
      counts_->scanned += s.count;
      GroupKey(b, s.first, time_of(s.first), &key_);
      auto [it, inserted] = groups_.try_emplace(key_, 0.0);
      if (inserted) group_bytes_ += key_.size() + 64;
      it->second += s.count;
    }
    // Bounded memory: groups are additive, so they can go to the pipeline in parts.
    if (group_bytes_ > (64u << 20)) return Flush();
    return true;
  }

  // Hands every group to the pipeline. False to stop.
  bool Flush() {
    bool more = true;
    for (const auto& [key, weight] : groups_) {
      if (!Emit(key, weight)) {
        more = false;
        break;
      }
    }
    groups_.clear();
    global_ids_.clear();
    global_text_.clear();
    group_bytes_ = 0;
    return more;
  }

 private:
  struct Slot {
    uint32_t first;  // a record with the slot's values
    uint32_t count;
    uint64_t dense;
  };

  static bool InRange(int64_t t, int64_t from, bool to_set, int64_t to) { return t >= from && (!to_set || t < to); }

  // The number of text `t` among field f's values seen so far.
  uint32_t GlobalId(size_t f, std::string_view t) {
    if (global_ids_.size() <= f) {
      global_ids_.resize(f + 1);
      global_text_.resize(f + 1);
    }
    auto it = global_ids_[f].find(t);
    if (it != global_ids_[f].end()) return it->second;
    group_bytes_ += t.size() + 64;
    const std::string& kept = global_text_[f].emplace_back(t);
    const uint32_t id = static_cast<uint32_t>(global_text_[f].size() - 1);
    global_ids_[f].emplace(kept, id);
    return id;
  }

  // The group key of record r (common/varint.h): its time, then per field
  // the number of values and each as 'i' + the integer or 's' + the global
  // number of its text.
  void GroupKey(const ColumnBlock& b, uint32_t r, int64_t time, std::string* key) const {
    key->clear();
    PutI64(time, key);
    for (size_t f = 0; f < b.columns.size(); ++f) {
      const ColumnBlock::Column& c = b.columns[f];
      PutU64(c.begin[r + 1] - c.begin[r], key);
      for (uint32_t k = c.begin[r]; k < c.begin[r + 1]; ++k) {
        if (c.is_int) {
          key->push_back('i');
          PutI64(c.ints[k], key);
        } else {
          key->push_back('s');
          PutU64(global_of_[f][c.values[k]], key);
        }
      }
    }
  }

  bool Emit(std::string_view key, double weight) {
    auto group = std::make_shared<GroupFields>(RecordFieldNames());
    auto event = std::make_shared<RowEvent>();
    VarintReader in(key);  // written by GroupKey just before: well-formed
    in.I64(&event->time_ns);
    size_t next_record_field = 0;
    for (size_t f = 0; f < plan_.fields.size(); ++f) {
      uint64_t n = 0;
      in.U64(&n);
      std::string* meta = static_cast<int>(f) == source_ ? &event->source
                          : static_cast<int>(f) == account_ ? &event->account
                          : static_cast<int>(f) == principal_ ? &event->principal
                                                              : nullptr;
      GroupFields::Field* out = meta == nullptr ? &group->field(next_record_field++) : nullptr;
      for (uint64_t k = 0; k < n; ++k) {
        std::string_view tag;
        in.Bytes(1, &tag);
        FieldValue v;
        if (tag == "i") {
          int64_t i = 0;
          in.I64(&i);
          char buf[24];
          auto res = std::to_chars(buf, buf + sizeof buf, i);
          v.kind = ValueKind::kNumber;
          v.number = static_cast<double>(i);
          v.is_integer = true;
          v.text = group->Keep(std::string_view(buf, static_cast<size_t>(res.ptr - buf)));
        } else {
          uint64_t id = 0;
          in.U64(&id);
          const std::string_view text = global_text_[f][id];
          if (meta != nullptr) {
            meta->assign(text);
            continue;
          }
          v.kind = ValueKind::kString;
          v.text = group->Keep(text);
        }
        if (out != nullptr) out->values.push_back(v);
      }
    }
    MetadataFields m;
    if (!event->source.empty()) m.source = event->source;
    if (!event->account.empty()) m.account = event->account;
    if (!event->principal.empty()) m.principal = event->principal;
    m.time_ns = event->time_ns;
    if (!matcher_.Matches(*group, &m)) return true;
    counts_->matched += static_cast<uint64_t>(weight);
    event->fields = std::move(group);
    Row row;
    row.event = std::move(event);
    row.weight = weight;
    auto more = pipeline_->Push(std::move(row));
    if (!more.ok()) {
      *pipe_status_ = more.status();
      return false;
    }
    return *more;
  }

  std::vector<std::string> RecordFieldNames() const {
    std::vector<std::string> names;
    for (size_t f : record_fields_) names.push_back(plan_.fields[f]);
    return names;
  }

  const ColumnPlan& plan_;
  const ScanOptions& scan_;
  const Matcher& matcher_;
  QueryPipeline* pipeline_;
  HuntCounts* counts_;
  Status* pipe_status_;
  int source_ = -1, account_ = -1, principal_ = -1;
  std::vector<size_t> record_fields_;
  std::unordered_map<std::string, double> groups_;
  size_t group_bytes_ = 0;
  std::vector<Slot> slots_;
  std::vector<uint32_t> dense_;
  std::unordered_map<std::string, uint32_t> local_;
  std::string key_;
  // Per field: its distinct texts, numbered in the order first seen (a deque:
  // the map's views of its elements stay valid), and this block's
  // dictionary entries' numbers.
  std::vector<std::unordered_map<std::string_view, uint32_t>> global_ids_;
  std::vector<std::deque<std::string>> global_text_;
  std::vector<std::vector<uint32_t>> global_of_;
};

}  // namespace

Status ScanFromColumns(EventStore* store, const ColumnPlan& plan, const ScanOptions& scan, const Matcher& matcher,
                       QueryPipeline* pipeline, const std::function<bool(const StoredEvent&)>& raw,
                       const std::function<void(const HuntCounts&)>& progress, HuntCounts* counts,
                       Status* pipe_status) {
  ColumnRequest request;
  request.fields = plan.fields;
  request.times = plan.exact_time;
  request.time_bucket_ns = plan.time_bucket_ns;
  ColumnRunner runner(plan, scan, matcher, pipeline, counts, pipe_status);
  bool stopped = false;
  Status st = store->ScanColumns(
      scan, request,
      [&](const ColumnBlock& b) {
        const bool more = runner.Add(b);
        if (progress) progress(*counts);
        stopped = !more;
        return more;
      },
      [&](const StoredEvent& e) {
        const bool more = raw(e);
        stopped = !more;
        return more;
      });
  VIGIL_RETURN_IF_ERROR(st);
  if (!stopped) runner.Flush();
  return Status::Ok();
}

}  // namespace vigil::cli
