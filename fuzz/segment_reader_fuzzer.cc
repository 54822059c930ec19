// Fuzzes the segment reader (store/internal/segment.h) with arbitrary files.
//
// The input is written to an in-memory Env as a segment file, opened, and every
// block, record and id is read. Nothing may crash, hang or allocate without
// bound; errors are fine.
//
// Checksums would stop the fuzzer at the door, so when the first input byte is
// odd the harness first "repairs" them (block, index, id-set and trailer
// checksums recomputed wherever the structure can be located), which lets it
// reach the index, block and record decoders with corrupt-but-checksummed data.
// Seeds: any valid segment (e.g. from store_test's data) with a leading byte.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/hash.h"
#include "env/mem_env.h"
#include "store/internal/segment.h"

namespace {

using namespace vigil::segment;

uint32_t Get32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}
uint64_t Get64(const std::string& s, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}
void Put32(std::string* s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * i));
}

void RepairChecksums(std::string* f) {
  const size_t size = f->size();
  if (size < kHeaderSize + kTrailerSize) return;
  const size_t t = size - kTrailerSize;
  const uint64_t ids_offset = Get64(*f, t);
  const uint64_t ids_count = Get64(*f, t + 8);
  const uint64_t index_offset = Get64(*f, t + 16);
  const uint32_t index_len = Get32(*f, t + 24);
  if (index_offset <= t && index_len <= t - index_offset) {
    // Block handles sit after: u32 len + source type + 2*i64 + u64 + u32 count.
    size_t p = index_offset;
    if (p + 4 <= index_offset + index_len) {
      uint32_t st_len = Get32(*f, p);
      p += 4;
      if (st_len <= index_offset + index_len - p && p + st_len + 28 <= index_offset + index_len) {
        p += st_len + 24;
        uint32_t count = Get32(*f, p);
        p += 4;
        for (uint32_t i = 0; i < count && p + kBlockHandleSize <= index_offset + index_len; ++i, p += kBlockHandleSize) {
          uint64_t off = Get64(*f, p);
          uint32_t clen = Get32(*f, p + 8);
          if (off > size || clen > size || off + kBlockHeaderSize + clen > size) continue;
          uint32_t sum = vigil::Checksum32(std::string_view(f->data() + off + kBlockHeaderSize, clen));
          Put32(f, p + 20, sum);
          Put32(f, off + 32, sum);
          Put32(f, off + 36, vigil::Checksum32(std::string_view(f->data() + off, 36)));
        }
      }
    }
    Put32(f, t + 32, vigil::Checksum32(std::string_view(f->data() + index_offset, index_len)));
  }
  if (ids_count <= size / kIdSize && ids_offset <= size && ids_offset + ids_count * kIdSize <= size) {
    Put32(f, t + 28, vigil::Checksum32(std::string_view(f->data() + ids_offset, ids_count * kIdSize)));
  }
  Put32(f, t + 36, vigil::Checksum32(std::string_view(f->data() + t, 36)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) RepairChecksums(&file);

  static std::unique_ptr<vigil::Env> env = [] {
    auto e = vigil::NewMemEnv();
    (void)e->CreateDirs("/fuzz");
    return e;
  }();
  if (!env->WriteFile("/fuzz/input.seg", file).ok()) return 0;
  auto reader = SegmentReader::Open(env.get(), "/fuzz/input.seg");
  if (!reader.ok()) return 0;
  std::vector<vigil::Hash128> ids;
  (void)(*reader)->ReadIds(&ids);
  std::string raw;
  std::vector<RecordView> records;
  size_t total = 0;
  for (size_t i = 0; i < (*reader)->index().blocks.size(); ++i) {
    if (!(*reader)->ReadBlock(i, &raw, &records).ok()) continue;
    for (const RecordView& r : records) total += r.id.size() + r.raw.size() + r.source_type.size();
  }
  return total == static_cast<size_t>(-1) ? 1 : 0;
}
