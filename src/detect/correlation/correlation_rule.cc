#include "detect/correlation/correlation_rule.h"

#include <charconv>
#include <cmath>
#include <set>

#include "detect/correlation/internal/parse.h"
#include "detect/sigma/internal/yaml_fields.h"

namespace vigil {

namespace {

Status Invalid(std::string m) { return Status::InvalidArgument("correlation: " + std::move(m)); }

std::string FormatNumber(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  return std::to_string(v);
}

bool ParseNumber(const std::string& s, double* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, *out);
  return r.ec == std::errc() && r.ptr == end;
}

}  // namespace

std::string_view CorrelationTypeName(CorrelationType type) {
  switch (type) {
    case CorrelationType::kEventCount: return "event_count";
    case CorrelationType::kValueCount: return "value_count";
    case CorrelationType::kTemporal: return "temporal";
    case CorrelationType::kTemporalOrdered: return "temporal_ordered";
    case CorrelationType::kValueSum: return "value_sum";
    case CorrelationType::kValueAvg: return "value_avg";
    case CorrelationType::kValuePercentile: return "value_percentile";
  }
  return "?";
}

bool CorrelationCondition::Holds(double v) const {
  if (gt && !(v > *gt)) return false;
  if (gte && !(v >= *gte)) return false;
  if (lt && !(v < *lt)) return false;
  if (lte && !(v <= *lte)) return false;
  if (eq && !(v == *eq)) return false;
  if (neq && !(v != *neq)) return false;
  return true;
}

std::string CorrelationCondition::ToString() const {
  std::string out;
  auto add = [&](const char* op, const std::optional<double>& b) {
    if (!b) return;
    if (!out.empty()) out += " and ";
    out += std::string(op) + " " + FormatNumber(*b);
  };
  add("gt", gt);
  add("gte", gte);
  add("lt", lt);
  add("lte", lte);
  add("eq", eq);
  add("neq", neq);
  return out;
}

CorrelationCondition CorrelationRule::EffectiveCondition() const {
  if (!spec_.condition.empty()) return spec_.condition;
  CorrelationCondition all;
  all.gte = static_cast<double>(spec_.rules.size());
  return all;
}

bool CorrelationRule::FiresEagerly() const {
  if (spec_.type == CorrelationType::kValueAvg || spec_.type == CorrelationType::kValuePercentile) return false;
  return EffectiveCondition().Monotone();
}

std::string CorrelationRule::GroupFieldFor(size_t i, const std::string& rule_id, const std::string& rule_name) const {
  const std::string& entry = spec_.group_by.at(i);
  auto alias = spec_.aliases.find(entry);
  if (alias == spec_.aliases.end()) return entry;
  if (!rule_name.empty()) {
    auto f = alias->second.find(rule_name);
    if (f != alias->second.end()) return f->second;
  }
  auto f = alias->second.find(rule_id);
  if (f != alias->second.end()) return f->second;
  return entry;
}

std::optional<int64_t> ParseTimespan(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  int64_t scale = 0;
  switch (unit) {
    case 's': scale = 1; break;
    case 'm': scale = 60; break;
    case 'h': scale = 3600; break;
    case 'd': scale = 86400; break;
    default: return std::nullopt;
  }
  int64_t n = 0;
  std::string_view digits = text.substr(0, text.size() - 1);
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || n <= 0 || n > int64_t{1} << 31)
    return std::nullopt;
  return n * scale * 1'000'000'000;
}

