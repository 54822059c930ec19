// HTTP load generator for `vigil serve`'s ingest API: N clients POST NDJSON
// bodies of CloudTrail records (from the simulator, or files given), either as
// fast as the server takes them (sustained events/s) or at a fixed offered
// rate, with per-request latency percentiles. It reports its own CPU time
// (getrusage) so the server's throughput can be read next to the generator's
// cost. With --metrics-url it also waits for the server to store what it
// accepted and reads the event-to-alert latency histogram of that run from
// /metrics.
//
// Every record sent is unique (its eventID is rewritten per send), so the
// server parses, detects and stores each one instead of dropping duplicates.
//
// usage: http_load --url http://127.0.0.1:8514/api/v1/ingest --token T
//                  [--clients 4] [--records 1000] [--seconds 10] [--rate 0]
//                  [--input FILE]... [--events N] [--metrics-url URL] [--json]
#include <CLI/CLI.hpp>
#include <httplib.h>
#include <simdjson.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "common/json_writer.h"
#include "common/metrics.h"
#include "formats/decompress.h"
#include "simulate/cloudtrail_generator.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Records of one file: a CloudTrail {"Records":[...]} object, a JSON array,
// or NDJSON; gzip or not.
bool ReadRecords(const std::string& path, std::vector<std::string>* out, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  if (!f) {
    *error = path + ": cannot read";
    return false;
  }
  auto text = vigil::MaybeDecompress(ss.str(), path);
  if (!text.ok()) {
    *error = text.status().ToString();
    return false;
  }
  std::string_view v = text->view();
  size_t first = v.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return true;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(v.data(), v.size(), false).get(doc) == simdjson::SUCCESS) {
    simdjson::dom::array records;
    if (doc.get_array().get(records) == simdjson::SUCCESS || doc["Records"].get_array().get(records) == simdjson::SUCCESS) {
      for (simdjson::dom::element r : records) out->push_back(simdjson::minify(r));
      return true;
    }
    out->push_back(simdjson::minify(doc));
    return true;
  }
  std::istringstream lines{std::string(v)};
  for (std::string line; std::getline(lines, line);) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) out->push_back(line);
  }
  return true;
}

// A day of simulated CloudTrail with its attacks, about `events` records.
bool SimulatedRecords(size_t events, std::vector<std::string>* out, std::string* error) {
  fs::path dir = fs::temp_directory_path() / ("vigil-http-load-" + std::to_string(::getpid()));
  vigil::GeneratorOptions g;
  g.routine_events = events;
  auto summary = vigil::GenerateCloudTrailDay(g, dir.string());
  if (!summary.ok()) {
    *error = summary.status().ToString();
    return false;
  }
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().string().find("CloudTrail-Digest") == std::string::npos) {
      files.push_back(e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  bool ok = true;
  for (const std::string& f : files) ok = ok && ReadRecords(f, out, error);
  fs::remove_all(dir);
  return ok;
}

// Where each record's eventID value starts (36 characters follow), or npos.
size_t EventIdOffset(const std::string& record) {
  static constexpr std::string_view kKey = "\"eventID\":\"";
  size_t at = record.find(kKey);
  if (at == std::string::npos) return std::string::npos;
  at += kKey.size();
  size_t end = record.find('"', at);
  return end != std::string::npos && end - at == 36 ? at : std::string::npos;
}

// Writes a UUID-shaped id for (run and client, sequence) at `p` (36
// characters). `client` carries a per-run random part, so a second run against
// the same server sends new ids too.
void WriteId(char* p, uint32_t client, uint64_t seq) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012llx", client, static_cast<unsigned>((seq >> 48) & 0xffff),
                static_cast<unsigned>((seq >> 36) & 0xfff), static_cast<unsigned>((seq >> 24) & 0xfff),
                static_cast<unsigned long long>(seq & 0xffffffffffffULL));
  std::memcpy(p, buf, 36);
}

struct ClientStats {
  uint64_t requests = 0, events = 0, refused = 0, errors = 0;
  std::vector<double> latency_ms;
  std::string last_error;
};

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(q * (v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i];
}

struct Url {
  std::string base;  // scheme://host:port
  std::string path;
};
bool SplitUrl(const std::string& url, Url* out) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  size_t slash = url.find('/', scheme + 3);
  out->base = url.substr(0, slash);
  out->path = slash == std::string::npos ? "/" : url.substr(slash);
  return true;
}

std::optional<std::string> Fetch(const std::string& url) {
  Url u;
  if (!SplitUrl(url, &u)) return std::nullopt;
  httplib::Client c(u.base);
  c.set_read_timeout(std::chrono::seconds(10));
  auto r = c.Get(u.path);
  if (!r || r->status != 200) return std::nullopt;
  return r->body;
}

