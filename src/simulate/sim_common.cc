#include "simulate/sim_common.h"

#include <cstdio>
#include <fstream>

#include "common/time.h"
#include "formats/decompress.h"

namespace vigil::sim {

namespace {
uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) {
    seed += 0x9e3779b97f4a7c15ULL;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    s = z ^ (z >> 31);
  }
}

uint64_t Rng::Next() {
  const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

size_t Rng::Weighted(const int* weights, size_t n) {
  int64_t total = 0;
  for (size_t i = 0; i < n; ++i) total += weights[i];
  int64_t r = static_cast<int64_t>(Below(static_cast<uint64_t>(total)));
  size_t i = 0;
  while (r >= weights[i]) r -= weights[i++];
  return i;
}

std::string Rng::Uuid() {
  uint64_t hi = Next();
  uint64_t lo = Next();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;         // version 4
  lo = (lo & ~(3ULL << 62)) | (2ULL << 62);  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xffff), static_cast<unsigned long long>(hi & 0xffff),
                static_cast<unsigned long long>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string Rng::Chars(size_t n, std::string_view alphabet) {
  std::string s;
  s.reserve(n);
  for (size_t i = 0; i < n; ++i) s.push_back(alphabet[Below(alphabet.size())]);
  return s;
}

void AppendEscaped(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

std::string Q(std::string_view s) {
  std::string out;
  AppendEscaped(out, s);
  return out;
}

std::string Obj(std::initializer_list<Member> members) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : members) {
    if (v.empty()) continue;
    if (!first) out.push_back(',');
    first = false;
    AppendEscaped(out, k);
    out.push_back(':');
    out += v;
  }
  out.push_back('}');
  return out;
}

std::string Arr(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out += items[i];
  }
  out.push_back(']');
  return out;
}

std::string FileStamp(int64_t t) {
  CivilDate c = CivilFromDays(DayNumber(t));
  int64_t secs = (t - DayNumber(t) * kDay) / kSecond;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02dZ", c.year, c.month, c.day, static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60));
  return buf;
}

std::string DatePath(int64_t t) {
  CivilDate c = CivilFromDays(DayNumber(t));
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d/%02d/%02d", c.year, c.month, c.day);
  return buf;
}

std::string ResponseDate(int64_t t) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  CivilDate c = CivilFromDays(DayNumber(t));
  int64_t secs = (t - DayNumber(t) * kDay) / kSecond;
  int hour = static_cast<int>(secs / 3600);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s %d, %04d, %d:%02d:%02d %s", kMonths[c.month - 1], c.day, c.year,
                hour % 12 == 0 ? 12 : hour % 12, static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60),
                hour < 12 ? "AM" : "PM");
  return buf;
}

Result<std::string> Gzip(std::string_view data) {
  std::string out = vigil::Gzip(data, 6);
  if (out.empty()) return Status::Internal("gzip: cannot compress");
  return out;
}

Status WriteFile(const std::filesystem::path& path, std::string_view bytes) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Status::IoError(path.parent_path().string() + ": " + ec.message());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IoError(path.string() + ": cannot open for writing");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return Status::IoError(path.string() + ": write failed");
  return Status::Ok();
}

}  // namespace vigil::sim
