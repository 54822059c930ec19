#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "cli/cli_util.h"
#include "cli/hunt_columns.h"
#include "cli/hunt_run.h"
#include "cli/intel_feeds.h"
#include "cli/commands.h"
#include "cli/workspace.h"
#include "common/glob.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "formats/record_fields.h"
#include "intel/lookup.h"
#include "ocsf/normalizer.h"
#include "query/lookup.h"
#include "query/matcher.h"
#include "query/parser.h"
#include "query/pipeline.h"
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

// Prints rows of named columns as an aligned table. Widths come from the
// first rows (up to kSample), which are held back until then; later rows
// reuse them, so a long result streams in bounded memory.
class TablePrinter {
 public:
  void Add(const Row& row) {
    if (fixed_) {
      Print(row);
      return;
    }
    held_.push_back(row);
    if (held_.size() >= kSample) Fix();
  }
  void Flush() {
    if (!fixed_ && !held_.empty()) Fix();
  }
  size_t rows() const { return printed_; }

 private:
  static constexpr size_t kSample = 200;
  static constexpr size_t kMaxWidth = 60;
  static std::string Cell(const Value& v) {
    std::string s = v.Text();
    for (char& c : s)
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (s.size() > kMaxWidth) s = s.substr(0, kMaxWidth - 3) + "...";
    return s;
  }
  void Fix() {
    for (const Row& r : held_) {
      for (const auto& [name, v] : r.columns) {
        auto it = std::find(names_.begin(), names_.end(), name);
        size_t w = std::max(Cell(v).size(), std::min(name.size(), kMaxWidth));
        if (it == names_.end()) {
          names_.push_back(name);
          widths_.push_back(w);
        } else {
          size_t& have = widths_[static_cast<size_t>(it - names_.begin())];
          have = std::max(have, w);
        }
      }
    }
    fixed_ = true;
    std::string line;
    for (size_t i = 0; i < names_.size(); ++i) Append(line, names_[i].substr(0, kMaxWidth), i);
    Emit(line);
    for (const Row& r : held_) Print(r);
    held_.clear();
  }
  void Append(std::string& line, const std::string& cell, size_t i) {
    if (i) line += "  ";
    line += cell;
    if (i + 1 < names_.size() && cell.size() < widths_[i]) line.append(widths_[i] - cell.size(), ' ');
  }
  void Emit(std::string& line) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  void Print(const Row& r) {
    std::string line;
    for (size_t i = 0; i < names_.size(); ++i) {
      const Value* v = r.Find(names_[i]);
      Append(line, v ? Cell(*v) : std::string(), i);
    }
    Emit(line);
    ++printed_;
  }
  bool fixed_ = false;
  std::vector<Row> held_;
  std::vector<std::string> names_;
  std::vector<size_t> widths_;
  size_t printed_ = 0;
};

struct EventPrinter {
  explicit EventPrinter(const HuntOptions& options) : o(options) {}
  const HuntOptions& o;
  size_t no_class = 0, left_out = 0;
  simdjson::dom::parser ocsf_parser;
  std::string line;

