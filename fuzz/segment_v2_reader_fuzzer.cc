// Fuzzes the segment reader of either version (store/internal/segment_v2.h,
// SegmentFile) with arbitrary files: open, ids, pruning by a filter (index,
// blooms), filtered and full block reads. Nothing may crash, hang or allocate
// without bound; errors are fine.
//
// Checksums would stop the fuzzer at the door, so when the first input byte is
// odd the harness first "repairs" a v2 file's checksums (block headers and
// sections, index, id set, trailer) wherever the structure can be located,
// and clears its dictionary id (there is no dictionary file), which lets it
// reach the index, column, raw-record and bloom decoders with
// corrupt-but-checksummed data.
// Bit 1 of the first byte: the segment is read as encrypted (header flag set)
// with the key file that follows (2 bytes little-endian length, then the
// key file, wrapped by the harness's fixed master key `fuzz`), so sections go
// through the AES-256-GCM codec. Bit 2: the segment is then recompressed in
// place (warm tiering's RecompressSegment2) and, when every block of the
// original read back whole, the rewritten file must hold the same records.
// Bit 3: the rest is a dictionary file instead (ReadDictionaryFile; sealed
// with bit 1 and its key file).
// Seeds: fuzz/seeds/segment (v2 segments written without a dictionary, with a
// leading byte; the `v2_encrypted_*` ones with their key file; `dict_*`
// dictionary files).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/hash.h"
#include "env/mem_env.h"
#include "store/internal/segment_v2.h"
#include "store/keys.h"

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
void Put64(std::string* s, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * i));
}

