#include <algorithm>
#include <cstdio>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/workspace.h"
#include "common/json_writer.h"
#include "common/time.h"

namespace vigil::cli {

std::string AlertJson(const Alert& a) {
  return JsonObject()
      .Str("id", a.id)
      .Str("rule_id", a.rule_id)
      .Str("title", a.title)
      .Str("severity", a.severity)
      .StrList("tags", a.tags)
      .Str("entity", a.entity)
      .Str("first_seen", FormatRfc3339(a.first_seen_ns))
      .Str("last_seen", FormatRfc3339(a.last_seen_ns))
      .UInt("count", a.count)
      .StrList("event_ids", a.event_ids)
      .Bool("truncated", a.truncated)
      .Str("finding_type", a.finding_type)
      .Raw("match", a.match.empty() ? "null" : a.match)
      .Done();
}

std::string Clip(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 1) + "~"; }

void PrintAlertTable(const std::vector<Alert>& alerts) {
  std::printf("%-13s %-46s %-44s %-20s %6s\n", "SEVERITY", "TITLE", "ENTITY", "LAST SEEN", "COUNT");
  for (const Alert& a : alerts) {
    std::printf("%-13s %-46s %-44s %-20s %6llu\n", a.severity.c_str(), Clip(a.title, 46).c_str(),
                Clip(a.entity, 44).c_str(), FormatRfc3339(a.last_seen_ns).c_str(),
                static_cast<unsigned long long>(a.count));
  }
}

int RunAlerts(const AlertsOptions& o) {
  AlertQuery q;
  Status st = ParseTimeOption("--from", o.from, &q.from_ns);
  if (st.ok()) st = ParseTimeOption("--to", o.to, &q.to_ns);
  if (!st.ok()) return Fatal(st);
  if (!o.rule_id.empty()) q.rule_id = o.rule_id;
  if (!o.min_severity.empty()) {
    if (SeverityRank(o.min_severity) < 0)
      return Fatal(Status::InvalidArgument("--min-severity \"" + o.min_severity +
                                           "\" is not one of informational, low, medium, high, critical"));
    q.min_severity = o.min_severity;
  }
  q.limit = o.limit;
  auto ws = Workspace::Open(o.data_dir, /*write=*/false);
  if (!ws.ok()) return Fatal(ws.status());
  auto alerts = (*ws)->metadata()->ListAlerts(q);
  if (!alerts.ok()) return Fatal(alerts.status());
  if (o.json) {
    for (const Alert& a : *alerts) std::printf("%s\n", AlertJson(a).c_str());
  } else {
    PrintAlertTable(*alerts);
    std::printf("%zu alerts\n", alerts->size());
  }
  return kExitOk;
}

}  // namespace vigil::cli
