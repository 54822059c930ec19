// Amazon S3 server access logs, recognised from content: the text lines S3
// delivers to a logging bucket, in any of the field counts S3 has written over
// time (older lines end after `user_agent` or `host_id`; newer ones add
// `signature_version` ... `acl_required`; fields S3 adds at the end later are
// ignored). Fields are separated by spaces; `"..."` fields keep their spaces
// (quotes dropped, backslash escapes kept as written); the time is `[...]`;
// `-` is no value.
//
// Each line is an Event whose fields answer the names of the AWS log format
// documentation in snake case: bucket_owner, bucket, time, remote_ip,
// requester, request_id, operation, key, request_uri, http_status, error_code,
// bytes_sent, object_size, total_time, turn_around_time, referer, user_agent,
// version_id, host_id, signature_version, cipher_suite, authentication_type,
// host_header, tls_version, access_point_arn, acl_required.
//   id:        ContentId("s3access", line) (request ids repeat across a batch
//              delete's lines).
//   time:      `time` (`06/Feb/2019:00:00:38 +0000`).
//   account:   empty: the bucket owner is a canonical user id, not an account.
//   principal: the requester when it is an ARN, else the remote IP address,
//              else the requester as written (`svc:...`, `AmazonS3`, a canonical id).
//   resources: the bucket, access_point_arn.
// A line with fewer than 17 fields, or whose third field is not a time,
// becomes a dead letter.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "formats/parser.h"

namespace vigil {

inline constexpr std::string_view kS3Access = "s3access";

std::unique_ptr<Parser> MakeS3AccessParser(const InputLimits& limits = {});

// `06/Feb/2019:00:00:38 +0000` (brackets removed) as nanoseconds, or nullopt.
std::optional<int64_t> ParseS3AccessTime(std::string_view s);

}  // namespace vigil
