#include "detect/sigma/sigma_detector.h"

#include <hs.h>

#include <algorithm>
#include <map>
#include <set>

#include "detect/cloudwatch/filter_pattern.h"
#include "detect/sigma/internal/detection.h"

namespace vigil {

using sigma_internal::CondNode;
using sigma_internal::Detection;
using sigma_internal::FieldMatcher;
using sigma_internal::Selection;
using sigma_internal::ValueMatcher;

namespace {

// A literal one value of a field must match: equal it, start or end with it,
// or contain it (ASCII case-insensitively; `text` is lower case).
struct Literal {
  GlobPattern::Shape shape = GlobPattern::Shape::kExact;
  std::string text;
  auto operator<=>(const Literal&) const = default;
};

// field path -> literals one of which a value of the field must match.
using Constraints = std::map<std::string, std::set<Literal>>;

bool AllExact(const std::set<Literal>& lits) {
  return std::all_of(lits.begin(), lits.end(),
                     [](const Literal& l) { return l.shape == GlobPattern::Shape::kExact; });
}

// Adds `c` to `acc` as an AND: both must hold, so a field constrained twice
// by exact values keeps the intersection, and otherwise keeps either set
// (each is necessary on its own), preferring exact values.
void AndInto(Constraints* acc, const Constraints& c) {
  for (const auto& [field, lits] : c) {
    auto it = acc->find(field);
    if (it == acc->end()) {
      acc->emplace(field, lits);
      continue;
    }
    const bool old_exact = AllExact(it->second);
    const bool new_exact = AllExact(lits);
    if (old_exact && new_exact) {
      std::set<Literal> both;
      std::set_intersection(it->second.begin(), it->second.end(), lits.begin(), lits.end(),
                            std::inserter(both, both.begin()));
      it->second = std::move(both);
    } else if (new_exact) {
      it->second = lits;
    }
  }
}

// OR of alternatives: only fields constrained in every alternative survive,
// with the union of their literals.
Constraints OrOf(const std::vector<Constraints>& alts) {
  if (alts.empty()) return {};
  Constraints out = alts.front();
  for (size_t i = 1; i < alts.size(); ++i) {
    for (auto it = out.begin(); it != out.end();) {
      auto other = alts[i].find(it->first);
      if (other == alts[i].end()) {
        it = out.erase(it);
      } else {
        it->second.insert(other->second.begin(), other->second.end());
        ++it;
      }
    }
  }
  return out;
}

// The literals one of which a value matching `v` must match; false when
// there are none (the value can match without any literal).
bool LiteralsOf(const ValueMatcher& v, std::set<Literal>* out) {
  switch (v.kind) {
    case ValueMatcher::Kind::kGlob: {
      // numeric_equal also matches numbers written differently; windash
      // rewrites the field's text first.
      if (v.numeric_equal || v.windash) return false;
      const GlobPattern::Shape shape = v.glob.shape();
      if (shape != GlobPattern::Shape::kExact && shape != GlobPattern::Shape::kPrefix &&
          shape != GlobPattern::Shape::kSuffix && shape != GlobPattern::Shape::kContains)
        return false;
      if (v.glob.literal().empty() && shape != GlobPattern::Shape::kExact) return false;
      out->insert(Literal{shape, ToLower(v.glob.literal())});
      return true;
    }
    case ValueMatcher::Kind::kRegex:
      // A match contains at least one of the atoms (see ValueMatcher).
      if (v.regex_atoms.empty()) return false;
      for (const std::string& atom : v.regex_atoms) {
        if (atom.empty()) return false;
        out->insert(Literal{GlobPattern::Shape::kContains, ToLower(atom)});
      }
      return true;
    case ValueMatcher::Kind::kAnyOf:  // an expanded value: any of its alternatives
      for (const ValueMatcher& alt : v.any_of)
        if (!LiteralsOf(alt, out)) return false;
      return !v.any_of.empty();
    default:
      return false;
  }
}

Constraints FromMatcher(const FieldMatcher& m) {
  if (m.keyword || m.negate || m.values.empty()) return {};
  if (m.all && m.values.size() > 1) {
    // Every value must match, so each one's literals are necessary: keep
    // the value whose shortest literal is longest (the most selective).
    std::set<Literal> best;
    size_t best_len = 0;
    for (const ValueMatcher& v : m.values) {
      std::set<Literal> lits;
      if (!LiteralsOf(v, &lits)) continue;
      size_t shortest = SIZE_MAX;
      for (const Literal& l : lits) shortest = std::min(shortest, l.text.size());
      if (best.empty() || shortest > best_len) {
        best = std::move(lits);
        best_len = shortest;
      }
    }
    if (best.empty()) return {};
    return {{m.path.str(), std::move(best)}};
  }
  std::set<Literal> lits;
  for (const ValueMatcher& v : m.values)
    if (!LiteralsOf(v, &lits)) return {};
  return {{m.path.str(), std::move(lits)}};
}

Constraints FromSelection(const Selection& sel) {
  std::vector<Constraints> alts;
  for (const auto& alt : sel.alternatives) {
    Constraints c;
    for (const FieldMatcher& m : alt) AndInto(&c, FromMatcher(m));
    alts.push_back(std::move(c));
  }
  return OrOf(alts);
}

Constraints Derive(const CondNode& n, const Detection& d) {
  switch (n.op) {
    case CondNode::Op::kRef:
      return FromSelection(d.selections[static_cast<size_t>(n.selection)]);
    case CondNode::Op::kAnd: {
      Constraints c;
      for (const CondNode& k : n.kids) AndInto(&c, Derive(k, d));
      return c;
    }
    case CondNode::Op::kOr:
    case CondNode::Op::kAtLeast: {  // at least one kid must hold
      std::vector<Constraints> alts;
      for (const CondNode& k : n.kids) alts.push_back(Derive(k, d));
      return OrOf(alts);
    }
    case CondNode::Op::kNot:
      return {};
  }
  return {};
}

// For rules whose alternatives pin different fields (`1 of selection*` over
// eventName and eventname, which Derive reduces to nothing): the condition
// as an OR of constraint sets, one per alternative, so that the rule can be
// dispatched by one constraint of each. An alternative without constraints
// means the rule cannot be dispatched.
constexpr size_t kMaxAlternatives = 16;

std::vector<Constraints> Alternatives(const CondNode& n, const Detection& d) {
  switch (n.op) {
    case CondNode::Op::kRef: {
      std::vector<Constraints> out;
      for (const auto& alt : d.selections[static_cast<size_t>(n.selection)].alternatives) {
        Constraints c;
        for (const FieldMatcher& m : alt) AndInto(&c, FromMatcher(m));
        out.push_back(std::move(c));
      }
      if (out.empty() || out.size() > kMaxAlternatives) return {Constraints{}};
      return out;
    }
    case CondNode::Op::kOr:
    case CondNode::Op::kAtLeast: {  // at least one kid must hold
      std::vector<Constraints> out;
      for (const CondNode& k : n.kids) {
        std::vector<Constraints> alts = Alternatives(k, d);
        out.insert(out.end(), alts.begin(), alts.end());
      }
      if (out.empty() || out.size() > kMaxAlternatives) return {Constraints{}};
      return out;
    }
    case CondNode::Op::kAnd: {
      // Kids with one alternative are ANDed into each alternative of the
      // first kid whose alternatives are all constrained; other kids are
      // left out (which only weakens the constraint).
      Constraints common;
      std::vector<Constraints> multi;
      for (const CondNode& k : n.kids) {
        std::vector<Constraints> alts = Alternatives(k, d);
        if (alts.size() == 1) {
          AndInto(&common, alts.front());
        } else if (multi.empty() &&
                   std::none_of(alts.begin(), alts.end(), [](const Constraints& c) { return c.empty(); })) {
          multi = std::move(alts);
        }
      }
      if (multi.empty()) return {common};
      for (Constraints& c : multi) AndInto(&c, common);
      return multi;
    }
    case CondNode::Op::kNot:
      return {Constraints{}};
  }
  return {Constraints{}};
}

constexpr size_t kMaxIndexedValueLen = 256;

using Constraint = std::pair<const std::string, std::set<Literal>>;

bool Hashable(const Constraint& c) {
  return AllExact(c.second) && std::all_of(c.second.begin(), c.second.end(), [](const Literal& l) {
           return l.text.size() < kMaxIndexedValueLen;
         });
}

// For the exact-value index: eventName (most selective in CloudTrail), then
// the smallest set. For the literal scan: the set whose shortest literal is
// longest.
const Constraint* PickExact(const Constraints& c) {
  const Constraint* best = nullptr;
  for (const auto& entry : c) {
    if (!Hashable(entry)) continue;
    if (entry.first == "eventName") return &entry;
    if (!best || entry.second.size() < best->second.size()) best = &entry;
  }
  return best;
}

// A second exact-value constraint to index beside eventName: eventSource,
// when the pairs of values stay few. Only that pair: every CloudTrail event
// has both, so the pair index costs one more lookup per event, where pairs
// on other fields made each event resolve fields few rules read (measured
// with every shipped rule: detection a third dearer).
constexpr size_t kMaxIndexedPairs = 64;
const Constraint* PickSecondExact(const Constraints& c, const Constraint& first) {
  if (first.first != "eventName") return nullptr;
  auto it = c.find("eventSource");
  if (it == c.end() || !Hashable(*it) || it->second.size() * first.second.size() > kMaxIndexedPairs) return nullptr;
  return &*it;
}

constexpr char kPairSeparator = '\x1f';

const Constraint* PickScanned(const Constraints& c) {
  const Constraint* best = nullptr;
  size_t best_len = 0;
  for (const auto& entry : c) {
    size_t shortest = SIZE_MAX;
    for (const Literal& l : entry.second) shortest = std::min(shortest, l.text.size());
    if (entry.second.empty() || shortest == 0) continue;
    if (!best || shortest > best_len) {
      best = &entry;
      best_len = shortest;
    }
  }
  return best;
}

// The literal as a vectorscan expression: every byte but [A-Za-z0-9] escaped.
std::string ScanExpression(const Literal& l) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  if (l.shape == GlobPattern::Shape::kExact || l.shape == GlobPattern::Shape::kPrefix) out += "\\A";
  for (unsigned char c : l.text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (l.shape == GlobPattern::Shape::kExact || l.shape == GlobPattern::Shape::kSuffix) out += "\\z";
  return out;
}



bool IsOcsfPath(const FieldPath& p) { return !p.parts().empty() && p.parts()[0] == "ocsf"; }

// Whether evaluating (or explaining) `d` may read an `ocsf.` path.
bool DetectionReadsOcsf(const Detection& d) {
  for (const Selection& sel : d.selections)
    for (const auto& alt : sel.alternatives)
      for (const FieldMatcher& m : alt) {
        if (IsOcsfPath(m.path)) return true;
        for (const ValueMatcher& v : m.values)
          if (v.kind == ValueMatcher::Kind::kFieldRef && IsOcsfPath(v.ref)) return true;
      }
  return false;
}

bool IsScalar(const FieldValue& v) {
  return v.kind == ValueKind::kString || v.kind == ValueKind::kNumber || v.kind == ValueKind::kBool;
}

}  // namespace

// Rules dispatched by a literal scan of one field: every literal any of them
// needs, compiled into one vectorscan database.
struct SigmaDetector::ScanIndex {
  FieldPath path;
  uint32_t slot = 0;
  uint64_t type_mask = 0;  // as FieldIndex::type_mask
  std::vector<std::vector<uint32_t>> rules_of_literal;  // by expression id
  std::vector<uint32_t> rules;                          // all of them, sorted
  hs_database_t* db = nullptr;

