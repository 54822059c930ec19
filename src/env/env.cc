#include "env/env.h"

#include <algorithm>

namespace vigil {

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  std::string out(a);
  if (out.back() != '/') out.push_back('/');
  out.append(b);
  return out;
}

std::string DirName(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Status Env::ReadFile(const std::string& path, std::string* out) {
  VIGIL_ASSIGN_OR_RETURN(auto file, NewRandomAccessFile(path));
  return file->Read(0, static_cast<size_t>(file->Size()), out);
}

Status Env::WriteFile(const std::string& path, std::string_view data) {
  VIGIL_ASSIGN_OR_RETURN(auto file, NewWritableFile(path));
  VIGIL_RETURN_IF_ERROR(file->Append(data));
  return file->Close();
}

Status Env::WriteFileAtomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  {
    VIGIL_ASSIGN_OR_RETURN(auto file, NewWritableFile(tmp));
    Status s = file->Append(data);
    if (s.ok()) s = file->Sync();
    if (s.ok()) s = file->Close();
    if (!s.ok()) {
      (void)RemoveFile(tmp);
      return s;
    }
  }
  Status s = RenameFile(tmp, path);
  if (!s.ok()) {
    (void)RemoveFile(tmp);
    return s;
  }
  return SyncDir(DirName(path));
}

Status Env::AppendToFile(const std::string& path, std::string_view data, bool sync) {
  VIGIL_ASSIGN_OR_RETURN(auto file, NewAppendableFile(path));
  VIGIL_RETURN_IF_ERROR(file->Append(data));
  if (sync) VIGIL_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

namespace {
Status ListRecursive(Env* env, const std::string& root, const std::string& rel, std::vector<std::string>* out) {
  std::vector<DirEntry> entries;
  VIGIL_RETURN_IF_ERROR(env->ListDir(rel.empty() ? root : JoinPath(root, rel), &entries));
  for (const DirEntry& e : entries) {
    std::string child = rel.empty() ? e.name : JoinPath(rel, e.name);
    if (e.is_dir) {
      VIGIL_RETURN_IF_ERROR(ListRecursive(env, root, child, out));
    } else {
      out->push_back(std::move(child));
    }
  }
  return Status::Ok();
}
}  // namespace

Status Env::ListFilesRecursive(const std::string& dir, std::vector<std::string>* out) {
  out->clear();
  VIGIL_RETURN_IF_ERROR(ListRecursive(this, dir, "", out));
  std::sort(out->begin(), out->end());
  return Status::Ok();
}

}  // namespace vigil
