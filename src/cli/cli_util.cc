#include "cli/cli_util.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "common/time.h"

namespace vigil::cli {

namespace fs = std::filesystem;

int Fatal(const Status& status) {
  std::fprintf(stderr, "vigil: error: %s\n", status.message().c_str());
  return kExitFatal;
}

void Warn(const std::string& message) { std::fprintf(stderr, "vigil: warning: %s\n", message.c_str()); }
void Note(const std::string& message) { std::fprintf(stderr, "vigil: note: %s\n", message.c_str()); }

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label) : label_(std::move(label)), active_(StderrIsTerminal()) {}
Progress::~Progress() { Finish(); }

void Progress::Update(const std::string& text, bool force) {
  if (!active_) return;
  int64_t now = NowNanos();
  if (!force && now - last_ns_ < 100'000'000) return;
  last_ns_ = now;
  std::fprintf(stderr, "\r\033[K%s %s", label_.c_str(), text.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Finish() {
  if (active_ && drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  drawn_ = false;
}

std::vector<std::string> RuleDirectories(const std::vector<std::string>& extra) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("VIGIL_RULES"); env && *env) {
    std::string s(env);
    size_t start = 0;
    while (start <= s.size()) {
      size_t colon = s.find(':', start);
      if (colon == std::string::npos) colon = s.size();
      if (colon > start) dirs.push_back(s.substr(start, colon - start));
      start = colon + 1;
    }
  } else {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      fs::path dir = exe.parent_path();
      if (fs::is_directory(dir / "../share/vigil/rules", ec)) {
        dirs.push_back(fs::weakly_canonical(dir / "../share/vigil/rules").string());
      } else {
        for (fs::path p = dir; !p.empty() && p != p.root_path(); p = p.parent_path()) {
          if (fs::is_directory(p / "rules" / "aws", ec)) {
            dirs.push_back((p / "rules").string());
            break;
          }
        }
      }
    }
  }
  for (const auto& d : extra) dirs.push_back(d);
  return dirs;
}

Status ParseTimeOption(const std::string& flag, const std::string& value, std::optional<int64_t>* out) {
  if (value.empty()) return Status::Ok();
  auto t = ParseTimestamp(value);
  if (!t) return Status::InvalidArgument(flag + " \"" + value + "\" is not an RFC 3339 time (e.g. 2024-07-31T13:00:00Z)");
  *out = *t;
  return Status::Ok();
}

std::string HumanCount(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

}  // namespace vigil::cli