  ~ScanIndex() { hs_free_database(db); }
};

namespace {

std::atomic<uint64_t> next_detector_serial{1};

struct ScanContext {
  const std::vector<std::vector<uint32_t>>* rules_of_literal;
  std::vector<uint32_t>* candidates;
};

int OnScanMatch(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* ctx) {
  auto* c = static_cast<ScanContext*>(ctx);
  const std::vector<uint32_t>& rules = (*c->rules_of_literal)[id];
  c->candidates->insert(c->candidates->end(), rules.begin(), rules.end());
  return 0;  // keep scanning: other literals may select other rules
}

// Compiles one database matching any of `literals` (expression id = index).
hs_database_t* CompileScan(const std::vector<Literal>& literals) {
  std::vector<std::string> exprs;
  std::vector<const char*> ptrs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < literals.size(); ++i) exprs.push_back(ScanExpression(literals[i]));
  for (size_t i = 0; i < literals.size(); ++i) {
    ptrs.push_back(exprs[i].c_str());
    flags.push_back(HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH);
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(ptrs.data(), flags.data(), ids.data(), static_cast<unsigned>(ptrs.size()), HS_MODE_BLOCK,
                       nullptr, &db, &err) != HS_SUCCESS) {
    hs_free_compile_error(err);
    return nullptr;
  }
  return db;
}

}  // namespace

