#include "detect/sigma/rule_set.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "detect/sigma/internal/detection.h"
#include "detect/sigma/internal/json_text.h"

namespace vigil {
namespace fs = std::filesystem;

namespace {

// by_id_ values at or past this name correlations_ entries.
constexpr size_t kCorrelationIdBase = size_t{1} << 40;
// ... and at or past this, behaviours_ entries.
constexpr size_t kBehaviourIdBase = size_t{1} << 41;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsYamlFile(std::string_view path) { return EndsWith(path, ".yml") || EndsWith(path, ".yaml"); }

void AppendIssues(const std::vector<RuleIssue>& issues, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < issues.size(); ++i) {
    if (i) out->push_back(',');
    out->append("{\"file\":");
    sigma_internal::AppendJsonString(issues[i].file, out);
    out->append(",\"reason\":");
    sigma_internal::AppendJsonString(issues[i].reason, out);
    out->push_back('}');
  }
  out->push_back(']');
}

}  // namespace

std::string LintReport::ToJson() const {
  std::string out =
      "{\"loaded\":" + std::to_string(loaded) + ",\"filters\":" + std::to_string(filters) +
      ",\"correlations\":" + std::to_string(correlations) + ",\"unsupported\":";
  AppendIssues(unsupported, &out);
  out.append(",\"errors\":");
  AppendIssues(errors, &out);
  out.append(",\"warnings\":");
  AppendIssues(warnings, &out);
  out.append(",\"behaviours\":").append(std::to_string(behaviours));
  out.push_back('}');
  return out;
}

bool IsRuleTestsFile(std::string_view path) { return EndsWith(path, ".tests.yml") || EndsWith(path, ".tests.yaml"); }

std::string TestsFileFor(std::string_view rule_file) {
  size_t dot = rule_file.rfind('.');
  size_t slash = rule_file.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return std::string(rule_file) + ".tests.yml";
  return std::string(rule_file.substr(0, dot)) + ".tests" + std::string(rule_file.substr(dot));
}

Result<std::string> ReadRuleFile(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return Status::IoError(path + ": " + ec.message());
  if (size > max_bytes)
    return Status::LimitExceeded("file of " + std::to_string(size) + " bytes exceeds " + std::to_string(max_bytes) +
                                 " bytes");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError(path + ": read failed");
  return ss.str();
}

Result<std::vector<std::string>> ListRuleFiles(const std::string& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Status::NotFound(path + ": no such file or directory");
  std::vector<std::string> files;
  if (!fs::is_directory(st)) {
    files.push_back(path);
    return files;
  }
  fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) return Status::IoError(path + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::IoError(path + ": " + ec.message());
    const std::string p = it->path().string();
    if (!it->is_regular_file(ec) || !IsYamlFile(p) || IsRuleTestsFile(p)) continue;
    files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  return files;
}

Status RuleSet::LoadPath(const std::string& path, LintReport* report) {
  VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> files, ListRuleFiles(path));
  for (const std::string& f : files) {
    auto text = ReadRuleFile(f);
    if (!text.ok()) {
      report->errors.push_back({f, text.status().message()});
      continue;
    }
    AddText(*text, f, report);
  }
  CheckFilterReferences(report);
  CheckCorrelationReferences(report);
  return Status::Ok();
}

void RuleSet::AddRuleText(std::string_view yaml_text, const std::string& file, LintReport* report) {
  AddText(yaml_text, file, report);
  CheckFilterReferences(report);
  CheckCorrelationReferences(report);
}

void RuleSet::AddBehaviourText(std::string_view yaml_text, const std::string& file, LintReport* report) {
  auto rule = ParseBehaviourRule(yaml_text, file, [this](const std::string& named) -> Result<std::shared_ptr<const GeoIpTable>> {
    const std::string& path = geoip_override_.empty() ? named : geoip_override_;
    if (auto it = geoip_.find(path); it != geoip_.end()) return it->second;
    auto table = GeoIpTable::Load(path);
    if (table.ok()) geoip_.emplace(path, *table);
    return table;
  });
  if (!rule.ok()) {
    auto& list = rule.status().code() == StatusCode::kUnsupported ? report->unsupported : report->errors;
    list.push_back({file, rule.status().message()});
    return;
  }
  const std::string& id = (*rule)->id;
  if (auto it = by_id_.find(id); it != by_id_.end()) {
    report->errors.push_back({file, "duplicate rule id " + id + " (first defined in " + FileOf(it->second) + ")"});
    return;
  }
  by_id_.emplace(id, kBehaviourIdBase + behaviours_.size());
  behaviours_.push_back({file, std::move(rule).value()});
  ++report->behaviours;
}

