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
        std::vector<std::pair<std::string, std::string>> found;  // (delivery time, path)
        for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
          if (it->is_regular_file(ec))
            found.emplace_back(DeliveryTimeKey(it->path().filename().string()), it->path().string());
        }
        std::sort(found.begin(), found.end());
        for (auto& f : found) queue_.push_back({std::move(f.second), false});
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

std::string DeliveryTimeKey(std::string_view name) {
  auto digits = [&](size_t at, size_t n) {
    if (at + n > name.size()) return false;
    for (size_t k = 0; k < n; ++k)
      if (name[at + k] < '0' || name[at + k] > '9') return false;
    return true;
  };
  auto is = [&](size_t at, char c) { return at < name.size() && name[at] == c; };
  for (size_t i = 0; i + 14 <= name.size(); ++i) {
    if (digits(i, 8) && is(i + 8, 'T') && digits(i + 9, 4) && is(i + 13, 'Z'))
      return std::string(name.substr(i, 8)).append(name.substr(i + 9, 4)).append("00");
    if (digits(i, 4) && is(i + 4, '-') && digits(i + 5, 2) && is(i + 7, '-') && digits(i + 8, 2) && is(i + 10, '-') &&
        digits(i + 11, 2) && is(i + 13, '-') && digits(i + 14, 2) && is(i + 16, '-') && digits(i + 17, 2)) {
      std::string key(name.substr(i, 4));
      for (size_t at : {i + 5, i + 8, i + 11, i + 14, i + 17}) key.append(name.substr(at, 2));
      return key;
    }
  }
  return "";
}

std::unique_ptr<Source> MakeFileSource(std::vector<std::string> paths) {
  return std::make_unique<FileSource>(std::move(paths));
}

}  // namespace vigil
