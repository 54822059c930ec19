// Evaluation of compiled Sigma detections against a FieldResolver.
#include "detect/sigma/internal/detection.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/hash.h"

namespace vigil::sigma_internal {
namespace {

bool IsScalar(const FieldValue& v) {
  return v.kind == ValueKind::kString || v.kind == ValueKind::kNumber || v.kind == ValueKind::kBool;
}

// Parses a decimal number the way a log writes it; the whole text must be used.
bool ParseNumber(std::string_view s, double* out) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, *out);
  return r.ec == std::errc() && r.ptr == end;
}


bool Compare(ValueMatcher::Cmp cmp, double x, double number) {
  switch (cmp) {
    case ValueMatcher::Cmp::kLt:
      return x < number;
    case ValueMatcher::Cmp::kLte:
      return x <= number;
    case ValueMatcher::Cmp::kGt:
      return x > number;
    case ValueMatcher::Cmp::kGte:
      return x >= number;
    case ValueMatcher::Cmp::kEq:
      return x == number;
  }
  return false;
}

}  // namespace

bool ValueMatcher::MatchesScalar(const FieldValue& v) const {
  switch (kind) {
    case Kind::kGlob:
      if (windash) {
        thread_local std::string normalized;
        if (WindashNormalize(v.text, &normalized)) return glob.Matches(normalized);
      }
      if (glob.Matches(v.text)) return true;
      return numeric_equal && v.kind == ValueKind::kNumber && v.number == number;
    case Kind::kAnyOf:
      for (const ValueMatcher& alt : any_of)
        if (alt.MatchesScalar(v)) return true;
      return false;
    case Kind::kTimePart: {
      std::optional<int> got = TimeComponent(v, time_part);
      if (!got) return false;
      const double x = *got;
      return Compare(cmp, x, number);
    }
    case Kind::kRegex:
      if (!regex_atoms.empty()) {
        // The text folded once for all the atoms (lower case).
        thread_local std::string lower;
        ToLowerInto(v.text, &lower);
        const std::string_view text(lower);
        for (size_t i = 0; i < regex_required; ++i)
          if (text.find(regex_atoms[i]) == std::string_view::npos) return false;
        if (regex_required == 0 &&
            std::none_of(regex_atoms.begin(), regex_atoms.end(),
                         [&](const std::string& atom) { return text.find(atom) != std::string_view::npos; }))
          return false;
      }
      // PartialMatch without arguments to fill, minus its argument handling.
      return regex->Match(re2::StringPiece(v.text.data(), v.text.size()), 0, v.text.size(), RE2::UNANCHORED, nullptr,
                          0);
    case Kind::kCidr:
      return v.kind == ValueKind::kString && CidrContains(network, v.text);
    case Kind::kCompare: {
      double x = 0;
      if (v.kind == ValueKind::kNumber) {
        x = v.number;
      } else if (v.kind != ValueKind::kString || !ParseNumber(v.text, &x)) {
        return false;
      }
      return Compare(cmp, x, number);
    }
    case Kind::kNull:
    case Kind::kExists:
    case Kind::kFieldRef:
      return false;
  }
  return false;
}

namespace {

// Tracks which rule values matched, for `all`; a 64-bit mask covers almost
// every rule, a vector the rest.
class HitSet {
 public:
  explicit HitSet(size_t n) : n_(n) {
    if (n > 64) big_.assign(n, 0);
  }
  bool Test(size_t i) const { return n_ > 64 ? big_[i] != 0 : ((mask_ >> i) & 1) != 0; }
  void Set(size_t i) {
    if (Test(i)) return;
    ++count_;
    if (n_ > 64) {
      big_[i] = 1;
    } else {
      mask_ |= uint64_t{1} << i;
    }
  }
  size_t count() const { return count_; }

