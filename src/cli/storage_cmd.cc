// `vigil storage tier|report|history|hold|release|holds`: retention and
// tiering of stored segments, the ledger of every move, legal holds, and the
// cost report (docs/operations.md).
#include <cstdio>

#include "alert/metadata.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/workspace.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "ingest/minimise.h"
#include "ingest/rebuild_event.h"
#include "server/config.h"
#include "store/data_dir.h"
#include "tier/catalog.h"
#include "tier/cold_env.h"
#include "tier/storage_report.h"
#include "tier/tierer.h"

namespace vigil::cli {
namespace {

// The storage settings (from --config's `storage` section, else defaults)
// and the data directory (--data, else the file's data_dir, else the default).
struct Loaded {
  std::string data_dir;
  TieringConfig storage;
  KeySources keys;  // --key-file/--key-env, else the file's encryption section
};

Result<Loaded> Load(const StorageOptions& o) {
  Loaded l;
  l.data_dir = kDefaultDataDir;
  if (!o.config.empty()) {
    VIGIL_ASSIGN_OR_RETURN(server::ServeConfig c, server::LoadServeConfig(o.config));
    l.data_dir = c.data_dir;
    l.storage = std::move(c.storage);
    l.keys = c.encryption.sources();
  }
  if (!o.data_dir.empty()) l.data_dir = o.data_dir;
  if (!o.keys.empty()) l.keys = o.keys;
  return l;
}

std::string Bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

struct Opened {
  Loaded loaded;
  std::shared_ptr<const KeyRing> keys;
  std::unique_ptr<DataDir> dir;
  std::unique_ptr<StorageCatalog> catalog;
};

// `write`: take the data directory's lock (tiering moves files). The catalog
// alone (holds, history, report) is safe to write beside a running serve.
Result<Opened> Open(const StorageOptions& o, bool write) {
  Opened out;
  VIGIL_ASSIGN_OR_RETURN(out.loaded, Load(o));
  VIGIL_ASSIGN_OR_RETURN(out.keys, LoadMasterKeys(out.loaded.keys));
  DataDirOptions options;
  options.read_only = !write;
  VIGIL_ASSIGN_OR_RETURN(out.dir, DataDir::Open(out.loaded.data_dir, Env::Default(), options));
  VIGIL_ASSIGN_OR_RETURN(out.catalog, StorageCatalog::Open(JoinPath(out.dir->path(), kStorageCatalogFile)));
  return out;
}

Tierer MakeTierer(Opened& o) {
  return Tierer(Env::Default(), o.dir->events_dir(), JoinPath(o.dir->path(), kColdCacheDir), o.loaded.storage,
                o.catalog.get(), o.keys);
}

std::string LedgerJson(const LedgerEntry& e) {
  JsonObject o;
  o.Int("seq", e.seq).Str("started", FormatRfc3339(e.started_ns));
  if (e.finished_ns != 0) o.Str("finished", FormatRfc3339(e.finished_ns));
  else o.Null("finished");
  o.Str("action", e.action).Str("status", e.status);
  if (!e.path.empty()) o.Str("segment", e.path);
  o.Str("source_type", e.source_type);
  if (!e.from_tier.empty()) o.Str("from", e.from_tier);
  if (!e.to_tier.empty()) o.Str("to", e.to_tier);
  if (!e.path.empty()) o.UInt("events", e.events).UInt("bytes_before", e.bytes_before).UInt("bytes_after", e.bytes_after);
  if (!e.object.empty()) o.Str("object", e.object);
  if (!e.note.empty()) o.Str("note", e.note);
  return o.Done();
}

std::string HoldJson(const LegalHold& h) {
  JsonObject o;
  o.Int("id", h.id).Str("source_type", h.source_type);
  if (h.from_ns) o.Str("from", FormatRfc3339(*h.from_ns));
  else o.Null("from");
  if (h.to_ns) o.Str("to", FormatRfc3339(*h.to_ns));
  else o.Null("to");
  return o.Str("reason", h.reason).Str("created", FormatRfc3339(h.created_ns)).Done();
}

}  // namespace

int RunStorageTier(const StorageOptions& o) {
  auto opened = Open(o, /*write=*/true);
  if (!opened.ok()) return Fatal(opened.status());
  TierRunOptions run;
  std::optional<int64_t> now;
  Status st = ParseTimeOption("--now", o.now, &now);
  if (!st.ok()) return Fatal(st);
  if (now) run.now_ns = *now;
  if (!opened->loaded.storage.any_work())
    Warn("no retention policy configured (storage.retention) and compaction off: nothing will change");
  Tierer tierer = MakeTierer(*opened);
  tierer.set_rebuilder(RebuildEvent);
  Progress progress("tier");
  run.progress = [&](size_t done, size_t total, const std::string& what) {
    progress.Update(std::to_string(done) + "/" + std::to_string(total) + " " + what);
  };
  auto stats = tierer.Run(run);
  progress.Finish();
  if (!stats.ok()) return Fatal(stats.status());
  for (const Status& e : stats->errors) Warn(e.ToString());
  if (o.json) {
    JsonObject j;
    j.UInt("warmed", stats->warmed).UInt("cooled", stats->cooled).UInt("deleted", stats->deleted);
    j.UInt("held", stats->held).UInt("recovered", stats->recovered).UInt("rolled_back", stats->rolled_back);
    j.UInt("catalogued", stats->catalogued).UInt("warm_bytes_before", stats->warm_bytes_before);
    j.UInt("warm_bytes_after", stats->warm_bytes_after).UInt("cold_bytes", stats->cold_bytes);
    j.UInt("deleted_bytes", stats->deleted_bytes).UInt("compactions", stats->compactions);
    j.UInt("compacted_segments", stats->compacted_segments).UInt("compact_bytes_before", stats->compact_bytes_before);
    j.UInt("compact_bytes_after", stats->compact_bytes_after).UInt("errors", stats->errors.size());
    std::printf("%s\n", j.Done().c_str());
  } else {
    std::printf("tiered: %llu warmed, %llu moved to cold, %llu deleted, %llu held back by legal holds, "
                "%llu interrupted moves recovered, %llu failed; recompressed %s -> %s, uploaded %s, deleted %s\n",
                static_cast<unsigned long long>(stats->warmed), static_cast<unsigned long long>(stats->cooled),
                static_cast<unsigned long long>(stats->deleted), static_cast<unsigned long long>(stats->held),
                static_cast<unsigned long long>(stats->recovered + stats->rolled_back),
                static_cast<unsigned long long>(stats->errors.size()), Bytes(stats->warm_bytes_before).c_str(),
                Bytes(stats->warm_bytes_after).c_str(), Bytes(stats->cold_bytes).c_str(),
                Bytes(stats->deleted_bytes).c_str());
    if (stats->compactions > 0)
      std::printf("compacted: %llu small segments merged into %llu, %s -> %s\n",
                  static_cast<unsigned long long>(stats->compacted_segments),
                  static_cast<unsigned long long>(stats->compactions), Bytes(stats->compact_bytes_before).c_str(),
                  Bytes(stats->compact_bytes_after).c_str());
  }
  return stats->errors.empty() ? kExitOk : kExitFailures;
}

int RunStorageReport(const StorageOptions& o) {
  auto opened = Open(o, /*write=*/false);
  if (!opened.ok()) return Fatal(opened.status());
  StorageCatalog* catalog = opened->catalog.get();
  // Segments stored since the last tiering run are summarised now (added to
  // the catalog, nothing else changed: a running `vigil serve` owns the rest).
  Tierer tierer = MakeTierer(*opened);
  TierRunStats sync;
  Status st = tierer.SyncCatalog(&sync, /*add_only=*/true);
  if (!st.ok()) return Fatal(st);
  for (const Status& e : sync.errors) Warn(e.ToString());
  auto segments = catalog->Segments();
  if (!segments.ok()) return Fatal(segments.status());
  const StoragePrices& p = opened->loaded.storage.prices;
  auto rows = BuildStorageReport(*segments, p);
  // What data minimisation kept out of the store (meta.db state; none when
  // nothing was ever minimised or nothing was ingested yet).
  MinimiseCounters minimised;
  if (opened->dir->env()->FileExists(opened->dir->meta_db_path())) {
    auto meta = OpenSqliteMetadata(opened->dir->meta_db_path(), MetadataOptions{.read_only = true});
    if (meta.ok()) {
      auto counters = LoadMinimiseCounters(meta->get());
      if (counters.ok()) minimised = std::move(counters).value();
      else Warn("minimisation counters: " + counters.status().ToString());
    }
  }
  if (o.json) {
    for (const StorageReportRow& r : rows) {
      JsonObject j;
      j.Str("source_type", r.source_type).Str("tier", r.tier).UInt("segments", r.segments).UInt("events", r.events);
      j.UInt("raw_bytes", r.raw_bytes).UInt("stored_bytes", r.stored_bytes).Num("compression_ratio", r.ratio());
      char cost[32];
      std::snprintf(cost, sizeof cost, "%.9g", r.monthly_cost);  // small stores cost fractions of a cent
      j.Raw("monthly_cost_usd", cost);
      std::printf("%s\n", j.Done().c_str());
    }
    for (const auto& [source, kinds] : minimised)
      for (const auto& [kind, c] : kinds)
        std::printf("%s\n", JsonObject()
                                .Str("source_type", source)
                                .Str("minimised", kind)
                                .UInt("events", c.events)
                                .UInt("raw_bytes", c.bytes)
                                .UInt("summaries", c.summaries)
                                .UInt("summary_bytes", c.summary_bytes)
                                .Done()
                                .c_str());
    return kExitOk;
  }
  std::printf("%-20s %-5s %9s %14s %12s %12s %7s %12s\n", "SOURCE", "TIER", "SEGMENTS", "EVENTS", "RAW", "STORED",
              "RATIO", "$/MONTH");
  for (const StorageReportRow& r : rows) {
    bool total = r.source_type == "*";
    std::printf("%-20s %-5s %9s %14s %12s %12s %6.1fx %12.6f\n", total ? "total" : r.source_type.c_str(),
                total ? "" : r.tier.c_str(), HumanCount(r.segments).c_str(), HumanCount(r.events).c_str(),
                Bytes(r.raw_bytes).c_str(), Bytes(r.stored_bytes).c_str(), r.ratio(), r.monthly_cost);
  }
  std::printf("prices per GiB-month: hot $%g, warm $%g, cold $%g (storage.prices)\n", p.hot_per_gb_month,
              p.warm_per_gb_month, p.cold_per_gb_month);
  if (!minimised.empty()) {
    std::printf("\nkept out of the store by data minimisation (minimise:):\n");
    std::printf("%-20s %-10s %14s %12s %12s %12s\n", "SOURCE", "RULE", "EVENTS", "RAW", "SUMMARIES", "SUMMARY RAW");
    for (const auto& [source, kinds] : minimised)
      for (const auto& [kind, c] : kinds)
        std::printf("%-20s %-10s %14s %12s %12s %12s\n", source.c_str(), kind.c_str(), HumanCount(c.events).c_str(),
                    Bytes(c.bytes).c_str(), HumanCount(c.summaries).c_str(), Bytes(c.summary_bytes).c_str());
  }
  return kExitOk;
}

int RunStorageHistory(const StorageOptions& o) {
  auto opened = Open(o, /*write=*/false);
  if (!opened.ok()) return Fatal(opened.status());
  StorageCatalog* catalog = opened->catalog.get();
  auto entries = catalog->Ledger(/*pending_only=*/false, o.limit);
  if (!entries.ok()) return Fatal(entries.status());
  for (const LedgerEntry& e : *entries) {
    if (o.json) {
      std::printf("%s\n", LedgerJson(e).c_str());
      continue;
    }
    std::string what = e.action;
    if (!e.path.empty()) {
      what += " " + e.path + " (" + e.from_tier + (e.to_tier.empty() ? "" : " -> " + e.to_tier) + ", " +
              HumanCount(e.events) + " events, " + Bytes(e.bytes_before) +
              (e.action == "delete" ? "" : " -> " + Bytes(e.bytes_after)) + ")";
    }
    if (!e.object.empty()) what += " " + e.object;
    if (!e.note.empty()) what += ": " + e.note;
    std::printf("%6lld %s %-11s %s\n", static_cast<long long>(e.seq),
                FormatRfc3339(e.finished_ns != 0 ? e.finished_ns : e.started_ns).c_str(), e.status.c_str(),
                what.c_str());
  }
  return kExitOk;
}

int RunStorageHold(const StorageOptions& o) {
  LegalHold h;
  h.source_type = o.source.empty() ? "*" : o.source;
  h.reason = o.reason;
  Status st = ParseTimeOption("--from", o.from, &h.from_ns);
  if (st.ok()) st = ParseTimeOption("--to", o.to, &h.to_ns);
  if (!st.ok()) return Fatal(st);
  if (h.reason.empty()) return Fatal(Status::InvalidArgument("--reason is required (say why the data is held)"));
  auto opened = Open(o, /*write=*/false);
  if (!opened.ok()) return Fatal(opened.status());
  StorageCatalog* catalog = opened->catalog.get();
  auto id = catalog->AddHold(h);
  if (!id.ok()) return Fatal(id.status());
  h.id = *id;
  h.created_ns = NowNanos();
  if (o.json) std::printf("%s\n", HoldJson(h).c_str());
  else std::printf("legal hold %lld placed: nothing it covers will be deleted until `vigil storage release %lld`\n",
                   static_cast<long long>(*id), static_cast<long long>(*id));
  return kExitOk;
}

int RunStorageRelease(const StorageOptions& o) {
  auto opened = Open(o, /*write=*/false);
  if (!opened.ok()) return Fatal(opened.status());
  StorageCatalog* catalog = opened->catalog.get();
  Status st = catalog->ReleaseHold(o.hold_id, o.reason);
  if (!st.ok()) return Fatal(st);
  if (o.json) std::printf("%s\n", JsonObject().Int("released", o.hold_id).Done().c_str());
  else std::printf("legal hold %lld released\n", static_cast<long long>(o.hold_id));
  return kExitOk;
}

int RunStorageHolds(const StorageOptions& o) {
  auto opened = Open(o, /*write=*/false);
  if (!opened.ok()) return Fatal(opened.status());
  StorageCatalog* catalog = opened->catalog.get();
  auto holds = catalog->Holds();
  if (!holds.ok()) return Fatal(holds.status());
  for (const LegalHold& h : *holds) {
    if (o.json) {
      std::printf("%s\n", HoldJson(h).c_str());
      continue;
    }
    std::printf("%4lld %-16s %-24s %-24s %s\n", static_cast<long long>(h.id), h.source_type.c_str(),
                h.from_ns ? FormatRfc3339(*h.from_ns).c_str() : "(any time)",
                h.to_ns ? FormatRfc3339(*h.to_ns).c_str() : "(any time)", h.reason.c_str());
  }
  return kExitOk;
}

}  // namespace vigil::cli
