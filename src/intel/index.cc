#include "intel/index.h"

#include <bitset>
#include <cctype>
#include <cstring>
#include <unordered_map>

#include "common/hash.h"
#include "common/ip.h"

namespace vigil::intel {
namespace {

constexpr uint64_t kDomainSeed = 0x646f6d61696e;  // "domain"

// splitmix64's finaliser: a full-avalanche mix of one 64-bit word, a few
// instructions where hashing the key's bytes costs dozens (an address is
// probed once per prefix length the feeds use).
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t Ip4Hash(uint32_t masked, uint8_t prefix) { return Mix((uint64_t{prefix} << 32) | masked); }

uint64_t Ip6Hash(const uint8_t* addr, uint8_t prefix) {
  uint64_t hi, lo;
  std::memcpy(&hi, addr, 8);
  std::memcpy(&lo, addr + 8, 8);
  return Mix(hi ^ Mix(lo ^ (uint64_t{prefix} << 56) ^ 0x6970763600000000ull));
}

uint32_t Load4(const uint8_t* addr) {
  return (uint32_t{addr[0]} << 24) | (uint32_t{addr[1]} << 16) | (uint32_t{addr[2]} << 8) | addr[3];
}

uint64_t IpHash(const uint8_t* addr, IndicatorKind kind, uint8_t prefix) {
  return kind == IndicatorKind::kIpv4 ? Ip4Hash(Load4(addr), prefix) : Ip6Hash(addr, prefix);
}

// `addr` with the bits past `prefix` cleared, into `out`.
void Mask(const uint8_t* addr, int bytes, int prefix, uint8_t* out) {
  for (int i = 0; i < bytes; ++i) {
    int keep = prefix - i * 8;
    out[i] = keep >= 8 ? addr[i] : keep <= 0 ? 0 : static_cast<uint8_t>(addr[i] & (0xFF << (8 - keep)));
  }
}

// Reads an IP address from event text (common/ip.h: strict, as logs write
// them), quickly rejecting anything else. IPv4-mapped IPv6 is IPv4.
bool ReadIp(std::string_view s, std::array<uint8_t, 16>* addr, IndicatorKind* kind) {
  if (s.size() < 2 || s.size() > 45) return false;
  if (s.find(':') == std::string_view::npos && !std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  bool v6 = false;
  if (!ParseIp(s, &v6, addr)) return false;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (v6 && std::memcmp(addr->data(), kMapped, 12) == 0) {
    std::memmove(addr->data(), addr->data() + 12, 4);
    v6 = false;
  }
  *kind = v6 ? IndicatorKind::kIpv6 : IndicatorKind::kIpv4;
  return true;
}

}  // namespace

std::shared_ptr<const IntelIndex> IntelIndex::Build(const std::vector<const ParsedFeed*>& feeds) {
  auto index = std::shared_ptr<IntelIndex>(new IntelIndex());
  IntelIndex& ix = *index;
  std::unordered_map<std::string, uint32_t> strings;
  std::unordered_map<std::string, uint32_t> label_lists;
  auto intern = [&](const std::string& s) {
    auto [it, inserted] = strings.emplace(s, static_cast<uint32_t>(ix.strings_.size()));
    if (inserted) ix.strings_.push_back(s);
    return it->second;
  };
  auto intern_labels = [&](const std::vector<std::string>& l) {
    std::string key;
    for (const auto& s : l) key += s + '\n';
    auto [it, inserted] = label_lists.emplace(key, static_cast<uint32_t>(ix.label_lists_.size()));
    if (inserted) ix.label_lists_.push_back(l);
    return it->second;
  };
  intern("");
  intern_labels({});
  size_t total = 0;
  for (const ParsedFeed* f : feeds) total += f->entries.size();
  std::bitset<33> v4;
  std::bitset<129> v6;
  ix.indicators_.reserve(total);
  for (size_t fi = 0; fi < feeds.size(); ++fi) {
    const ParsedFeed& f = *feeds[fi];
    FeedSummary sum;
    sum.name = f.name;
    sum.path = f.path;
    sum.format = f.format;
    sum.skipped = f.skipped;
    for (const FeedEntry& e : f.entries) {
      Indicator in;
      in.value = e.value.text;
      in.ref = e.ref;
      in.addr = e.value.addr;
      in.kind = e.value.kind;
      in.prefix = e.value.prefix;
      in.category = e.category.value_or(ThreatCategory::kListed);
      in.confidence = static_cast<int8_t>(e.confidence);
      in.feed = static_cast<uint16_t>(fi);
      in.line = e.line;
      in.description = intern(e.description);
      in.labels = intern_labels(e.labels);
      in.valid_from_ns = e.valid_from_ns;
      in.valid_until_ns = e.valid_until_ns;
      switch (in.kind) {
        case IndicatorKind::kIpv4:
          ++(in.prefix == 32 ? sum.ipv4 : sum.cidr4);
          v4.set(in.prefix);
          break;
        case IndicatorKind::kIpv6:
          ++(in.prefix == 128 ? sum.ipv6 : sum.cidr6);
          v6.set(in.prefix);
          break;
        case IndicatorKind::kDomain:
          ++sum.domains;
          ix.has_domains_ = true;
          break;
      }
      ix.indicators_.push_back(std::move(in));
    }
    ix.feeds_.push_back(std::move(sum));
  }
  for (int p = 32; p >= 0; --p)
    if (v4.test(p)) ix.v4_prefixes_.push_back(static_cast<uint8_t>(p));
  for (int p = 128; p >= 0; --p)
    if (v6.test(p)) ix.v6_prefixes_.push_back(static_cast<uint8_t>(p));
  size_t cap = 16;
  while (cap * 3 < ix.indicators_.size() * 4 + 4) cap *= 2;
  ix.slots_.assign(cap, Slot{});
  ix.mask_ = cap - 1;
  size_t bits = 1024;
  while (bits < ix.indicators_.size() * 16) bits *= 2;
  ix.filter_.assign(bits / 64, 0);
  ix.filter_mask_ = bits - 1;
  // Inserted in reverse so that each value's chain runs in feed order.
  for (size_t i = ix.indicators_.size(); i-- > 0;) ix.Insert(static_cast<uint32_t>(i));
  return index;
}

void IntelIndex::Insert(uint32_t i) {
  Indicator& in = indicators_[i];
  const uint64_t h = in.kind == IndicatorKind::kDomain ? Hash64(in.value, kDomainSeed)
                                                        : IpHash(in.addr.data(), in.kind, in.prefix);
  const size_t bit = (h >> 32) & filter_mask_;
  filter_[bit / 64] |= uint64_t{1} << (bit % 64);
  for (size_t s = h & mask_;; s = (s + 1) & mask_) {
    Slot& slot = slots_[s];
    if (slot.first == UINT32_MAX) {
      slot.hash = h;
      slot.first = i;
      return;
    }
    if (slot.hash != h) continue;
    const Indicator& other = indicators_[slot.first];
    if (other.kind != in.kind || other.prefix != in.prefix || other.value != in.value) continue;
    in.next = slot.first;
    slot.first = i;
    return;
  }
}

uint32_t IntelIndex::Find(uint64_t hash, const uint8_t* addr, IndicatorKind kind, uint8_t prefix,
                          std::string_view domain) const {
  const size_t bit = (hash >> 32) & filter_mask_;
  if (!(filter_[bit / 64] >> (bit % 64) & 1)) return UINT32_MAX;
  for (size_t s = hash & mask_;; s = (s + 1) & mask_) {
    const Slot& slot = slots_[s];
    if (slot.first == UINT32_MAX) return UINT32_MAX;
    if (slot.hash != hash) continue;
    const Indicator& in = indicators_[slot.first];
    if (in.kind != kind) continue;
    if (kind == IndicatorKind::kDomain) {
      if (in.value == domain) return slot.first;
    } else if (in.prefix == prefix && std::memcmp(in.addr.data(), addr, kind == IndicatorKind::kIpv4 ? 4 : 16) == 0) {
      return slot.first;
    }
  }
}

bool IntelIndex::Collect(uint32_t first, int64_t time_ns, std::vector<uint32_t>* out) const {
  bool any = false;
  for (uint32_t i = first; i != UINT32_MAX; i = indicators_[i].next) {
    const Indicator& in = indicators_[i];
    if (time_ns != 0 && ((in.valid_from_ns != 0 && time_ns < in.valid_from_ns) ||
                         (in.valid_until_ns != 0 && time_ns >= in.valid_until_ns)))
      continue;
    out->push_back(i);
    any = true;
  }
  return any;
}

bool IntelIndex::MatchIp(const std::array<uint8_t, 16>& addr, IndicatorKind kind, int64_t time_ns,
                         std::vector<uint32_t>* out) const {
  if (kind == IndicatorKind::kIpv4) {
    const uint32_t a = Load4(addr.data());
    uint8_t bytes[4];
    for (const uint8_t p : v4_prefixes_) {
      const uint32_t masked = p == 0 ? 0 : a & (~uint32_t{0} << (32 - p));
      bytes[0] = static_cast<uint8_t>(masked >> 24);
      bytes[1] = static_cast<uint8_t>(masked >> 16);
      bytes[2] = static_cast<uint8_t>(masked >> 8);
      bytes[3] = static_cast<uint8_t>(masked);
      uint32_t first = Find(Ip4Hash(masked, static_cast<uint8_t>(p)), bytes, kind, static_cast<uint8_t>(p), {});
      if (first != UINT32_MAX && Collect(first, time_ns, out)) return true;
    }
    return false;
  }
  const int bytes = 16;
  uint8_t masked[16];
  for (const uint8_t p : v6_prefixes_) {
    Mask(addr.data(), bytes, p, masked);
    uint32_t first = Find(IpHash(masked, kind, static_cast<uint8_t>(p)), masked, kind, static_cast<uint8_t>(p), {});
    if (first != UINT32_MAX && Collect(first, time_ns, out)) return true;
  }
  return false;
}

bool IntelIndex::MatchDomain(std::string_view name, int64_t time_ns, std::vector<uint32_t>* out) const {
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  char buf[253];
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    // Anything a domain cannot hold means this is no domain name.
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
    buf[i] = c;
  }
  std::string_view lower(buf, name.size());
  while (!lower.empty()) {
    uint32_t first = Find(Hash64(lower, kDomainSeed), nullptr, IndicatorKind::kDomain, 0, lower);
    if (first != UINT32_MAX && Collect(first, time_ns, out)) return true;
    size_t dot = lower.find('.');
    if (dot == std::string_view::npos) break;
    lower.remove_prefix(dot + 1);
  }
  return false;
}

bool IntelIndex::Match(std::string_view value, bool domains, int64_t time_ns, std::vector<uint32_t>* out) const {
  if (indicators_.empty() || value.empty()) return false;
  std::array<uint8_t, 16> addr{};
  IndicatorKind kind;
  if (ReadIp(value, &addr, &kind)) {
    if (kind == IndicatorKind::kIpv4 ? v4_prefixes_.empty() : v6_prefixes_.empty()) return false;
    return MatchIp(addr, kind, time_ns, out);
  }
  if (!domains || !has_domains_) return false;
  return MatchDomain(value, time_ns, out);
}

size_t IntelIndex::memory_bytes() const {
  size_t n = indicators_.capacity() * sizeof(Indicator) + slots_.capacity() * sizeof(Slot) + filter_.capacity() * 8;
  for (const Indicator& in : indicators_) {
    if (in.value.capacity() > 15) n += in.value.capacity();
    if (in.ref.capacity() > 15) n += in.ref.capacity();
  }
  for (const auto& s : strings_) n += sizeof(s) + s.capacity();
  for (const auto& l : label_lists_)
    for (const auto& s : l) n += sizeof(s) + s.capacity();
  return n;
}

}  // namespace vigil::intel
