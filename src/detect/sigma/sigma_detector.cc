#include "detect/sigma/sigma_detector.h"

#include <algorithm>
#include <map>
#include <set>

#include "detect/sigma/internal/detection.h"

namespace vigil {

using sigma_internal::CondNode;
using sigma_internal::Detection;
using sigma_internal::FieldMatcher;
using sigma_internal::Selection;
using sigma_internal::ValueMatcher;

namespace {

// field path -> the lower-cased values one of which the field must equal.
using Constraints = std::map<std::string, std::set<std::string>>;

// Adds `c` to `acc` as an AND: both must hold, so a field constrained twice
// keeps the intersection.
void AndInto(Constraints* acc, const Constraints& c) {
  for (const auto& [field, values] : c) {
    auto it = acc->find(field);
    if (it == acc->end()) {
      acc->emplace(field, values);
      continue;
    }
    std::set<std::string> both;
    std::set_intersection(it->second.begin(), it->second.end(), values.begin(), values.end(),
                          std::inserter(both, both.begin()));
    it->second = std::move(both);
  }
}

// OR of alternatives: only fields constrained in every alternative survive,
// with the union of their values.
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

Constraints FromMatcher(const FieldMatcher& m) {
  if (m.keyword || m.negate || (m.all && m.values.size() > 1)) return {};
  std::set<std::string> values;
  auto exact = [](const ValueMatcher& v) {
    return v.kind == ValueMatcher::Kind::kGlob && !v.numeric_equal && !v.windash &&
           v.glob.shape() == GlobPattern::Shape::kExact;
  };
  for (const ValueMatcher& v : m.values) {
    if (v.kind == ValueMatcher::Kind::kAnyOf) {  // an expanded value: any of its literals
      for (const ValueMatcher& alt : v.any_of) {
        if (!exact(alt)) return {};
        values.insert(ToLower(alt.glob.literal()));
      }
      continue;
    }
    if (!exact(v)) return {};
    values.insert(ToLower(v.glob.literal()));
  }
  if (values.empty()) return {};
  return {{m.path.str(), std::move(values)}};
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

// Prefer eventName (most selective in CloudTrail), then the smallest set.
const std::pair<const std::string, std::set<std::string>>* Pick(const Constraints& c) {
  const std::pair<const std::string, std::set<std::string>>* best = nullptr;
  for (const auto& entry : c) {
    if (entry.first == "eventName") return &entry;
    if (!best || entry.second.size() < best->second.size()) best = &entry;
  }
  return best;
}

constexpr size_t kMaxIndexedValueLen = 256;

bool IsScalar(const FieldValue& v) {
  return v.kind == ValueKind::kString || v.kind == ValueKind::kNumber || v.kind == ValueKind::kBool;
}

}  // namespace

SigmaDetector::SigmaDetector(std::vector<std::shared_ptr<const SigmaRule>> rules,
                             std::vector<std::shared_ptr<const SigmaFilter>> filters)
    : rules_(std::move(rules)), filters_(std::move(filters)) {
  index_of_rule_.assign(rules_.size(), -1);
  filters_of_rule_.resize(rules_.size());
  for (size_t i = 0; i < rules_.size(); ++i) {
    for (size_t f = 0; f < filters_.size(); ++f)
      if (filters_[f]->AppliesTo(*rules_[i])) filters_of_rule_[i].push_back(static_cast<uint32_t>(f));
  }
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i]->cloudwatch_pattern()) {  // not indexed yet: evaluated for every event
      always_.push_back(static_cast<uint32_t>(i));
      continue;
    }
    const Detection& d = rules_[i]->detection();
    Constraints c = Derive(d.condition, d);
    const auto* pick = Pick(c);
    if (pick && std::any_of(pick->second.begin(), pick->second.end(),
                            [](const std::string& v) { return v.size() >= kMaxIndexedValueLen; }))
      pick = nullptr;
    if (!pick) {
      always_.push_back(static_cast<uint32_t>(i));
      continue;
    }
    auto it = std::find_if(indexes_.begin(), indexes_.end(),
                           [&](const FieldIndex& fi) { return fi.path.str() == pick->first; });
    if (it == indexes_.end()) {
      indexes_.push_back(FieldIndex{FieldPath(pick->first), 0, {}});
      it = indexes_.end() - 1;
    }
    index_of_rule_[i] = static_cast<int>(it - indexes_.begin());
    for (const std::string& v : pick->second) {
      it->by_value[v].push_back(static_cast<uint32_t>(i));
      it->max_value_len = std::max(it->max_value_len, v.size());
    }
  }
}

std::string SigmaDetector::IndexFieldOf(size_t rule_index) const {
  int idx = index_of_rule_.at(rule_index);
  return idx < 0 ? std::string() : indexes_[static_cast<size_t>(idx)].path.str();
}

Match SigmaDetector::MakeMatch(const SigmaRule& rule, const Event& event) {
  Match m;
  m.rule_id = rule.id();
  m.title = rule.title();
  m.severity = rule.level();
  m.tags = rule.tags();
  m.entity = rule.EntityFor(event);
  m.rollup_window_ns = rule.rollup_window_ns();
  m.finding_type = rule.finding_type();
  if (event.fields) m.explain = [&rule, &event] { return rule.Explain(*event.fields); };
  return m;
}

void SigmaDetector::Process(const Event& event, const MatchSink& sink) {
  events_.fetch_add(1, std::memory_order_relaxed);
  if (!event.fields) return;
  const FieldResolver& fields = *event.fields;
  // Reuse a per-thread buffer; swapping it out keeps a sink that re-enters
  // Process on this thread correct.
  thread_local std::vector<uint32_t> spare;
  std::vector<uint32_t> candidates;
  candidates.swap(spare);
  candidates.clear();
  // The visitor captures one pointer so that std::function stores it inline.
  struct Lookup {
    const FieldIndex* index;
    std::vector<uint32_t>* candidates;
    char lower[kMaxIndexedValueLen];
  } lookup;
  lookup.candidates = &candidates;
  Lookup* lp = &lookup;
  for (const FieldIndex& index : indexes_) {
    lookup.index = &index;
    fields.Visit(index.path, [lp](const FieldValue& v) {
      const FieldIndex& fi = *lp->index;
      if (!IsScalar(v) || v.text.size() > fi.max_value_len) return true;
      for (size_t i = 0; i < v.text.size(); ++i) lp->lower[i] = AsciiLower(v.text[i]);
      auto it = fi.by_value.find(std::string_view(lp->lower, v.text.size()));
      if (it != fi.by_value.end()) lp->candidates->insert(lp->candidates->end(), it->second.begin(), it->second.end());
      return true;
    });
  }
  candidates.insert(candidates.end(), always_.begin(), always_.end());
  if (candidates.size() > 1) {
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  }
  rules_evaluated_.fetch_add(candidates.size(), std::memory_order_relaxed);
  for (uint32_t i : candidates) {
    const SigmaRule& rule = *rules_[i];
    if (!rule.Matches(fields)) continue;
    bool suppressed = false;
    for (uint32_t f : filters_of_rule_[i]) {
      if (filters_[f]->Matches(fields)) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) {
      suppressed_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    matches_.fetch_add(1, std::memory_order_relaxed);
    sink(event, MakeMatch(rule, event));
  }
  candidates.clear();
  spare.swap(candidates);
}

SigmaDetector::Stats SigmaDetector::stats() const {
  return Stats{events_.load(std::memory_order_relaxed), rules_evaluated_.load(std::memory_order_relaxed),
               matches_.load(std::memory_order_relaxed), suppressed_.load(std::memory_order_relaxed)};
}

}  // namespace vigil
