#include "intel/lookup.h"

#include "common/time.h"

namespace vigil::intel {
namespace {

class IntelTable final : public LookupTable {
 public:
  // feed empty: every feed.
  IntelTable(const IntelStore* store, std::string name, std::string feed)
      : store_(store), name_(std::move(name)), feed_(std::move(feed)) {}
  std::string_view name() const override { return name_; }
  const std::vector<std::string>& columns() const override { return IntelLookupColumns(); }

  std::optional<LookupRow> Lookup(std::string_view key) const override {
    std::shared_ptr<const IntelIndex> index = store_->current();
    std::vector<uint32_t> hits;
    if (!index->Match(key, true, 0, &hits)) return std::nullopt;
    for (uint32_t i : hits) {
      const Indicator& in = index->indicator(i);
      if (!feed_.empty() && index->feed_name(in) != feed_) continue;
      const FeedSummary& feed = index->feeds()[in.feed];
      LookupRow row;
      auto add = [&](const char* k, std::string v) {
        if (!v.empty()) row.fields.emplace_back(k, std::move(v));
      };
      add("indicator", in.value);
      add("type", in.kind == IndicatorKind::kDomain ? "domain" : in.kind == IndicatorKind::kIpv4 ? "ipv4" : "ipv6");
      add("feed", feed.name);
      add("category", std::string(ThreatCategoryName(in.category)));
      add("confidence", in.confidence >= 0 ? std::to_string(in.confidence) : "");
      add("description", std::string(index->description(in)));
      std::string labels;
      for (const auto& l : index->labels(in)) labels += (labels.empty() ? "" : ",") + l;
      add("labels", labels);
      add("source", feed.path + (in.line ? ":" + std::to_string(in.line) : ""));
      add("valid_until", in.valid_until_ns ? FormatRfc3339(in.valid_until_ns) : "");
      return row;
    }
    return std::nullopt;
  }

 private:
  const IntelStore* store_;
  std::string name_;
  std::string feed_;
};

}  // namespace

const std::vector<std::string>& IntelLookupColumns() {
  static const std::vector<std::string> kColumns = {"indicator",   "type",   "feed",   "category", "confidence",
                                                    "description", "labels", "source", "valid_until"};
  return kColumns;
}

LookupTables IntelLookupTables(const IntelStore* store) {
  LookupTables tables;
  tables["intel"] = std::make_shared<IntelTable>(store, "intel", "");
  std::shared_ptr<const IntelIndex> index = store->current();
  for (const FeedSummary& f : index->feeds())
    if (!tables.contains(f.name)) tables[f.name] = std::make_shared<IntelTable>(store, f.name, f.name);
  return tables;
}

}  // namespace vigil::intel
