#include "detect/schema/sigma_schema.h"

#include <re2/re2.h>
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

namespace vigil {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct SigmaSchemas::Impl {
  simdjson::dom::parser parsers[3];
  element rule, filter, correlation;
  // Compiled `pattern` keywords, by pattern text.
  mutable std::map<std::string, std::unique_ptr<RE2>> patterns;
  mutable std::mutex patterns_mu;
};

namespace {

// Accessors in simdjson's error-code style (GCC 12 miscompiles the
// value_unsafe() chains on temporaries at -O2).
std::string_view StrOf(element e) {
  std::string_view s;
  if (e.get(s) != simdjson::SUCCESS) return {};
  return s;
}
uint64_t U64Of(element e) {
  uint64_t u = 0;
  if (e.get(u) != simdjson::SUCCESS) return 0;
  return u;
}
bool BoolOf(element e) {
  bool b = false;
  if (e.get(b) != simdjson::SUCCESS) return false;
  return b;
}
std::vector<element> ItemsOf(element e) {
  std::vector<element> out;
  simdjson::dom::array a;
  if (e.get(a) != simdjson::SUCCESS) return out;
  for (element x : a) out.push_back(x);
  return out;
}

// YAML 1.2 core-schema type of a node, as JSON Schema names it.
std::string TypeOf(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "null";
    case YAML::NodeType::Sequence:
      return "array";
    case YAML::NodeType::Map:
      return "object";
    case YAML::NodeType::Scalar:
      break;
  }
  if (n.Tag() == "!") return "string";  // quoted
  const std::string& s = n.Scalar();
  static const RE2 kNull("null|Null|NULL|~|");
  static const RE2 kBool("true|True|TRUE|false|False|FALSE");
  static const RE2 kInt("[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+");
  static const RE2 kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
  if (RE2::FullMatch(s, kNull)) return "null";
  if (RE2::FullMatch(s, kBool)) return "boolean";
  if (RE2::FullMatch(s, kInt)) return "integer";
  if (RE2::FullMatch(s, kFloat)) return "number";
  return "string";
}

bool TypeMatches(const std::string& actual, std::string_view wanted) {
  return actual == wanted || (wanted == "number" && actual == "integer");
}

size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// A canonical text of a node, for const/enum/uniqueItems comparisons.
std::string Canonical(const YAML::Node& n) {
  std::string t = TypeOf(n);
  if (n.IsScalar()) return t + ":" + n.Scalar();
  if (n.IsSequence()) {
    std::string s = "[";
    for (const auto& c : n) s += Canonical(c) + ",";
    return s + "]";
  }
  if (n.IsMap()) {
    std::map<std::string, std::string> m;
    for (const auto& kv : n) m[kv.first.as<std::string>("")] = Canonical(kv.second);
    std::string s = "{";
    for (const auto& [k, v] : m) s += k + "=" + v + ",";
    return s + "}";
  }
  return "null";
}

std::string CanonicalJson(element e) {
  switch (e.type()) {
    case element_type::STRING:
      return "string:" + std::string(StrOf(e));
    case element_type::BOOL:
      return std::string("boolean:") + (BoolOf(e) ? "true" : "false");
    case element_type::INT64: {
      int64_t i = 0;
      if (e.get(i) != simdjson::SUCCESS) i = 0;
      return "integer:" + std::to_string(i);
    }
    case element_type::UINT64:
      return "integer:" + std::to_string(U64Of(e));
    case element_type::NULL_VALUE:
      return "null:null";
    default:
      return "json:" + simdjson::minify(e);
  }
}

class Validator {
 public:
  Validator(const SigmaSchemas::Impl& impl, size_t max_errors) : impl_(impl), max_(max_errors) {}

