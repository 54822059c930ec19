// libFuzzer target for the `vigil hunt` query language: ParseQuery on arbitrary
// bytes; every query that parses is compiled and evaluated against a fixed
// CloudTrail-like record, with and without metadata, and its scan hints are
// extracted; its pipe stages are built and run over a few copies of the
// record (lookups read one in-memory table, never a file). Nothing here may
// crash, hang or leak, whatever the input.
//
// Links: vigil_query (which brings vigil_event and vigil_common).
// Seeds: the queries in src/query/query_test.cc and docs/query-language.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "event/json_fields.h"
#include "query/lookup.h"
#include "query/matcher.h"
#include "query/parser.h"
#include "query/pipeline.h"
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

// The only tables the fuzzer's queries can look up (never a file): `t`, a CSV
// table, as any of its columns keys it.
const vigil::LookupSources& Tables() {
  static const vigil::LookupTables tables = [] {
    auto csv = vigil::CsvTable::Parse("ip,name,role\n10.0.0.1,alice,admin\nsigned,Bob,\"a, b\"\n", "t");
    if (!csv.ok()) std::abort();
    vigil::LookupTables t;
    t["t"] = *(*csv)->KeyedBy("ip");
    return t;
  }();
  static const vigil::LookupSources sources{&tables, {}, /*files_by_path=*/false};
  return sources;
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

  // Pipe stages over a few rows of the record, in a small memory budget.
  vigil::QueryPipelineOptions options;
  options.lookups = &Tables();
  options.max_memory_bytes = 1 << 20;
  size_t out = 0;
  auto pipeline = vigil::QueryPipeline::Build(*query, text, options, [&out](const vigil::Row& row) {
    for (const auto& [name, value] : row.columns) {
      std::string json;
      value.AppendJson(&json);
      (void)name;
    }
    return ++out < 1000;
  });
  if (!pipeline.ok()) {
    if (pipeline.status().message().empty()) std::abort();
    return 0;
  }
  auto event = std::make_shared<vigil::RowEvent>();
  event->fields = std::shared_ptr<const vigil::FieldResolver>(&Record(), [](const vigil::FieldResolver*) {});
  event->source = "cloudtrail";
  event->principal = "arn:aws:iam::123456789012:user/alice";
  event->time_ns = 1722431184000000000;
  for (int i = 0; i < 4; ++i) {
    vigil::Row row;
    auto e = std::make_shared<vigil::RowEvent>(*event);
    e->time_ns += i * 3600000000000LL;
    row.event = std::move(e);
    auto more = (*pipeline)->Push(std::move(row));
    if (!more.ok() || !*more) break;
  }
  (void)(*pipeline)->Finish();
  return 0;
}
