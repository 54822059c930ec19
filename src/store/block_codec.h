// Block codecs: the layer between a segment's block encoding (records,
// columns, compression) and the bytes in the file. A segment writer passes
// each finished block payload through its segment's codec (Seal) before
// checksumming and writing it; a reader checks the checksum, then Opens the
// payload before decompressing it. Segment formats (v1 today, v2) share it.
//
// The one codec today is AES-256-GCM for encryption at rest
// (docs/storage-format.md#encryption-at-rest): each segment has its own
// random 256-bit data key, stored wrapped by a master key (store/keys.h) in a
// small key file beside the segment, `<segment file>.key`, which key rotation
// replaces atomically without touching the segment. Every block is sealed with
// its own random 96-bit nonce and with associated data binding it to its
// segment (a random 128-bit segment id from the key file) and its block index,
// so a block copied to another position or segment, or altered, fails to
// authenticate (Corruption) instead of decoding to something else.
//
// How a segment format adopts it:
//   writer: codec = CreateSegmentKey(env, final_path, ring)  (before the first
//           block; the key file is durable before the segment can be published),
//           then codec->Seal(block_index, payload, &out) per block, and mark the
//           segment encrypted in its header (kSegmentFlagEncrypted);
//           AbandonSegmentKey(env, final_path) if the segment is abandoned.
//   reader: for a segment marked encrypted, codec = OpenSegmentKey(env, path,
//           ring) (lazily: ids and indexes are not encrypted), then
//           codec->Open(block_index, payload, &plain) per block.
//
// Thread safety: a BlockCodec is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "env/env.h"
#include "store/keys.h"

namespace vigil::segment {

// Segment header flag (v1: the header's 32-bit field at offset 12): blocks are
// sealed by the segment's AES-256-GCM codec, whose key file is `<file>.key`.
inline constexpr uint32_t kSegmentFlagEncrypted = 1;
inline constexpr char kKeyFileSuffix[] = ".key";

class BlockCodec {
 public:
  virtual ~BlockCodec() = default;
  // Bytes Seal adds to a payload.
  virtual size_t overhead() const = 0;
  // Appends the sealed form of `plain`, block `index` of this segment, to *out.
  virtual Status Seal(uint64_t index, std::string_view plain, std::string* out) = 0;
  // Replaces *out with the payload of block `index`. Corruption (naming the
  // segment and block) when it does not authenticate: altered, truncated, or
  // moved from another position or segment.
  virtual Status Open(uint64_t index, std::string_view sealed, std::string* out) = 0;
};

// "<segment_path>.key"
std::string KeyFilePath(std::string_view segment_path);

// Writer side: a new random data key for the segment that will be published
// at `segment_path`, wrapped by ring.active(); its key file is written
// atomically and durably (temp file, fsync, rename, directory fsync) before
// this returns, so a segment file never exists without its key.
Result<std::unique_ptr<BlockCodec>> CreateSegmentKey(Env* env, const std::string& segment_path, const KeyRing& ring);
// Removes the key file of a segment that was abandoned before publishing.
void AbandonSegmentKey(Env* env, const std::string& segment_path);

// Reader side: the codec of the encrypted segment at `segment_path`. Errors:
//   no ring:            FailedPrecondition "segment X is encrypted (master key K); no master key was given ..."
//   K not in the ring:  FailedPrecondition "master key(s) A do not open segment X: its data key is wrapped by master key K"
//   K does not unwrap:  FailedPrecondition "master key K does not open segment X: ..."
//   key file missing or damaged: Corruption naming it.
Result<std::unique_ptr<BlockCodec>> OpenSegmentKey(Env* env, const std::string& segment_path, const KeyRing* ring);

// What a segment key file says, without unwrapping anything.
struct SegmentKeyInfo {
  std::string key_id;  // the master key wrapping the data key
};
Result<SegmentKeyInfo> ReadSegmentKeyInfo(Env* env, const std::string& key_file_path);

// Key rotation: when the key file at `key_file_path` is wrapped by a key other
// than ring.active(), unwraps it (that key must be in the ring) and replaces
// the file atomically with the same data key and segment id wrapped by the
// active key. Returns true when it rewrote the file, false when it was
// already wrapped by the active key. The segment file is never touched.
Result<bool> RewrapSegmentKey(Env* env, const std::string& key_file_path, const KeyRing& ring);

}  // namespace vigil::segment
