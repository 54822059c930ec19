#include "tier/storage_report.h"

namespace vigil {

double MonthlyCost(uint64_t bytes, double per_gb_month) {
  return static_cast<double>(bytes) / static_cast<double>(1ull << 30) * per_gb_month;
}

std::vector<StorageReportRow> BuildStorageReport(const std::map<std::string, CatalogSegment>& segments,
                                                 const StoragePrices& prices) {
  std::map<std::pair<std::string, int>, StorageReportRow> rows;
  StorageReportRow total;
  total.source_type = "*";
  total.tier = "*";
  for (const auto& [path, s] : segments) {
    StorageReportRow& r = rows[{s.source_type, static_cast<int>(s.tier)}];
    r.source_type = s.source_type;
    r.tier = TierName(s.tier);
    for (StorageReportRow* x : {&r, &total}) {
      ++x->segments;
      x->events += s.events;
      x->raw_bytes += s.raw_bytes;
      x->stored_bytes += s.stored_bytes;
    }
  }
  std::vector<StorageReportRow> out;
  for (auto& [key, r] : rows) {
    double price = key.second == static_cast<int>(Tier::kHot)    ? prices.hot_per_gb_month
                   : key.second == static_cast<int>(Tier::kWarm) ? prices.warm_per_gb_month
                                                                 : prices.cold_per_gb_month;
    r.monthly_cost = MonthlyCost(r.stored_bytes, price);
    total.monthly_cost += r.monthly_cost;
    out.push_back(r);
  }
  out.push_back(total);
  return out;
}

}  // namespace vigil
