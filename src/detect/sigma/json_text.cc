#include "detect/sigma/internal/json_text.h"

#include "common/json_writer.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdio>

namespace vigil::sigma_internal {
namespace {

bool IsJsonNumber(std::string_view s) {
  // JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  size_t i = 0;
  auto digits = [&]() {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

void Append(const YAML::Node& node, std::string* out, int depth) {
  if (depth > 64) throw YAML::Exception(YAML::Mark::null_mark(), "event nests deeper than 64 levels");
  if (!node || node.IsNull()) {
    out->append("null");
  } else if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (node.Tag() == "?" && (s == "true" || s == "false" || IsJsonNumber(s))) {
      out->append(s);
    } else {
      AppendJsonString(s, out);
    }
  } else if (node.IsSequence()) {
    out->push_back('[');
    bool first = true;
    for (const YAML::Node& item : node) {
      if (!first) out->push_back(',');
      first = false;
      Append(item, out, depth + 1);
    }
    out->push_back(']');
  } else if (node.IsMap()) {
    out->push_back('{');
    bool first = true;
    for (const auto& kv : node) {
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(kv.first.IsScalar() ? kv.first.Scalar() : std::string(), out);
      out->push_back(':');
      Append(kv.second, out, depth + 1);
    }
    out->push_back('}');
  }
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) { vigil::AppendJsonString(out, s); }

std::string YamlToJson(const YAML::Node& node) {
  std::string out;
  Append(node, &out, 0);
  return out;
}

}  // namespace vigil::sigma_internal
