// `vigil simulate`: writes a synthetic organisation's logs to disk in the AWS
// delivery layouts, or streams them to a running `vigil serve`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/sim_stream.h"
#include "common/time.h"
#include "simulate/org_simulator.h"
#include "simulate/sim_common.h"

namespace vigil::cli {

namespace {

using sim::LogType;
using sim::SimRecord;

std::string JsonStr(const std::string& s) { return sim::Q(s); }

std::string SummaryJson(const sim::SimulateSummary& s, double seconds, const std::string& out, size_t posted) {
  std::string by_type;
  for (int t = 0; t < sim::kLogTypeCount; ++t) {
    if (!by_type.empty()) by_type += ",";
    by_type += JsonStr(std::string(sim::LogTypeName(static_cast<LogType>(t)))) + ":" + std::to_string(s.records_by_type[t]);
  }
  std::string labels;
  for (const auto& l : s.labels) {
    if (!labels.empty()) labels += ",";
    labels += sim::Obj({{"id", JsonStr(l.id)}, {"finding_type", JsonStr(l.finding_type)}, {"entity", JsonStr(l.entity)},
                        {"start", JsonStr(FormatRfc3339(l.start_ns))}, {"end", JsonStr(FormatRfc3339(l.end_ns))},
                        {"records", std::to_string(l.records)}});
  }
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", seconds);
  return sim::Obj({{"days", std::to_string(s.days)},
                   {"records", std::to_string(s.records)},
                   {"attack_records", std::to_string(s.attack_records)},
                   {"weekday_records", std::to_string(s.weekday_records)},
                   {"weekend_records", std::to_string(s.weekend_records)},
                   {"by_type", "{" + by_type + "}"},
                   {"files", std::to_string(s.files)},
                   {"bytes", std::to_string(s.bytes_written)},
                   {"posted_requests", std::to_string(posted)},
                   {"out", JsonStr(out)},
                   {"seconds", secs},
                   {"labels", "[" + labels + "]"}});
}

}  // namespace

Result<sim::SimulateOptions> ToSimulateOptions(const SimulateCmdOptions& o) {
  sim::SimulateOptions opt;
  opt.seed = o.seed;
  opt.days = o.days;
  opt.principals = o.principals;
  opt.events_per_day = o.events;
  if (!o.start.empty()) {
    auto t = ParseTimestamp(o.start);
    if (!t) return Status::InvalidArgument("--start: not a date or RFC 3339 time: " + o.start);
    opt.start_ns = *t;
  }
  if (o.attacks_set == "all") {
    for (const auto& s : sim::AttackCatalog()) opt.attacks.push_back(s.name);
  } else if (!o.attacks_set.empty() && o.attacks_set != "none") {
    return Status::InvalidArgument("--attacks takes 'all' or 'none', not '" + o.attacks_set + "'");
  }
  for (const std::string& a : o.attack) opt.attacks.push_back(a);
  return opt;
}

int RunSimulate(const SimulateCmdOptions& o) {
  namespace fs = std::filesystem;
  if (o.list_attacks) {
    for (const auto& s : sim::AttackCatalog()) {
      if (o.json) {
        std::printf("%s\n", sim::Obj({{"name", JsonStr(s.name)}, {"finding_type", JsonStr(s.finding_type)},
                                      {"description", JsonStr(s.description)}}).c_str());
      } else {
        std::printf("%-34s %-62s %s\n", s.name.c_str(), s.finding_type.c_str(), s.description.c_str());
      }
    }
    return kExitOk;
  }
  auto parsed = ToSimulateOptions(o);
  if (!parsed.ok()) return Fatal(parsed.status());
  const sim::SimulateOptions& opt = *parsed;

  std::error_code ec;
  if (fs::exists(o.out, ec) && !fs::is_empty(o.out, ec) && !o.force)
    return Fatal(Status::FailedPrecondition(o.out + " exists and is not empty; choose another --out or pass --force"));
  if (o.force) {
    // Only what a previous run wrote is removed.
    for (const char* p : {"logs", "labels.jsonl", "geoip.csv", "intel", "org.json"}) fs::remove_all(fs::path(o.out) / p, ec);
  }

  const auto started = std::chrono::steady_clock::now();
  Progress progress("simulate");
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  sim::SimulateSummary summary;
  size_t posted = 0;
  if (o.to.empty()) {
    auto r = sim::SimulateToDirectory(opt, o.out, [&](int day, const sim::SimulateSummary& s) {
      progress.Update("day " + std::to_string(day + 1) + "/" + std::to_string(opt.days) + ", " + HumanCount(s.records) +
                      " records", true);
    });
    progress.Finish();
    if (!r.ok()) return Fatal(r.status());
    summary = std::move(*r);
  } else {
    if (o.token.empty()) return Fatal(Status::InvalidArgument("--to needs --token (an ingest token of the server)"));
    auto made = sim::Simulator::Create(opt);
    if (!made.ok()) return Fatal(made.status());
    SimStreamer streamer(o.to, o.token);
    Status st = (*made)->Run([&](int day, std::vector<SimRecord>& records) {
      return streamer.Day(records, o.speed, [&](int64_t slice_start, size_t sent) {
        progress.Update("day " + std::to_string(day + 1) + ": " + FormatRfc3339(slice_start) + ", " + HumanCount(sent) +
                        " records sent");
        return true;
      });
    });
    progress.Finish();
    if (!st.ok()) return Fatal(st);
    st = sim::WriteSidecars(**made, o.out);
    if (!st.ok()) return Fatal(st);
    summary = (*made)->summary();
    posted = streamer.requests();
  }
  const double secs = elapsed();
  if (o.json) {
    std::printf("%s\n", SummaryJson(summary, secs, o.out, posted).c_str());
    return kExitOk;
  }
  std::printf("simulated %d day%s: %s records (%s from %zu attack labels) in %.1f s (%s records/s)\n", summary.days,
              summary.days == 1 ? "" : "s", HumanCount(summary.records).c_str(), HumanCount(summary.attack_records).c_str(),
              summary.labels.size(), secs, HumanCount(static_cast<uint64_t>(summary.records / std::max(secs, 1e-3))).c_str());
  std::printf("  ");
  for (int t = 0; t < sim::kLogTypeCount; ++t)
    std::printf("%s%s %s", t ? ", " : "", std::string(sim::LogTypeName(static_cast<LogType>(t))).c_str(),
                HumanCount(summary.records_by_type[t]).c_str());
  std::printf("\n");
  if (o.to.empty()) {
    std::printf("  %zu files, %s bytes under %s/logs\n", summary.files, HumanCount(summary.bytes_written).c_str(), o.out.c_str());
  } else {
    std::printf("  sent to %s in %zu requests\n", o.to.c_str(), posted);
  }
  std::printf("  labels: %s/labels.jsonl; GeoIP: %s/geoip.csv; intel: %s/intel/\n", o.out.c_str(), o.out.c_str(),
              o.out.c_str());
  for (const auto& l : summary.labels)
    std::printf("  %-36s %-58s %s .. %s\n", l.id.c_str(), l.finding_type.c_str(), FormatRfc3339(l.start_ns).c_str(),
                FormatRfc3339(l.end_ns).c_str());
  return kExitOk;
}

}  // namespace vigil::cli
