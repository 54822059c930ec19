#include "detect/behaviour/behaviour_rule.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/hash.h"
#include "detect/correlation/correlation_rule.h"

namespace vigil {

std::string_view BehaviourKindName(BehaviourKind kind) {
  switch (kind) {
    case BehaviourKind::kNewTerm: return "new_term";
    case BehaviourKind::kRarity: return "rarity";
    case BehaviourKind::kVolume: return "volume";
    case BehaviourKind::kDistinctCount: return "distinct_count";
    case BehaviourKind::kBeacon: return "beacon";
    case BehaviourKind::kImpossibleTravel: return "impossible_travel";
  }
  return "?";
}

bool IsBehaviourRuleText(std::string_view text) {
  // A top-level key starts a line; Sigma rules have no `detector:` key.
  size_t at = 0;
  while ((at = text.find("detector:", at)) != std::string_view::npos) {
    if (at == 0 || text[at - 1] == '\n') return true;
    at += 9;
  }
  return false;
}

std::string_view DnsApex(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  size_t last = name.rfind('.');
  if (last == std::string_view::npos) return name;
  size_t second = last == 0 ? std::string_view::npos : name.rfind('.', last - 1);
  if (second == std::string_view::npos) return name;
  const std::string_view tld = name.substr(last + 1);
  const std::string_view sld = name.substr(second + 1, last - second - 1);
  static const std::set<std::string, std::less<>> kSecondLevel = {"ac", "co", "com", "edu", "gov", "net", "org",
                                                                   "ne", "or", "go", "gob", "mil", "ltd", "plc"};
  if (tld.size() == 2 && kSecondLevel.count(ToLower(sld)) && second > 0) {
    size_t third = name.rfind('.', second - 1);
    return third == std::string_view::npos ? name : name.substr(third + 1);
  }
  return name.substr(second + 1);
}

double ShannonEntropy(std::string_view s) {
  if (s.empty()) return 0;
  uint32_t counts[256] = {};
  for (unsigned char c : s) ++counts[c];
  double h = 0;
  const double n = static_cast<double>(s.size());
  for (uint32_t c : counts) {
    if (!c) continue;
    const double p = c / n;
    h -= p * std::log2(p);
  }
  return h;
}

namespace {

std::string FormatNumber(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 6);
  return std::string(buf, r.ptr);
}

}  // namespace

bool ApplyTransforms(const std::vector<FieldTransform>& transforms, const GeoIpTable* geoip, std::string* v) {
  for (FieldTransform t : transforms) {
    switch (t) {
      case FieldTransform::kLower: *v = ToLower(*v); break;
      case FieldTransform::kApex: *v = ToLower(DnsApex(*v)); break;
      case FieldTransform::kSubdomain: {
        std::string_view name = *v;
        while (!name.empty() && name.back() == '.') name.remove_suffix(1);
        std::string_view apex = DnsApex(name);
        *v = name.size() > apex.size() ? ToLower(name.substr(0, name.size() - apex.size() - 1)) : std::string();
        break;
      }
      case FieldTransform::kSld: {
        std::string_view apex = DnsApex(*v);
        *v = ToLower(apex.substr(0, apex.find('.')));
        break;
      }
      case FieldTransform::kCountry:
      case FieldTransform::kAsn:
      case FieldTransform::kCity: {
        if (!geoip) return false;
        auto g = geoip->Lookup(*v);
        if (!g) return false;
        *v = std::string(t == FieldTransform::kCountry ? g->country : t == FieldTransform::kAsn ? g->asn : g->city);
        break;
      }
      case FieldTransform::kProduct: {
        std::string_view ua = TrimSpace(*v);
        while (!ua.empty() && (ua.front() == '[' || ua.front() == '(')) ua.remove_prefix(1);
        *v = ToLower(ua.substr(0, ua.find_first_of("/ ()[];,")));
        break;
      }
      case FieldTransform::kLength: *v = std::to_string(v->size()); break;
      case FieldTransform::kEntropy: *v = FormatNumber(ShannonEntropy(*v)); break;
    }
    if (v->empty()) return false;
  }
  return !v->empty();
}

