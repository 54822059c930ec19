// A stored event, every field of it, as one comparable string: the tests of
// code that rewrites or moves segments compare what readers see before and
// after as sorted lists of these.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "store/event_store.h"

namespace vigil::testing {

inline std::string StoredEventKey(const StoredEvent& e) {
  std::ostringstream o;
  o << e.id << '\x1f' << e.source_type << '\x1f' << e.time_ns << '\x1f' << e.ingest_time_ns << '\x1f'
    << e.time_fallback << '\x1f' << e.account << '\x1f' << e.principal << '\x1f' << e.raw;
  return o.str();
}

// Every event a scan of `store` (within `scan`) hands on, as sorted keys
// (duplicates kept); a skipped file or a failed scan fails the test.
inline std::vector<std::string> ScanEventKeys(EventStore* store, ScanOptions scan = {}) {
  std::vector<std::string> out;
  scan.on_skipped_file = [](const Status& s) { ADD_FAILURE() << s.ToString(); };
  Status s = store->Scan(scan, [&](const StoredEvent& e) {
    out.push_back(StoredEventKey(e));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vigil::testing
