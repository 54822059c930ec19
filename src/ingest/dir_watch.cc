#include "ingest/dir_watch.h"

#include <algorithm>
#include <map>
#include <vector>

#include "ingest/source.h"

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

namespace {

// `files` (sorted paths) in delivery order across directories: each
// directory's files stay in name order (its checkpoint needs that), and the
// next file is taken from the directory whose next file carries the earliest
// delivery time (DeliveryTimeKey; none sorts first), path breaking ties. A
// tree of several accounts' and regions' deliveries is then read interleaved
// as delivered, as `vigil ingest` and the S3 source read them.
std::vector<std::string> DeliveryOrder(const std::vector<std::string>& files) {
  struct Dir {
    std::vector<const std::string*> files;
    size_t next = 0;
    std::string head;  // DeliveryTimeKey of files[next]
  };
  std::map<std::string_view, Dir> dirs;
  auto base = [](const std::string& rel) {
    size_t slash = rel.rfind('/');
    return std::string_view(rel).substr(slash == std::string::npos ? 0 : slash + 1);
  };
  for (const std::string& rel : files) {
    size_t slash = rel.rfind('/');
    dirs[std::string_view(rel).substr(0, slash == std::string::npos ? 0 : slash)].files.push_back(&rel);
  }
  auto later = [](const Dir* a, const Dir* b) {
    if (a->head != b->head) return a->head > b->head;
    return *a->files[a->next] > *b->files[b->next];
  };
  std::vector<Dir*> heap;
  for (auto& [name, d] : dirs) {
    d.head = DeliveryTimeKey(base(*d.files[0]));
    heap.push_back(&d);
  }
  std::make_heap(heap.begin(), heap.end(), later);
  std::vector<std::string> out;
  out.reserve(files.size());
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    Dir* d = heap.back();
    heap.pop_back();
    out.push_back(*d->files[d->next++]);
    if (d->next < d->files.size()) {
      d->head = DeliveryTimeKey(base(*d->files[d->next]));
      heap.push_back(d);
      std::push_heap(heap.begin(), heap.end(), later);
    }
  }
  return out;
}

}  // namespace

Status DirWatch::PollOnce() {
  if (!opened_) VIGIL_RETURN_IF_ERROR(Open());
  CountPoll();
  std::vector<std::string> files;
  VIGIL_RETURN_IF_ERROR(env_->ListFilesRecursive(config_.directory, &files)
                            .WithContext("directory source " + config_.name));
  std::map<std::string, uint64_t> seen;
  for (const std::string& rel : DeliveryOrder(files)) {
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
