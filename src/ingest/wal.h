// Wal: the write-ahead log between `vigil serve`'s sources and its pipeline.
//
// Every IntakeRecord a source hands to Accept is framed, appended to the
// current segment file under the log directory (`<data>/wal/`) and made
// durable with fdatasync before Accept returns Ok. Concurrent callers are
// batched by one writer thread (group commit): whatever arrived while the
// previous batch was being synced is written and synced together, then all of
// its callers are released. The on-disk format is in docs/storage-format.md.
//
// One reader (the pipeline, through MakeWalSource) reads the records back in
// sequence order from the checkpoint it committed last, waiting for new ones.
// While the reader keeps up, a record made durable is handed to it from
// memory (the body as the source received it, not copied, not read back from
// the file), up to max_unread_memory_bytes of such records; past that, and
// for a replay, records are read from the segment files.
// Once the pipeline has committed everything up to a record it calls
// Checkpoint; segments wholly at or below the checkpoint are deleted, or kept
// (up to recycle_segments of them, renamed `recycled-<name>.free`) for a new
// segment to be written over in place: writing into a file's existing
// blocks and cached pages costs a fraction of filling new ones (docs/serve.md).
//
// Bounded: Accept refuses (kUnavailable, nothing accepted) when the bytes
// appended but not yet checkpointed would exceed max_backlog_bytes or the
// bytes waiting for the writer thread would exceed max_pending_bytes, and
// after Close (shutting down). accepting() tells the two apart.
//
// Recovery (Open): a torn tail of the last segment (a crash mid-append: a
// short frame or a checksum mismatch) is cut off; such records were never
// acknowledged. Damage anywhere else is Corruption naming the file.
//
// Thread safety: Accept from any number of threads; WaitReadable/Read from one
// reader thread; Checkpoint, Close and the accessors from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "env/env.h"
#include "ingest/intake.h"
#include "ingest/source.h"

namespace vigil {

struct WalOptions {
  Env* env = nullptr;                            // null: Env::Default(); not owned
  uint64_t segment_bytes = 64ull << 20;          // start a new segment past this size
  uint64_t max_backlog_bytes = 1ull << 30;       // appended, not yet checkpointed
  uint64_t max_pending_bytes = 64ull << 20;      // waiting for the writer thread
  uint64_t max_unread_memory_bytes = 64ull << 20;  // durable, held in memory for the reader
  // Checkpointed segment files kept to be written over by later segments
  // rather than deleted (0: delete them).
  size_t recycle_segments = 16;
};

// A record as read back.
struct WalRecord {
  uint64_t seq = 0;
  int64_t received_ns = 0;  // wall-clock time Accept took it
  IntakeRecord record;
};

struct WalRecovery {
  uint64_t segments = 0;
  uint64_t records = 0;         // records after the checkpoint, to be replayed
  uint64_t replay_bytes = 0;
  uint64_t truncated_bytes = 0;  // torn tail cut off
};

class Wal final : public Intake {
 public:
  // Opens (creating) the log in `dir`. `checkpoint` is the sequence number of
  // the last record already processed (0: none); reading starts after it.
  static Result<std::unique_ptr<Wal>> Open(const std::string& dir, uint64_t checkpoint, WalOptions options = {});
  ~Wal() override;

  Status Accept(std::vector<IntakeRecord> records) override;

  // Reader side. Waits up to `wait` for a durable record after the read
  // position; true when Read will not block (a record is ready, or the log is
  // closed and fully read).
  bool WaitReadable(std::chrono::milliseconds wait);
  // The next record; blocks until one is durable. NotFound once the log is
  // closed and every durable record was read. `end_bytes` (optional) receives
  // the record's end in the backlog byte count that Checkpoint takes.
  Result<WalRecord> Read(uint64_t* end_bytes = nullptr);
  // Records up to `seq` (ending at backlog byte `end_bytes`) are committed
  // downstream: frees backlog and deletes segments wholly below.
  Status Checkpoint(uint64_t seq, uint64_t end_bytes);

