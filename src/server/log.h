// Structured logs for `vigil serve`: one line per entry on stderr, either
// key=value pairs (text) or one JSON object (json), always with ts, level and
// msg first. Thread safe: lines from different threads never interleave.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::server {

enum class LogLevel { kInfo, kWarn, kError };
using LogFields = std::vector<std::pair<std::string, std::string>>;

void SetJsonLogs(bool json);
void Log(LogLevel level, std::string_view msg, const LogFields& fields = {});

// The line Log would write (without the newline), for tests.
std::string FormatLogLine(bool json, int64_t time_ns, LogLevel level, std::string_view msg, const LogFields& fields);

}  // namespace vigil::server
