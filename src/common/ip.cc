#include "common/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace vigil {
namespace {

bool ParseIpv4(std::string_view s, uint8_t out[4]) {
  int part = 0;
  size_t i = 0;
  while (part < 4) {
    size_t start = i;
    unsigned value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    const size_t len = i - start;
    if (len == 0 || value > 255) return false;
    if (len > 1 && s[start] == '0') return false;  // 035: ambiguous (octal?), not an address
    out[part++] = static_cast<uint8_t>(value);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

}  // namespace

bool ParseIp(std::string_view text, bool* v6, std::array<uint8_t, 16>* addr) {
  addr->fill(0);
  if (text.find(':') == std::string_view::npos) {
    *v6 = false;
    return ParseIpv4(text, addr->data());
  }
  char buf[64];
  if (text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  *v6 = true;
  return inet_pton(AF_INET6, buf, addr->data()) == 1;
}

std::optional<IpNetwork> ParseCidr(std::string_view text) {
  IpNetwork net;
  std::string_view ip = text;
  int prefix = -1;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    ip = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return std::nullopt;
    auto r = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (r.ec != std::errc() || r.ptr != p.data() + p.size()) return std::nullopt;
  }
  if (!ParseIp(ip, &net.v6, &net.addr)) return std::nullopt;
  const int max_len = net.v6 ? 128 : 32;
  if (prefix < 0) prefix = max_len;
  if (prefix > max_len) return std::nullopt;
  net.prefix_len = prefix;
  return net;
}

bool NetworkContains(const IpNetwork& net, bool v6, const std::array<uint8_t, 16>& addr) {
  if (v6 != net.v6) return false;
  int bits = net.prefix_len;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((addr[i] & mask) != (net.addr[i] & mask)) return false;
  }
  return true;
}

bool CidrContains(const IpNetwork& net, std::string_view ip_text) {
  bool v6 = false;
  std::array<uint8_t, 16> addr;
  return ParseIp(ip_text, &v6, &addr) && NetworkContains(net, v6, addr);
}

}  // namespace vigil