namespace correlation_internal {

using sigma_internal::YamlString;
using sigma_internal::YamlStringList;

Result<std::shared_ptr<const CorrelationRule>> ParseCorrelationDocument(const YAML::Node& root) {
  CorrelationRule::Spec s;
  VIGIL_ASSIGN_OR_RETURN(s.title, YamlString(root, "title"));
  if (s.title.empty()) return Invalid("rule has no `title`");
  VIGIL_ASSIGN_OR_RETURN(s.id, YamlString(root, "id"));
  if (s.id.empty()) return Invalid("rule has no `id` (alerts name the correlation by its id)");
  VIGIL_ASSIGN_OR_RETURN(s.name, YamlString(root, "name"));
  VIGIL_ASSIGN_OR_RETURN(s.status, YamlString(root, "status"));
  VIGIL_ASSIGN_OR_RETURN(s.description, YamlString(root, "description"));
  VIGIL_ASSIGN_OR_RETURN(s.author, YamlString(root, "author"));
  VIGIL_ASSIGN_OR_RETURN(s.date, YamlString(root, "date"));
  VIGIL_ASSIGN_OR_RETURN(s.modified, YamlString(root, "modified"));
  VIGIL_ASSIGN_OR_RETURN(s.tags, YamlStringList(root, "tags"));
  VIGIL_ASSIGN_OR_RETURN(s.references, YamlStringList(root, "references"));
  VIGIL_ASSIGN_OR_RETURN(s.falsepositives, YamlStringList(root, "falsepositives"));
  VIGIL_ASSIGN_OR_RETURN(std::string level, YamlString(root, "level"));
  if (!level.empty()) {
    for (char& c : level) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (level != "informational" && level != "low" && level != "medium" && level != "high" && level != "critical")
      return Invalid("`level: " + level + "` is not one of informational, low, medium, high, critical");
    s.level = level;
  }
  if (YAML::Node g = root["generate"]; g && !g.IsNull()) {
    if (!g.IsScalar() || (g.Scalar() != "true" && g.Scalar() != "false"))
      return Invalid("`generate` must be true or false");
    s.generate = g.Scalar() == "true";
  }

  const YAML::Node c = root["correlation"];
  if (!c.IsMap()) return Invalid("`correlation` must be a mapping");
  for (const auto& kv : c) {
    static const std::set<std::string> kKnown = {"type", "rules", "group-by", "timespan", "condition", "aliases",
                                                 "generate"};
    if (!kv.first.IsScalar() || !kKnown.count(kv.first.Scalar()))
      return Invalid("unknown key `" + (kv.first.IsScalar() ? kv.first.Scalar() : std::string("?")) + "`");
  }
  if (YAML::Node g = c["generate"]; g && !g.IsNull()) {  // older drafts put it here
    if (!g.IsScalar() || (g.Scalar() != "true" && g.Scalar() != "false"))
      return Invalid("`generate` must be true or false");
    s.generate = g.Scalar() == "true";
  }
  VIGIL_ASSIGN_OR_RETURN(std::string type, YamlString(c, "type"));
  static const std::map<std::string, CorrelationType> kTypes = {
      {"event_count", CorrelationType::kEventCount},         {"value_count", CorrelationType::kValueCount},
      {"temporal", CorrelationType::kTemporal},              {"temporal_ordered", CorrelationType::kTemporalOrdered},
      {"value_sum", CorrelationType::kValueSum},             {"value_avg", CorrelationType::kValueAvg},
      {"value_percentile", CorrelationType::kValuePercentile}};
  auto t = kTypes.find(type);
  if (t == kTypes.end())
    return Invalid(type.empty() ? "no `type`"
                                : "`type: " + type +
                                      "` is not one of event_count, value_count, temporal, temporal_ordered, "
                                      "value_sum, value_avg, value_percentile");
  s.type = t->second;
  VIGIL_ASSIGN_OR_RETURN(s.rules, YamlStringList(c, "rules", "correlation: "));
  if (s.rules.empty()) return Invalid("no `rules`: list the ids or names of the rules it correlates");
  std::set<std::string> seen;
  for (const std::string& r : s.rules) {
    if (r.empty()) return Invalid("`rules` lists an empty reference");
    if (!seen.insert(r).second) return Invalid("`rules` lists `" + r + "` twice");
  }
  VIGIL_ASSIGN_OR_RETURN(s.group_by, YamlStringList(c, "group-by", "correlation: "));
  for (const std::string& g : s.group_by)
    if (g.empty()) return Invalid("`group-by` lists an empty field");
  VIGIL_ASSIGN_OR_RETURN(std::string timespan, YamlString(c, "timespan"));
  if (timespan.empty()) return Invalid("no `timespan` (a number and s, m, h or d: `10m`)");
  auto ns = ParseTimespan(timespan);
  if (!ns) return Invalid("`timespan: " + timespan + "` is not a number followed by s, m, h or d");
  s.timespan_ns = *ns;

  if (YAML::Node a = c["aliases"]; a && !a.IsNull()) {
    if (!a.IsMap()) return Invalid("`aliases` must map alias names to {rule name: field}");
    for (const auto& kv : a) {
      if (!kv.first.IsScalar() || !kv.second.IsMap())
        return Invalid("`aliases` must map alias names to {rule name: field}");
      auto& per_rule = s.aliases[kv.first.Scalar()];
      for (const auto& rf : kv.second) {
        if (!rf.first.IsScalar() || !rf.second.IsScalar() || rf.second.Scalar().empty())
          return Invalid("alias `" + kv.first.Scalar() + "` must map rule names to field names");
        if (!seen.count(rf.first.Scalar()))
          return Invalid("alias `" + kv.first.Scalar() + "` names rule `" + rf.first.Scalar() +
                         "`, which is not in `rules`");
        per_rule[rf.first.Scalar()] = rf.second.Scalar();
      }
    }
  }

  if (YAML::Node cond = c["condition"]; cond && !cond.IsNull()) {
    if (!cond.IsMap()) return Invalid("`condition` must be a map such as {gte: 10}");
    for (const auto& kv : cond) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (key == "field") {
        VIGIL_ASSIGN_OR_RETURN(s.fields, YamlStringList(cond, "field", "correlation: condition "));
        continue;
      }
      std::optional<double>* slot = key == "gt"    ? &s.condition.gt
                                    : key == "gte" ? &s.condition.gte
                                    : key == "lt"  ? &s.condition.lt
                                    : key == "lte" ? &s.condition.lte
                                    : key == "eq"  ? &s.condition.eq
                                    : key == "neq" ? &s.condition.neq
                                                   : nullptr;
      if (!slot) return Invalid("condition: unknown operator `" + key + "` (gt, gte, lt, lte, eq, neq, field)");
      double v = 0;
      if (!kv.second.IsScalar() || !ParseNumber(kv.second.Scalar(), &v))
        return Invalid("condition: `" + key + "` needs a number");
      *slot = v;
    }
  }

