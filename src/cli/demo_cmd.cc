// `vigil demo`: a live organisation under attack, streamed into a real
// `vigil serve`. The simulator (src/simulate) plays days of routine history
// as fast as the server takes them, so that behavioural baselines have
// something to compare with, then a live day in accelerated time with every
// attack scenario in it. The server runs as a child process on a free
// loopback port with a generated token, the simulation's GeoIP table and
// threat-intel lists, and every shipped rule pack; the demo reads the alerts
// it commits from its metadata database as they appear and prints them, then
// a summary of what was detected (docs/cli.md#vigil-demo).
//
// Threads: the main thread owns the terminal, the server process and the
// alert polling; one streaming thread runs the simulator and posts its
// records. They share the atomics and the mutex-guarded labels in LiveState.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "alert/explain.h"
#include "alert/metadata.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/sim_stream.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "simulate/eval.h"
#include "simulate/label_match.h"
#include "simulate/org_simulator.h"

namespace vigil::cli {

std::string AlertJson(const Alert& a);          // alerts_cmd.cc
sim::EvalAlert ToEvalAlert(const Alert& a);     // eval_cmd.cc

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kDayNs = 86400LL * kNanosPerSecond;

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string ReadText(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Status WriteText(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) return Status::IoError("cannot write " + p.string());
  return Status::Ok();
}

// HH:MM of an event time, with the date when `with_date`.
std::string Clock24(int64_t t, bool with_date) {
  const std::string s = FormatRfc3339(t);  // 2025-03-10T14:32:05Z
  return with_date ? s.substr(0, 10) + " " + s.substr(11, 5) : s.substr(11, 8);
}

std::string RandomToken() {
  std::random_device rd;
  std::string t;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) t += kHex[rd() % 16];
  return t;
}

// A counter or gauge from Prometheus text; 0 when absent.
double Metric(const std::string& text, const std::string& series) {
  for (size_t at = text.find(series + " "); at != std::string::npos; at = text.find(series + " ", at + 1)) {
    if (at == 0 || text[at - 1] == '\n') return std::strtod(text.c_str() + at + series.size() + 1, nullptr);
  }
  return 0;
}

// The demo's working directory: --data (wiped first when it is an earlier
// demo's) or a temporary one, removed at exit.
class DemoDir {
 public:
  static Result<DemoDir> Make(const std::string& given) {
    DemoDir d;
    std::error_code ec;
    if (given.empty()) {
      std::string tmpl = (fs::temp_directory_path(ec) / "vigil-demo-XXXXXX").string();
      if (!::mkdtemp(tmpl.data())) return Status::IoError("cannot create a temporary directory: " + tmpl);
      d.root_ = tmpl;
      d.keep_ = false;
    } else {
      d.root_ = given;
      d.keep_ = true;
      // The demo owns its directory: refuse to wipe something that is not ours.
      if (fs::exists(d.root_, ec) && !fs::is_empty(d.root_, ec) && !fs::exists(d.root_ / ".vigil-demo", ec))
        return Status::FailedPrecondition(given + " exists and is not a vigil demo directory; choose another --data");
      fs::remove_all(d.root_, ec);
      if (ec) return Status::IoError("cannot wipe " + given + ": " + ec.message());
      fs::create_directories(d.root_, ec);
      if (ec) return Status::IoError("cannot create " + given + ": " + ec.message());
    }
    VIGIL_RETURN_IF_ERROR(WriteText(d.root_ / ".vigil-demo", ""));
    return d;
  }
  DemoDir(DemoDir&& o) noexcept : root_(std::move(o.root_)), keep_(o.keep_) { o.root_.clear(); }
  ~DemoDir() {
    std::error_code ec;
    if (!keep_ && !root_.empty()) fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }
  bool keep() const { return keep_; }

 private:
  DemoDir() = default;
  fs::path root_;
  bool keep_ = false;
};