SigmaDetector::SigmaDetector(std::vector<std::shared_ptr<const SigmaRule>> rules,
                             std::vector<std::shared_ptr<const SigmaFilter>> filters)
    : rules_(std::move(rules)), filters_(std::move(filters)), serial_(next_detector_serial.fetch_add(1)) {
  for (const auto& r : rules_) {
    // A CloudWatch pattern's paths are its own business: assume it may.
    reads_ocsf_ = reads_ocsf_ || r->cloudwatch_pattern() != nullptr || DetectionReadsOcsf(r->detection()) ||
                  std::any_of(r->entity().begin(), r->entity().end(), IsOcsfPath);
  }
  for (const auto& f : filters_) reads_ocsf_ = reads_ocsf_ || DetectionReadsOcsf(f->detection());
  index_of_rule_.assign(rules_.size(), -1);
  filters_of_rule_.resize(rules_.size());
  log_type_of_rule_.resize(rules_.size());
  for (size_t i = 0; i < rules_.size(); ++i) log_type_of_rule_[i] = LogTypeOfLogsource(*rules_[i]);
  for (std::string_view t : log_type_of_rule_)
    if (!t.empty() && std::find(type_names_.begin(), type_names_.end(), t) == type_names_.end()) type_names_.push_back(t);
  type_bit_of_rule_.resize(rules_.size());
  for (size_t i = 0; i < rules_.size(); ++i)
    type_bit_of_rule_[i] = log_type_of_rule_[i].empty() ? kAnyType : TypeBit(log_type_of_rule_[i]);
  for (size_t i = 0; i < rules_.size(); ++i) {
    for (size_t f = 0; f < filters_.size(); ++f)
      if (filters_[f]->AppliesTo(*rules_[i])) filters_of_rule_[i].push_back(static_cast<uint32_t>(f));
  }
  // field -> literal -> rules needing it, for the scanned rules.
  std::map<std::string, std::map<Literal, std::vector<uint32_t>>> scanned;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const auto rule = static_cast<uint32_t>(i);
    if (rules_[i]->cloudwatch_pattern()) {  // not indexed yet: evaluated for every event
      always_.push_back(rule);
      continue;
    }
    const Detection& d = rules_[i]->detection();
    auto add_exact = [&](const Constraint& pick, const Constraint* second) {
      auto it = std::find_if(indexes_.begin(), indexes_.end(), [&](const FieldIndex& fi) {
        return fi.path.str() == pick.first && fi.paired == (second != nullptr) &&
               (second == nullptr || fi.path2.str() == second->first);
      });
      if (it == indexes_.end()) {
        FieldIndex fi;
        fi.path = FieldPath(pick.first);
        fi.slot = sigma_internal::FieldSlot(pick.first);
        if (second != nullptr) {
          fi.paired = true;
          fi.path2 = FieldPath(second->first);
          fi.slot2 = sigma_internal::FieldSlot(second->first);
        }
        indexes_.push_back(std::move(fi));
        it = indexes_.end() - 1;
      }
      if (index_of_rule_[i] < 0) index_of_rule_[i] = static_cast<int>(it - indexes_.begin());
      for (const Literal& l : pick.second) {
        it->max_value_len = std::max(it->max_value_len, l.text.size());
        if (second == nullptr) {
          it->by_value[l.text].push_back(rule);
          continue;
        }
        for (const Literal& l2 : second->second) {
          it->by_value[l.text + kPairSeparator + l2.text].push_back(rule);
          it->max_value_len2 = std::max(it->max_value_len2, l2.text.size());
        }
      }
    };
    auto add_scanned = [&](const Constraint& pick) {
      for (const Literal& l : pick.second) scanned[pick.first][l].push_back(rule);
    };
    const Constraints c = Derive(d.condition, d);
    if (const Constraint* pick = PickExact(c)) {
      add_exact(*pick, PickSecondExact(c, *pick));
      continue;
    }
    if (const Constraint* pick = PickScanned(c)) {
      add_scanned(*pick);
      continue;
    }
    // No field is constrained in every alternative: dispatch by one
    // constraint of each alternative, if each has one.
    const std::vector<Constraints> alts = Alternatives(d.condition, d);
    std::vector<std::pair<const Constraint*, bool>> picks;  // (constraint, exact)
    for (const Constraints& alt : alts) {
      if (const Constraint* pick = PickExact(alt)) {
        picks.emplace_back(pick, true);
      } else if (const Constraint* pick = PickScanned(alt)) {
        picks.emplace_back(pick, false);
      } else {
        picks.clear();
        break;
      }
    }
    if (picks.empty()) {
      always_.push_back(rule);
      continue;
    }
    for (const auto& [pick, exact] : picks) exact ? add_exact(*pick, nullptr) : add_scanned(*pick);
  }
  for (auto& [field, by_literal] : scanned) {
    auto scan = std::make_unique<ScanIndex>();
    scan->path = FieldPath(field);
    scan->slot = sigma_internal::FieldSlot(field);
    std::vector<Literal> literals;
    for (auto& [literal, rules_of] : by_literal) {
      literals.push_back(literal);
      scan->rules_of_literal.push_back(rules_of);
      scan->rules.insert(scan->rules.end(), rules_of.begin(), rules_of.end());
    }
    std::sort(scan->rules.begin(), scan->rules.end());
    scan->rules.erase(std::unique(scan->rules.begin(), scan->rules.end()), scan->rules.end());
    scan->db = CompileScan(literals);
    if (!scan->db) {  // cannot happen for escaped literals; stay correct if it does
      always_.insert(always_.end(), scan->rules.begin(), scan->rules.end());
      continue;
    }
    scans_.push_back(std::move(scan));
  }
  std::sort(always_.begin(), always_.end());
  always_.erase(std::unique(always_.begin(), always_.end()), always_.end());
  // The log types each index and scan serves (kAnyType when one of its
  // rules takes any type).
  for (FieldIndex& index : indexes_) {
    for (const auto& [value, rules_of_value] : index.by_value)
      for (uint32_t r : rules_of_value) index.type_mask |= type_bit_of_rule_[r];
  }
  for (auto& scan : scans_)
    for (uint32_t r : scan->rules) scan->type_mask |= type_bit_of_rule_[r];
  std::vector<uint32_t> scanned_only;
  for (const auto& scan : scans_)
    for (uint32_t r : scan->rules)
      if (index_of_rule_[r] < 0 && !std::binary_search(always_.begin(), always_.end(), r)) scanned_only.push_back(r);
  std::sort(scanned_only.begin(), scanned_only.end());
  scanned_rule_count_ = static_cast<size_t>(std::unique(scanned_only.begin(), scanned_only.end()) - scanned_only.begin());
}

