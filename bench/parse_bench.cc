// The parse path alone, as `vigil ingest` runs it before detection and
// storage: inflate each input into one reused buffer, recognise it, build
// every Event, and hand them on in batches of 64 that are then dropped (as
// the pipeline's are once stored). Inputs are read before timing starts; the
// report is the least CPU time of --repeat runs (a shared machine only ever
// adds time) of inflating alone and of the whole path; parse_cpu_s is the
// difference.
//
// usage: parse_bench [--repeat N] FILE_OR_DIR...
//   prints {"events":N,"bytes":N,"inflate_cpu_s":S,"parse_cpu_s":S,"events_per_cpu_s":N}
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "formats/decompress.h"
#include "formats/parser.h"

namespace {

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

class DroppingSink final : public vigil::ParseSink {
 public:
  void OnEvent(vigil::Event&& e) override {
    batch_.push_back(std::move(e));
    if (batch_.size() == 64) Drop();
  }
  void OnDeadLetter(vigil::DeadLetter&&) override { ++dead; }
  void OnWarning(std::string_view, std::string_view) override {}
  void Drop() {
    events += batch_.size();
    batch_.clear();
  }
  size_t events = 0, dead = 0;

 private:
  std::vector<vigil::Event> batch_;
};

}  // namespace

int main(int argc, char** argv) {
  int repeat = 3;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(argv[i]))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') paths.push_back(e.path().string());
    } else {
      paths.emplace_back(argv[i]);
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> inputs;
  for (const std::string& p : paths) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    inputs.push_back(ss.str());
  }
  const vigil::ParserRegistry& registry = vigil::ParserRegistry::Default();
  double best_inflate = 1e9, best_total = 1e9;
  size_t events = 0, bytes = 0;
  vigil::ByteBuffer buffer;
  for (int r = 0; r < repeat; ++r) {
    double t0 = CpuSeconds();
    bytes = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!vigil::IsGzip(inputs[i])) continue;
      if (!vigil::GunzipInto(inputs[i], paths[i], &buffer).ok()) return 1;
      bytes += buffer.size();
    }
    double t1 = CpuSeconds();
    DroppingSink sink;
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::string_view text = inputs[i];
      size_t padding = 0;
      if (vigil::IsGzip(inputs[i])) {
        if (!vigil::GunzipInto(inputs[i], paths[i], &buffer).ok()) return 1;
        text = buffer.view();
        padding = buffer.padding();
      }
      const vigil::Parser* parser = registry.Recognize(text.substr(0, 65536));
      if (!parser) continue;
      (void)parser->Parse(vigil::ParseInput{paths[i], text, 1, padding}, sink);
    }
    sink.Drop();
    double t2 = CpuSeconds();
    events = sink.events;
    best_inflate = std::min(best_inflate, t1 - t0);
    best_total = std::min(best_total, t2 - t1);
  }
  const double best_parse = best_total - best_inflate;
  std::printf("{\"events\":%zu,\"bytes\":%zu,\"inflate_cpu_s\":%.4f,\"parse_cpu_s\":%.4f,\"events_per_cpu_s\":%.0f}\n",
              events, bytes, best_inflate, best_parse, events / best_total);
  return 0;
}