// Every rule directory vigil would load, copied under `dest` with the
// simulation's GeoIP table where the shipped GeoIP rules look for it.
Result<std::vector<std::string>> CopyRules(const fs::path& dest, const std::string& geoip_csv) {
  std::vector<std::string> dirs;
  int n = 0;
  for (const std::string& src : RuleDirectories({})) {
    const fs::path to = dest / std::to_string(n++);
    std::error_code ec;
    fs::create_directories(to, ec);
    fs::copy(src, to, fs::copy_options::recursive, ec);
    if (ec) return Status::IoError("cannot copy the rules in " + src + ": " + ec.message());
    if (fs::is_directory(to / "aws" / "behaviour", ec))
      VIGIL_RETURN_IF_ERROR(WriteText(to / "aws" / "behaviour" / "geoip.csv", geoip_csv));
    dirs.push_back(to.string());
  }
  if (dirs.empty()) return Status::NotFound("no rule directory found (set VIGIL_RULES to the rules/ folder)");
  return dirs;
}

// The `vigil serve` child: its own process group (a terminal's Ctrl-C
// reaches the demo, which stops the server in order), terminated if the demo
// dies, its log in a file.
class ServeChild {
 public:
  ~ServeChild() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  Status Start(const fs::path& config, const fs::path& log) {
    log_ = log;
    std::error_code ec;
    std::string exe = fs::read_symlink("/proc/self/exe", ec).string();
    if (ec || exe.empty()) return Status::IoError("cannot find the vigil binary (/proc/self/exe)");
    const std::string config_s = config.string(), log_s = log.string();
    const int err_fd = ::open(log_s.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (err_fd < 0) return Status::IoError("cannot create " + log_s);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(err_fd);
      return Status::IoError("cannot start vigil serve: fork failed");
    }
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::dup2(err_fd, 2);
      const int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        ::dup2(null_fd, 0);
        ::dup2(null_fd, 1);
      }
      ::execl(exe.c_str(), exe.c_str(), "serve", "--config", config_s.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(err_fd);
    return Status::Ok();
  }

  // The port from the server's "listening" line.
  Result<int> WaitForPort(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const std::string log = ReadText(log_);
      const size_t at = log.find("msg=listening");
      if (at != std::string::npos) {
        const size_t p = log.find(" port=", at);
        if (p != std::string::npos) return std::atoi(log.c_str() + p + 6);
      }
      if (Exited()) return Status::IoError("vigil serve stopped at start-up:\n" + Tail());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Status::IoError("vigil serve did not start listening within " + std::to_string(timeout.count()) +
                           " s:\n" + Tail());
  }

