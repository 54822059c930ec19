#include "simulate/label_match.h"

#include <simdjson.h>

namespace vigil::sim {

namespace {

bool WordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_' || c == ':';
}

}  // namespace

bool ContainsWord(std::string_view text, std::string_view name) {
  if (name.empty()) return false;
  for (size_t at = text.find(name); at != std::string_view::npos; at = text.find(name, at + 1)) {
    const bool left = at == 0 || !WordChar(text[at - 1]);
    const size_t end = at + name.size();
    const bool right = end == text.size() || !WordChar(text[end]);
    if (left && right) return true;
  }
  return false;
}

Result<LabelMatcher> LabelMatcher::FromOrgJson(std::string_view org_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(org_json.data(), org_json.size()).get(doc))
    return Status::InvalidArgument(std::string("org.json: not JSON: ") + simdjson::error_message(err));
  simdjson::dom::array instances;
  if (doc["instances"].get(instances))
    return Status::InvalidArgument("org.json: no \"instances\" array");
  LabelMatcher m;
  size_t n = 0;
  for (simdjson::dom::element inst : instances) {
    ++n;
    std::string_view id;
    if (inst["id"].get(id) || id.empty())
      return Status::InvalidArgument("org.json: instance " + std::to_string(n) + " has no \"id\"");
    std::vector<std::string>& names = m.instance_names_[std::string(id)];
    for (const char* key : {"eni", "private_ip", "public_ip"}) {
      std::string_view v;
      if (!inst[key].get(v) && !v.empty()) names.emplace_back(v);
    }
  }
  // Users are optional (older org.json files list none). A user name two
  // accounts share names neither user.
  simdjson::dom::array users;
  if (!doc["users"].get(users)) {
    std::unordered_map<std::string, size_t> name_count;
    std::vector<std::pair<std::string, std::string>> user_name;  // arn, name
    for (simdjson::dom::element u : users) {
      std::string_view arn, key;
      if (u["arn"].get(arn) || arn.empty()) return Status::InvalidArgument("org.json: a user has no \"arn\"");
      std::vector<std::string>& names = m.user_names_[std::string(arn)];
      if (!u["access_key"].get(key) && !key.empty()) names.emplace_back(key);
      const size_t slash = arn.rfind('/');
      if (slash != std::string_view::npos && slash + 1 < arn.size()) {
        user_name.emplace_back(std::string(arn), std::string(arn.substr(slash + 1)));
        ++name_count[user_name.back().second];
      }
    }
    for (auto& [arn, name] : user_name)
      if (name_count[name] == 1) m.user_names_[arn].push_back(std::move(name));
  }
  return m;
}

std::vector<std::string> LabelMatcher::EntityNames(const AttackLabel& label) const {
  std::vector<std::string> names{label.entity};
  if (label.entity_type == "instance") {
    auto it = instance_names_.find(label.entity);
    if (it != instance_names_.end()) names.insert(names.end(), it->second.begin(), it->second.end());
  } else if (label.entity_type == "principal") {
    auto it = user_names_.find(label.entity);
    if (it != user_names_.end()) names.insert(names.end(), it->second.begin(), it->second.end());
  }
  return names;
}

bool LabelMatcher::Matches(const AttackLabel& label, std::string_view alert_entity, int64_t first_seen_ns,
                           int64_t last_seen_ns) const {
  if (last_seen_ns < label.start_ns || first_seen_ns > label.end_ns + slack_ns) return false;
  for (const std::string& name : EntityNames(label))
    if (ContainsWord(alert_entity, name)) return true;
  return false;
}

}  // namespace vigil::sim
