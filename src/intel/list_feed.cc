// Plain lists: one IP address, CIDR range or domain per line.
//
//   # comment line
//   203.0.113.7
//   198.51.100.0/24 ; SBL123456     (Spamhaus DROP style: the rest is the description)
//   evil.example    # C2 for X      (a trailing comment is the description)
//   0.0.0.0 bad.example             (hosts-file style blocklists: the name is the indicator)
#include <cctype>

#include "intel/feed.h"
#include "intel/internal/feed_util.h"

namespace vigil::intel {

Result<ParsedFeed> ParseListFeed(std::string_view text, const FeedConfig& config) {
  ParsedFeed feed;
  feed.format = FeedFormat::kList;
  internal::LineReader lines(text);
  std::string_view line;
  while (lines.Next(&line)) {
    std::string_view comment;
    size_t cut = line.find_first_of("#;");
    if (cut != std::string_view::npos) {
      comment = internal::Trim(line.substr(cut + 1));
      line = line.substr(0, cut);
    }
    line = internal::Trim(line);
    if (line.empty()) continue;
    std::string_view value = line;
    if (size_t sp = line.find_first_of(" \t"); sp != std::string_view::npos) {
      std::string_view first = line.substr(0, sp), rest = internal::Trim(line.substr(sp + 1));
      if ((first == "0.0.0.0" || first == "127.0.0.1" || first == "::" || first == "::1") &&
          rest.find_first_of(" \t") == std::string_view::npos) {
        value = rest;
      } else {
        return internal::LineError(config.path, lines.line(),
                                   "expected one IP address, CIDR range or domain per line, got '" +
                                       std::string(line.substr(0, 80)) + "'");
      }
    }
    auto v = ParseIndicatorValue(value);
    if (!v.ok()) return internal::LineError(config.path, lines.line(), v.status().message());
    FeedEntry e;
    e.value = std::move(v).value();
    e.line = lines.line();
    e.description = std::string(comment);
    if (!comment.empty()) e.category = CategoryFromText(comment);
    feed.entries.push_back(std::move(e));
  }
  return feed;
}

}  // namespace vigil::intel
