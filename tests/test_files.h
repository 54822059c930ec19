// Reading and gzipping test inputs, for the tests under tests/.
#pragma once

#include <libdeflate.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vigil::testing {

// The whole file, or "" when it cannot be read.
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `in` as a gzip member (as S3 deliveries are); link PkgConfig::DEFLATE.
inline std::string Gzip(const std::string& in) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(6);
  std::string out(libdeflate_gzip_compress_bound(c, in.size()), '\0');
  out.resize(libdeflate_gzip_compress(c, in.data(), in.size(), out.data(), out.size()));
  libdeflate_free_compressor(c);
  return out;
}

}  // namespace vigil::testing
