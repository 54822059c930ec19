#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "ingest/source.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

class FileSource final : public Source {
 public:
  explicit FileSource(std::vector<std::string> paths) {
    for (auto& p : paths) {
      std::error_code ec;
      if (fs::is_directory(p, ec)) {
        std::vector<std::string> found;
        for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
          if (it->is_regular_file(ec)) found.push_back(it->path().string());
        }
        std::sort(found.begin(), found.end());
        for (auto& f : found) queue_.push_back({std::move(f), false});
      } else {
        queue_.push_back({std::move(p), true});
      }
    }
  }

  std::string_view name() const override { return "file"; }
  size_t total() const override { return queue_.size(); }

  std::optional<Result<RawInput>> Next() override {
    if (next_ >= queue_.size()) return std::nullopt;
    const auto& [path, explicit_input] = queue_[next_++];
    std::error_code ec;
    if (!fs::exists(path, ec)) return Result<RawInput>(Status::NotFound(path + ": no such file or directory"));
    std::ifstream f(path, std::ios::binary);
    if (!f) return Result<RawInput>(Status::IoError(path + ": cannot open for reading"));
    RawInput in;
    in.name = path;
    in.explicit_input = explicit_input;
    auto size = fs::file_size(path, ec);
    if (!ec) in.bytes.resize(size);
    f.read(in.bytes.data(), static_cast<std::streamsize>(in.bytes.size()));
    if (static_cast<size_t>(f.gcount()) != in.bytes.size())
      return Result<RawInput>(Status::IoError(path + ": short read"));
    return Result<RawInput>(std::move(in));
  }

 private:
  std::vector<std::pair<std::string, bool>> queue_;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<Source> MakeFileSource(std::vector<std::string> paths) {
  return std::make_unique<FileSource>(std::move(paths));
}

}  // namespace vigil
