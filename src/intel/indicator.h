// Threat-intelligence indicators as vigil reads them from feeds (STIX 2.1,
// MISP, CSV, plain lists; feed.h) and matches them (index.h).
//
// Only network indicators are kept: IPv4 and IPv6 addresses and CIDR ranges,
// and domain names (matched by suffix: `evil.com` covers `a.b.evil.com`).
// Everything here is plain data that owns its strings.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil::intel {

enum class IndicatorKind : uint8_t { kIpv4, kIpv6, kDomain };

// What the indicator is known for; picks the GuardDuty-style finding type of
// a hit (docs/threat-intel.md). kListed: on a threat list, nothing more said.
enum class ThreatCategory : uint8_t { kListed, kCommandAndControl, kBlackhole, kDropPoint, kPhishing, kCryptoMining };

std::string_view ThreatCategoryName(ThreatCategory c);  // "listed", "c2", "blackhole", ...
std::optional<ThreatCategory> ParseThreatCategory(std::string_view name);
// The category words in labels, tags or a description imply ("c2", "command
// and control", "blackhole", "phishing", "mining", ...), or nullopt.
std::optional<ThreatCategory> CategoryFromText(std::string_view text);

// An indicator value in canonical form.
struct IndicatorValue {
  IndicatorKind kind = IndicatorKind::kIpv4;
  // IPs: the address in network byte order (4 or 16 bytes used), host bits
  // cleared; prefix 32/128 for a single address. Domains: unused.
  std::array<uint8_t, 16> addr{};
  uint8_t prefix = 0;
  // Canonical text: "203.0.113.7", "198.51.100.0/24", "2001:db8::/32",
  // "evil.example" (lower case, no trailing dot).
  std::string text;
};

// Reads an IP address ("203.0.113.7", "2001:db8::1", "::ffff:203.0.113.7" is
// IPv4) or a CIDR range ("198.51.100.0/24"; host bits set are an error).
// nullopt when `s` is neither.
std::optional<IndicatorValue> ParseIpOrCidr(std::string_view s);
// Reads a domain name: letters, digits, '-', '_' in dot-separated labels of
// 1-63 characters, 253 at most, a trailing dot and a leading "*." allowed;
// lower-cased. A name of digits and dots only is not a domain.
std::optional<IndicatorValue> ParseDomain(std::string_view s);
// IP, CIDR or domain; InvalidArgument naming what `s` is not.
Result<IndicatorValue> ParseIndicatorValue(std::string_view s);

// One indicator read from a feed, before it is indexed.
struct FeedEntry {
  IndicatorValue value;
  uint32_t line = 0;              // 1-based line of the feed file it came from
  std::string ref;                // the feed's own id (STIX id, MISP uuid), if any
  std::string description;
  std::vector<std::string> labels;
  int confidence = -1;            // 0-100; -1 unknown
  int64_t valid_from_ns = 0;      // 0: no lower bound
  int64_t valid_until_ns = 0;     // 0: no upper bound (exclusive)
  std::optional<ThreatCategory> category;  // nullopt: the feed's default
};

enum class FeedFormat : uint8_t { kAuto, kStix, kMisp, kCsv, kList };
std::string_view FeedFormatName(FeedFormat f);
std::optional<FeedFormat> ParseFeedFormat(std::string_view name);

// How to read one feed file (the serve YAML's `intel.feeds[]`, or `--intel`).
struct FeedConfig {
  std::string path;
  std::string name;                 // default: the file name without directories and extension
  FeedFormat format = FeedFormat::kAuto;  // auto: from content (STIX bundle, MISP event), .csv, else list
  ThreatCategory category = ThreatCategory::kListed;  // for entries whose own labels say nothing
  int confidence = -1;              // for entries without their own
  // CSV: columns by header name or 1-based number; empty: guessed from the header.
  std::string value_column, description_column, confidence_column, labels_column, category_column;
  bool csv_header = true;
  char csv_delimiter = ',';
  bool misp_include_non_ids = false;  // MISP: also attributes with to_ids false
};

// A feed file read: its entries and what was left out.
struct ParsedFeed {
  std::string name;
  std::string path;
  FeedFormat format = FeedFormat::kAuto;
  std::vector<FeedEntry> entries;
  // Things the format allows but vigil does not match on (a STIX pattern on
  // a file hash, a MISP url attribute), or that the feed marks as not for
  // detection (MISP to_ids false): counted by reason, never an error.
  std::vector<std::pair<std::string, uint64_t>> skipped;
  void Skip(std::string_view reason);
  uint64_t skipped_total() const;
};

}  // namespace vigil::intel
