#include "alert/explain.h"

#include <simdjson.h>

#include <cmath>
#include <cstdio>

namespace vigil {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

std::string Number(double v) {
  char buf[64];
  if (std::fabs(v) >= 1000 || v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  }
  return buf;
}

// A scalar's text (strings unquoted); arrays of scalars joined by ','; "" for
// objects.
std::string Text(element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::STRING: return std::string(std::string_view(e));
    case simdjson::dom::element_type::INT64: return std::to_string(int64_t(e));
    case simdjson::dom::element_type::UINT64: return std::to_string(uint64_t(e));
    case simdjson::dom::element_type::DOUBLE: return Number(double(e));
    case simdjson::dom::element_type::BOOL: return bool(e) ? "true" : "false";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
    case simdjson::dom::element_type::ARRAY: {
      std::string out;
      for (element x : simdjson::dom::array(e)) {
        std::string t = Text(x);
        if (t.empty()) continue;
        if (!out.empty()) out += ',';
        out += t;
      }
      return out;
    }
    case simdjson::dom::element_type::OBJECT: return "";
  }
  return "";
}

std::string At(element e, std::string_view path) {
  element v;
  if (e.at_pointer(path).get(v)) return "";
  return Text(v);
}

// "k=v k=v" over an object's scalar members.
std::string Pairs(element e) {
  object o;
  if (e.get(o)) return "";
  std::string out;
  for (auto [k, v] : o) {
    std::string t = Text(v);
    if (t.empty()) continue;
    if (!out.empty()) out += ' ';
    out.append(k.data(), k.size()).append("=").append(t);
  }
  return out;
}

std::string Member(element e, const char* key) {
  element v;
  return e[key].get(v) ? std::string() : Pairs(v);
}

std::string Join(std::initializer_list<std::string> parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string Behaviour(element m, std::string_view detector) {
  const std::string values = Member(m, "values");
  if (detector == "new_term") {
    std::string s = "first " + values;
    const std::string learning = At(m, "/baseline/learning_period");
    if (!learning.empty()) s += " (learning " + learning + ")";
    const std::string count = At(m, "/observed/new_values");
    if (!count.empty()) s += ", " + count + " new";
    return s;
  }
  if (detector == "distinct_count") {
    std::string s = At(m, "/observed/distinct_values") + " distinct in " + At(m, "/baseline/window") + " (threshold " +
                    At(m, "/baseline/threshold") + ")";
    const std::string samples = At(m, "/observed/sample_values");
    return Join({values, s, samples.empty() ? "" : "e.g. " + samples}, "; ");
  }
  if (detector == "impossible_travel") {
    auto place = [&](const char* at) {
      return Join({At(m, std::string(at) + "/city"), At(m, std::string(at) + "/country")}, " ");
    };
    return place("/baseline/previous_location") + " -> " + place("/observed/location") + ": " +
           At(m, "/observed/distance_km") + " km in " + At(m, "/observed/hours") + " h (" +
           At(m, "/observed/speed_kmh") + " km/h)";
  }
  if (detector == "volume") {
    std::string amount = At(m, "/observed/sum");
    if (amount.empty()) amount = At(m, "/observed/count");
    return Join({values.empty() ? amount + " in the hour" : values + " in the hour",
                 "z=" + At(m, "/observed/z"), "baseline mean " + At(m, "/baseline/mean")},
                ", ");
  }
  if (detector == "beacon") {
    std::string jitter = At(m, "/observed/jitter");
    if (!jitter.empty()) {
      element j;
      double d = 0;
      if (!m.at_pointer("/observed/jitter").get(j) && !j.get(d)) jitter = Number(d * 100) + "%";
    }
    return At(m, "/observed/connections") + " connections every " + At(m, "/observed/mean_interval_s") + "s (jitter " +
           jitter + ")";
  }
  return Join({std::string(detector), values, Member(m, "observed")}, "; ");
}

}  // namespace

std::string ExplainOneLine(std::string_view match_json, size_t max_chars) {
  if (match_json.empty()) return "";
  simdjson::dom::parser parser;
  element m;
  if (parser.parse(match_json.data(), match_json.size()).get(m) || !m.is_object()) return "";
  std::string out;
  element v;
  std::string_view detector;
  if (!m["fields"].get(v)) {
    out = Pairs(v);
  } else if (!m["detector"].get(detector)) {
    out = Behaviour(m, detector);
  } else if (!m["indicator"].get(v)) {
    out = Join({At(m, "/field"), At(m, "/value")}, " ") + " on " + At(m, "/feed");
    const std::string category = At(m, "/category");
    if (!category.empty()) out += " (" + category + ")";
    const std::string description = At(m, "/description");
    if (!description.empty()) out += ": " + description;
  } else if (!m["correlation"].get(v)) {
    out = Join({Text(v), At(m, "/condition"), Member(m, "group_by")}, " ");
    const std::string from = At(m, "/window_start"), to = At(m, "/window_end");
    if (!from.empty()) out += " from " + from + " to " + to;
  } else {
    out = Pairs(m);
  }
  if (out.size() > max_chars && max_chars >= 3) {
    out.resize(max_chars - 3);
    // Do not cut a UTF-8 sequence in two.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  return out;
}

}  // namespace vigil
