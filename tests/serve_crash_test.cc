// `vigil serve` under SIGKILL and under overload, through the real binary.
//
// Crash test: one client streams simulated CloudTrail over HTTP (NDJSON, 100
// records a request, in order, resending a request until it is acknowledged,
// as a Firehose or a log shipper does) while the server is SIGKILLed at
// random moments 20 times and restarted. Afterwards every acknowledged event
// must be stored exactly once, and the alerts must be those of one clean
// `vigil ingest` of the same records: the same alerts with the same counts,
// none duplicated or lost.
//
// Overload test: a tiny WAL backlog limit and a burst from several clients:
// some requests get 429 with Retry-After, the server's peak RSS stays
// bounded, and every acknowledged event is stored.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <set>

#include "run_vigil.h"
#include "serve_test_util.h"

namespace vigil::testing {
namespace {

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("vigil_serve_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  fs::path WriteConfig(const std::string& yaml) {
    fs::path p = dir_ / "serve.yaml";
    std::ofstream(p) << yaml;
    return p;
  }

  // Stored events: event id -> how many times stored.
  std::map<std::string, int> StoredEventIds(const fs::path& data) {
    std::map<std::string, int> ids;
    CmdResult r = Vigil("hunt --json --limit 0 --data " + data.string());
    EXPECT_EQ(r.exit_code, 0);
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      size_t id = FindTopLevelKey(line, "eventID", 64);
      if (id == std::string::npos) continue;
      ++ids[line.substr(id + 1, line.find('"', id + 1) - id - 1)];
    }
    return ids;
  }

  // Alerts keyed by id: "rule entity first last count".
  std::map<std::string, std::string> Alerts(const fs::path& data) {
    std::map<std::string, std::string> out;
    CmdResult r = Vigil("alerts --json --data " + data.string());
    EXPECT_EQ(r.exit_code, 0);
    std::istringstream in(r.out);
    std::string line;
    auto field = [](const std::string& l, const char* key) {
      size_t at = FindTopLevelKey(l, key, 64);
      if (at == std::string::npos) return std::string();
      size_t end = SkipJsonValue(l, at, 64);
      return l.substr(at, end - at);
    };
    while (std::getline(in, line)) {
      std::string id = field(line, "id");
      EXPECT_EQ(out.count(id), 0u) << "alert listed twice: " << line;
      out[id] = field(line, "rule_id") + " " + field(line, "entity") + " " + field(line, "first_seen") + " " +
                field(line, "last_seen") + " count=" + field(line, "count");
    }
    return out;
  }

  fs::path dir_;
};

uint64_t TotalCount(const std::map<std::string, std::string>& alerts) {
  uint64_t n = 0;
  for (const auto& [id, a] : alerts) n += std::strtoull(a.c_str() + a.rfind("count=") + 6, nullptr, 10);
  return n;
}

