// Segment file v2: columns, dictionary-compressed raw records and bloom
// filters per block (docs/storage-format.md, "Segment file, version 2"), and
// SegmentFile, which reads v1 and v2 behind one interface.
#include "store/internal/segment_v2.h"

#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>

// Compiled in (static functions) for MemoryHash below.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <span>
#include <unordered_map>

#include "common/glob.h"
#include "common/hex_id.h"
#include "common/time.h"
#include "store/internal/coding.h"

namespace vigil::segment {
namespace {

constexpr uint8_t kEncodingDict = 1;
constexpr uint8_t kEncodingInt = 2;
constexpr char kDictMagic[8] = {'V', 'I', 'G', 'I', 'L', 'D', 'C', 'T'};
constexpr uint32_t kDictVersion = 1;        // the dictionary in the clear
constexpr uint32_t kDictVersionSealed = 2;  // sealed by the block codec (encryption at rest)
constexpr uint32_t kMaxDictBytes = 1u << 20;
constexpr uint32_t kMaxColumns = 1024;
constexpr uint32_t kValueBloomBitsPerKey = 10;
constexpr uint32_t kValueBloomHashes = 7;
constexpr uint32_t kTextBloomHashes = 3;
constexpr uint32_t kMaxBloomBits = 1u << 28;

Status Corrupt(const std::string& path, const std::string& what) {
  return Status::Corruption("segment " + path + ": " + what);
}

// ---------------------------------------------------------------- blooms

struct BloomView {
  uint32_t column = 0;
  uint32_t k = 0;
  uint64_t m = 0;  // bits
  std::string_view bits;
  bool MayContain(uint64_t h) const {
    const uint64_t h1 = h & 0xFFFFFFFFu, h2 = h >> 32;
    for (uint32_t i = 0; i < k; ++i) {
      const uint64_t bit = (h1 + i * h2) % m;
      if ((static_cast<unsigned char>(bits[bit >> 3]) & (1u << (bit & 7))) == 0) return false;
    }
    return true;
  }
};

void PutBloom(std::string* out, uint32_t column, uint32_t bits_per_key, uint32_t k,
              const std::vector<uint64_t>& hashes) {
  uint64_t m = std::max<uint64_t>(64, (uint64_t{bits_per_key} * hashes.size() + 63) / 64 * 64);
  m = std::min<uint64_t>(m, kMaxBloomBits);
  std::string bits(m / 8, '\0');
  for (uint64_t h : hashes) {
    const uint64_t h1 = h & 0xFFFFFFFFu, h2 = h >> 32;
    for (uint32_t i = 0; i < k; ++i) {
      const uint64_t bit = (h1 + i * h2) % m;
      bits[bit >> 3] = static_cast<char>(static_cast<unsigned char>(bits[bit >> 3]) | (1u << (bit & 7)));
    }
  }
  PutVarint32(out, column);
  PutVarint32(out, k);
  PutVarint64(out, m);
  out->append(bits);
}

// Leaves each value of *hashes once, in no particular order (a bloom does
// not care), through an open-addressing table in *slots (scratch): a sort
// of every record's hash per column and block cost more.
void DistinctHashes(std::vector<uint64_t>* hashes, std::vector<uint64_t>* slots) {
  const size_t n = hashes->size();
  if (n < 2) return;
  size_t size = 16;
  while (size < 2 * n) size *= 2;
  slots->assign(size, 0);  // 0: empty (a zero hash is kept apart)
  const size_t mask = size - 1;
  bool zero = false;
  size_t kept = 0;
  uint64_t* h = hashes->data();
  for (size_t i = 0; i < n; ++i) {
    const uint64_t v = h[i];
    if (v == 0) {
      if (!zero) h[kept++] = 0;
      zero = true;
      continue;
    }
    size_t j = static_cast<size_t>((v * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
    for (;; j = (j + 1) & mask) {
      uint64_t& s = (*slots)[j];
      if (s == v) break;
      if (s == 0) {
        s = v;
        h[kept++] = v;
        break;
      }
    }
  }
  hashes->resize(kept);
}

bool ParseBlooms(std::string_view in, std::vector<BloomView>* out) {
  out->clear();
  Reader r(in);
  uint32_t n;
  if (!r.Varint32(&n) || n > kMaxColumns + 1) return false;
  for (uint32_t i = 0; i < n; ++i) {
    BloomView b;
    uint64_t m;
    if (!r.Varint32(&b.column) || !r.Varint32(&b.k) || !r.Varint64(&m)) return false;
    if (m == 0 || m % 64 != 0 || m > kMaxBloomBits || b.k == 0 || b.k > 32) return false;
    b.m = m;
    if (!r.Bytes(m / 8, &b.bits)) return false;
    out->push_back(b);
  }
  return r.empty();
}

// The hash of a trigram (its 3 bytes as a 24-bit big-endian number): one
// multiply and a xor-shift, cheap enough for every trigram of every value.
uint64_t TrigramHash(uint32_t code) {
  uint64_t h = (code + 1) * 0x9E3779B97F4A7C15ULL;
  return h ^ (h >> 29);
}

uint64_t ValueHash(std::string_view lower) { return Hash64(lower); }

// A hash of text for the writer's own tables (never stored): XXH3 compiled
// in, which for the short values of a record costs a fraction of a call.
inline uint64_t MemoryHash(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

// ---------------------------------------------------------------- packed records

// A packed raw record is its bytes with escapes, each the byte kRawEscape
// and a mark: kMarkEscape stands for a kRawEscape byte of the record,
// kMarkId for the record's id (its first occurrence, when the id is at least
// kMinSplicedBytes long), kMarkUuid for the record's next lower-case UUID,
// whose 16 packed bytes are kept apart, kMarkTime for the record's event
// time written as YYYY-MM-DDTHH:MM:SSZ (the time column has it), and
// kMarkColumn + c for the record's first value in column c (a quoted string
// value the column stores anyway).
// Random ids are most of what zstd cannot compress in a CloudTrail record:
// the id is then stored once (in the id column) and every other UUID in 16
// bytes instead of ~19; with the hot values out, what is left of a record is
// mostly its key structure, which compresses far better.
constexpr char kRawEscape = '\x01';
constexpr unsigned char kMarkEscape = 0, kMarkId = 1, kMarkUuid = 2, kMarkTime = 3, kMarkColumn = 16;
constexpr size_t kMinSplicedBytes = 4;
constexpr uint32_t kMaxSplicedColumn = 255 - kMarkColumn;


// Appends `raw` packed against `id` and `values` (marks and the texts they
// stand for) to *out and its UUIDs' packed bytes to *uuids; returns how many UUIDs it
// took out. `cuts` and `cut_strings` are scratch. `scanned` (may be null) is
// the pass over the record: its JSON strings (JsonRecordScanner::strings)
// are every double-quoted string of the record and the only places a UUID
// can be, which spares the search for them.
uint32_t PackRecord(std::string_view raw, std::string_view id, std::span<const Splice> values,
                    const JsonRecordScanner* scanned, std::vector<std::pair<size_t, size_t>>* cuts,
                    std::vector<uint8_t>* cut_strings, std::string* out, std::string* uuids) {
  const std::vector<JsonRecordScanner::Span>* strings = scanned != nullptr ? &scanned->strings() : nullptr;
  const char* base = raw.data();
  size_t lit = 0;  // start of the bytes not yet written
  uint32_t n = 0;
  auto literal = [&](size_t end) {
    while (lit < end) {
      const void* e = std::memchr(base + lit, kRawEscape, end - lit);
      const size_t stop = e != nullptr ? static_cast<size_t>(static_cast<const char*>(e) - base) : end;
      out->append(base + lit, stop - lit);
      lit = stop;
      if (stop < end) {
        out->push_back(kRawEscape);
        out->push_back(static_cast<char>(kMarkEscape));
        ++lit;
      }
    }
  };
  auto mark = [&](size_t at, size_t len, unsigned char what) {
    literal(at);
    out->push_back(kRawEscape);
    out->push_back(static_cast<char>(what));
    lit = at + len;
  };
  // UUIDs in [from, to): found by their first '-' (8 characters in).
  char packed[16];
  auto uuids_between = [&](size_t from, size_t to) {
    size_t i = from;  // earliest start of a UUID still possible
    while (i + 36 <= to) {
      const void* d = std::memchr(base + i + 8, '-', to - (i + 8));
      if (d == nullptr) break;
      const size_t start = static_cast<size_t>(static_cast<const char*>(d) - base) - 8;
      if (start + 36 <= to && PackHexId(raw.substr(start, 36), /*uuid=*/true, packed)) {
        mark(start, 36, kMarkUuid);
        uuids->append(packed, 16);
        ++n;
        i = start + 36;
      } else {
        i = start + 1;
      }
    }
  };
  // With the record's strings known, only those of 36 bytes or more can hold
  // a UUID: the gaps between cuts are searched only where they overlap one.
  static_assert(JsonRecordScanner::kLongString == 36);
  size_t next_long = 0;
  auto uuids_in = [&](size_t from, size_t to) {
    if (strings == nullptr) return uuids_between(from, to);
    const std::vector<uint32_t>& longs = scanned->long_strings();
    for (; next_long < longs.size(); ++next_long) {
      const JsonRecordScanner::Span& sp = (*strings)[longs[next_long]];
      if (sp.begin >= to) return;
      if (sp.end > from) uuids_between(std::max<size_t>(from, sp.begin), std::min<size_t>(to, sp.end));
      if (sp.end > to) return;  // the next gap may still overlap it
    }
  };
  // Cuts: (position, length << 8 | mark), not overlapping, the id first.
  // While every cut is a whole string of the record (`whole`), two cuts
  // overlap only when they are the same string (the strings are disjoint),
  // so a flag per string answers; otherwise the cuts are compared.
  // At most one cut per value and the id: room made once, so that a cut is
  // a store, not a call.
  if (cuts->size() < values.size() + 1) cuts->resize(values.size() + 1);
  std::pair<size_t, size_t>* const cut_at = cuts->data();
  size_t ncuts = 0;
  bool whole = strings != nullptr;
  if (whole) cut_strings->assign(strings->size(), 0);
  auto clashes = [&](size_t at, size_t len, uint32_t string) {
    if (whole && string != UINT32_MAX) return (*cut_strings)[string] != 0;
    for (size_t k = 0; k < ncuts; ++k) {
      const auto& [p, l] = cut_at[k];
      if (at < p + (l >> 8) && p < at + len) return true;
    }
    return false;
  };
  auto cut = [&](size_t at, size_t len, unsigned char what, uint32_t string) {
    cut_at[ncuts++] = {at, len << 8 | what};
    if (whole && string != UINT32_MAX) {
      (*cut_strings)[string] = 1;
    } else {
      whole = false;
    }
  };
  if (id.size() >= kMinSplicedBytes) {
    // With the record's strings known: the first that is the id as a whole,
    // which is where a log's own id is (CloudTrail's eventID).
    size_t at = std::string_view::npos;
    uint32_t string = UINT32_MAX;
    if (strings != nullptr) {
      auto is_id = [&](uint32_t k) {
        const JsonRecordScanner::Span& sp = (*strings)[k];
        return sp.end - sp.begin == id.size() && std::memcmp(base + sp.begin, id.data(), id.size()) == 0;
      };
      if (id.size() >= JsonRecordScanner::kLongString) {
        for (uint32_t k : scanned->long_strings()) {
          if (is_id(k)) {
            string = k;
            break;
          }
        }
      } else {
        for (uint32_t k = 0; k < strings->size(); ++k) {
          if (is_id(k)) {
            string = k;
            break;
          }
        }
      }
      if (string != UINT32_MAX) at = (*strings)[string].begin;
    }
    if (at == std::string_view::npos) {
      if (const void* p = memmem(base, raw.size(), id.data(), id.size()))
        at = static_cast<size_t>(static_cast<const char*>(p) - base);
    }
    if (at != std::string_view::npos) cut(at, id.size(), kMarkId, string);
  }
  // Values whose place the caller knows are cut there (unless the id is),
  // once the record is seen to hold the text there.
  size_t known = 0;
  for (const Splice& v : values) {
    if (v.at == std::string_view::npos) continue;
    ++known;
    if (v.at + v.text.size() <= raw.size() && raw.compare(v.at, v.text.size(), v.text) == 0 &&
        !clashes(v.at, v.text.size(), v.string))
      cut(v.at, v.text.size(), static_cast<unsigned char>(v.mark), v.string);
  }
  // Column values: each takes the first quoted string of the record that
  // holds exactly its text and is not cut already, in the order given (a
  // string with escapes holds other bytes than its value and stays). One
  // pass over the record's strings: a search of the whole record per value
  // was the largest single cost of writing a CloudTrail record.
  const size_t nvalues = std::min<size_t>(values.size(), 256);
  if (nvalues > 0) {
    // The values by a signature of their length and first and last four
    // bytes (values are at least kMinSplicedBytes long), chained in the
    // order given, so a string of the record costs one lookup.
    static_assert(kMinSplicedBytes >= 4);
    auto signature = [](const char* p, size_t len) {
      uint32_t a, b;
      std::memcpy(&a, p, 4);
      std::memcpy(&b, p + len - 4, 4);
      return (a * 0x9E3779B1u) ^ (b * 0x85EBCA77u) ^ (static_cast<uint32_t>(len) * 0xC2B2AE3Du);
    };
    // A power of two, over twice the values (256 at most): few values, few
    // slots to clear per record.
    size_t slots = 16;
    while (slots < 2 * nvalues) slots *= 2;
    const size_t kSlots = slots;
    int16_t head[512];
    int16_t next[256];
    uint32_t sig[256];
    std::fill(head, head + kSlots, int16_t{-1});
    uint64_t lengths[4] = {0, 0, 0, 0};  // the values' lengths, when under 256
    for (size_t v = nvalues; v-- > 0;) {  // backwards: each chain in the order given
      const std::string_view text = values[v].text;
      next[v] = -1;
      if (text.size() < 4 || text.size() >= 256 || values[v].at != std::string_view::npos) continue;
      lengths[text.size() >> 6] |= uint64_t{1} << (text.size() & 63);
      sig[v] = signature(text.data(), text.size());
      int16_t& h = head[sig[v] & (kSlots - 1)];
      next[v] = h;
      h = static_cast<int16_t>(v);
    }
    uint64_t taken[4] = {0, 0, 0, 0};
    size_t left = nvalues - std::min(known, nvalues);
    // The quoted string [open + 1, close) (strings()[string], when known):
    // cut when it is a value's text.
    auto match = [&](size_t open, size_t close, bool escaped, uint32_t string) {
      const size_t len = close - open - 1;
      if (!escaped && len >= 4 && len < 256 && (lengths[len >> 6] >> (len & 63) & 1)) {
        const std::string_view str(base + open + 1, len);
        const uint32_t s = signature(str.data(), len);
        for (int16_t v = head[s & (kSlots - 1)]; v >= 0; v = next[v]) {
          if (sig[v] != s || (taken[v >> 6] >> (v & 63) & 1) || values[v].text != str) continue;
          if (!clashes(open + 1, len, string)) {  // (the id or a value in its known place may be cut there)
            cut(open + 1, len, static_cast<unsigned char>(values[v].mark), string);
            taken[v >> 6] |= uint64_t{1} << (v & 63);
            --left;
          }
          break;
        }
      }
    };
    const size_t n = raw.size();
    if (strings != nullptr) {
      for (size_t k = 0; k < strings->size() && left > 0; ++k) {
        const JsonRecordScanner::Span& sp = (*strings)[k];
        const size_t len = sp.end - sp.begin;  // most strings fail on their length alone
        if (len >= 256 || (lengths[len >> 6] >> (len & 63) & 1) == 0) continue;
        match(sp.begin - 1, sp.end, sp.escaped, static_cast<uint32_t>(k));
      }
    }
    size_t i = strings != nullptr ? n : 0;
    while (left > 0 && i < n) {
      const void* q = std::memchr(base + i, '"', n - i);
      if (q == nullptr) break;
      const size_t open = static_cast<size_t>(static_cast<const char*>(q) - base);
      size_t close = open + 1;
      bool escaped = false;
      for (;;) {
        const void* c = close < n ? std::memchr(base + close, '"', n - close) : nullptr;
        if (c == nullptr) {
          close = n;
          break;
        }
        close = static_cast<size_t>(static_cast<const char*>(c) - base);
        size_t backslashes = 0;
        while (close - backslashes > open + 1 && base[close - backslashes - 1] == '\\') ++backslashes;
        if (backslashes % 2 == 0) break;
        escaped = true;
        ++close;
      }
      if (close >= n) break;
      match(open, close, escaped, UINT32_MAX);
      i = close + 1;
    }
  }
  // By position (cuts do not overlap, so positions differ); a record has
  // a dozen or so: insertion sort.
  for (size_t k = 1; k < ncuts; ++k) {
    const std::pair<size_t, size_t> c = cut_at[k];
    size_t j = k;
    for (; j > 0 && cut_at[j - 1].first > c.first; --j) cut_at[j] = cut_at[j - 1];
    cut_at[j] = c;
  }
  size_t from = 0;
  for (size_t k = 0; k < ncuts; ++k) {
    const auto [at, len_mark] = cut_at[k];
    uuids_in(from, at);
    mark(at, len_mark >> 8, static_cast<unsigned char>(len_mark & 0xff));
    from = at + (len_mark >> 8);
  }
  uuids_in(from, raw.size());
  literal(raw.size());
  return n;
}

// Appends the record `packed` stands for to *out, taking its `count` UUIDs
// from the front of *uuids and the text of the other marks from
// `lookup(mark, &text)` (false: no such text); false when it is malformed or
// *out would pass `limit` bytes.
template <typename Lookup>
bool UnpackRecord(std::string_view packed, std::string_view id, uint32_t count, std::string_view* uuids,
                  const Lookup& lookup, size_t limit, std::string* out) {
  const char* base = packed.data();
  size_t i = 0;
  uint32_t used = 0;
  std::string_view text;
  while (i < packed.size()) {
    const void* e = std::memchr(base + i, kRawEscape, packed.size() - i);
    const size_t stop = e != nullptr ? static_cast<size_t>(static_cast<const char*>(e) - base) : packed.size();
    out->append(base + i, stop - i);
    if (stop == packed.size()) break;
    if (stop + 1 == packed.size()) return false;
    const unsigned char what = static_cast<unsigned char>(packed[stop + 1]);
    if (what == kMarkEscape) {
      out->push_back(kRawEscape);
    } else if (what == kMarkId) {
      out->append(id);
    } else if (what == kMarkUuid) {
      if (used == count || uuids->size() < 16) return false;
      UnpackHexId(uuids->data(), /*uuid=*/true, out);
      uuids->remove_prefix(16);
      ++used;
    } else if (what >= kMarkTime && lookup(what, &text)) {
      out->append(text);
    } else {
      return false;
    }
    if (out->size() > limit) return false;
    i = stop + 2;
  }
  return used == count && out->size() <= limit;
}

// The packed id column: per record a form byte (IdForm), then the 16 packed
// bytes, or for kText a varint length and the bytes.
void PutPackedId(std::string* out, std::string_view id) {
  char packed[16];
  const IdForm form = PackId(id, packed);
  out->push_back(static_cast<char>(form));
  if (form == IdForm::kText) {
    PutLengthPrefixed(out, id);
  } else {
    out->append(packed, 16);
  }
}

// Decodes `n` packed ids into *text (replaced) and their views into *ids.
bool DecodePackedIds(std::string_view body, uint32_t n, std::string* text, std::vector<std::string_view>* ids) {
  Reader r(body);
  text->clear();
  std::vector<std::pair<uint32_t, uint32_t>> spans(n);
  for (uint32_t k = 0; k < n; ++k) {
    uint8_t form;
    std::string_view v;
    if (!r.Byte(&form)) return false;
    const size_t at = text->size();
    if (form == static_cast<uint8_t>(IdForm::kText)) {
      if (!r.LengthPrefixed(&v)) return false;
      text->append(v);
    } else if (form == static_cast<uint8_t>(IdForm::kUuid) || form == static_cast<uint8_t>(IdForm::kHex32)) {
      if (!r.Bytes(16, &v)) return false;
      UnpackHexId(v.data(), form == static_cast<uint8_t>(IdForm::kUuid), text);
    } else {
      return false;
    }
    spans[k] = {static_cast<uint32_t>(at), static_cast<uint32_t>(text->size() - at)};
  }
  if (!r.empty()) return false;
  ids->resize(n);
  for (uint32_t k = 0; k < n; ++k) (*ids)[k] = std::string_view(text->data() + spans[k].first, spans[k].second);
  return true;
}

// ---------------------------------------------------------------- column decoding

// One decoded dict or int column: per row, a range of values.
struct DecodedColumn {
  bool present = false;
  bool is_int = false;
  std::vector<uint32_t> row_begin;  // row r: values [row_begin[r], row_begin[r+1]); unknown rows flagged
  std::vector<uint8_t> unknown;
  std::vector<std::string_view> dict;   // dict encoding
  std::vector<uint32_t> value_ids;      // dict encoding: index into dict
  std::vector<int64_t> ints;            // int encoding
};

bool DecodeValueColumn(std::string_view body, uint32_t rows, DecodedColumn* col) {
  if (body.empty()) {  // a bloom-only column: values not stored
    col->present = true;
    col->is_int = false;
    col->row_begin.assign(rows + 1, 0);
    col->unknown.assign(rows, 1);
    col->dict.clear();
    col->value_ids.clear();
    col->ints.clear();
    return true;
  }
  Reader r(body);
  uint8_t enc;
  if (!r.Byte(&enc) || (enc != kEncodingDict && enc != kEncodingInt)) return false;
  col->present = true;
  col->is_int = enc == kEncodingInt;
  col->row_begin.assign(rows + 1, 0);
  col->unknown.assign(rows, 0);
  col->dict.clear();
  col->value_ids.clear();
  col->ints.clear();
  if (!col->is_int) {
    uint32_t n;
    if (!r.Varint32(&n) || n > body.size()) return false;
    col->dict.resize(n);
    for (uint32_t i = 0; i < n; ++i)
      if (!r.LengthPrefixed(&col->dict[i])) return false;
  }
  int64_t prev = 0;
  for (uint32_t row = 0; row < rows; ++row) {
    uint32_t c;
    if (!r.Varint32(&c) || c > r.remaining() + 1) return false;
    col->row_begin[row] = static_cast<uint32_t>(col->is_int ? col->ints.size() : col->value_ids.size());
    if (c == 0) {
      col->unknown[row] = 1;
      continue;
    }
    for (uint32_t k = 0; k + 1 < c; ++k) {
      if (col->is_int) {
        int64_t d;
        if (!r.SignedVarint(&d)) return false;
        prev = static_cast<int64_t>(static_cast<uint64_t>(prev) + static_cast<uint64_t>(d));
        col->ints.push_back(prev);
      } else {
        uint32_t id;
        if (!r.Varint32(&id) || id >= col->dict.size()) return false;
        col->value_ids.push_back(id);
      }
    }
  }
  col->row_begin[rows] = static_cast<uint32_t>(col->is_int ? col->ints.size() : col->value_ids.size());
  return r.empty();
}

// The text of value `v` of a decoded column (ints printed into buf).
std::string_view ValueText(const DecodedColumn& col, uint32_t v, char (&buf)[24]) {
  if (!col.is_int) return col.dict[col.value_ids[v]];
  auto res = std::to_chars(buf, buf + sizeof buf, col.ints[v]);
  return std::string_view(buf, static_cast<size_t>(res.ptr - buf));
}

bool Compares(ScanFilter::Compare::Op op, double v, double bound) {
  switch (op) {
    case ScanFilter::Compare::Op::kLt:
      return v < bound;
    case ScanFilter::Compare::Op::kLe:
      return v <= bound;
    case ScanFilter::Compare::Op::kGt:
      return v > bound;
    case ScanFilter::Compare::Op::kGe:
      return v >= bound;
  }
  return true;
}

// Could some value in [lo, hi] compare true?
bool RangeMayCompare(ScanFilter::Compare::Op op, double lo, double hi, double bound) {
  switch (op) {
    case ScanFilter::Compare::Op::kLt:
      return lo < bound;
    case ScanFilter::Compare::Op::kLe:
      return lo <= bound;
    case ScanFilter::Compare::Op::kGt:
      return hi > bound;
    case ScanFilter::Compare::Op::kGe:
      return hi >= bound;
  }
  return true;
}

// Appends a block's sections to the block being built in *out (its header's
// 64 bytes first): each section is compressed, then (with a codec) sealed as
// codec block `index * 4 + section` (0 columns, 1 raw, 2 filters); lengths
// and checksums are of the stored bytes.
struct SectionWriter {
  ZSTD_CCtx* cctx;
  std::string* scratch;
  BlockCodec* codec;  // may be null
  uint64_t index;
  std::string* out;
  // Returns the stored length. `cdict` (may be null) overrides `level`.
  Result<uint32_t> Store(uint64_t section, std::string_view in, const ZSTD_CDict* cdict, int level, bool compress) {
    const size_t at = out->size();
    std::string_view payload = in;
    if (compress) {
      const size_t bound = ZSTD_compressBound(in.size());
      // Grown only: resizing down and up again would zero-fill each time.
      if (scratch->size() < bound) scratch->resize(bound);
      size_t n = cdict != nullptr
                     ? ZSTD_compress_usingCDict(cctx, scratch->data(), bound, in.data(), in.size(), cdict)
                     : ZSTD_compressCCtx(cctx, scratch->data(), bound, in.data(), in.size(), level);
      if (ZSTD_isError(n)) return Status::Internal(std::string("zstd compress: ") + ZSTD_getErrorName(n));
      payload = std::string_view(scratch->data(), n);
    }
    if (codec != nullptr) {
      VIGIL_RETURN_IF_ERROR(codec->Seal(index * 4 + section, payload, out));
    } else {
      out->append(payload);
    }
    return static_cast<uint32_t>(out->size() - at);
  }
};

// The 64-byte block header for `h` (docs/storage-format.md, v2 "Block").
void EncodeBlockHeader2(const BlockHandle2& h, char* out) {
  EncodeFixed32(out + 0, kBlockMagic2);
  EncodeFixed32(out + 4, h.record_count);
  EncodeFixed64(out + 8, static_cast<uint64_t>(h.min_time_ns));
  EncodeFixed64(out + 16, static_cast<uint64_t>(h.max_time_ns));
  EncodeFixed32(out + 24, h.columns_len);
  EncodeFixed32(out + 28, h.columns_raw_len);
  EncodeFixed32(out + 32, h.raw_len);
  EncodeFixed32(out + 36, h.raw_raw_len);
  EncodeFixed32(out + 40, h.filters_len);
  EncodeFixed32(out + 44, h.columns_checksum);
  EncodeFixed32(out + 48, h.raw_checksum);
  EncodeFixed32(out + 52, h.filters_checksum);
  EncodeFixed32(out + 56, 0);
  EncodeFixed32(out + 60, Checksum32(std::string_view(out, 60)));
}

// Fills the section checksums of *h from the block in *out (header space and
// the three sections, lengths set) and writes its header.
void FinishBlock2(BlockHandle2* h, std::string* out) {
  const char* p = out->data() + kBlockHeaderSize2;
  h->columns_checksum = Checksum32(std::string_view(p, h->columns_len));
  h->raw_checksum = Checksum32(std::string_view(p + h->columns_len, h->raw_len));
  h->filters_checksum = Checksum32(std::string_view(p + h->columns_len + h->raw_len, h->filters_len));
  EncodeBlockHeader2(*h, out->data());
}

}  // namespace

// ---------------------------------------------------------------- schema

std::vector<ColumnSpec> SchemaFor(std::string_view source_type) {
  std::vector<ColumnSpec> s = {{"time", 0},    {"ingest_time", 0},          {"flags", 0},
                               {"id", kColumnBloom}, {"account", kColumnBloom}, {"principal", kColumnBloom}};
  // 0: values only; 1: values and a bloom; 2: a bloom only (unique ids: the
  // raw record has them, a column would store them a second time).
  auto hot = [&s](std::initializer_list<std::pair<const char*, int>> cols) {
    static constexpr uint8_t kRoles[] = {kColumnHot, kColumnHot | kColumnBloom, kColumnHot | kColumnBloom | kColumnNoValues};
    for (const auto& [name, kind] : cols) s.push_back({name, kRoles[kind]});
  };
  if (source_type == "cloudtrail") {
    // eventID is the event's id (the `id` column) whenever the record has one.
    // userIdentity.arn is mostly the principal, so its values cost little
    // beside the principal column in the same zstd frame (about 10 bytes a
    // thousand events), and a hunt grouping by it reads no raw record.
    hot({{"eventName", 0}, {"eventSource", 0}, {"awsRegion", 0}, {"sourceIPAddress", 1}, {"userAgent", 0},
         {"errorCode", 0}, {"userIdentity.accessKeyId", 1}, {"userIdentity.arn", 1}, {"requestID", 2},
         {"recipientAccountId", 0}, {"userIdentity.principalId", 0}, {"userIdentity.userName", 0},
         {"userIdentity.sessionContext.sessionIssuer.arn", 0}});
  } else if (source_type == "vpcflow") {
    hot({{"srcaddr", 1}, {"dstaddr", 1}, {"srcport", 0}, {"dstport", 0}, {"protocol", 0}, {"action", 0},
         {"bytes", 0}, {"packets", 0}});
  } else if (source_type == "route53resolver") {
    hot({{"query_name", 1}, {"query_type", 0}, {"rcode", 0}, {"srcaddr", 1}, {"vpc_id", 0}});
  } else if (source_type == "alb") {
    hot({{"client_ip", 1}, {"target_ip", 1}, {"request_verb", 0}, {"request_path", 1}, {"elb_status_code", 0},
         {"target_status_code", 0}, {"received_bytes", 0}, {"sent_bytes", 0}, {"user_agent", 0}, {"trace_id", 2}});
  } else if (source_type == "s3access") {
    hot({{"remote_ip", 1}, {"requester", 1}, {"operation", 0}, {"bucket", 0}, {"key", 1}, {"http_status", 0},
         {"error_code", 0}, {"bytes_sent", 0}, {"request_id", 2}, {"user_agent", 0}});
  }
  return s;
}

// ---------------------------------------------------------------- dictionaries

std::string DictPath(const std::string& root, uint64_t id) {
  char name[40];
  std::snprintf(name, sizeof name, "%016llx%s", static_cast<unsigned long long>(id), kDictSuffix);
  return JoinPath(JoinPath(root, kDictDir), name);
}

Status ReadDictionaryFile(Env* env, const std::string& path, std::string* source_type, std::string* dict,
                          const KeyRing* keys, bool* encrypted) {
  std::string buf;
  VIGIL_RETURN_IF_ERROR(env->ReadFile(path, &buf));
  auto bad = [&](const std::string& what) { return Status::Corruption("dictionary " + path + ": " + what); };
  if (buf.size() < 24 || buf.size() > kMaxDictBytes + 4096) return bad("wrong size");
  if (Checksum32(std::string_view(buf).substr(0, buf.size() - 4)) != DecodeFixed32(buf.data() + buf.size() - 4)) {
    return bad("checksum mismatch");
  }
  Reader r(std::string_view(buf).substr(0, buf.size() - 4));
  std::string_view magic, st, d;
  uint32_t version, st_len, d_len;
  if (!r.Bytes(8, &magic) || magic != std::string_view(kDictMagic, 8)) return bad("bad magic");
  if (!r.Fixed32(&version) || (version != kDictVersion && version != kDictVersionSealed)) {
    return bad("unknown version");
  }
  if (!r.Fixed32(&st_len) || !r.Bytes(st_len, &st) || !r.Fixed32(&d_len) || !r.Bytes(d_len, &d) || !r.empty()) {
    return bad("malformed");
  }
  if (encrypted != nullptr) *encrypted = version == kDictVersionSealed;
  source_type->assign(st);
  if (version == kDictVersionSealed) {
    // Sealed as block 0 of the dictionary's own data key (its key file).
    VIGIL_ASSIGN_OR_RETURN(auto codec, OpenSegmentKey(env, path, keys));
    return codec->Open(0, d, dict);
  }
  dict->assign(d);
  return Status::Ok();
}

Result<uint64_t> WriteDictionaryFile(Env* env, const std::string& root, std::string_view source_type,
                                     std::string_view dict, const KeyRing* keys) {
  const uint64_t id = Hash64(dict) | 1;  // never 0 ("no dictionary")
  const std::string path = DictPath(root, id);
  if (env->FileExists(path)) return id;
  const bool seal = keys != nullptr && keys->active() != nullptr;
  std::string buf(kDictMagic, 8);
  PutFixed32(&buf, seal ? kDictVersionSealed : kDictVersion);
  PutFixed32(&buf, static_cast<uint32_t>(source_type.size()));
  buf.append(source_type);
  const std::string dir = JoinPath(root, kDictDir);
  VIGIL_RETURN_IF_ERROR(env->CreateDirs(dir));
  VIGIL_RETURN_IF_ERROR(env->SyncDir(root));
  if (seal) {
    // The key file is durable before the dictionary exists, so a dictionary
    // is never without its key (a crash between leaves a key file alone).
    VIGIL_ASSIGN_OR_RETURN(auto codec, CreateSegmentKey(env, path, *keys));
    std::string sealed;
    VIGIL_RETURN_IF_ERROR(codec->Seal(0, dict, &sealed));
    PutFixed32(&buf, static_cast<uint32_t>(sealed.size()));
    buf.append(sealed);
  } else {
    PutFixed32(&buf, static_cast<uint32_t>(dict.size()));
    buf.append(dict);
  }
  PutFixed32(&buf, Checksum32(buf));
  VIGIL_RETURN_IF_ERROR(env->WriteFileAtomic(path, buf).WithContext("writing dictionary " + path));
  return id;
}

Result<uint64_t> FindDictionary(Env* env, const std::string& root, std::string_view source_type,
                                const KeyRing* keys) {
  std::vector<DirEntry> entries;
  Status s = env->ListDir(JoinPath(root, kDictDir), &entries);
  if (s.code() == StatusCode::kNotFound) return uint64_t{0};
  VIGIL_RETURN_IF_ERROR(s);
  std::vector<std::string> names;
  for (const DirEntry& e : entries) {
    if (!e.is_dir && e.name.size() == 16 + std::strlen(kDictSuffix) && e.name.substr(16) == kDictSuffix) {
      names.push_back(e.name);
    }
  }
  std::sort(names.begin(), names.end());
  const bool want_sealed = keys != nullptr && keys->active() != nullptr;
  for (const std::string& name : names) {
    std::string st, dict;
    bool sealed = false;
    const std::string path = JoinPath(JoinPath(root, kDictDir), name);
    if (!ReadDictionaryFile(env, path, &st, &dict, keys, &sealed).ok() || st != source_type || sealed != want_sealed) {
      continue;
    }
    const uint64_t id = std::strtoull(name.substr(0, 16).c_str(), nullptr, 16);
    if ((Hash64(dict) | 1) == id) return id;
  }
  return uint64_t{0};
}

std::string TrainDictionary(const std::vector<std::string_view>& samples, size_t dict_bytes) {
  std::string all;
  std::vector<size_t> sizes;
  for (std::string_view s : samples) {
    if (s.empty()) continue;
    all.append(s);
    sizes.push_back(s.size());
  }
  if (sizes.size() < 8) return {};
  std::string dict(dict_bytes, '\0');
  // fastCover with fixed parameters: training takes tens of milliseconds per
  // MiB of samples instead of the seconds the parameter search takes.
  ZDICT_fastCover_params_t params{};
  params.k = 200;
  params.d = 8;
  params.f = 20;
  params.steps = 0;
  params.accel = 1;
  params.zParams.compressionLevel = 3;
  size_t n = ZDICT_trainFromBuffer_fastCover(dict.data(), dict.size(), all.data(), sizes.data(),
                                             static_cast<unsigned>(sizes.size()), params);
  if (ZDICT_isError(n)) return {};
  dict.resize(n);
  return dict;
}

DictionaryCache::~DictionaryCache() {
  for (auto& [id, d] : ddicts_) ZSTD_freeDDict(d);
}

Status DictionaryCache::Load(uint64_t id, std::string* dict) const {
  const std::string path = DictPath(root_, id);
  std::string st;
  Status s = ReadDictionaryFile(env_, path, &st, dict, keys_);
  if (s.code() == StatusCode::kNotFound) return Status::Corruption("dictionary " + path + " is missing");
  VIGIL_RETURN_IF_ERROR(s);
  if ((Hash64(*dict) | 1) != id) return Status::Corruption("dictionary " + path + ": content does not match its id");
  return Status::Ok();
}

Result<const ZSTD_DDict*> DictionaryCache::Get(uint64_t id) {
  if (id == 0) return static_cast<const ZSTD_DDict*>(nullptr);
  auto it = ddicts_.find(id);
  if (it != ddicts_.end()) return static_cast<const ZSTD_DDict*>(it->second);
  std::string dict;
  VIGIL_RETURN_IF_ERROR(Load(id, &dict));
  ZSTD_DDict* d = ZSTD_createDDict(dict.data(), dict.size());
  if (d == nullptr) return Status::Corruption("dictionary " + DictPath(root_, id) + ": zstd cannot load it");
  ddicts_[id] = d;
  return static_cast<const ZSTD_DDict*>(d);
}

// ---------------------------------------------------------------- BlockBuilder2

BlockBuilder2::BlockBuilder2(std::vector<ColumnSpec> schema, bool text_bloom, bool packed)
    : schema_(std::move(schema)), text_bloom_(text_bloom), packed_(packed) {
  paths_.resize(schema_.size());
  for (size_t c = kFirstHotColumn; c < schema_.size(); ++c) paths_[c] = FieldPath(schema_[c].name);
  std::vector<const FieldPath*> hot(schema_.size(), nullptr);
  for (size_t c = kFirstHotColumn; c < schema_.size(); ++c) hot[c] = &paths_[c];
  scanner_ = std::make_unique<JsonRecordScanner>(hot);
  unknown_.assign(schema_.size() + 1, false);
  if (text_bloom_) {
    text_bits_.assign(kTextBloomBits / 64, 0);
    trigram_memo_.assign((size_t{1} << 18) / 64, 0);
  }
}

BlockBuilder2::~BlockBuilder2() = default;

uint32_t BlockBuilder2::Intern(std::string_view text) {
  const uint64_t h = MemoryHash(text);
  if (texts_.size() * 2 >= text_slots_.size()) {  // grow (and rehash) first
    text_slots_.assign(std::max<size_t>(1024, text_slots_.size() * 2), 0);
    const size_t mask = text_slots_.size() - 1;
    for (uint32_t id = 0; id < texts_.size(); ++id) {
      size_t j = text_hashes_[id] & mask;
      while (text_slots_[j] != 0) j = (j + 1) & mask;
      text_slots_[j] = id + 1;
    }
  }
  const size_t mask = text_slots_.size() - 1;
  size_t j = h & mask;
  for (; text_slots_[j] != 0; j = (j + 1) & mask) {
    const uint32_t id = text_slots_[j] - 1;
    if (text_hashes_[id] == h && texts_[id] == text) return id;
  }
  const uint32_t id = static_cast<uint32_t>(texts_.size());
  texts_.emplace_back(text);
  text_hashes_.push_back(h);
  text_trigrams_.push_back(0);
  text_slots_[j] = id + 1;
  return id;
}

namespace {

// Per byte: the byte ASCII-lower-cased, and its class in the alphabet of
// the block's trigram memo (BlockBuilder2::SetTrigramBits): the lower-case
// letters and digits and 27 punctuation bytes, 0..62, each byte its own
// class but an upper-case letter that of its lower case; kOtherClass for
// every other byte.
constexpr uint32_t kOtherClass = 63;
struct TrigramTables {
  unsigned char lower[256];
  unsigned char cls[256];
};
constexpr TrigramTables MakeTrigramTables() {
  TrigramTables t{};
  for (int c = 0; c < 256; ++c) {
    t.lower[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    t.cls[c] = kOtherClass;
  }
  unsigned char next = 0;
  for (int c = 'a'; c <= 'z'; ++c) t.cls[c] = t.cls[c - 32] = next++;
  for (int c = '0'; c <= '9'; ++c) t.cls[c] = next++;
  for (const char* p = "-.:/_ =,+@#();*&?%!$'[]{}\"\\"; *p != '\0'; ++p) t.cls[static_cast<unsigned char>(*p)] = next++;
  return t;
}
constexpr TrigramTables kTrigramTables = MakeTrigramTables();
static_assert(kTrigramTables.cls[static_cast<unsigned char>('\\')] == 62, "63 classes but the other one");

}  // namespace

// Sets the bloom bits of each trigram of text (lower-cased).
void BlockBuilder2::SetTrigramBits(std::string_view text) {
  // Bit k of a trigram is (h1 + k * h2) mod 2^17, which 32-bit arithmetic
  // gives exactly (2^17 divides 2^32); the three are set unrolled. The bits
  // (16 KiB) stay in L1.
  //
  // A trigram of three bytes of the memo's alphabet is first looked up in
  // trigram_memo_, one bit per such trigram (64^3 bits, 32 KiB), and its
  // bloom bits are set only the first time in the block: most trigrams
  // recur (a block's UUIDs alone give most of the 17^3 hex trigrams, its
  // times the same few digits), and a test of one bit costs less than a
  // hash and three bits set.
  static_assert(kTextBloomHashes == 3 && (uint64_t{1} << 32) % kTextBloomBits == 0);
  constexpr uint32_t mask = kTextBloomBits - 1;
  uint64_t* bits = text_bits_.data();
  uint64_t* memo = trigram_memo_.data();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
  const TrigramTables& t = kTrigramTables;
  uint32_t key = uint32_t{t.cls[p[0]]} << 6 | t.cls[p[1]];
  // Bytes of the alphabet in a row, ending at the current one.
  uint32_t run = t.cls[p[1]] == kOtherClass ? 0 : t.cls[p[0]] == kOtherClass ? 1 : 2;
  for (size_t i = 2; i < text.size(); ++i) {
    const unsigned char c = p[i];
    const uint32_t cls = t.cls[c];
    key = ((key << 6) | cls) & 0x3FFFF;
    run = cls == kOtherClass ? 0 : run + 1;
    if (run >= 3) {
      uint64_t& word = memo[key >> 6];
      const uint64_t bit = uint64_t{1} << (key & 63);
      if (word & bit) continue;
      word |= bit;
    }
    const uint32_t code = uint32_t{t.lower[p[i - 2]]} << 16 | uint32_t{t.lower[p[i - 1]]} << 8 | t.lower[c];
    const uint64_t h = TrigramHash(code);
    const uint32_t h1 = static_cast<uint32_t>(h), h2 = static_cast<uint32_t>(h >> 32);
    const uint32_t b0 = h1 & mask, b1 = (h1 + h2) & mask, b2 = (h1 + 2 * h2) & mask;
    bits[b0 >> 6] |= uint64_t{1} << (b0 & 63);
    bits[b1 >> 6] |= uint64_t{1} << (b1 & 63);
    bits[b2 >> 6] |= uint64_t{1} << (b2 & 63);
  }
}

void BlockBuilder2::AddTrigrams(std::string_view text) {
  if (text.size() < 3) return;
  // A short value's trigrams are set outright: looking it up costs more.
  if (text.size() < kSeenMinBytes) return SetTrigramBits(text);
  // Most long values repeat within a block (ARNs, user agents): their
  // trigrams are set once.
  uint64_t vh = MemoryHash(text) | 1;
  if (seen_count_ * 2 >= seen_.size()) {
    std::vector<uint64_t> old(std::max<size_t>(1024, seen_.size() * 2), 0);
    old.swap(seen_);
    for (uint64_t k : old) {
      if (k == 0) continue;
      size_t j = (k >> 7) & (seen_.size() - 1);
      while (seen_[j] != 0) j = (j + 1) & (seen_.size() - 1);
      seen_[j] = k;
    }
  }
  size_t j = (vh >> 7) & (seen_.size() - 1);
  while (seen_[j] != 0) {
    if (seen_[j] == vh) return;
    j = (j + 1) & (seen_.size() - 1);
  }
  seen_[j] = vh;
  ++seen_count_;
  SetTrigramBits(text);
}

void BlockBuilder2::AddValue(size_t c, ValueKind kind, std::string_view text, bool is_integer) {
  Value val{static_cast<uint32_t>(c), Intern(text), false, 0};
  if (kind == ValueKind::kNumber && is_integer) {
    int64_t n = 0;
    auto res = std::from_chars(text.data(), text.data() + text.size(), n);
    if (res.ec == std::errc() && res.ptr == text.data() + text.size()) {
      val.is_int = true;
      val.number = n;
    }
  }
  values_.push_back(val);
}

void BlockBuilder2::Add(const Event& e) {
  Row row;
  row.time_ns = e.time_ns;
  row.ingest_time_ns = e.ingest_time_ns;
  row.fallback = e.time_fallback;
  row.id_offset = static_cast<uint32_t>(arena_.size());
  row.id_length = static_cast<uint32_t>(e.id.size());
  arena_.append(e.id);
  raw_bytes_ += e.raw.size() + e.id.size() + 32;
  row.account = Intern(e.account);
  row.principal = Intern(e.principal);
  if (e.account.empty()) unknown_[kColAccount] = true;
  if (e.principal.empty()) unknown_[kColPrincipal] = true;
  row.values_begin = static_cast<uint32_t>(values_.size());
  const FieldResolver* fields = e.fields.get();
  // A record whose resolver is a parse of its own bytes gives its scalars
  // and hot values from one pass over them (json_scan.h), which answers as
  // the resolver would or says where it cannot.
  JsonRecordScanner::Outcome scanned = JsonRecordScanner::Outcome::kFailed;
  if (fields != nullptr) {
    const std::string_view parsed = fields->ParsedJson();
    if (parsed.data() == e.raw.data() && parsed.size() == e.raw.size() && !e.raw.empty()) {
      scanned = scanner_->Scan(e.raw);
    }
  }
  if (scanned == JsonRecordScanner::Outcome::kAll) {
    for (const JsonRecordScanner::HotValue& v : scanner_->hot()) AddValue(v.column, v.kind, v.text, true);
  } else {
    for (size_t c = kFirstHotColumn; c < schema_.size(); ++c) {
      if (fields == nullptr) {
        unknown_[c] = true;
        values_.push_back(Value{static_cast<uint32_t>(c), UINT32_MAX, false, 0});  // the row's values are unknown
        continue;
      }
      fields->Visit(paths_[c], [&](const FieldValue& v) {
        if (v.kind == ValueKind::kObject || v.kind == ValueKind::kArray) return true;
        AddValue(c, v.kind, v.kind == ValueKind::kNull ? std::string_view("null") : v.text, v.is_integer);
        return true;
      });
    }
  }
  row.values_end = static_cast<uint32_t>(values_.size());
  row.raw_offset = static_cast<uint32_t>(raw_arena_.size());
  row.uuid_offset = static_cast<uint32_t>(uuid_arena_.size());
  row.uuid_count = 0;
  if (packed_) {
    // The values the record can give up: the first of each column that
    // stores its values, when it is a string (its column is then
    // dict-encoded in this block and gives the text back exactly).
    // Written in place (a push_back was a call per value): room for the
    // time, account, principal and a value per column.
    if (splices_.size() < schema_.size() + 1) splices_.resize(schema_.size() + 1);
    size_t nsplices = 0;
    auto offer = [this, &nsplices](size_t c, uint32_t text, size_t at, uint32_t string) {
      if (c <= kMaxSplicedColumn && texts_[text].size() >= kMinSplicedBytes) {
        splices_[nsplices++] = Splice{static_cast<uint32_t>(kMarkColumn + c), texts_[text], at, string};
      }
    };
    char time_text[20];
    if (FormatRfc3339Seconds(e.time_ns, time_text)) splices_[nsplices++] = Splice{kMarkTime, std::string_view(time_text, 20)};
    if (!e.account.empty()) offer(kColAccount, row.account, std::string_view::npos, UINT32_MAX);
    if (!e.principal.empty()) offer(kColPrincipal, row.principal, std::string_view::npos, UINT32_MAX);
    // The row's values are in column order: each column's first value is
    // the one after a change of column.
    uint32_t column = UINT32_MAX;
    for (uint32_t k = row.values_begin; k < row.values_end; ++k) {
      const Value& v = values_[k];
      if (v.column == column) continue;
      column = v.column;
      if ((schema_[column].role & kColumnNoValues) || v.text == UINT32_MAX || v.is_int) continue;
      // From the pass over the record, a string value's place in it.
      size_t at = std::string_view::npos;
      uint32_t string = UINT32_MAX;
      if (scanned == JsonRecordScanner::Outcome::kAll) {
        const JsonRecordScanner::HotValue& h = scanner_->hot()[k - row.values_begin];
        if (h.kind == ValueKind::kString) {
          at = static_cast<size_t>(h.text.data() - e.raw.data());
          string = h.string;
        }
      }
      offer(column, v.text, at, string);
    }
    // Straight into the arena: the raw section's length prefixes are
    // written when Finish lays the records out in order.
    row.uuid_count = PackRecord(e.raw, e.id, std::span<const Splice>(splices_.data(), nsplices),
                                scanned != JsonRecordScanner::Outcome::kFailed ? scanner_.get() : nullptr, &cuts_,
                                &cut_strings_, &raw_arena_, &uuid_arena_);
  } else {
    raw_arena_.append(e.raw);
  }
  row.raw_length = static_cast<uint32_t>(raw_arena_.size() - row.raw_offset);
  if (text_bloom_) {
    if (fields == nullptr) {
      unknown_[schema_.size()] = true;
    } else if (scanned == JsonRecordScanner::Outcome::kAll) {
      // A hot string value is interned already: its value id says whether
      // its trigrams are set, without hashing it again.
      const std::vector<std::string_view>& scalars = scanner_->scalars();
      hot_scalar_.assign(scalars.size(), UINT32_MAX);
      const std::span<const JsonRecordScanner::HotValue> hot = scanner_->hot();
      for (size_t j = 0; j < hot.size(); ++j) {
        if (hot[j].scalar < scalars.size()) hot_scalar_[hot[j].scalar] = values_[row.values_begin + j].text;
      }
      for (size_t k = 0; k < scalars.size(); ++k) {
        const uint32_t t = hot_scalar_[k];
        if (t == UINT32_MAX) {
          AddTrigrams(scalars[k]);
        } else if (!text_trigrams_[t]) {
          text_trigrams_[t] = 1;
          if (scalars[k].size() >= 3) SetTrigramBits(scalars[k]);
        }
      }
    } else if (scanned != JsonRecordScanner::Outcome::kFailed) {
      for (std::string_view text : scanner_->scalars()) AddTrigrams(text);
    } else {
      fields->VisitAllScalars([this](const FieldValue& v) {
        if (v.kind != ValueKind::kNull) AddTrigrams(v.text);
        return true;
      });
    }
  }
  rows_.push_back(row);
}

std::vector<std::string_view> BlockBuilder2::RawSamples() const {
  std::vector<std::string_view> out;
  out.reserve(rows_.size());
  for (const Row& r : rows_) out.emplace_back(raw_arena_.data() + r.raw_offset, r.raw_length);
  return out;
}

// The columns section before compression (docs/storage-format.md); the id
// column (with its length) is at [*id_begin, *id_end). Sets handle->ranges.
void BlockBuilder2::BuildColumns(const std::vector<uint32_t>& order, BlockHandle2* handle, std::string* cols_out,
                                 size_t* id_begin, size_t* id_end) {
  const char* base = arena_.data();
  auto id_of = [&](const Row& r) { return std::string_view(base + r.id_offset, r.id_length); };
  std::string& cols = *cols_out;
  cols.clear();
  std::string body;
  auto put_column = [&cols, &body]() {
    PutVarint32(&cols, static_cast<uint32_t>(body.size()));
    cols.append(body);
    body.clear();
  };
  {
    // Sorted times as deltas from the previous one (the first from the
    // block's min), in units of their greatest common divisor: logs with
    // second or millisecond times take a byte or two a record.
    uint64_t unit = 0;
    int64_t prev_time = handle->min_time_ns;
    for (uint32_t i : order) {
      unit = std::gcd(unit, static_cast<uint64_t>(rows_[i].time_ns - prev_time));
      prev_time = rows_[i].time_ns;
    }
    if (unit == 0) unit = 1;
    PutVarint64(&body, unit);
    prev_time = handle->min_time_ns;
    for (uint32_t i : order) {
      PutVarint64(&body, static_cast<uint64_t>(rows_[i].time_ns - prev_time) / unit);
      prev_time = rows_[i].time_ns;
    }
  }
  put_column();
  int64_t prev = 0;
  for (uint32_t i : order) {
    PutVarint64(&body, ZigZag(rows_[i].ingest_time_ns - prev));
    prev = rows_[i].ingest_time_ns;
  }
  put_column();
  for (uint32_t i : order) body.push_back(rows_[i].fallback ? 1 : 0);
  put_column();
  for (uint32_t i : order) {
    if (packed_) {
      PutPackedId(&body, id_of(rows_[i]));
    } else {
      PutLengthPrefixed(&body, id_of(rows_[i]));
    }
  }
  *id_begin = cols.size();
  put_column();
  *id_end = cols.size();

  std::vector<uint32_t> local(texts_.size(), UINT32_MAX);
  std::vector<uint32_t> used;
  // Dict encoding of the value ids `ids_of(row)` yields (one list per row).
  auto put_dict = [&](auto&& for_each_row_values) {
    used.clear();
    std::string rows_part;
    for (uint32_t i : order) {
      for_each_row_values(i, [&](bool unknown, const std::vector<uint32_t>& ids) {
        if (unknown) {
          PutVarint32(&rows_part, 0);
          return;
        }
        PutVarint32(&rows_part, static_cast<uint32_t>(ids.size() + 1));
        for (uint32_t t : ids) {
          if (local[t] == UINT32_MAX) {
            local[t] = static_cast<uint32_t>(used.size());
            used.push_back(t);
          }
          PutVarint32(&rows_part, local[t]);
        }
      });
    }
    body.push_back(static_cast<char>(kEncodingDict));
    PutVarint32(&body, static_cast<uint32_t>(used.size()));
    for (uint32_t t : used) {
      PutLengthPrefixed(&body, texts_[t]);
      local[t] = UINT32_MAX;
    }
    body.append(rows_part);
    put_column();
  };
  std::vector<uint32_t> one(1);
  put_dict([&](uint32_t i, auto&& emit) {
    one[0] = rows_[i].account;
    emit(false, one);
  });
  put_dict([&](uint32_t i, auto&& emit) {
    one[0] = rows_[i].principal;
    emit(false, one);
  });

  std::vector<uint32_t> ids;
  // A row's values are in column order (Add appends them column by column),
  // so each column's values in a row are the run after the previous
  // column's: a cursor per row finds them without scanning the row again.
  std::vector<uint32_t> cursor(rows_.size());
  for (size_t i = 0; i < rows_.size(); ++i) cursor[i] = rows_[i].values_begin;
  auto run_of = [&](uint32_t i, size_t c) {
    uint32_t k = cursor[i];
    const uint32_t end = rows_[i].values_end;
    while (k < end && values_[k].column < c) ++k;
    const uint32_t begin = k;
    while (k < end && values_[k].column == c) ++k;
    cursor[i] = k;
    return std::make_pair(begin, k);
  };
  // Per column: whether it has a known value, all of them integers, their range.
  struct IntRange {
    bool any = false, all_int = true;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
  };
  std::vector<IntRange> ranges(schema_.size());
  for (const Value& v : values_) {
    if (v.text == UINT32_MAX) continue;
    IntRange& r = ranges[v.column];
    r.any = true;
    if (!v.is_int) {
      r.all_int = false;
      continue;
    }
    r.lo = std::min(r.lo, v.number);
    r.hi = std::max(r.hi, v.number);
  }
  for (size_t c = kFirstHotColumn; c < schema_.size(); ++c) {
    if (schema_[c].role & kColumnNoValues) {
      put_column();  // empty: every record's values unknown to the reader
      continue;
    }
    const IntRange& range = ranges[c];
    if (range.any && range.all_int) {
      body.push_back(static_cast<char>(kEncodingInt));
      int64_t last = 0;
      for (uint32_t i : order) {
        const auto [begin, end] = run_of(i, c);
        bool unknown = false;
        for (uint32_t k = begin; k < end; ++k) unknown |= values_[k].text == UINT32_MAX;
        PutVarint32(&body, unknown ? 0 : end - begin + 1);
        if (unknown) continue;
        for (uint32_t k = begin; k < end; ++k) {
          PutVarint64(&body, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(values_[k].number) - static_cast<uint64_t>(last))));
          last = values_[k].number;
        }
      }
      put_column();
      handle->ranges.push_back(ColumnRange{static_cast<uint32_t>(c), range.lo, range.hi});
    } else {
      put_dict([&](uint32_t i, auto&& emit) {
        const auto [begin, end] = run_of(i, c);
        ids.clear();
        bool unknown = false;
        for (uint32_t k = begin; k < end; ++k) {
          if (values_[k].text == UINT32_MAX) unknown = true;
          else ids.push_back(values_[k].text);
        }
        emit(unknown, ids);
      });
    }
  }
}

std::string BlockBuilder2::ColumnsContent(size_t max_bytes) {
  std::vector<uint32_t> order(rows_.size());
  std::iota(order.begin(), order.end(), 0u);
  BlockHandle2 handle;
  handle.min_time_ns = rows_.empty() ? 0 : std::min_element(rows_.begin(), rows_.end(), [](const Row& a, const Row& b) {
                                             return a.time_ns < b.time_ns;
                                           })->time_ns;
  std::string cols;
  size_t id_begin = 0, id_end = 0;
  BuildColumns(order, &handle, &cols, &id_begin, &id_end);
  cols.erase(id_begin, id_end - id_begin);
  if (cols.size() > max_bytes) cols.resize(max_bytes);
  // Loaded as raw content: it must not look like a zstd dictionary.
  if (cols.size() >= 4 && DecodeFixed32(cols.data()) == ZSTD_MAGIC_DICTIONARY) cols.insert(cols.begin(), '\0');
  return cols;
}

Status BlockBuilder2::Finish(ZSTD_CCtx* cctx, int level, const ZSTD_CDict* cdict, std::string* out,
                             BlockHandle2* handle, BlockCodec* codec, uint64_t index,
                             const ZSTD_CDict* columns_cdict) {
  const char* base = arena_.data();
  std::vector<uint32_t> order(rows_.size());
  std::iota(order.begin(), order.end(), 0u);
  auto id_of = [&](const Row& r) { return std::string_view(base + r.id_offset, r.id_length); };
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const Row& x = rows_[a];
    const Row& y = rows_[b];
    if (x.time_ns != y.time_ns) return x.time_ns < y.time_ns;
    return id_of(x) < id_of(y);
  });
  *handle = BlockHandle2{};
  handle->record_count = static_cast<uint32_t>(rows_.size());
  handle->min_time_ns = rows_[order.front()].time_ns;
  handle->max_time_ns = rows_[order.back()].time_ns;