 private:
  size_t n_;
  size_t count_ = 0;
  uint64_t mask_ = 0;
  std::vector<char> big_;
};

bool RefRelates(std::string_view value, std::string_view ref, const ValueMatcher& vm) {
  switch (vm.ref_shape) {
    case GlobPattern::Shape::kPrefix:
      return vm.cased ? value.substr(0, ref.size()) == ref : StartsWithIgnoreCase(value, ref);
    case GlobPattern::Shape::kSuffix:
      return vm.cased ? value.size() >= ref.size() && value.substr(value.size() - ref.size()) == ref
                      : EndsWithIgnoreCase(value, ref);
    case GlobPattern::Shape::kContains:
      return vm.cased ? value.find(ref) != std::string_view::npos : ContainsIgnoreCase(value, ToLower(ref));
    default:
      return vm.cased ? value == ref : EqualsIgnoreCase(value, ref);
  }
}

// `field|fieldref: other` (with startswith/endswith/contains, all, neq).
bool MatchFieldRef(const FieldMatcher& m, EventFields& fields) {
  const EventFields::Values field = fields.Get(m.path, m.slot);
  bool any = false;
  bool saw_value = false;
  for (const ValueMatcher& vm : m.values) {
    const EventFields::Values refs = fields.Get(vm.ref, vm.ref_slot);
    // Values are read only after both lookups: a lookup may move copied text.
    bool have_ref = false;
    for (uint32_t r = 0; r < refs.count && !have_ref; ++r) have_ref = IsScalar(refs[r]);
    if (m.negate && !have_ref) return false;  // nothing to differ from
    bool hit = false;
    for (uint32_t i = 0; i < field.count && !hit; ++i) {
      const FieldValue v = field[i];
      if (!IsScalar(v)) continue;
      saw_value = true;
      for (uint32_t r = 0; r < refs.count; ++r) {
        const FieldValue ref = refs[r];
        if (IsScalar(ref) && RefRelates(v.text, ref.text, vm)) {
          hit = true;
          break;
        }
      }
    }
    if (m.negate) {
      if (hit) return false;
      continue;
    }
    if (hit && !m.all) return true;
    if (!hit && m.all) return false;
    any |= hit;
  }
  return m.negate ? saw_value : any;
}

// What one field matcher saw so far while its values are fed in.
struct MatchState {
  explicit MatchState(size_t n) : hits(n) {}
  HitSet hits;
  bool saw_value = false;
  bool saw_null = false;
};

// The current value as an IP address, parsed once for all `cidr` values of
// a matcher (a rule lists several networks).
struct ParsedIp {
  enum { kUntried, kOk, kNotIp } state = kUntried;
  bool v6 = false;
  std::array<uint8_t, 16> addr;

  bool In(const IpNetwork& net, const FieldValue& v) {
    if (state == kUntried) state = v.kind == ValueKind::kString && ParseIp(v.text, &v6, &addr) ? kOk : kNotIp;
    return state == kOk && NetworkContains(net, v6, addr);
  }
};

// Feeds one value to `m`; false once the outcome cannot change.
bool OnValue(const FieldMatcher& m, MatchState& st, const FieldValue& v) {
  if (v.kind == ValueKind::kNull) {
    st.saw_null = true;
    return true;
  }
  if (!IsScalar(v)) return true;
  st.saw_value = true;
  const size_t n = m.values.size();
  ParsedIp ip;
  for (size_t i = 0; i < n; ++i) {
    if (st.hits.Test(i)) continue;
    const ValueMatcher& vm = m.values[i];
    if (vm.kind == ValueMatcher::Kind::kCidr ? ip.In(vm.network, v) : vm.MatchesScalar(v)) {
      st.hits.Set(i);
      if (!m.all) return false;
    }
  }
  return !(m.all && st.hits.count() == n);
}

}  // namespace

void FieldMatcher::IndexExactValues() {
  exact_index.clear();
  constexpr size_t kMinValues = 4;  // fewer are compared faster than hashed
  if (keyword || values.size() < kMinValues) return;
  for (const ValueMatcher& v : values) {
    if (v.kind != ValueMatcher::Kind::kGlob || v.numeric_equal || v.windash ||
        v.glob.shape() != GlobPattern::Shape::kExact || v.glob.case_sensitive())
      return;
  }
  for (uint32_t i = 0; i < values.size(); ++i) exact_index.emplace_back(Hash64(values[i].glob.literal()), i);
  std::sort(exact_index.begin(), exact_index.end());
}

