// For the formats tests: a ParseSink that keeps everything it is given, and a
// whole-file reader.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "formats/parser.h"

namespace vigil::testing {

struct Collect : ParseSink {
  std::vector<Event> events;
  std::vector<DeadLetter> dead;
  std::vector<std::string> warnings;
  void OnEvent(Event&& e) override { events.push_back(std::move(e)); }
  void OnDeadLetter(DeadLetter&& d) override { dead.push_back(std::move(d)); }
  void OnWarning(std::string_view, std::string_view m) override { warnings.emplace_back(m); }
};

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace vigil::testing