// Recomputes the checksums of the blocks found by walking headers from offset
// 16, and copies each header's lengths and checksums into the index handle at
// the same position when the index can be walked that far.
void RepairChecksums(std::string* f) {
  const size_t size = f->size();
  if (size < kHeaderSize + kTrailerSize) return;
  const size_t t = size - kTrailerSize;
  const uint64_t ids_offset = Get64(*f, t);
  const uint64_t ids_count = Get64(*f, t + 8);
  const uint64_t index_offset = Get64(*f, t + 16);
  const uint32_t index_len = Get32(*f, t + 24);
  // Blocks.
  uint64_t off = kHeaderSize;
  while (off + kBlockHeaderSize2 <= t && Get32(*f, off) == kBlockMagic2) {
    const uint64_t cl = Get32(*f, off + 24), rl = Get32(*f, off + 32), fl = Get32(*f, off + 40);
    const uint64_t body = off + kBlockHeaderSize2;
    if (body + cl + rl + fl > t) break;
    Put32(f, off + 44, vigil::Checksum32(std::string_view(f->data() + body, cl)));
    Put32(f, off + 48, vigil::Checksum32(std::string_view(f->data() + body + cl, rl)));
    Put32(f, off + 52, vigil::Checksum32(std::string_view(f->data() + body + cl + rl, fl)));
    Put32(f, off + 60, vigil::Checksum32(std::string_view(f->data() + off, 60)));
    off = body + cl + rl + fl;
  }
  if (index_offset <= t && index_len <= t - index_offset) {
    // Clear the dictionary id: after source type and account, 3 x 8 bytes.
    size_t p = index_offset;
    const size_t end = index_offset + index_len;
    if (p + 4 <= end) {
      const uint32_t st = Get32(*f, p);
      if (st <= end - p - 4) {
        p += 4 + st;
        if (p + 4 <= end) {
          const uint32_t acct = Get32(*f, p);
          if (acct <= end - p - 4) {
            p += 4 + acct + 24;
            if (p + 8 <= end) Put64(f, p, 0);
          }
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

// The master key the encrypted seeds' key files are wrapped by.
const vigil::KeyRing& Ring() {
  static const vigil::KeyRing* ring = [] {
    auto* r = new vigil::KeyRing();
    (void)r->Add(*vigil::ParseMasterKey("fuzz:" + std::string(64, '0'), "fuzzer"));
    return r;
  }();
  return *ring;
}

// Every record of every block, or false when some block does not read back.
bool ReadAll(SegmentFile* f, std::vector<std::string>* out) {
  BlockData block;
  for (size_t i = 0; i < f->index().blocks.size(); ++i) {
    if (!f->CheckBlock(i, &block).ok()) return false;
    for (const RecordView& r : block.records) {
      out->push_back(std::string(r.id) + '\x1f' + std::to_string(r.time_ns) + '\x1f' + std::string(r.account) +
                     '\x1f' + std::string(r.principal) + '\x1f' + std::string(r.raw));
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool encrypted = (mode & 2) != 0;
  std::string key_file;
  if (encrypted) {
    if (rest.size() < 2) return 0;
    const size_t n = static_cast<unsigned char>(rest[0]) | (static_cast<size_t>(static_cast<unsigned char>(rest[1])) << 8);
    if (rest.size() < 2 + n) return 0;
    key_file.assign(rest.substr(2, n));
    rest.remove_prefix(2 + n);
  }
  std::string file(rest);
  static std::unique_ptr<vigil::Env> env = [] {
    auto e = vigil::NewMemEnv();
    (void)e->CreateDirs("/fuzz/.dict");
    return e;
  }();
  const vigil::KeyRing* keys = encrypted ? &Ring() : nullptr;
  if (mode & 8) {
    // The rest is a dictionary file (sealed ones open with the key file).
    const std::string dict_path = DictPath("/fuzz", 1);
    if (!env->WriteFile(dict_path, file).ok()) return 0;
    if (encrypted) {
      if (!env->WriteFile(KeyFilePath(dict_path), key_file).ok()) return 0;
    } else {
      (void)env->RemoveFile(KeyFilePath(dict_path));
    }
    std::string st, dict;
    bool sealed = false;
    if (ReadDictionaryFile(env.get(), dict_path, &st, &dict, keys, &sealed).ok() && sealed && !encrypted) {
      __builtin_trap();  // a sealed dictionary never opens without a key
    }
    return 0;
  }
  if (encrypted && file.size() >= kHeaderSize) file[12] = static_cast<char>(file[12] | kSegmentFlagEncrypted);
  if (mode & 1) RepairChecksums(&file);

  const std::string path = "/fuzz/input.seg";
  if (!env->WriteFile(path, file).ok()) return 0;
  if (encrypted) {
    if (!env->WriteFile(KeyFilePath(path), key_file).ok()) return 0;
  } else {
    (void)env->RemoveFile(KeyFilePath(path));
  }
  DictionaryCache dicts(env.get(), "/fuzz", keys);
  auto reader = SegmentFile::Open(env.get(), path, &dicts, keys);
  if (!reader.ok()) return 0;
  std::vector<vigil::Hash128> ids;
  const bool ids_ok = (*reader)->ReadIds(&ids).ok();

  vigil::ScanFilter filter;
  filter.equalities.push_back({"sourceIPAddress", {"10.0.0.1"}, [](std::string_view v) { return v.size() % 3 == 0; }});
  filter.equalities.push_back({"principal", {}, [](std::string_view v) { return !v.empty(); }});
  filter.compares.push_back({"bytes", vigil::ScanFilter::Compare::Op::kGt, 100});
  filter.text_runs.push_back("abc");
  vigil::ScanStats stats;
  BlockData block;
  // Column reads (hunt aggregations): dict, int and pseudo columns, with and
  // without times and the filter.
  vigil::ColumnRequest request;
  request.fields = {"source", "principal", "eventName", "bytes", "sourceIPAddress"};
  vigil::ColumnBlock columns;
  size_t total = 0;
  for (size_t i = 0; i < (*reader)->index().blocks.size(); ++i) {
    for (bool times : {false, true}) {
      auto got = (*reader)->ReadColumnBlock(i, request, times, times ? &filter : nullptr, &block, &columns, &stats);
      if (!got.ok() || !*got) continue;
      total += columns.times.size() + columns.pass.size();
      for (const auto& c : columns.columns) {
        for (uint32_t r = 0; r < columns.rows; ++r) {
          for (uint32_t k = c.begin[r]; k < c.begin[r + 1]; ++k) total += c.is_int ? 1 : c.text[c.values[k]].size();
        }
      }
    }
    auto may = (*reader)->BlockMayMatch(i, filter, &stats);
    if (may.ok() && *may && (*reader)->ReadBlock(i, &filter, &block, &stats).ok()) total += block.records.size();
    if (!(*reader)->CheckBlock(i, &block).ok()) continue;
    for (const RecordView& r : block.records) total += r.id.size() + r.raw.size() + r.account.size() + r.principal.size();
  }

  if (mode & 4) {
    std::vector<std::string> before, after;
    const bool whole = (*reader)->version() == kFormatVersion2 && ids_ok && ReadAll(reader->get(), &before);
    reader->reset();
    // A segment that read back whole is rewritten, and reads back the same.
    vigil::Status s = RecompressSegment2(env.get(), path, &dicts, keys, 3);
    if (whole && !s.ok()) __builtin_trap();
    if (s.ok()) {
      auto again = SegmentFile::Open(env.get(), path, &dicts, keys);
      if (whole && (!again.ok() || !ReadAll(again->get(), &after) || after != before)) __builtin_trap();
    }
    if (env->FileExists(path + ".tmp")) (void)env->RemoveFile(path + ".tmp");
  }
  return total == static_cast<size_t>(-1) ? 1 : 0;
}
