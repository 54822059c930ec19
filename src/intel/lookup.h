// The threat-intelligence index as lookup tables for the hunting language's
// `lookup` stage (query/lookup_table.h): the table `intel` answers from every
// feed, and each feed is a table of its own name. A key is an IP address
// (matched exactly or by the longest CIDR range) or a domain name (matched by
// the longest listed parent domain), as the detector matches events.
#pragma once

#include <memory>

#include "intel/intel_store.h"
#include "query/lookup_table.h"

namespace vigil::intel {

// Columns of every intel table, in order.
const std::vector<std::string>& IntelLookupColumns();

// Tables over `store`'s index as it is at each lookup (a reload is seen by
// the next lookup). `store` must outlive the tables.
LookupTables IntelLookupTables(const IntelStore* store);

}  // namespace vigil::intel
