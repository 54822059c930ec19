#include "tier/cold_env.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <set>

#include "common/hash.h"

namespace vigil {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

constexpr std::string_view kStubHeader = "vigil-cold 1\n";

// The cached copy, named by the segment's own path: readers find what sits
// beside the segment (an encrypted segment's key file, which stays local)
// and name it in errors.
class NamedFile final : public RandomAccessFile {
 public:
  NamedFile(std::unique_ptr<RandomAccessFile> file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}
  Status Read(uint64_t offset, size_t n, std::string* out) const override { return file_->Read(offset, n, out); }
  uint64_t Size() const override { return file_->Size(); }
  const std::string& path() const override { return path_; }

 private:
  std::unique_ptr<RandomAccessFile> file_;
  std::string path_;
};

}  // namespace

std::string EncodeColdStub(const ColdStub& s) {
  std::string out(kStubHeader);
  auto line = [&](const char* k, const std::string& v) { out.append(k).append("=").append(v).append("\n"); };
  line("bucket", s.bucket);
  line("key", s.key);
  line("endpoint", s.endpoint);
  line("region", s.region);
  line("path_style", s.path_style ? "1" : "0");
  line("size", std::to_string(s.size));
  line("xxh3", std::to_string(s.checksum));
  line("source_type", s.source_type);
  line("min_time_ns", std::to_string(s.min_time_ns));
  line("max_time_ns", std::to_string(s.max_time_ns));
  line("events", std::to_string(s.events));
  line("raw_bytes", std::to_string(s.raw_bytes));
  return out;
}

Result<ColdStub> DecodeColdStub(std::string_view text, const std::string& what) {
  auto bad = [&](const std::string& why) { return Status::Corruption(what + ": not a cold segment stub: " + why); };
  if (text.substr(0, kStubHeader.size()) != kStubHeader) return bad("missing 'vigil-cold 1' header");
  text.remove_prefix(kStubHeader.size());
  ColdStub s;
  std::set<std::string> seen;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return bad("last line is not terminated");
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return bad("line without '='");
    std::string k(line.substr(0, eq));
    std::string_view v = line.substr(eq + 1);
    bool ok = true;
    if (k == "bucket") s.bucket = v;
    else if (k == "key") s.key = v;
    else if (k == "endpoint") s.endpoint = v;
    else if (k == "region") s.region = v;
    else if (k == "path_style") s.path_style = v == "1";
    else if (k == "size") ok = ParseNumber(v, &s.size);
    else if (k == "xxh3") ok = ParseNumber(v, &s.checksum);
    else if (k == "source_type") s.source_type = v;
    else if (k == "min_time_ns") ok = ParseNumber(v, &s.min_time_ns);
    else if (k == "max_time_ns") ok = ParseNumber(v, &s.max_time_ns);
    else if (k == "events") ok = ParseNumber(v, &s.events);
    else if (k == "raw_bytes") ok = ParseNumber(v, &s.raw_bytes);
    else continue;  // later versions may add keys
    if (!ok) return bad("bad number for " + k);
    seen.insert(k);
  }
  for (const char* k : {"bucket", "key", "size", "xxh3"}) {
    if (!seen.count(k)) return bad(std::string("no ") + k);
  }
  return s;
}

ColdReadEnv::ColdReadEnv(Env* base, ColdReadOptions options) : base_(base), options_(std::move(options)) {}

uint64_t ColdReadEnv::fetches() const {
  std::lock_guard<std::mutex> l(mu_);
  return fetches_;
}

Status ColdReadEnv::ListDir(const std::string& dir, std::vector<DirEntry>* out) {
  VIGIL_RETURN_IF_ERROR(base_->ListDir(dir, out));
  std::set<std::string> names;
  bool stubs = false;
  for (const DirEntry& e : *out) {
    names.insert(e.name);
    stubs = stubs || (!e.is_dir && EndsWith(e.name, kColdStubSuffix));
  }
  if (!stubs) return Status::Ok();
  std::vector<DirEntry> shown;
  shown.reserve(out->size());
  for (DirEntry& e : *out) {
    if (e.is_dir || !EndsWith(e.name, kColdStubSuffix)) {
      shown.push_back(std::move(e));
      continue;
    }
    std::string segment = e.name.substr(0, e.name.size() - (sizeof kColdStubSuffix - 1));
    if (!segment.empty() && !names.count(segment)) shown.push_back(DirEntry{segment, false});
  }
  *out = std::move(shown);
  return Status::Ok();
}

bool ColdReadEnv::FileExists(const std::string& path) {
  return base_->FileExists(path) || base_->FileExists(path + kColdStubSuffix);
}

Result<uint64_t> ColdReadEnv::FileSize(const std::string& path) {
  auto size = base_->FileSize(path);
  if (size.ok() || size.status().code() != StatusCode::kNotFound) return size;
  std::string text;
  if (!base_->ReadFile(path + kColdStubSuffix, &text).ok()) return size;
  VIGIL_ASSIGN_OR_RETURN(ColdStub stub, DecodeColdStub(text, path + kColdStubSuffix));
  return stub.size;
}

