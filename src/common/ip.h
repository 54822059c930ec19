// IP addresses and networks as logs write them: strict dotted-quad IPv4 (no
// leading zeros, which some tools read as octal) or IPv6, and CIDR networks.
// Used by Sigma's `|cidr` modifier, the hunting language's CIDR terms and
// its cidrmatch() function.
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vigil {

// An IPv4 or IPv6 network. IPv4 addresses are kept in the first 4 bytes.
struct IpNetwork {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};
  int prefix_len = 0;
};

// Strict textual IP parsing: dotted-quad IPv4 without leading zeros, or IPv6.
bool ParseIp(std::string_view text, bool* v6, std::array<uint8_t, 16>* addr);
// `10.0.0.0/8`, `fe80::/10`, or a bare address (full-length prefix).
std::optional<IpNetwork> ParseCidr(std::string_view text);
bool NetworkContains(const IpNetwork& net, bool v6, const std::array<uint8_t, 16>& addr);
bool CidrContains(const IpNetwork& net, std::string_view ip_text);

}  // namespace vigil
