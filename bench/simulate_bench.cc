// Generation speed of `vigil simulate` beside the CloudTrail day generator of
// `vigil demo` (the peer), in the same run: records per second of wall and of
// process CPU time, writing gzip files to a temporary directory, and the
// simulator alone in memory (no files).
//
//   simulate_bench [records]   (default 200000)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>

#include "simulate/cloudtrail_generator.h"
#include "simulate/org_simulator.h"

namespace {

struct Timing {
  double wall = 0;
  double cpu = 0;
};

template <typename F>
Timing Time(F&& f) {
  const auto w0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  f();
  Timing t;
  t.cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  return t;
}

void Report(const char* name, size_t records, const Timing& t) {
  std::printf("%-44s %9zu records  %7.2f s wall  %7.2f s cpu  %10.0f rec/s wall  %10.0f rec/s cpu\n", name, records,
              t.wall, t.cpu, static_cast<double>(records) / t.wall, static_cast<double>(records) / t.cpu);
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  const fs::path dir = fs::temp_directory_path() / ("vigil-simulate-bench-" + std::to_string(::getpid()));
  double load[3] = {};
  if (getloadavg(load, 3) > 0) std::printf("load average: %.2f %.2f %.2f\n", load[0], load[1], load[2]);

  vigil::GeneratorOptions peer;
  peer.routine_events = n;
  size_t peer_records = 0;
  Timing tp = Time([&] {
    auto r = vigil::GenerateCloudTrailDay(peer, (dir / "peer").string());
    if (r.ok()) peer_records = r->records;
  });
  Report("cloudtrail day generator (vigil demo), files", peer_records, tp);

  vigil::sim::SimulateOptions o;
  o.events_per_day = n;
  o.principals = 200;
  for (const auto& s : vigil::sim::AttackCatalog()) o.attacks.push_back(s.name);
  size_t sim_records = 0;
  Timing ts = Time([&] {
    auto r = vigil::sim::SimulateToDirectory(o, (dir / "sim").string(), nullptr);
    if (r.ok()) sim_records = r->records;
  });
  Report("vigil simulate, 5 log types, files", sim_records, ts);

  size_t mem_records = 0;
  Timing tm = Time([&] {
    auto sim = vigil::sim::Simulator::Create(o);
    if (!sim.ok()) return;
    (void)(*sim)->Run([&](int, std::vector<vigil::sim::SimRecord>& r) {
      mem_records += r.size();
      return vigil::Status::Ok();
    });
  });
  Report("vigil simulate, in memory (no files)", mem_records, tm);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return peer_records && sim_records && mem_records ? 0 : 1;
}
