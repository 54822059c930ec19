#include "cli/workspace.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

#include "cli/cli_util.h"
#include "common/time.h"
#include "detect/sigma/rule_set.h"
#include "detect/behaviour/behaviour_detector.h"
#include "detect/correlation/correlation_detector.h"
#include "detect/detector_list.h"
#include "detect/sigma/sigma_detector.h"
#include "ingest/pipeline.h"
#include "store/data_dir.h"
#include "store/dead_letters.h"
#include "tier/cold_env.h"

namespace vigil::cli {
namespace {

class StoreDeadLetters final : public DeadLetterSink {
 public:
  StoreDeadLetters(Env* env, std::string dir) : writer_(env, std::move(dir)) {}
  Status Write(const DeadLetter& dead) override { return writer_.Append(dead, NowNanos()); }
  Status Sync() override { return writer_.Sync(); }
  std::string Mark() override { return writer_.Mark(); }

 private:
  DeadLetterWriter writer_;
};

class DiskWorkspace final : public Workspace {
 public:
  ~DiskWorkspace() override {
    if (dead_) (void)dead_->Sync();
  }
  EventStore* store() override { return store_.get(); }
  MetadataStore* metadata() override { return metadata_.get(); }
  DeadLetterSink* dead_letters() override { return dead_.get(); }
  std::string dead_letter_dir() const override { return dir_->deadletter_dir(); }

  std::unique_ptr<ColdReadEnv> env_;  // outlives everything opened through it
  std::unique_ptr<DataDir> dir_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<MetadataStore> metadata_;
  std::unique_ptr<StoreDeadLetters> dead_;
};

}  // namespace

Result<std::shared_ptr<const KeyRing>> LoadMasterKeys(const KeySources& sources) {
  for (const std::string& file : sources.files) {
    struct stat st;
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      Warn("master key file " + file + " is readable by other users (mode " + mode + "); chmod 600 it");
    }
  }
  if (sources.empty()) {
    const char* v = std::getenv("VIGIL_MASTER_KEY");
    if (v != nullptr && *v != '\0') return LoadKeyRing(KeySources{{}, {"VIGIL_MASTER_KEY"}});
  }
  return LoadKeyRing(sources);
}

Result<std::unique_ptr<Workspace>> Workspace::Open(const std::string& data_dir, bool write,
                                                   std::shared_ptr<const KeyRing> keys,
                                                   const TieringConfig* storage) {
  auto ws = std::make_unique<DiskWorkspace>();
  DataDirOptions opts;
  opts.read_only = !write;
  // Segments moved to the cold tier read as if they were local.
  ColdReadOptions cold;
  cold.events_dir = JoinPath(data_dir, "events");
  cold.cache_dir = JoinPath(data_dir, kColdCacheDir);
  if (storage != nullptr) {
    cold.cache_bytes = storage->cache_bytes;
    cold.s3 = storage->cold.s3;
  }
  ws->env_ = std::make_unique<ColdReadEnv>(Env::Default(), std::move(cold));
  auto dir = DataDir::Open(data_dir, ws->env_.get(), opts);
  if (!dir.ok()) return dir.status();
  ws->dir_ = std::move(dir).value();
  SegmentStoreOptions store_options;
  store_options.keys = std::move(keys);
  auto store = ws->dir_->OpenEventStore(store_options);
  if (!store.ok()) return store.status();
  ws->store_ = std::move(store).value();
  auto meta = OpenSqliteMetadata(ws->dir_->meta_db_path());
  if (!meta.ok()) return meta.status();
  ws->metadata_ = std::move(meta).value();
  if (write) {
    Status st = FinishInterruptedCommit(ws->store_.get(), ws->metadata_.get());
    if (!st.ok()) return st.WithContext(data_dir);
  }
  if (write) ws->dead_ = std::make_unique<StoreDeadLetters>(Env::Default(), ws->dir_->deadletter_dir());
  return std::unique_ptr<Workspace>(std::move(ws));
}

Result<std::unique_ptr<Detector>> MakeDetector(const RuleSet& set) {
  std::unique_ptr<Detector> sigma = std::make_unique<SigmaDetector>(set.SharedRules(), set.SharedFilters());
  auto correlations = set.SharedCorrelations();
  if (!correlations.empty()) {
    auto correlating = CorrelationDetector::Create(std::move(sigma), set.SharedRules(), std::move(correlations));
    if (!correlating.ok()) return correlating.status().WithContext("loading correlations");
    sigma = std::move(correlating).value();
  }
  if (set.behaviours().empty()) return sigma;
  auto list = std::make_unique<DetectorList>();
  list->Add(std::move(sigma));
  list->Add(std::make_unique<BehaviourDetector>(set.SharedBehaviours()));
  return std::unique_ptr<Detector>(std::move(list));
}

Result<RuleLoad> LoadRules(const std::vector<std::string>& paths, const std::string& geoip_override) {
  RuleSet set;
  set.set_geoip_override(geoip_override);
  LintReport report;
  for (const auto& p : paths) {
    Status st = set.LoadPath(p, &report);
    if (!st.ok()) return st.WithContext("loading rules");
  }
  RuleLoad out;
  out.report = std::move(report);
  auto detector = MakeDetector(set);
  if (!detector.ok()) return detector.status();
  out.detector = std::move(detector).value();
  return out;
}

}  // namespace vigil::cli