  // SIGTERM, then waits (SIGKILL after `timeout`). Returns the exit code.
  int Stop(std::chrono::seconds timeout) {
    if (pid_ <= 0 || exited_) return exit_code_;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + timeout;
    while (!Exited()) {
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        exited_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    exit_code_ = WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
    return exit_code_;
  }

  bool Exited() {
    if (exited_) return true;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
    return exited_;
  }

  // The last lines of the server's log, for error messages.
  std::string Tail() const {
    const std::string log = ReadText(log_);
    size_t at = log.size();
    for (int lines = 0; lines <= 8 && at > 0; ++lines) {
      const size_t nl = log.rfind('\n', at - 1);
      if (nl == std::string::npos) return log;
      at = nl;
    }
    return log.substr(at + 1);
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  int exit_code_ = -1;
};

// What the streaming thread tells the main thread.
struct LiveState {
  std::atomic<bool> stop{false};       // asked to stop (signal, or error)
  std::atomic<bool> streaming{true};   // false once the stream has ended
  std::atomic<bool> live{false};       // history sent and committed: the live part runs
  std::atomic<int64_t> clock_ns{0};    // the simulated time last sent
  std::atomic<int64_t> live_start_ns{0};
  std::atomic<size_t> sent{0};
  std::atomic<size_t> history_events{0};
  std::atomic<int> day{0};
  std::atomic<double> history_seconds{0};
  std::mutex mu;
  std::vector<sim::AttackLabel> labels;  // of the live days, as each day is generated
  Status result;                         // the stream's outcome (read after join)
};

// An attack stage and what was seen of it.
struct Scenario {
  sim::AttackLabel label;
  bool detected = false;
  // The alert that best names it: one of the expected finding type, else the
  // most severe (a busy benign rule about the same entity may also match).
  std::string rule;
  std::string severity;
  bool expected_finding = false;
  int64_t delay_ns = 0;   // from the attack's first record to the first matching alert's first event

  void Detected(const Alert& a) {
    const int64_t delay = std::max<int64_t>(0, a.first_seen_ns - label.start_ns);
    const bool expected = !a.finding_type.empty() && a.finding_type == label.finding_type;
    const bool better = !detected || expected > expected_finding ||
                        (expected == expected_finding && SeverityRank(a.severity) > SeverityRank(severity));
    delay_ns = detected ? std::min(delay_ns, delay) : delay;
    detected = true;
    if (!better) return;
    rule = a.title;
    severity = a.severity;
    expected_finding = expected;
  }
};

class Display {
 public:
  Display(bool json, bool colour, int min_rank) : json_(json), colour_(colour), min_rank_(min_rank), status_("demo") {}

  void Status(const std::string& text) { status_.Update(text); }
  void Line(const std::string& text) {
    status_.Finish();
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  }
  void Note(const std::string& text) {
    status_.Finish();
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  void Finish() { status_.Finish(); }

  // One alert as it arrives.
  void Alert(const vigil::Alert& a, const LiveState& s, const std::vector<std::string>& detects) {
    if (SeverityRank(a.severity) < min_rank_) return;
    if (json_) {
      Line(JsonObject()
               .Str("type", "alert")
               .Str("sim_time", FormatRfc3339(s.clock_ns.load()))
               .UInt("events_sent", s.sent.load())
               .Bool("streaming", s.streaming.load())
               .StrList("detects", detects)
               .Raw("alert", AlertJson(a))
               .Done());
      return;
    }
    std::string sev = a.severity;
    for (char& c : sev) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    char head[64];
    std::snprintf(head, sizeof head, "%-13s", sev.c_str());
    std::string line = Clock24(a.first_seen_ns, false) + "  " + Paint(head, a.severity) + " " + a.title + "  " +
                       Dim(a.entity);
    const std::string why = ExplainOneLine(a.match, 110);
    if (!why.empty()) line += "\n          " + Dim(why);
    for (const std::string& d : detects) line += "\n          " + Paint("-> detects " + d, "attack");
    Line(line);
  }

 private:
  std::string Paint(const std::string& text, const std::string& kind) const {
    if (!colour_) return text;
    const char* code = kind == "critical" ? "1;37;41" : kind == "high" ? "1;31" : kind == "medium" ? "33"
                     : kind == "low" ? "36" : kind == "attack" ? "1;35" : "2";
    return std::string("\033[") + code + "m" + text + "\033[0m";
  }
  std::string Dim(const std::string& text) const { return colour_ ? "\033[2m" + text + "\033[0m" : text; }

  bool json_;
  bool colour_;
  int min_rank_;
  Progress status_;
};

// Streams the simulation: history days unpaced, then (once the server has
// committed them) the live days at `speed`.
void StreamThread(sim::Simulator* simulator, const DemoOptions& o, const std::string& url, const std::string& token,
                  LiveState* s) {
  SimStreamer streamer(url, token);
  httplib::Client metrics(url);
  metrics.set_connection_timeout(5);
  const auto started = Clock::now();
  size_t labels_taken = 0;
  Status st = simulator->Run([&](int day, std::vector<sim::SimRecord>& records) -> Status {
    if (s->stop.load()) return Status::Unavailable("stopped");
    const bool live = day >= o.history_days;
    s->day = day;
    if (live && !s->live.load()) {
      // Wait until the server has committed the history, so the live day is
      // judged against it and its alerts show up in time.
      const auto deadline = Clock::now() + std::chrono::minutes(5);
      while (!s->stop.load() && Clock::now() < deadline) {
        auto r = metrics.Get("/metrics");
        if (r && r->status == 200 && Metric(r->body, "vigil_wal_lag_bytes") == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      s->history_events = streamer.sent();
      s->history_seconds = SecondsSince(started);
      s->live_start_ns = records.empty() ? s->clock_ns.load() : records.front().time_ns - records.front().time_ns % kDayNs;
      s->live = true;
    }
    if (live) {
      const auto& all = simulator->summary().labels;
      std::lock_guard<std::mutex> lock(s->mu);
      for (; labels_taken < all.size(); ++labels_taken) s->labels.push_back(all[labels_taken]);
    }
    VIGIL_RETURN_IF_ERROR(streamer.Day(records, live ? o.speed : 0, [&](int64_t slice_start, size_t sent) {
      s->clock_ns = slice_start;
      s->sent = sent;
      return !s->stop.load();
    }));
    if (streamer.stopped()) return Status::Unavailable("stopped");
    if (!records.empty()) s->clock_ns = records.back().time_ns;
    return Status::Ok();
  });
  s->sent = streamer.sent();
  if (!st.ok() && !(st.code() == StatusCode::kUnavailable && st.message() == "stopped")) s->result = st;
  s->streaming = false;
}

std::string Plural(size_t n, const char* one, const char* many) {
  return HumanCount(n) + " " + (n == 1 ? one : many);
}

}  // namespace

int RunDemo(const DemoOptions& o) {
  if (o.speed < 0) return Fatal(Status::InvalidArgument("--speed must be positive, or 0 for as fast as possible"));
  if (o.history_days < 0 || o.history_days > 60)
    return Fatal(Status::InvalidArgument("--history-days must be 0 to 60, not " + std::to_string(o.history_days)));
  const int min_rank = SeverityRank(o.min_severity);
  if (min_rank < 0)
    return Fatal(Status::InvalidArgument("--min-severity \"" + o.min_severity +
                                         "\" is not one of informational, low, medium, high, critical"));
  const auto started = Clock::now();

  sim::SimulateOptions so;
  so.seed = o.seed;
  so.principals = o.principals;
  so.events_per_day = o.events;
  so.days = o.follow ? 366 : o.history_days + 1;
  so.learning_days = o.history_days;
  so.attacks_every_day = true;
  if (o.attacks.empty()) {
    for (const auto& info : sim::AttackCatalog()) so.attacks.push_back(info.name);
  } else {
    so.attacks = o.attacks;
  }
  auto made = sim::Simulator::Create(so);
  if (!made.ok()) return Fatal(made.status());
  std::unique_ptr<sim::Simulator> simulator = std::move(made).value();
  auto matcher = sim::LabelMatcher::FromOrgJson(simulator->OrgJson());
  if (!matcher.ok()) return Fatal(matcher.status());

  auto dir_made = DemoDir::Make(o.data_dir);
  if (!dir_made.ok()) return Fatal(dir_made.status());
  DemoDir dir = std::move(dir_made).value();
  const fs::path root = dir.root();
  Status st = sim::WriteSidecars(*simulator, (root / "sim").string());
  if (!st.ok()) return Fatal(st);
  auto rule_dirs = CopyRules(root / "rules", simulator->GeoIpCsv());
  if (!rule_dirs.ok()) return Fatal(rule_dirs.status());

  // The server: loopback, any free port, one generated token, the rules, the
  // simulation's intel lists; commits often so alerts show up promptly.
  const std::string token = RandomToken();
  std::string yaml = "data_dir: " + JsonString((root / "data").string()) + "\n" +
                     "http: {listen: 127.0.0.1, port: 0}\n" + "ingest: {tokens: [" + JsonString(token) + "]}\n" +
                     "pipeline:\n  builtin_rules: false\n  commit_interval_ms: 200\n  rules:\n";
  for (const std::string& d : *rule_dirs) yaml += "    - " + JsonString(d) + "\n";
  yaml += "intel:\n  reload_seconds: 0\n  feeds:\n";
  for (const char* feed : {"threat-ips", "threat-domains"})
    yaml += "    - {name: " + std::string(feed) + ", path: " + JsonString((root / "sim" / "intel" / (std::string(feed) + ".txt")).string()) + "}\n";
  st = WriteText(root / "serve.yaml", yaml);
  if (!st.ok()) return Fatal(st);
  fs::permissions(root / "serve.yaml", fs::perms::owner_read | fs::perms::owner_write);

  // Signals are taken by sigtimedwait on this thread (the streaming thread
  // inherits the mask); the server child unblocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ServeChild serve;
  st = serve.Start(root / "serve.yaml", root / "serve.log");
  if (!st.ok()) return Fatal(st);
  auto port = serve.WaitForPort(std::chrono::seconds(60));
  if (!port.ok()) return Fatal(port.status());
  const std::string url = "http://127.0.0.1:" + std::to_string(*port);
  auto meta = OpenSqliteMetadata((root / "data" / "meta.db").string(), MetadataOptions{.read_only = true});
  if (!meta.ok()) return Fatal(meta.status());

  const bool colour = !o.json && isatty(STDOUT_FILENO) == 1 && !std::getenv("NO_COLOR");
  Display display(o.json, colour, min_rank);
  if (!o.json) {
    display.Note("vigil demo: a simulated AWS organisation (" + std::to_string(o.principals) + " people, 3 accounts) streams into vigil serve at " + url);
    display.Note("  " + std::to_string(rule_dirs->size()) + " rule folder(s) with every shipped pack, the simulation's GeoIP table and threat-intel lists; data in " + root.string());
    if (o.history_days > 0)
      display.Note("  " + (o.history_days == 1 ? std::string("a day") : std::to_string(o.history_days) + " days") +
                   " of routine history first, as fast as serve takes them, so behavioural baselines have something "
                   "to compare with");
  }

  LiveState state;
  std::thread streamer(StreamThread, simulator.get(), std::cref(o), url, token, &state);

  // Alerts are read from the server's metadata database as it commits them.
  std::set<std::string> seen;
  std::vector<Alert> live_alerts;
  std::vector<Scenario> scenarios;
  size_t labels_known = 0;
  size_t seen_while_streaming = 0;
  bool announced_live = false;
  auto poll = [&](bool everything) {
    if (!state.live.load()) return;
    const int64_t live_start = state.live_start_ns.load();
    {
      std::lock_guard<std::mutex> lock(state.mu);
      for (; labels_known < state.labels.size(); ++labels_known) {
        Scenario sc;
        sc.label = state.labels[labels_known];
        scenarios.push_back(std::move(sc));
      }
    }
    AlertQuery q;
    // Alerts change only near the simulated present; a window keeps each
    // poll small however long --follow runs.
    q.from_ns = everything ? live_start : std::max(live_start, state.clock_ns.load() - 6 * 3600 * kNanosPerSecond);
    auto alerts = (*meta)->ListAlerts(q);
    if (!alerts.ok()) {
      Warn("cannot read alerts: " + alerts.status().ToString());
      return;
    }
    std::vector<Alert> fresh;
    for (Alert& a : *alerts)
      if (a.first_seen_ns >= live_start && !seen.count(a.id)) fresh.push_back(std::move(a));
    std::sort(fresh.begin(), fresh.end(), [](const Alert& a, const Alert& b) {
      return std::tie(a.first_seen_ns, a.id) < std::tie(b.first_seen_ns, b.id);
    });
    for (Alert& a : fresh) {
      seen.insert(a.id);
      std::vector<std::string> detects;
      // Only what `vigil eval` counts as a detection (no compliance or
      // informational rules) names an attack.
      if (sim::CountsAsDetection(ToEvalAlert(a))) {
        for (Scenario& sc : scenarios) {
          if (!matcher->Matches(sc.label, a.entity, a.first_seen_ns, a.last_seen_ns)) continue;
          detects.push_back(sc.label.id);
          sc.Detected(a);
        }
      }
      if (state.streaming.load()) ++seen_while_streaming;
      display.Alert(a, state, detects);
      live_alerts.push_back(std::move(a));
    }
  };

  int stop_signal = 0;
  while (state.streaming.load()) {
    timespec wait{0, 250'000'000};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) {
      stop_signal = sig;
      state.stop = true;
    }
    if (serve.Exited()) {
      state.stop = true;
      display.Finish();
      streamer.join();
      return Fatal(Status::IoError("vigil serve stopped unexpectedly:\n" + serve.Tail()));
    }
    if (state.live.load() && !announced_live && !o.json) {
      announced_live = true;
      display.Note("history: " + Plural(state.history_events.load(), "event", "events") + " in " +
                   std::to_string(static_cast<int>(state.history_seconds.load() + 0.5)) + " s; live from " +
                   Clock24(state.live_start_ns.load(), true) + " at " + HumanCount(static_cast<uint64_t>(o.speed)) +
                   "x (a day in " + std::to_string(static_cast<int>(o.speed > 0 ? 86400 / o.speed : 0)) + " s)" +
                   (o.follow ? "; Ctrl-C stops" : ""));
    }
    poll(false);
    size_t detected = 0;
    for (const Scenario& sc : scenarios) detected += sc.detected;
    if (state.live.load()) {
      display.Status(Clock24(state.clock_ns.load(), true) + " | " + Plural(state.sent.load(), "event", "events") +
                     " sent | " + Plural(live_alerts.size(), "alert", "alerts") + " | attacks detected " +
                     std::to_string(detected) + "/" + std::to_string(scenarios.size()) + " so far");
    } else {
      display.Status("history day " + std::to_string(std::min(state.day.load() + 1, o.history_days)) + "/" +
                     std::to_string(o.history_days) +
                     ": " + Plural(state.sent.load(), "event", "events") + " sent");
    }
  }
  streamer.join();
  display.Finish();
  if (!state.result.ok()) {
    serve.Stop(std::chrono::seconds(30));
    return Fatal(state.result);
  }
  if (stop_signal && !o.json) display.Note("stopping (" + std::string(stop_signal == SIGINT ? "SIGINT" : "SIGTERM") + ")");

  // Let the server commit what it was sent, read the last alerts, stop it.
  httplib::Client client(url);
  client.set_connection_timeout(5);
  double stored = 0, dead = 0;
  for (const auto deadline = Clock::now() + std::chrono::seconds(60); Clock::now() < deadline;) {
    auto r = client.Get("/metrics");
    if (r && r->status == 200) {
      stored = Metric(r->body, "vigil_events_stored_total{source=\"http\"}");
      dead = Metric(r->body, "vigil_dropped_records_total{source=\"http\",reason=\"dead_letter\"}");
      if (Metric(r->body, "vigil_wal_lag_bytes") == 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  poll(true);
  const int serve_exit = serve.Stop(std::chrono::seconds(60));
  if (dir.keep()) {
    st = sim::WriteSidecars(*simulator, (root / "sim").string());  // now with the labels
    if (!st.ok()) Warn(st.ToString());
  }
  if (serve_exit != 0) Warn("vigil serve exited with " + std::to_string(serve_exit) + ":\n" + serve.Tail());

  // Attacks count once the stream reached them (--follow stops mid-day).
  const int64_t reached = state.clock_ns.load();
  std::vector<const Scenario*> injected;
  for (const Scenario& sc : scenarios)
    if (sc.label.start_ns <= reached) injected.push_back(&sc);
  size_t detected = 0;
  for (const Scenario* sc : injected) detected += sc->detected;
  std::map<std::string, size_t> by_severity;
  std::map<std::string, size_t> by_rule;
  for (const Alert& a : live_alerts) {
    ++by_severity[a.severity];
    if (SeverityRank(a.severity) >= min_rank) ++by_rule[a.title];
  }
  std::vector<std::pair<std::string, size_t>> rules(by_rule.begin(), by_rule.end());
  std::stable_sort(rules.begin(), rules.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  const size_t live_events = state.sent.load() - state.history_events.load();
  const double seconds = SecondsSince(started);
  const int64_t live_start = state.live_start_ns.load();
  static constexpr const char* kSeverities[] = {"critical", "high", "medium", "low", "informational"};

  if (o.json) {
    JsonObject sev;
    for (const char* s : kSeverities) sev.UInt(s, by_severity[s]);
    JsonObject rule_counts;
    for (const auto& [title, n] : rules) rule_counts.UInt(title, n);
    std::string list = "[";
    for (const Scenario* sc : injected) {
      if (list.size() > 1) list += ",";
      JsonObject j;
      j.Str("id", sc->label.id).Str("scenario", sc->label.scenario).Str("finding_type", sc->label.finding_type)
          .Str("entity", sc->label.entity).Str("start", FormatRfc3339(sc->label.start_ns)).Bool("detected", sc->detected);
      if (sc->detected) j.Str("rule", sc->rule).Str("severity", sc->severity).Num("delay_seconds", sc->delay_ns / 1e9);
      list += j.Done();
    }
    list += "]";
    std::printf("%s\n", JsonObject()
                            .Str("type", "summary")
                            .Int("history_days", o.history_days)
                            .Str("live_from", live_start ? FormatRfc3339(live_start) : "")
                            .Str("live_to", reached ? FormatRfc3339(reached) : "")
                            .Bool("interrupted", stop_signal != 0)
                            .Num("seconds", seconds)
                            .UInt("events_sent", state.sent.load())
                            .UInt("history_events", state.history_events.load())
                            .UInt("live_events", live_events)
                            .UInt("events_stored", static_cast<uint64_t>(stored))
                            .UInt("dead_letters", static_cast<uint64_t>(dead))
                            .UInt("alerts", live_alerts.size())
                            .UInt("alerts_seen_while_streaming", seen_while_streaming)
                            .Raw("alerts_by_severity", sev.Done())
                            .Raw("alerts_by_rule", rule_counts.Done())
                            .UInt("scenarios_injected", injected.size())
                            .UInt("scenarios_detected", detected)
                            .Raw("scenarios", list)
                            .Str("data", dir.keep() ? root.string() : "")
                            .Done()
                            .c_str());
    return kExitOk;
  }

  std::printf("\n== summary: %s to %s simulated in %.0f s%s\n", live_start ? Clock24(live_start, true).c_str() : "-",
              reached ? Clock24(reached, true).c_str() : "-", seconds, stop_signal ? " (interrupted)" : "");
  std::printf("events: %s sent (%s of history, %s live), %s stored, %s unreadable\n",
              HumanCount(state.sent.load()).c_str(), HumanCount(state.history_events.load()).c_str(),
              HumanCount(live_events).c_str(), HumanCount(static_cast<uint64_t>(stored)).c_str(),
              HumanCount(static_cast<uint64_t>(dead)).c_str());
  std::printf("alerts: %zu live (", live_alerts.size());
  bool first = true;
  for (const char* s : kSeverities) {
    if (!by_severity[s]) continue;
    std::printf("%s%zu %s", first ? "" : ", ", by_severity[s], s);
    first = false;
  }
  std::printf(")\n");
  if (!rules.empty()) {
    std::printf("by rule (%s and above):\n", o.min_severity.c_str());
    for (size_t i = 0; i < rules.size() && i < 20; ++i) std::printf("  %5zu  %s\n", rules[i].second, rules[i].first.c_str());
    if (rules.size() > 20) std::printf("  ... and %zu more rules\n", rules.size() - 20);
  }
  // Day after day (--follow) the same scenarios recur: one line each.
  std::map<std::string, std::pair<size_t, size_t>> per_stage;  // label stage -> injected, detected
  for (const Scenario* sc : injected) {
    auto& [n, d] = per_stage[sc->label.id.substr(0, sc->label.id.rfind('-')) + " / " + sc->label.finding_type];
    ++n;
    d += sc->detected;
  }
  const bool recurring = per_stage.size() < injected.size();
  std::printf("attacks: %zu injected, %zu detected %s\n", injected.size(), detected,
              recurring ? "(by scenario stage)" : "(start, first alert after it, the alert that names it best)");
  for (const auto& [stage, counts] : per_stage) {
    if (!recurring) break;
    std::printf("  %4zu/%-4zu detected  %s\n", counts.second, counts.first, stage.c_str());
  }
  for (const Scenario* sc : injected) {
    if (recurring) break;
    const std::string at = Clock24(sc->label.start_ns, false).substr(0, 5);
    if (sc->detected) {
      std::printf("  detected  %s  %-36s +%3.0f min  %s (%s)\n", at.c_str(), sc->label.id.c_str(),
                  static_cast<double>(sc->delay_ns) / 60e9, sc->rule.c_str(), sc->severity.c_str());
    } else {
      std::printf("  missed    %s  %-36s            %s\n", at.c_str(), sc->label.id.c_str(), sc->label.finding_type.c_str());
    }
  }
  if (dir.keep()) {
    std::error_code ec;
    std::string exe = fs::read_symlink("/proc/self/exe", ec).string();
    if (ec || exe.empty()) exe = "vigil";
    const std::string data = (root / "data").string();
    std::printf("explore: %s alerts --data %s\n         %s hunt --data %s 'eventName=StopLogging'\n"
                "labels:  %s\n",
                exe.c_str(), data.c_str(), exe.c_str(), data.c_str(), (root / "sim" / "labels.jsonl").c_str());
  } else {
    std::printf("(the data was in a temporary directory, now removed; --data DIR keeps it for vigil alerts and hunt)\n");
  }
  return kExitOk;
}

}  // namespace vigil::cli