bool ExtractField(const Event& event, const FieldSpec& spec, const GeoIpTable* geoip, std::string* out) {
  out->clear();
  if (!event.fields) return false;
  bool found = false;
  event.fields->Visit(spec.path, [&](const FieldValue& v) {
    if (v.kind == ValueKind::kObject || v.kind == ValueKind::kArray || v.kind == ValueKind::kNull) return true;
    out->assign(v.text);
    found = true;
    return false;
  });
  if (!found || out->empty()) return false;
  return spec.transforms.empty() || ApplyTransforms(spec.transforms, geoip, out);
}

namespace {

Status Invalid(const std::string& m) { return Status::InvalidArgument(m); }

Result<FieldSpec> ParseFieldSpec(std::string_view text, std::vector<std::string>* rest) {
  FieldSpec spec;
  spec.text = std::string(text);
  size_t bar = text.find('|');
  std::string_view path = text.substr(0, bar);
  if (TrimSpace(path).empty()) return Invalid("a field name is empty");
  spec.path = FieldPath(TrimSpace(path));
  while (bar != std::string_view::npos) {
    size_t next = text.find('|', bar + 1);
    std::string_view m = text.substr(bar + 1, next == std::string_view::npos ? std::string_view::npos : next - bar - 1);
    bar = next;
    static const std::pair<std::string_view, FieldTransform> kTransforms[] = {
        {"lower", FieldTransform::kLower},     {"apex", FieldTransform::kApex},
        {"subdomain", FieldTransform::kSubdomain}, {"sld", FieldTransform::kSld},
        {"country", FieldTransform::kCountry}, {"asn", FieldTransform::kAsn},
        {"city", FieldTransform::kCity},       {"product", FieldTransform::kProduct},
        {"length", FieldTransform::kLength},
        {"entropy", FieldTransform::kEntropy}};
    bool known = false;
    for (const auto& [name, t] : kTransforms)
      if (m == name) {
        if (rest && !rest->empty()) return Invalid("`" + std::string(text) + "`: transform " + std::string(m) + " after a comparison");
        spec.transforms.push_back(t);
        known = true;
      }
    if (known) continue;
    if (!rest) return Invalid("`" + std::string(text) + "`: unknown transform '" + std::string(m) + "'");
    rest->push_back(std::string(m));
  }
  return spec;
}

bool NeedsGeoip(const FieldSpec& s) {
  for (FieldTransform t : s.transforms)
    if (t == FieldTransform::kCountry || t == FieldTransform::kAsn || t == FieldTransform::kCity) return true;
  return false;
}

std::vector<std::string> ScalarOrList(const YAML::Node& n) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsSequence()) {
    for (const auto& e : n) out.push_back(e.as<std::string>());
  } else if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
  }
  return out;
}