SigmaDetector::~SigmaDetector() = default;

hs_scratch_t* SigmaDetector::ThreadScratch() const {
  // One scratch per thread, grown to fit whichever detector used it last.
  struct Scratch {
    hs_scratch_t* s = nullptr;
    uint64_t serial = 0;
    ~Scratch() { hs_free_scratch(s); }
  };
  thread_local Scratch scratch;
  if (scratch.serial != serial_) {
    for (const auto& scan : scans_) {
      if (hs_alloc_scratch(scan->db, &scratch.s) != HS_SUCCESS) {
        scratch.serial = 0;
        return nullptr;
      }
    }
    scratch.serial = serial_;
  }
  return scratch.s;
}

uint64_t SigmaDetector::TypeBit(std::string_view type) const {
  for (size_t i = 0; i < type_names_.size(); ++i)
    if (type_names_[i] == type) return i < 62 ? uint64_t{1} << i : kOverflowType;
  return kUnnamedType;
}

std::string SigmaDetector::IndexFieldOf(size_t rule_index) const {
  int idx = index_of_rule_.at(rule_index);
  return idx < 0 ? std::string() : indexes_[static_cast<size_t>(idx)].path.str();
}

std::string_view SigmaDetector::LogTypeOfLogsource(const SigmaRule& rule) { return rule.log_type(); }

