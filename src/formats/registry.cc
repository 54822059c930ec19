#include "formats/cloudtrail.h"
#include "formats/guardduty.h"
#include "formats/parser.h"
#include "formats/securityhub.h"

namespace vigil {

void ParserRegistry::Register(std::unique_ptr<Parser> parser) { parsers_.push_back(std::move(parser)); }

const Parser* ParserRegistry::Find(std::string_view name) const {
  for (const auto& p : parsers_)
    if (p->name() == name) return p.get();
  return nullptr;
}

const Parser* ParserRegistry::Recognize(std::string_view head) const {
  for (const auto& p : parsers_)
    if (p->Recognize(head)) return p.get();
  return nullptr;
}

const ParserRegistry& ParserRegistry::Default() {
  static const ParserRegistry* registry = [] {
    auto* r = new ParserRegistry();
    // One line per log type. Recognition tries them in this order: the finding
    // types first, as they look at top-level keys only and so never claim a
    // CloudTrail record that merely mentions a finding.
    r->Register(MakeGuardDutyParser());
    r->Register(MakeSecurityHubParser());
    r->Register(MakeCloudTrailParser());
    return r;
  }();
  return *registry;
}

}  // namespace vigil
