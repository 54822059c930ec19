#include "server/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/json_writer.h"
#include "common/time.h"

namespace vigil::server {
namespace {

std::atomic<bool> g_json{false};
std::mutex g_mu;

std::string_view LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

// key=value: values with spaces, quotes or '=' are quoted with \" and \\ escaped.
void AppendTextValue(std::string* out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) quote = true;
  if (!quote) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') out->push_back('\\');
    if (c == '\n') {
      out->append("\\n");
      continue;
    }
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

void SetJsonLogs(bool json) { g_json.store(json); }

std::string FormatLogLine(bool json, int64_t time_ns, LogLevel level, std::string_view msg, const LogFields& fields) {
  const std::string ts = FormatRfc3339(time_ns);
  std::string line;
  if (json) {
    line = "{\"ts\":";
    AppendJsonString(&line, ts);
    line += ",\"level\":";
    AppendJsonString(&line, LevelName(level));
    line += ",\"msg\":";
    AppendJsonString(&line, msg);
    for (const auto& [k, v] : fields) {
      line.push_back(',');
      AppendJsonString(&line, k);
      line.push_back(':');
      AppendJsonString(&line, v);
    }
    line.push_back('}');
  } else {
    line = "ts=" + ts + " level=" + std::string(LevelName(level)) + " msg=";
    AppendTextValue(&line, msg);
    for (const auto& [k, v] : fields) {
      line.push_back(' ');
      line.append(k);
      line.push_back('=');
      AppendTextValue(&line, v);
    }
  }
  return line;
}

void Log(LogLevel level, std::string_view msg, const LogFields& fields) {
  std::string line = FormatLogLine(g_json.load(), NowNanos(), level, msg, fields);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace vigil::server
