#include "ingest/minimise.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "common/hash.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "query/matcher.h"
#include "query/parser.h"

namespace vigil {
namespace {

// Open groups are saved one a line, tab-separated, with \t, \n and % written %XX.
std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\t' || c == '\n' || c == '%') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char c) { return c <= '9' ? c - '0' : c - 'A' + 10; };
      out.push_back(static_cast<char>(hex(s[i + 1]) << 4 | hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

struct Group {
  uint64_t count = 0;
  uint64_t bytes = 0;
  std::vector<int64_t> sums;
  int64_t first_ns = 0, last_ns = 0;
  std::string min_id;   // names the summary (stable whatever the arrival order)
  std::string account;  // of the first event
};

// (rule index, source, window start, group values joined by \x1f)
using GroupKey = std::tuple<size_t, std::string, int64_t, std::string>;

}  // namespace

const char* MinimiseKindName(MinimiseRule::Kind kind) {
  switch (kind) {
    case MinimiseRule::Kind::kDrop: return "drop";
    case MinimiseRule::Kind::kSample: return "sample";
    case MinimiseRule::Kind::kAggregate: return "aggregate";
    case MinimiseRule::Kind::kNone: return "none";
  }
  return "?";
}

std::string MinimiseCountersJson(const MinimiseCounters& counters) {
  JsonObject all;
  for (const auto& [source, kinds] : counters) {
    JsonObject per_source;
    for (const auto& [kind, c] : kinds) {
      per_source.Raw(kind, JsonObject()
                               .UInt("events", c.events)
                               .UInt("bytes", c.bytes)
                               .UInt("summaries", c.summaries)
                               .UInt("summary_bytes", c.summary_bytes)
                               .Done());
    }
    all.Raw(source, per_source.Done());
  }
  return all.Done();
}

Result<MinimiseCounters> ParseMinimiseCounters(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  simdjson::padded_string padded(json);
  if (parser.parse(padded).get(root)) return Status::Corruption("minimisation counters are not a JSON object");
  MinimiseCounters out;
  for (auto [source, kinds_el] : root) {
    simdjson::dom::object kinds;
    if (kinds_el.get(kinds)) return Status::Corruption("minimisation counters: bad entry for " + std::string(source));
    for (auto [kind, c_el] : kinds) {
      MinimiseCount& c = out[std::string(source)][std::string(kind)];
      uint64_t v;
      if (!c_el["events"].get(v)) c.events = v;
      if (!c_el["bytes"].get(v)) c.bytes = v;
      if (!c_el["summaries"].get(v)) c.summaries = v;
      if (!c_el["summary_bytes"].get(v)) c.summary_bytes = v;
    }
  }
  return out;
}

Result<MinimiseCounters> LoadMinimiseCounters(MetadataStore* metadata) {
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> json, metadata->GetState(kMinimiseCountersKey));
  if (!json || json->empty()) return MinimiseCounters{};
  return ParseMinimiseCounters(*json);
}

struct Minimiser::Impl {
  struct CompiledRule {
    MinimiseRule rule;
    std::optional<Matcher> matcher;
    std::vector<FieldPath> by, sum;
    // Restored groups of a rule no longer configured (or changed): matches
    // nothing new, and its groups are written out at the next Flush.
    bool retired = false;
  };
  std::vector<CompiledRule> rules;
  std::map<GroupKey, Group> groups;
  std::map<std::string, int64_t> max_time;  // per source, events seen by aggregation
  size_t max_open_groups = 100000;
};

Minimiser::Minimiser(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Minimiser::~Minimiser() = default;

Result<std::unique_ptr<Minimiser>> Minimiser::Create(std::vector<MinimiseRule> rules) {
  auto impl = std::make_unique<Impl>();
  for (size_t i = 0; i < rules.size(); ++i) {
    MinimiseRule& r = rules[i];
    if (r.name.empty()) r.name = r.source + "-" + MinimiseKindName(r.kind) + "-" + std::to_string(i + 1);
    const std::string where = "minimise rule " + r.name;
    if (r.source.empty()) return Status::InvalidArgument(where + ": source is required (a log type, or *)");
    if (r.kind == MinimiseRule::Kind::kNone)
      return Status::InvalidArgument(where + ": one of drop, sample or aggregate is required");
    Impl::CompiledRule c;
    if (!r.where.empty()) {
      auto q = ParseQuery(r.where);
      if (!q.ok()) return q.status().WithContext(where);
      if (!q->pipes.empty()) return Status::InvalidArgument(where + ": the condition must be a search, without pipes");
      auto m = Matcher::Compile(q->search);
      if (!m.ok()) return m.status().WithContext(where);
      c.matcher.emplace(std::move(m).value());
    } else if (r.kind == MinimiseRule::Kind::kDrop) {
      return Status::InvalidArgument(where + ": drop needs a condition (dropping a whole source: do not ingest it)");
    }
    if (r.kind == MinimiseRule::Kind::kSample && r.sample_every < 2)
      return Status::InvalidArgument(where + ": sample must keep 1 in N with N at least 2");
    if (r.kind == MinimiseRule::Kind::kAggregate) {
      if (r.by.empty()) return Status::InvalidArgument(where + ": aggregate needs `by` fields");
      if (r.window_seconds < 1 || r.window_seconds > 86400)
        return Status::InvalidArgument(where + ": window_seconds must be 1 to 86400");
      for (const auto& f : r.by) c.by.emplace_back(f);
      for (const auto& f : r.sum) c.sum.emplace_back(f);
    }
    c.rule = std::move(r);
    impl->rules.push_back(std::move(c));
  }
  return std::unique_ptr<Minimiser>(new Minimiser(std::move(impl)));
}

bool Minimiser::has_before_detection() const {
  for (const auto& r : impl_->rules)
    if (r.rule.before_detection) return true;
  return false;
}

size_t Minimiser::open_groups() const { return impl_->groups.size(); }

bool Minimiser::Keep(const Event& e, Stage stage) {
  const MetadataFields meta = MetadataOf(e);
  for (size_t i = 0; i < impl_->rules.size(); ++i) {
    Impl::CompiledRule& c = impl_->rules[i];
    const MinimiseRule& r = c.rule;
    if (c.retired || (r.source != "*" && r.source != e.source_type)) continue;
    if (c.matcher && (e.fields == nullptr || !c.matcher->Matches(*e.fields, &meta))) continue;
    // The first matching rule decides, at its own stage.
    if (r.before_detection != (stage == Stage::kBeforeDetection)) return true;
    MinimiseCount& count = counters_[e.source_type][MinimiseKindName(r.kind)];
    switch (r.kind) {
      case MinimiseRule::Kind::kNone:
      case MinimiseRule::Kind::kDrop:
        break;
      case MinimiseRule::Kind::kSample:
        if (HashId128(e.id).lo % r.sample_every == 0) return true;
        break;
      case MinimiseRule::Kind::kAggregate: {
        const int64_t window = r.window_seconds * kNanosPerSecond;
        int64_t start = e.time_ns / window * window;
        if (e.time_ns < 0 && e.time_ns % window != 0) start -= window;
        std::string values;
        for (size_t k = 0; k < c.by.size(); ++k) {
          if (k) values.push_back('\x1f');
          values += e.FirstString(c.by[k]);
        }
        Group& g = impl_->groups[GroupKey{i, e.source_type, start, std::move(values)}];
        if (g.count == 0) {
          g.sums.assign(c.sum.size(), 0);
          g.first_ns = g.last_ns = e.time_ns;
          g.min_id = e.id;
          g.account = e.account;
        }
        ++g.count;
        g.bytes += e.raw.size();
        for (size_t k = 0; k < c.sum.size(); ++k) {
          const std::string v = e.FirstString(c.sum[k]);
          char* end = nullptr;
          long long n = std::strtoll(v.c_str(), &end, 10);
          if (!v.empty() && *end == '\0') g.sums[k] += n;
        }
        g.first_ns = std::min(g.first_ns, e.time_ns);
        g.last_ns = std::max(g.last_ns, e.time_ns);
        g.min_id = std::min(g.min_id, e.id);
        int64_t& seen = impl_->max_time[e.source_type];
        seen = std::max(seen, e.time_ns);
        break;
      }
    }
    ++count.events;
    count.bytes += e.raw.size();
    return false;
  }
  return true;
}

void Minimiser::Flush(bool all, std::vector<Event>* out) {
  auto& groups = impl_->groups;
  // Beyond the bound, the oldest windows go first whatever their state.
  std::optional<int64_t> force_before;
  if (groups.size() > impl_->max_open_groups) {
    std::vector<int64_t> starts;
    for (const auto& [k, g] : groups) starts.push_back(std::get<2>(k));
    std::nth_element(starts.begin(), starts.begin() + static_cast<long>(groups.size() - impl_->max_open_groups / 2),
                     starts.end(), std::greater<>());
    force_before = starts[groups.size() - impl_->max_open_groups / 2];
  }
  const int64_t now = NowNanos();
  for (auto it = groups.begin(); it != groups.end();) {
    const auto& [rule_index, source, start, values] = it->first;
    const Impl::CompiledRule& c = impl_->rules[rule_index];
    const int64_t window = c.rule.window_seconds * kNanosPerSecond;
    // Complete once the source's events have moved a whole window past its end.
    const bool complete = c.retired || impl_->max_time[source] >= start + 2 * window;
    if (!all && !complete && !(force_before && start <= *force_before)) {
      ++it;
      continue;
    }
    const Group& g = it->second;
    JsonObject rec;
    auto parts = Split(values, '\x1f');
    for (size_t k = 0; k < c.rule.by.size() && k < parts.size(); ++k) rec.Str(c.rule.by[k], parts[k]);
    for (size_t k = 0; k < c.rule.sum.size(); ++k) rec.Int(c.rule.sum[k], g.sums[k]);
    rec.Raw("summary", JsonObject()
                           .Str("of", source)
                           .Str("rule", c.rule.name)
                           .UInt("count", g.count)
                           .UInt("raw_bytes", g.bytes)
                           .Str("window_start", FormatRfc3339(start))
                           .Int("window_seconds", c.rule.window_seconds)
                           .Str("first", FormatRfc3339(g.first_ns))
                           .Str("last", FormatRfc3339(g.last_ns))
                           .Done());
    Event s;
    s.source_type = source + ".summary";
    s.raw = rec.Done();
    s.id = "summary-" + HexHash128(c.rule.name + "\n" + std::to_string(start) + "\n" + values + "\n" + g.min_id);
    s.time_ns = start;
    s.ingest_time_ns = now;
    s.account = g.account;
    MinimiseCount& count = counters_[source][MinimiseKindName(MinimiseRule::Kind::kAggregate)];
    ++count.summaries;
    count.summary_bytes += s.raw.size();
    out->push_back(std::move(s));
    it = groups.erase(it);
  }
}

Status Minimiser::SaveState(const std::function<Status(const std::string&, const std::string&)>& put) const {
  VIGIL_RETURN_IF_ERROR(put(kMinimiseCountersKey, MinimiseCountersJson(counters_)));
  // Open groups by rule name, so a reordered configuration still finds them.
  std::string open;
  for (const auto& [key, g] : impl_->groups) {
    const auto& [rule_index, source, start, values] = key;
    const MinimiseRule& r = impl_->rules[rule_index].rule;
    std::string by, sum;
    for (const auto& f : r.by) by += (by.empty() ? "" : "\x1f") + f;
    for (const auto& f : r.sum) sum += (sum.empty() ? "" : "\x1f") + f;
    open += Escape(r.name) + "\t" + Escape(source) + "\t" + std::to_string(start) + "\t" + Escape(values) + "\t" +
            std::to_string(g.count) + "\t" + std::to_string(g.bytes) + "\t" + std::to_string(g.first_ns) + "\t" +
            std::to_string(g.last_ns) + "\t" + Escape(g.min_id) + "\t" + Escape(g.account) + "\t" +
            std::to_string(r.window_seconds) + "\t" + Escape(by) + "\t" + Escape(sum);
    for (int64_t s : g.sums) open += "\t" + std::to_string(s);
    open += "\n";
  }
  return put(kMinimiseOpenKey, open);
}

Status Minimiser::RestoreState(const std::function<Result<std::optional<std::string>>(const std::string&)>& get) {
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> counters, get(kMinimiseCountersKey));
  if (counters && !counters->empty()) {
    auto parsed = ParseMinimiseCounters(*counters);
    if (!parsed.ok()) return parsed.status();
    counters_ = std::move(parsed).value();
  }
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> open, get(kMinimiseOpenKey));
  if (!open) return Status::Ok();
  impl_->groups.clear();
  // Fields: rule, source, window start, group values, count, bytes, first,
  // last, min id, account, window seconds, by names, sum names, sums...
  for (std::string_view line : Split(*open, '\n')) {
    if (line.empty()) continue;
    auto f = Split(line, '\t');
    if (f.size() < 13) return Status::Corruption("minimisation state: malformed open group");
    auto num = [&](size_t k) { return std::strtoll(std::string(f[k]).c_str(), nullptr, 10); };
    MinimiseRule saved;
    saved.name = Unescape(f[0]);
    saved.kind = MinimiseRule::Kind::kAggregate;
    saved.window_seconds = num(10);
    for (auto v : Split(Unescape(f[11]), '\x1f')) saved.by.emplace_back(v);
    const std::string sums = Unescape(f[12]);
    if (!sums.empty())
      for (auto v : Split(sums, '\x1f')) saved.sum.emplace_back(v);
    if (f.size() != 13 + saved.sum.size()) return Status::Corruption("minimisation state: malformed open group");
    size_t rule_index = impl_->rules.size();
    for (size_t i = 0; i < impl_->rules.size(); ++i) {
      const MinimiseRule& r = impl_->rules[i].rule;
      if (r.name == saved.name && r.kind == saved.kind && r.by == saved.by && r.sum == saved.sum &&
          r.window_seconds == saved.window_seconds)
        rule_index = i;
    }
    if (rule_index == impl_->rules.size()) {
      Impl::CompiledRule c;
      c.rule = saved;
      c.retired = true;
      for (const auto& b : saved.by) c.by.emplace_back(b);
      for (const auto& b : saved.sum) c.sum.emplace_back(b);
      impl_->rules.push_back(std::move(c));
    }
    Group g;
    g.count = static_cast<uint64_t>(num(4));
    g.bytes = static_cast<uint64_t>(num(5));
    g.first_ns = num(6);
    g.last_ns = num(7);
    g.min_id = Unescape(f[8]);
    g.account = Unescape(f[9]);
    for (size_t k = 13; k < f.size(); ++k) g.sums.push_back(num(k));
    const std::string source = Unescape(f[1]);
    int64_t& seen = impl_->max_time[source];
    seen = std::max(seen, g.last_ns);
    impl_->groups[GroupKey{rule_index, source, num(2), Unescape(f[3])}] = std::move(g);
  }
  return Status::Ok();
}

}  // namespace vigil
