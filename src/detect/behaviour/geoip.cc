#include "detect/behaviour/geoip.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "common/glob.h"
#include "common/ip.h"

namespace vigil {

std::optional<Ip128> ParseIp128(std::string_view text) {
  bool v6 = false;
  std::array<uint8_t, 16> b{};
  if (!ParseIp(TrimSpace(text), &v6, &b)) return std::nullopt;
  Ip128 ip;
  if (!v6) {
    ip.lo = (uint64_t{0xffff} << 32) | (uint64_t{b[0]} << 24) | (uint64_t{b[1]} << 16) | (uint64_t{b[2]} << 8) | b[3];
    return ip;
  }
  for (int k = 0; k < 8; ++k) ip.hi = (ip.hi << 8) | b[k];
  for (int k = 8; k < 16; ++k) ip.lo = (ip.lo << 8) | b[k];
  return ip;
}

double HaversineKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = M_PI / 180.0;
  const double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * 6371.0 * std::asin(std::min(1.0, std::sqrt(a)));
}

std::string_view GeoIpTable::Text(uint32_t at) const {
  const uint8_t n = static_cast<uint8_t>(strings_[at]);
  return std::string_view(strings_).substr(at + 1, n);
}

uint32_t GeoIpTable::Intern(std::string_view s) {
  if (s.size() > 255) s = s.substr(0, 255);
  const uint32_t at = static_cast<uint32_t>(strings_.size());
  strings_.push_back(static_cast<char>(s.size()));
  strings_.append(s);
  return at;
}

namespace {

bool ParseCoordinate(std::string_view s, double limit, double* out) {
  s = TrimSpace(s);
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(*out) && std::fabs(*out) <= limit;
}

}  // namespace

Result<std::shared_ptr<const GeoIpTable>> GeoIpTable::Parse(std::string_view csv) {
  auto table = std::shared_ptr<GeoIpTable>(new GeoIpTable());
  std::unordered_map<std::string, uint32_t> interned;
  auto intern = [&](std::string_view s) {
    s = TrimSpace(s);
    auto it = interned.find(std::string(s));
    if (it != interned.end()) return it->second;
    uint32_t at = table->Intern(s);
    interned.emplace(std::string(s), at);
    return at;
  };
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < csv.size()) {
    size_t nl = csv.find('\n', pos);
    if (nl == std::string_view::npos) nl = csv.size();
    std::string_view line = TrimSpace(csv.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument("GeoIP table line " + std::to_string(line_no) + ": " + why);
    };
    std::vector<std::string_view> cols;
    size_t start = 0;
    while (true) {
      size_t comma = line.find(',', start);
      cols.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (line_no == 1 || table->ranges_.empty()) {
      if (EqualsIgnoreCase(TrimSpace(cols[0]), "start_ip")) continue;  // header
    }
    if (cols.size() != 7)
      return bad("has " + std::to_string(cols.size()) + " columns where start_ip,end_ip,country,asn,city,lat,lon has 7");
    auto first = ParseIp128(cols[0]);
    auto last = ParseIp128(cols[1]);
    if (!first) return bad("start_ip '" + std::string(TrimSpace(cols[0])) + "' is not an IPv4 or IPv6 address");
    if (!last) return bad("end_ip '" + std::string(TrimSpace(cols[1])) + "' is not an IPv4 or IPv6 address");
    if ((cols[0].find(':') == std::string_view::npos) != (cols[1].find(':') == std::string_view::npos))
      return bad("start_ip and end_ip are of different address families");
    if (*last < *first) return bad("end_ip is before start_ip");
    Range r;
    r.start = *first;
    r.end = *last;
    r.country = intern(cols[2]);
    r.asn = intern(cols[3]);
    r.city = intern(cols[4]);
    const bool has_lat = !TrimSpace(cols[5]).empty(), has_lon = !TrimSpace(cols[6]).empty();
    if (has_lat != has_lon) return bad("has only one of lat and lon");
    if (has_lat) {
      double lat, lon;
      if (!ParseCoordinate(cols[5], 90, &lat)) return bad("lat '" + std::string(cols[5]) + "' is not in -90..90");
      if (!ParseCoordinate(cols[6], 180, &lon)) return bad("lon '" + std::string(cols[6]) + "' is not in -180..180");
      r.lat = static_cast<float>(lat);
      r.lon = static_cast<float>(lon);
      r.has_coordinates = true;
    }
    table->ranges_.push_back(r);
  }
  std::sort(table->ranges_.begin(), table->ranges_.end(),
            [](const Range& a, const Range& b) { return a.start < b.start; });
  for (size_t i = 1; i < table->ranges_.size(); ++i) {
    if (table->ranges_[i].start <= table->ranges_[i - 1].end)
      return Status::InvalidArgument("GeoIP table: ranges overlap (two ranges hold the start of one of them)");
  }
  return std::shared_ptr<const GeoIpTable>(std::move(table));
}

