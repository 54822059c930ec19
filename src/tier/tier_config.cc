#include "tier/tier_config.h"

#include <algorithm>

namespace vigil {

RetentionPolicy TieringConfig::PolicyFor(const std::string& source_type) const {
  auto it = retention.find(source_type);
  if (it == retention.end()) it = retention.find("*");
  return it == retention.end() ? RetentionPolicy{} : it->second;
}

int64_t TieringConfig::loop_seconds() const {
  int64_t s = enabled() ? interval_seconds : 0;
  if (compaction.enabled) s = s == 0 ? compaction.interval_seconds : std::min(s, compaction.interval_seconds);
  return std::max<int64_t>(1, s);
}

bool TieringConfig::enabled() const {
  for (const auto& [source, p] : retention)
    if (p.any()) return true;
  return false;
}

Status ValidateTieringConfig(const TieringConfig& c) {
  for (const auto& [source, p] : c.retention) {
    const std::string where = "storage.retention." + source;
    int last = 0;
    std::string last_name;
    for (auto [value, name] : {std::pair{p.warm_after_days, "warm_after_days"},
                               std::pair{p.cold_after_days, "cold_after_days"},
                               std::pair{p.delete_after_days, "delete_after_days"}}) {
      if (value < 0) return Status::InvalidArgument(where + "." + name + ": must not be negative");
      if (value == 0) continue;
      if (value < last) {
        return Status::InvalidArgument(where + "." + name + " (" + std::to_string(value) + ") is before " +
                                       last_name + " (" + std::to_string(last) + ")");
      }
      last = value;
      last_name = name;
    }
    if (p.cold_after_days > 0 && !c.cold.enabled()) {
      return Status::InvalidArgument(where + ".cold_after_days: storage.cold.bucket is not set");
    }
  }
  if (c.warm_zstd_level < 1 || c.warm_zstd_level > 22) {
    return Status::InvalidArgument("storage.warm_zstd_level: expected 1 to 22, got " + std::to_string(c.warm_zstd_level));
  }
  const CompactionConfig& k = c.compaction;
  if (k.min_segments < 2) return Status::InvalidArgument("storage.compaction.min_segments: expected at least 2");
  if (k.small_segment_bytes == 0 || k.max_merged_bytes < k.small_segment_bytes)
    return Status::InvalidArgument(
        "storage.compaction: small_segment_mb must be above 0 and at most max_merged_mb");
  if (k.interval_seconds < 1) return Status::InvalidArgument("storage.compaction.interval_seconds: expected at least 1");
  if (k.grace_ms < 0) return Status::InvalidArgument("storage.compaction.grace_ms: must not be negative");
  return Status::Ok();
}

Result<aws::S3Config> ResolveColdS3(const aws::S3Config& config) {
  aws::S3Config c = config;
  if (c.credentials.access_key_id.empty()) {
    auto creds = aws::CredentialsFromEnvironment();
    if (!creds.ok()) return creds.status().WithContext("cold storage credentials (storage.cold or the environment)");
    c.credentials = std::move(creds).value();
  }
  return c;
}

}  // namespace vigil
