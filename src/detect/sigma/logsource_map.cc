// logsources.yaml -> LogsourceMap. yaml-cpp throws; every call into it
// happens inside Parse's try block and comes out as a Status.
#include "detect/sigma/logsource_map.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "common/embedded_file.h"
#include "common/glob.h"

namespace vigil {

namespace sigma_internal {
// Generated from logsources.yaml (vigil_embed_files in src/detect/CMakeLists.txt).
const std::vector<EmbeddedFile>& EmbeddedLogsources();
}  // namespace sigma_internal


namespace {

Status Invalid(std::string m) { return Status::InvalidArgument("logsource map: " + std::move(m)); }

// The keys of `n` must all be in `allowed`.
Status OnlyKeys(const YAML::Node& n, std::initializer_list<std::string_view> allowed, const std::string& where) {
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return Invalid(where + ": unknown key `" + key + "`");
  }
  return Status::Ok();
}

Result<std::string> Scalar(const YAML::Node& n, const std::string& where) {
  if (!n || !n.IsScalar()) return Invalid(where + " must be a string");
  return n.Scalar();
}

Status ReadLogsource(const YAML::Node& n, LogsourceMapping* m, const std::string& where) {
  if (!n.IsMap()) return Invalid(where + ": `logsource` must be a mapping");
  VIGIL_RETURN_IF_ERROR(OnlyKeys(n, {"product", "category", "service"}, where + ".logsource"));
  for (auto [key, out] : {std::pair{"product", &m->product}, std::pair{"category", &m->category},
                          std::pair{"service", &m->service}}) {
    if (!n[key]) continue;
    VIGIL_ASSIGN_OR_RETURN(std::string v, Scalar(n[key], where + ".logsource." + key));
    *out = ToLower(v);
  }
  if (m->product.empty() && m->category.empty() && m->service.empty())
    return Invalid(where + ": `logsource` names no product, category or service");
  return Status::Ok();
}

Status ReadFields(const YAML::Node& n, LogsourceMapping* m, const std::string& where) {
  if (!n.IsMap()) return Invalid(where + ": `fields` must be a mapping of Sigma field names");
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    const std::string at = where + ".fields." + name;
    FieldMapping fm;
    if (kv.second.IsScalar()) {
      fm.field = kv.second.Scalar();
    } else if (kv.second.IsMap()) {
      VIGIL_RETURN_IF_ERROR(OnlyKeys(kv.second, {"field", "values"}, at));
      VIGIL_ASSIGN_OR_RETURN(fm.field, Scalar(kv.second["field"], at + ".field"));
      const YAML::Node values = kv.second["values"];
      if (values) {
        if (!values.IsMap()) return Invalid(at + ".values must be a mapping of rule values to log values");
        for (const auto& v : values) {
          VIGIL_ASSIGN_OR_RETURN(std::string to, Scalar(v.second, at + ".values." + v.first.Scalar()));
          fm.values.emplace(ToLower(v.first.Scalar()), std::move(to));
        }
      }
    } else {
      return Invalid(at + " must be a field name or {field, values}");
    }
    if (fm.field.empty()) return Invalid(at + " maps onto an empty field name");
    if (!m->IsLogField(fm.field))
      return Invalid(at + " maps onto `" + fm.field + "`, which is not a " + m->log_type +
                     " field (list it under log_types." + m->log_type + ".fields)");
    m->fields.emplace(name, std::move(fm));
  }
  m->maps_fields = true;
  return Status::Ok();
}

}  // namespace

std::string LogsourceMapping::Describe() const {
  std::string out;
  for (auto [key, v] : {std::pair{"product", &product}, std::pair{"category", &category},
                        std::pair{"service", &service}}) {
    if (v->empty()) continue;
    if (!out.empty()) out += ", ";
    out += std::string(key) + ": " + *v;
  }
  return out;
}

bool LogsourceMapping::IsLogField(std::string_view name) const {
  return log_fields && std::binary_search(log_fields->begin(), log_fields->end(), name);
}

