// For the formats tests: a ParseSink that keeps everything it is given,
// parsing and recognition through the registry, and a whole-file reader.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
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

// The ingest time tests parse at (what time fallbacks fall back to).
inline constexpr int64_t kTestIngest = 42 * kNanosPerSecond;

inline std::string_view RecognisedAs(std::string_view text) {
  const Parser* p = ParserRegistry::Default().Recognize(text.substr(0, 65536));
  return p ? p->name() : "(none)";
}

inline Collect ParseAs(std::string_view parser, std::string_view text, int64_t ingest_time_ns = kTestIngest) {
  Collect c;
  const Parser* p = ParserRegistry::Default().Find(parser);
  EXPECT_NE(p, nullptr) << parser;
  if (!p) return c;
  Status st = p->Parse(ParseInput{"input", text, ingest_time_ns}, c);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return c;
}

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Compares `got` with testdata/<name>.golden, or rewrites it.
inline void ExpectGolden(std::string_view name, const std::string& got) {
  const std::filesystem::path golden =
      std::filesystem::path(VIGIL_SOURCE_DIR) / "src/formats/testdata" / (std::string(name) + ".golden");
  if (std::getenv("VIGIL_UPDATE_GOLDEN")) {
    std::ofstream(golden, std::ios::binary) << got;
    GTEST_SKIP() << "rewrote " << golden;
  }
  EXPECT_EQ(got, ReadFile(golden)) << "run with VIGIL_UPDATE_GOLDEN=1 to rewrite " << golden;
}

}  // namespace vigil::testing
