// Shared body of the threat-intel feed fuzzers: parse arbitrary bytes as one
// feed format; a feed that reads must index, and each of its indicators must
// then match its own value (an address range its first address).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "intel/feed.h"
#include "intel/index.h"

namespace vigil::fuzz {

inline int FuzzFeed(intel::FeedFormat format, const uint8_t* data, size_t size) {
  intel::FeedConfig config;
  config.path = "fuzz";
  config.format = format;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto feed = intel::ParseFeed(text, config);
  if (!feed.ok()) return 0;
  auto index = intel::IntelIndex::Build({&*feed});
  std::vector<uint32_t> hits;
  for (const intel::FeedEntry& e : feed->entries) {
    std::string_view v = e.value.text;
    if (size_t slash = v.find('/'); slash != std::string_view::npos) v = v.substr(0, slash);
    hits.clear();
    if (!index->Match(v, true, 0, &hits)) std::abort();
  }
  return 0;
}

}  // namespace vigil::fuzz
