#include "ingest/s3_source.h"

#include <algorithm>

namespace vigil {
namespace {

// "2024/" (a year of a date-partitioned layout) as the last component of a common prefix.
bool IsYearPrefix(std::string_view common_prefix, std::string_view parent) {
  std::string_view last = common_prefix.substr(parent.size());
  if (last.size() != 5 || last[4] != '/') return false;
  for (int i = 0; i < 4; ++i) {
    if (last[i] < '0' || last[i] > '9') return false;
  }
  return last[0] == '1' || last[0] == '2';
}

}  // namespace

S3Source::S3Source(S3SourceConfig config, Intake* intake, Env* env, std::string checkpoint_dir,
                   SourceErrorFn on_error)
    : PollingSource(config.name, intake, config.interval_ms, std::move(on_error)),
      config_(std::move(config)),
      store_(env, std::move(checkpoint_dir)) {}

S3Source::~S3Source() { Stop(); }

Status S3Source::Open() {
  if (config_.bucket.empty()) return Status::InvalidArgument("s3 source " + config_.name + ": no bucket");
  if (config_.s3.credentials.access_key_id.empty()) {
    auto env_credentials = aws::CredentialsFromEnvironment();
    if (!env_credentials.ok()) {
      return env_credentials.status().WithContext("s3 source " + config_.name +
                                                  ": no credentials configured, none in the environment");
    }
    config_.s3.credentials = std::move(env_credentials).value();
  }
  config_.s3.cancel = stop_flag();
  client_ = std::make_unique<aws::S3Client>(config_.s3);
  VIGIL_RETURN_IF_ERROR(store_.Load(&windows_));
  opened_ = true;
  return Status::Ok();
}

bool S3Source::Excluded(std::string_view key) const {
  for (const std::string& e : config_.exclude) {
    if (!e.empty() && key.find(e) != std::string_view::npos) return true;
  }
  return false;
}

Status S3Source::Discover(const std::string& prefix, int depth, std::vector<Partition>* out) {
  aws::ListObjectsRequest req;
  req.bucket = config_.bucket;
  req.prefix = prefix;
  req.delimiter = "/";
  std::vector<std::string> children;
  bool has_objects = false;
  bool dated = false;
  do {
    VIGIL_ASSIGN_OR_RETURN(aws::ListObjectsPage page, client_->ListObjectsV2(req));
    for (const auto& o : page.objects) has_objects |= !o.key.ends_with("/");
    for (auto& cp : page.common_prefixes) {
      dated |= IsYearPrefix(cp, prefix);
      children.push_back(std::move(cp));
    }
    req.continuation_token = page.next_continuation_token;
    if (!page.is_truncated) break;
  } while (!stopping());
  if (dated) {
    out->push_back({prefix, true, true});
    return Status::Ok();
  }
  if (has_objects) out->push_back({prefix, false});
  for (const std::string& child : children) {
    if (stopping()) break;
    if (Excluded(child)) continue;
    if (depth >= config_.max_depth) {
      out->push_back({child, true});
    } else {
      VIGIL_RETURN_IF_ERROR(Discover(child, depth + 1, out));
    }
  }
  return Status::Ok();
}

Status S3Source::PollPartition(const Partition& p) {
  KeyWindow& window = windows_[p.id()];
  aws::ListObjectsRequest req;
  req.bucket = config_.bucket;
  req.prefix = p.prefix;
  if (!p.recursive) req.delimiter = "/";
  req.start_after = window.after;
  if (p.dated && !config_.start_date.empty()) {
    // Keys of a day D are "<prefix>YYYY/MM/DD/...", which sort after
    // "<prefix>YYYY/MM/DD" exactly when D >= start_date.
    std::string day = config_.start_date;
    std::replace(day.begin(), day.end(), '-', '/');
    req.start_after = std::max(req.start_after, p.prefix + day);
  }
  while (!stopping()) {
    VIGIL_ASSIGN_OR_RETURN(aws::ListObjectsPage page, client_->ListObjectsV2(req));
    for (const aws::S3Object& o : page.objects) {
      if (stopping()) break;
      if (window.Done(o.key) || o.key.ends_with("/") || Excluded(o.key)) continue;
      std::string name = "s3://" + config_.bucket + "/" + o.key;
      auto body = client_->GetObject(config_.bucket, o.key, config_.max_input_bytes);
      if (!body.ok()) {
        StatusCode code = body.status().code();
        if (code != StatusCode::kNotFound && code != StatusCode::kLimitExceeded) return body.status();
        // Gone since the listing, or too large to read: nothing more can be done for it.
        ReportSkipped(body.status().WithContext("s3 source " + config_.name + ": skipped"));
      } else {
        IntakeRecord rec;
        rec.source = config_.name;
        rec.name = name;
        rec.bytes = std::move(body).value();
        rec.parser = config_.parser;
        VIGIL_RETURN_IF_ERROR(Deliver(std::move(rec)));
      }
      window.MarkDone(o.key, config_.window);
      VIGIL_RETURN_IF_ERROR(store_.Save(p.id(), window));
    }
    if (!page.is_truncated) break;
    req.continuation_token = page.next_continuation_token;
  }
  return Status::Ok();
}

Status S3Source::PollOnce() {
  if (!opened_) VIGIL_RETURN_IF_ERROR(Open());
  CountPoll();
  std::vector<Partition> partitions;
  VIGIL_RETURN_IF_ERROR(Discover(config_.prefix, 0, &partitions).WithContext("s3 source " + config_.name));
  for (const Partition& p : partitions) {
    if (stopping()) break;
    VIGIL_RETURN_IF_ERROR(PollPartition(p).WithContext("s3 source " + config_.name));
  }
  return Status::Ok();
}

}  // namespace vigil