  std::string cols;
  size_t id_begin = 0, id_end = 0;
  BuildColumns(order, handle, &cols, &id_begin, &id_end);

  // Filters section: distinct lower-cased values of bloomed columns. Each
  // text's hash is taken once (value ids are distinct texts); a column's
  // hashes are made distinct by a table rather than a sort.
  lower_hash_.assign(texts_.size(), 0);
  hashed_.assign(texts_.size(), 0);
  auto hash_of = [&](uint32_t t) {
    if (!hashed_[t]) {
      ToLowerInto(texts_[t], &lower_);
      lower_hash_[t] = ValueHash(lower_);
      hashed_[t] = 1;
    }
    return lower_hash_[t];
  };
  std::string filters;
  uint32_t n_blooms = 0;
  std::string blooms;
  std::vector<uint64_t>& hs = bloom_scratch_;
  for (size_t c = kColId; c < schema_.size(); ++c) {
    if ((schema_[c].role & kColumnBloom) == 0 || unknown_[c]) continue;
    hs.clear();
    if (c == kColId) {
      for (const Row& r : rows_) {
        ToLowerInto(id_of(r), &lower_);
        hs.push_back(ValueHash(lower_));
      }
    } else if (c == kColAccount || c == kColPrincipal) {
      for (const Row& r : rows_) hs.push_back(hash_of(c == kColAccount ? r.account : r.principal));
    } else {
      for (const Value& v : values_)
        if (v.column == c && v.text != UINT32_MAX) hs.push_back(hash_of(v.text));
    }
    DistinctHashes(&hs, &distinct_slots_);
    PutBloom(&blooms, static_cast<uint32_t>(c), kValueBloomBitsPerKey, kValueBloomHashes, hs);
    ++n_blooms;
  }
  if (text_bloom_ && !unknown_[schema_.size()]) {
    // Bits were set with index mod 2^17; folding halves (OR-ing them) gives
    // the same filter mod 2^16, and so on: fold while at most half of the
    // bits are set, so that small blocks get small filters. Folded in place
    // (text_bits_ is cleared below).
    uint64_t* words = text_bits_.data();
    size_t n = text_bits_.size();
    while (n > 1) {
      const size_t half = n / 2;
      size_t ones = 0;
      for (size_t i = 0; i < half; ++i) ones += static_cast<size_t>(__builtin_popcountll(words[i] | words[half + i]));
      if (ones * 2 > half * 64) break;
      for (size_t i = 0; i < half; ++i) words[i] |= words[half + i];
      n = half;
    }
    PutVarint32(&blooms, kTextBloomColumn);
    PutVarint32(&blooms, kTextBloomHashes);
    PutVarint64(&blooms, uint64_t{n} * 64);
    for (size_t i = 0; i < n; ++i) PutFixed64(&blooms, words[i]);
    ++n_blooms;
  }
  PutVarint32(&filters, n_blooms);
  filters.append(blooms);

