#include "ingest/wal.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>

#include "common/hash.h"
#include "common/time.h"

namespace vigil {
namespace {

// Frame: u32 payload length | u64 sequence number | u64 xxh3 of the payload |
// u32 low bits of xxh3 over the 20 bytes before it; then the payload. All
// little-endian. The header check catches a torn or garbled header before its
// length is trusted; the payload hash catches a torn payload.
constexpr size_t kHeaderBytes = 24;
constexpr char kSuffix[] = ".wal";

void PutU32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void PutU64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t GetU32(const char* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t GetU64(const char* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

void AppendString(std::string* out, std::string_view s) {
  char len[4];
  PutU32(len, static_cast<uint32_t>(s.size()));
  out->append(len, 4);
  out->append(s);
}

// Payload: i64 received_ns | source | name | parser (each u32 length + bytes) | bytes (the rest).
void AppendFrame(std::string* out, const IntakeRecord& r, int64_t received_ns) {
  const size_t start = out->size();
  out->resize(start + kHeaderBytes);
  char ts[8];
  PutU64(ts, static_cast<uint64_t>(received_ns));
  out->append(ts, 8);
  AppendString(out, r.source);
  AppendString(out, r.name);
  AppendString(out, r.parser);
  out->append(r.bytes);
  const std::string_view payload(out->data() + start + kHeaderBytes, out->size() - start - kHeaderBytes);
  char* h = out->data() + start;
  PutU32(h, static_cast<uint32_t>(payload.size()));
  PutU64(h + 12, Hash64(payload));
}

// Sets the frame's sequence number and header check.
void SealFrame(char* h, uint64_t seq) {
  PutU64(h + 4, seq);
  PutU32(h + 20, static_cast<uint32_t>(Hash64(std::string_view(h, 20))));
}

// Decodes the header at `h`; false when it fails its check.
bool ReadHeader(const char* h, uint32_t* len, uint64_t* seq, uint64_t* payload_hash) {
  if (static_cast<uint32_t>(Hash64(std::string_view(h, 20))) != GetU32(h + 20)) return false;
  *len = GetU32(h);
  *seq = GetU64(h + 4);
  *payload_hash = GetU64(h + 12);
  return true;
}

bool ReadString(std::string_view* p, std::string* out) {
  if (p->size() < 4) return false;
  uint32_t len = GetU32(p->data());
  if (p->size() - 4 < len) return false;
  out->assign(p->data() + 4, len);
  p->remove_prefix(4 + len);
  return true;
}

bool DecodePayload(std::string_view p, WalRecord* out) {
  if (p.size() < 8) return false;
  out->received_ns = static_cast<int64_t>(GetU64(p.data()));
  p.remove_prefix(8);
  if (!ReadString(&p, &out->record.source) || !ReadString(&p, &out->record.name) ||
      !ReadString(&p, &out->record.parser))
    return false;
  out->record.bytes.assign(p);
  return true;
}

std::string SegmentName(uint64_t first_seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu%s", static_cast<unsigned long long>(first_seq), kSuffix);
  return buf;
}

}  // namespace

Wal::Wal(std::string dir, WalOptions options)
    : dir_(std::move(dir)), options_(options), env_(options.env ? options.env : Env::Default()) {}

Result<std::unique_ptr<Wal>> Wal::Open(const std::string& dir, uint64_t checkpoint, WalOptions options) {
  std::unique_ptr<Wal> wal(new Wal(dir, options));
  VIGIL_RETURN_IF_ERROR(wal->env_->CreateDirs(dir));
  VIGIL_RETURN_IF_ERROR(wal->Recover(checkpoint));
  wal->writer_ = std::thread([w = wal.get()] { w->WriterLoop(); });
  return wal;
}

Wal::~Wal() {
  Close();
  {
    std::lock_guard<std::mutex> lock(mu_);
    writer_stop_ = true;
  }
  writer_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (file_) (void)file_->Close();
}

Status Wal::Recover(uint64_t checkpoint) {
  std::vector<DirEntry> entries;
  VIGIL_RETURN_IF_ERROR(env_->ListDir(dir_, &entries));
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const DirEntry& e : entries) {
    if (e.is_dir || e.name.size() != 20 + std::strlen(kSuffix) || e.name.substr(20) != kSuffix) continue;
    found.emplace_back(std::strtoull(e.name.substr(0, 20).c_str(), nullptr, 10), JoinPath(dir_, e.name));
  }
  std::sort(found.begin(), found.end());
  uint64_t last_seq = 0;
  std::vector<std::string> remove;
  for (size_t i = 0; i < found.size(); ++i) {
    const auto& [first_seq, path] = found[i];
    std::string data;
    VIGIL_RETURN_IF_ERROR(env_->ReadFile(path, &data));
    uint64_t expect = first_seq;
    if (last_seq != 0 && first_seq != last_seq + 1)
      return Status::Corruption(path + ": write-ahead log segment starts at record " + std::to_string(first_seq) +
                                ", expected " + std::to_string(last_seq + 1) + " (a segment is missing)");
    size_t off = 0;
    while (off < data.size()) {
      uint32_t len = 0;
      uint64_t seq = 0, hash = 0;
      bool good = data.size() - off >= kHeaderBytes && ReadHeader(data.data() + off, &len, &seq, &hash) &&
                  seq == expect && data.size() - off - kHeaderBytes >= len &&
                  Hash64(std::string_view(data.data() + off + kHeaderBytes, len)) == hash;
      if (!good) break;
      if (seq > checkpoint) {
        ++recovery_.records;
        recovery_.replay_bytes += kHeaderBytes + len;
      }
      off += kHeaderBytes + len;
      last_seq = seq;
      ++expect;
    }
    if (off < data.size()) {
      if (i + 1 != found.size())
        return Status::Corruption(path + ": write-ahead log record " + std::to_string(expect) +
                                  " at byte " + std::to_string(off) + " is damaged (not at the log's end)");
      // A torn tail: the append was never synced, so never acknowledged.
      recovery_.truncated_bytes = data.size() - off;
      VIGIL_RETURN_IF_ERROR(env_->WriteFileAtomic(path, std::string_view(data.data(), off)));
    }
    if (expect == first_seq || expect - 1 <= checkpoint) {
      remove.push_back(path);  // empty, or wholly processed
    } else {
      segments_.push_back(Segment{first_seq, path, off});
    }
  }
  for (const std::string& path : remove) VIGIL_RETURN_IF_ERROR(env_->RemoveFile(path));
  recovery_.segments = segments_.size();
  next_seq_ = std::max(last_seq, checkpoint) + 1;
  durable_seq_ = next_seq_ - 1;
  read_seq_ = checkpoint;
  checkpoint_seq_ = checkpoint;
  appended_bytes_ = recovery_.replay_bytes;
  if (!segments_.empty()) read_path_ = segments_.front().path;
  return OpenSegment(next_seq_);
}

Status Wal::OpenSegment(uint64_t first_seq) {
  std::string path = JoinPath(dir_, SegmentName(first_seq));
  if (file_) {
    VIGIL_RETURN_IF_ERROR(file_->Close());
    file_.reset();
  }
  VIGIL_ASSIGN_OR_RETURN(file_, env_->NewWritableFile(path));
  VIGIL_RETURN_IF_ERROR(env_->SyncDir(dir_));
  std::lock_guard<std::mutex> lock(mu_);
  segments_.push_back(Segment{first_seq, path, 0});
  return Status::Ok();
}

uint64_t Wal::read_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return read_seq_;
}

bool Wal::accepting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !closed_ && broken_.ok();
}