Result<std::unique_ptr<RandomAccessFile>> ColdReadEnv::NewRandomAccessFile(const std::string& path) {
  auto file = base_->NewRandomAccessFile(path);
  if (file.ok() || file.status().code() != StatusCode::kNotFound) return file;
  std::string text;
  if (!base_->ReadFile(path + kColdStubSuffix, &text).ok()) return file;  // neither: the original NotFound
  VIGIL_ASSIGN_OR_RETURN(ColdStub stub, DecodeColdStub(text, path + kColdStubSuffix));
  VIGIL_ASSIGN_OR_RETURN(std::string cached, Fetch(path, stub));
  VIGIL_ASSIGN_OR_RETURN(auto copy, base_->NewRandomAccessFile(cached));
  return std::unique_ptr<RandomAccessFile>(new NamedFile(std::move(copy), path));
}

// Returns the cache path holding the object of `stub`, fetching it if needed.
Result<std::string> ColdReadEnv::Fetch(const std::string& path, const ColdStub& stub) {
  std::lock_guard<std::mutex> l(mu_);
  std::string rel = path;
  if (!options_.events_dir.empty() && rel.compare(0, options_.events_dir.size(), options_.events_dir) == 0) {
    rel = rel.substr(options_.events_dir.size());
    while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  }
  const std::string cached = JoinPath(options_.cache_dir, rel);
  if (!cache_loaded_) {
    // Copies left by earlier processes count against the bound, oldest unknown: first out.
    std::vector<std::string> files;
    if (base_->ListFilesRecursive(options_.cache_dir, &files).ok()) {
      for (const std::string& f : files) {
        std::string p = JoinPath(options_.cache_dir, f);
        if (EndsWith(f, ".tmp")) {
          continue;
        }
        auto size = base_->FileSize(p);
        if (size.ok()) Touch(p, *size);
      }
    }
    cache_loaded_ = true;
  }
  auto size = base_->FileSize(cached);
  if (size.ok() && *size == stub.size) {
    Touch(cached, stub.size);
    return cached;
  }
  aws::S3Config config = options_.s3;
  config.endpoint = stub.endpoint;
  config.region = stub.region.empty() ? config.region : stub.region;
  config.path_style = stub.path_style;
  if (config.credentials.access_key_id.empty()) {
    auto creds = aws::CredentialsFromEnvironment();
    if (!creds.ok()) return creds.status().WithContext("reading cold segment " + path);
    config.credentials = *creds;
  }
  aws::S3Client client(config);
  auto body = client.GetObject(stub.bucket, stub.key, stub.size + 1);
  if (!body.ok()) return body.status().WithContext("reading cold segment " + path);
  if (body->size() != stub.size || Hash64(*body) != stub.checksum) {
    return Status::Corruption("cold segment " + path + ": object s3://" + stub.bucket + "/" + stub.key +
                              " does not match its stub (" + std::to_string(body->size()) + " bytes, expected " +
                              std::to_string(stub.size) + " with checksum " + std::to_string(stub.checksum) + ")");
  }
  ++fetches_;
  VIGIL_RETURN_IF_ERROR(base_->CreateDirs(DirName(cached)));
  // A name of its own: another process may be fetching the same segment.
  char tag[48];
  std::snprintf(tag, sizeof tag, ".%d-%llu.tmp", static_cast<int>(getpid()), static_cast<unsigned long long>(fetches_));
  const std::string tmp = cached + tag;
  {
    VIGIL_ASSIGN_OR_RETURN(auto f, base_->NewWritableFile(tmp));
    Status s = f->Append(*body);
    if (s.ok()) s = f->Close();
    if (!s.ok()) {
      (void)base_->RemoveFile(tmp);
      return s.WithContext("caching cold segment " + path);
    }
  }
  // Not fsynced: a copy lost in a crash is fetched again (and checked).
  VIGIL_RETURN_IF_ERROR(base_->RenameFile(tmp, cached));
  Touch(cached, stub.size);
  Evict(cached);
  return cached;
}

void ColdReadEnv::Touch(const std::string& cache_path, uint64_t size) {
  auto it = lru_index_.find(cache_path);
  if (it != lru_index_.end()) {
    cached_bytes_ -= it->second->second;
    lru_.erase(it->second);
  }
  lru_.emplace_back(cache_path, size);
  lru_index_[cache_path] = std::prev(lru_.end());
  cached_bytes_ += size;
}

void ColdReadEnv::Evict(const std::string& keep) {
  auto it = lru_.begin();
  while (cached_bytes_ > options_.cache_bytes && it != lru_.end()) {
    if (it->first == keep) {
      ++it;
      continue;
    }
    (void)base_->RemoveFile(it->first);
    cached_bytes_ -= it->second;
    lru_index_.erase(it->first);
    it = lru_.erase(it);
  }
}

}  // namespace vigil