namespace {

// FieldMatcher::Matches for one with an exact_index: what OnValue gives,
// each value looked up instead of compared with every literal.
bool MatchExactIndex(const FieldMatcher& m, EventFields& fields) {
  const EventFields::Values vals = fields.Get(m.path, m.slot);
  HitSet hits(m.values.size());
  bool saw_value = false;
  thread_local std::string lower;
  for (uint32_t i = 0; i < vals.count; ++i) {
    const FieldValue v = vals[i];
    if (!IsScalar(v)) continue;
    saw_value = true;
    ToLowerInto(v.text, &lower);
    const uint64_t h = Hash64(lower);
    for (auto it = std::lower_bound(m.exact_index.begin(), m.exact_index.end(), std::make_pair(h, uint32_t{0}));
         it != m.exact_index.end() && it->first == h; ++it) {
      if (m.values[it->second].glob.literal() == lower) hits.Set(it->second);
    }
    if (m.all ? hits.count() == m.values.size() : hits.count() > 0) break;
  }
  if (m.negate) return saw_value && hits.count() == 0;
  return m.all ? hits.count() == m.values.size() : hits.count() > 0;
}

}  // namespace

bool FieldMatcher::Matches(EventFields& fields) const {
  if (values.empty()) return false;
  if (!exact_index.empty()) return MatchExactIndex(*this, fields);
  if (values.front().kind == ValueMatcher::Kind::kFieldRef) return MatchFieldRef(*this, fields);
  MatchState st(values.size());
  bool present = true;
  if (keyword) {
    fields.resolver().VisitAllScalars([this, &st](const FieldValue& v) { return OnValue(*this, st, v); });
  } else {
    const EventFields::Values vals = fields.Get(path, slot);
    present = vals.present;
    for (uint32_t i = 0; i < vals.count; ++i)
      if (!OnValue(*this, st, vals[i])) break;
  }
  const size_t n = values.size();
  HitSet& hits = st.hits;
  if (hits.count() == 0 || all) {
    for (size_t i = 0; i < n; ++i) {
      const ValueMatcher& vm = values[i];
      if (vm.kind == ValueMatcher::Kind::kNull && (!present || st.saw_null)) hits.Set(i);
      if (vm.kind == ValueMatcher::Kind::kExists && present == vm.exists_expected) hits.Set(i);
    }
  }
  if (negate) return st.saw_value && hits.count() == 0;
  return all ? hits.count() == n : hits.count() > 0;
}

bool FieldMatcher::Matches(const FieldResolver& fields) const {
  EventFields cache(fields);
  return Matches(cache);
}

bool Selection::Matches(EventFields& fields) const {
  for (const auto& alt : alternatives) {
    bool ok = true;
    for (const FieldMatcher& m : alt) {
      if (!m.Matches(fields)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

bool Selection::Matches(const FieldResolver& fields) const {
  EventFields cache(fields);
  return Matches(cache);
}

namespace {

// `results`: null, or where each selection decided is recorded.
bool Eval(const CondNode& node, const Detection& d, EventFields& fields, SelectionResults* results) {
  switch (node.op) {
    case CondNode::Op::kRef: {
      const auto s = static_cast<size_t>(node.selection);
      if (results == nullptr) return d.selections[s].Matches(fields);
      int8_t& r = (*results)[s];
      if (r == 0) r = d.selections[s].Matches(fields) ? 2 : 1;
      return r == 2;
    }
    case CondNode::Op::kAnd:
      for (const CondNode& k : node.kids)
        if (!Eval(k, d, fields, results)) return false;
      return true;
    case CondNode::Op::kOr:
      for (const CondNode& k : node.kids)
        if (Eval(k, d, fields, results)) return true;
      return false;
    case CondNode::Op::kNot:
      return !Eval(node.kids.front(), d, fields, results);
    case CondNode::Op::kAtLeast: {
      int got = 0;
      for (const CondNode& k : node.kids) {
        if (Eval(k, d, fields, results) && ++got >= node.count) return true;
      }
      return false;
    }
  }
  return false;
}

}  // namespace

bool Detection::Matches(EventFields& fields) const { return Eval(condition, *this, fields, nullptr); }

bool Detection::Matches(EventFields& fields, SelectionResults* results) const {
  results->assign(selections.size(), 0);
  return Eval(condition, *this, fields, results);
}

bool Detection::Matches(const FieldResolver& fields) const {
  EventFields cache(fields);
  return Matches(cache);
}

}  // namespace vigil::sigma_internal