const std::string& RuleSet::FileOf(size_t index) const {
  if (index >= kBehaviourIdBase) return behaviours_[index - kBehaviourIdBase].file;
  if (index >= kCorrelationIdBase) return correlations_[index - kCorrelationIdBase].file;
  return rules_[index].file;
}

std::vector<std::shared_ptr<const BehaviourRule>> RuleSet::SharedBehaviours() const {
  std::vector<std::shared_ptr<const BehaviourRule>> out;
  for (const auto& b : behaviours_) out.push_back(b.rule);
  return out;
}

void RuleSet::AddText(std::string_view yaml_text, const std::string& file, LintReport* report) {
  if (IsBehaviourRuleText(yaml_text)) return AddBehaviourText(yaml_text, file, report);
  auto docs = ParseSigmaFile(yaml_text, options_);
  if (!docs.ok()) {
    if (docs.status().code() == StatusCode::kUnsupported) {
      report->unsupported.push_back({file, docs.status().message()});
    } else {
      report->errors.push_back({file, docs.status().message()});
    }
    return;
  }
  // Ids are checked for the whole file first: it loads whole or not at all.
  std::unordered_map<std::string, int> in_file;
  for (const SigmaDocument& d : *docs) {
    const std::string* id = d.rule ? &d.rule->id() : d.correlation ? &d.correlation->id() : nullptr;
    if (!id) continue;
    if (auto it = by_id_.find(*id); it != by_id_.end()) {
      report->errors.push_back({file, "duplicate rule id " + *id + " (first defined in " + FileOf(it->second) + ")"});
      return;
    }
    if (in_file[*id]++) {
      report->errors.push_back({file, "duplicate rule id " + *id + " (twice in this file)"});
      return;
    }
  }
  for (SigmaDocument& d : *docs) {
    // What the logsource's log type cannot answer: the rule loads, but those
    // fields never have a value on its events.
    const std::vector<std::string>* notes =
        d.rule ? &d.rule->logsource_notes() : d.filter ? &d.filter->logsource_notes() : nullptr;
    if (notes)
      for (const std::string& n : *notes) report->warnings.push_back({file, "logsource: " + n});
    if (d.filter) {
      if (d.filter->detection().condition.op == sigma_internal::CondNode::Op::kNot)
        report->warnings.push_back(
            {file,
             "the filter condition is a negation: vigil suppresses a named rule's match on the events the condition "
             "holds for, so `not selection` suppresses everything the selection does not match (see "
             "docs/rule-authoring.md, Filters)"});
      filters_.push_back({file, std::move(d.filter)});
      ++report->filters;
    } else if (d.correlation) {
      // Correlation ids share the rule id space; indices past rules_ name correlations.
      by_id_.emplace(d.correlation->id(), kCorrelationIdBase + correlations_.size());
      correlations_.push_back({file, std::move(d.correlation)});
      correlation_resolved_.push_back(false);
    } else {
      by_id_.emplace(d.rule->id(), rules_.size());
      rules_.push_back({file, std::move(d.rule)});
      ++report->loaded;
    }
  }
}

namespace {
constexpr std::string_view kCorrelationError = "correlation: names rule `";
}  // namespace

