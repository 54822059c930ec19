// A stored event, every field of it, as one comparable string: the tests of
// code that rewrites or moves segments compare what readers see before and
// after as sorted lists of these.
#pragma once

#include <sstream>
#include <string>

#include "store/event_store.h"

namespace vigil::testing {

inline std::string StoredEventKey(const StoredEvent& e) {
  std::ostringstream o;
  o << e.id << '\x1f' << e.source_type << '\x1f' << e.time_ns << '\x1f' << e.ingest_time_ns << '\x1f'
    << e.time_fallback << '\x1f' << e.account << '\x1f' << e.principal << '\x1f' << e.raw;
  return o.str();
}

}  // namespace vigil::testing
