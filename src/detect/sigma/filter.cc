// SigmaFilter evaluation and rule targeting; parsing lives in rule.cc with the
// rest of the Sigma YAML reading.
#include "detect/sigma/filter.h"

#include <algorithm>

#include "common/glob.h"
#include "detect/sigma/internal/detection.h"

namespace vigil {

bool SigmaFilter::Matches(const Event& event) const { return event.fields && detection_->Matches(*event.fields); }

bool SigmaFilter::Matches(const FieldResolver& fields) const { return detection_->Matches(fields); }

bool SigmaFilter::Names(const SigmaRule& rule) const {
  return std::any_of(rules_.begin(), rules_.end(), [&](const std::string& r) {
    return r == rule.id() || (!rule.name().empty() && r == rule.name());
  });
}

bool SigmaFilter::CoversLogsource(const SigmaRule& rule) const {
  auto covers = [](const std::string& mine, const std::string& theirs) {
    return mine.empty() || EqualsIgnoreCase(mine, theirs);
  };
  return covers(logsource_product_, rule.logsource_product()) && covers(logsource_service_, rule.logsource_service()) &&
         covers(logsource_category_, rule.logsource_category());
}

}  // namespace vigil
