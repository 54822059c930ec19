// Administration of encrypted data directories: which master keys wrap which
// segments, and key rotation (`vigil keys status`, `vigil keys rotate`;
// docs/operations.md#encryption-at-rest).
//
// Thread safety: plain functions; rotation must run under the data
// directory's write lock (no writer creating segments under the old key).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "env/env.h"
#include "store/keys.h"

namespace vigil {

struct KeyStatus {
  uint64_t plain_segments = 0;                // written without encryption
  uint64_t encrypted_segments = 0;
  std::map<std::string, uint64_t> by_key;     // master key id -> segments it wraps
  // Encrypted v2 dictionaries (events/.dict/*.zdict.key): master key id ->
  // dictionaries it wraps. Every segment using one needs it too.
  std::map<std::string, uint64_t> dictionaries_by_key;
  std::vector<Status> problems;               // unreadable segments or key files, each naming the file
};

// Reads every segment header and key file under `events_dir`; needs no key.
Result<KeyStatus> ReadKeyStatus(Env* env, const std::string& events_dir);

struct RotationResult {
  uint64_t rewrapped = 0;  // key files now wrapped by the active key
  uint64_t current = 0;    // already wrapped by it
  std::vector<Status> failed;  // each naming the segment and the key id it needs
};

// Re-wraps every key file under `events_dir` (segments' and encrypted
// dictionaries') that is not wrapped by
// keys.active() (store/block_codec.h RewrapSegmentKey: atomic per file, no
// segment data rewritten). Keeps going past a file it cannot re-wrap (its
// key is not in the ring) and lists it. `progress(done, total)` may be null.
Result<RotationResult> RotateSegmentKeys(Env* env, const std::string& events_dir, const KeyRing& keys,
                                         const std::function<void(size_t, size_t)>& progress = nullptr);

}  // namespace vigil
