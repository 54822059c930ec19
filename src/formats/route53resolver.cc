#include "formats/route53resolver.h"

#include <iterator>

#include "event/derived_fields.h"
#include "formats/json_records.h"

namespace vigil {
namespace {

const FieldPath kTime[] = {FieldPath("query_timestamp")};
const FieldPath kAccount("account_id");
const FieldPath kQueryName("query_name");
const FieldPath kPrincipals[] = {FieldPath("srcids.instance"), FieldPath("srcaddr")};
const FieldPath kResources[] = {FieldPath("srcids.instance"), FieldPath("srcids.resolver_endpoint"),
                                FieldPath("vpc_id")};

// A query log record has these top-level keys; no other AWS log has them all.
bool IsQueryLogRecord(std::string_view record) {
  static constexpr std::string_view kKeys[] = {"query_timestamp", "query_name", "query_type", "rcode"};
  size_t at[std::size(kKeys)];
  return FindTopLevelKeys(record, kKeys, at) == 0b1111;
}

class Route53ResolverParser final : public Parser {
 public:
  explicit Route53ResolverParser(const InputLimits& limits) : limits_(limits) {}

  std::string_view name() const override { return kRoute53Resolver; }

  bool Recognize(std::string_view head) const override {
    std::string_view first = FirstJsonRecord(head, "");
    return !first.empty() && !FirstValueIsArray(first) && IsQueryLogRecord(first);
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    return ForEachJsonRecord(in, "", limits_, sink, [&](std::string_view raw, uint64_t index) {
      EmitJsonRecord(in, raw, index, limits_, BuildRoute53ResolverEvent, sink);
    });
  }

 private:
  InputLimits limits_;
};

}  // namespace

Status BuildRoute53ResolverEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* ev,
                                 std::string* time_warning) {
  VIGIL_RETURN_IF_ERROR(StartJsonEvent(raw, kRoute53Resolver, ingest_time_ns, limits, ev));
  // Rules and hunts name domains without the root's trailing dot
  // (`example.com`), which the log writes (`example.com.`).
  std::string domain = ev->FirstString(kQueryName);
  if (!domain.empty()) {
    if (domain.back() == '.') domain.pop_back();
    ev->fields = std::make_shared<DerivedFields>(
        std::move(ev->fields), std::vector<std::pair<std::string, std::string>>{{"query_domain", std::move(domain)}});
  }
  SetEventTime(kTime, ev, time_warning);
  ev->id = ContentId(kRoute53Resolver, raw);
  ev->account = ev->FirstString(kAccount);
  SetPrincipal(kPrincipals, ev);
  for (const FieldPath& p : kResources) AddResources(p, ev);
  return Status::Ok();
}

std::unique_ptr<Parser> MakeRoute53ResolverParser(const InputLimits& limits) {
  return std::make_unique<Route53ResolverParser>(limits);
}

}  // namespace vigil
