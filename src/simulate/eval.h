// Scoring detections against a simulation's labels (`vigil eval`,
// docs/eval.md): which labelled attack stages an alert detected, how soon,
// and how many alerts were about benign activity.
//
// An alert detects a label when LabelMatcher (label_match.h) says it is
// about the label — its entity names the label's entity by one of its names
// in org.json, and it overlaps the label's window plus a slack — and it is a
// detection (CountsAsDetection). A detection that matches no label is a
// false alert.
//
// Thread safety: plain values and functions; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "simulate/label_match.h"
#include "simulate/org_simulator.h"

namespace vigil::sim {

// The alert fields scoring reads (a stored alert, alert/metadata.h).
struct EvalAlert {
  std::string rule_id, title, severity, entity, finding_type;
  std::vector<std::string> tags;
  int64_t first_seen_ns = 0, last_seen_ns = 0;
  std::string match;  // the explanation (JSON object); empty when the rule gave none
};

// Whether an alert is a threat detection that recall and precision count:
// threat-intel findings, behavioural findings and Sigma threat rules at
// severity low and above. Not counted: compliance rules (a `cis.` tag: they
// report real configuration changes, benign or not) and informational rules
// (records of activity such as "console sign-in", kept for hunting and
// correlation, never meant to page anyone).
bool CountsAsDetection(const EvalAlert& alert);

// Reads labels.jsonl (one AttackLabel a line). An unreadable line is an
// error naming its line number.
Result<std::vector<AttackLabel>> ReadLabelsJsonl(std::string_view text);

struct LabelResult {
  AttackLabel label;
  bool detected = false;
  int64_t first_alert_ns = 0;   // earliest matching alert's first_seen
  int64_t time_to_detect_ns = 0;  // max(0, first_alert - start)
  std::vector<std::string> rules;          // titles of the matching rules, earliest first, distinct
  std::vector<std::string> finding_types;  // of the matching alerts, distinct
  bool finding_type_expected = false;      // one of them is the label's finding type
};

struct EvalReport {
  std::vector<LabelResult> labels;  // in labels.jsonl order
  size_t detected = 0;
  uint64_t events = 0;          // every event ingested
  uint64_t attack_records = 0;  // the labels' records
  uint64_t benign_events = 0;   // events - attack_records
  size_t alerts = 0;            // every alert
  size_t detections = 0;        // alerts that CountsAsDetection
  size_t true_alerts = 0;       // detections matching a label
  size_t false_alerts = 0;      // detections matching none
  size_t explained = 0;         // detections carrying an explanation (`match`)
  size_t not_counted = 0;       // compliance and informational alerts
  double recall = 0;            // detected / labels (1 when there are none)
  double precision = 0;         // true_alerts / detections (1 when there are none)
  double false_per_million = 0; // false_alerts per million benign events
  // False alerts per rule title, most first (at most 20 rules).
  std::vector<std::pair<std::string, size_t>> false_by_rule;
};

// `events`: every event ingested (the labels' records among them).
EvalReport Evaluate(const std::vector<AttackLabel>& labels, const LabelMatcher& matcher,
                    const std::vector<EvalAlert>& alerts, uint64_t events);

// The report as one JSON object (docs/eval.md lists the keys).
std::string EvalReportJson(const EvalReport& report);

}  // namespace vigil::sim