// The MaxMind reader is the maintained libmaxminddb: the format is a binary
// search tree over a typed data section, nothing to gain by writing our own.
struct GeoIpTable::MaxMind {
  MMDB_s db{};
  ~MaxMind() { MMDB_close(&db); }
};

GeoIpTable::GeoIpTable() = default;
GeoIpTable::~GeoIpTable() = default;

Result<std::shared_ptr<const GeoIpTable>> GeoIpTable::LoadMaxMind(const std::string& path) {
  auto mm = std::make_unique<MaxMind>();
  const int rc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &mm->db);
  if (rc != MMDB_SUCCESS) {
    // (MMDB_open leaves nothing to close when it fails.)
    mm->db = MMDB_s{};
    std::string why = MMDB_strerror(rc);
    if (rc == MMDB_IO_ERROR) why += std::string(" (") + std::strerror(errno) + ")";
    return Status::InvalidArgument(path + ": not a readable MaxMind DB: " + why);
  }
  auto table = std::shared_ptr<GeoIpTable>(new GeoIpTable());
  table->mmdb_ = std::move(mm);
  return std::shared_ptr<const GeoIpTable>(std::move(table));
}

std::optional<GeoLocation> GeoIpTable::LookupMaxMind(const Ip128& ip) const {
  MMDB_s* db = &mmdb_->db;
  sockaddr_storage ss{};
  const bool v4 = ip.hi == 0 && (ip.lo >> 32) == 0xffff;
  if (v4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(static_cast<uint32_t>(ip.lo));
  } else {
    if (db->metadata.ip_version == 4) return std::nullopt;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    for (int i = 0; i < 8; ++i) {
      sin6->sin6_addr.s6_addr[i] = static_cast<uint8_t>(ip.hi >> (56 - 8 * i));
      sin6->sin6_addr.s6_addr[8 + i] = static_cast<uint8_t>(ip.lo >> (56 - 8 * i));
    }
  }
  int err = MMDB_SUCCESS;
  MMDB_lookup_result_s r = MMDB_lookup_sockaddr(db, reinterpret_cast<const sockaddr*>(&ss), &err);
  if (err != MMDB_SUCCESS || !r.found_entry) return std::nullopt;
  GeoLocation g;
  MMDB_entry_data_s d;
  auto text = [&](std::string_view* out, auto... path) {
    if (MMDB_get_value(&r.entry, &d, path..., nullptr) == MMDB_SUCCESS && d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING)
      *out = std::string_view(d.utf8_string, d.data_size);
  };
  auto number = [&](double* out, const char* key) {
    if (MMDB_get_value(&r.entry, &d, "location", key, nullptr) != MMDB_SUCCESS || !d.has_data) return false;
    if (d.type == MMDB_DATA_TYPE_DOUBLE) *out = d.double_value;
    else if (d.type == MMDB_DATA_TYPE_FLOAT) *out = d.float_value;
    else return false;
    return true;
  };
  text(&g.country, "country", "iso_code");
  if (g.country.empty()) text(&g.country, "registered_country", "iso_code");
  text(&g.city, "city", "names", "en");
  g.has_coordinates = number(&g.lat, "latitude") && number(&g.lon, "longitude");
  if (MMDB_get_value(&r.entry, &d, "autonomous_system_number", nullptr) == MMDB_SUCCESS && d.has_data &&
      d.type == MMDB_DATA_TYPE_UINT32) {
    thread_local std::string asn;
    asn = "AS" + std::to_string(d.uint32);
    g.asn = asn;
  }
  return g;
}

Result<std::shared_ptr<const GeoIpTable>> GeoIpTable::Load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound(path + ": no such GeoIP table");
  if (path.size() > 5 && path.compare(path.size() - 5, 5, ".mmdb") == 0) return LoadMaxMind(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(path + ": cannot open GeoIP table");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError(path + ": read failed");
  std::string text = ss.str();
  if (text.size() > kMaxBytes) return Status::LimitExceeded(path + ": GeoIP table larger than 512 MiB");
  auto t = Parse(text);
  if (!t.ok()) return t.status().WithContext(path);
  return t;
}

std::optional<GeoLocation> GeoIpTable::Lookup(const Ip128& ip) const {
  if (mmdb_) return LookupMaxMind(ip);
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), ip,
                             [](const Ip128& v, const Range& r) { return v < r.start; });
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  if (!(ip <= it->end)) return std::nullopt;
  GeoLocation g;
  g.country = Text(it->country);
  g.asn = Text(it->asn);
  g.city = Text(it->city);
  g.lat = it->lat;
  g.lon = it->lon;
  g.has_coordinates = it->has_coordinates;
  return g;
}

std::optional<GeoLocation> GeoIpTable::Lookup(std::string_view ip_text) const {
  auto ip = ParseIp128(ip_text);
  if (!ip) return std::nullopt;
  return Lookup(*ip);
}

}  // namespace vigil
