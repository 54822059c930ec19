#include "simulate/eval.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "common/json_writer.h"
#include "common/time.h"

namespace vigil::sim {

namespace {

std::string_view Str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get(v)) return {};
  return v;
}

std::string Ratio(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

bool CountsAsDetection(const EvalAlert& alert) {
  for (const std::string& t : alert.tags)
    if (t.rfind("cis.", 0) == 0) return false;
  return alert.severity != "informational";
}

Result<std::vector<AttackLabel>> ReadLabelsJsonl(std::string_view text) {
  std::vector<AttackLabel> labels;
  simdjson::dom::parser parser;
  size_t line_no = 0;
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string line(text.substr(at, nl - at));
    at = nl + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument("labels.jsonl:" + std::to_string(line_no) + ": " + why);
    };
    simdjson::dom::element e;
    if (parser.parse(line).get(e)) return bad("not a JSON object");
    AttackLabel l;
    l.id = std::string(Str(e, "id"));
    l.scenario = std::string(Str(e, "scenario"));
    l.finding_type = std::string(Str(e, "finding_type"));
    l.entity_type = std::string(Str(e, "entity_type"));
    l.entity = std::string(Str(e, "entity"));
    l.account = std::string(Str(e, "account"));
    l.description = std::string(Str(e, "description"));
    if (l.id.empty() || l.entity.empty()) return bad("needs \"id\" and \"entity\"");
    auto start = ParseTimestamp(Str(e, "start"));
    auto end = ParseTimestamp(Str(e, "end"));
    if (!start || !end || *end < *start) return bad("\"start\" and \"end\" must be RFC 3339 times, start first");
    l.start_ns = *start;
    l.end_ns = *end;
    uint64_t records = 0;
    if (!e["records"].get(records)) l.records = records;
    simdjson::dom::array types;
    if (!e["log_types"].get(types))
      for (simdjson::dom::element t : types) {
        std::string_view s;
        if (!t.get(s)) l.log_types.emplace_back(s);
      }
    labels.push_back(std::move(l));
  }
  return labels;
}

EvalReport Evaluate(const std::vector<AttackLabel>& labels, const LabelMatcher& matcher,
                    const std::vector<EvalAlert>& alerts, uint64_t events) {
  EvalReport r;
  r.events = events;
  for (const AttackLabel& l : labels) r.attack_records += l.records;
  r.benign_events = events > r.attack_records ? events - r.attack_records : 0;
  r.alerts = alerts.size();
  // Earliest first, so each label's rules list in the order they fired.
  std::vector<const EvalAlert*> order;
  for (const EvalAlert& a : alerts) order.push_back(&a);
  std::stable_sort(order.begin(), order.end(),
                   [](const EvalAlert* a, const EvalAlert* b) { return a->first_seen_ns < b->first_seen_ns; });
  for (const AttackLabel& l : labels) {
    r.labels.emplace_back();
    r.labels.back().label = l;
  }
  std::map<std::string, size_t> false_by_rule;
  for (const EvalAlert* a : order) {
    if (!CountsAsDetection(*a)) {
      ++r.not_counted;
      continue;
    }
    ++r.detections;
    if (!a->match.empty() && a->match != "null" && a->match != "{}") ++r.explained;
    bool matched = false;
    for (LabelResult& lr : r.labels) {
      if (!matcher.Matches(lr.label, a->entity, a->first_seen_ns, a->last_seen_ns)) continue;
      matched = true;
      if (!lr.detected) {
        lr.detected = true;
        lr.first_alert_ns = a->first_seen_ns;
        lr.time_to_detect_ns = std::max<int64_t>(0, a->first_seen_ns - lr.label.start_ns);
      }
      if (std::find(lr.rules.begin(), lr.rules.end(), a->title) == lr.rules.end()) lr.rules.push_back(a->title);
      if (!a->finding_type.empty() &&
          std::find(lr.finding_types.begin(), lr.finding_types.end(), a->finding_type) == lr.finding_types.end())
        lr.finding_types.push_back(a->finding_type);
      if (a->finding_type == lr.label.finding_type) lr.finding_type_expected = true;
    }
    if (matched) {
      ++r.true_alerts;
    } else {
      ++r.false_alerts;
      ++false_by_rule[a->title];
    }
  }
  for (const LabelResult& lr : r.labels) r.detected += lr.detected ? 1 : 0;
  r.recall = labels.empty() ? 1.0 : static_cast<double>(r.detected) / static_cast<double>(labels.size());
  r.precision = r.detections == 0 ? 1.0 : static_cast<double>(r.true_alerts) / static_cast<double>(r.detections);
  r.false_per_million =
      r.benign_events == 0 ? 0.0 : static_cast<double>(r.false_alerts) * 1e6 / static_cast<double>(r.benign_events);
  r.false_by_rule.assign(false_by_rule.begin(), false_by_rule.end());
  std::stable_sort(r.false_by_rule.begin(), r.false_by_rule.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (r.false_by_rule.size() > 20) r.false_by_rule.resize(20);
  return r;
}

std::string EvalReportJson(const EvalReport& r) {
  std::string labels = "[";
  for (const LabelResult& lr : r.labels) {
    if (labels.size() > 1) labels += ',';
    JsonObject o;
    o.Str("id", lr.label.id)
        .Str("scenario", lr.label.scenario)
        .Str("finding_type", lr.label.finding_type)
        .Str("entity", lr.label.entity)
        .Str("start", FormatRfc3339(lr.label.start_ns))
        .Str("end", FormatRfc3339(lr.label.end_ns))
        .Bool("detected", lr.detected);
    if (lr.detected) {
      o.Str("first_alert", FormatRfc3339(lr.first_alert_ns))
          .Num("seconds_to_detect", static_cast<double>(lr.time_to_detect_ns) / 1e9);
    } else {
      o.Null("first_alert").Null("seconds_to_detect");
    }
    o.StrList("rules", lr.rules).StrList("finding_types", lr.finding_types).Bool("finding_type_expected",
                                                                                   lr.finding_type_expected);
    labels += o.Done();
  }
  labels += "]";
  std::string false_rules = "[";
  for (const auto& [title, n] : r.false_by_rule) {
    if (false_rules.size() > 1) false_rules += ',';
    false_rules += JsonObject().Str("rule", title).UInt("alerts", n).Done();
  }
  false_rules += "]";
  return JsonObject()
      .UInt("scenarios", r.labels.size())
      .UInt("detected", r.detected)
      .Raw("recall", Ratio(r.recall))
      .Raw("precision", Ratio(r.precision))
      .Raw("false_alerts_per_million", Ratio(r.false_per_million))
      .UInt("events", r.events)
      .UInt("attack_records", r.attack_records)
      .UInt("benign_events", r.benign_events)
      .UInt("alerts", r.alerts)
      .UInt("detections", r.detections)
      .UInt("true_alerts", r.true_alerts)
      .UInt("false_alerts", r.false_alerts)
      .UInt("explained", r.explained)
      .Bool("all_explained", r.explained == r.detections)
      .UInt("not_counted", r.not_counted)
      .Raw("labels", labels)
      .Raw("false_by_rule", false_rules)
      .Done();
}

}  // namespace vigil::sim
