// Fuzzes what encryption at rest reads from disk (store/block_codec.h):
// segment key files and sealed block payloads.
//
// First byte even: the rest is a segment's key file, opened with a fixed
// master key ring, inspected and re-wrapped under a second key. Odd: the rest
// is a block payload (8 bytes of block index, then the sealed bytes) opened
// by a real segment codec. Nothing may crash or hand out plaintext that did
// not authenticate; errors are fine.
// Seeds: fuzz/seeds/segment/ (key files written by CreateSegmentKey).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "env/mem_env.h"
#include "store/block_codec.h"
#include "store/keys.h"

namespace {

using namespace vigil;

const KeyRing& Ring(bool rotated) {
  static const KeyRing* rings[2] = {nullptr, nullptr};
  if (rings[rotated] == nullptr) {
    auto* r = new KeyRing();
    if (rotated) (void)r->Add(*ParseMasterKey("fuzz2:" + std::string(64, '2'), "fuzz"));
    (void)r->Add(*ParseMasterKey("fuzz:" + std::string(63, '0') + "1", "fuzz"));
    rings[rotated] = r;
  }
  return *rings[rotated];
}

segment::BlockCodec* Codec() {
  static std::unique_ptr<Env> env = NewMemEnv();
  static std::unique_ptr<segment::BlockCodec> codec = [] {
    auto c = segment::CreateSegmentKey(env.get(), "/c.seg", Ring(false));
    if (!c.ok()) std::abort();
    return std::move(c).value();
  }();
  return codec.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    auto env = NewMemEnv();
    if (!env->WriteFile("/s.seg.key", rest).ok()) return 0;
    auto codec = segment::OpenSegmentKey(env.get(), "/s.seg", &Ring(false));
    std::string out;
    if (codec.ok()) (void)(*codec)->Open(0, rest, &out);
    (void)segment::ReadSegmentKeyInfo(env.get(), "/s.seg.key");
    auto rewrapped = segment::RewrapSegmentKey(env.get(), "/s.seg.key", Ring(true));
    // A key file that re-wraps opens under the new key to the same codec.
    if (rewrapped.ok() && *rewrapped && !segment::OpenSegmentKey(env.get(), "/s.seg", &Ring(true)).ok()) std::abort();
  } else {
    if (rest.size() < 8) return 0;
    uint64_t index = 0;
    for (int i = 0; i < 8; ++i) index |= static_cast<uint64_t>(static_cast<unsigned char>(rest[i])) << (8 * i);
    std::string out = "previous";
    if (!Codec()->Open(index, rest.substr(8), &out).ok() && !out.empty()) std::abort();  // no unauthenticated bytes
  }
  return 0;
}
