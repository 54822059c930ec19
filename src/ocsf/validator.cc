#include "ocsf/validator.h"

#include <re2/re2.h>
#include <simdjson.h>

#include <map>
#include <optional>
#include <set>

namespace vigil::ocsf {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// A data type from dictionary.json `types`, resolved to its base.
struct TypeDef {
  std::string base;  // string_t, integer_t, long_t, float_t, boolean_t, json_t
  std::optional<size_t> max_len;
  std::optional<std::pair<int64_t, int64_t>> range;
  std::shared_ptr<RE2> regex;
};

struct AttrDef {
  std::string type;  // a type name (`*_t`) or an object name
  bool is_array = false;
  std::string requirement;
  std::string profile;  // set when the attribute comes from a profile
  std::map<std::string, std::string> enums;  // value -> caption
  std::string sibling;
};

struct ObjectDef {
  std::string name, caption;
  std::map<std::string, AttrDef> attrs;
  std::vector<std::string> at_least_one, just_one;
  // classes only
  int class_uid = -1, category_uid = -1;
  std::string category_caption;
};

// Results, not elements: a missing key is an error value, not an exception.
using Maybe = simdjson::simdjson_result<element>;

template <class E>  // element or Maybe
std::string Str(E&& e) {
  std::string_view s;
  if (e.get_string().get(s)) return "";
  return std::string(s);
}

std::string JoinPath(std::string_view base, std::string_view key) {
  return base.empty() ? std::string(key) : std::string(base) + "." + std::string(key);
}

class SchemaImpl final : public Schema {
 public:
  Status Load(Env* env, const std::string& dir) {
    dir_ = dir;
    env_ = env;
    element dict;
    VIGIL_RETURN_IF_ERROR(ReadJson("dictionary.json", &dict));
    // Types first: attributes name them.
    object types;
    if (dict["types"]["attributes"].get_object().get(types)) return Bad("dictionary.json", "no types");
    std::map<std::string, element> raw_types;
    for (auto [k, v] : types) raw_types.emplace(std::string(k), v);
    for (const auto& [name, v] : raw_types) {
      TypeDef t;
      std::string base = name;
      element cur = v;
      // Follow `type` to the primitive, collecting the constraints on the way.
      for (int depth = 0; depth < 8; ++depth) {
        uint64_t n = 0;
        if (!t.max_len && !cur["max_len"].get_uint64().get(n)) t.max_len = n;
        std::string_view rx;
        if (!t.regex && !cur["regex"].get_string().get(rx)) {
          auto re = std::make_shared<RE2>(std::string(rx), RE2::Quiet);
          if (re->ok()) t.regex = re;
        }
        simdjson::dom::array range;
        if (!t.range && !cur["range"].get_array().get(range) && range.size() == 2) {
          int64_t lo = 0, hi = 0;
          if (!range.at(0).get_int64().get(lo) && !range.at(1).get_int64().get(hi)) t.range = {{lo, hi}};
        }
        std::string next = Str(cur["type"]);
        if (next.empty() || !raw_types.count(next)) break;
        base = next;
        cur = raw_types[next];
      }
      t.base = base;
      types_[name] = t;
    }
    object attrs;
    if (dict["attributes"].get_object().get(attrs)) return Bad("dictionary.json", "no attributes");
    for (auto [k, v] : attrs) {
      AttrDef a;
      a.type = Str(v["type"]);
      bool arr = false;
      if (!v["is_array"].get_bool().get(arr)) a.is_array = arr;
      a.sibling = Str(v["sibling"]);
      MergeEnum(v, &a);
      dictionary_[std::string(k)] = a;
    }
    element cats;
    VIGIL_RETURN_IF_ERROR(ReadJson("categories.json", &cats));
    object catattrs;
    if (!cats["attributes"].get_object().get(catattrs))
      for (auto [k, v] : catattrs) {
        int64_t uid = 0;
        if (!v["uid"].get_int64().get(uid)) categories_[std::string(k)] = {static_cast<int>(uid), Str(v["caption"])};
      }
    std::vector<std::string> files;
    VIGIL_RETURN_IF_ERROR(env_->ListFilesRecursive(dir_, &files));
    for (const auto& f : files) {
      if (f.size() < 5 || f.compare(f.size() - 5, 5, ".json") != 0) continue;
      const bool is_object = f.rfind("objects/", 0) == 0, is_event = f.rfind("events/", 0) == 0;
      if (!is_object && !is_event) continue;
      element e;
      VIGIL_RETURN_IF_ERROR(ReadJson(f, &e));
      (is_object ? raw_objects_ : raw_events_)[Str(e["name"])] = e;
      files_[Str(e["name"]) + (is_object ? "/o" : "/e")] = f;
    }
    for (const auto& [name, e] : raw_objects_) {
      auto r = Resolve(name, /*event=*/false, 0);
      if (!r.ok()) return r.status();
    }
    for (const auto& [name, e] : raw_events_) {
      auto r = Resolve(name, /*event=*/true, 0);
      if (!r.ok()) return r.status();
      const ObjectDef& c = **r;
      // Abstract parents (network, iam...) have no uid of their own.
      int64_t uid = 0;
      if (name == "base_event") {
        classes_[0] = &c;
      } else if (!e["uid"].get_int64().get(uid)) {
        ObjectDef& mc = const_cast<ObjectDef&>(c);
        auto cat = categories_.find(CategoryOf(name));
        if (cat == categories_.end()) return Bad(files_[name + "/e"], "unknown category");
        mc.category_uid = cat->second.first;
        mc.category_caption = cat->second.second;
        mc.class_uid = mc.category_uid * 1000 + static_cast<int>(uid);
        classes_[mc.class_uid] = &c;
      }
    }
    if (auto it = classes_.find(0); it != classes_.end()) {
      ObjectDef& b = const_cast<ObjectDef&>(*it->second);
      b.class_uid = 0;
      b.category_uid = 0;
      b.category_caption = "Uncategorized";
    }
    return Status::Ok();
  }

