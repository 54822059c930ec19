// Master keys for encryption at rest (docs/operations.md#encryption-at-rest).
//
// A master key is 32 random bytes with an id. It never encrypts event data:
// it wraps (AES-256-GCM) the random data key of each segment, so rotating it
// rewrites one small key file per segment and no segment data.
//
// Text form, in key files (one key a line, `#` comments, blank lines ignored)
// and in environment variables:
//
//   <id>:<64 hex digits>        e.g.  k2026:9f86d081884c7d65...
//
// Ids are 1 to 64 of [A-Za-z0-9._-]. A KeyRing holds several keys so that
// data wrapped by an old key stays readable while rotation moves it to the
// new one; the *active* key (the first one added) wraps every new segment.
//
// Thread safety: a KeyRing is immutable once built; share it freely (const).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "env/env.h"

namespace vigil {

struct MasterKey {
  std::string id;
  std::array<uint8_t, 32> bytes{};
  MasterKey() = default;
  MasterKey(const MasterKey&) = default;
  MasterKey& operator=(const MasterKey&) = default;
  ~MasterKey();  // wipes the key bytes
};

class KeyRing {
 public:
  // Adds a key. The first key added is the active one. InvalidArgument when
  // the id is already present with different bytes (the same key twice is fine).
  Status Add(const MasterKey& key);
  // The key that wraps new segments' data keys; null for an empty ring.
  const MasterKey* active() const { return keys_.empty() ? nullptr : &keys_.front(); }
  const MasterKey* Find(std::string_view id) const;
  bool empty() const { return keys_.empty(); }
  // Ids in order, the active one first, comma-separated (for messages).
  std::string Ids() const;

 private:
  std::vector<MasterKey> keys_;
};

// Parses "<id>:<64 hex digits>"; `where` names the input in errors (never the
// key bytes).
Result<MasterKey> ParseMasterKey(std::string_view text, const std::string& where);

// Where the master keys come from (command-line flags or configuration).
struct KeySources {
  std::vector<std::string> files;     // key files, one key per line
  std::vector<std::string> env_vars;  // environment variables holding one key each
  bool empty() const { return files.empty() && env_vars.empty(); }
};

// Loads every key, files first (in order), then environment variables; the
// first key found is the active one. Null for empty sources (no encryption).
// Errors name the file or variable and line: a missing file or variable, a
// malformed line, a file without keys.
Result<std::shared_ptr<const KeyRing>> LoadKeyRing(const KeySources& sources, Env* env = Env::Default());

// A new random key with this id, in text form ("<id>:<hex>"), for
// `vigil keys generate`.
Result<std::string> GenerateMasterKey(const std::string& id);

}  // namespace vigil
