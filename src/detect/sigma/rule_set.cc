#include "detect/sigma/rule_set.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

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
  std::string out = "{\"loaded\":" + std::to_string(loaded) + ",\"unsupported\":";
  AppendIssues(unsupported, &out);
  out.append(",\"errors\":");
  AppendIssues(errors, &out);
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
    AddRuleText(*text, f, report);
  }
  return Status::Ok();
}

void RuleSet::AddRuleText(std::string_view yaml_text, const std::string& file, LintReport* report) {
  auto rule = SigmaRule::Parse(yaml_text);
  if (!rule.ok()) {
    if (rule.status().code() == StatusCode::kUnsupported) {
      report->unsupported.push_back({file, rule.status().message()});
    } else {
      report->errors.push_back({file, rule.status().message()});
    }
    return;
  }
  auto [it, inserted] = by_id_.emplace((*rule)->id(), rules_.size());
  if (!inserted) {
    report->errors.push_back(
        {file, "duplicate rule id " + (*rule)->id() + " (first defined in " + rules_[it->second].file + ")"});
    return;
  }
  rules_.push_back({file, std::move(rule).value()});
  ++report->loaded;
}

std::vector<std::shared_ptr<const SigmaRule>> RuleSet::SharedRules() const {
  std::vector<std::shared_ptr<const SigmaRule>> out;
  out.reserve(rules_.size());
  for (const LoadedRule& r : rules_) out.push_back(r.rule);
  return out;
}

}  // namespace vigil
