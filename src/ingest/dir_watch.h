// DirWatch: watches a directory tree of S3-layout drops (e.g. what `aws s3
// sync` or a log shipper writes: AWSLogs/<account>/CloudTrail/<region>/
// YYYY/MM/DD/<file>.json.gz) by polling, and hands each new file to the
// Intake once, as an IntakeRecord named by its path.
//
// A file is delivered when its size is the same on two consecutive polls (a
// file still being written waits) and is not empty. Names beginning with '.'
// are ignored (rsync and `aws s3 cp` write to hidden temporary names and
// rename). Files are treated as immutable: a file that grows after it was
// delivered is not read again, and a renamed file is a new file (its events
// are de-duplicated by id).
//
// Checkpoint: one KeyWindow per directory (source_checkpoint.h): every file
// name <= a high-water mark plus the last `window` names above it. So state
// is O(window) per directory, survives restarts, and a file is never
// delivered twice across restarts; a file that appears late is picked up
// unless `window` later-sorting files of its directory were delivered first.
// Deleting delivered files is fine (nothing refers to them).
#pragma once

#include <map>
#include <string>

#include "env/env.h"
#include "ingest/polling_source.h"
#include "ingest/source_checkpoint.h"

namespace vigil {

struct DirWatchConfig : PollingSourceConfig {
  DirWatchConfig() {
    name = "directory";
    interval_ms = 5'000;
  }
  std::string directory;  // the tree to watch
};

class DirWatch : public PollingSource {
 public:
  // `checkpoint_dir` holds this source's checkpoints (e.g. <data>/sources/<name>).
  // `intake` and `env` must outlive the source.
  DirWatch(DirWatchConfig config, Intake* intake, Env* env, std::string checkpoint_dir,
           SourceErrorFn on_error = nullptr);
  ~DirWatch() override;

  Status Open() override;
  Status PollOnce() override;

 private:
  DirWatchConfig config_;
  Env* env_;
  CheckpointStore store_;
  std::map<std::string, KeyWindow> windows_;  // directory relative to the root -> checkpoint
  std::map<std::string, uint64_t> pending_;   // relative path -> size seen at the last poll
};

}  // namespace vigil