  const bool temporal = s.type == CorrelationType::kTemporal || s.type == CorrelationType::kTemporalOrdered;
  const bool valued = s.type != CorrelationType::kEventCount && !temporal;
  if (!temporal && s.condition.empty())
    return Invalid("`" + std::string(CorrelationTypeName(s.type)) + "` needs a `condition` such as {gte: 10}");
  if (valued && s.fields.empty())
    return Invalid("`" + std::string(CorrelationTypeName(s.type)) + "` needs `field` in its condition");
  if (!valued && !s.fields.empty())
    return Invalid("`field` applies to value_count, value_sum, value_avg and value_percentile only");
  if (valued && s.type != CorrelationType::kValueCount && s.fields.size() != 1)
    return Invalid("`" + std::string(CorrelationTypeName(s.type)) + "` takes exactly one `field`");
  if (s.type == CorrelationType::kValuePercentile) {
    for (const auto* b : {&s.condition.gt, &s.condition.gte, &s.condition.lt, &s.condition.lte, &s.condition.eq,
                          &s.condition.neq})
      if (*b && (**b < 0 || **b > 100)) return Invalid("value_percentile compares a percentage (0 to 100)");
  }
  return std::make_shared<const CorrelationRule>(std::move(s));
}

}  // namespace correlation_internal
}  // namespace vigil
