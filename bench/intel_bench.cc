// The threat-intel detector's cost per event with a 100,000-indicator feed,
// beside a floor and a peer in the same run (bench/README.md):
//
//   floor   reading the same fields of each event and nothing else
//   empty   the detector with no indicators loaded
//   intel   the detector with the 100k feed
//   sigma   the shipped Sigma rules on the same events (the peer: what
//           ingest already spends on detection)
//
// Events are the reference logs in shared/data (VPC flow, Route 53 Resolver,
// ALB, S3 access, CloudTrail), parsed once and processed over and over. The
// feed is generated (seeded): IPv4 addresses and ranges of 7 prefix lengths (/16 to /28),
// IPv6 addresses and ranges, domains; plus a few addresses from the logs so
// that some events match. Also reported: parse and index times, index bytes.
//
// usage: intel_bench [SHARED_DATA_DIR] [RULES_DIR] [ITERATIONS] [FEED_OUT]
// FEED_OUT: also write the generated feed there (for `vigil ingest --intel`).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "detect/sigma/rule_set.h"
#include "detect/sigma/sigma_detector.h"
#include "formats/parser.h"
#include "intel/feed.h"
#include "intel/intel_detector.h"

namespace fs = std::filesystem;
using namespace vigil;

namespace {

struct Keep : ParseSink {
  std::vector<Event>* events;
  void OnEvent(Event&& e) override { events->push_back(std::move(e)); }
  void OnDeadLetter(DeadLetter&&) override {}
  void OnWarning(std::string_view, std::string_view) override {}
};

std::string Read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<Event> LoadEvents(const fs::path& data) {
  std::vector<Event> events;
  Keep sink;
  sink.events = &events;
  std::vector<fs::path> files;
  for (const char* sub : {"vpcflow", "dns", "alb", "s3access", "cloudtrail/stratus-red-team/docs/detonation-logs"})
    for (const auto& e : fs::directory_iterator(data / sub))
      if (e.is_regular_file() && e.path().extension() != ".md" && e.path().filename() != "LICENSE-SUMMARY")
        files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::string text = Read(f);
    const Parser* p = ParserRegistry::Default().Recognize(std::string_view(text).substr(0, 65536));
    if (p) (void)p->Parse(ParseInput{f.string(), text, 0}, sink);
  }
  return events;
}

// 100,000 indicators as a plain list.
std::string MakeFeed() {
  std::mt19937_64 rng(42);
  std::string out;
  auto ip4 = [&] {
    uint32_t a = static_cast<uint32_t>(rng());
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) +
           "." + std::to_string(a & 255);
  };
  for (int i = 0; i < 70000; ++i) out += ip4() + "\n";
  // Lengths as blocklists use them: mostly /24, a few wide ranges.
  static constexpr int kPrefixes[] = {16, 19, 20, 22, 24, 24, 24, 26, 28};
  for (int i = 0; i < 9000; ++i) {
    int p = kPrefixes[i % 9];
    uint32_t a = static_cast<uint32_t>(rng()) & (p == 0 ? 0 : ~uint32_t{0} << (32 - p));
    out += std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) +
           "." + std::to_string(a & 255) + "/" + std::to_string(p) + "\n";
  }
  char buf[64];
  for (int i = 0; i < 5000; ++i) {
    std::snprintf(buf, sizeof buf, "2a0%x:%x:%x::%x\n", static_cast<int>(rng() % 16), static_cast<int>(rng() & 0xffff),
                  static_cast<int>(rng() & 0xffff), static_cast<int>(rng() & 0xffff));
    out += buf;
  }
  for (int i = 0; i < 1000; ++i) {
    std::snprintf(buf, sizeof buf, "2a0%x:%x::/32\n", static_cast<int>(rng() % 16), static_cast<int>(rng() & 0xffff));
    out += buf;
  }
  static constexpr const char* kTlds[] = {"com", "net", "org", "ru", "xyz", "top", "info", "io"};
  for (int i = 0; i < 14990; ++i) {
    std::string label;
    int n = 6 + static_cast<int>(rng() % 10);
    for (int k = 0; k < n; ++k) label += static_cast<char>('a' + rng() % 26);
    out += (i % 3 == 0 ? "cdn." : "") + label + "." + kTlds[rng() % 8] + "\n";
  }
  // Ten that occur in the logs.
  for (const char* v : {"203.0.113.12", "89.160.20.0/24", "81.2.69.143", "67.43.156.20", "192.0.2.3",
                        "18.236.253.47", "86.245.153.234", "pool.ntp.org", "abcd.example.com", "2a02:cf40::/32"})
    out += std::string(v) + "\n";
  return out;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ns per event of `fn` over `events`, `iterations` passes.