uint64_t Wal::backlog_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return appended_bytes_ - checkpoint_bytes_;
}

uint64_t Wal::unread_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return appended_bytes_ - read_bytes_;
}

uint64_t Wal::durable_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return durable_seq_;
}

Status Wal::Accept(std::vector<IntakeRecord> records) {
  if (records.empty()) return Status::Ok();
  Request req;
  const int64_t now = NowNanos();
  size_t bytes = 0;
  for (const IntakeRecord& r : records) bytes += kHeaderBytes + 32 + r.source.size() + r.name.size() + r.parser.size() + r.bytes.size();
  req.frames_payloads.reserve(bytes);
  for (const IntakeRecord& r : records) AppendFrame(&req.frames_payloads, r, now);
  req.count = records.size();
  records.clear();
  const uint64_t size = req.frames_payloads.size();

  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) return Status::Unavailable("shutting down: not accepting input");
  if (!broken_.ok()) return broken_;
  const uint64_t backlog = appended_bytes_ - checkpoint_bytes_;
  if (backlog + pending_bytes_ + size > options_.max_backlog_bytes)
    return Status::Unavailable("write-ahead log backlog of " + std::to_string(backlog + pending_bytes_) +
                               " bytes is at its limit of " + std::to_string(options_.max_backlog_bytes));
  if (pending_bytes_ > 0 && pending_bytes_ + size > options_.max_pending_bytes)
    return Status::Unavailable("write-ahead log append queue is full");
  pending_.push_back(&req);
  pending_bytes_ += size;
  writer_cv_.notify_one();
  done_cv_.wait(lock, [&] { return req.done; });
  return req.status;
}

