// GeoIpTable: IP address ranges to country, ASN, city and coordinates, read
// from vigil's own CSV format (docs/rule-authoring.md, "GeoIP tables"):
//
//   # comment lines and blank lines are skipped; an optional header line
//   start_ip,end_ip,country,asn,city,lat,lon
//   81.2.69.0,81.2.69.255,GB,AS20712,London,51.5142,-0.0931
//   2001:db8::,2001:db8::ffff,DE,,Berlin,52.52,13.40
//
// IPv4 and IPv6 ranges share one table (IPv4 as ::ffff:a.b.c.d); ranges are
// inclusive and must not overlap. country, asn, city, lat and lon may be
// empty (a range without coordinates answers country and ASN only).
//
// A path ending in `.mmdb` is a MaxMind DB instead (GeoLite2/GeoIP2 City,
// Country or ASN, read with libmaxminddb, memory-mapped): country is
// country.iso_code, city city.names.en, coordinates location.latitude and
// longitude, asn "AS" + autonomous_system_number.
//
// Thread safety: immutable after Parse/Load; Lookup is safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil {

// An IPv4 or IPv6 address as 128 bits (IPv4 mapped into ::ffff:0:0/96).
struct Ip128 {
  uint64_t hi = 0;
  uint64_t lo = 0;
  bool operator<(const Ip128& o) const { return hi != o.hi ? hi < o.hi : lo < o.lo; }
  bool operator<=(const Ip128& o) const { return !(o < *this); }
  bool operator==(const Ip128& o) const { return hi == o.hi && lo == o.lo; }
};
// Strict, as common/ip.h: no leading zeros in IPv4.
std::optional<Ip128> ParseIp128(std::string_view text);

struct GeoLocation {
  std::string_view country;  // ISO code as written, e.g. "GB"
  std::string_view asn;      // as written, e.g. "AS20712"
  std::string_view city;
  double lat = 0, lon = 0;
  bool has_coordinates = false;
};

class GeoIpTable {
 public:
  static constexpr size_t kMaxBytes = size_t{512} << 20;

  // InvalidArgument naming the line and the problem for a malformed line or
  // overlapping ranges; Load: NotFound when the file does not exist.
  static Result<std::shared_ptr<const GeoIpTable>> Parse(std::string_view csv);
  static Result<std::shared_ptr<const GeoIpTable>> Load(const std::string& path);

  // The range holding `ip`; views into the table, valid while it lives
  // (for a MaxMind DB the ASN text is the calling thread's, valid until its
  // next Lookup).
  std::optional<GeoLocation> Lookup(const Ip128& ip) const;
  std::optional<GeoLocation> Lookup(std::string_view ip_text) const;
  size_t size() const { return ranges_.size(); }
  bool is_maxmind() const { return mmdb_ != nullptr; }

  ~GeoIpTable();
  GeoIpTable();

 private:
  struct MaxMind;
  static Result<std::shared_ptr<const GeoIpTable>> LoadMaxMind(const std::string& path);
  std::optional<GeoLocation> LookupMaxMind(const Ip128& ip) const;
  std::unique_ptr<MaxMind> mmdb_;
  struct Range {
    Ip128 start, end;
    uint32_t country = 0, asn = 0, city = 0;  // offsets into strings_ (length-prefixed)
    float lat = 0, lon = 0;
    bool has_coordinates = false;
  };
  std::string_view Text(uint32_t at) const;
  uint32_t Intern(std::string_view s);
  std::vector<Range> ranges_;  // sorted by start, disjoint
  std::string strings_;
};

// Great-circle distance in kilometres.
double HaversineKm(double lat1, double lon1, double lat2, double lon2);

}  // namespace vigil