  void Print(const Row& row) {
    const RowEvent& e = *row.event;
    static const FieldPath kEventSource("eventSource"), kEventName("eventName");
    if (o.ocsf) {
      const ocsf::Normalized* n = ocsf::NormalizedOf(*e.fields);
      if (n == nullptr || n->json.empty()) {
        ++no_class;
        return;
      }
      left_out += n->invalid.size();
      if (o.json) {
        std::fwrite(n->json.data(), 1, n->json.size(), stdout);
        std::fputc('\n', stdout);
      } else {
        simdjson::dom::element doc;
        std::string_view type_name;
        if (ocsf_parser.parse(n->json).get(doc) || doc["type_name"].get_string().get(type_name)) type_name = "?";
        std::printf("%s  %s  %.*s (class %d)%s\n", FormatRfc3339(e.time_ns).c_str(), e.source.c_str(),
                    static_cast<int>(type_name.size()), type_name.data(), n->class_uid,
                    n->invalid.empty() ? "" : ("  " + std::to_string(n->invalid.size()) + " invalid raw value(s) left out").c_str());
        PrintLeaves(doc, "");
      }
      return;
    }
    if (o.json) {
      const size_t first = e.raw.find_first_not_of(" \t\r\n");
      const bool is_object = first != std::string::npos && e.raw[first] == '{';
      if (is_object) {
        // One record per line. JSON allows raw line breaks only as whitespace
        // between tokens, so turning them into spaces keeps the record's
        // meaning and every other byte.
        line.assign(e.raw);
        for (char& c : line)
          if (c == '\n' || c == '\r') c = ' ';
      } else {
        // A text record (flow log, access log line) goes in a JSON string.
        line = JsonObject()
                   .Str("source_type", e.source)
                   .Str("id", e.id)
                   .Str("time", FormatRfc3339(e.time_ns))
                   .Str("raw", e.raw)
                   .Done();
      }
      if (!row.columns.empty()) {
        // Computed columns (eval, lookup, rename) join the record as
        // top-level keys; a name the record already has comes again, later,
        // which JSON readers such as jq take as the value.
        while (!line.empty() && line.back() != '}') line.pop_back();
        if (!line.empty()) line.pop_back();
        for (const auto& [name, v] : row.columns) {
          line.push_back(',');
          AppendJsonString(&line, name);
          line.push_back(':');
          v.AppendJson(&line);
        }
        line.push_back('}');
      }
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
      return;
    }
    Event tmp;
    tmp.fields = e.fields;
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
    for (const auto& [name, v] : row.columns) what += "  " + name + "=" + v.Text();
    std::printf("%-24s %-11s %-44s %s\n", FormatRfc3339(e.time_ns).c_str(), e.source.c_str(),
                e.principal.substr(0, 44).c_str(), what.c_str());
  }
};

}  // namespace

std::string RowJson(const Row& r) {
  std::string out = "{";
  bool first = true;
  for (const auto& [name, v] : r.columns) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, name);
    out.push_back(':');
    v.AppendJson(&out);
  }
  out += "}\n";
  return out;
}

namespace {

// A record holding one value at one path: lets a compiled term judge a
// column value exactly as it judges the record.
class OneValue final : public FieldResolver {
 public:
  explicit OneValue(const std::string& path) : path_(path) {}
  void Set(std::string_view v) { value_ = v; }
  bool Visit(const FieldPath& path, const FieldVisitor& visitor) const override {
    if (path.str() != path_) return false;
    FieldValue v;
    v.kind = ValueKind::kString;
    v.text = value_;
    visitor(v);
    return true;
  }
  void VisitAllScalars(const FieldVisitor&) const override {}

 private:
  std::string path_;
  std::string_view value_;
};

ScanFilter ToScanFilter(const ScanHints& hints) {
  ScanFilter filter;
  for (const ScanHints::Equality& eq : hints.equalities) {
    ScanFilter::Equality f;
    f.field = eq.field;
    // The value test is the query's own term (OR-ed alternatives), compiled
    // by the matcher, so that columns drop exactly the records it would.
    SearchExpr term;
    term.kind = SearchExpr::Kind::kOr;
    bool all_literal = true;
    for (const std::string& p : eq.patterns) {
      SearchExpr alt;
      alt.kind = SearchExpr::Kind::kCompare;
      alt.field = FieldPath(eq.field);
      alt.op = CompareOp::kEq;
      alt.value = p;
      term.children.push_back(std::move(alt));
      auto literal = PatternLiteral(p);
      if (literal && !eq.network) {
        f.exact.push_back(ToLower(*literal));
      } else {
        all_literal = false;
      }
    }
    if (!all_literal) f.exact.clear();
    if (term.children.size() == 1) term = SearchExpr(term.children.front());
    auto compiled = Matcher::Compile(term);
    if (!compiled.ok()) continue;  // no pruning on this term; the query's matcher still runs
    auto matcher = std::make_shared<Matcher>(std::move(*compiled));
    auto one = std::make_shared<OneValue>(eq.field);
    f.matches = [matcher, one](std::string_view v) {
      one->Set(v);
      return matcher->Matches(*one);
    };
    filter.equalities.push_back(std::move(f));
  }
  for (const ScanHints::Compare& c : hints.compares) {
    ScanFilter::Compare f;
    f.field = c.field;
    f.bound = c.bound;
    switch (c.op) {
      case CompareOp::kLt:
        f.op = ScanFilter::Compare::Op::kLt;
        break;
      case CompareOp::kLe:
        f.op = ScanFilter::Compare::Op::kLe;
        break;
      case CompareOp::kGt:
        f.op = ScanFilter::Compare::Op::kGt;
        break;
      case CompareOp::kGe:
        f.op = ScanFilter::Compare::Op::kGe;
        break;
      default:
        continue;
    }
    filter.compares.push_back(std::move(f));
  }
  filter.text_runs = hints.text_runs;
  return filter;
}

}  // namespace