TEST_F(ServeTest, EveryAcknowledgedEventSurvivesTwentySigkillsAndNoAlertIsDuplicated) {
  Workload w = MakeCloudTrailWorkload(dir_ / "generated", 40000, 7);
  ASSERT_GT(w.records.size(), 40000u);
  constexpr size_t kPerRequest = 100;
  // Every tenth request also carries a record that is not JSON, which goes to
  // the dead letters, named by its request.
  constexpr size_t kBadEvery = 10;
  std::vector<std::string> bodies;
  for (size_t i = 0; i < w.records.size(); i += kPerRequest) {
    std::string body;
    for (size_t j = i; j < std::min(w.records.size(), i + kPerRequest); ++j) {
      body += w.records[j] + "\n";
      if (j == i && bodies.size() % kBadEvery == 0)
        body += "{\"deadMarker\":" + std::to_string(bodies.size()) + ",\n";
    }
    bodies.push_back(std::move(body));
  }
  // The reference: one clean `vigil ingest` of the same records in the same order.
  {
    std::ofstream all(dir_ / "all.ndjson");  // the good records (a bad one makes ingest exit 1)
    for (const std::string& r : w.records) all << r << "\n";
  }
  CmdResult ref = Vigil("ingest --json --data " + (dir_ / "ref").string() + " " + (dir_ / "all.ndjson").string());
  ASSERT_EQ(ref.exit_code, 0) << ref.out;
  auto ref_alerts = Alerts(dir_ / "ref");
  ASSERT_GT(ref_alerts.size(), 5u);

  const fs::path data = dir_ / "data";
  const fs::path config = WriteConfig(ServeConfigYaml(data, "pipeline:\n  commit_interval_ms: 100\n"));
  const fs::path log = dir_ / "serve.log";
  const uint32_t seed = static_cast<uint32_t>(std::random_device{}());
  std::mt19937 rng(seed);
  std::set<size_t> acked;
  std::map<size_t, int> cut;  // request -> times a kill cut it (it may have been taken each time)
  size_t next = 0;  // the request being sent; resent until acknowledged
  uint64_t requests = 0, refused = 0, failed = 0;

  // Sends requests in order until `stop` or the server is gone.
  auto stream = [&](int port, std::atomic<bool>* stop) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(std::chrono::seconds(2));
    c.set_read_timeout(std::chrono::seconds(10));
    while (!stop->load() && next < bodies.size()) {
      ++requests;
      auto r = c.Post("/api/v1/ingest", IngestHeaders(), bodies[next], "application/x-ndjson");
      if (!r) {
        ++failed;  // killed mid-request: unknown whether durable; sent again to the next server
        ++cut[next];
        return;
      }
      if (r->status == 200) {
        acked.insert(next++);
      } else {
        ASSERT_TRUE(r->status == 429 || r->status == 503) << r->status << " " << r->body;
        ++refused;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      // Paced so the stream spans all the kills.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };

  constexpr int kKills = 20;
  for (int kill = 0; kill < kKills; ++kill) {
    ServeProcess serve(config.string(), log);
    int port = serve.WaitForPort();
    ASSERT_GT(port, 0) << "serve did not start (round " << kill << "):\n" << ReadText(log);
    std::atomic<bool> stop{false};
    std::thread client([&] { stream(port, &stop); });
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 500)(rng)));
    serve.Signal(SIGKILL);
    EXPECT_EQ(serve.Wait(), -SIGKILL);
    stop = true;
    client.join();
  }
  // A last server takes the rest, then stops gracefully.
  {
    ServeProcess serve(config.string(), log);
    int port = serve.WaitForPort();
    ASSERT_GT(port, 0) << ReadText(log);
    std::atomic<bool> stop{false};
    while (next < bodies.size()) stream(port, &stop);
    serve.Signal(SIGTERM);
    EXPECT_EQ(serve.Wait(), 0) << ReadText(log);
  }

  auto stored = StoredEventIds(data);
  size_t acked_events = 0, missing = 0, duplicated = 0;
  for (size_t b : acked) {
    for (size_t j = b * kPerRequest; j < std::min(w.records.size(), (b + 1) * kPerRequest); ++j) {
      ++acked_events;
      if (!stored.count(w.event_ids[j])) ++missing;
    }
  }
  for (const auto& [id, n] : stored) duplicated += n > 1;
  auto alerts = Alerts(data);
  size_t alert_diffs = 0;
  for (const auto& [id, a] : ref_alerts) {
    auto it = alerts.find(id);
    if (it == alerts.end() || it->second != a) {
      if (++alert_diffs <= 5) ADD_FAILURE() << "alert " << id << ": reference " << a << ", serve "
                                            << (it == alerts.end() ? "(missing)" : it->second);
    }
  }
  for (const auto& [id, a] : alerts)
    if (!ref_alerts.count(id) && ++alert_diffs <= 5) ADD_FAILURE() << "alert only in serve: " << a;

  // Dead letters: each bad record once, or once more for each time its
  // request was cut by a kill (the server may have taken it before dying,
  // and the client sent it again). A replay after a crash adds none.
  std::map<size_t, int> letters;  // request -> dead letters of its bad record
  {
    CmdResult r = Vigil("deadletter list --json --data " + data.string());
    EXPECT_EQ(r.exit_code, 0) << r.out;
    std::istringstream in(r.out);
    std::string line;
    const std::string marker = "deadMarker\\\":";
    while (std::getline(in, line)) {
      size_t at = line.find(marker);
      if (at == std::string::npos) continue;
      ++letters[std::strtoull(line.c_str() + at + marker.size(), nullptr, 10)];
    }
  }
  size_t bad_sent = 0, letters_missing = 0, letters_extra = 0, letters_total = 0;
  for (size_t b = 0; b < bodies.size(); b += kBadEvery) {
    ++bad_sent;
    const int n = letters.count(b) ? letters[b] : 0;
    letters_total += n;
    if (n == 0) ++letters_missing;
    if (n > 1 + (cut.count(b) ? cut[b] : 0)) {
      ++letters_extra;
      ADD_FAILURE() << "request " << b << ": " << n << " dead letters for its one bad record, cut by kills "
                    << (cut.count(b) ? cut[b] : 0) << " times";
    }
  }
  std::printf("crash test: %zu bad records sent, %zu dead letters (%zu missing, %zu beyond resends)\n", bad_sent,
              letters_total, letters_missing, letters_extra);
  EXPECT_EQ(letters_missing, 0u);
  EXPECT_EQ(letters_extra, 0u);

  std::printf("crash test (seed %u): %d SIGKILLs; %llu requests (%llu refused 429/503, %llu cut by a kill), "
              "%zu acknowledged = %zu events; stored %zu events (%zu missing, %zu stored twice); "
              "alerts %zu with %llu matches (reference ingest: %zu with %llu)\n",
              seed, kKills, (unsigned long long)requests, (unsigned long long)refused, (unsigned long long)failed,
              acked.size(), acked_events, stored.size(), missing, duplicated, alerts.size(),
              (unsigned long long)TotalCount(alerts), ref_alerts.size(), (unsigned long long)TotalCount(ref_alerts));
  EXPECT_EQ(acked.size(), bodies.size());
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_EQ(stored.size(), w.records.size());
  EXPECT_EQ(alert_diffs, 0u);
}

