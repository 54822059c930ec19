// Loading a mapping file: strict, so that a typo in a key is an error naming
// the file and the key rather than a silently ignored line.
#include <yaml-cpp/yaml.h>

#include <charconv>

#include "common/json_writer.h"
#include "ocsf/internal/mapping.h"

namespace vigil::ocsf::internal {
namespace {

std::vector<std::string> SplitDots(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.emplace_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

// A YAML scalar as JSON: unquoted integers and true/false keep their type,
// everything else is a string.
std::string ScalarJson(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() != "!") {
    if (s == "true" || s == "false") return s;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return s;
  }
  return JsonString(s);
}

class Loader {
 public:
  explicit Loader(std::string_view name) : name_(name) {}

  Status Error(const YAML::Node& n, std::string_view what) const {
    std::string where = name_;
    if (n.IsDefined() && n.Mark().line >= 0) where += ":" + std::to_string(n.Mark().line + 1);
    return Status::InvalidArgument(where + ": " + std::string(what));
  }

  Result<Coded> ParseCoded(const YAML::Node& n) const {
    Coded c;
    if (n.IsScalar()) {
      c.json = ScalarJson(n);
      return c;
    }
    if (n.IsSequence() && n.size() == 2 && n[0].IsScalar() && n[1].IsScalar()) {
      c.json = ScalarJson(n[0]);
      c.caption = n[1].Scalar();
      return c;
    }
    return Error(n, "expected a value or [id, caption]");
  }

  Result<std::vector<std::string>> StringList(const YAML::Node& n) const {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
    } else if (n.IsSequence()) {
      for (const auto& item : n) {
        if (!item.IsScalar()) return Error(item, "expected a list of strings");
        out.push_back(item.Scalar());
      }
    } else {
      return Error(n, "expected a string or a list of strings");
    }
    return out;
  }

