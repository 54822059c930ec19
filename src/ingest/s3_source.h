// S3Source: polls an S3 bucket (or an S3-compatible server) for new log
// objects and hands each to the Intake as one IntakeRecord named
// "s3://bucket/key" (gzip allowed: the pipeline decompresses and recognises).
//
// Partitions. AWS log deliveries sort by time only within one producer:
// CloudTrail writes AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>,
// so an object for another account or region can arrive later under a prefix
// that sorts before everything already read. A single start-after over the
// bucket would miss it. Each poll therefore discovers partitions by listing
// with delimiter '/' from the configured prefix downwards: a prefix whose
// sub-prefixes are years (YYYY/) is one date-partitioned partition, listed
// recursively; objects directly under any other prefix form a partition of
// their own. Discovery descends at most `max_depth` levels (deeper prefixes
// become recursive partitions). Each partition keeps its own checkpoint (a
// KeyWindow, see source_checkpoint.h) and is listed with start-after = its
// checkpoint, so late objects within a partition are also found while they
// are inside the window.
//
// Order. A poll reads every partition's new objects, one listing page per
// partition at a time, and takes the next object from the partition whose
// next key carries the earliest delivery time (the time in AWS log file
// names, ingest/source.h DeliveryTimeKey), so a backlog across accounts and
// regions arrives interleaved as it was delivered rather than one partition's
// whole history after another's; within a partition, objects come in key
// order, as its checkpoint needs.
//
// The checkpoint of a partition advances only after the Intake accepted the
// object, so a crash re-reads at most the objects in flight; the pipeline
// de-duplicates events by id. Objects that cannot be read (gone, over the size
// limit) are reported and marked done; listing or transport failures end the
// poll and are retried at the next interval.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aws/s3_client.h"
#include "env/env.h"
#include "ingest/polling_source.h"
#include "ingest/source_checkpoint.h"

namespace vigil {

struct S3SourceConfig : PollingSourceConfig {
  S3SourceConfig() { name = "s3"; }
  std::string bucket;
  std::string prefix;  // e.g. "AWSLogs/"; empty: the whole bucket
  aws::S3Config s3;    // region, endpoint, credentials (empty: AWS_* environment variables), timeouts, retries
  int max_depth = 6;   // levels of '/' discovery descends below `prefix`
  // Keys containing any of these are not read, and prefixes containing one
  // are not listed. By default CloudTrail's digest files (integrity proofs,
  // no events), which CloudTrail writes beside the logs.
  std::vector<std::string> exclude = {"/CloudTrail-Digest/"};
  // "YYYY-MM-DD": date-partitioned prefixes (AWS deliveries' YYYY/MM/DD/)
  // are read from this day on; earlier days are never listed. Empty: from
  // the beginning. Lets a new source on a bucket with years of history start
  // where it matters instead of reading it all.
  std::string start_date;
  // Keys per listing page; 0: 1,000, fewer when there are so many
  // partitions that a page each would hold over 100k keys.
  int list_page_keys = 0;
};

class S3Source : public PollingSource {
 public:
  // `checkpoint_dir` holds this source's checkpoints (e.g. <data>/sources/<name>).
  // `intake` and `env` must outlive the source.
  S3Source(S3SourceConfig config, Intake* intake, Env* env, std::string checkpoint_dir,
           SourceErrorFn on_error = nullptr);
  ~S3Source() override;

  Status Open() override;
  Status PollOnce() override;

  // Partition name -> checkpoint (for tests and status pages).
  const std::map<std::string, KeyWindow>& partitions() const { return windows_; }

 private:
  struct Partition {
    std::string prefix;
    bool recursive = false;
    bool dated = false;  // its sub-prefixes are years (YYYY/MM/DD/ below)
    std::string id() const { return (recursive ? "r:" : "d:") + prefix; }
  };
  Status Discover(const std::string& prefix, int depth, std::vector<Partition>* out);
  bool Excluded(std::string_view key) const;
  // One partition's listing from its checkpoint, a page at a time.
  struct Cursor;
  Status NextPage(Cursor* c);
  // Reads `key` (the cursor's next), hands it on, advances its checkpoint.
  Status Fetch(Cursor* c, const std::string& key);

  S3SourceConfig config_;
  std::unique_ptr<aws::S3Client> client_;  // made by Open, with the credentials resolved
  CheckpointStore store_;
  std::map<std::string, KeyWindow> windows_;
};

}  // namespace vigil
