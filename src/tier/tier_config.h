// TieringConfig: where stored events live as they age (docs/operations.md).
// Loaded from the `storage` section of the serve YAML (server/config.h), which
// `vigil storage tier --config` reads too.
//
// Per source type, ages are counted in whole days from the newest event of a
// segment: at `warm_after_days` a segment is recompressed with stronger zstd
// (still local), at `cold_after_days` it is uploaded to the cold bucket and
// removed locally, at `delete_after_days` it is deleted (unless a legal hold
// covers it). 0 means never. Segments only move forward.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "aws/s3_client.h"
#include "common/status.h"

namespace vigil {

struct RetentionPolicy {
  int warm_after_days = 0;
  int cold_after_days = 0;
  int delete_after_days = 0;
  bool any() const { return warm_after_days > 0 || cold_after_days > 0 || delete_after_days > 0; }
};

// The S3-compatible bucket cold segments go to. Credentials: configured, else
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
struct ColdStoreConfig {
  std::string bucket;
  std::string prefix = "vigil-cold/";
  aws::S3Config s3;
  bool enabled() const { return !bucket.empty(); }
};

// Per GiB-month, in dollars. Defaults: AWS us-east-1 list prices, 2024:
// EBS gp3 $0.08 (hot and warm are local disk), S3 Standard-IA $0.0125 (cold).
struct StoragePrices {
  double hot_per_gb_month = 0.08;
  double warm_per_gb_month = 0.08;
  double cold_per_gb_month = 0.0125;
};

// Compaction (docs/storage-format.md#compaction): `vigil serve` commits
// every second or so, and each commit seals a segment per partition it
// wrote, so a quiet source leaves thousands of tiny segments a day (each with
// its own index, filters and key file, compressed without a dictionary). A
// partition directory with at least `min_segments` local hot segments under
// `small_segment_bytes` has them merged, per account, into segments of at
// most `max_merged_bytes` of input.
struct CompactionConfig {
  bool enabled = true;
  size_t min_segments = 8;
  uint64_t small_segment_bytes = 4ull << 20;
  uint64_t max_merged_bytes = 48ull << 20;
  int64_t interval_seconds = 600;  // `vigil serve` looks for work this often
  // Inputs stay on disk this long after their merged segment is published,
  // for a reader that listed the directory just before (readers leave them
  // out from the publication on; see segment_rewrite.h).
  int64_t grace_ms = 2000;
  // Unencrypted inputs (with no key to encrypt under) whose blocks hold on
  // average at least this many raw bytes are merged by copying their blocks
  // as stored, at a fifth of the CPU of rewriting their records; smaller
  // blocks (a quiet source's commits) are rewritten, which compresses them
  // better. 0: copy whenever the inputs allow it.
  uint64_t copy_block_bytes = 256ull << 10;
};

struct TieringConfig {
  // By stored source type ("cloudtrail", "vpcflow", ...); "*" applies to the
  // source types not named.
  std::map<std::string, RetentionPolicy> retention;
  ColdStoreConfig cold;
  uint64_t cache_bytes = 1ull << 30;  // local copies of cold segments read back
  int warm_zstd_level = 19;
  int64_t interval_seconds = 3600;  // `vigil serve` runs tiering this often
  StoragePrices prices;
  CompactionConfig compaction;

  // The policy for `source_type` (the "*" one, or none: all zero).
  RetentionPolicy PolicyFor(const std::string& source_type) const;
  // A retention policy moves segments (compaction aside).
  bool enabled() const;
  // `vigil serve` runs a Tierer: retention or compaction is on.
  bool any_work() const { return enabled() || compaction.enabled; }
  // How often `vigil serve` runs it.
  int64_t loop_seconds() const;
};

// Consistent thresholds (warm <= cold <= delete where set), a cold bucket when
// any policy moves to cold, a zstd level 1..22.
Status ValidateTieringConfig(const TieringConfig& config);

// The cold store's S3 settings with credentials filled from the environment
// when none are configured.
Result<aws::S3Config> ResolveColdS3(const aws::S3Config& config);

}  // namespace vigil