  // Stops accepting (Accept answers kUnavailable "shutting down"); the reader
  // gets what is durable, then NotFound. Waits for in-flight appends.
  void Close();
  bool accepting() const;

  const WalRecovery& recovery() const { return recovery_; }
  uint64_t backlog_bytes() const;  // appended, not checkpointed (WAL lag)
  uint64_t unread_bytes() const;   // appended, not yet read by the pipeline
  uint64_t durable_seq() const;
  uint64_t read_seq() const;  // last record read (the checkpoint before any read)

 private:
  struct Segment {
    uint64_t first_seq;
    std::string path;
    uint64_t size;  // bytes durable
  };
  // One record on its way to the file: the frame's header and the payload's
  // fields before the body, then the body, which stays the source's string.
  struct Frame {
    std::string head;
    WalRecord record;
    uint64_t segment_end = 0;  // where it ends in its segment, once written
  };
  struct Request {
    std::vector<Frame> frames;
    uint64_t bytes = 0;  // framed size
    bool done = false;
    Status status;
  };
  // A durable record kept for the reader, with where it ends in its segment.
  struct Unread {
    WalRecord record;
    uint64_t frame_bytes;
    std::string segment_path;
    uint64_t segment_end;
  };

  Wal(std::string dir, WalOptions options);
  Status Recover(uint64_t checkpoint);
  void WriterLoop();
  Status WriteBatch(std::vector<Request*>& batch);
  // Reads the record at read_offset_ of segment `path` (valid up to
  // `segment_size`) and moves past it. Reader thread.
  Result<WalRecord> ReadFromFile(const std::string& path, uint64_t segment_size, uint64_t* frame_bytes);
  Status OpenSegment(uint64_t first_seq);
  // Cuts a reused segment file after what was written to it, durably.
  Status TruncateReused();

  const std::string dir_;
  WalOptions options_;
  Env* env_;
  WalRecovery recovery_;

  mutable std::mutex mu_;
  std::condition_variable writer_cv_;    // work for the writer
  std::condition_variable done_cv_;      // a batch became durable
  std::condition_variable readable_cv_;  // durable_seq advanced or closed
  std::deque<Request*> pending_;
  uint64_t pending_bytes_ = 0;
  bool closed_ = false;
  bool writer_stop_ = false;
  Status broken_;  // a failed write: nothing is accepted any more
  std::vector<Segment> segments_;  // in sequence order; the last is being written
  uint64_t next_seq_ = 1;          // writer: next sequence number
  uint64_t durable_seq_ = 0;
  uint64_t appended_bytes_ = 0;    // backlog byte count: end of the last durable record
  uint64_t checkpoint_seq_ = 0;
  uint64_t checkpoint_bytes_ = 0;
  uint64_t read_bytes_ = 0;
  // Durable records after read_seq_, consecutive from read_seq_ + 1 (the
  // writer adds one only while that holds, so a record it left out, over the
  // memory bound, is read from the file, and so is everything after it until
  // the reader has caught up).
  std::deque<Unread> unread_;
  uint64_t unread_memory_bytes_ = 0;

  std::vector<std::string> free_files_;  // checkpointed segment files to write over

  // Writer thread only.
  std::unique_ptr<WritableFile> file_;
  bool file_reused_ = false;  // file_ writes over an older segment's file

  // Reader thread only.
  uint64_t read_seq_ = 0;        // last record read
  size_t read_segment_ = 0;      // index into segments_ (under mu_)
  uint64_t read_offset_ = 0;
  std::unique_ptr<RandomAccessFile> read_file_;
  std::string read_path_;

  std::thread writer_;
};

// The log as a pipeline Source: inputs in sequence order, blocking for new
// ones; Next returns nullopt once the log is closed and read to the end. Its
// position goes into each pipeline commit under kWalCheckpointKey, and after
// the commit the log is checkpointed there. Borrows `wal`.
inline constexpr char kWalCheckpointKey[] = "wal/checkpoint";
std::unique_ptr<Source> MakeWalSource(Wal* wal);

}  // namespace vigil
