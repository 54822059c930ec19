#include "formats/decompress.h"

#include <libdeflate.h>

#include <cstring>
#include <memory>

namespace vigil {

bool IsGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::string Gzip(std::string_view bytes, int level) {
  struct Free {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  std::unique_ptr<libdeflate_compressor, Free> c(libdeflate_alloc_compressor(level));
  if (!c) return {};
  std::string out(libdeflate_gzip_compress_bound(c.get(), bytes.size()), '\0');
  out.resize(libdeflate_gzip_compress(c.get(), bytes.data(), bytes.size(), out.data(), out.size()));
  return out;
}

Result<ByteBuffer> GunzipAll(std::string_view bytes, std::string_view name, size_t max_bytes) {
  ByteBuffer out;
  VIGIL_RETURN_IF_ERROR(GunzipInto(bytes, name, &out, max_bytes));
  return out;
}

Status GunzipInto(std::string_view bytes, std::string_view name, ByteBuffer* buffer, size_t max_bytes) {
  struct Free {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  ByteBuffer& out = *buffer;
  out.Resize(0);
  std::unique_ptr<libdeflate_decompressor, Free> d(libdeflate_alloc_decompressor());
  if (!d) return Status::Internal("cannot allocate a gzip decompressor");
  size_t pos = 0;
  while (pos < bytes.size()) {
    std::string_view member = bytes.substr(pos);
    if (!IsGzip(member)) {
      // Trailing zero padding after the last member is tolerated.
      bool zeros = member.find_first_not_of('\0') == std::string_view::npos;
      if (zeros && pos > 0) break;
      out.Resize(0);
      return Status::InvalidArgument(std::string(name) + ": not gzip data at byte " + std::to_string(pos));
    }
    // ISIZE (last 4 bytes of a single-member stream) is a hint only.
    size_t guess = member.size() * 4 + 4096;
    if (pos == 0 && member.size() >= 18) {
      uint32_t isize;
      std::memcpy(&isize, member.data() + member.size() - 4, 4);
      // DEFLATE cannot expand more than ~1032:1; a larger ISIZE is garbage.
      if (isize <= member.size() * 1032 && isize + 64 > member.size() / 2) guess = size_t{isize} + 64;
    }
    for (;;) {
      if (guess > max_bytes) guess = max_bytes;
      const size_t base = out.size();
      out.Resize(base + guess);
      size_t in_used = 0, out_used = 0;
      libdeflate_result r = libdeflate_gzip_decompress_ex(d.get(), member.data(), member.size(), out.data() + base,
                                                          guess, &in_used, &out_used);
      if (r == LIBDEFLATE_SUCCESS) {
        out.Resize(base + out_used);
        pos += in_used;
        break;
      }
      out.Resize(base);
      if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
        if (base + guess >= max_bytes) {
          out.Resize(0);
          return Status::LimitExceeded(std::string(name) + ": decompresses to more than " +
                                       std::to_string(max_bytes) + " bytes");
        }
        guess *= 2;
        continue;
      }
      out.Resize(0);
      return Status::InvalidArgument(std::string(name) + ": corrupt or truncated gzip data at byte " +
                                     std::to_string(pos));
    }
  }
  return Status::Ok();
}

Result<ByteBuffer> MaybeDecompress(std::string_view bytes, std::string_view name) {
  if (IsGzip(bytes)) return GunzipAll(bytes, name);
  return ByteBuffer(bytes);
}

}  // namespace vigil