  // Raw section: per record in order its length prefix (packed: and its
  // UUID count) and bytes; packed, followed by the UUIDs in record order
  // and their count.
  bool in_order = true;
  for (size_t k = 0; k < order.size() && in_order; ++k) in_order = order[k] == k;
  raw_sorted_.clear();
  raw_sorted_.reserve(raw_arena_.size() + 10 * rows_.size() + uuid_arena_.size() + 4);
  for (uint32_t i : order) {
    const Row& r = rows_[i];
    PutVarint32(&raw_sorted_, r.raw_length);
    if (packed_) PutVarint32(&raw_sorted_, r.uuid_count);
    raw_sorted_.append(raw_arena_, r.raw_offset, r.raw_length);
  }
  if (packed_) {
    if (in_order) {
      raw_sorted_.append(uuid_arena_);
    } else {
      for (uint32_t i : order) raw_sorted_.append(uuid_arena_, rows_[i].uuid_offset, size_t{16} * rows_[i].uuid_count);
    }
    PutFixed32(&raw_sorted_, static_cast<uint32_t>(uuid_arena_.size() / 16));
  }
  std::string_view raw = raw_sorted_;

  if (cols.size() > kMaxBlockRawBytes || raw.size() > kMaxBlockRawBytes) {
    return Status::LimitExceeded("block too large");
  }
  out->assign(kBlockHeaderSize2, '\0');
  // Columns are small beside the raw bytes: a stronger level costs little.
  SectionWriter w{cctx, &scratch_, codec, index, out};
  VIGIL_ASSIGN_OR_RETURN(handle->columns_len, w.Store(0, cols, columns_cdict, std::max(level, 3), true));
  handle->columns_raw_len = static_cast<uint32_t>(cols.size());
  VIGIL_ASSIGN_OR_RETURN(handle->raw_len, w.Store(1, raw, cdict, level, true));
  handle->raw_raw_len = static_cast<uint32_t>(raw.size());
  VIGIL_ASSIGN_OR_RETURN(handle->filters_len, w.Store(2, filters, nullptr, 0, false));
  FinishBlock2(handle, out);