  ValidationReport Validate(std::string_view event_json, const std::vector<std::string>& left_out) const override {
    ValidationReport r;
    Checker c{this, &r, &left_out, {}};
    simdjson::dom::parser parser;
    element root;
    if (parser.parse(event_json.data(), event_json.size()).get(root) || root.type() != element_type::OBJECT) {
      r.violations.push_back({"", "not a JSON object"});
      return r;
    }
    int64_t class_uid = -1;
    if (root["class_uid"].get_int64().get(class_uid)) {
      r.violations.push_back({"class_uid", "missing or not an integer"});
      return r;
    }
    auto it = classes_.find(static_cast<int>(class_uid));
    if (it == classes_.end()) {
      r.violations.push_back({"class_uid", "no class " + std::to_string(class_uid) + " in the schema"});
      return r;
    }
    const ObjectDef& cls = *it->second;
    simdjson::dom::array profiles;
    if (!root["metadata"]["profiles"].get_array().get(profiles))
      for (element p : profiles) c.profiles.insert(Str(p));
    c.CheckObject(root, cls, "");
    // Classification: the ids are the class's, type_uid is derived.
    auto expect_int = [&](std::string_view key, int64_t want) {
      int64_t got = 0;
      if (!root[key].get_int64().get(got) && got != want)
        r.violations.push_back({std::string(key), std::to_string(got) + " is not " + std::to_string(want) +
                                                      " for class " + cls.caption});
    };
    auto expect_str = [&](std::string_view key, const std::string& want) {
      std::string_view got;
      if (!root[key].get_string().get(got) && got != want)
        r.violations.push_back({std::string(key), "\"" + std::string(got) + "\" is not \"" + want + "\""});
    };
    expect_int("category_uid", cls.category_uid);
    expect_str("class_name", cls.caption);
    expect_str("category_name", cls.category_caption);
    int64_t activity = 0;
    if (!root["activity_id"].get_int64().get(activity)) expect_int("type_uid", class_uid * 100 + activity);
    std::string_view activity_name;
    if (!root["activity_name"].get_string().get(activity_name))
      expect_str("type_name", cls.caption + ": " + std::string(activity_name));
    return r;
  }

