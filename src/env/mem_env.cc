#include "env/mem_env.h"

#include <map>
#include <mutex>
#include <set>

namespace vigil {
namespace {

struct FileData {
  std::mutex mu;
  std::string bytes;
};

struct LockState {
  int shared = 0;
  bool exclusive = false;
};

class MemEnv;

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  MemRandomAccessFile(std::string path, std::shared_ptr<FileData> data) : path_(std::move(path)), data_(std::move(data)) {
    std::lock_guard<std::mutex> l(data_->mu);
    size_ = data_->bytes.size();
  }
  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    std::lock_guard<std::mutex> l(data_->mu);
    const std::string& b = data_->bytes;
    if (offset >= b.size()) {
      out->clear();
      return Status::Ok();
    }
    size_t avail = b.size() - static_cast<size_t>(offset);
    out->assign(b, static_cast<size_t>(offset), n < avail ? n : avail);
    return Status::Ok();
  }
  uint64_t Size() const override { return size_; }
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  std::shared_ptr<FileData> data_;
  uint64_t size_ = 0;
};

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<FileData> data) : path_(std::move(path)), data_(std::move(data)) {}
  Status Append(std::string_view d) override {
    if (closed_) return Status::FailedPrecondition("append to closed file " + path_);
    std::lock_guard<std::mutex> l(data_->mu);
    data_->bytes.append(d);
    return Status::Ok();
  }
  Status Sync() override { return closed_ ? Status::FailedPrecondition("sync of closed file " + path_) : Status::Ok(); }
  Status Close() override {
    closed_ = true;
    return Status::Ok();
  }
  uint64_t Size() const override {
    std::lock_guard<std::mutex> l(data_->mu);
    return data_->bytes.size();
  }
  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  std::shared_ptr<FileData> data_;
  bool closed_ = false;
};

class MemEnv final : public Env {
 public:
  MemEnv() { dirs_.insert("/"); }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return Status::NotFound("open " + path + ": no such file");
    return std::unique_ptr<RandomAccessFile>(new MemRandomAccessFile(path, it->second));
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    VIGIL_RETURN_IF_ERROR(CheckParentLocked(path));
    auto data = std::make_shared<FileData>();
    files_[path] = data;
    return std::unique_ptr<WritableFile>(new MemWritableFile(path, data));
  }

  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) {
      VIGIL_RETURN_IF_ERROR(CheckParentLocked(path));
      it = files_.emplace(path, std::make_shared<FileData>()).first;
    }
    return std::unique_ptr<WritableFile>(new MemWritableFile(path, it->second));
  }

  Status ListDir(const std::string& dir, std::vector<DirEntry>* out) override {
    out->clear();
    std::lock_guard<std::mutex> l(mu_);
    std::string d = Normalize(dir);
    if (!dirs_.count(d)) return Status::NotFound("list " + dir + ": no such directory");
    std::string prefix = d == "/" ? "/" : d + "/";
    for (auto it = dirs_.lower_bound(prefix); it != dirs_.end() && it->compare(0, prefix.size(), prefix) == 0; ++it) {
      std::string rest = it->substr(prefix.size());
      if (!rest.empty() && rest.find('/') == std::string::npos) out->push_back({rest, true});
    }
    for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
         ++it) {
      std::string rest = it->first.substr(prefix.size());
      if (rest.find('/') == std::string::npos) out->push_back({rest, false});
    }
    return Status::Ok();
  }

  Status CreateDirs(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    std::string d = Normalize(dir);
    if (files_.count(d)) return Status::IoError("create directory " + dir + ": a file with that name exists");
    while (!d.empty() && d != "/" && d != ".") {
      dirs_.insert(d);
      d = DirName(d);
    }
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    if (files_.erase(path) == 0) return Status::NotFound("remove " + path + ": no such file");
    return Status::Ok();
  }

  Status RemoveDir(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    std::string d = Normalize(dir);
    if (!dirs_.count(d)) return Status::NotFound("remove directory " + dir + ": no such directory");
    std::string prefix = d + "/";
    auto f = files_.lower_bound(prefix);
    auto s = dirs_.lower_bound(prefix);
    if ((f != files_.end() && f->first.compare(0, prefix.size(), prefix) == 0) ||
        (s != dirs_.end() && s->compare(0, prefix.size(), prefix) == 0)) {
      return Status::IoError("remove directory " + dir + ": not empty");
    }
    dirs_.erase(d);
    return Status::Ok();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(from);
    if (it == files_.end()) return Status::NotFound("rename " + from + ": no such file");
    VIGIL_RETURN_IF_ERROR(CheckParentLocked(to));
    auto data = it->second;
    files_.erase(it);
    files_[to] = std::move(data);
    return Status::Ok();
  }

  Status SyncDir(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!dirs_.count(Normalize(dir))) return Status::NotFound("sync directory " + dir + ": no such directory");
    return Status::Ok();
  }

  bool FileExists(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    return files_.count(path) > 0 || dirs_.count(Normalize(path)) > 0;
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return Status::NotFound("stat " + path + ": no such file");
    std::lock_guard<std::mutex> fl(it->second->mu);
    return static_cast<uint64_t>(it->second->bytes.size());
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockMode mode) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!files_.count(path)) {
      VIGIL_RETURN_IF_ERROR(CheckParentLocked(path));
      files_[path] = std::make_shared<FileData>();
    }
    LockState& st = locks_[path];
    if (st.exclusive || (mode == LockMode::kExclusive && st.shared > 0)) {
      return Status::FailedPrecondition("lock " + path + ": held by another process");
    }
    if (mode == LockMode::kExclusive) {
      st.exclusive = true;
    } else {
      ++st.shared;
    }
    return std::unique_ptr<FileLock>(new MemFileLock(this, path, mode));
  }

 private:
  class MemFileLock final : public FileLock {
   public:
    MemFileLock(MemEnv* env, std::string path, LockMode mode) : env_(env), path_(std::move(path)), mode_(mode) {}
    ~MemFileLock() override {
      std::lock_guard<std::mutex> l(env_->mu_);
      LockState& st = env_->locks_[path_];
      if (mode_ == LockMode::kExclusive) {
        st.exclusive = false;
      } else {
        --st.shared;
      }
    }

   private:
    MemEnv* env_;
    std::string path_;
    LockMode mode_;
  };

  static std::string Normalize(const std::string& dir) {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    return d;
  }

  Status CheckParentLocked(const std::string& path) const {
    std::string parent = DirName(path);
    if (parent == "." || dirs_.count(parent)) return Status::Ok();
    return Status::NotFound("create " + path + ": parent directory does not exist");
  }

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileData>> files_;
  std::set<std::string> dirs_;
  std::map<std::string, LockState> locks_;
};

}  // namespace

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

}  // namespace vigil
