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
// A checkpointed segment kept to be written over: "recycled-<segment name>.free".
constexpr char kFreePrefix[] = "recycled-";
constexpr char kFreeSuffix[] = ".free";

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
// The frame's header and the payload up to the body, which the writer appends
// after it (the hash covers both).
std::string FrameHead(const IntakeRecord& r, int64_t received_ns) {
  std::string head;
  head.reserve(kHeaderBytes + 8 + 12 + r.source.size() + r.name.size() + r.parser.size());
  head.resize(kHeaderBytes);
  char ts[8];
  PutU64(ts, static_cast<uint64_t>(received_ns));
  head.append(ts, 8);
  AppendString(&head, r.source);
  AppendString(&head, r.name);
  AppendString(&head, r.parser);
  const std::string_view meta(head.data() + kHeaderBytes, head.size() - kHeaderBytes);
  PutU32(head.data(), static_cast<uint32_t>(meta.size() + r.bytes.size()));
  PutU64(head.data() + 12, Hash64(meta, r.bytes));
  return head;
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

// Decodes the payload's fields before the body from its start `p`; returns
// their length, or npos when `p` does not hold all of them.
size_t DecodeMeta(std::string_view p, WalRecord* out) {
  const size_t size = p.size();
  if (p.size() < 8) return std::string_view::npos;
  out->received_ns = static_cast<int64_t>(GetU64(p.data()));
  p.remove_prefix(8);
  if (!ReadString(&p, &out->record.source) || !ReadString(&p, &out->record.name) ||
      !ReadString(&p, &out->record.parser))
    return std::string_view::npos;
  return size - p.size();
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
  if (file_) {
    (void)TruncateReused();
    (void)file_->Close();
  }
}

Status Wal::Recover(uint64_t checkpoint) {
  std::vector<DirEntry> entries;
  VIGIL_RETURN_IF_ERROR(env_->ListDir(dir_, &entries));
  std::vector<std::pair<uint64_t, std::string>> found;
  std::vector<std::string> free_files;
  for (const DirEntry& e : entries) {
    if (!e.is_dir && e.name.starts_with(kFreePrefix) && e.name.ends_with(kFreeSuffix)) {
      free_files.push_back(JoinPath(dir_, e.name));
      continue;
    }
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
  std::sort(free_files.begin(), free_files.end());
  for (std::string& path : free_files) {
    if (free_files_.size() < options_.recycle_segments) {
      free_files_.push_back(std::move(path));
    } else {
      VIGIL_RETURN_IF_ERROR(env_->RemoveFile(path));
    }
  }
  recovery_.segments = segments_.size();
  next_seq_ = std::max(last_seq, checkpoint) + 1;
  durable_seq_ = next_seq_ - 1;
  read_seq_ = checkpoint;
  checkpoint_seq_ = checkpoint;
  appended_bytes_ = recovery_.replay_bytes;
  if (!segments_.empty()) read_path_ = segments_.front().path;
  return OpenSegment(next_seq_);
}

Status Wal::TruncateReused() {
  if (!file_reused_) return Status::Ok();
  VIGIL_RETURN_IF_ERROR(file_->Truncate());
  VIGIL_RETURN_IF_ERROR(file_->Sync());
  file_reused_ = false;
  return Status::Ok();
}

Status Wal::OpenSegment(uint64_t first_seq) {
  std::string path = JoinPath(dir_, SegmentName(first_seq));
  if (file_) {
    // A segment ends where its records do: recovery takes anything after
    // them in a segment other than the last for damage.
    VIGIL_RETURN_IF_ERROR(TruncateReused());
    VIGIL_RETURN_IF_ERROR(file_->Close());
    file_.reset();
  }
  std::string reuse;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_files_.empty()) {
      reuse = std::move(free_files_.back());
      free_files_.pop_back();
    }
  }
  if (!reuse.empty()) {
    // Its old records stay past the new ones until overwritten; recovery
    // stops at the first whose sequence number is not the next (they are all
    // older), as at a torn tail.
    VIGIL_RETURN_IF_ERROR(env_->RenameFile(reuse, path));
    VIGIL_ASSIGN_OR_RETURN(file_, env_->ReuseWritableFile(path));
    file_reused_ = true;
  } else {
    VIGIL_ASSIGN_OR_RETURN(file_, env_->NewWritableFile(path));
  }
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
  req.frames.reserve(records.size());
  for (IntakeRecord& r : records) {
    Frame& f = req.frames.emplace_back();
    f.head = FrameHead(r, now);
    f.record.received_ns = now;
    f.record.record = std::move(r);
    req.bytes += f.head.size() + f.record.record.bytes.size();
  }
  records.clear();
  const uint64_t size = req.bytes;

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
      pending_bytes_ -= r->bytes;
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
    for (Frame& f : r->frames) {
      f.record.seq = seq;
      SealFrame(f.head.data(), seq++);
      VIGIL_RETURN_IF_ERROR(file_->Append(f.head));
      VIGIL_RETURN_IF_ERROR(file_->Append(f.record.record.bytes));
      f.segment_end = file_->Size();
    }
    written += r->bytes;
  }
  VIGIL_RETURN_IF_ERROR(file_->Sync());
  std::lock_guard<std::mutex> lock(mu_);
  next_seq_ = seq;
  durable_seq_ = seq - 1;
  segments_.back().size = file_->Size();
  appended_bytes_ += written;
  // Hand the records to the reader from memory while it has read everything
  // before them (so the records held stay consecutive from its position).
  for (Request* r : batch) {
    for (Frame& f : r->frames) {
      const uint64_t next = unread_.empty() ? read_seq_ + 1 : unread_.back().record.seq + 1;
      const uint64_t frame_bytes = f.head.size() + f.record.record.bytes.size();
      if (f.record.seq != next || unread_memory_bytes_ + frame_bytes > options_.max_unread_memory_bytes) break;
      unread_memory_bytes_ += frame_bytes;
      unread_.push_back(Unread{std::move(f.record), frame_bytes, segments_.back().path, f.segment_end});
    }
  }
  return Status::Ok();
}