  Status CheckAttributePath(int class_uid, std::string_view path) const override {
    auto it = classes_.find(class_uid);
    if (it == classes_.end()) return Status::NotFound("no class " + std::to_string(class_uid));
    const ObjectDef* def = it->second;
    size_t start = 0;
    std::string walked;
    while (true) {
      size_t dot = path.find('.', start);
      std::string part(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      const bool array = part.size() > 2 && part.compare(part.size() - 2, 2, "[]") == 0;
      if (array) part.resize(part.size() - 2);
      walked = JoinPath(walked, part);
      if (def == nullptr) return Status::NotFound(walked + ": inside a value that is not an object");
      auto a = def->attrs.find(part);
      if (a == def->attrs.end())
        return Status::NotFound(walked + ": not an attribute of " + def->name);
      if (array != a->second.is_array)
        return Status::InvalidArgument(walked + (array ? ": is not an array" : ": is an array (write it name[])"));
      if (dot == std::string_view::npos) return Status::Ok();
      def = ObjectNamed(a->second.type);
      start = dot + 1;
    }
  }

 private:
  struct Checker {
    const SchemaImpl* schema;
    ValidationReport* report;
    const std::vector<std::string>* left_out;
    std::set<std::string> profiles;

    // A requirement unmet at `path` is excused when the normaliser left out
    // an invalid value there or below.
    void Unmet(const std::string& path, std::string problem) const {
      for (const auto& l : *left_out)
        if (l == path || (l.size() > path.size() && l.compare(0, path.size(), path) == 0 && l[path.size()] == '.') ||
            path.empty()) {
          report->excused.push_back({path, problem + " (raw value " + l + " was invalid)"});
          return;
        }
      report->violations.push_back({path, std::move(problem)});
    }
    void Bad(const std::string& path, std::string problem) const {
      report->violations.push_back({path, std::move(problem)});
    }

    void CheckObject(element obj, const ObjectDef& def, const std::string& path) const {
      object o;
      if (obj.get_object().get(o)) return Bad(path, "expected an object (" + def.name + ")");
      std::set<std::string> present;
      for (auto [k, v] : o) {
        std::string key(k);
        present.insert(key);
        const std::string p = JoinPath(path, key);
        auto a = def.attrs.find(key);
        if (a == def.attrs.end()) {
          Bad(p, "not an attribute of " + def.name);
          continue;
        }
        CheckAttribute(v, a->second, p, o);
      }
      for (const auto& [name, a] : def.attrs) {
        if (a.requirement != "required" || present.count(name)) continue;
        if (!a.profile.empty() && !profiles.count(a.profile)) continue;
        if (def.class_uid >= 0 && (name == "type_uid" || name == "class_uid")) {
          Unmet(JoinPath(path, name), "required attribute missing");
          continue;
        }
        Unmet(JoinPath(path, name), "required attribute missing");
      }
      auto count = [&](const std::vector<std::string>& names) {
        int n = 0;
        for (const auto& nm : names) n += present.count(nm) ? 1 : 0;
        return n;
      };
      auto list = [](const std::vector<std::string>& names) {
        std::string s;
        for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
        return s;
      };
      if (!def.at_least_one.empty() && count(def.at_least_one) == 0)
        Unmet(path, def.name + " needs at least one of: " + list(def.at_least_one));
      if (!def.just_one.empty() && count(def.just_one) != 1)
        Bad(path, def.name + " needs exactly one of: " + list(def.just_one));
    }

    void CheckAttribute(element v, const AttrDef& a, const std::string& path, object parent) const {
      if (a.is_array) {
        simdjson::dom::array arr;
        if (v.get_array().get(arr)) return Bad(path, "expected an array");
        for (element item : arr) CheckValue(item, a, path + "[]", parent);
        return;
      }
      CheckValue(v, a, path, parent);
    }

    void CheckValue(element v, const AttrDef& a, const std::string& path, object parent) const {
      if (const ObjectDef* od = schema->ObjectNamed(a.type)) {
        if (od->name == "object") {  // free-form (`unmapped`)
          if (v.type() != element_type::OBJECT) Bad(path, "expected an object");
          return;
        }
        return CheckObject(v, *od, path);
      }
      auto t = schema->types_.find(a.type);
      if (t == schema->types_.end()) return Bad(path, "attribute type " + a.type + " unknown to the schema");
      const TypeDef& td = t->second;
      std::string key;  // the value as an enum key
      const auto type = v.type();
      if (td.base == "string_t") {
        std::string_view s;
        if (v.get_string().get(s)) return Bad(path, "expected a string (" + a.type + ")");
        if (td.max_len && s.size() > *td.max_len) return Bad(path, "longer than " + std::to_string(*td.max_len));
        if (td.regex && !RE2::PartialMatch(s, *td.regex))
          return Bad(path, "\"" + std::string(s) + "\" is not a valid " + a.type);
        key = std::string(s);
      } else if (td.base == "integer_t" || td.base == "long_t") {
        int64_t n = 0;
        if (type != element_type::INT64 && type != element_type::UINT64) return Bad(path, "expected an integer (" + a.type + ")");
        if (v.get_int64().get(n)) return Bad(path, "integer out of range");
        if (td.base == "integer_t" && (n < INT32_MIN || n > INT32_MAX)) return Bad(path, "does not fit integer_t");
        if (td.range && (n < td.range->first || n > td.range->second))
          return Bad(path, std::to_string(n) + " outside " + a.type + " range");
        key = std::to_string(n);
      } else if (td.base == "float_t") {
        if (type != element_type::DOUBLE && type != element_type::INT64 && type != element_type::UINT64)
          return Bad(path, "expected a number");
      } else if (td.base == "boolean_t") {
        if (type != element_type::BOOL) return Bad(path, "expected true or false");
      } else if (td.base != "json_t") {
        return Bad(path, "unhandled type " + td.base);
      }
      if (a.enums.empty() || IsClassification(path)) return;
      auto e = a.enums.find(key);
      if (e == a.enums.end()) return Bad(path, key + " is not a value of this enum");
      if (!a.sibling.empty() && key != "99") {
        std::string_view caption;
        if (!parent[a.sibling].get_string().get(caption) && caption != e->second)
          Bad(path, "caption \"" + std::string(caption) + "\" in " + a.sibling + " should be \"" + e->second + "\"");
      }
    }
    static bool IsClassification(const std::string& path) {
      return path == "class_uid" || path == "category_uid" || path == "type_uid";
    }
  };

  static Status Bad(const std::string& file, std::string_view what) {
    return Status::Corruption("OCSF schema " + file + ": " + std::string(what));
  }

  Status ReadJson(const std::string& rel, element* out) {
    auto text = std::make_unique<std::string>();
    VIGIL_RETURN_IF_ERROR(env_->ReadFile(dir_ + "/" + rel, text.get()));
    parsers_.push_back(std::make_unique<simdjson::dom::parser>());
    if (parsers_.back()->parse(*text).get(*out)) return Bad(rel, "not valid JSON");
    return Status::Ok();
  }

  template <class E>  // element or Maybe
  static void MergeEnum(E&& v, AttrDef* a) {
    object en;
    if (v["enum"].get_object().get(en)) return;
    for (auto [k, e] : en) a->enums[std::string(k)] = Str(e["caption"]);
  }

  std::string CategoryOf(const std::string& event) const {
    for (std::string name = event; !name.empty();) {
      auto it = raw_events_.find(name);
      if (it == raw_events_.end()) break;
      std::string cat = Str(it->second["category"]);
      if (!cat.empty()) return cat;
      name = Str(it->second["extends"]);
    }
    return "";
  }

  // Merges one attributes map (a class's, an object's or a profile's) into `def`.
  Status MergeAttributes(Maybe attrs_el, const std::string& file, const std::string& profile, ObjectDef* def,
                         int depth) {
    object attrs;
    if (attrs_el.get_object().get(attrs)) return Status::Ok();
    for (auto [k, v] : attrs) {
      std::string key(k);
      if (key == "$include") {
        simdjson::dom::array incs;
        if (v.get_array().get(incs)) return Bad(file, "$include is not a list");
        for (element inc : incs) {
          std::string rel = Str(inc);
          element p;
          VIGIL_RETURN_IF_ERROR(ReadJson(rel, &p));
          std::string pname = Str(p["meta"]) == "profile" || rel.rfind("profiles/", 0) == 0 ? Str(p["name"]) : profile;
          if (depth > 8) return Bad(rel, "$include nests too deep");
          VIGIL_RETURN_IF_ERROR(MergeAttributes(p["attributes"], rel, pname, def, depth + 1));
        }
        continue;
      }
      AttrDef a;
      if (auto d = dictionary_.find(key); d != dictionary_.end()) a = d->second;
      if (auto prev = def->attrs.find(key); prev != def->attrs.end()) a = prev->second;
      else a.profile = profile;
      std::string_view s;
      if (!v["requirement"].get_string().get(s)) a.requirement = std::string(s);
      if (!v["type"].get_string().get(s)) a.type = std::string(s);
      MergeEnum(v, &a);
      if (a.type.empty()) return Bad(file, "attribute " + key + " has no type in the dictionary");
      def->attrs[key] = std::move(a);
    }
    return Status::Ok();
  }

  Result<const ObjectDef*> Resolve(const std::string& name, bool event, int depth) {
    auto& done = event ? events_ : objects_;
    if (auto it = done.find(name); it != done.end()) return it->second.get();
    auto& raw = event ? raw_events_ : raw_objects_;
    auto it = raw.find(name);
    if (it == raw.end()) return Bad(name, std::string(event ? "event class" : "object") + " not in the schema");
    if (depth > 16) return Bad(name, "extends too deep");
    const std::string file = files_[name + (event ? "/e" : "/o")];
    auto def = std::make_unique<ObjectDef>();
    std::string parent = Str(it->second["extends"]);
    if (!parent.empty() && parent != name) {
      auto p = Resolve(parent, event, depth + 1);
      if (!p.ok()) return p.status();
      *def = **p;
      def->class_uid = def->category_uid = -1;
    }
    def->name = name;
    def->caption = Str(it->second["caption"]);
    VIGIL_RETURN_IF_ERROR(MergeAttributes(it->second["attributes"], file, "", def.get(), 0));
    auto list = [&](std::string_view key, std::vector<std::string>* out) {
      simdjson::dom::array arr;
      if (it->second["constraints"][key].get_array().get(arr)) return;
      out->clear();
      for (element e : arr) out->push_back(Str(e));
    };
    list("at_least_one", &def->at_least_one);
    list("just_one", &def->just_one);
    const ObjectDef* ptr = def.get();
    done[name] = std::move(def);
    return ptr;
  }

  const ObjectDef* ObjectNamed(const std::string& name) const {
    auto it = objects_.find(name);
    return it == objects_.end() ? nullptr : it->second.get();
  }

  Env* env_ = nullptr;
  std::string dir_;
  std::vector<std::unique_ptr<simdjson::dom::parser>> parsers_;  // own the raw schema documents
  std::map<std::string, TypeDef> types_;
  std::map<std::string, AttrDef> dictionary_;
  std::map<std::string, std::pair<int, std::string>> categories_;
  std::map<std::string, element> raw_objects_, raw_events_;
  std::map<std::string, std::string> files_;
  std::map<std::string, std::unique_ptr<ObjectDef>> objects_, events_;
  std::map<int, const ObjectDef*> classes_;
};

}  // namespace

Result<std::unique_ptr<Schema>> Schema::Load(Env* env, const std::string& dir) {
  auto s = std::make_unique<SchemaImpl>();
  VIGIL_RETURN_IF_ERROR(s->Load(env, dir));
  return std::unique_ptr<Schema>(std::move(s));
}

}  // namespace vigil::ocsf
