// Helpers for the tests that run the real `vigil serve` binary: start it with
// a configuration on a free port, find the port in its log, kill it, and a
// CloudTrail workload as NDJSON request bodies.
#pragma once

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "formats/decompress.h"
#include "formats/json_split.h"
#include "simulate/cloudtrail_generator.h"

namespace vigil::testing {

namespace fs = std::filesystem;

inline std::string ReadText(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A `vigil serve` process. Its stderr (the structured log) goes to log_path.
class ServeProcess {
 public:
  ServeProcess(const std::string& config, const fs::path& log_path) : log_path_(log_path) {
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* err = std::fopen(log_path.c_str(), "a");
      if (err) ::dup2(::fileno(err), 2);
      FILE* out = std::fopen("/dev/null", "w");
      if (out) ::dup2(::fileno(out), 1);
      ::execl(VIGIL_BINARY, VIGIL_BINARY, "serve", "--config", config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    start_offset_ = 0;
    std::error_code ec;
    if (fs::exists(log_path, ec)) start_offset_ = fs::file_size(log_path, ec);
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }

  // The port from this process' "listening" log line; 0 when it did not
  // appear within `timeout` (or the process exited).
  int WaitForPort(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::string log = ReadText(log_path_);
      // Only lines written after this process started (the log is appended to).
      log = log.size() > start_offset_ ? log.substr(start_offset_) : std::string();
      size_t at = log.find("msg=listening");
      if (at != std::string::npos) {
        size_t p = log.find(" port=", at);
        if (p != std::string::npos) return std::atoi(log.c_str() + p + 6);
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exit_status_ = status;
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  }

  void Signal(int sig) { ::kill(pid_, sig); }
  // Waits for exit; returns the exit code (-signal when killed).
  int Wait() {
    if (!exited_) {
      ::waitpid(pid_, &exit_status_, 0);
      exited_ = true;
    }
    return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : -WTERMSIG(exit_status_);
  }
  pid_t pid() const { return pid_; }

  // Peak resident set size (VmHWM) in KiB, from /proc while running.
  long PeakRssKiB() const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
  }

 private:
  fs::path log_path_;
  size_t start_offset_ = 0;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_status_ = 0;
};

struct Workload {
  std::vector<std::string> records;    // one CloudTrail record per entry, compact JSON
  std::vector<std::string> event_ids;  // eventID of each
};

// A simulated CloudTrail day (routine activity plus the labelled attacks), as
// single records in time order within each delivery file.
inline Workload MakeCloudTrailWorkload(const fs::path& dir, size_t routine_events, uint64_t seed) {
  Workload w;
  GeneratorOptions opt;
  opt.seed = seed;
  opt.routine_events = routine_events;
  auto summary = GenerateCloudTrailDay(opt, dir.string());
  if (!summary.ok()) return w;
  for (const std::string& rel : summary->files) {
    if (rel.find("CloudTrail-Digest") != std::string::npos) continue;
    std::string raw = ReadText(dir / rel);
    auto text = MaybeDecompress(raw, rel);
    if (!text.ok()) continue;
    std::string_view t = text->view();
    size_t at = FindTopLevelKey(t, "Records", 64);
    if (at == std::string_view::npos) continue;
    std::vector<JsonSpan> spans;
    (void)SplitJsonArray(t, SkipJsonSpace(t, at), 64, &spans);
    for (const JsonSpan& s : spans) {
      std::string rec(t.substr(s.begin, s.end - s.begin));
      size_t id = FindTopLevelKey(rec, "eventID", 64);
      std::string event_id;
      if (id != std::string_view::npos && rec[id] == '"') event_id = rec.substr(id + 1, rec.find('"', id + 1) - id - 1);
      w.records.push_back(std::move(rec));
      w.event_ids.push_back(std::move(event_id));
    }
  }
  return w;
}

inline std::string ServeConfigYaml(const fs::path& data_dir, const std::string& extra = "") {
  return "data_dir: " + data_dir.string() +
         "\nhttp:\n  port: 0\ningest:\n  tokens: [crash-test-token]\n" + extra;
}

inline httplib::Headers IngestHeaders() { return {{"Authorization", "Bearer crash-test-token"}}; }

}  // namespace vigil::testing