Status RunHuntQuery(EventStore* store, const Query& query, std::string_view text, ScanOptions scan,
                    const QueryPipelineOptions& options, RowSink sink,
                    const std::function<Status(const QueryPipeline&)>& built,
                    const std::function<void(const HuntCounts&)>& progress, HuntCounts* counts) {
  // The planner's part: prune by the query's own source and time terms.
  ScanHints hints = ExtractScanHints(query.search);
  if (hints.from_ns && (!scan.from_ns || *hints.from_ns > *scan.from_ns)) scan.from_ns = hints.from_ns;
  if (hints.to_ns && (!scan.to_ns || *hints.to_ns < *scan.to_ns)) scan.to_ns = hints.to_ns;
  if (hints.sources && hints.sources->size() == 1) scan.source_type = hints.sources->front();
  if (hints.sources && hints.sources->empty()) scan.to_ns = scan.from_ns = 0;  // nothing can match
  // What the search says about single records lets the store skip blocks by
  // their blooms and min/max, and records by their columns.
  const ScanFilter filter = ToScanFilter(hints);
  scan.filter = &filter;
  VIGIL_ASSIGN_OR_RETURN(Matcher matcher, Matcher::Compile(query.search));
  VIGIL_ASSIGN_OR_RETURN(auto pipeline, QueryPipeline::Build(query, text, options, std::move(sink)));
  if (built) VIGIL_RETURN_IF_ERROR(built(*pipeline));
  scan.newest_first = true;
  HuntCounts local;
  HuntCounts& c = counts != nullptr ? *counts : local;
  scan.stats = &c.blocks;
  Status pipe_status;
  auto process = [&](const StoredEvent& e) {
    ++c.scanned;
    if (progress) progress(c);
    auto raw_fields = RecordFields(e.source_type, e.raw);
    if (!raw_fields.ok()) {
      ++c.unreadable;
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
    if (!matcher.Matches(*fields, &meta)) return true;
    ++c.matched;
    auto event = std::make_shared<RowEvent>();
    event->fields = std::move(fields);
    event->source = e.source_type;
    event->id = e.id;
    event->principal = e.principal;
    event->account = e.account;
    event->time_ns = e.time_ns;
    event->raw = e.raw;
    Row row;
    row.event = std::move(event);
    auto more = pipeline->Push(std::move(row));
    if (!more.ok()) {
      pipe_status = more.status();
      return false;
    }
    return *more;
  };
  // An aggregation that reads only columns runs from them where the store
  // has them (VIGIL_HUNT_COLUMNS=0 turns this off, to compare).
  const char* columns_env = std::getenv("VIGIL_HUNT_COLUMNS");
  const bool columns_allowed = columns_env == nullptr || std::string_view(columns_env) != "0";
  std::optional<ColumnPlan> plan = columns_allowed ? PlanColumns(query) : std::nullopt;
  Status st = plan ? ScanFromColumns(store, *plan, scan, matcher, pipeline.get(), process, progress, &c, &pipe_status)
                   : store->Scan(scan, process);
  VIGIL_RETURN_IF_ERROR(st);
  VIGIL_RETURN_IF_ERROR(pipe_status);
  return pipeline->Finish();
}

int RunHunt(const HuntOptions& o) {
  ScanOptions scan;
  Status st = ParseTimeOption("--from", o.from, &scan.from_ns);
  if (st.ok()) st = ParseTimeOption("--to", o.to, &scan.to_ns);
  if (!st.ok()) return Fatal(st);
  auto query = ParseQuery(o.query);
  if (!query.ok()) return Fatal(query.status());

  LookupSources lookups;
  for (const std::string& spec : o.lookups) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return Fatal(Status::InvalidArgument("--lookup " + spec + ": expected NAME=FILE.csv"));
    }
    lookups.csv_files[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  // Threat-intel feeds answer `lookup intel FIELD` (every feed) and
  // `lookup FEED FIELD` (one feed).
  std::unique_ptr<intel::IntelStore> intel_store;
  LookupTables intel_tables;
  if (!o.intel.empty()) {
    auto loaded = LoadIntelFeeds(FeedConfigsForPaths(o.intel), /*quiet=*/o.json);
    if (!loaded.ok()) return Fatal(loaded.status());
    intel_store = std::move(loaded).value();
    intel_tables = intel::IntelLookupTables(intel_store.get());
    lookups.tables = &intel_tables;
  }
  QueryPipelineOptions popts;
  popts.lookups = &lookups;
  popts.max_memory_bytes = o.max_memory_mib << 20;

  size_t shown = 0;
  Progress progress("hunt");
  EventPrinter events(o);
  TablePrinter table;
  bool outputs_events = true;
  auto keys = LoadMasterKeys(o.keys);
  if (!keys.ok()) return Fatal(keys.status());
  auto ws = Workspace::Open(o.data_dir, /*write=*/false, *keys);
  if (!ws.ok()) return Fatal(ws.status());
  HuntCounts counts;
  st = RunHuntQuery(
      (*ws)->store(), *query, o.query, scan, popts,
      [&](const Row& row) {
        progress.Finish();
        if (row.is_event()) {
          events.Print(row);
        } else if (o.json) {
          const std::string line = RowJson(row);
          std::fwrite(line.data(), 1, line.size(), stdout);
        } else {
          table.Add(row);
        }
        ++shown;
        return o.limit == 0 || shown < o.limit;
      },
      [&](const QueryPipeline& pipe) {
        outputs_events = pipe.outputs_events();
        if (o.ocsf && !outputs_events) {
          return Status::InvalidArgument(
              "--ocsf prints events, and this query's stages turn them into rows of columns; leave out --ocsf "
              "(name OCSF attributes as ocsf.<attribute> in the query instead)");
        }
        if (!o.json && !o.ocsf && outputs_events) {
          std::printf("%-24s %-11s %-44s %s\n", "TIME", "SOURCE", "PRINCIPAL", "EVENT");
        }
        return Status::Ok();
      },
      [&](const HuntCounts& c) {
        progress.Update(HumanCount(c.scanned) + " events scanned, " + HumanCount(c.matched) + " matched");
      },
      &counts);
  const size_t scanned = counts.scanned, matched = counts.matched, unreadable = counts.unreadable;
  progress.Finish();
  if (!st.ok()) return Fatal(st);
  table.Flush();
  if (unreadable) Warn(std::to_string(unreadable) + " stored records could not be read as JSON and were skipped");
  if (o.ocsf) {
    // Machine output stays one OCSF event per line; the tally goes to stderr.
    std::fprintf(stderr, "%zu events matched (%zu scanned); %zu with no OCSF class; unmapped_invalid: %zu raw values failed their OCSF type and were left out (listed under unmapped.invalid)\n",
                 shown, scanned, events.no_class, events.left_out);
  } else if (!o.json) {
    if (outputs_events) {
      std::printf("%zu events matched (%zu scanned)\n", shown, scanned);
    } else {
      std::printf("%zu %s (%zu events matched, %zu scanned)\n", shown, shown == 1 ? "row" : "rows", matched, scanned);
    }
    const ScanStats& b = counts.blocks;
    if (b.blocks > 0) {
      std::fprintf(stderr, "blocks: %s read of %s (skipped: %s by bloom filters, %s by min/max or account, %s by columns; %s answered from columns alone)\n",
                   HumanCount(b.blocks_read).c_str(), HumanCount(b.blocks).c_str(), HumanCount(b.blocks_pruned_bloom).c_str(),
                   HumanCount(b.blocks_pruned_index).c_str(), HumanCount(b.blocks_pruned_columns).c_str(),
                   HumanCount(b.blocks_from_columns).c_str());
    }
  }
  return kExitOk;
}

}  // namespace vigil::cli
