#include "ingest/source_checkpoint.h"

#include <string_view>
#include <vector>

#include "aws/sigv4.h"
#include "common/hash.h"

namespace vigil {
namespace {

constexpr std::string_view kMagic = "vigil-source-checkpoint 1";
constexpr std::string_view kSuffix = ".checkpoint";

// Names may hold any byte; encoded so each fits on one line.
std::string Encode(std::string_view s) { return aws::UriEncode(s, /*keep_slash=*/true); }

}  // namespace

void KeyWindow::MarkDone(const std::string& name, size_t window) {
  if (name <= after) return;
  recent.insert(name);
  while (recent.size() > window && !recent.empty()) {
    after = *recent.begin();
    recent.erase(recent.begin());
  }
}

Status CheckpointStore::Load(std::map<std::string, KeyWindow>* out) {
  out->clear();
  std::vector<DirEntry> entries;
  Status s = env_->ListDir(dir_, &entries);
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  VIGIL_RETURN_IF_ERROR(s);
  for (const DirEntry& e : entries) {
    if (e.is_dir || !std::string_view(e.name).ends_with(kSuffix)) continue;
    std::string path = JoinPath(dir_, e.name);
    std::string text;
    VIGIL_RETURN_IF_ERROR(env_->ReadFile(path, &text));
    auto bad = [&](std::string_view why) {
      return Status::Corruption("source checkpoint " + path + ": " + std::string(why) +
                                " (remove the file to read the partition again from the start)");
    };
    std::string_view rest = text;
    auto next_line = [&](std::string_view* line) {
      size_t nl = rest.find('\n');
      if (nl == std::string_view::npos) return false;
      *line = rest.substr(0, nl);
      rest.remove_prefix(nl + 1);
      return true;
    };
    std::string_view line;
    if (!next_line(&line) || line != kMagic) return bad("not a checkpoint file");
    if (!next_line(&line) || !line.starts_with("partition ")) return bad("no partition line");
    std::string partition = aws::UriDecode(line.substr(10));
    KeyWindow w;
    if (!next_line(&line) || !line.starts_with("after ")) return bad("no after line");
    w.after = aws::UriDecode(line.substr(6));
    bool ended = false;
    while (next_line(&line)) {
      if (line == "end") {
        ended = true;
        break;
      }
      if (!line.starts_with("done ")) return bad("unexpected line");
      w.recent.insert(aws::UriDecode(line.substr(5)));
    }
    if (!ended || !rest.empty()) return bad("truncated or trailing data");
    (*out)[partition] = std::move(w);
  }
  return Status::Ok();
}

Status CheckpointStore::Save(const std::string& partition, const KeyWindow& window) {
  if (!dir_created_) {
    VIGIL_RETURN_IF_ERROR(env_->CreateDirs(dir_));
    dir_created_ = true;
  }
  std::string text(kMagic);
  text += "\npartition " + Encode(partition) + "\nafter " + Encode(window.after) + "\n";
  for (const std::string& k : window.recent) text += "done " + Encode(k) + "\n";
  text += "end\n";
  std::string file = HexHash128(partition) + std::string(kSuffix);
  return env_->WriteFileAtomic(JoinPath(dir_, file), text);
}

}  // namespace vigil