void Wal::WriterLoop() {
  pthread_setname_np(pthread_self(), "vigil-wal");
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    writer_cv_.wait(lock, [&] { return writer_stop_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, nothing left
    std::vector<Request*> batch(pending_.begin(), pending_.end());
    pending_.clear();
    lock.unlock();
    Status st = WriteBatch(batch);
    lock.lock();
    for (Request* r : batch) {
      pending_bytes_ -= r->frames_payloads.size();
      r->status = st;
      r->done = true;
    }
    if (!st.ok() && broken_.ok()) broken_ = st;
    done_cv_.notify_all();
    readable_cv_.notify_all();
  }
}

Status Wal::WriteBatch(std::vector<Request*>& batch) {
  if (!broken_.ok()) return broken_;  // set only under mu_ by this thread; stable here
  if (file_->Size() >= options_.segment_bytes) {
    VIGIL_RETURN_IF_ERROR(OpenSegment(next_seq_));
  }
  uint64_t seq = next_seq_;
  uint64_t written = 0;
  for (Request* r : batch) {
    char* p = r->frames_payloads.data();
    const char* end = p + r->frames_payloads.size();
    while (p < end) {
      SealFrame(p, seq++);
      p += kHeaderBytes + GetU32(p);
    }
    VIGIL_RETURN_IF_ERROR(file_->Append(r->frames_payloads));
    written += r->frames_payloads.size();
  }
  VIGIL_RETURN_IF_ERROR(file_->Sync());
  std::lock_guard<std::mutex> lock(mu_);
  next_seq_ = seq;
  durable_seq_ = seq - 1;
  segments_.back().size = file_->Size();
  appended_bytes_ += written;
  return Status::Ok();
}

bool Wal::WaitReadable(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  return readable_cv_.wait_for(lock, wait, [&] {
    return read_seq_ < durable_seq_ || (closed_ && pending_.empty() && pending_bytes_ == 0);
  });
}

Result<WalRecord> Wal::Read(uint64_t* end_bytes) {
  std::string header, payload;
  while (true) {
    std::string path;
    uint64_t size = 0;
    bool has_next = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      readable_cv_.wait(lock, [&] {
        return read_seq_ < durable_seq_ || (closed_ && pending_bytes_ == 0);
      });
      if (read_seq_ >= durable_seq_) return Status::NotFound("write-ahead log closed");
      // The segment being read may have been deleted by a checkpoint once
      // every record in it was read: continue with the first one left.
      auto it = std::find_if(segments_.begin(), segments_.end(), [&](const Segment& s) { return s.path == read_path_; });
      if (it == segments_.end()) {
        it = segments_.begin();
        read_path_ = it->path;
        read_offset_ = 0;
        read_file_.reset();
      }
      if (read_offset_ >= it->size) {
        if (it + 1 == segments_.end())
          return Status::Internal(dir_ + ": write-ahead log reader found no record " + std::to_string(read_seq_ + 1));
        read_path_ = (it + 1)->path;
        read_offset_ = 0;
        read_file_.reset();
        continue;
      }
      path = it->path;
      size = it->size;
      has_next = it + 1 != segments_.end();
    }
    (void)has_next;
    if (!read_file_) {
      VIGIL_ASSIGN_OR_RETURN(read_file_, env_->NewRandomAccessFile(path));
    }
    VIGIL_RETURN_IF_ERROR(read_file_->Read(read_offset_, kHeaderBytes, &header));
    uint32_t len = 0;
    uint64_t seq = 0, hash = 0;
    if (header.size() != kHeaderBytes || !ReadHeader(header.data(), &len, &seq, &hash) ||
        read_offset_ + kHeaderBytes + len > size)
      return Status::Corruption(path + ": write-ahead log record header at byte " + std::to_string(read_offset_) +
                                " is damaged");
    VIGIL_RETURN_IF_ERROR(read_file_->Read(read_offset_ + kHeaderBytes, len, &payload));
    if (payload.size() != len || Hash64(payload) != hash)
      return Status::Corruption(path + ": write-ahead log record " + std::to_string(seq) + " fails its checksum");
    read_offset_ += kHeaderBytes + len;
    if (seq <= read_seq_) continue;  // at or before the checkpoint: already processed
    WalRecord rec;
    rec.seq = seq;
    if (!DecodePayload(payload, &rec))
      return Status::Corruption(path + ": write-ahead log record " + std::to_string(seq) + " is malformed");
    std::lock_guard<std::mutex> lock(mu_);
    read_seq_ = seq;
    read_bytes_ += kHeaderBytes + len;
    if (end_bytes) *end_bytes = read_bytes_;
    return rec;
  }
}

