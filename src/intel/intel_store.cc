#include "intel/intel_store.h"

#include <sys/stat.h>

#include "intel/feed.h"

namespace vigil::intel {

IntelStore::IntelStore(std::vector<FeedConfig> feeds)
    : configs_(std::move(feeds)), parsed_(configs_.size()), stamps_(configs_.size()) {
  current_.store(IntelIndex::Build({}));
}

IntelStore::FileStamp IntelStore::Stamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, static_cast<int64_t>(st.st_size)};
}

Status IntelStore::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < configs_.size(); ++i) {
    FileStamp stamp = Stamp(configs_[i].path);
    auto feed = LoadFeedFile(configs_[i]);
    if (!feed.ok()) return feed.status();
    parsed_[i] = std::make_unique<ParsedFeed>(std::move(feed).value());
    stamps_[i] = stamp;
  }
  Publish();
  return Status::Ok();
}

IntelStore::ReloadReport IntelStore::Reload(bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  ReloadReport report;
  bool changed = false;
  for (size_t i = 0; i < configs_.size(); ++i) {
    // The stamp is taken before reading: a write during the read changes it
    // again, and the next reload reads the file once more.
    FileStamp stamp = Stamp(configs_[i].path);
    if (!force && parsed_[i] && stamp == stamps_[i]) continue;
    auto feed = LoadFeedFile(configs_[i]);
    if (!feed.ok()) {
      // Not retried until the file changes again (or a forced reload).
      stamps_[i] = stamp;
      report.errors.push_back(feed.status());
      continue;
    }
    parsed_[i] = std::make_unique<ParsedFeed>(std::move(feed).value());
    stamps_[i] = stamp;
    report.reloaded.push_back(parsed_[i]->name);
    changed = true;
  }
  if (changed) {
    Publish();
    report.published = true;
  }
  return report;
}

void IntelStore::Publish() {
  std::vector<const ParsedFeed*> feeds;
  for (const auto& p : parsed_)
    if (p) feeds.push_back(p.get());
  current_.store(IntelIndex::Build(feeds), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace vigil::intel
