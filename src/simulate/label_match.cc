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
  return m;
}

std::vector<std::string> LabelMatcher::EntityNames(const AttackLabel& label) const {
  std::vector<std::string> names{label.entity};
  if (label.entity_type == "instance") {
    auto it = instance_names_.find(label.entity);
    if (it != instance_names_.end()) names.insert(names.end(), it->second.begin(), it->second.end());
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
