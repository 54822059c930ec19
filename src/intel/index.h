// IntelIndex: the indicators of every loaded feed, indexed for matching.
//
// IPs and CIDR ranges are keyed by (family, prefix length, masked address);
// a lookup tries the prefix lengths the feeds use, longest first, so the most
// specific range wins. Domains are keyed by name; a lookup tries the name,
// then each parent domain ("a.b.evil.com", "b.evil.com", "evil.com", "com"),
// so a feed entry covers its subdomains and nothing that merely ends in the
// same letters (`evil.com` does not cover `notevil.com`). Several indicators
// with one value (from several feeds) are all reported.
//
// An index is immutable once built: share it (std::shared_ptr<const>) and
// match from any number of threads. Reloading builds a new one (IntelStore).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "intel/indicator.h"

namespace vigil::intel {

// One indexed indicator; strings shared by many (feed name, description,
// labels) are kept once in the index and read through it.
struct Indicator {
  std::string value;  // canonical text ("198.51.100.0/24", "evil.example")
  std::string ref;    // the feed's own id, if any
  std::array<uint8_t, 16> addr{};
  IndicatorKind kind = IndicatorKind::kIpv4;
  uint8_t prefix = 0;
  ThreatCategory category = ThreatCategory::kListed;
  int8_t confidence = -1;  // 0-100, -1 unknown
  uint16_t feed = 0;
  uint32_t line = 0;
  uint32_t description = 0;  // into the index's strings
  uint32_t labels = 0;       // into the index's label lists
  int64_t valid_from_ns = 0;
  int64_t valid_until_ns = 0;
  uint32_t next = UINT32_MAX;  // next indicator with the same value
};

struct FeedSummary {
  std::string name;
  std::string path;
  FeedFormat format = FeedFormat::kAuto;
  uint64_t ipv4 = 0, ipv6 = 0, cidr4 = 0, cidr6 = 0, domains = 0;
  std::vector<std::pair<std::string, uint64_t>> skipped;
  uint64_t total() const { return ipv4 + ipv6 + cidr4 + cidr6 + domains; }
};

class IntelIndex {
 public:
  // Builds an index of `feeds` (in order; the feed number is the position).
  static std::shared_ptr<const IntelIndex> Build(const std::vector<const ParsedFeed*>& feeds);

  // Appends to `out` the indicators valid at `time_ns` (0: at any time) that
  // cover `value`, read as an IP address, else (when `domains`) as a domain
  // name; only those of the most specific value that has any. Returns whether
  // any was appended. `value` is text from an event, in any case.
  bool Match(std::string_view value, bool domains, int64_t time_ns, std::vector<uint32_t>* out) const;

  const Indicator& indicator(uint32_t i) const { return indicators_[i]; }
  size_t size() const { return indicators_.size(); }
  std::string_view feed_name(const Indicator& in) const { return feeds_[in.feed].name; }
  std::string_view description(const Indicator& in) const { return strings_[in.description]; }
  const std::vector<std::string>& labels(const Indicator& in) const { return label_lists_[in.labels]; }
  const std::vector<FeedSummary>& feeds() const { return feeds_; }
  // Bytes the index holds (indicators, keys, strings), approximately.
  size_t memory_bytes() const;

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t first = UINT32_MAX;  // empty when UINT32_MAX
  };
  void Insert(uint32_t i);
  uint32_t Find(uint64_t hash, const uint8_t* addr, IndicatorKind kind, uint8_t prefix, std::string_view domain) const;
  bool Collect(uint32_t first, int64_t time_ns, std::vector<uint32_t>* out) const;
  bool MatchIp(const std::array<uint8_t, 16>& addr, IndicatorKind kind, int64_t time_ns,
               std::vector<uint32_t>* out) const;
  bool MatchDomain(std::string_view name, int64_t time_ns, std::vector<uint32_t>* out) const;

  std::vector<Indicator> indicators_;
  std::vector<FeedSummary> feeds_;
  std::vector<std::string> strings_;
  std::vector<std::vector<std::string>> label_lists_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  // One bit per key hash (other bits of the hash than the slot's), 16 bits
  // per indicator: most probes of values no feed lists stop here, in a
  // table small enough for the cache, before the slots.
  std::vector<uint64_t> filter_;
  size_t filter_mask_ = 0;
  // The prefix lengths the feeds use, longest first.
  std::vector<uint8_t> v4_prefixes_;
  std::vector<uint8_t> v6_prefixes_;
  bool has_domains_ = false;
};

}  // namespace vigil::intel
