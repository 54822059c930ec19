// Floor for the ingest benchmark: simdjson parses the same decompressed bytes
// vigil ingests, and nothing else. Files are inflated before timing starts;
// the report is the CPU time of parsing alone.
//
// usage: simdjson_floor FILE...   prints {"records":N,"bytes":N,"cpu_seconds":S}
#include <libdeflate.h>
#include <simdjson.h>

#include <ctime>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  std::vector<simdjson::padded_string> docs;
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  size_t bytes = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string raw = ss.str();
    if (raw.size() > 2 && static_cast<unsigned char>(raw[0]) == 0x1f) {
      std::string out(raw.size() * 20 + 4096, '\0');
      size_t n = 0;
      while (libdeflate_gzip_decompress(d, raw.data(), raw.size(), out.data(), out.size(), &n) ==
             LIBDEFLATE_INSUFFICIENT_SPACE)
        out.resize(out.size() * 2);
      out.resize(n);
      raw = std::move(out);
    }
    bytes += raw.size();
    docs.emplace_back(raw);
  }
  libdeflate_free_decompressor(d);
  simdjson::dom::parser parser;
  size_t records = 0;
  double start = CpuSeconds();
  for (auto& doc : docs) {
    simdjson::dom::element root;
    if (parser.parse(doc).get(root)) continue;
    simdjson::dom::array arr;
    if (root["Records"].get(arr) == simdjson::SUCCESS || root.get(arr) == simdjson::SUCCESS) records += arr.size();
  }
  double cpu = CpuSeconds() - start;
  std::printf("{\"records\":%zu,\"bytes\":%zu,\"cpu_seconds\":%.4f}\n", records, bytes, cpu);
  return 0;
}