// The sum of a counter's series (every label set) in Prometheus text.
double Counter(const std::string& text, const std::string& name) {
  double sum = 0;
  for (size_t at = text.find("\n" + name); at != std::string::npos; at = text.find("\n" + name, at + 1)) {
    const char next = text[at + 1 + name.size()];
    if (next != ' ' && next != '{') continue;  // another metric whose name starts the same
    const size_t value = text.find(' ', text.find_first_of(" }", at + 1 + name.size()));
    if (value != std::string::npos) sum += std::atof(text.c_str() + value + 1);
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"HTTP load generator for vigil serve's ingest API"};
  std::string url = "http://127.0.0.1:8514/api/v1/ingest", token, metrics_url;
  int clients = 4;
  size_t records_per_request = 1000, events = 200000;
  double seconds = 10, rate = 0;
  std::vector<std::string> inputs;
  bool json = false;
  app.add_option("--url", url, "Ingest endpoint")->capture_default_str();
  app.add_option("--token", token, "Bearer token")->required();
  app.add_option("--clients", clients, "Concurrent clients (connections)")->capture_default_str();
  app.add_option("--records", records_per_request, "Records per request (NDJSON lines)")->capture_default_str();
  app.add_option("--seconds", seconds, "How long to send")->capture_default_str();
  app.add_option("--rate", rate, "Offered events/s over all clients (0: as fast as accepted)")->capture_default_str();
  app.add_option("--input", inputs, "CloudTrail/NDJSON files (.gz allowed) instead of the simulator");
  app.add_option("--events", events, "Simulated routine records to cycle through")->capture_default_str();
  app.add_option("--metrics-url", metrics_url,
                 "The server's /metrics: wait for it to store what was accepted, report event-to-alert latency");
  app.add_flag("--json", json, "Print one JSON object");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> records;
  std::string error;
  bool ok = true;
  for (const std::string& in : inputs) ok = ok && ReadRecords(in, &records, &error);
  if (inputs.empty()) ok = SimulatedRecords(events, &records, &error);
  if (!ok || records.empty()) {
    std::fprintf(stderr, "http_load: %s\n", ok ? "no records to send" : error.c_str());
    return 2;
  }
  Url target;
  if (!SplitUrl(url, &target)) {
    std::fprintf(stderr, "http_load: --url %s: expected scheme://host[:port]/path\n", url.c_str());
    return 2;
  }
  std::vector<size_t> id_at(records.size());
  for (size_t i = 0; i < records.size(); ++i) id_at[i] = EventIdOffset(records[i]);

  std::optional<vigil::HistogramSnapshot> latency_before;
  double stored_before = 0;
  if (!metrics_url.empty()) {
    auto text = Fetch(metrics_url);
    if (!text) {
      std::fprintf(stderr, "http_load: cannot read %s\n", metrics_url.c_str());
      return 2;
    }
    stored_before = Counter(*text, "vigil_events_stored_total");
    auto h = vigil::HistogramFromPrometheusText(*text, vigil::kMetricEventToAlert.name);
    if (h.ok()) latency_before = *h;
  }

  const double cpu_start = CpuSeconds();
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  // Fixed rate: each client sends a request every `interval`; latency counts
  // from when the request was due, so a server that falls behind shows it.
  const double per_client_rate = rate / clients / static_cast<double>(records_per_request);
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(per_client_rate > 0 ? 1.0 / per_client_rate : 0));
  const uint32_t run_id = std::random_device{}() & 0xffffff00u;
  std::vector<ClientStats> stats(clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      ClientStats& s = stats[c];
      httplib::Client http(target.base);
      http.set_keep_alive(true);
      http.set_tcp_nodelay(true);  // as clients such as curl do: no Nagle delay on the request's last segment
      http.set_read_timeout(std::chrono::seconds(60));
      httplib::Headers headers = {{"Authorization", "Bearer " + token}};
      std::string body;
      size_t next = (records.size() / clients) * c;
      uint64_t seq = 0;
      auto due = start + interval * c / clients;  // clients spread over one interval
      while (Clock::now() < stop) {
        if (rate > 0) {
          if (due >= stop) break;
          std::this_thread::sleep_until(due);
        }
        body.clear();
        for (size_t i = 0; i < records_per_request; ++i, next = (next + 1) % records.size()) {
          size_t at = body.size();
          body += records[next];
          body.push_back('\n');
          if (id_at[next] != std::string::npos) WriteId(&body[at + id_at[next]], run_id | static_cast<uint32_t>(c), seq++);
        }
        const auto sent = rate > 0 ? due : Clock::now();
        for (;;) {
          auto r = http.Post(target.path, headers, body, "application/x-ndjson");
          ++s.requests;
          if (r && r->status == 200) {
            s.events += records_per_request;
            break;
          }
          if (r && (r->status == 429 || r->status == 503)) {
            ++s.refused;  // overload: retry the same body shortly
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            if (Clock::now() >= stop) break;
            continue;
          }
          ++s.errors;
          s.last_error = r ? "HTTP " + std::to_string(r->status) + ": " + r->body : httplib::to_string(r.error());
          break;
        }
        s.latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        if (rate > 0) due += interval;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu_start;

  ClientStats total;
  for (ClientStats& s : stats) {
    total.requests += s.requests;
    total.events += s.events;
    total.refused += s.refused;
    total.errors += s.errors;
    if (!s.last_error.empty()) total.last_error = s.last_error;
    total.latency_ms.insert(total.latency_ms.end(), s.latency_ms.begin(), s.latency_ms.end());
  }
  const double p50 = Percentile(total.latency_ms, 0.50), p90 = Percentile(total.latency_ms, 0.90),
               p99 = Percentile(total.latency_ms, 0.99), pmax = Percentile(total.latency_ms, 1.0);

  // The server's side: wait (at most 120 s) until it has stored what it
  // accepted, then read the event-to-alert histogram of this run.
  double stored = 0, alert_p50 = -1, alert_p99 = -1, drain_seconds = 0;
  uint64_t alert_count = 0;
  if (!metrics_url.empty()) {
    const auto drain_start = Clock::now();
    std::string text;
    while (Clock::now() - drain_start < std::chrono::seconds(120)) {
      auto t = Fetch(metrics_url);
      if (t) {
        text = *t;
        stored = Counter(text, "vigil_events_stored_total") - stored_before;
        if (stored >= static_cast<double>(total.events)) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    drain_seconds = std::chrono::duration<double>(Clock::now() - drain_start).count();
    auto h = vigil::HistogramFromPrometheusText(text, vigil::kMetricEventToAlert.name);
    if (h.ok()) {
      vigil::HistogramSnapshot run = *h;
      if (latency_before && latency_before->bounds == run.bounds) {
        for (size_t i = 0; i < run.cumulative.size(); ++i) run.cumulative[i] -= latency_before->cumulative[i];
        run.count -= latency_before->count;
        run.sum -= latency_before->sum;
      }
      alert_count = run.count;
      if (run.count > 0) {
        alert_p50 = run.Quantile(0.5);
        alert_p99 = run.Quantile(0.99);
      }
    }
  }

  if (json) {
    vigil::JsonObject o;
    o.Str("mode", rate > 0 ? "fixed-rate" : "max")
        .Num("offered_events_per_second", rate)
        .Int("clients", clients)
        .UInt("records_per_request", records_per_request)
        .Num("seconds", wall)
        .UInt("requests", total.requests)
        .UInt("events", total.events)
        .Num("events_per_second", total.events / wall)
        .UInt("refused", total.refused)
        .UInt("errors", total.errors)
        .Num("latency_p50_ms", p50)
        .Num("latency_p90_ms", p90)
        .Num("latency_p99_ms", p99)
        .Num("latency_max_ms", pmax)
        .Num("generator_cpu_seconds", cpu)
        .Num("generator_events_per_cpu_second", cpu > 0 ? total.events / cpu : 0);
    if (!metrics_url.empty()) {
      o.Num("server_stored_events", stored)
          .Num("server_drain_seconds", drain_seconds)
          .UInt("event_to_alert_count", alert_count)
          .Num("event_to_alert_p50_seconds", alert_p50)
          .Num("event_to_alert_p99_seconds", alert_p99);
    }
    if (!total.last_error.empty()) o.Str("last_error", total.last_error);
    std::printf("%s\n", o.Done().c_str());
  } else {
    std::printf("%s: %llu events in %.1f s = %.0f events/s (%llu requests, %llu refused, %llu errors)\n",
                rate > 0 ? "fixed rate" : "max", static_cast<unsigned long long>(total.events), wall,
                total.events / wall, static_cast<unsigned long long>(total.requests),
                static_cast<unsigned long long>(total.refused), static_cast<unsigned long long>(total.errors));
    std::printf("request latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", p50, p90, p99, pmax);
    std::printf("generator CPU: %.2f s (%.0f events/CPU-s)\n", cpu, cpu > 0 ? total.events / cpu : 0);
    if (!metrics_url.empty()) {
      std::printf("server stored %.0f events (drained %.1f s after sending); event-to-alert p50 %.3f s, p99 %.3f s "
                  "(%llu alerted events)\n",
                  stored, drain_seconds, alert_p50, alert_p99, static_cast<unsigned long long>(alert_count));
    }
    if (!total.last_error.empty()) std::printf("last error: %s\n", total.last_error.c_str());
  }
  return total.errors > 0 ? 1 : 0;
}
