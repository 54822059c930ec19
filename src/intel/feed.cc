#include "intel/feed.h"

#include <fstream>
#include <sstream>

#include "intel/internal/feed_util.h"

namespace vigil::intel {

FeedFormat DetectFeedFormat(std::string_view text, const FeedConfig& config) {
  if (config.format != FeedFormat::kAuto) return config.format;
  std::string_view t = internal::Trim(text);
  if (t.starts_with("\xEF\xBB\xBF")) t.remove_prefix(3);
  if (t.starts_with('{') || t.starts_with('[')) {
    // The first kilobytes say which JSON it is; a STIX bundle names its type
    // near the top, MISP wraps events in "Event".
    std::string_view head = t.substr(0, 4096);
    if (head.find("\"bundle\"") != std::string_view::npos || head.find("\"spec_version\"") != std::string_view::npos ||
        head.find("\"indicator--") != std::string_view::npos)
      return FeedFormat::kStix;
    if (head.find("\"Event\"") != std::string_view::npos || head.find("\"response\"") != std::string_view::npos)
      return FeedFormat::kMisp;
    // Some other JSON: the STIX reader names the problem.
    return FeedFormat::kStix;
  }
  std::string_view path = config.path;
  if (path.size() >= 4) {
    std::string ext(path.substr(path.size() - 4));
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".csv" || ext == ".tsv") return FeedFormat::kCsv;
  }
  return FeedFormat::kList;
}

std::string FeedNameFromPath(std::string_view path) {
  size_t slash = path.find_last_of('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = base.find('.');
  if (dot != std::string_view::npos && dot > 0) base = base.substr(0, dot);
  return std::string(base);
}

Result<ParsedFeed> ParseFeed(std::string_view text, const FeedConfig& config) {
  FeedConfig c = config;
  c.format = DetectFeedFormat(text, config);
  if (c.format == FeedFormat::kCsv && config.format == FeedFormat::kAuto && config.path.ends_with(".tsv"))
    c.csv_delimiter = '\t';
  Result<ParsedFeed> parsed = Status::Internal("no parser");
  switch (c.format) {
    case FeedFormat::kStix: parsed = ParseStixBundle(text, c); break;
    case FeedFormat::kMisp: parsed = ParseMispEvents(text, c); break;
    case FeedFormat::kCsv: parsed = ParseCsvFeed(text, c); break;
    case FeedFormat::kList:
    case FeedFormat::kAuto: parsed = ParseListFeed(text, c); break;
  }
  if (!parsed.ok()) return parsed;
  parsed->name = config.name.empty() ? FeedNameFromPath(config.path) : config.name;
  parsed->path = config.path;
  parsed->format = c.format;
  for (FeedEntry& e : parsed->entries) {
    if (!e.category) e.category = config.category;
    if (e.confidence < 0) e.confidence = config.confidence;
  }
  return parsed;
}

Result<ParsedFeed> LoadFeedFile(const FeedConfig& config) {
  std::ifstream f(config.path, std::ios::binary);
  if (!f) return Status::NotFound(config.path + ": cannot open the feed file");
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return Status::IoError(config.path + ": cannot read the feed file");
  return ParseFeed(ss.str(), config);
}

}  // namespace vigil::intel