  // `top`: raw paths are absolute (compiled now); inside `each` they are
  // relative to the element and compiled per element.
  Result<FieldSpec> ParseSpec(std::string_view target, const YAML::Node& n, bool top) const {
    FieldSpec f;
    f.target = std::string(target);
    f.target_parts = SplitDots(target);
    if (n.IsScalar()) {
      f.from.push_back(n.Scalar());
    } else if (!n.IsMap()) {
      return Error(n, "attribute " + f.target + ": expected a raw field name or a map");
    } else {
      for (const auto& kv : n) {
        const std::string key = kv.first.Scalar();
        const YAML::Node& v = kv.second;
        if (key == "from") {
          auto l = StringList(v);
          if (!l.ok()) return l.status();
          f.from = *l;
        } else if (key == "as") {
          static const std::pair<std::string_view, Conv> kConvs[] = {
              {"string", Conv::kString},        {"integer", Conv::kInteger}, {"float", Conv::kFloat},
              {"bool", Conv::kBool},            {"ip", Conv::kIp},           {"port", Conv::kPort},
              {"timestamp", Conv::kTimestamp}, {"timestamp_s", Conv::kTimestampSeconds}};
          bool found = false;
          for (const auto& [nm, c] : kConvs)
            if (v.IsScalar() && v.Scalar() == nm) f.as = c, found = true;
          if (!found) return Error(v, "attribute " + f.target + ": unknown type `as: " + v.as<std::string>("?") + "`");
        } else if (key == "value") {
          auto c = ParseCoded(v);
          if (!c.ok()) return c.status();
          f.constant = *c;
        } else if (key == "event") {
          if (!v.IsScalar() || v.Scalar() != "time") return Error(v, "`event:` knows only `time`");
          f.event_time = true;
        } else if (key == "map") {
          if (!v.IsMap()) return Error(v, "attribute " + f.target + ": `map:` must be a map");
          for (const auto& m : v) {
            auto c = ParseCoded(m.second);
            if (!c.ok()) return c.status();
            f.map.emplace(m.first.Scalar(), *c);
          }
        } else if (key == "prefixes") {
          if (!v.IsMap()) return Error(v, "attribute " + f.target + ": `prefixes:` must be a map");
          for (const auto& m : v) {
            auto c = ParseCoded(m.second);
            if (!c.ok()) return c.status();
            f.prefixes.emplace_back(m.first.Scalar(), *c);
          }
        } else if (key == "else") {
          auto c = ParseCoded(v);
          if (!c.ok()) return c.status();
          f.otherwise = *c;
        } else if (key == "ranges") {
          if (!v.IsSequence()) return Error(v, "`ranges:` must be a list of [minimum, id, caption]");
          for (const auto& r : v) {
            if (!r.IsSequence() || r.size() != 3) return Error(r, "a range is [minimum, id, caption]");
            double min = 0;
            const std::string& s = r[0].Scalar();
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), min);
            if (ec != std::errc() || p != s.data() + s.size()) return Error(r, "range minimum is not a number");
            f.ranges.push_back({min, Coded{ScalarJson(r[1]), r[2].Scalar()}});
          }
        } else if (key == "present" || key == "absent") {
          auto c = ParseCoded(v);
          if (!c.ok()) return c.status();
          (key == "present" ? f.present : f.absent) = *c;
        } else if (key == "caption_to") {
          if (!v.IsScalar()) return Error(v, "`caption_to:` names one attribute");
          f.caption_to = SplitDots(v.Scalar());
        } else if (key == "else_to") {
          if (!v.IsScalar()) return Error(v, "`else_to:` names one attribute");
          f.else_to = SplitDots(v.Scalar());
        } else if (key == "if_absent") {
          if (!v.IsScalar()) return Error(v, "`if_absent:` names one raw field");
          f.if_absent = FieldPath(v.Scalar());
        } else if (key == "array") {
          f.array = v.IsScalar() && v.Scalar() == "true";
        } else if (key == "each") {
          if (!top) return Error(v, "`each:` cannot nest");
          if (!v.IsScalar()) return Error(v, "`each:` names one raw array");
          f.each = v.Scalar();
        } else if (key == "fields") {
          if (!v.IsMap()) return Error(v, "`fields:` must be a map");
          for (const auto& sub : v) {
            auto s = ParseSpec(sub.first.Scalar(), sub.second, /*top=*/false);
            if (!s.ok()) return s.status();
            f.each_fields.push_back(std::move(*s));
          }
        } else {
          return Error(kv.first, "attribute " + f.target + ": unknown key `" + key + "`");
        }
      }
    }
    const int sources = !f.from.empty() + f.event_time + f.constant.has_value();
    if (!f.each.empty()) {
      if (f.each_fields.empty() || sources) return Error(n, "attribute " + f.target + ": `each:` needs `fields:` only");
    } else if (sources != 1) {
      return Error(n, "attribute " + f.target + ": needs exactly one of `from:`, `value:`, `event:`");
    }
    if ((f.present || f.absent) && f.from.empty()) return Error(n, "`present:`/`absent:` need `from:`");
    if (!f.else_to.empty() && f.as != Conv::kIp) return Error(n, "`else_to:` applies to `as: ip` only");
    if (top)
      for (const auto& p : f.from) f.from_paths.emplace_back(p);
    return f;
  }

  Result<std::vector<FieldSpec>> ParseFields(const YAML::Node& n) const {
    std::vector<FieldSpec> out;
    if (!n.IsMap()) return Error(n, "`fields:` must be a map of OCSF attribute to raw source");
    for (const auto& kv : n) {
      auto s = ParseSpec(kv.first.Scalar(), kv.second, /*top=*/true);
      if (!s.ok()) return s.status();
      out.push_back(std::move(*s));
    }
    return out;
  }

  Result<std::pair<int, std::string>> UidName(const YAML::Node& n, std::string_view what) const {
    if (!n.IsSequence() || n.size() != 2) return Error(n, std::string(what) + ": expected [uid, name]");
    int uid = 0;
    const std::string& s = n[0].Scalar();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), uid);
    if (ec != std::errc() || p != s.data() + s.size()) return Error(n, std::string(what) + ": uid is not an integer");
    return std::make_pair(uid, n[1].Scalar());
  }

  Result<ClassMapping> ParseClass(const YAML::Node& n) const {
    ClassMapping c;
    if (!n.IsMap()) return Error(n, "a class entry must be a map");
    bool have_class = false, have_category = false, have_activity = false;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      if (key == "when") {
        if (!v.IsMap()) return Error(v, "`when:` must be a map");
        if (v["has"]) {
          c.when.kind = Condition::kHas;
          c.when.field = FieldPath(v["has"].Scalar());
        } else if (v["field"] && v["in"]) {
          c.when.kind = Condition::kIn;
          c.when.field = FieldPath(v["field"].Scalar());
          auto l = StringList(v["in"]);
          if (!l.ok()) return l.status();
          c.when.values = *l;
        } else {
          return Error(v, "`when:` is {has: field} or {field: name, in: [values]}");
        }
      } else if (key == "class") {
        auto u = UidName(v, "class");
        if (!u.ok()) return u.status();
        std::tie(c.class_uid, c.class_name) = *u;
        have_class = true;
      } else if (key == "category") {
        auto u = UidName(v, "category");
        if (!u.ok()) return u.status();
        std::tie(c.category_uid, c.category_name) = *u;
        have_category = true;
      } else if (key == "activity") {
        if (v.IsSequence()) {  // a constant [id, caption]
          auto coded = ParseCoded(v);
          if (!coded.ok()) return coded.status();
          c.activity.target = "activity_id";
          c.activity.target_parts = {"activity_id"};
          c.activity.constant = *coded;
        } else {
          auto s = ParseSpec("activity_id", v, true);
          if (!s.ok()) return s.status();
          c.activity = std::move(*s);
        }
        c.activity.caption_to = {"activity_name"};
        have_activity = true;
      } else if (key == "fields") {
        auto f = ParseFields(v);
        if (!f.ok()) return f.status();
        c.fields = std::move(*f);
      } else {
        return Error(kv.first, "unknown key `" + key + "` in a class entry");
      }
    }
    if (!have_class || !have_category || !have_activity)
      return Error(n, "a class entry needs `class:`, `category:` and `activity:`");
    return c;
  }

  Result<std::unique_ptr<Mapping>> Parse(std::string_view yaml) const {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(name_ + ": " + e.what());
    }
    if (!root.IsMap()) return Status::InvalidArgument(name_ + ": a mapping file is a YAML map");
    auto m = std::make_unique<Mapping>();
    try {
      for (const auto& kv : root) {
        const std::string key = kv.first.Scalar();
        const YAML::Node& v = kv.second;
        if (key == "source_type") {
          m->source_type = v.Scalar();
        } else if (key == "profiles") {
          auto l = StringList(v);
          if (!l.ok()) return l.status();
          m->profiles = *l;
        } else if (key == "common") {
          auto f = ParseFields(v);
          if (!f.ok()) return f.status();
          m->common = std::move(*f);
        } else if (key == "classes") {
          if (!v.IsSequence()) return Error(v, "`classes:` must be a list");
          for (const auto& c : v) {
            auto cm = ParseClass(c);
            if (!cm.ok()) return cm.status();
            m->classes.push_back(std::move(*cm));
          }
        } else {
          return Error(kv.first, "unknown top-level key `" + key + "`");
        }
      }
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(name_ + ": " + e.what());
    }
    if (m->source_type.empty()) return Status::InvalidArgument(name_ + ": `source_type:` is required");
    if (m->classes.empty()) return Status::InvalidArgument(name_ + ": no `classes:`");
    return m;
  }

 private:
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<Mapping>> LoadMapping(std::string_view name, std::string_view yaml) {
  return Loader(name).Parse(yaml);
}

}  // namespace vigil::ocsf::internal
