#include "detect/sigma/rule_set.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "detect/sigma/internal/detection.h"
#include "detect/sigma/internal/json_text.h"

namespace vigil {
namespace fs = std::filesystem;

namespace {

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
      "{\"loaded\":" + std::to_string(loaded) + ",\"filters\":" + std::to_string(filters) + ",\"unsupported\":";
  AppendIssues(unsupported, &out);
  out.append(",\"errors\":");
  AppendIssues(errors, &out);
  out.append(",\"warnings\":");
  AppendIssues(warnings, &out);
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
  return Status::Ok();
}

void RuleSet::AddRuleText(std::string_view yaml_text, const std::string& file, LintReport* report) {
  AddText(yaml_text, file, report);
  CheckFilterReferences(report);
}

void RuleSet::AddText(std::string_view yaml_text, const std::string& file, LintReport* report) {
  auto doc = ParseSigmaDocument(yaml_text, options_);
  if (!doc.ok()) {
    if (doc.status().code() == StatusCode::kUnsupported) {
      report->unsupported.push_back({file, doc.status().message()});
    } else {
      report->errors.push_back({file, doc.status().message()});
    }
    return;
  }
  if (doc->filter) {
    if (doc->filter->detection().condition.op == sigma_internal::CondNode::Op::kNot)
      report->warnings.push_back(
          {file,
           "the filter condition is a negation: vigil suppresses a named rule's match on the events the condition "
           "holds for, so `not selection` suppresses everything the selection does not match (see "
           "docs/rule-authoring.md, Filters)"});
    filters_.push_back({file, std::move(doc->filter)});
    ++report->filters;
    return;
  }
  auto [it, inserted] = by_id_.emplace(doc->rule->id(), rules_.size());
  if (!inserted) {
    report->errors.push_back(
        {file, "duplicate rule id " + doc->rule->id() + " (first defined in " + rules_[it->second].file + ")"});
    return;
  }
  rules_.push_back({file, std::move(doc->rule)});
  ++report->loaded;
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