void RuleSet::CheckCorrelationReferences(LintReport* report) {
  // Recomputed from scratch, like filter warnings.
  auto& e = report->errors;
  e.erase(std::remove_if(e.begin(), e.end(),
                         [&](const RuleIssue& i) { return i.reason.rfind(kCorrelationError, 0) == 0; }),
          e.end());
  std::unordered_set<std::string> known;
  for (const LoadedRule& r : rules_) {
    known.insert(r.rule->id());
    if (!r.rule->name().empty()) known.insert(r.rule->name());
  }
  const std::unordered_set<std::string> rule_refs = known;
  for (const LoadedCorrelation& c : correlations_) {
    known.insert(c.correlation->id());
    if (!c.correlation->name().empty()) known.insert(c.correlation->name());
  }
  // A correlation resolves when every reference is a rule or a resolved correlation.
  std::unordered_map<std::string, size_t> corr_by_ref;
  for (size_t i = 0; i < correlations_.size(); ++i) {
    corr_by_ref.emplace(correlations_[i].correlation->id(), i);
    if (!correlations_[i].correlation->name().empty()) corr_by_ref.emplace(correlations_[i].correlation->name(), i);
  }
  report->correlations = 0;
  for (size_t i = 0; i < correlations_.size(); ++i) {
    const LoadedCorrelation& c = correlations_[i];
    bool ok = true;
    for (const std::string& ref : c.correlation->rules()) {
      if (known.count(ref)) continue;
      ok = false;
      e.push_back({c.file, std::string(kCorrelationError) + ref + "` (in " + c.correlation->id() +
                               "), which is not loaded: no rule or correlation has this id or name"});
    }
    correlation_resolved_[i] = ok;
  }
  // Correlations on a cycle of references never resolve.
  for (size_t i = 0; i < correlations_.size(); ++i) {
    std::vector<size_t> stack{i};
    std::unordered_set<size_t> seen;
    while (!stack.empty() && correlation_resolved_[i]) {
      size_t at = stack.back();
      stack.pop_back();
      for (const std::string& ref : correlations_[at].correlation->rules()) {
        auto it = corr_by_ref.find(ref);
        if (it == corr_by_ref.end() || rule_refs.count(ref)) continue;
        if (it->second == i) correlation_resolved_[i] = false;
        if (seen.insert(it->second).second) stack.push_back(it->second);
      }
    }
  }
  // Unresolved references propagate up chains.
  bool changed = true;
  for (int round = 0; changed && round < 64; ++round) {
    changed = false;
    for (size_t i = 0; i < correlations_.size(); ++i) {
      if (!correlation_resolved_[i]) continue;
      for (const std::string& ref : correlations_[i].correlation->rules()) {
        auto it = corr_by_ref.find(ref);
        if (it != corr_by_ref.end() && !rule_refs.count(ref) && !correlation_resolved_[it->second]) {
          correlation_resolved_[i] = false;
          changed = true;
        }
      }
    }
  }
  for (size_t i = 0; i < correlations_.size(); ++i) {
    if (correlation_resolved_[i]) {
      ++report->correlations;
    } else if (std::none_of(e.begin(), e.end(), [&](const RuleIssue& x) { return x.file == correlations_[i].file; })) {
      e.push_back({correlations_[i].file, std::string(kCorrelationError) + "...` (in " +
                                              correlations_[i].correlation->id() +
                                              "): a correlation it names does not load, or they form a cycle"});
    }
  }
}

std::vector<std::shared_ptr<const CorrelationRule>> RuleSet::SharedCorrelations() const {
  std::vector<std::shared_ptr<const CorrelationRule>> out;
  for (size_t i = 0; i < correlations_.size(); ++i)
    if (correlation_resolved_[i]) out.push_back(correlations_[i].correlation);
  return out;
}

namespace {
constexpr std::string_view kFilterWarning = "filter: ";
}  // namespace

void RuleSet::CheckFilterReferences(LintReport* report) const {
  // Recomputed from scratch: a rule loaded by a later call resolves an
  // earlier warning.
  auto& w = report->warnings;
  w.erase(std::remove_if(w.begin(), w.end(),
                         [&](const RuleIssue& i) {
                           return i.reason.rfind(kFilterWarning, 0) == 0 &&
                                  std::any_of(filters_.begin(), filters_.end(),
                                              [&](const LoadedFilter& f) { return f.file == i.file; });
                         }),
          w.end());
  for (const LoadedFilter& f : filters_) {
    for (const std::string& ref : f.filter->rules()) {
      std::vector<const SigmaRule*> named;
      for (const LoadedRule& r : rules_)
        if (r.rule->id() == ref || r.rule->name() == ref) named.push_back(r.rule.get());
      if (named.empty()) {
        w.push_back({f.file, std::string(kFilterWarning) + "names rule `" + ref +
                                 "`, which is not loaded; the filter does nothing for it"});
        continue;
      }
      for (const SigmaRule* r : named) {
        if (!f.filter->CoversLogsource(*r))
          w.push_back({f.file, std::string(kFilterWarning) + "names rule `" + ref +
                                   "` but its logsource does not cover the rule's; it does not apply to that rule"});
      }
    }
  }
}

std::vector<std::shared_ptr<const SigmaRule>> RuleSet::SharedRules() const {
  std::vector<std::shared_ptr<const SigmaRule>> out;
  out.reserve(rules_.size());
  for (const LoadedRule& r : rules_) out.push_back(r.rule);
  return out;
}

std::vector<std::shared_ptr<const SigmaFilter>> RuleSet::SharedFilters() const {
  std::vector<std::shared_ptr<const SigmaFilter>> out;
  out.reserve(filters_.size());
  for (const LoadedFilter& f : filters_) out.push_back(f.filter);
  return out;
}

}  // namespace vigil