  // Appends violations of `schema` by `node` at `path`; returns true when valid.
  bool Validate(element schema, const YAML::Node& node, const std::string& path, std::vector<std::string>* out) {
    if (out && out->size() >= max_) return false;
    if (schema.type() == element_type::BOOL) {
      if (BoolOf(schema)) return true;
      return Fail(out, path, "not allowed here");
    }
    simdjson::dom::object obj;
    if (schema.get(obj) != simdjson::SUCCESS) return true;
    bool ok = true;
    const std::string type = TypeOf(node);
    for (auto field : obj) {
      std::string_view k = field.key;
      element v = field.value;
      if (k == "type") {
        bool any = false;
        std::string wanted;
        if (v.type() == element_type::ARRAY) {
          for (element t : ItemsOf(v)) {
            std::string_view tn = StrOf(t);
            any |= TypeMatches(type, tn);
            wanted += (wanted.empty() ? "" : " or ") + std::string(tn);
          }
        } else {
          std::string_view tn = StrOf(v);
          any = TypeMatches(type, tn);
          wanted = std::string(tn);
        }
        if (!any) return Fail(out, path, "expected " + wanted + ", found " + type);
      } else if (k == "const") {
        if (Canonical(node) != CanonicalJson(v)) ok &= Fail(out, path, "must be " + simdjson::minify(v));
      } else if (k == "enum") {
        bool any = false;
        for (element c : ItemsOf(v)) any |= Canonical(node) == CanonicalJson(c);
        if (!any) ok &= Fail(out, path, "must be one of " + simdjson::minify(v));
      } else if (k == "properties") {
        simdjson::dom::object props;
        if (node.IsMap() && v.get(props) == simdjson::SUCCESS) {
          for (auto p : props) {
            YAML::Node child = node[std::string(p.key)];
            if (child) ok &= Validate(p.value, child, path + "/" + std::string(p.key), out);
          }
        }
      } else if (k == "required") {
        if (node.IsMap()) {
          for (element r : ItemsOf(v)) {
            std::string name(StrOf(r));
            if (!node[name]) ok &= Fail(out, path, "missing required `" + name + "`");
          }
        }
      } else if (k == "additionalProperties") {
        if (node.IsMap()) {
          simdjson::dom::object props;
          bool has_props = obj["properties"].get(props) == simdjson::SUCCESS;
          for (const auto& kv : node) {
            std::string key = kv.first.as<std::string>("");
            element ignored;
            if (has_props && props[key].get(ignored) == simdjson::SUCCESS) continue;
            ok &= Validate(v, kv.second, path + "/" + key, out);
          }
        }
      } else if (k == "items") {
        if (node.IsSequence()) {
          size_t i = 0;
          for (const auto& c : node) ok &= Validate(v, c, path + "/" + std::to_string(i++), out);
        }
      } else if (k == "minItems" || k == "maxItems") {
        if (node.IsSequence()) {
          uint64_t bound = U64Of(v);
          if (k == "minItems" ? node.size() < bound : node.size() > bound)
            ok &= Fail(out, path, std::string(k) + " " + std::to_string(bound) + ", has " + std::to_string(node.size()));
        }
      } else if (k == "uniqueItems") {
        if (node.IsSequence() && BoolOf(v)) {
          std::set<std::string> seen;
          for (const auto& c : node)
            if (!seen.insert(Canonical(c)).second) ok &= Fail(out, path, "items are not unique");
        }
      } else if (k == "minLength" || k == "maxLength") {
        if (type == "string") {
          uint64_t bound = U64Of(v);
          size_t len = Utf8Length(node.Scalar());
          if (k == "minLength" ? len < bound : len > bound)
            ok &= Fail(out, path, std::string(k) + " " + std::to_string(bound) + ", has " + std::to_string(len));
        }
      } else if (k == "pattern") {
        if (type == "string" && !RE2::PartialMatch(node.Scalar(), Pattern(StrOf(v))))
          ok &= Fail(out, path, "\"" + node.Scalar() + "\" does not match " + std::string(StrOf(v)));
      } else if (k == "format") {
        std::string_view f = StrOf(v);
        static const RE2 kUuid("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
        if (type == "string" && f == "uuid" && !RE2::FullMatch(node.Scalar(), kUuid))
          ok &= Fail(out, path, "\"" + node.Scalar() + "\" is not a UUID");
      } else if (k == "anyOf" || k == "oneOf" || k == "allOf") {
        size_t valid = 0, n = 0;
        for (element sub : ItemsOf(v)) {
          ++n;
          if (Validate(sub, node, path, nullptr)) ++valid;
        }
        bool good = k == "anyOf" ? valid > 0 : k == "oneOf" ? valid == 1 : valid == n;
        if (!good) {
          if (k == "allOf") {  // say which part failed
            for (element sub : ItemsOf(v)) ok &= Validate(sub, node, path, out);
          } else {
            ok &= Fail(out, path, std::string("matches ") + std::to_string(valid) + " of the " + std::to_string(n) +
                                      " alternatives (" + std::string(k) + ")");
          }
        }
      } else if (k == "not") {
        if (Validate(v, node, path, nullptr)) ok &= Fail(out, path, "matches a schema it must not");
      } else if (k == "if") {
        element then_s, else_s;
        bool cond = Validate(v, node, path, nullptr);
        if (cond && obj["then"].get(then_s) == simdjson::SUCCESS) ok &= Validate(then_s, node, path, out);
        if (!cond && obj["else"].get(else_s) == simdjson::SUCCESS) ok &= Validate(else_s, node, path, out);
      }
      // Anything else (then/else, handled with `if`; annotations; unknown
      // keywords such as the schemas' `gt` inside `anyOf`) is ignored, as JSON
      // Schema requires of unknown keywords.
      if (out && out->size() >= max_) return false;
    }
    return ok;
  }

 private:
  bool Fail(std::vector<std::string>* out, const std::string& path, const std::string& problem) {
    if (out && out->size() < max_) out->push_back((path.empty() ? "/" : path) + ": " + problem);
    return false;
  }

  const RE2& Pattern(std::string_view p) {
    std::lock_guard<std::mutex> lock(impl_.patterns_mu);
    auto& slot = impl_.patterns[std::string(p)];
    if (!slot) slot = std::make_unique<RE2>(std::string(p));
    return *slot;
  }

  const SigmaSchemas::Impl& impl_;
  size_t max_;
};

}  // namespace

Result<SigmaSchemas> SigmaSchemas::Load(const std::string& dir) {
  auto impl = std::make_shared<Impl>();
  const char* names[3] = {"sigma-detection-rule-schema.json", "sigma-filters-schema.json",
                          "sigma-correlation-rules-schema.json"};
  element* slots[3] = {&impl->rule, &impl->filter, &impl->correlation};
  for (int i = 0; i < 3; ++i) {
    std::string path = dir + "/" + names[i];
    if (auto err = impl->parsers[i].load(path).get(*slots[i]))
      return Status::InvalidArgument(path + ": cannot read the schema: " + simdjson::error_message(err));
  }
  SigmaSchemas s;
  s.impl_ = std::move(impl);
  return s;
}

std::vector<std::string> SigmaSchemas::Check(const YAML::Node& document, size_t max_errors) const {
  std::vector<std::string> out;
  if (!document.IsMap()) {
    out.push_back("/: a Sigma document is a mapping");
    return out;
  }
  element schema = document["correlation"] ? impl_->correlation
                   : (document["filter"] && !document["detection"]) ? impl_->filter
                                                                     : impl_->rule;
  Validator v(*impl_, max_errors);
  v.Validate(schema, document, "", &out);
  return out;
}

}  // namespace vigil
