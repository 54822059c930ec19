#include "env/fault_injection_env.h"

namespace vigil {

class FaultInjectionEnv::File final : public WritableFile {
 public:
  File(FaultInjectionEnv* env, std::unique_ptr<WritableFile> base, uint64_t generation)
      : env_(env), base_(std::move(base)), generation_(generation) {}

  Status Append(std::string_view data) override {
    if (env_->CrashedSince(generation_)) return Status::IoError("append " + path() + ": injected crash");
    bool torn = false;
    size_t n = env_->TakeBudget(data.size(), &torn);
    VIGIL_RETURN_IF_ERROR(base_->Append(data.substr(0, n)));
    if (torn) return Status::IoError("write " + path() + ": injected torn write (no space left on device)");
    return Status::Ok();
  }
  Status Sync() override {
    if (env_->CrashedSince(generation_)) return Status::IoError("sync " + path() + ": injected crash");
    {
      std::lock_guard<std::mutex> l(env_->mu_);
      if (env_->fail_sync_) return Status::IoError("fdatasync " + path() + ": injected failure");
    }
    VIGIL_RETURN_IF_ERROR(base_->Sync());
    std::lock_guard<std::mutex> l(env_->mu_);
    env_->files_[path()].synced_size = base_->Size();
    return Status::Ok();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultInjectionEnv* env_;
  std::unique_ptr<WritableFile> base_;
  uint64_t generation_;
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}

void FaultInjectionEnv::SetWriteBudget(int64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  budget_ = bytes;
}
void FaultInjectionEnv::SetFailSync(bool fail) {
  std::lock_guard<std::mutex> l(mu_);
  fail_sync_ = fail;
}
void FaultInjectionEnv::SetFailRename(bool fail) {
  std::lock_guard<std::mutex> l(mu_);
  fail_rename_ = fail;
}
uint64_t FaultInjectionEnv::bytes_written() const {
  std::lock_guard<std::mutex> l(mu_);
  return bytes_written_;
}

size_t FaultInjectionEnv::TakeBudget(size_t n, bool* torn) {
  std::lock_guard<std::mutex> l(mu_);
  size_t allowed = n;
  if (budget_ >= 0 && static_cast<uint64_t>(budget_) < n) {
    allowed = static_cast<size_t>(budget_);
    *torn = true;
  }
  if (budget_ >= 0) budget_ -= static_cast<int64_t>(allowed);
  bytes_written_ += allowed;
  return allowed;
}

bool FaultInjectionEnv::CrashedSince(uint64_t generation) const {
  std::lock_guard<std::mutex> l(mu_);
  return generation_ != generation;
}

Status FaultInjectionEnv::SimulateCrash() {
  std::lock_guard<std::mutex> l(mu_);
  ++generation_;
  // 1. Unsynced appends are lost.
  for (auto& [path, state] : files_) {
    if (!base_->FileExists(path)) continue;
    VIGIL_ASSIGN_OR_RETURN(uint64_t size, base_->FileSize(path));
    if (size <= state.synced_size) continue;
    std::string data;
    VIGIL_RETURN_IF_ERROR(base_->ReadFile(path, &data));
    data.resize(static_cast<size_t>(state.synced_size));
    VIGIL_RETURN_IF_ERROR(base_->WriteFile(path, data));
  }
  // 2. Directory changes never made durable are undone, newest first.
  for (auto it = pending_dir_ops_.rbegin(); it != pending_dir_ops_.rend(); ++it) {
    if (it->kind == DirOp::kCreate) {
      if (base_->FileExists(it->to)) (void)base_->RemoveFile(it->to);
    } else if (base_->FileExists(it->to)) {
      VIGIL_RETURN_IF_ERROR(base_->RenameFile(it->to, it->from));
    }
  }
  pending_dir_ops_.clear();
  files_.clear();
  return Status::Ok();
}

Result<std::unique_ptr<RandomAccessFile>> FaultInjectionEnv::NewRandomAccessFile(const std::string& path) {
  return base_->NewRandomAccessFile(path);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(const std::string& path) {
  bool existed = base_->FileExists(path);
  VIGIL_ASSIGN_OR_RETURN(auto file, base_->NewWritableFile(path));
  std::lock_guard<std::mutex> l(mu_);
  files_[path].synced_size = 0;  // truncation is as unsynced as the data
  if (!existed) pending_dir_ops_.push_back({DirOp::kCreate, "", path});
  return std::unique_ptr<WritableFile>(new File(this, std::move(file), generation_));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewAppendableFile(const std::string& path) {
  bool existed = base_->FileExists(path);
  VIGIL_ASSIGN_OR_RETURN(auto file, base_->NewAppendableFile(path));
  std::lock_guard<std::mutex> l(mu_);
  if (!files_.count(path)) files_[path].synced_size = file->Size();
  if (!existed) pending_dir_ops_.push_back({DirOp::kCreate, "", path});
  return std::unique_ptr<WritableFile>(new File(this, std::move(file), generation_));
}

Status FaultInjectionEnv::ListDir(const std::string& dir, std::vector<DirEntry>* out) {
  return base_->ListDir(dir, out);
}
Status FaultInjectionEnv::CreateDirs(const std::string& dir) { return base_->CreateDirs(dir); }
Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  VIGIL_RETURN_IF_ERROR(base_->RemoveFile(path));
  std::lock_guard<std::mutex> l(mu_);
  files_.erase(path);
  return Status::Ok();
}
Status FaultInjectionEnv::RemoveDir(const std::string& dir) { return base_->RemoveDir(dir); }

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (fail_rename_) return Status::IoError("rename " + from + " to " + to + ": injected failure");
  }
  VIGIL_RETURN_IF_ERROR(base_->RenameFile(from, to));
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(from);
  if (it != files_.end()) {
    files_[to] = it->second;
    files_.erase(from);
  }
  pending_dir_ops_.push_back({DirOp::kRename, from, to});
  return Status::Ok();
}

Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (fail_sync_) return Status::IoError("fsync directory " + dir + ": injected failure");
  }
  VIGIL_RETURN_IF_ERROR(base_->SyncDir(dir));
  std::lock_guard<std::mutex> l(mu_);
  std::vector<DirOp> keep;
  for (DirOp& op : pending_dir_ops_) {
    bool durable = DirName(op.to) == dir && (op.kind == DirOp::kCreate || DirName(op.from) == dir);
    if (!durable) keep.push_back(std::move(op));
  }
  pending_dir_ops_ = std::move(keep);
  return Status::Ok();
}

bool FaultInjectionEnv::FileExists(const std::string& path) { return base_->FileExists(path); }
Result<uint64_t> FaultInjectionEnv::FileSize(const std::string& path) { return base_->FileSize(path); }
Result<std::unique_ptr<FileLock>> FaultInjectionEnv::LockFile(const std::string& path, LockMode mode) {
  return base_->LockFile(path, mode);
}

}  // namespace vigil