  arena_.clear();
  raw_arena_.clear();
  uuid_arena_.clear();
  raw_bytes_ = 0;
  rows_.clear();
  values_.clear();
  texts_.clear();
  text_hashes_.clear();
  text_trigrams_.clear();
  std::fill(text_slots_.begin(), text_slots_.end(), 0);
  unknown_.assign(schema_.size() + 1, false);
  std::fill(text_bits_.begin(), text_bits_.end(), 0);
  std::fill(trigram_memo_.begin(), trigram_memo_.end(), 0);
  std::fill(seen_.begin(), seen_.end(), 0);
  seen_count_ = 0;
  return Status::Ok();
}

// ---------------------------------------------------------------- SegmentBuilder2

namespace {

void PutHandle2(std::string* out, const BlockHandle2& h) {
  PutFixed64(out, h.offset);
  PutFixed32(out, h.record_count);
  PutFixed64(out, static_cast<uint64_t>(h.min_time_ns));
  PutFixed64(out, static_cast<uint64_t>(h.max_time_ns));
  for (uint32_t v : {h.columns_len, h.columns_raw_len, h.raw_len, h.raw_raw_len, h.filters_len, h.columns_checksum,
                     h.raw_checksum, h.filters_checksum}) {
    PutFixed32(out, v);
  }
  PutVarint32(out, static_cast<uint32_t>(h.ranges.size()));
  for (const ColumnRange& r : h.ranges) {
    PutVarint32(out, r.column);
    PutVarint64(out, ZigZag(r.min));
    PutVarint64(out, ZigZag(r.max));
  }
}

bool GetHandle2(Reader* r, BlockHandle2* h) {
  uint32_t n;
  if (!(r->Fixed64(&h->offset) && r->Fixed32(&h->record_count) && r->Int64(&h->min_time_ns) &&
        r->Int64(&h->max_time_ns) && r->Fixed32(&h->columns_len) && r->Fixed32(&h->columns_raw_len) &&
        r->Fixed32(&h->raw_len) && r->Fixed32(&h->raw_raw_len) && r->Fixed32(&h->filters_len) &&
        r->Fixed32(&h->columns_checksum) && r->Fixed32(&h->raw_checksum) && r->Fixed32(&h->filters_checksum) &&
        r->Varint32(&n) && n <= kMaxColumns)) {
    return false;
  }
  h->ranges.resize(n);
  for (ColumnRange& cr : h->ranges) {
    if (!r->Varint32(&cr.column) || !r->SignedVarint(&cr.min) || !r->SignedVarint(&cr.max)) return false;
  }
  return true;
}

}  // namespace

SegmentBuilder2::~SegmentBuilder2() { Abandon(); }

Result<std::unique_ptr<SegmentBuilder2>> SegmentBuilder2::Create(Env* env, std::string final_path,
                                                                 std::string source_type, std::string account,
                                                                 uint64_t dict_id, std::vector<ColumnSpec> schema,
                                                                 const KeyRing* keys, bool packed,
                                                                 uint64_t columns_dict_id) {
  auto file = env->NewWritableFile(final_path + kTempSuffix);
  std::unique_ptr<BlockCodec> codec;
  if (file.ok() && keys != nullptr && keys->active() != nullptr) {
    // As for v1: the key file is durable before the segment can be
    // published, and the temp file exists first, so a crash leaves no key
    // file without one (the next writer removes both).
    auto c = CreateSegmentKey(env, final_path, *keys);
    if (!c.ok()) {
      (void)(*file)->Close();
      (void)env->RemoveFile(final_path + kTempSuffix);
      return c.status();
    }
    codec = std::move(c).value();
  }
  const bool owns_key_file = codec != nullptr;
  return Start(env, std::move(final_path), std::move(file), std::move(codec), owns_key_file,
               Identity{std::move(source_type), std::move(account), dict_id, std::move(schema), packed,
                        columns_dict_id});
}

Result<std::unique_ptr<SegmentBuilder2>> SegmentBuilder2::CreateRewrite(Env* env, std::string path,
                                                                        std::string source_type, std::string account,
                                                                        uint64_t dict_id,
                                                                        std::vector<ColumnSpec> schema,
                                                                        std::unique_ptr<BlockCodec> codec,
                                                                        bool packed, uint64_t columns_dict_id) {
  auto file = env->NewWritableFile(path + kTempSuffix);
  return Start(env, std::move(path), std::move(file), std::move(codec), false,
               Identity{std::move(source_type), std::move(account), dict_id, std::move(schema), packed,
                        columns_dict_id});
}

Result<std::unique_ptr<SegmentBuilder2>> SegmentBuilder2::Start(Env* env, std::string final_path,
                                                                Result<std::unique_ptr<WritableFile>> file,
                                                                std::unique_ptr<BlockCodec> codec,
                                                                bool owns_key_file, Identity id) {
  std::string header(kFileMagic, sizeof kFileMagic);
  PutFixed32(&header, kFormatVersion2);
  // A packed segment's ids are read from its id column (kSegmentFlagNoIdSet),
  // but for an encrypted one: writers deduplicate without a key, so it keeps
  // its id set.
  const bool packed = id.packed;
  const bool write_ids = !packed || codec != nullptr;
  PutFixed32(&header, (codec != nullptr ? kSegmentFlagEncrypted : 0) | (packed ? kSegmentFlagPacked : 0) |
                          (write_ids ? 0 : kSegmentFlagNoIdSet) |
                          (id.columns_dict_id != 0 ? kSegmentFlagColumnsDict : 0));
  Status s = file.ok() ? (*file)->Append(header) : file.status();
  if (!s.ok()) {
    if (file.ok()) (void)(*file)->Close();
    (void)env->RemoveFile(final_path + kTempSuffix);
    if (owns_key_file) AbandonSegmentKey(env, final_path);
    return s;
  }
  std::unique_ptr<SegmentBuilder2> b(new SegmentBuilder2());
  b->env_ = env;
  b->codec_ = std::move(codec);
  b->owns_key_file_ = owns_key_file;
  b->final_path_ = std::move(final_path);
  b->file_ = std::move(file).value();
  b->source_type_ = std::move(id.source_type);
  b->account_ = std::move(id.account);
  b->dict_id_ = id.dict_id;
  b->columns_dict_id_ = id.columns_dict_id;
  b->schema_ = std::move(id.schema);
  b->write_ids_ = write_ids;
  b->file_size_ = kHeaderSize;
  return b;
}

Status SegmentBuilder2::AddBlock(std::string_view block, BlockHandle2 handle) {
  handle.offset = file_size_;
  VIGIL_RETURN_IF_ERROR(file_->Append(block));
  file_size_ += block.size();
  if (blocks_.empty()) {
    min_time_ns_ = handle.min_time_ns;
    max_time_ns_ = handle.max_time_ns;
  } else {
    min_time_ns_ = std::min(min_time_ns_, handle.min_time_ns);
    max_time_ns_ = std::max(max_time_ns_, handle.max_time_ns);
  }
  record_count_ += handle.record_count;
  blocks_.push_back(std::move(handle));
  return Status::Ok();
}

Status SegmentBuilder2::Seal(bool sync) {
  if (done_) return Status::FailedPrecondition("segment " + final_path_ + " already finished");
  std::sort(ids_.begin(), ids_.end());
  std::string tail;
  const uint64_t ids_offset = file_size_;
  for (const Hash128& id : ids_) {
    PutFixed64(&tail, id.lo);
    PutFixed64(&tail, id.hi);
  }
  const uint32_t ids_checksum = Checksum32(tail);
  const uint64_t index_offset = ids_offset + tail.size();
  const size_t index_start = tail.size();
  PutFixed32(&tail, static_cast<uint32_t>(source_type_.size()));
  tail.append(source_type_);
  PutFixed32(&tail, static_cast<uint32_t>(account_.size()));
  tail.append(account_);
  PutFixed64(&tail, static_cast<uint64_t>(min_time_ns_));
  PutFixed64(&tail, static_cast<uint64_t>(max_time_ns_));
  PutFixed64(&tail, record_count_);
  PutFixed64(&tail, dict_id_);
  if (columns_dict_id_ != 0) PutFixed64(&tail, columns_dict_id_);
  PutFixed32(&tail, static_cast<uint32_t>(schema_.size()));
  for (const ColumnSpec& c : schema_) {
    tail.push_back(static_cast<char>(c.role));
    PutFixed32(&tail, static_cast<uint32_t>(c.name.size()));
    tail.append(c.name);
  }
  PutFixed32(&tail, static_cast<uint32_t>(blocks_.size()));
  for (const BlockHandle2& h : blocks_) PutHandle2(&tail, h);
  AppendSegmentTrailer({ids_offset, ids_.size(), index_offset, static_cast<uint32_t>(tail.size() - index_start),
                        ids_checksum, Checksum32(std::string_view(tail).substr(index_start))},
                       &tail);

  Status s = file_->Append(tail);
  if (s.ok() && sync) s = file_->Sync();
  if (s.ok()) s = file_->Close();
  if (!s.ok()) {
    Abandon();
    return s.WithContext("writing segment " + final_path_);
  }
  done_ = true;
  file_size_ += tail.size();
  return Status::Ok();
}

void SegmentBuilder2::Abandon() {
  if (done_ || file_ == nullptr) return;
  done_ = true;
  (void)file_->Close();
  (void)env_->RemoveFile(final_path_ + kTempSuffix);
  if (owns_key_file_) AbandonSegmentKey(env_, final_path_);
}

// ---------------------------------------------------------------- readers

namespace {

// v1 behind SegmentFile.
class SegmentFile1 final : public SegmentFile {
 public:
  explicit SegmentFile1(std::unique_ptr<SegmentReader> r) : r_(std::move(r)) {}
  const std::string& path() const override { return r_->path(); }
  uint32_t version() const override { return kFormatVersion; }
  const SegmentIndex& index() const override { return r_->index(); }
  const std::string& account() const override { return account_; }
  bool encrypted() const override { return r_->encrypted(); }
  Status ReadIds(std::vector<Hash128>* out) override { return r_->ReadIds(out); }
  Result<bool> BlockMayMatch(size_t, const ScanFilter&, ScanStats*) override { return true; }
  Result<bool> ReadColumnBlock(size_t, const ColumnRequest&, bool, const ScanFilter*, BlockData*, ColumnBlock*,
                               ScanStats*) override {
    return false;
  }
  Status ReadBlock(size_t i, const ScanFilter*, BlockData* data, ScanStats* stats) override {
    if (stats != nullptr) ++stats->blocks_read;
    return r_->ReadBlock(i, &data->raw, &data->records);
  }
  Status CheckBlock(size_t i, BlockData* data) override { return r_->ReadBlock(i, &data->raw, &data->records); }

