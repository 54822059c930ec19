#include <simdjson.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "alert/metadata.h"
#include "common/hash.h"
#include "common/json_writer.h"
#include "detect/cloudwatch/filter_pattern.h"

namespace vigil::cli {
namespace {

struct NamedPattern {
  std::string name;
  std::string pattern;
};

// Accepts what users have at hand:
//  - `aws logs describe-metric-filters` output: {"metricFilters":[{"filterName","filterPattern",...}]}
//  - a JSON array of strings, or of {"name","pattern"} objects
//  - text: one pattern per line ("name<TAB>pattern" or just the pattern); '#' starts a comment line
Result<std::vector<NamedPattern>> ReadPatterns(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound(path + ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  std::vector<NamedPattern> out;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (auto err = parser.parse(text).get(doc))
      return Status::InvalidArgument(path + ": invalid JSON: " + simdjson::error_message(err));
    simdjson::dom::array items;
    if (doc["metricFilters"].get(items) != simdjson::SUCCESS && doc.get(items) != simdjson::SUCCESS)
      return Status::InvalidArgument(path + ": expected {\"metricFilters\":[...]} or a JSON array");
    size_t i = 0;
    for (simdjson::dom::element item : items) {
      ++i;
      std::string_view s;
      NamedPattern p;
      if (item.get(s) == simdjson::SUCCESS) {
        p.pattern = std::string(s);
      } else {
        std::string_view name, pattern;
        if (item["filterPattern"].get(pattern) != simdjson::SUCCESS && item["pattern"].get(pattern) != simdjson::SUCCESS)
          return Status::InvalidArgument(path + ": item " + std::to_string(i) + " has no filterPattern or pattern");
        if (item["filterName"].get(name) != simdjson::SUCCESS && item["name"].get(name) != simdjson::SUCCESS) name = {};
        p.name = std::string(name);
        p.pattern = std::string(pattern);
      }
      if (p.name.empty()) p.name = "pattern-" + std::to_string(i);
      out.push_back(std::move(p));
    }
    return out;
  }
  std::istringstream lines(text);
  std::string line;
  size_t n = 0;
  while (std::getline(lines, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    NamedPattern p;
    size_t tab = line.find('\t', start);
    if (tab != std::string::npos && line.find('{', start) > tab) {
      p.name = line.substr(start, tab - start);
      p.pattern = line.substr(tab + 1);
    } else {
      p.pattern = line.substr(start);
      p.name = "line-" + std::to_string(n);
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string Slug(std::string_view name) {
  std::string s;
  for (char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) s.push_back(c);
    else if (c >= 'A' && c <= 'Z') s.push_back(static_cast<char>(c + 32));
    else if (!s.empty() && s.back() != '_') s.push_back('_');
  }
  while (!s.empty() && s.back() == '_') s.pop_back();
  return s.empty() ? "pattern" : s;
}

// A stable UUID-shaped id from the pattern's name and text.
std::string StableId(const std::string& name, const std::string& pattern) {
  std::string h = HexHash128("cloudwatch\n" + name + "\n" + pattern);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

std::string YamlQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "''";
    else out.push_back(c);
  }
  return out + "'";
}

}  // namespace

int RunRulesImportCloudWatch(const ImportOptions& o) {
  if (SeverityRank(o.level) < 0)
    return Fatal(Status::InvalidArgument("--level \"" + o.level +
                                         "\" is not one of informational, low, medium, high, critical"));
  auto patterns = ReadPatterns(o.input);
  if (!patterns.ok()) return Fatal(patterns.status());
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) return Fatal(Status::IoError(o.out_dir + ": " + ec.message()));
  size_t imported = 0;
  std::string errors = "[";
  std::vector<std::string> files;
  for (const auto& p : *patterns) {
    auto parsed = FilterPattern::Parse(p.pattern);
    if (!parsed.ok()) {
      Warn(o.input + ": " + p.name + ": " + parsed.status().message());
      if (errors.size() > 1) errors += ",";
      errors += JsonObject().Str("name", p.name).Str("reason", parsed.status().message()).Done();
      continue;
    }
    std::string file = (std::filesystem::path(o.out_dir) / (Slug(p.name) + ".yml")).string();
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << "title: " << YamlQuote("CloudWatch metric filter " + p.name) << "\n"
        << "id: " << StableId(p.name, p.pattern) << "\n"
        << "status: experimental\n"
        << "description: " << YamlQuote("Imported from the CloudWatch Logs metric filter " + p.name) << "\n"
        << "logsource:\n  product: aws\n  service: " << o.service << "\n"
        << "cloudwatch_pattern: " << YamlQuote(p.pattern) << "\n"
        << "level: " << o.level << "\n";
    if (!o.tags.empty()) {
      out << "tags:\n";
      for (const auto& t : o.tags) out << "  - " << t << "\n";
    }
    out << "covers:\n  - " << YamlQuote("cloudwatch:" + p.name) << "\n";
    if (!out) return Fatal(Status::IoError(file + ": write failed"));
    files.push_back(file);
    ++imported;
  }
  errors += "]";
  size_t failed = patterns->size() - imported;
  if (o.json) {
    std::string list = "[";
    for (size_t i = 0; i < files.size(); ++i) list += (i ? "," : "") + JsonString(files[i]);
    list += "]";
    std::printf("%s\n", JsonObject().UInt("imported", imported).Raw("files", list).Raw("errors", errors).Done().c_str());
  } else {
    for (const auto& f : files) std::printf("%s\n", f.c_str());
    std::printf("%zu patterns imported, %zu rejected\n", imported, failed);
  }
  return failed ? kExitFailures : kExitOk;
}

}  // namespace vigil::cli