void SigmaDetector::FillMatch(const SigmaRule& rule, const Event& event, Match* m) {
  m->rule_id = rule.id();
  m->title = rule.title();
  m->severity = rule.level();
  m->tags = &rule.tags();
  // Assigned, so that a Match reused for an event's next match keeps its
  // buffer.
  if (rule.entity().empty()) {
    m->entity.assign(event.principal);
  } else {
    m->entity = rule.EntityFor(event);
  }
  m->rollup_window_ns = rule.rollup_window_ns();
  m->finding_type = rule.finding_type();
}

Match SigmaDetector::MakeMatch(const SigmaRule& rule, const Event& event) {
  Match m;
  FillMatch(rule, event, &m);
  if (event.fields) m.explain = [&rule, &event] { return rule.Explain(*event.fields); };
  return m;
}

void SigmaDetector::Process(const Event& event, const MatchSink& sink) {
  events_.fetch_add(1, std::memory_order_relaxed);
  if (!event.fields) return;
  const FieldResolver& fields = *event.fields;
  // Every path is resolved at most once for this event, whichever index,
  // rule or filter reads it first.
  sigma_internal::EventFields cache(fields);
  // Reuse a per-thread buffer; swapping it out keeps a sink that re-enters
  // Process on this thread correct.
  thread_local std::vector<uint32_t> spare;
  std::vector<uint32_t> candidates;
  candidates.swap(spare);
  candidates.clear();
  // Whether rules of these log types can run on this event (an event
  // without a type runs every rule).
  const std::string_view type = event.source_type;
  const uint64_t type_bits = EventTypeBits(type);
  char lower[2 * kMaxIndexedValueLen + 1];
  for (const FieldIndex& index : indexes_) {
    if ((index.type_mask & type_bits) == 0) continue;
    const sigma_internal::EventFields::Values values = cache.Get(index.path, index.slot);
    sigma_internal::EventFields::Values values2;
    if (index.paired) values2 = cache.Get(index.path2, index.slot2);
    for (uint32_t k = 0; k < values.count; ++k) {
      const FieldValue v = values[k];
      if (!IsScalar(v) || v.text.size() > index.max_value_len) continue;
      for (size_t i = 0; i < v.text.size(); ++i) lower[i] = AsciiLower(v.text[i]);
      // Each value of the second field with this one (usually one of each).
      for (uint32_t k2 = 0; k2 < (index.paired ? values2.count : 1); ++k2) {
        size_t n = v.text.size();
        if (index.paired) {
          const FieldValue v2 = values2[k2];
          if (!IsScalar(v2) || v2.text.size() > index.max_value_len2) continue;
          lower[n++] = kPairSeparator;
          for (size_t i = 0; i < v2.text.size(); ++i) lower[n++] = AsciiLower(v2.text[i]);
        }
        auto it = index.by_value.find(std::string_view(lower, n));
        if (it != index.by_value.end()) candidates.insert(candidates.end(), it->second.begin(), it->second.end());
      }
    }
  }
  if (!scans_.empty()) {
    hs_scratch_t* scratch = ThreadScratch();
    for (const auto& scan : scans_) {
      if ((scan->type_mask & type_bits) == 0) continue;
      const sigma_internal::EventFields::Values values = cache.Get(scan->path, scan->slot);
      ScanContext ctx{&scan->rules_of_literal, &candidates};
      for (uint32_t k = 0; k < values.count; ++k) {
        const FieldValue v = values[k];
        if (!IsScalar(v)) continue;
        if (!scratch || hs_scan(scan->db, v.text.data(), static_cast<unsigned>(v.text.size()), 0, scratch,
                                OnScanMatch, &ctx) != HS_SUCCESS) {
          // No scan: evaluate every rule the index would have chosen among.
          candidates.insert(candidates.end(), scan->rules.begin(), scan->rules.end());
          break;
        }
      }
    }
  }
  candidates.insert(candidates.end(), always_.begin(), always_.end());
  if (candidates.size() > 1) {
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  }
  rules_evaluated_.fetch_add(candidates.size(), std::memory_order_relaxed);
  Match match;  // one for the event's matches: no allocation per match
  // What evaluating the rule last evaluated decided, which its explanation
  // reuses (held in one place the explanation reaches through one pointer:
  // a closure of two pointers needs no allocation).
  struct Evaluated {
    sigma_internal::EventFields* cache;
    const SigmaRule* rule = nullptr;  // whose evaluation `results` holds
    sigma_internal::SelectionResults results;
  } evaluated{&cache, nullptr, {}};
  thread_local sigma_internal::SelectionResults spare_results;
  evaluated.results.swap(spare_results);
  for (uint32_t i : candidates) {
    const SigmaRule& rule = *rules_[i];
    const uint64_t rule_bit = type_bit_of_rule_[i];
    if ((rule_bit & type_bits) == 0) continue;
    if (rule_bit == kOverflowType && type_bits != kAnyType && log_type_of_rule_[i] != type) continue;
    const bool pattern = rule.cloudwatch_pattern() != nullptr;
    evaluated.rule = pattern ? nullptr : &rule;
    const bool matched =
        pattern ? rule.cloudwatch_pattern()->Matches(fields) : rule.detection().Matches(cache, &evaluated.results);
    if (!matched) continue;
    bool suppressed = false;
    for (uint32_t f : filters_of_rule_[i]) {
      if (filters_[f]->detection().Matches(cache)) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) {
      suppressed_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    matches_.fetch_add(1, std::memory_order_relaxed);
    FillMatch(rule, event, &match);
    // Explains through the cache this event was evaluated with, and with
    // what the evaluation decided while it is still this rule's.
    match.explain = [&rule, &evaluated] {
      return rule.Explain(*evaluated.cache, evaluated.rule == &rule ? &evaluated.results : nullptr);
    };
    sink(event, match);
  }
  evaluated.results.swap(spare_results);
  candidates.clear();
  spare.swap(candidates);
}

SigmaDetector::Stats SigmaDetector::stats() const {
  return Stats{events_.load(std::memory_order_relaxed), rules_evaluated_.load(std::memory_order_relaxed),
               matches_.load(std::memory_order_relaxed), suppressed_.load(std::memory_order_relaxed)};
}

}  // namespace vigil
