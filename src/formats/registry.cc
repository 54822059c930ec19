#include "formats/cloudtrail.h"
#include "formats/parser.h"

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
    r->Register(MakeCloudTrailParser());  // one line per log type
    return r;
  }();
  return *registry;
}

}  // namespace vigil