Status Wal::Checkpoint(uint64_t seq, uint64_t end_bytes) {
  std::vector<std::string> remove;
  {
    std::lock_guard<std::mutex> lock(mu_);
    checkpoint_seq_ = std::max(checkpoint_seq_, seq);
    checkpoint_bytes_ = std::max(checkpoint_bytes_, end_bytes);
    // Never the last segment: the writer appends to it.
    while (segments_.size() > 1 && segments_[1].first_seq <= checkpoint_seq_ + 1) {
      remove.push_back(segments_.front().path);
      segments_.erase(segments_.begin());
    }
  }
  for (const std::string& path : remove) VIGIL_RETURN_IF_ERROR(env_->RemoveFile(path));
  return Status::Ok();
}

void Wal::Close() {
  std::unique_lock<std::mutex> lock(mu_);
  closed_ = true;
  // In-flight appends finish (their callers are waiting for an answer).
  done_cv_.wait(lock, [&] { return pending_bytes_ == 0 || writer_stop_; });
  readable_cv_.notify_all();
}

// ---- Source ----

namespace {

class WalSource final : public Source {
 public:
  explicit WalSource(Wal* wal) : wal_(wal), last_seq_(wal->read_seq()) {}
  std::string_view name() const override { return "wal"; }

  bool WaitForInput(std::chrono::milliseconds wait) override { return wal_->WaitReadable(wait); }

  std::optional<Result<RawInput>> Next() override {
    uint64_t end = 0;
    auto rec = wal_->Read(&end);
    if (!rec.ok()) {
      if (rec.status().code() == StatusCode::kNotFound) return std::nullopt;
      return Result<RawInput>(rec.status());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ends_.emplace_back(rec->seq, end);
    }
    last_seq_ = rec->seq;
    RawInput in;
    in.name = std::move(rec->record.name);
    in.bytes = std::move(rec->record.bytes);
    in.parser = std::move(rec->record.parser);
    in.source = std::move(rec->record.source);
    in.explicit_input = true;  // a sender named it: unrecognised content is an error
    in.received_ns = rec->received_ns;
    return Result<RawInput>(std::move(in));
  }

  std::string_view checkpoint_key() const override { return kWalCheckpointKey; }
  std::string Position() const override { return std::to_string(last_seq_); }

  Status Committed(const std::string& position) override {
    const uint64_t seq = std::strtoull(position.c_str(), nullptr, 10);
    uint64_t end = 0;
    bool any = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (!ends_.empty() && ends_.front().first <= seq) {
        end = ends_.front().second;
        any = true;
        ends_.pop_front();
      }
    }
    if (!any) return Status::Ok();
    return wal_->Checkpoint(seq, end);
  }

 private:
  Wal* wal_;
  uint64_t last_seq_;  // Next's thread only
  std::mutex mu_;
  std::deque<std::pair<uint64_t, uint64_t>> ends_;  // records read, not yet committed: seq, backlog end
};

}  // namespace

std::unique_ptr<Source> MakeWalSource(Wal* wal) { return std::make_unique<WalSource>(wal); }

}  // namespace vigil
