#include "intel/indicator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/ip.h"

namespace vigil::intel {
namespace {

struct CategoryName {
  ThreatCategory category;
  std::string_view name;
};
constexpr CategoryName kCategoryNames[] = {
    {ThreatCategory::kListed, "listed"},       {ThreatCategory::kCommandAndControl, "c2"},
    {ThreatCategory::kBlackhole, "blackhole"}, {ThreatCategory::kDropPoint, "droppoint"},
    {ThreatCategory::kPhishing, "phishing"},   {ThreatCategory::kCryptoMining, "cryptomining"},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Clears the bits of `addr` past `prefix`; false when any was set.
bool MaskHostBits(std::array<uint8_t, 16>* addr, int bytes, int prefix) {
  bool clean = true;
  for (int i = 0; i < bytes; ++i) {
    int keep = std::clamp(prefix - i * 8, 0, 8);
    uint8_t mask = keep == 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - keep));
    if ((*addr)[i] & ~mask) clean = false;
    (*addr)[i] &= mask;
  }
  return clean;
}

}  // namespace

std::string_view ThreatCategoryName(ThreatCategory c) {
  for (const auto& n : kCategoryNames)
    if (n.category == c) return n.name;
  return "listed";
}

std::optional<ThreatCategory> ParseThreatCategory(std::string_view name) {
  for (const auto& n : kCategoryNames)
    if (n.name == name) return n.category;
  return std::nullopt;
}

std::optional<ThreatCategory> CategoryFromText(std::string_view text) {
  // Words, lower case, separated by single spaces and padded with one, so
  // that " c2 " finds the word and not the "c2" in "ec2".
  std::string t = " ";
  for (char c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '&') t += c;
    else if (t.back() != ' ') t += ' ';
  }
  if (t.back() != ' ') t += ' ';
  auto has = [&](std::string_view w) { return t.find(w) != std::string::npos; };
  // Words of STIX indicator_types and labels, MISP tags and the categories
  // common blocklists give.
  if (has(" c2 ") || has(" c&c ") || has(" cnc ") || has(" command and control ") || has(" botnet cc ") ||
      has(" c2 server ") || has(" c2server "))
    return ThreatCategory::kCommandAndControl;
  if (has(" blackhole ") || has(" black hole ")) return ThreatCategory::kBlackhole;
  if (has(" drop point ") || has(" droppoint ") || has(" dropzone ") || has(" exfiltration "))
    return ThreatCategory::kDropPoint;
  if (has("phish")) return ThreatCategory::kPhishing;
  if (has("mining") || has("miner") || has("cryptocurrency") || has("bitcoin") || has("monero") || has("cryptojack"))
    return ThreatCategory::kCryptoMining;
  return std::nullopt;
}

std::optional<IndicatorValue> ParseIpOrCidr(std::string_view s) {
  std::optional<IpNetwork> net = ParseCidr(s);
  if (!net) return std::nullopt;
  IndicatorValue v;
  v.addr = net->addr;
  int prefix = net->prefix_len;
  int bytes = net->v6 ? 16 : 4;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (net->v6 && prefix >= 96 && std::memcmp(v.addr.data(), kMapped, 12) == 0) {
    // An IPv4-mapped address (or range of them) is the IPv4 address.
    std::memmove(v.addr.data(), v.addr.data() + 12, 4);
    std::fill(v.addr.begin() + 4, v.addr.end(), 0);
    prefix -= 96;
    bytes = 4;
  }
  v.kind = bytes == 4 ? IndicatorKind::kIpv4 : IndicatorKind::kIpv6;
  v.prefix = static_cast<uint8_t>(prefix);
  if (!MaskHostBits(&v.addr, bytes, v.prefix)) return std::nullopt;
  if (bytes == 4) {
    // inet_ntop formats through snprintf: a feed of 100,000 addresses spent
    // most of its load time there.
    for (int i = 0; i < 4; ++i) {
      if (i) v.text += '.';
      v.text += std::to_string(v.addr[i]);
    }
  } else {
    char out[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, v.addr.data(), out, sizeof out);
    v.text = out;
  }
  if (v.prefix != bytes * 8) v.text += "/" + std::to_string(v.prefix);
  return v;
}

std::optional<IndicatorValue> ParseDomain(std::string_view s) {
  if (s.starts_with("*.")) s.remove_prefix(2);
  if (s.ends_with('.')) s.remove_suffix(1);
  if (s.empty() || s.size() > 253) return std::nullopt;
  bool all_digits = true;
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return std::nullopt;
    if (!std::isdigit(static_cast<unsigned char>(c))) all_digits = false;
    if (++label > 63) return std::nullopt;
  }
  if (label == 0 || all_digits) return std::nullopt;
  IndicatorValue v;
  v.kind = IndicatorKind::kDomain;
  v.text = Lower(s);
  return v;
}

Result<IndicatorValue> ParseIndicatorValue(std::string_view s) {
  if (auto ip = ParseIpOrCidr(s)) return *ip;
  if (auto d = ParseDomain(s)) return *d;
  std::string shown(s.substr(0, 80));
  return Status::InvalidArgument("'" + shown + "' is not an IP address, CIDR range or domain name");
}

std::string_view FeedFormatName(FeedFormat f) {
  switch (f) {
    case FeedFormat::kAuto: return "auto";
    case FeedFormat::kStix: return "stix";
    case FeedFormat::kMisp: return "misp";
    case FeedFormat::kCsv: return "csv";
    case FeedFormat::kList: return "list";
  }
  return "auto";
}

std::optional<FeedFormat> ParseFeedFormat(std::string_view name) {
  for (FeedFormat f : {FeedFormat::kAuto, FeedFormat::kStix, FeedFormat::kMisp, FeedFormat::kCsv, FeedFormat::kList})
    if (FeedFormatName(f) == name) return f;
  return std::nullopt;
}

void ParsedFeed::Skip(std::string_view reason) {
  for (auto& [r, n] : skipped)
    if (r == reason) {
      ++n;
      return;
    }
  skipped.emplace_back(std::string(reason), 1);
}

uint64_t ParsedFeed::skipped_total() const {
  uint64_t n = 0;
  for (const auto& [r, c] : skipped) n += c;
  return n;
}

}  // namespace vigil::intel