template <typename Fn>
double PerEvent(const std::vector<Event>& events, int iterations, Fn fn) {
  auto start = std::chrono::steady_clock::now();
  for (int it = 0; it < iterations; ++it)
    for (const Event& e : events) fn(e);
  return Seconds(start) * 1e9 / (static_cast<double>(events.size()) * iterations);
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path data = argc > 1 ? argv[1] : "../shared/data";
  const fs::path rules = argc > 2 ? argv[2] : "rules";
  const int iterations = argc > 3 ? std::atoi(argv[3]) : 500;

  std::vector<Event> events = LoadEvents(data);
  if (events.empty()) {
    std::fprintf(stderr, "no events under %s\n", data.c_str());
    return 2;
  }
  const std::string feed_text = MakeFeed();
  const fs::path feed_path = fs::temp_directory_path() / "vigil-intel-bench-feed.txt";
  std::ofstream(feed_path) << feed_text;

  intel::FeedConfig config;
  config.path = feed_path.string();
  auto t0 = std::chrono::steady_clock::now();
  auto parsed = intel::ParseFeed(feed_text, config);
  const double parse_s = Seconds(t0);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str());
    return 2;
  }
  t0 = std::chrono::steady_clock::now();
  auto index = intel::IntelIndex::Build({&*parsed});
  const double build_s = Seconds(t0);

  intel::IntelStore empty_store({});
  intel::IntelStore store({config});
  if (!store.Load().ok()) return 2;
  intel::IntelDetector empty(&empty_store), detector(&store);

  // The floor: the detector's fields, read and nothing else.
  std::vector<std::pair<std::string, FieldPath>> fields;
  for (const intel::IntelField& f : intel::IntelFields()) fields.emplace_back(std::string(f.source_type), FieldPath(f.path));
  FieldValueList values;
  uint64_t seen = 0;
  auto floor = [&](const Event& e) {
    for (const auto& [type, path] : fields) {
      if (type != e.source_type) continue;
      values.clear();
      e.fields->Collect(path, &values);
      seen += values.size();
    }
  };

  RuleSet set;
  LintReport report;
  Status rs = set.LoadPath(rules.string(), &report);
  SigmaDetector sigma(set.SharedRules(), set.SharedFilters());

  uint64_t matches = 0;
  auto count = [&](const Event&, const Match&) { ++matches; };
  // Warm up once, then measure each in turn (twice, to see the spread).
  for (const Event& e : events) detector.Process(e, count);
  const uint64_t matched_events_per_pass = matches;
  std::printf("events: %zu (reference logs), %d passes; feed: %zu indicators; %llu matches per pass\n", events.size(),
              iterations, index->size(), static_cast<unsigned long long>(matched_events_per_pass));
  std::printf("feed parse %.3f s, index build %.3f s, index %.1f MiB\n", parse_s, build_s,
              static_cast<double>(index->memory_bytes()) / (1 << 20));
  for (int round = 0; round < 2; ++round) {
    double f = PerEvent(events, iterations, floor);
    double z = PerEvent(events, iterations, [&](const Event& e) { empty.Process(e, count); });
    double d = PerEvent(events, iterations, [&](const Event& e) { detector.Process(e, count); });
    double s = rs.ok() ? PerEvent(events, iterations / 5 + 1, [&](const Event& e) { sigma.Process(e, count); }) : 0;
    std::printf("round %d: floor %.0f ns/event, empty %.0f, intel 100k %.0f, sigma (%zu rules) %.0f\n", round + 1, f, z,
                d, set.rules().size(), s);
  }
  if (argc > 4) fs::copy_file(feed_path, argv[4], fs::copy_options::overwrite_existing);
  fs::remove(feed_path);
  return seen == 0;  // keeps the floor's work observable
}