Result<LogsourceMap> LogsourceMap::Parse(std::string_view yaml_text) {
  LogsourceMap map;
  map.log_types_ = std::make_shared<std::map<std::string, std::vector<std::string>>>();
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    if (!root.IsMap()) return Invalid("the top level must be a mapping");
    VIGIL_RETURN_IF_ERROR(OnlyKeys(root, {"log_types", "logsources", "unsupported"}, "top level"));
    const YAML::Node types = root["log_types"];
    if (!types || !types.IsMap()) return Invalid("`log_types` must be a mapping of log type names");
    for (const auto& kv : types) {
      const std::string name = kv.first.Scalar();
      const std::string at = "log_types." + name;
      if (!kv.second.IsMap()) return Invalid(at + " must be a mapping");
      VIGIL_RETURN_IF_ERROR(OnlyKeys(kv.second, {"fields"}, at));
      std::vector<std::string> fields;
      if (const YAML::Node f = kv.second["fields"]) {
        if (!f.IsSequence()) return Invalid(at + ".fields must be a list of field names");
        for (const YAML::Node& x : f) {
          VIGIL_ASSIGN_OR_RETURN(std::string s, Scalar(x, at + ".fields[]"));
          fields.push_back(std::move(s));
        }
      }
      std::sort(fields.begin(), fields.end());
      if (std::adjacent_find(fields.begin(), fields.end()) != fields.end())
        return Invalid(at + ".fields names `" + *std::adjacent_find(fields.begin(), fields.end()) + "` twice");
      map.log_types_->emplace(name, std::move(fields));
    }
    std::set<std::string> seen;
    auto add = [&](const YAML::Node& list, bool supported) -> Status {
      if (!list) return Status::Ok();
      const char* what = supported ? "logsources" : "unsupported";
      if (!list.IsSequence()) return Invalid(std::string("`") + what + "` must be a list");
      for (size_t i = 0; i < list.size(); ++i) {
        const YAML::Node e = list[i];
        const std::string at = std::string(what) + "[" + std::to_string(i) + "]";
        if (!e.IsMap()) return Invalid(at + " must be a mapping");
        LogsourceMapping m;
        VIGIL_RETURN_IF_ERROR(ReadLogsource(e["logsource"], &m, at));
        const std::string key = m.product + "\n" + m.category + "\n" + m.service;
        if (!seen.insert(key).second) return Invalid(at + ": a second entry for " + m.Describe());
        if (supported) {
          VIGIL_RETURN_IF_ERROR(OnlyKeys(e, {"logsource", "log_type", "fields"}, at));
          VIGIL_ASSIGN_OR_RETURN(m.log_type, Scalar(e["log_type"], at + ".log_type"));
          auto type = map.log_types_->find(m.log_type);
          if (type == map.log_types_->end())
            return Invalid(at + ": log type `" + m.log_type + "` is not listed under `log_types`");
          if (!type->second.empty()) m.log_fields = &type->second;
          if (e["fields"]) VIGIL_RETURN_IF_ERROR(ReadFields(e["fields"], &m, at));
        } else {
          VIGIL_RETURN_IF_ERROR(OnlyKeys(e, {"logsource", "reason"}, at));
          if (e["reason"]) {
            VIGIL_ASSIGN_OR_RETURN(m.unsupported, Scalar(e["reason"], at + ".reason"));
          }
          if (m.unsupported.empty()) return Invalid(at + ": an unsupported logsource needs a `reason`");
        }
        map.entries_.push_back(std::move(m));
      }
      return Status::Ok();
    };
    VIGIL_RETURN_IF_ERROR(add(root["logsources"], true));
    VIGIL_RETURN_IF_ERROR(add(root["unsupported"], false));
  } catch (const YAML::Exception& e) {
    return Invalid(std::string("not valid YAML: ") + e.what());
  }
  return map;
}

std::string_view LogsourceMap::BuiltinText() { return sigma_internal::EmbeddedLogsources().front().contents; }

const LogsourceMap& LogsourceMap::Builtin() {
  static const LogsourceMap* map = [] {
    auto parsed = Parse(BuiltinText());
    auto* m = new LogsourceMap(parsed.ok() ? std::move(parsed).value() : LogsourceMap());
    if (!m->log_types_) m->log_types_ = std::make_shared<std::map<std::string, std::vector<std::string>>>();
    return m;
  }();
  return *map;
}

const LogsourceMapping* LogsourceMap::Find(std::string_view product, std::string_view category,
                                           std::string_view service) const {
  for (const LogsourceMapping& m : entries_)
    if (m.unsupported.empty() && EqualsIgnoreCase(m.product, product) && EqualsIgnoreCase(m.category, category) &&
        EqualsIgnoreCase(m.service, service))
      return &m;
  // An unsupported entry covers every logsource that has its keys (`product:
  // zeek` covers each Zeek service), as a Sigma filter's logsource does.
  auto covers = [](const std::string& key, std::string_view v) { return key.empty() || EqualsIgnoreCase(key, v); };
  for (const LogsourceMapping& m : entries_)
    if (!m.unsupported.empty() && covers(m.product, product) && covers(m.category, category) &&
        covers(m.service, service))
      return &m;
  return nullptr;
}

}  // namespace vigil
