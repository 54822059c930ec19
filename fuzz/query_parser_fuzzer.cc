// libFuzzer target for the `vigil hunt` query language: ParseQuery on arbitrary
// bytes; every query that parses is compiled and evaluated against a fixed
// CloudTrail-like record, with and without metadata, and its scan hints are
// extracted. Nothing here may crash, hang or leak, whatever the input.
//
// Links: vigil_query (which brings vigil_event and vigil_common).
// Seeds: the queries in src/query/query_test.cc and docs/query-language.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "event/json_fields.h"
#include "query/matcher.h"
#include "query/parser.h"
#include "query/scan_hints.h"

namespace {

constexpr std::string_view kRecord = R"({
  "eventVersion": "1.08",
  "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice",
                   "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}},
  "eventTime": "2024-07-31T13:06:24Z", "eventSource": "signin.amazonaws.com",
  "eventName": "ConsoleLogin", "errorMessage": "Failed authentication",
  "readOnly": false, "bytes": 1532, "ratio": 0.25, "nothing": null, "empty": [],
  "resources": [{"ARN": "arn:aws:s3:::logs"}, {"ARN": "arn:aws:kms:k"}],
  "tags": ["prod", "PCI"], "x-amz.dotted": "v", "path": "C:\\Windows\\*"
})";

const vigil::FieldResolver& Record() {
  static const std::shared_ptr<const vigil::FieldResolver> fields = [] {
    auto r = vigil::ParseJsonFields(kRecord);
    if (!r.ok()) std::abort();
    return *r;
  }();
  return *fields;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto query = vigil::ParseQuery(text);
  if (!query.ok()) {
    // Every error names a column and draws a caret.
    if (query.status().message().empty()) std::abort();
    return 0;
  }
  (void)vigil::DebugString(query->search);
  (void)vigil::ExtractScanHints(query->search);
  auto matcher = vigil::Matcher::Compile(query->search);
  if (!matcher.ok()) std::abort();  // a parsed query always compiles

  vigil::MetadataFields meta;
  meta.source = "cloudtrail";
  meta.principal = "arn:aws:iam::123456789012:user/alice";
  meta.time_ns = 1722431184000000000;
  const bool plain = matcher->Matches(Record());
  const bool with_meta = matcher->Matches(Record(), &meta);
  // The one-shot helper agrees with the compiled matcher.
  if (plain != vigil::Matches(query->search, Record())) std::abort();
  (void)with_meta;
  return 0;
}
