// The metadata commit of alerts that are already stored, as `vigil serve`
// makes it every second or so under load (bench/README.md, HTTP section):
// ALERTS alerts are stored, half of them with full event-id lists (1,000
// ids), half with 100; then COMMITS commits each add a few events to every
// one of them: 5 events, LATER of them later than any stored (as events in
// time order extend an alert), the rest at times stored ones have (as the
// HTTP benchmark's cycled corpus delivers them). Prints the time per commit
// and per alert updated (CPU time of this process, which does nothing else).
//
// usage: alert_commit_bench [ALERTS] [COMMITS] [LATER]   (defaults 4000, 10, 2)
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "alert/fold.h"
#include "alert/metadata.h"

namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'722'384'000 * kSecond;  // 2024-07-31T00:00:00Z

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string Uuid(std::mt19937_64& rng) {
  char buf[40];
  const uint64_t a = rng(), b = rng();
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>(a >> 16) & 0xffff, static_cast<unsigned>(a) & 0xffff,
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

vigil::AlertHit Hit(int alert, int64_t t, std::string id) {
  vigil::AlertHit h;
  h.rule_id = "rule-" + std::to_string(alert % 50);
  h.title = "Title of " + h.rule_id;
  h.severity = "medium";
  h.tags = {"attack.t1078"};
  h.entity = "arn:aws:iam::111122223333:user/u" + std::to_string(alert / 50);
  h.finding_type = "TTPs/Discovery";
  h.rollup_window_ns = 3600 * kSecond;
  h.event_time_ns = t;
  h.event_id = std::move(id);
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  const int alerts = argc > 1 ? std::atoi(argv[1]) : 4000;
  const int commits = argc > 2 ? std::atoi(argv[2]) : 10;
  const int later = argc > 3 ? std::atoi(argv[3]) : 2;
  const std::string dir = (std::filesystem::temp_directory_path() / "vigil_alert_commit_bench").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto meta = vigil::OpenSqliteMetadata(dir + "/meta.db");
  if (!meta.ok()) {
    std::fprintf(stderr, "%s\n", meta.status().ToString().c_str());
    return 1;
  }
  std::mt19937_64 rng(1);
  // Each event at one of 600 times (a second apart) of its alert's hour.
  auto time_of = [&](int64_t slot) { return kT0 + slot * kSecond; };
  {
    vigil::AlertFold fold;
    for (int a = 0; a < alerts; ++a) {
      const int n = a % 2 == 0 ? 1000 : 100;
      for (int i = 0; i < n; ++i) fold.Add(Hit(a, time_of(static_cast<int64_t>(rng() % 600)), Uuid(rng)));
    }
    vigil::MetadataCommit c;
    c.alerts = &fold;
    if (auto r = (*meta)->Commit(c); !r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
  }
  double total = 0;
  for (int k = 0; k < commits; ++k) {
    vigil::AlertFold fold;
    for (int a = 0; a < alerts; ++a) {
      // 5 events: times stored ones have (slots 0-599), and `later` later ones.
      for (int i = 0; i < 5; ++i) {
        const int64_t slot = i < 5 - later ? static_cast<int64_t>(rng() % 600) : 600 + k * 10 + i;
        fold.Add(Hit(a, time_of(slot), Uuid(rng)));
      }
    }
    vigil::MetadataCommit c;
    c.alerts = &fold;
    const double before = CpuSeconds();
    auto r = (*meta)->Commit(c);
    const double took = CpuSeconds() - before;
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    total += took;
  }
  std::printf("%d alerts stored (half with 1,000 event ids), %d commits of 5 events to each (%d later): "
              "%.3f CPU-s a commit, %.1f CPU-us an alert\n",
              alerts, commits, later, total / commits, total / commits / alerts * 1e6);
  meta->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
