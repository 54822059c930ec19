// A minimal streaming JSON writer for vigil's machine output (--json) and the
// files it writes. Strings are escaped per RFC 8259; invalid UTF-8 bytes are
// replaced with U+FFFD so the output always parses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

void AppendJsonString(std::string* out, std::string_view s);
std::string JsonString(std::string_view s);

// Builds one JSON object: JsonObject().Str("a","x").Int("n",3).Done()
class JsonObject {
 public:
  JsonObject& Str(std::string_view key, std::string_view value);
  JsonObject& Int(std::string_view key, int64_t value);
  JsonObject& UInt(std::string_view key, uint64_t value);
  JsonObject& Num(std::string_view key, double value);
  JsonObject& Bool(std::string_view key, bool value);
  JsonObject& Null(std::string_view key);
  JsonObject& StrList(std::string_view key, const std::vector<std::string>& values);
  // `json` must already be valid JSON.
  JsonObject& Raw(std::string_view key, std::string_view json);
  std::string Done();

 private:
  void Key(std::string_view key);
  std::string out_ = "{";
  bool first_ = true;
};

}  // namespace vigil
