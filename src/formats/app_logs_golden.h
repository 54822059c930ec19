// For the application log tests (cloudwatchlogs, syslog, json): the golden
// summary of what a parse produced (parsing through the registry is in
// test_sink.h).
//
// A summary holds, per event, its type, id, time, account, principal and
// resources, then the values the resolver answers at the named paths; then
// dead letters and warnings. Tests compare it with testdata/<name>.golden;
// VIGIL_UPDATE_GOLDEN=1 rewrites the file instead (then read the diff).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "formats/parser.h"
#include "formats/test_sink.h"

namespace vigil::testing {

inline std::string Values(const Event& e, std::string_view path) {
  std::string out;
  if (!e.fields) return out;
  bool found = e.fields->Visit(FieldPath(path), [&](const FieldValue& v) {
    if (!out.empty()) out += ",";
    out += v.kind == ValueKind::kNumber ? "#" + std::string(v.text) : std::string(v.text);
    return true;
  });
  return found ? out : std::string();
}

// Every scalar's text, in visit order (keyword matching's view of a record).
inline std::vector<std::string> Scalars(const FieldResolver& f) {
  std::vector<std::string> out;
  f.VisitAllScalars([&](const FieldValue& v) {
    out.emplace_back(v.text);
    return true;
  });
  return out;
}

inline std::string GoldenSummary(const Collect& c, const std::vector<std::string>& paths) {
  std::string out;
  for (const Event& e : c.events) {
    out += "event " + e.source_type + " " + e.id + " | " +
           (e.time_fallback ? "ingest-time" : FormatRfc3339(e.time_ns)) + " | " + e.account + " | " + e.principal +
           " |";
    for (const std::string& r : e.resources) out += " " + r;
    out += "\n";
    for (const std::string& p : paths) {
      std::string v = Values(e, p);
      if (!v.empty()) out += "  " + p + "=" + v + "\n";
    }
  }
  for (const DeadLetter& d : c.dead) out += "dead " + std::to_string(d.record) + ": " + d.reason + "\n";
  for (const std::string& w : c.warnings) out += "warning " + w + "\n";
  return out;
}

inline std::string TestInput(std::string_view relative) {
  return ReadFile(std::filesystem::path(VIGIL_SOURCE_DIR) / "src/formats/testdata" / relative);
}

}  // namespace vigil::testing
