// VPC Flow Logs (and transit gateway flow logs), recognised from content.
//
// Reads the text lines AWS delivers to S3 (and that CloudWatch Logs exports):
//   - a header line naming the fields (`version account-id interface-id ...`),
//     as every S3-delivered file starts with; it sets the field order for the
//     lines after it, until the next header line (files joined one after
//     another keep their own orders). Any field list is read: the default v2
//     format, custom formats with the v3 to v5 fields (and the v7/v8 ECS and
//     reject-reason fields), and transit gateway flow logs;
//   - lines before any header use the default v2 format (14 fields).
// Fields are separated by spaces (a run of spaces counts as one); `-` is no
// value. NODATA and SKIPDATA records are events like the others.
//
// Each line is an Event whose fields answer the AWS field names (`srcaddr`,
// `dstport`, `action`, `account-id`, `interface-id`, `tgw-attachment-id`...).
//   raw:       the line, exact. A line read under a header that names any other
//              layout than the default one keeps its header: raw is
//              `<header line>\n<line>`, so that the stored record can be read
//              again on its own (RecordFields).
//   id:        ContentId("vpcflow", raw) (flow records carry no id).
//   time:      `start` (Unix seconds), else ingest time with a warning.
//   account:   `account-id`.
//   principal: `interface-id`, else `srcaddr`.
//   resources: `interface-id`, `instance-id`, `tgw-attachment-id` when present.
// A line whose field count differs from its header's becomes a dead letter.
#pragma once

#include <memory>
#include <string_view>

#include "formats/parser.h"

namespace vigil {

inline constexpr std::string_view kVpcFlow = "vpcflow";

std::unique_ptr<Parser> MakeVpcFlowParser(const InputLimits& limits = {});

}  // namespace vigil
