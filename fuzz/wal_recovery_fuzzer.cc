// Fuzzes write-ahead log recovery and reading: the input is split into up to
// three segment files (at 0xFF 0xFE markers) written into an in-memory Env,
// then the log is opened, read to the end, appended to and read again.
// Checked: Open either fails with Corruption or succeeds; after success every
// record read has a sequence number one above the last, records appended
// after recovery come back intact, and nothing crashes or hangs.
#include <cstdlib>
#include <string>
#include <vector>

#include "env/mem_env.h"
#include "ingest/wal.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto env = vigil::NewMemEnv();
  Check(env->CreateDirs("/wal").ok());
  std::vector<std::string> parts;
  size_t start = 0;
  while (parts.size() < 2) {
    size_t at = in.find("\xFF\xFE", start);
    if (at == std::string_view::npos) break;
    parts.emplace_back(in.substr(start, at - start));
    start = at + 2;
  }
  parts.emplace_back(in.substr(start));
  const char* names[] = {"/wal/00000000000000000001.wal", "/wal/00000000000000000002.wal",
                         "/wal/00000000000000000003.wal"};
  for (size_t i = 0; i < parts.size(); ++i) Check(env->WriteFile(names[i], parts[i]).ok());

  vigil::WalOptions opt;
  opt.env = env.get();
  opt.segment_bytes = 4096;
  auto wal = vigil::Wal::Open("/wal", 0, opt);
  if (!wal.ok()) {
    Check(wal.status().code() == vigil::StatusCode::kCorruption);
    return 0;
  }
  uint64_t last = 0;
  while ((*wal)->WaitReadable(std::chrono::milliseconds(0))) {
    auto r = (*wal)->Read();
    if (!r.ok()) break;
    Check(last == 0 || r->seq == last + 1);
    last = r->seq;
  }
  Check((*wal)->Accept({vigil::IntakeRecord{"fuzz", "after", "appended", ""}}).ok());
  auto r = (*wal)->Read();
  Check(r.ok() && r->record.bytes == "appended" && r->record.source == "fuzz");
  return 0;
}
