#include "store/key_admin.h"

#include <cstring>

#include "store/block_codec.h"
#include "store/internal/segment.h"
#include "store/internal/segment_v2.h"

namespace vigil {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Status ListOrEmpty(Env* env, const std::string& dir, std::vector<std::string>* files) {
  Status s = env->ListFilesRecursive(dir, files);
  if (s.code() == StatusCode::kNotFound) {
    files->clear();
    return Status::Ok();
  }
  return s;
}

}  // namespace

Result<KeyStatus> ReadKeyStatus(Env* env, const std::string& events_dir) {
  KeyStatus out;
  std::vector<std::string> files;
  VIGIL_RETURN_IF_ERROR(ListOrEmpty(env, events_dir, &files));
  const std::string dict_key_suffix = std::string(segment::kDictSuffix) + segment::kKeyFileSuffix;
  for (const std::string& rel : files) {
    if (EndsWith(rel, dict_key_suffix)) {
      auto info = segment::ReadSegmentKeyInfo(env, JoinPath(events_dir, rel));
      if (info.ok()) {
        ++out.dictionaries_by_key[info->key_id];
      } else {
        out.problems.push_back(info.status());
      }
      continue;
    }
    if (!EndsWith(rel, segment::kSegmentSuffix)) continue;
    const std::string path = JoinPath(events_dir, rel);
    auto r = segment::SegmentFile::Open(env, path, nullptr);
    if (!r.ok()) {
      out.problems.push_back(r.status());
      continue;
    }
    if (!(*r)->encrypted()) {
      ++out.plain_segments;
      continue;
    }
    auto info = segment::ReadSegmentKeyInfo(env, segment::KeyFilePath(path));
    if (!info.ok()) {
      out.problems.push_back(info.status());
      continue;
    }
    ++out.encrypted_segments;
    ++out.by_key[info->key_id];
  }
  return out;
}

Result<RotationResult> RotateSegmentKeys(Env* env, const std::string& events_dir, const KeyRing& keys,
                                         const std::function<void(size_t, size_t)>& progress) {
  if (keys.active() == nullptr) return Status::InvalidArgument("key rotation needs the new master key");
  RotationResult out;
  std::vector<std::string> files, key_files;
  VIGIL_RETURN_IF_ERROR(ListOrEmpty(env, events_dir, &files));
  const std::string suffix = std::string(segment::kSegmentSuffix) + segment::kKeyFileSuffix;
  const std::string dict_suffix = std::string(segment::kDictSuffix) + segment::kKeyFileSuffix;
  for (const std::string& rel : files)
    if (EndsWith(rel, suffix) || EndsWith(rel, dict_suffix)) key_files.push_back(JoinPath(events_dir, rel));
  for (size_t i = 0; i < key_files.size(); ++i) {
    auto r = segment::RewrapSegmentKey(env, key_files[i], keys);
    if (!r.ok()) {
      // A broken disk is not a missing key: stop rather than list every file.
      if (r.status().code() == StatusCode::kIoError) return r.status();
      out.failed.push_back(r.status());
    } else if (*r) {
      ++out.rewrapped;
    } else {
      ++out.current;
    }
    if (progress) progress(i + 1, key_files.size());
  }
  return out;
}

}  // namespace vigil
