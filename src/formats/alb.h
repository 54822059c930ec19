// Elastic Load Balancing access logs, recognised from content, line by line
// (one file may mix them):
//   - Application Load Balancer access logs (`http`, `https`, `h2`, `grpcs`,
//     `ws`, `wss` requests; older lines with fewer fields, newer ones with
//     `conn_trace_id`; fields AWS adds at the end later are ignored);
//   - Application Load Balancer connection logs (a line per TLS connection);
//   - Network Load Balancer TLS access logs (`tls 2.0 ...`);
//   - Classic Load Balancer access logs.
// Fields are separated by spaces; a quoted field keeps its spaces (a request
// line with a space in its URI stays one field), its quotes are dropped and
// backslash escapes kept as written; `-` is no value.
//
// Each line is an Event whose fields answer the AWS field names of its log
// (`elb_status_code`, `request`, `client:port`, `target_group_arn`...), plus
// the parts AWS's Athena tables split out: `client_ip`/`client_port`,
// `target_ip`/`target_port` (`destination_…` for NLB, `backend_…` for
// classic), and `request_verb`/`request_url`/`request_proto`.
//   id:        ContentId("alb", line) (trace ids are not unique per line).
//   time:      `time`, else ingest time with a warning.
//   account:   empty (the logs do not say).
//   principal: the client IP address.
//   resources: the load balancer (`elb`), `target_group_arn`, the target.
// A line of none of these shapes, or with too few fields, becomes a dead letter.
#pragma once

#include <memory>
#include <string_view>

#include "formats/parser.h"

namespace vigil {

inline constexpr std::string_view kAlb = "alb";

std::unique_ptr<Parser> MakeAlbParser(const InputLimits& limits = {});

}  // namespace vigil
