#include "store/data_dir.h"

#include <cstdlib>

namespace vigil {
namespace {

constexpr char kFormatPrefix[] = "vigil-data ";

// Parses "vigil-data N\n".
Result<int> ParseFormat(const std::string& dir, const std::string& text) {
  std::string_view s(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  std::string_view prefix(kFormatPrefix);
  auto bad = [&] {
    return Status::Corruption("data directory " + dir + ": FORMAT file is not recognised (expected \"vigil-data N\")");
  };
  if (s.substr(0, prefix.size()) != prefix) return bad();
  s.remove_prefix(prefix.size());
  if (s.empty() || s.size() > 9) return bad();
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return bad();
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

DataDir::~DataDir() = default;

Result<std::unique_ptr<DataDir>> DataDir::Open(const std::string& path, Env* env, const DataDirOptions& options) {
  if (env == nullptr) env = Env::Default();
  std::unique_ptr<DataDir> d(new DataDir(path, env, options.read_only));
  const std::string format_path = JoinPath(path, "FORMAT");

  if (options.read_only) {
    std::vector<DirEntry> entries;
    Status s = env->ListDir(path, &entries);
    if (s.code() == StatusCode::kNotFound) return Status::NotFound("data directory " + path + " does not exist");
    VIGIL_RETURN_IF_ERROR(s);
    std::string text;
    s = env->ReadFile(format_path, &text);
    if (s.code() == StatusCode::kNotFound) {
      return Status::InvalidArgument("data directory " + path + " has no FORMAT file: not a vigil data directory");
    }
    VIGIL_RETURN_IF_ERROR(s);
    VIGIL_ASSIGN_OR_RETURN(d->format_version_, ParseFormat(path, text));
  } else {
    VIGIL_RETURN_IF_ERROR(env->CreateDirs(path));
    auto lock = env->LockFile(JoinPath(path, "LOCK"), LockMode::kExclusive);
    if (!lock.ok()) {
      if (lock.status().code() == StatusCode::kFailedPrecondition) {
        return Status::FailedPrecondition("data directory " + path +
                                          " is locked: another vigil process is writing to it (LOCK is held)");
      }
      return lock.status().WithContext("data directory " + path);
    }
    d->lock_ = std::move(lock).value();
    std::string text;
    Status s = env->ReadFile(format_path, &text);
    if (s.code() == StatusCode::kNotFound) {
      // New directory: refuse to take over one that holds something else.
      std::vector<DirEntry> entries;
      VIGIL_RETURN_IF_ERROR(env->ListDir(path, &entries));
      for (const DirEntry& e : entries) {
        if (e.name != "LOCK" && e.name != "FORMAT.tmp") {
          return Status::InvalidArgument("data directory " + path +
                                         " is not empty and has no FORMAT file: not a vigil data directory");
        }
      }
      VIGIL_RETURN_IF_ERROR(env->WriteFileAtomic(format_path, std::string(kFormatPrefix) +
                                                                  std::to_string(kDataFormatVersion) + "\n"));
      d->format_version_ = kDataFormatVersion;
    } else {
      VIGIL_RETURN_IF_ERROR(s);
      VIGIL_ASSIGN_OR_RETURN(d->format_version_, ParseFormat(path, text));
    }
  }
  if (d->format_version_ > kDataFormatVersion) {
    return Status::Unsupported("data directory " + path + " has format " + std::to_string(d->format_version_) +
                               "; this vigil reads up to " + std::to_string(kDataFormatVersion) +
                               " (the directory was written by a newer vigil: run that version or newer)");
  }
  if (d->format_version_ < 1) {
    return Status::Corruption("data directory " + path + " has invalid format " + std::to_string(d->format_version_));
  }
  if (!options.read_only && d->format_version_ < kDataFormatVersion) {
    // Everything of the older layout reads as it is; what changes is what
    // may be written from now on (v2 segments, dictionaries), which an older
    // vigil must refuse rather than half-read.
    VIGIL_RETURN_IF_ERROR(env->WriteFileAtomic(format_path, std::string(kFormatPrefix) +
                                                                std::to_string(kDataFormatVersion) + "\n"));
    d->format_version_ = kDataFormatVersion;
  }
  if (!options.read_only) {
    for (const std::string& sub : {d->events_dir(), d->deadletter_dir()}) {
      if (env->FileExists(sub)) continue;
      VIGIL_RETURN_IF_ERROR(env->CreateDirs(sub));
      VIGIL_RETURN_IF_ERROR(env->SyncDir(path));
    }
  }
  return d;
}

Result<std::unique_ptr<EventStore>> DataDir::OpenEventStore(SegmentStoreOptions options) const {
  options.env = env_;
  options.remove_stale_temp_files = !read_only_;
  options.read_only = read_only_;
  if (!read_only_) {
    const std::string marker = encrypted_marker_path();
    if (options.keys != nullptr && !options.keys->empty()) {
      if (!env_->FileExists(marker)) VIGIL_RETURN_IF_ERROR(env_->WriteFileAtomic(marker, "aes-256-gcm\n"));
    } else if (env_->FileExists(marker)) {
      return Status::FailedPrecondition("data directory " + path_ +
                                        " stores events encrypted (it has an ENCRYPTED file): give the master key "
                                        "(--key-file or --key-env, or encryption in the configuration), or new "
                                        "events would be stored unencrypted");
    }
  }
  return OpenSegmentStore(events_dir(), options);
}

}  // namespace vigil