 private:
  std::unique_ptr<SegmentReader> r_;
  std::string account_;
};

class SegmentFile2 final : public SegmentFile {
 public:
  SegmentFile2(Env* env, std::unique_ptr<RandomAccessFile> file, DictionaryCache* dicts, const KeyRing* keys,
               uint32_t flags)
      : env_(env),
        file_(std::move(file)),
        dicts_(dicts),
        keys_(keys),
        encrypted_((flags & kSegmentFlagEncrypted) != 0),
        packed_((flags & kSegmentFlagPacked) != 0),
        no_id_set_((flags & kSegmentFlagNoIdSet) != 0),
        columns_dict_((flags & kSegmentFlagColumnsDict) != 0) {}
  ~SegmentFile2() override {
    if (dctx_ != nullptr) ZSTD_freeDCtx(dctx_);
  }

  Status Init(uint64_t size);

  const std::string& path() const override { return file_->path(); }
  uint32_t version() const override { return kFormatVersion2; }
  const SegmentIndex& index() const override { return index_; }
  const std::string& account() const override { return account_; }
  bool encrypted() const override { return encrypted_; }
  Status ReadIds(std::vector<Hash128>* out) override;
  bool has_id_set() const override { return !no_id_set_; }
  Result<bool> BlockMayMatch(size_t i, const ScanFilter& filter, ScanStats* stats) override;
  Status ReadBlock(size_t i, const ScanFilter* filter, BlockData* data, ScanStats* stats) override;
  Result<bool> ReadColumnBlock(size_t i, const ColumnRequest& request, bool times, const ScanFilter* filter,
                               BlockData* data, ColumnBlock* out, ScanStats* stats) override;
  Status CheckBlock(size_t i, BlockData* data) override;

