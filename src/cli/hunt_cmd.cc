#include <simdjson.h>

#include <cstdio>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/workspace.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "formats/record_fields.h"
#include "ocsf/normalizer.h"
#include "query/matcher.h"
#include "query/parser.h"
#include "query/scan_hints.h"

namespace vigil::cli {
namespace {

// The readable form of an OCSF event: one `attribute = value` line per
// scalar, indented under the event's heading line.
void PrintLeaves(simdjson::dom::element e, const std::string& path) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT:
      for (auto [k, v] : simdjson::dom::object(e))
        PrintLeaves(v, path.empty() ? std::string(k) : path + "." + std::string(k));
      break;
    case element_type::ARRAY: {
      size_t i = 0;
      for (auto v : simdjson::dom::array(e)) PrintLeaves(v, path + "[" + std::to_string(i++) + "]");
      break;
    }
    case element_type::STRING:
      std::printf("    %-36s %s\n", path.c_str(), std::string(std::string_view(e)).c_str());
      break;
    default:
      std::printf("    %-36s %s\n", path.c_str(), simdjson::minify(e).c_str());
      break;
  }
}

}  // namespace

int RunHunt(const HuntOptions& o) {
  ScanOptions scan;
  Status st = ParseTimeOption("--from", o.from, &scan.from_ns);
  if (st.ok()) st = ParseTimeOption("--to", o.to, &scan.to_ns);
  if (!st.ok()) return Fatal(st);
  auto query = ParseQuery(o.query);
  if (!query.ok()) return Fatal(query.status());
  // The planner's part today: prune by the query's own source and time terms.
  ScanHints hints = ExtractScanHints(query->search);
  if (hints.from_ns && (!scan.from_ns || *hints.from_ns > *scan.from_ns)) scan.from_ns = hints.from_ns;
  if (hints.to_ns && (!scan.to_ns || *hints.to_ns < *scan.to_ns)) scan.to_ns = hints.to_ns;
  if (hints.sources && hints.sources->size() == 1) scan.source_type = hints.sources->front();
  const bool nothing_can_match = hints.sources && hints.sources->empty();
  auto matcher = Matcher::Compile(query->search);
  if (!matcher.ok()) return Fatal(matcher.status());
  auto keys = LoadMasterKeys(o.keys);
  if (!keys.ok()) return Fatal(keys.status());
  auto ws = Workspace::Open(o.data_dir, /*write=*/false, *keys);
  if (!ws.ok()) return Fatal(ws.status());

  scan.newest_first = true;
  size_t shown = 0, scanned = 0, unreadable = 0;
  std::string line;
  Progress progress("hunt");
  if (!o.json && !o.ocsf) std::printf("%-24s %-11s %-44s %s\n", "TIME", "SOURCE", "PRINCIPAL", "EVENT");
  size_t no_class = 0, left_out = 0;
  simdjson::dom::parser ocsf_parser;
  static const FieldPath kEventSource("eventSource"), kEventName("eventName");
  if (nothing_can_match) scan.to_ns = scan.from_ns = 0;
  st = (*ws)->store()->Scan(scan, [&](const StoredEvent& e) {
    ++scanned;
    progress.Update(HumanCount(scanned) + " events scanned, " + HumanCount(shown) + " matched");
    auto raw_fields = RecordFields(e.source_type, e.raw);
    if (!raw_fields.ok()) {
      ++unreadable;
      return true;
    }
    // `ocsf.` paths answer the event's OCSF form, computed only if asked.
    auto fields = ocsf::WithOcsf(ocsf::EventContext{e.source_type, e.time_ns}, std::move(*raw_fields));
    MetadataFields meta;
    meta.source = e.source_type;
    meta.id = e.id;
    if (!e.principal.empty()) meta.principal = e.principal;
    if (!e.account.empty()) meta.account = e.account;
    meta.time_ns = e.time_ns;
    if (!matcher->Matches(*fields, &meta)) return true;
    progress.Finish();
    if (o.ocsf) {
      const ocsf::Normalized* n = ocsf::NormalizedOf(*fields);
      if (n == nullptr || n->json.empty()) {
        ++no_class;
      } else {
        left_out += n->invalid.size();
        if (o.json) {
          std::fwrite(n->json.data(), 1, n->json.size(), stdout);
          std::fputc('\n', stdout);
        } else {
          simdjson::dom::element doc;
          std::string_view type_name;
          if (ocsf_parser.parse(n->json).get(doc) || doc["type_name"].get_string().get(type_name)) type_name = "?";
          std::printf("%s  %s  %.*s (class %d)%s\n", FormatRfc3339(e.time_ns).c_str(), e.source_type.c_str(),
                      static_cast<int>(type_name.size()), type_name.data(), n->class_uid,
                      n->invalid.empty() ? "" : ("  " + std::to_string(n->invalid.size()) + " invalid raw value(s) left out").c_str());
          PrintLeaves(doc, "");
        }
      }
    } else if (o.json) {
      const size_t first = e.raw.find_first_not_of(" \t\r\n");
      if (first != std::string::npos && e.raw[first] == '{') {
        // One record per line. JSON allows raw line breaks only as whitespace
        // between tokens, so turning them into spaces keeps the record's
        // meaning and every other byte.
        line.assign(e.raw);
        for (char& c : line)
          if (c == '\n' || c == '\r') c = ' ';
      } else {
        // A text record (flow log, access log line) goes in a JSON string.
        line = JsonObject()
                   .Str("source_type", e.source_type)
                   .Str("id", e.id)
                   .Str("time", FormatRfc3339(e.time_ns))
                   .Str("raw", e.raw)
                   .Done();
      }
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
    } else {
      Event tmp;
      tmp.fields = fields;
      std::string what = tmp.FirstString(kEventSource) + " " + tmp.FirstString(kEventName);
      if (what == " ") {
        // Not an API call: the record's last line (a text log line, or the
        // start of a JSON record), cut to fit.
        std::string_view raw = e.raw;
        if (size_t nl = raw.find_last_of('\n', raw.size() > 1 ? raw.size() - 2 : 0); nl != std::string_view::npos &&
            raw.front() != '{')
          raw.remove_prefix(nl + 1);
        what.assign(raw.substr(0, 80));
        for (char& c : what)
          if (c == '\n' || c == '\r' || c == '\t') c = ' ';
      }
      std::printf("%-24s %-11s %-44s %s\n", FormatRfc3339(e.time_ns).c_str(), e.source_type.c_str(),
                  e.principal.substr(0, 44).c_str(), what.c_str());
    }
    ++shown;
    return o.limit == 0 || shown < o.limit;
  });
  progress.Finish();
  if (!st.ok()) return Fatal(st);
  if (unreadable) Warn(std::to_string(unreadable) + " stored records could not be read as JSON and were skipped");
  if (o.ocsf) {
    // Machine output stays one OCSF event per line; the tally goes to stderr.
    std::fprintf(stderr, "%zu events matched (%zu scanned); %zu with no OCSF class; unmapped_invalid: %zu raw values failed their OCSF type and were left out (listed under unmapped.invalid)\n",
                 shown, scanned, no_class, left_out);
  } else if (!o.json) {
    std::printf("%zu events matched (%zu scanned)\n", shown, scanned);
  }
  return kExitOk;
}

}  // namespace vigil::cli