bool Wal::WaitReadable(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  return readable_cv_.wait_for(lock, wait, [&] {
    return read_seq_ < durable_seq_ || (closed_ && pending_.empty() && pending_bytes_ == 0);
  });
}

Result<WalRecord> Wal::Read(uint64_t* end_bytes) {
  while (true) {
    std::string path;
    uint64_t size = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      readable_cv_.wait(lock, [&] {
        return read_seq_ < durable_seq_ || (closed_ && pending_bytes_ == 0);
      });
      if (read_seq_ >= durable_seq_) return Status::NotFound("write-ahead log closed");
      if (!unread_.empty()) {  // the next record, held in memory
        Unread u = std::move(unread_.front());
        unread_.pop_front();
        unread_memory_bytes_ -= u.frame_bytes;
        read_seq_ = u.record.seq;
        read_bytes_ += u.frame_bytes;
        if (end_bytes) *end_bytes = read_bytes_;
        // A read from the file continues after it.
        if (u.segment_path != read_path_) {
          read_path_ = std::move(u.segment_path);
          read_file_.reset();
        }
        read_offset_ = u.segment_end;
        return std::move(u.record);
      }
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
    }
    uint64_t frame_bytes = 0;
    auto rec = ReadFromFile(path, size, &frame_bytes);
    if (!rec.ok()) return rec.status();
    if (rec->seq <= read_seq_) continue;  // at or before the checkpoint: already processed
    std::lock_guard<std::mutex> lock(mu_);
    read_seq_ = rec->seq;
    read_bytes_ += frame_bytes;
    if (end_bytes) *end_bytes = read_bytes_;
    return rec;
  }
}

Result<WalRecord> Wal::ReadFromFile(const std::string& path, uint64_t segment_size, uint64_t* frame_bytes) {
  if (!read_file_) {
    VIGIL_ASSIGN_OR_RETURN(read_file_, env_->NewRandomAccessFile(path));
  }
  // The header and (usually all of) the payload's fields before the body in
  // one read, then the body straight into its own string.
  constexpr size_t kPrefetch = 4096;
  std::string head;
  VIGIL_RETURN_IF_ERROR(
      read_file_->Read(read_offset_, std::min<uint64_t>(kHeaderBytes + kPrefetch, segment_size - read_offset_), &head));
  uint32_t len = 0;
  uint64_t seq = 0, hash = 0;
  if (head.size() < kHeaderBytes || !ReadHeader(head.data(), &len, &seq, &hash) ||
      read_offset_ + kHeaderBytes + len > segment_size)
    return Status::Corruption(path + ": write-ahead log record header at byte " + std::to_string(read_offset_) +
                              " is damaged");
  auto malformed = [&] {
    return Status::Corruption(path + ": write-ahead log record " + std::to_string(seq) + " is malformed");
  };
  WalRecord rec;
  rec.seq = seq;
  std::string_view fields(head.data() + kHeaderBytes, std::min<size_t>(head.size() - kHeaderBytes, len));
  size_t meta = DecodeMeta(fields, &rec);
  if (meta == std::string_view::npos) {
    if (fields.size() == len) return malformed();
    VIGIL_RETURN_IF_ERROR(read_file_->Read(read_offset_ + kHeaderBytes, len, &head));  // long names
    fields = head;
    meta = DecodeMeta(fields, &rec);
    if (meta == std::string_view::npos) return malformed();
  }
  std::string& body = rec.record.bytes;
  const size_t body_len = len - meta;
  VIGIL_RETURN_IF_ERROR(read_file_->Read(read_offset_ + kHeaderBytes + meta, body_len, &body));
  if (body.size() != body_len || Hash64(fields.substr(0, meta), body) != hash)
    return Status::Corruption(path + ": write-ahead log record " + std::to_string(seq) + " fails its checksum");
  read_offset_ += kHeaderBytes + len;
  *frame_bytes = kHeaderBytes + len;
  return rec;
}

Status Wal::Checkpoint(uint64_t seq, uint64_t end_bytes) {
  std::vector<Segment> remove;
  {
    std::lock_guard<std::mutex> lock(mu_);
    checkpoint_seq_ = std::max(checkpoint_seq_, seq);
    checkpoint_bytes_ = std::max(checkpoint_bytes_, end_bytes);
    // Never the last segment: the writer appends to it.
    while (segments_.size() > 1 && segments_[1].first_seq <= checkpoint_seq_ + 1) {
      remove.push_back(std::move(segments_.front()));
      segments_.erase(segments_.begin());
    }
  }
  for (const Segment& segment : remove) {
    // Kept for a later segment while there is room (the name says it holds
    // nothing to recover; a crash before the rename leaves a segment wholly
    // checkpointed, which recovery deletes).
    bool keep = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      keep = free_files_.size() < options_.recycle_segments;
    }
    if (keep) {
      const std::string free_path = JoinPath(dir_, kFreePrefix + SegmentName(segment.first_seq) + kFreeSuffix);
      VIGIL_RETURN_IF_ERROR(env_->RenameFile(segment.path, free_path));
      std::lock_guard<std::mutex> lock(mu_);
      free_files_.push_back(free_path);
    } else {
      VIGIL_RETURN_IF_ERROR(env_->RemoveFile(segment.path));
    }
  }
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