Result<std::vector<FieldCondition>> ParseConditions(const YAML::Node& node, const std::string& key) {
  std::vector<FieldCondition> out;
  if (!node) return out;
  if (!node.IsMap()) return Invalid("`" + key + "` must be a map of field to value or list of values");
  for (const auto& kv : node) {
    const std::string name = kv.first.as<std::string>();
    std::vector<std::string> ops;
    VIGIL_ASSIGN_OR_RETURN(FieldSpec spec, ParseFieldSpec(name, &ops));
    FieldCondition c;
    c.field = std::move(spec);
    if (ops.size() > 1) return Invalid("`" + key + "." + name + "`: more than one comparison");
    const std::string op = ops.empty() ? "" : ops[0];
    std::vector<std::string> values = ScalarOrList(kv.second);
    if (values.empty()) return Invalid("`" + key + "." + name + "` has no value");
    if (op.empty()) {
      c.op = FieldCondition::Op::kGlob;
      for (const auto& v : values) {
        GlobPattern g = GlobPattern::Compile(v);
        if (g.shape() == GlobPattern::Shape::kExact)
          c.exact.insert(g.literal());
        else
          c.globs.push_back(std::move(g));
      }
    } else if (op == "cidr") {
      c.op = FieldCondition::Op::kCidr;
      for (const auto& v : values) {
        auto b = ParseCidr(v);
        if (!b) return Invalid("`" + key + "." + name + "`: '" + v + "' is not a CIDR block");
        c.blocks.push_back(*b);
      }
    } else if (op == "gt" || op == "gte" || op == "lt" || op == "lte") {
      c.op = op == "gt" ? FieldCondition::Op::kGt : op == "gte" ? FieldCondition::Op::kGte
             : op == "lt" ? FieldCondition::Op::kLt : FieldCondition::Op::kLte;
      if (values.size() != 1) return Invalid("`" + key + "." + name + "`: a comparison takes one number");
      auto r = std::from_chars(values[0].data(), values[0].data() + values[0].size(), c.number);
      if (r.ec != std::errc() || r.ptr != values[0].data() + values[0].size())
        return Invalid("`" + key + "." + name + "`: '" + values[0] + "' is not a number");
    } else {
      return Invalid("`" + key + "." + name + "`: unknown comparison '" + op + "' (cidr, gt, gte, lt, lte)");
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::shared_ptr<const BehaviourRule>> ParseRoot(const YAML::Node& root, const std::string& file,
                                                       const GeoIpLoader& load_geoip) {
  if (!root.IsMap()) return Invalid("a behavioural rule is a YAML map");
  auto rule = std::make_shared<BehaviourRule>();
  rule->file = file;
  const std::string detector = root["detector"].as<std::string>("");
  static const std::pair<std::string_view, BehaviourKind> kKinds[] = {
      {"new_term", BehaviourKind::kNewTerm},         {"rarity", BehaviourKind::kRarity},
      {"volume", BehaviourKind::kVolume},            {"distinct_count", BehaviourKind::kDistinctCount},
      {"beacon", BehaviourKind::kBeacon},            {"impossible_travel", BehaviourKind::kImpossibleTravel}};
  bool kind_known = false;
  for (const auto& [name, k] : kKinds)
    if (detector == name) {
      rule->kind = k;
      kind_known = true;
    }
  if (!kind_known)
    return Invalid("`detector: " + detector +
                   "` is not a behavioural detector (new_term, rarity, volume, distinct_count, beacon, "
                   "impossible_travel)");
  const BehaviourKind kind = rule->kind;

  // Keys every kind takes, then each kind's parameters; anything else is a
  // mistake the author should hear about.
  std::set<std::string> allowed = {"title", "id", "description", "level", "severity", "tags", "detector",
                                   "log_type", "entity", "where", "unless", "rollup_window", "finding_type",
                                   "geoip", "max_entities", "author", "date", "modified", "status",
                                   "references", "falsepositives"};
  switch (kind) {
    case BehaviourKind::kNewTerm: allowed.insert({"values", "learning_period", "threshold", "window", "max_terms"}); break;
    case BehaviourKind::kRarity: allowed.insert({"values", "learning_period", "max_percent", "min_population"}); break;
    case BehaviourKind::kVolume: allowed.insert({"values", "z", "min_count", "min_samples", "alpha"}); break;
    case BehaviourKind::kDistinctCount: allowed.insert({"values", "window", "threshold", "precision", "learning_period"}); break;
    case BehaviourKind::kBeacon: allowed.insert({"min_connections", "max_jitter", "min_interval", "max_interval"}); break;
    case BehaviourKind::kImpossibleTravel: allowed.insert({"ip", "max_speed_kmh", "min_distance_km"}); break;
  }
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>();
    if (!allowed.count(k))
      return Invalid("unknown key `" + k + "` for `detector: " + detector + "` (docs/rule-authoring.md lists the keys)");
  }

  rule->title = root["title"].as<std::string>("");
  rule->id = root["id"].as<std::string>("");
  if (rule->title.empty()) return Invalid("`title` is required");
  if (rule->id.empty()) return Invalid("`id` is required");
  rule->description = root["description"].as<std::string>("");
  if (root["level"] && root["severity"]) return Invalid("give `level` or `severity`, not both");
  rule->level = root["level"] ? root["level"].as<std::string>() : root["severity"].as<std::string>("medium");
  static const std::set<std::string> kLevels = {"informational", "low", "medium", "high", "critical"};
  if (!kLevels.count(rule->level))
    return Invalid("`level: " + rule->level + "` is not informational, low, medium, high or critical");
  rule->tags = ScalarOrList(root["tags"]);
  rule->finding_type = root["finding_type"].as<std::string>("");
  if (rule->finding_type.empty())
    return Invalid("`finding_type` is required (a GuardDuty-style type such as Discovery:IAMUser/AnomalousBehavior)");
  rule->log_types = ScalarOrList(root["log_type"]);
  if (rule->log_types.empty()) return Invalid("`log_type` is required (cloudtrail, vpcflow, route53resolver, ...)");

  for (const std::string& e : ScalarOrList(root["entity"])) {
    VIGIL_ASSIGN_OR_RETURN(FieldSpec s, ParseFieldSpec(e, nullptr));
    rule->entity.push_back(std::move(s));
  }
  if (rule->entity.empty()) return Invalid("`entity` is required (the field or fields naming who the baseline is about)");
  const YAML::Node values_node = kind == BehaviourKind::kImpossibleTravel ? root["ip"] : root["values"];
  for (const std::string& v : ScalarOrList(values_node)) {
    VIGIL_ASSIGN_OR_RETURN(FieldSpec s, ParseFieldSpec(v, nullptr));
    rule->values.push_back(std::move(s));
  }
  switch (kind) {
    case BehaviourKind::kNewTerm:
    case BehaviourKind::kRarity:
    case BehaviourKind::kDistinctCount:
      if (rule->values.empty()) return Invalid("`values` is required for `detector: " + detector + "`");
      break;
    case BehaviourKind::kVolume:
      if (rule->values.size() > 1) return Invalid("`values` for volume is at most one numeric field to sum");
      break;
    case BehaviourKind::kImpossibleTravel:
      if (rule->values.size() != 1) return Invalid("`ip` (one field holding the IP address) is required");
      break;
    case BehaviourKind::kBeacon: break;
  }
  VIGIL_ASSIGN_OR_RETURN(rule->where, ParseConditions(root["where"], "where"));
  VIGIL_ASSIGN_OR_RETURN(rule->unless, ParseConditions(root["unless"], "unless"));

  auto duration = [&](const char* key, int64_t* out, bool required) -> Status {
    const YAML::Node n = root[key];
    if (!n) return required ? Invalid(std::string("`") + key + "` is required") : Status::Ok();
    const std::string text = n.as<std::string>();
    // A zero duration (learning_period: 0s) is allowed: no learning at all.
    if (text.size() >= 2 && text.find_first_not_of('0') == text.size() - 1 && std::string("smhd").find(text.back()) != std::string::npos) {
      *out = 0;
      return Status::Ok();
    }
    auto ns = ParseTimespan(text);
    if (!ns) return Invalid(std::string("`") + key + ": " + n.as<std::string>() + "` is not a duration such as 30s, 10m, 1h or 14d");
    *out = *ns;
    return Status::Ok();
  };
  auto number = [&](const char* key, double lo, double hi, auto* out) -> Status {
    const YAML::Node n = root[key];
    if (!n) return Status::Ok();
    double v = 0;
    const std::string s = n.as<std::string>();
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !(v >= lo && v <= hi))
      return Invalid(std::string("`") + key + ": " + s + "` is not a number in " + FormatNumber(lo) + ".." + FormatNumber(hi));
    using T = std::remove_pointer_t<decltype(out)>;
    if constexpr (std::is_integral_v<T>) {
      if (v != std::floor(v)) return Invalid(std::string("`") + key + ": " + s + "` is not a whole number");
    }
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(v);
    return Status::Ok();
  };
  std::string rollup = "1h";
  if (root["rollup_window"]) rollup = root["rollup_window"].as<std::string>();
  auto rollup_ns = ParseTimespan(rollup);
  if (!rollup_ns) return Invalid("`rollup_window: " + rollup + "` is not a duration such as 15m or 1h");
  rule->rollup_ns = *rollup_ns;

  // Defaults that differ by kind.
  if (kind == BehaviourKind::kNewTerm) rule->max_entities = 20000;
  if (kind == BehaviourKind::kVolume) rule->max_entities = 5000;
  if (kind == BehaviourKind::kDistinctCount) rule->max_entities = 20000;
  // distinct_count learns only when asked (bursts during the period are the entity's habit).
  rule->learning_ns = kind == BehaviourKind::kDistinctCount ? 0 : 7 * 86400LL * 1'000'000'000;
  VIGIL_RETURN_IF_ERROR(duration("learning_period", &rule->learning_ns, false));
  VIGIL_RETURN_IF_ERROR(duration("window", &rule->window_ns, kind == BehaviourKind::kDistinctCount));
  VIGIL_RETURN_IF_ERROR(number("threshold", 1, 1e9, &rule->threshold));
  if (kind == BehaviourKind::kDistinctCount && !root["threshold"]) return Invalid("`threshold` is required");
  if (kind == BehaviourKind::kNewTerm && rule->threshold > 1 && rule->window_ns == 0)
    return Invalid("`threshold` above 1 needs a `window` to count new terms in");
  if (kind == BehaviourKind::kNewTerm && rule->threshold > 1000) return Invalid("`threshold` for new_term is at most 1000");
  VIGIL_RETURN_IF_ERROR(number("max_terms", 1, 1e6, &rule->max_terms));
  VIGIL_RETURN_IF_ERROR(number("max_entities", 1, 1e7, &rule->max_entities));
  VIGIL_RETURN_IF_ERROR(number("max_percent", 0, 100, &rule->max_percent));
  VIGIL_RETURN_IF_ERROR(number("min_population", 1, 1e9, &rule->min_population));
  VIGIL_RETURN_IF_ERROR(number("z", 0.5, 1e6, &rule->z));
  VIGIL_RETURN_IF_ERROR(number("min_count", 0, 1e18, &rule->min_count));
  VIGIL_RETURN_IF_ERROR(number("min_samples", 1, 1000, &rule->min_samples));
  VIGIL_RETURN_IF_ERROR(number("alpha", 0.001, 1, &rule->alpha));
  VIGIL_RETURN_IF_ERROR(number("precision", 4, 16, &rule->precision));
  VIGIL_RETURN_IF_ERROR(number("min_connections", 3, 1000, &rule->min_connections));
  VIGIL_RETURN_IF_ERROR(number("max_jitter", 0, 10, &rule->max_jitter));
  VIGIL_RETURN_IF_ERROR(duration("min_interval", &rule->min_interval_ns, false));
  VIGIL_RETURN_IF_ERROR(duration("max_interval", &rule->max_interval_ns, false));
  if (rule->min_interval_ns > rule->max_interval_ns) return Invalid("`min_interval` is above `max_interval`");
  VIGIL_RETURN_IF_ERROR(number("max_speed_kmh", 1, 1e6, &rule->max_speed_kmh));
  VIGIL_RETURN_IF_ERROR(number("min_distance_km", 0, 1e5, &rule->min_distance_km));

  // GeoIP: needed by impossible_travel and by country/asn/city transforms.
  bool needs_geoip = kind == BehaviourKind::kImpossibleTravel;
  for (const auto& s : rule->entity) needs_geoip |= NeedsGeoip(s);
  for (const auto& s : rule->values) needs_geoip |= NeedsGeoip(s);
  for (const auto* list : {&rule->where, &rule->unless})
    for (const auto& c : *list) needs_geoip |= NeedsGeoip(c.field);
  rule->geoip_path = root["geoip"].as<std::string>("");
  if (needs_geoip && rule->geoip_path.empty())
    return Invalid("this rule reads GeoIP data: `geoip:` must name a table (docs/rule-authoring.md, GeoIP tables)");
  if (!rule->geoip_path.empty()) {
    std::filesystem::path p(rule->geoip_path);
    if (p.is_relative()) p = std::filesystem::path(file).parent_path() / p;
    rule->geoip_path = p.lexically_normal().string();
    auto table = load_geoip(rule->geoip_path);
    if (!table.ok() && table.status().code() == StatusCode::kNotFound)
      return Status::Unsupported("needs the GeoIP table " + rule->geoip_path +
                                 ", which does not exist (write one in vigil's CSV format: docs/rule-authoring.md)");
    if (!table.ok()) return table.status();
    rule->geoip = std::move(table).value();
  }

  // The fingerprint: the rule as parsed, minus its presentation.
  std::string fp(BehaviourKindName(kind));
  for (const auto& kv : root) {
    const std::string k = kv.first.as<std::string>();
    if (k == "title" || k == "description" || k == "level" || k == "severity" || k == "tags" || k == "author" ||
        k == "date" || k == "modified" || k == "status" || k == "references" || k == "falsepositives" ||
        k == "finding_type" || k == "rollup_window")
      continue;
    YAML::Emitter em;
    em << YAML::Flow << kv.second;
    fp.append("\x1f").append(k).append("=").append(em.c_str());
  }
  rule->fingerprint = HexHash128(fp);
  return std::shared_ptr<const BehaviourRule>(std::move(rule));
}

}  // namespace

Result<std::shared_ptr<const BehaviourRule>> ParseBehaviourRule(std::string_view yaml_text, const std::string& file,
                                                                 const GeoIpLoader& load_geoip) {
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    return ParseRoot(root, file, load_geoip);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("YAML: ") + e.what());
  }
}

}  // namespace vigil
