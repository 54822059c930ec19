// Checkpoints of the polling sources (S3 polling, directory watch): which
// objects or files of each partition were already handed to the Intake.
//
// A partition is a set of names that arrive in roughly sorted order: the keys
// under one CloudTrail account/region prefix, the files of one directory. Its
// KeyWindow says which names are done: every name <= `after`, and the names
// in `recent` (all > `after`). `recent` is bounded: when it grows past the
// window size its smallest names fold into `after`. So a name that arrives
// late is still picked up as long as fewer than `window` later-sorting names
// of its partition were done before it appeared; memory and checkpoint size
// are O(window) per partition.
//
// CheckpointStore keeps one file per partition under a directory
// (`<data>/sources/<source>/`), each replaced atomically (tmp + fsync +
// rename + directory fsync), so after a crash a partition's checkpoint is
// either the old or the new one. Sources save after the Intake accepted an
// object, so a crash in between re-delivers that object; the pipeline
// de-duplicates its events by id.
//
// Thread safety: not thread-safe; each source owns its store.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>

#include "common/status.h"
#include "env/env.h"

namespace vigil {

struct KeyWindow {
  std::string after;
  std::set<std::string> recent;

  bool Done(const std::string& name) const { return name <= after || recent.count(name) > 0; }
  // Marks `name` done, keeping at most `window` names in `recent`.
  void MarkDone(const std::string& name, size_t window);
};

class CheckpointStore {
 public:
  CheckpointStore(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}

  // Reads every partition's checkpoint. Corruption naming the file when one
  // cannot be read back (the source refuses to start rather than re-read or
  // skip data silently).
  Status Load(std::map<std::string, KeyWindow>* out);
  Status Save(const std::string& partition, const KeyWindow& window);

  const std::string& dir() const { return dir_; }

 private:
  Env* env_;
  std::string dir_;
  bool dir_created_ = false;
};

}  // namespace vigil
