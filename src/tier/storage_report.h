// The cost report (`vigil storage report`): per source type and tier, what
// was ingested (events, raw bytes), what it occupies, and what that costs a
// month at the configured per-GiB prices.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tier/catalog.h"
#include "tier/tier_config.h"

namespace vigil {

struct StorageReportRow {
  std::string source_type;  // "*" on the total row
  std::string tier;         // hot, warm, cold; "*" on the total row
  uint64_t segments = 0;
  uint64_t events = 0;
  uint64_t raw_bytes = 0;
  uint64_t stored_bytes = 0;
  double monthly_cost = 0;  // dollars
  // raw / stored (0 when nothing is stored).
  double ratio() const { return stored_bytes == 0 ? 0 : static_cast<double>(raw_bytes) / stored_bytes; }
};

// Rows by (source type, tier order hot, warm, cold), then the total.
std::vector<StorageReportRow> BuildStorageReport(const std::map<std::string, CatalogSegment>& segments,
                                                 const StoragePrices& prices);

// Dollars a month for `bytes` at `per_gb_month` (GiB = 2^30 bytes, as AWS bills).
double MonthlyCost(uint64_t bytes, double per_gb_month);

}  // namespace vigil
