// IntelDetector: matches the IP address and domain fields of every event
// against the threat-intelligence index (IntelStore) and raises
// GuardDuty-style findings whose explanation names the indicator, its feed,
// description and confidence (docs/threat-intel.md has the field list per
// log type and the finding types).
//
// It reads the store's current index once per event (a relaxed check of the
// store's generation; the pointer is refreshed only when a reload published a
// new index), so a reload takes effect from the next event on and never in
// the middle of one.
//
// Thread safety: one detector per thread (the pipeline's store thread); the
// store may be reloaded from any other thread meanwhile.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "detect/detector.h"
#include "intel/intel_store.h"

namespace vigil::intel {

// Where an event field sits in a finding: who called an API, one end of a
// network connection, a name looked up in DNS, a host named in a request.
enum class FieldRole : uint8_t { kIamCaller, kS3Caller, kNetwork, kDns, kHost };

struct IntelField {
  std::string_view source_type;  // the parser's name: "cloudtrail", "vpcflow", ...
  std::string_view path;         // raw field path
  FieldRole role;
  bool domains;                  // the value may be a domain name (else IPs only)
};

// Every field the detector reads, by log type.
const std::vector<IntelField>& IntelFields();

// The rule (id, title, severity, finding type) a hit raises.
struct IntelRule {
  std::string_view id;
  std::string_view title;
  std::string_view severity;
  std::string_view finding_type;
};
const IntelRule& RuleFor(FieldRole role, bool domain_indicator, ThreatCategory category);
// Every rule the detector can raise (for docs and tests).
std::vector<const IntelRule*> AllIntelRules();

class IntelDetector final : public Detector {
 public:
  // `store` must outlive the detector.
  explicit IntelDetector(const IntelStore* store);
  ~IntelDetector() override;
  std::string_view name() const override { return "intel"; }
  void Process(const Event& event, const MatchSink& sink) override;
  bool ReadsOcsf() const override { return false; }  // raw fields only (kFields)

 private:
  struct Fields;
  const Fields* FieldsFor(std::string_view source_type);

  const IntelStore* store_;
  std::shared_ptr<const IntelIndex> index_;
  uint64_t generation_ = UINT64_MAX;
  std::vector<std::unique_ptr<Fields>> by_type_;
  FieldValueList values_;
  std::vector<uint32_t> hits_;
  std::vector<std::pair<const IntelRule*, uint32_t>> raised_;  // this event's (rule, indicator) pairs
};

// The JSON object an alert carries for a hit: field, value, indicator,
// feed, source (file:line), ref, description, confidence, labels, category.
std::string ExplainHit(const IntelIndex& index, uint32_t indicator, std::string_view field, std::string_view value);

}  // namespace vigil::intel