TEST_F(ServeTest, OverloadAnswers429WithRetryAfterAndMemoryStaysBounded) {
  Workload w = MakeCloudTrailWorkload(dir_ / "generated", 40000, 11);
  ASSERT_GT(w.records.size(), 40000u);
  const fs::path data = dir_ / "data";
  // A backlog of 2 MiB: a few requests of ~1.2 MB each fill it.
  const fs::path config =
      WriteConfig(ServeConfigYaml(data, "wal:\n  max_backlog_bytes: 2MiB\n  max_pending_bytes: 1MiB\n"
                                        "pipeline:\n  commit_interval_ms: 50\n"));
  ServeProcess serve(config.string(), dir_ / "serve.log");
  int port = serve.WaitForPort();
  ASSERT_GT(port, 0) << ReadText(dir_ / "serve.log");

  constexpr size_t kPerRequest = 1000;
  constexpr int kClients = 6;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> ok{0}, too_many{0}, other{0};
  std::mutex mu;
  std::set<size_t> acked;
  std::string retry_after;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      httplib::Client cl("127.0.0.1", port);
      cl.set_read_timeout(std::chrono::seconds(30));
      // Each client sends its requests once, without waiting on Retry-After: a burst.
      for (size_t b; (b = next.fetch_add(1)) * kPerRequest < w.records.size();) {
        std::string body;
        for (size_t j = b * kPerRequest; j < std::min(w.records.size(), (b + 1) * kPerRequest); ++j)
          body += w.records[j] + "\n";
        auto r = cl.Post("/api/v1/ingest", IngestHeaders(), body, "application/x-ndjson");
        if (r && r->status == 200) {
          ++ok;
          std::lock_guard<std::mutex> lock(mu);
          acked.insert(b);
        } else if (r && r->status == 429) {
          ++too_many;
          std::lock_guard<std::mutex> lock(mu);
          retry_after = r->get_header_value("Retry-After");
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  // Then the refused requests again, one at a time, as Retry-After asks.
  std::vector<size_t> refused_batches;
  for (size_t b = 0; b * kPerRequest < w.records.size(); ++b)
    if (!acked.count(b)) refused_batches.push_back(b);
  httplib::Client retry("127.0.0.1", port);
  size_t retries = 0;
  for (size_t b : refused_batches) {
    std::string body;
    for (size_t j = b * kPerRequest; j < std::min(w.records.size(), (b + 1) * kPerRequest); ++j)
      body += w.records[j] + "\n";
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto r = retry.Post("/api/v1/ingest", IngestHeaders(), body, "application/x-ndjson");
      ASSERT_TRUE(r);
      if (r->status == 200) {
        acked.insert(b);
        break;
      }
      ASSERT_EQ(r->status, 429);
      ++retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  const long peak_kib = serve.PeakRssKiB();
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0);

  auto stored = StoredEventIds(data);
  size_t acked_events = 0, missing = 0;
  for (size_t b : acked)
    for (size_t j = b * kPerRequest; j < std::min(w.records.size(), (b + 1) * kPerRequest); ++j) {
      ++acked_events;
      if (!stored.count(w.event_ids[j])) ++missing;
    }
  std::printf("overload test: burst from %d clients, %llu requests of %zu records: %llu accepted, %llu answered 429 "
              "(Retry-After: %s), %llu other; refused ones resent one at a time (%zu more 429s); %zu acknowledged "
              "events, %zu stored, %zu missing; peak RSS %ld MiB\n",
              kClients, (unsigned long long)(ok + too_many + other), kPerRequest, (unsigned long long)ok.load(),
              (unsigned long long)too_many.load(), retry_after.c_str(), (unsigned long long)other.load(), retries,
              acked_events, stored.size(), missing, peak_kib / 1024);
  EXPECT_GT(too_many.load(), 0u);
  EXPECT_GT(ok.load(), 0u);
  EXPECT_EQ(other.load(), 0u);
  EXPECT_EQ(retry_after, "1");
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(acked_events, w.records.size());
  EXPECT_EQ(stored.size(), w.records.size());
  // Rules, the store writer and 8 request bodies of ~1.2 MB; far below the
  // ~50 MB of the burst.
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer keeps up to 256 MiB of freed memory in its quarantine and
  // adds shadow memory and redzones (measured: 529 MiB): its bound is wider.
  constexpr long kMaxPeakKib = (400 + 512) * 1024;
#else
  constexpr long kMaxPeakKib = 400 * 1024;
#endif
  EXPECT_GT(peak_kib, 0);
  EXPECT_LT(peak_kib, kMaxPeakKib);
}

}  // namespace
}  // namespace vigil::testing