  // For RecompressSegment2: block i's columns and raw sections checked and
  // decompressed (data->columns, data->raw), its filters section as stored.
  Status ReadSectionsForRewrite(size_t i, BlockData* data, std::string* filters_stored);
  const BlockHandle2& handle(size_t i) const { return blocks_[i]; }
  // Block i as stored (header and sections), each section's checksum checked.
  Status ReadStoredBlock(size_t i, std::string* out);
  uint64_t dict_id() const { return dict_id_; }
  uint64_t columns_dict_id() const { return columns_dict_id_; }
  const std::vector<ColumnSpec>& schema() const { return schema_; }
  bool packed() const { return packed_; }

 private:
  std::string Where(size_t i) const {
    return "block " + std::to_string(i) + " at offset " + std::to_string(blocks_[i].offset);
  }
  // Column number for a filter field, or -1.
  int ColumnOf(const std::string& field) const {
    for (size_t c = kColId; c < schema_.size(); ++c)
      if (schema_[c].name == field) return static_cast<int>(c);
    return -1;
  }
  Status Decompress(size_t i, const char* what, std::string_view in, uint32_t want, const ZSTD_DDict* d,
                    std::string* out);
  // The stored bytes of section `section` of block `i` as written before
  // sealing: `stored` itself, or opened by the segment's codec into opened_.
  Result<std::string_view> Unseal(size_t i, uint64_t section, std::string_view stored);
  Status ReadColumns(size_t i, BlockData* data, std::vector<std::string_view>* bodies);
  // The ids of block `i` from its id column body.
  Status DecodeIds(size_t i, std::string_view body, BlockData* data, std::vector<std::string_view>* ids);
  // The raw section of block `i`, checked, opened and decompressed into
  // data->raw.
  Status ReadRawSection(size_t i, BlockData* data);
  // The raw records of block `i` into *raws; of a packed block only those
  // with pass_[k] set are decoded (the others are left empty).
  Status ReadRaw(size_t i, BlockData* data, const std::vector<int64_t>& times,
                 const std::vector<std::string_view>& ids, std::vector<std::string_view>* raws);
  Status ReadFilters(size_t i, std::string* buf, std::vector<BloomView>* blooms);
  // Decodes column `c` of block `i` into decoded_[c] unless it is there.
  Status DecodeColumn(size_t i, size_t c, const std::vector<std::string_view>& bodies);
  // Sets pass_ to the records of block `i` whose columns do not rule out
  // `filter` (all when null). `ids` (may be null: no id test) are the
  // records' ids.
  Status FilterRecords(size_t i, const ScanFilter* filter, const std::vector<std::string_view>& bodies,
                       const std::vector<std::string_view>* ids);
  // Decodes the time column of block `i` into *times (record_count entries).
  Status DecodeTimes(size_t i, std::string_view body, std::vector<int64_t>* times) const;
  // The column answering request field `field` (ReadColumnBlock), -1 when none.
  int ValueColumnOf(const std::string& field) const {
    if (field == "account") return kColAccount;
    if (field == "principal") return kColPrincipal;
    for (size_t c = kFirstHotColumn; c < schema_.size(); ++c)
      if (schema_[c].name == field && (schema_[c].role & kColumnHot) != 0 && (schema_[c].role & kColumnNoValues) == 0)
        return static_cast<int>(c);
    return -1;
  }
  // The dictionary with this id (null for 0).
  Result<const ZSTD_DDict*> Dictionary(uint64_t id);

