// Shared plumbing of the `vigil` subcommands: output discipline (results on
// stdout, diagnostics and progress on stderr), exit codes, rule discovery.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace vigil::cli {

// Exit codes (docs/cli.md): 0 success; 1 ran but found failures; 2 usage or fatal error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailures = 1;
inline constexpr int kExitFatal = 2;

// Prints "vigil: error: <message>" to stderr and returns kExitFatal.
int Fatal(const Status& status);
void Warn(const std::string& message);
void Note(const std::string& message);
bool StderrIsTerminal();

// A one-line progress display on stderr, redrawn at most 10 times a second and
// only when stderr is a terminal. Finish() clears it.
class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  void Update(const std::string& text, bool force = false);
  void Finish();

 private:
  std::string label_;
  bool active_;
  int64_t last_ns_ = 0;
  bool drawn_ = false;
};

// Rule directories: VIGIL_RULES if set (colon-separated), else the `rules/`
// folder found next to the binary (../share/vigil/rules, or walking up from the
// binary's folder), then every --rules DIR given.
std::vector<std::string> RuleDirectories(const std::vector<std::string>& extra);

// Parses an RFC 3339 --from/--to option value; empty string means unset.
Status ParseTimeOption(const std::string& flag, const std::string& value, std::optional<int64_t>* out);

std::string HumanCount(uint64_t n);

}  // namespace vigil::cli
