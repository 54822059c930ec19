// Route 53 Resolver query logs, recognised from content: the JSON records
// Resolver query logging delivers to S3 or CloudWatch Logs (one per line, or a
// JSON array), with the DNS Firewall fields (`firewall_rule_action`,
// `firewall_rule_group_id`, `firewall_domain_list_id`) when a rule matched.
//
// Each record is an Event whose fields are the record's JSON paths
// (`query_name`, `rcode`, `answers.Rdata`, `srcids.instance`...), plus
// `query_domain`, the query name without its trailing dot (event/derived_fields.h):
//   id:        ContentId("route53resolver", record) (query logs carry no id).
//   time:      query_timestamp, else ingest time with a warning.
//   account:   account_id.
//   principal: srcids.instance, else srcaddr.
//   resources: srcids.instance, srcids.resolver_endpoint, vpc_id.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "event/event.h"
#include "formats/parser.h"

namespace vigil {

inline constexpr std::string_view kRoute53Resolver = "route53resolver";

std::unique_ptr<Parser> MakeRoute53ResolverParser(const InputLimits& limits = {});

// Builds an Event from one query log record's exact bytes.
Status BuildRoute53ResolverEvent(std::string_view raw, int64_t ingest_time_ns, const InputLimits& limits, Event* out,
                                 std::string* time_warning);

}  // namespace vigil
