#include "ingest/dir_watch.h"

#include <vector>

namespace vigil {

DirWatch::DirWatch(DirWatchConfig config, Intake* intake, Env* env, std::string checkpoint_dir,
                   SourceErrorFn on_error)
    : PollingSource(config.name, intake, config.interval_ms, std::move(on_error)),
      config_(std::move(config)),
      env_(env),
      store_(env, std::move(checkpoint_dir)) {}

DirWatch::~DirWatch() { Stop(); }

Status DirWatch::Open() {
  if (config_.directory.empty()) {
    return Status::InvalidArgument("directory source " + config_.name + ": no directory");
  }
  VIGIL_RETURN_IF_ERROR(store_.Load(&windows_));
  opened_ = true;
  return Status::Ok();
}

Status DirWatch::PollOnce() {
  if (!opened_) VIGIL_RETURN_IF_ERROR(Open());
  CountPoll();
  std::vector<std::string> files;
  VIGIL_RETURN_IF_ERROR(env_->ListFilesRecursive(config_.directory, &files)
                            .WithContext("directory source " + config_.name));
  std::map<std::string, uint64_t> seen;
  for (const std::string& rel : files) {
    if (stopping()) break;
    size_t slash = rel.rfind('/');
    std::string dir = slash == std::string::npos ? "" : rel.substr(0, slash);
    std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);
    if (base.empty() || base[0] == '.' || rel.find("/.") != std::string::npos) continue;
    KeyWindow& window = windows_[dir];
    if (window.Done(base)) continue;
    std::string path = JoinPath(config_.directory, rel);
    auto size = env_->FileSize(path);
    if (!size.ok()) continue;  // removed since the listing
    auto it = pending_.find(rel);
    bool stable = it != pending_.end() && it->second == *size && *size > 0;
    seen[rel] = *size;
    if (!stable) continue;

    if (*size > config_.max_input_bytes) {
      ReportSkipped(Status::LimitExceeded("directory source " + config_.name + ": skipped " + path + ": " +
                                        std::to_string(*size) + " bytes, over the limit of " +
                                        std::to_string(config_.max_input_bytes)));
    } else {
      IntakeRecord rec;
      rec.source = config_.name;
      rec.name = path;
      Status read = env_->ReadFile(path, &rec.bytes);
      if (!read.ok()) {
        if (!env_->FileExists(path)) continue;
        return read.WithContext("directory source " + config_.name);
      }
      if (rec.bytes.size() != *size) {  // still changing after all
        seen[rel] = rec.bytes.size();
        continue;
      }
      rec.parser = config_.parser;
      VIGIL_RETURN_IF_ERROR(Deliver(std::move(rec)));
    }
    seen.erase(rel);
    window.MarkDone(base, config_.window);
    VIGIL_RETURN_IF_ERROR(store_.Save(dir, window).WithContext("directory source " + config_.name));
  }
  // Files that disappeared are forgotten.
  pending_ = std::move(seen);
  return Status::Ok();
}

}  // namespace vigil