  Env* env_;
  std::unique_ptr<RandomAccessFile> file_;
  DictionaryCache* dicts_;
  const KeyRing* keys_;
  bool encrypted_;
  bool packed_;
  bool no_id_set_;
  bool columns_dict_;
  uint64_t columns_dict_id_ = 0;
  std::unique_ptr<BlockCodec> codec_;
  Status codec_error_;
  std::string opened_;
  ZSTD_DCtx* dctx_ = nullptr;
  SegmentTrailer trailer_;
  SegmentIndex index_;
  std::string account_;
  uint64_t dict_id_ = 0;
  std::vector<ColumnSpec> schema_;
  std::vector<BlockHandle2> blocks_;
  std::string filter_buf_;
  std::vector<BloomView> blooms_;
  std::vector<DecodedColumn> decoded_;
  std::vector<std::string_view> raws_;
  std::vector<uint8_t> pass_;
};

Status SegmentFile2::Init(uint64_t size) {
  const std::string& p = path();
  VIGIL_RETURN_IF_ERROR(ReadSegmentTrailer(*file_, size, &trailer_));
  std::string buf;
  VIGIL_RETURN_IF_ERROR(file_->Read(trailer_.index_offset, trailer_.index_len, &buf));
  if (buf.size() != trailer_.index_len || Checksum32(buf) != trailer_.index_checksum) {
    return Corrupt(p, "index checksum mismatch");
  }
  Reader in(buf);
  uint32_t st_len, acct_len, ncols, nblocks;
  std::string_view st, acct;
  if (!in.Fixed32(&st_len) || !in.Bytes(st_len, &st) || !in.Fixed32(&acct_len) || !in.Bytes(acct_len, &acct) ||
      !in.Int64(&index_.min_time_ns) || !in.Int64(&index_.max_time_ns) || !in.Fixed64(&index_.record_count) ||
      !in.Fixed64(&dict_id_) || (columns_dict_ && (!in.Fixed64(&columns_dict_id_) || columns_dict_id_ == 0)) ||
      !in.Fixed32(&ncols) || ncols < kFirstHotColumn || ncols > kMaxColumns) {
    return Corrupt(p, "malformed index");
  }
  index_.source_type.assign(st);
  account_.assign(acct);
  schema_.resize(ncols);
  for (ColumnSpec& c : schema_) {
    uint32_t len;
    std::string_view name;
    if (!in.Byte(&c.role) || !in.Fixed32(&len) || !in.Bytes(len, &name)) return Corrupt(p, "malformed index");
    c.name.assign(name);
  }
  if (!in.Fixed32(&nblocks) || nblocks > buf.size() / 60) return Corrupt(p, "malformed index");
  blocks_.resize(nblocks);
  index_.blocks.resize(nblocks);
  uint64_t next = kHeaderSize, records = 0;
  for (uint32_t i = 0; i < nblocks; ++i) {
    BlockHandle2& h = blocks_[i];
    if (!GetHandle2(&in, &h)) return Corrupt(p, "malformed index");
    bool ok = h.offset == next && h.record_count > 0 && h.min_time_ns <= h.max_time_ns &&
              h.min_time_ns >= index_.min_time_ns && h.max_time_ns <= index_.max_time_ns &&
              h.columns_raw_len <= kMaxBlockRawBytes && h.raw_raw_len <= kMaxBlockRawBytes &&
              h.filters_len <= kMaxBlockRawBytes;
    for (const ColumnRange& r : h.ranges) ok = ok && r.column >= kFirstHotColumn && r.column < ncols && r.min <= r.max;
    if (!ok) return Corrupt(p, "index entry for block " + std::to_string(i) + " is invalid");
    next = h.offset + h.size();
    records += h.record_count;
    BlockHandle& common = index_.blocks[i];
    common.offset = h.offset;
    common.record_count = h.record_count;
    common.min_time_ns = h.min_time_ns;
    common.max_time_ns = h.max_time_ns;
  }
  if (!in.empty() || next != trailer_.ids_offset || records != index_.record_count ||
      (no_id_set_ ? trailer_.ids_count != 0 : index_.record_count != trailer_.ids_count) ||
      index_.min_time_ns > index_.max_time_ns) {
    return Corrupt(p, "index inconsistent with blocks or ids");
  }
  return Status::Ok();
}

Status SegmentFile2::Decompress(size_t i, const char* what, std::string_view in, uint32_t want, const ZSTD_DDict* d,
                                std::string* out) {
  if (dctx_ == nullptr) {
    dctx_ = ZSTD_createDCtx();
    if (dctx_ == nullptr) return Status::Internal("zstd: cannot create decompression context");
  }
  out->resize(want);
  size_t n = d != nullptr ? ZSTD_decompress_usingDDict(dctx_, out->data(), out->size(), in.data(), in.size(), d)
                          : ZSTD_decompressDCtx(dctx_, out->data(), out->size(), in.data(), in.size());
  if (ZSTD_isError(n) || n != want) {
    return Corrupt(path(), Where(i) + ": cannot decompress the " + what + " section" +
                               (ZSTD_isError(n) ? std::string(" (") + ZSTD_getErrorName(n) + ")" : std::string()));
  }
  return Status::Ok();
}

Result<std::string_view> SegmentFile2::Unseal(size_t i, uint64_t section, std::string_view stored) {
  if (!encrypted_) return stored;
  if (codec_ == nullptr) {
    // The data key is unwrapped once, on the first section read.
    if (codec_error_.ok()) {
      auto codec = OpenSegmentKey(env_, path(), keys_);
      if (codec.ok()) {
        codec_ = std::move(codec).value();
      } else {
        codec_error_ = codec.status();
      }
    }
    if (!codec_error_.ok()) return codec_error_;
  }
  VIGIL_RETURN_IF_ERROR(codec_->Open(i * 4 + section, stored, &opened_));
  return std::string_view(opened_);
}

Status SegmentFile2::ReadColumns(size_t i, BlockData* data, std::vector<std::string_view>* bodies) {
  const BlockHandle2& h = blocks_[i];
  VIGIL_RETURN_IF_ERROR(file_->Read(h.offset, kBlockHeaderSize2 + h.columns_len, &data->sealed));
  if (data->sealed.size() != kBlockHeaderSize2 + h.columns_len) return Corrupt(path(), Where(i) + ": truncated");
  const char* p = data->sealed.data();
  if (DecodeFixed32(p) != kBlockMagic2 || Checksum32(std::string_view(p, 60)) != DecodeFixed32(p + 60)) {
    return Corrupt(path(), Where(i) + ": block header checksum mismatch");
  }
  const uint32_t expect[] = {h.columns_len, h.columns_raw_len, h.raw_len, h.raw_raw_len, h.filters_len,
                             h.columns_checksum, h.raw_checksum, h.filters_checksum};
  bool agree = DecodeFixed32(p + 4) == h.record_count && static_cast<int64_t>(DecodeFixed64(p + 8)) == h.min_time_ns &&
               static_cast<int64_t>(DecodeFixed64(p + 16)) == h.max_time_ns;
  for (int k = 0; k < 8; ++k) agree = agree && DecodeFixed32(p + 24 + 4 * k) == expect[k];
  if (!agree) return Corrupt(path(), Where(i) + ": block header disagrees with index");
  std::string_view stored(p + kBlockHeaderSize2, h.columns_len);
  if (Checksum32(stored) != h.columns_checksum) return Corrupt(path(), Where(i) + ": columns section checksum mismatch");
  VIGIL_ASSIGN_OR_RETURN(std::string_view payload, Unseal(i, 0, stored));
  VIGIL_ASSIGN_OR_RETURN(const ZSTD_DDict* d, Dictionary(columns_dict_id_));
  VIGIL_RETURN_IF_ERROR(Decompress(i, "columns", payload, h.columns_raw_len, d, &data->columns));
  Reader r(data->columns);
  bodies->resize(schema_.size());
  for (size_t c = 0; c < schema_.size(); ++c) {
    if (!r.LengthPrefixed(&(*bodies)[c])) return Corrupt(path(), Where(i) + ": columns section is malformed");
  }
  if (!r.empty()) return Corrupt(path(), Where(i) + ": trailing bytes after columns");
  return Status::Ok();
}

Status SegmentFile2::ReadRawSection(size_t i, BlockData* data) {
  const BlockHandle2& h = blocks_[i];
  VIGIL_RETURN_IF_ERROR(file_->Read(h.offset + kBlockHeaderSize2 + h.columns_len, h.raw_len, &data->sealed));
  if (data->sealed.size() != h.raw_len) return Corrupt(path(), Where(i) + ": truncated");
  if (Checksum32(data->sealed) != h.raw_checksum) return Corrupt(path(), Where(i) + ": raw section checksum mismatch");
  VIGIL_ASSIGN_OR_RETURN(const ZSTD_DDict* d, Dictionary(dict_id_));
  VIGIL_ASSIGN_OR_RETURN(std::string_view payload, Unseal(i, 1, data->sealed));
  return Decompress(i, "raw", payload, h.raw_raw_len, d, &data->raw);
}

Status SegmentFile2::ReadRaw(size_t i, BlockData* data, const std::vector<int64_t>& times,
                             const std::vector<std::string_view>& ids, std::vector<std::string_view>* raws) {
  const BlockHandle2& h = blocks_[i];
  VIGIL_RETURN_IF_ERROR(ReadRawSection(i, data));
  raws->assign(h.record_count, std::string_view());
  auto bad_record = [&](uint32_t k) {
    return Corrupt(path(), Where(i) + ": raw record " + std::to_string(k) + " is malformed");
  };
  if (!packed_) {
    Reader r(data->raw);
    for (uint32_t k = 0; k < h.record_count; ++k)
      if (!r.LengthPrefixed(&(*raws)[k])) return bad_record(k);
    if (!r.empty()) return Corrupt(path(), Where(i) + ": trailing bytes after raw records");
    return Status::Ok();
  }
  // Packed: records, then their UUIDs (16 bytes each), then the UUID count.
  const std::string_view all(data->raw);
  if (all.size() < 4) return Corrupt(path(), Where(i) + ": raw section is malformed");
  const uint64_t n_uuids = DecodeFixed32(all.data() + all.size() - 4);
  if (n_uuids > (all.size() - 4) / 16) return Corrupt(path(), Where(i) + ": raw section is malformed");
  std::string_view uuids = all.substr(all.size() - 4 - 16 * n_uuids, 16 * n_uuids);
  Reader r(all.substr(0, all.size() - 4 - 16 * n_uuids));
  std::vector<std::pair<size_t, size_t>> spans(h.record_count);
  data->raw_text.clear();
  uint64_t taken = 0;
  char time_text[20];
  for (uint32_t k = 0; k < h.record_count; ++k) {
    std::string_view rec;
    uint32_t len, count;
    if (!r.Varint32(&len) || !r.Varint32(&count) || !r.Bytes(len, &rec) || count > n_uuids - taken) {
      return bad_record(k);
    }
    if (pass_.empty() || pass_[k]) {
      std::string_view mine = uuids.substr(16 * taken, 16 * size_t{count});
      const size_t at = data->raw_text.size();
      // Columns a record refers to were decoded by ReadBlock.
      auto lookup = [&](unsigned char what, std::string_view* text) {
        if (what == kMarkTime) {
          if (!FormatRfc3339Seconds(times[k], time_text)) return false;
          *text = std::string_view(time_text, 20);
          return true;
        }
        if (what < kMarkColumn) return false;
        const uint32_t c = what - kMarkColumn;
        if (c < kColAccount || c >= decoded_.size()) return false;
        const DecodedColumn& col = decoded_[c];
        if (!col.present || col.is_int || col.unknown[k] || col.row_begin[k] == col.row_begin[k + 1]) return false;
        *text = col.dict[col.value_ids[col.row_begin[k]]];
        return true;
      };
      if (!UnpackRecord(rec, ids[k], count, &mine, lookup, kMaxBlockRawBytes, &data->raw_text)) {
        return bad_record(k);
      }
      spans[k] = {at, data->raw_text.size() - at};
    }
    taken += count;
  }
  if (!r.empty() || taken != n_uuids) return Corrupt(path(), Where(i) + ": trailing bytes after raw records");
  for (uint32_t k = 0; k < h.record_count; ++k) {
    if (pass_.empty() || pass_[k]) (*raws)[k] = std::string_view(data->raw_text.data() + spans[k].first, spans[k].second);
  }
  return Status::Ok();
}

Status SegmentFile2::DecodeIds(size_t i, std::string_view body, BlockData* data,
                               std::vector<std::string_view>* ids) {
  const uint32_t n = blocks_[i].record_count;
  bool ok;
  if (packed_) {
    ok = DecodePackedIds(body, n, &data->id_text, ids);
  } else {
    Reader r(body);
    ids->resize(n);
    ok = true;
    for (uint32_t k = 0; k < n && ok; ++k) ok = r.LengthPrefixed(&(*ids)[k]);
    ok = ok && r.empty();
  }
  if (!ok) return Corrupt(path(), Where(i) + ": column id is malformed");
  return Status::Ok();
}

Status SegmentFile2::ReadIds(std::vector<Hash128>* out) {
  if (!no_id_set_) return ReadSegmentIds(*file_, trailer_, out);
  // Written without an id set: hash the ids of the id column (columns
  // sections only, which need no dictionary).
  out->clear();
  out->reserve(index_.record_count);
  BlockData data;
  std::vector<std::string_view> bodies, ids;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    VIGIL_RETURN_IF_ERROR(ReadColumns(i, &data, &bodies));
    VIGIL_RETURN_IF_ERROR(DecodeIds(i, bodies[kColId], &data, &ids));
    for (std::string_view id : ids) out->push_back(HashId128(id));
  }
  return Status::Ok();
}

Result<const ZSTD_DDict*> SegmentFile2::Dictionary(uint64_t id) {
  if (id == 0) return static_cast<const ZSTD_DDict*>(nullptr);
  if (dicts_ == nullptr) return Status::Internal("segment " + path() + ": no dictionary cache to read blocks");
  auto got = dicts_->Get(id);
  if (!got.ok()) return got.status().WithContext("segment " + path());
  return *got;
}

Status SegmentFile2::ReadFilters(size_t i, std::string* buf, std::vector<BloomView>* blooms) {
  const BlockHandle2& h = blocks_[i];
  VIGIL_RETURN_IF_ERROR(
      file_->Read(h.offset + kBlockHeaderSize2 + h.columns_len + h.raw_len, h.filters_len, buf));
  if (buf->size() != h.filters_len) return Corrupt(path(), Where(i) + ": truncated");
  if (Checksum32(*buf) != h.filters_checksum) return Corrupt(path(), Where(i) + ": filters section checksum mismatch");
  VIGIL_ASSIGN_OR_RETURN(std::string_view payload, Unseal(i, 2, *buf));
  if (payload.data() != buf->data()) {
    // The blooms are views: keep them in *buf, not in the codec's buffer.
    *buf = std::string(payload);
  }
  if (!ParseBlooms(*buf, blooms)) return Corrupt(path(), Where(i) + ": filters section is malformed");
  for (const BloomView& b : *blooms) {
    if (b.column != kTextBloomColumn && b.column >= schema_.size()) {
      return Corrupt(path(), Where(i) + ": filters section names an unknown column");
    }
  }
  return Status::Ok();
}

Result<bool> SegmentFile2::BlockMayMatch(size_t i, const ScanFilter& filter, ScanStats* stats) {
  const BlockHandle2& h = blocks_[i];
  bool needs_blooms = !filter.text_runs.empty();
  for (const ScanFilter::Equality& eq : filter.equalities) {
    if (eq.field == "account" && !account_.empty() && eq.matches && !eq.matches(account_)) {
      if (stats != nullptr) ++stats->blocks_pruned_index;
      return false;
    }
    const int c = ColumnOf(eq.field);
    if (c >= 0 && !eq.exact.empty() && (schema_[c].role & kColumnBloom) != 0) needs_blooms = true;
  }
  for (const ScanFilter::Compare& cmp : filter.compares) {
    const int c = ColumnOf(cmp.field);
    if (c < 0) continue;
    for (const ColumnRange& r : h.ranges) {
      if (r.column == static_cast<uint32_t>(c) &&
          !RangeMayCompare(cmp.op, static_cast<double>(r.min), static_cast<double>(r.max), cmp.bound)) {
        if (stats != nullptr) ++stats->blocks_pruned_index;
        return false;
      }
    }
  }
  if (!needs_blooms) return true;
  VIGIL_RETURN_IF_ERROR(ReadFilters(i, &filter_buf_, &blooms_));
  auto bloom_of = [this](uint32_t column) -> const BloomView* {
    for (const BloomView& b : blooms_)
      if (b.column == column) return &b;
    return nullptr;
  };
  bool may = true;
  for (const ScanFilter::Equality& eq : filter.equalities) {
    const int c = ColumnOf(eq.field);
    if (c < 0 || eq.exact.empty()) continue;
    const BloomView* b = bloom_of(static_cast<uint32_t>(c));
    if (b == nullptr) continue;
    bool any = false;
    for (const std::string& v : eq.exact) any = any || b->MayContain(ValueHash(v));
    if (!any) may = false;
  }
  if (may && !filter.text_runs.empty()) {
    if (const BloomView* b = bloom_of(kTextBloomColumn)) {
      for (const std::string& run : filter.text_runs) {
        for (size_t k = 0; may && k + 3 <= run.size(); ++k) {
          const uint32_t code = (static_cast<uint32_t>(static_cast<unsigned char>(run[k])) << 16) |
                                (static_cast<uint32_t>(static_cast<unsigned char>(run[k + 1])) << 8) |
                                static_cast<unsigned char>(run[k + 2]);
          may = b->MayContain(TrigramHash(code));
        }
      }
    }
  }
  if (!may && stats != nullptr) ++stats->blocks_pruned_bloom;
  return may;
}

Status SegmentFile2::DecodeTimes(size_t i, std::string_view body, std::vector<int64_t>* times) const {
  const BlockHandle2& h = blocks_[i];
  const uint32_t n = h.record_count;
  times->resize(n);
  Reader r(body);
  uint64_t unit;
  if (!r.Varint64(&unit) || unit == 0) return Corrupt(path(), Where(i) + ": column time is malformed");
  const uint64_t span = static_cast<uint64_t>(h.max_time_ns) - static_cast<uint64_t>(h.min_time_ns);
  uint64_t at = 0;  // offset from min_time_ns
  for (uint32_t k = 0; k < n; ++k) {
    uint64_t d;
    if (!r.Varint64(&d)) return Corrupt(path(), Where(i) + ": column time is malformed");
    if (d > (span - at) / unit) {
      return Corrupt(path(), Where(i) + ": record " + std::to_string(k) + " time outside block range");
    }
    at += d * unit;
    (*times)[k] = static_cast<int64_t>(static_cast<uint64_t>(h.min_time_ns) + at);
  }
  if (!r.empty()) return Corrupt(path(), Where(i) + ": column time is malformed");
  return Status::Ok();
}

// True when a column's text could stand for a JSON null, boolean or number,
// which a dict column stores as text without saying which.
bool MayNotBeString(std::string_view t) {
  if (t == "null" || t == "true" || t == "false") return true;
  // A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  size_t k = 0;
  auto digits = [&]() {
    const size_t at = k;
    while (k < t.size() && t[k] >= '0' && t[k] <= '9') ++k;
    return k > at;
  };
  if (k < t.size() && t[k] == '-') ++k;
  if (!digits()) return false;
  if (k < t.size() && t[k] == '.') {
    ++k;
    if (!digits()) return false;
  }
  if (k < t.size() && (t[k] == 'e' || t[k] == 'E')) {
    ++k;
    if (k < t.size() && (t[k] == '+' || t[k] == '-')) ++k;
    if (!digits()) return false;
  }
  return k == t.size();
}

Result<bool> SegmentFile2::ReadColumnBlock(size_t i, const ColumnRequest& request, bool times,
                                           const ScanFilter* filter, BlockData* data, ColumnBlock* out,
                                           ScanStats* stats) {
  if (i >= blocks_.size()) return Status::InvalidArgument("segment " + path() + ": no block " + std::to_string(i));
  const BlockHandle2& h = blocks_[i];
  const uint32_t n = h.record_count;
  std::vector<int> cols(request.fields.size(), -1);
  bool need_columns = times;
  for (size_t f = 0; f < request.fields.size(); ++f) {
    if (request.fields[f] == "source") {
      if (index_.source_type.empty()) return false;  // the matcher would read the record's own `source`
      continue;
    }
    cols[f] = ValueColumnOf(request.fields[f]);
    if (cols[f] < 0) return false;
    need_columns = true;
  }
  out->source_type = index_.source_type;
  out->rows = n;
  out->min_time_ns = h.min_time_ns;
  out->max_time_ns = h.max_time_ns;
  out->times.clear();
  out->columns.resize(request.fields.size());
  out->pass.clear();
  if (filter != nullptr) {
    // A filter on a field the query reads (the search's own terms) drops
    // records before they are grouped, as ReadBlock drops them.
    for (const ScanFilter::Equality& eq : filter->equalities) need_columns = need_columns || ColumnOf(eq.field) >= 0;
    for (const ScanFilter::Compare& cmp : filter->compares) need_columns = need_columns || ColumnOf(cmp.field) >= 0;
  }
  std::vector<std::string_view> bodies;
  if (need_columns) VIGIL_RETURN_IF_ERROR(ReadColumns(i, data, &bodies));
  if (times) VIGIL_RETURN_IF_ERROR(DecodeTimes(i, bodies[kColTime], &out->times));
  decoded_.resize(schema_.size());
  for (size_t c = kColAccount; c < schema_.size(); ++c) decoded_[c].present = false;
  if (filter != nullptr && need_columns) {
    VIGIL_RETURN_IF_ERROR(FilterRecords(i, filter, bodies, nullptr));
    const uint32_t passing = static_cast<uint32_t>(std::count(pass_.begin(), pass_.end(), 1));
    if (stats != nullptr) stats->records_dropped += n - passing;
    if (passing < n) out->pass = pass_;
  }
  for (size_t f = 0; f < request.fields.size(); ++f) {
    ColumnBlock::Column& col = out->columns[f];
    col.ints.clear();
    if (cols[f] < 0) {  // source: one value a record
      col.is_int = false;
      col.single = true;
      col.text.assign(1, out->source_type);
      col.values.assign(n, 0);
      col.begin.resize(n + 1);
      std::iota(col.begin.begin(), col.begin.end(), 0u);
      continue;
    }
    const size_t c = static_cast<size_t>(cols[f]);
    DecodedColumn& d = decoded_[c];
    if (d.row_begin.size() != n + 1) d.present = false;  // handed on to an earlier field of the request
    VIGIL_RETURN_IF_ERROR(DecodeColumn(i, c, bodies));
    if (std::find(d.unknown.begin(), d.unknown.end(), 1) != d.unknown.end()) return false;
    col.single = true;
    for (uint32_t k = 0; k < n && col.single; ++k) col.single = d.row_begin[k + 1] == d.row_begin[k] + 1;
    for (std::string_view t : d.dict) {
      // An empty principal or account makes the matcher read the record's
      // own field of that name.
      if (c < kFirstHotColumn ? t.empty() : MayNotBeString(t)) return false;
    }
    col.is_int = d.is_int;
    col.begin.swap(d.row_begin);
    col.values.swap(d.value_ids);
    col.text.swap(d.dict);
    col.ints.swap(d.ints);
    d.present = false;
  }
  return true;
}

Status SegmentFile2::DecodeColumn(size_t i, size_t c, const std::vector<std::string_view>& bodies) {
  if (decoded_[c].present) return Status::Ok();
  const uint32_t n = blocks_[i].record_count;
  bool ok = DecodeValueColumn(bodies[c], n, &decoded_[c]);
  if (ok && c < kFirstHotColumn) {  // account and principal: exactly one value a row
    for (uint32_t k = 0; k < n && ok; ++k)
      ok = !decoded_[c].unknown[k] && decoded_[c].row_begin[k + 1] == decoded_[c].row_begin[k] + 1;
  }
  if (!ok) return Corrupt(path(), Where(i) + ": column " + schema_[c].name + " is malformed");
  return Status::Ok();
}

Status SegmentFile2::FilterRecords(size_t i, const ScanFilter* filter, const std::vector<std::string_view>& bodies,
                                   const std::vector<std::string_view>* ids) {
  const uint32_t n = blocks_[i].record_count;
  pass_.assign(n, 1);
  if (filter == nullptr) return Status::Ok();
  char buf[24];
  for (const ScanFilter::Equality& eq : filter->equalities) {
    const int c = ColumnOf(eq.field);
    if (c < 0 || !eq.matches) continue;
    if (c == static_cast<int>(kColId)) {
      if (ids == nullptr) continue;
      for (uint32_t k = 0; k < n; ++k)
        if (pass_[k] && !eq.matches((*ids)[k])) pass_[k] = 0;
      continue;
    }
    VIGIL_RETURN_IF_ERROR(DecodeColumn(i, static_cast<size_t>(c), bodies));
    const DecodedColumn& col = decoded_[c];
    for (uint32_t k = 0; k < n; ++k) {
      if (!pass_[k] || col.unknown[k]) continue;
      bool hit = false;
      for (uint32_t v = col.row_begin[k]; v < col.row_begin[k + 1] && !hit; ++v) {
        std::string_view text = ValueText(col, v, buf);
        // An empty principal or account makes the matcher read the raw
        // record's field of that name instead: unknown here.
        hit = (c < static_cast<int>(kFirstHotColumn) && text.empty()) || eq.matches(text);
      }
      if (!hit) pass_[k] = 0;
    }
  }
  for (const ScanFilter::Compare& cmp : filter->compares) {
    const int c = ColumnOf(cmp.field);
    if (c < static_cast<int>(kFirstHotColumn)) continue;
    VIGIL_RETURN_IF_ERROR(DecodeColumn(i, static_cast<size_t>(c), bodies));
    const DecodedColumn& col = decoded_[c];
    if (!col.is_int) continue;  // strings holding numbers compare too: leave them to the matcher
    for (uint32_t k = 0; k < n; ++k) {
      if (!pass_[k] || col.unknown[k]) continue;
      bool hit = false;
      for (uint32_t v = col.row_begin[k]; v < col.row_begin[k + 1] && !hit; ++v)
        hit = Compares(cmp.op, static_cast<double>(col.ints[v]), cmp.bound);
      if (!hit) pass_[k] = 0;
    }
  }
  return Status::Ok();
}

Status SegmentFile2::ReadBlock(size_t i, const ScanFilter* filter, BlockData* data, ScanStats* stats) {
  data->records.clear();
  if (i >= blocks_.size()) return Status::InvalidArgument("segment " + path() + ": no block " + std::to_string(i));
  const BlockHandle2& h = blocks_[i];
  std::vector<std::string_view> bodies;
  VIGIL_RETURN_IF_ERROR(ReadColumns(i, data, &bodies));
  const uint32_t n = h.record_count;
  auto malformed = [&](const char* column) {
    return Corrupt(path(), Where(i) + ": column " + column + " is malformed");
  };
  // time, ingest_time, flags, id
  std::vector<int64_t> times(n), ingest(n);
  std::vector<uint8_t> flags(n);
  std::vector<std::string_view> ids(n);
  VIGIL_RETURN_IF_ERROR(DecodeTimes(i, bodies[kColTime], &times));
  {
    Reader r(bodies[kColIngestTime]);
    int64_t prev = 0;
    for (uint32_t k = 0; k < n; ++k) {
      int64_t d;
      if (!r.SignedVarint(&d)) return malformed("ingest_time");
      prev = static_cast<int64_t>(static_cast<uint64_t>(prev) + static_cast<uint64_t>(d));
      ingest[k] = prev;
    }
    if (!r.empty()) return malformed("ingest_time");
  }
  if (bodies[kColFlags].size() != n) return malformed("flags");
  for (uint32_t k = 0; k < n; ++k) flags[k] = static_cast<uint8_t>(bodies[kColFlags][k]);
  VIGIL_RETURN_IF_ERROR(DecodeIds(i, bodies[kColId], data, &ids));
  decoded_.resize(schema_.size());
  for (size_t c = kColAccount; c < schema_.size(); ++c) decoded_[c].present = false;
  VIGIL_RETURN_IF_ERROR(DecodeColumn(i, kColAccount, bodies));
  VIGIL_RETURN_IF_ERROR(DecodeColumn(i, kColPrincipal, bodies));
  VIGIL_RETURN_IF_ERROR(FilterRecords(i, filter, bodies, &ids));
  const uint32_t passing = static_cast<uint32_t>(std::count(pass_.begin(), pass_.end(), 1));
  if (stats != nullptr) stats->records_dropped += n - passing;
  if (passing == 0) {
    if (stats != nullptr) ++stats->blocks_pruned_columns;
    return Status::Ok();
  }
  if (stats != nullptr) ++stats->blocks_read;
  if (packed_) {  // packed records refer to the values of these columns
    for (size_t c = kFirstHotColumn; c < schema_.size(); ++c)
      if ((schema_[c].role & kColumnNoValues) == 0) VIGIL_RETURN_IF_ERROR(DecodeColumn(i, c, bodies));
  }
  VIGIL_RETURN_IF_ERROR(ReadRaw(i, data, times, ids, &raws_));
  const DecodedColumn& acct = decoded_[kColAccount];
  const DecodedColumn& prin = decoded_[kColPrincipal];
  data->records.reserve(passing);
  for (uint32_t k = 0; k < n; ++k) {
    if (k > 0 && (times[k] < times[k - 1] || (times[k] == times[k - 1] && ids[k] < ids[k - 1]))) {
      return Corrupt(path(), Where(i) + ": records out of order");
    }
    if (!pass_[k]) continue;
    RecordView rec;
    rec.id = ids[k];
    rec.time_ns = times[k];
    rec.ingest_time_ns = ingest[k];
    rec.time_fallback = (flags[k] & 1) != 0;
    rec.source_type = index_.source_type;
    rec.account = acct.dict[acct.value_ids[acct.row_begin[k]]];
    rec.principal = prin.dict[prin.value_ids[prin.row_begin[k]]];
    rec.raw = raws_[k];
    data->records.push_back(rec);
  }
  return Status::Ok();
}

Status SegmentFile2::CheckBlock(size_t i, BlockData* data) {
  VIGIL_RETURN_IF_ERROR(ReadBlock(i, nullptr, data, nullptr));
  std::vector<std::string_view> bodies;
  VIGIL_RETURN_IF_ERROR(ReadColumns(i, data, &bodies));
  DecodedColumn col;
  for (size_t c = kFirstHotColumn; c < schema_.size(); ++c) {
    if (!DecodeValueColumn(bodies[c], blocks_[i].record_count, &col)) {
      return Corrupt(path(), Where(i) + ": column " + schema_[c].name + " is malformed");
    }
  }
  return ReadFilters(i, &filter_buf_, &blooms_);
}

Status SegmentFile2::ReadStoredBlock(size_t i, std::string* out) {
  const BlockHandle2& h = blocks_[i];
  VIGIL_RETURN_IF_ERROR(file_->Read(h.offset, h.size(), out));
  if (out->size() != h.size()) return Corrupt(path(), Where(i) + ": truncated");
  const char* p = out->data() + kBlockHeaderSize2;
  if (Checksum32(std::string_view(p, h.columns_len)) != h.columns_checksum ||
      Checksum32(std::string_view(p + h.columns_len, h.raw_len)) != h.raw_checksum ||
      Checksum32(std::string_view(p + h.columns_len + h.raw_len, h.filters_len)) != h.filters_checksum) {
    return Corrupt(path(), Where(i) + ": section checksum mismatch");
  }
  return Status::Ok();
}

Status SegmentFile2::ReadSectionsForRewrite(size_t i, BlockData* data, std::string* filters_stored) {
  std::vector<std::string_view> bodies;
  VIGIL_RETURN_IF_ERROR(ReadColumns(i, data, &bodies));
  VIGIL_RETURN_IF_ERROR(ReadRawSection(i, data));
  const BlockHandle2& h = blocks_[i];
  VIGIL_RETURN_IF_ERROR(file_->Read(h.offset + kBlockHeaderSize2 + h.columns_len + h.raw_len, h.filters_len,
                                    filters_stored));
  if (filters_stored->size() != h.filters_len) return Corrupt(path(), Where(i) + ": truncated");
  if (Checksum32(*filters_stored) != h.filters_checksum) {
    return Corrupt(path(), Where(i) + ": filters section checksum mismatch");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<SegmentFile>> SegmentFile::Open(Env* env, const std::string& path, DictionaryCache* dicts,
                                                       const KeyRing* keys) {
  VIGIL_ASSIGN_OR_RETURN(auto file, env->NewRandomAccessFile(path));
  const uint64_t size = file->Size();
  if (size < kHeaderSize + kTrailerSize) {
    return Corrupt(path, "file too short (" + std::to_string(size) + " bytes) to be a segment");
  }
  std::string buf;
  VIGIL_RETURN_IF_ERROR(file->Read(0, kHeaderSize, &buf));
  if (buf.size() != kHeaderSize || std::memcmp(buf.data(), kFileMagic, sizeof kFileMagic) != 0) {
    return Corrupt(path, "bad header magic");
  }
  const uint32_t version = DecodeFixed32(buf.data() + 8);
  if (version == kFormatVersion) {
    file.reset();
    VIGIL_ASSIGN_OR_RETURN(auto r, SegmentReader::Open(env, path, keys));
    return std::unique_ptr<SegmentFile>(new SegmentFile1(std::move(r)));
  }
  if (version != kFormatVersion2) {
    return Status::Unsupported("segment " + path + ": format version " + std::to_string(version) +
                               "; this vigil reads versions 1 and 2");
  }
  const uint32_t flags = DecodeFixed32(buf.data() + 12);
  if ((flags & ~(kSegmentFlagEncrypted | kSegmentFlagPacked | kSegmentFlagNoIdSet | kSegmentFlagColumnsDict)) != 0 ||
      ((flags & kSegmentFlagNoIdSet) != 0 && (flags & kSegmentFlagPacked) == 0)) {
    return Status::Unsupported("segment " + path + ": unknown header flags " + std::to_string(flags));
  }
  auto f = std::make_unique<SegmentFile2>(env, std::move(file), dicts, keys, flags);
  VIGIL_RETURN_IF_ERROR(f->Init(size));
  return std::unique_ptr<SegmentFile>(std::move(f));
}

}  // namespace vigil::segment

namespace vigil::segment {

Status MergeSegmentBlocks2(Env* env, const std::vector<std::string>& inputs, const std::string& final_path,
                           uint64_t min_block_bytes) {
  if (inputs.empty()) return Status::InvalidArgument("no segments to merge into " + final_path);
  std::vector<std::unique_ptr<SegmentFile>> files;
  SegmentFile2* first = nullptr;
  uint64_t blocks = 0, raw_bytes = 0;  // to tell the inputs' average block size
  for (const std::string& path : inputs) {
    VIGIL_ASSIGN_OR_RETURN(auto any, SegmentFile::Open(env, path, nullptr, nullptr));
    if (any->version() != kFormatVersion2) return Status::Unsupported("segment " + path + " is format v1");
    auto* f = static_cast<SegmentFile2*>(any.get());
    // A sealed block authenticates its own segment and position.
    if (f->encrypted()) return Status::Unsupported("segment " + path + " is encrypted");
    if (first == nullptr) {
      first = f;
    } else {
      const bool same = f->index().source_type == first->index().source_type && f->account() == first->account() &&
                        f->dict_id() == first->dict_id() && f->columns_dict_id() == first->columns_dict_id() &&
                        f->packed() == first->packed() && f->has_id_set() == first->has_id_set() &&
                        f->schema() == first->schema();
      if (!same) {
        return Status::Unsupported("segment " + path + " differs from " + first->path() +
                                   " in log type, account, dictionaries or columns");
      }
    }
    for (size_t i = 0; i < f->index().blocks.size(); ++i) raw_bytes += f->handle(i).columns_raw_len + f->handle(i).raw_raw_len;
    blocks += f->index().blocks.size();
    files.push_back(std::move(any));
  }
  if (blocks > 0 && raw_bytes / blocks < min_block_bytes) {
    return Status::Unsupported("the blocks of the segments merged into " + final_path + " hold " +
                               std::to_string(raw_bytes / blocks) + " bytes on average, under " +
                               std::to_string(min_block_bytes));
  }
  VIGIL_ASSIGN_OR_RETURN(auto out, SegmentBuilder2::Create(env, final_path, first->index().source_type,
                                                           first->account(), first->dict_id(), first->schema(),
                                                           nullptr, first->packed(), first->columns_dict_id()));
  auto abandon = [&](Status s) {
    out->Abandon();
    (void)env->RemoveFile(final_path + kTempSuffix);  // also after a failed Seal
    return s.WithContext("merging into " + final_path);
  };
  std::string block;
  std::vector<Hash128> ids;
  for (auto& any : files) {
    auto* f = static_cast<SegmentFile2*>(any.get());
    for (size_t i = 0; i < f->index().blocks.size(); ++i) {
      Status s = f->ReadStoredBlock(i, &block);
      if (s.ok()) s = out->AddBlock(block, f->handle(i));
      if (!s.ok()) return abandon(s);
    }
    if (f->has_id_set()) {
      ids.clear();
      Status s = f->ReadIds(&ids);
      if (!s.ok()) return abandon(s);
      for (const Hash128& id : ids) out->AddId(id);
    }
  }
  files.clear();
  Status s = out->Seal();
  if (!s.ok()) return abandon(s);
  return Status::Ok();
}

Status RecompressSegment2(Env* env, const std::string& path, DictionaryCache* dicts, const KeyRing* keys, int level) {
  VIGIL_ASSIGN_OR_RETURN(auto any, SegmentFile::Open(env, path, dicts, keys));
  if (any->version() != kFormatVersion2) {
    return Status::Unsupported("segment " + path + " is format v" + std::to_string(any->version()) + ", not v2");
  }
  auto* in = static_cast<SegmentFile2*>(any.get());
  // The segment's own codec: blocks are sealed again under the same data key
  // and segment id, so the key file beside it stays valid for both files.
  std::unique_ptr<BlockCodec> codec;
  if (in->encrypted() && (keys == nullptr || keys->empty())) {
    return Status::Unsupported("segment " + path + " is encrypted and no master key was given: not recompressed");
  }
  if (in->encrypted()) {
    VIGIL_ASSIGN_OR_RETURN(codec, OpenSegmentKey(env, path, keys));
  }
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (cctx == nullptr) return Status::Internal("zstd: cannot create compression context");
  using CDictPtr = std::unique_ptr<ZSTD_CDict, size_t (*)(ZSTD_CDict*)>;
  // The segment's dictionary `id` (none for 0) for compressing at `lvl`.
  auto load = [&](uint64_t id, int lvl) -> Result<CDictPtr> {
    CDictPtr cdict(nullptr, ZSTD_freeCDict);
    if (id == 0) return cdict;
    if (dicts == nullptr) return Status::Internal("segment " + path + ": no dictionary cache to recompress it");
    std::string dict;
    VIGIL_RETURN_IF_ERROR(dicts->Load(id, &dict).WithContext("segment " + path));
    cdict.reset(ZSTD_createCDict(dict.data(), dict.size(), lvl));
    if (cdict == nullptr) return Status::Internal("zstd: cannot load the dictionary of " + path);
    return cdict;
  };
  VIGIL_ASSIGN_OR_RETURN(CDictPtr cdict, load(in->dict_id(), level));
  VIGIL_ASSIGN_OR_RETURN(CDictPtr columns_cdict, load(in->columns_dict_id(), std::max(level, 3)));
  std::vector<Hash128> ids;
  VIGIL_RETURN_IF_ERROR(in->ReadIds(&ids));
  BlockCodec* seal = codec.get();
  VIGIL_ASSIGN_OR_RETURN(auto out, SegmentBuilder2::CreateRewrite(env, path, in->index().source_type, in->account(),
                                                                  in->dict_id(), in->schema(), std::move(codec),
                                                                  in->packed(), in->columns_dict_id()));
  BlockData data;
  std::string filters, block, scratch;
  for (size_t i = 0; i < in->index().blocks.size(); ++i) {
    VIGIL_RETURN_IF_ERROR(in->ReadSectionsForRewrite(i, &data, &filters));
    BlockHandle2 h = in->handle(i);  // counts, times and column ranges stay
    block.assign(kBlockHeaderSize2, '\0');
    SectionWriter w{cctx.get(), &scratch, seal, i, &block};
    VIGIL_ASSIGN_OR_RETURN(h.columns_len, w.Store(0, data.columns, columns_cdict.get(), std::max(level, 3), true));
    VIGIL_ASSIGN_OR_RETURN(h.raw_len, w.Store(1, data.raw, cdict.get(), level, true));
    // Filters are not compressed; sealed ones stay valid as they are (same
    // data key, segment id and position).
    block.append(filters);
    h.filters_len = static_cast<uint32_t>(filters.size());
    FinishBlock2(&h, &block);
    VIGIL_RETURN_IF_ERROR(out->AddBlock(block, std::move(h)));
  }
  for (const Hash128& id : ids) out->AddId(id);
  any.reset();
  VIGIL_RETURN_IF_ERROR(out->Seal().WithContext("recompressing " + path));
  Status s = PublishSegment(env, path);
  if (!s.ok()) {
    (void)env->RemoveFile(path + kTempSuffix);
    return s.WithContext("recompressing " + path);
  }
  return env->SyncDir(DirName(path)).WithContext("recompressing " + path);
}

}  // namespace vigil::segment
