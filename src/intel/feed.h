// Feed parsers: turn a threat-intelligence file into FeedEntry values.
//
//   STIX 2.1 bundles   indicator objects with STIX patterns on ipv4-addr,
//                      ipv6-addr and domain-name values (stix.cc)
//   MISP event JSON    Attribute and Object attributes: ip-src, ip-dst,
//                      ip-src|port, ip-dst|port, domain, hostname, domain|ip
//                      (misp.cc)
//   CSV                configurable columns (csv_feed.cc)
//   plain lists        one IP, CIDR or domain per line, '#' comments (list_feed.cc)
//
// A feed is read whole or not at all: any malformed part is an error naming
// the file, the line and the problem, and the caller keeps the version it had
// (IntelStore). What a format allows but vigil does not match on is counted in
// ParsedFeed::skipped instead.
//
// Thread safety: the functions are pure; call them from any thread.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "intel/indicator.h"

namespace vigil::intel {

// Each parser reads `text` (the whole file) and names errors after
// `config.path` ("feeds/c2.json:12: ...").
Result<ParsedFeed> ParseStixBundle(std::string_view text, const FeedConfig& config);
Result<ParsedFeed> ParseMispEvents(std::string_view text, const FeedConfig& config);
Result<ParsedFeed> ParseCsvFeed(std::string_view text, const FeedConfig& config);
Result<ParsedFeed> ParseListFeed(std::string_view text, const FeedConfig& config);

// The format of a file when `config.format` is kAuto: a JSON object whose
// "type" is "bundle" is STIX, one with "Event" or "response" (or an array of
// events) is MISP, a name ending in .csv is CSV, anything else a plain list.
FeedFormat DetectFeedFormat(std::string_view text, const FeedConfig& config);

// Parses `text` in the configured (or detected) format; fills in the name.
Result<ParsedFeed> ParseFeed(std::string_view text, const FeedConfig& config);
// Reads config.path and parses it.
Result<ParsedFeed> LoadFeedFile(const FeedConfig& config);

// The default feed name for a path: "feeds/abuse-c2.csv" -> "abuse-c2".
std::string FeedNameFromPath(std::string_view path);

}  // namespace vigil::intel
