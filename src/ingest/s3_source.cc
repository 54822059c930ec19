#include "ingest/s3_source.h"

#include <algorithm>

#include "ingest/source.h"

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

struct S3Source::Cursor {
  const Partition* partition = nullptr;
  KeyWindow* window = nullptr;
  aws::ListObjectsRequest req;
  std::vector<std::string> keys;  // the current page's keys still to read, in key order
  size_t next = 0;
  bool more = true;  // pages left to list
  std::string head_time;  // DeliveryTimeKey of keys[next]
  bool has_head() const { return next < keys.size(); }
};

Status S3Source::NextPage(Cursor* c) {
  while (!c->has_head() && c->more && !stopping()) {
    VIGIL_ASSIGN_OR_RETURN(aws::ListObjectsPage page, client_->ListObjectsV2(c->req));
    c->keys.clear();
    c->next = 0;
    for (const aws::S3Object& o : page.objects)
      if (!c->window->Done(o.key) && !o.key.ends_with("/") && !Excluded(o.key)) c->keys.push_back(o.key);
    c->more = page.is_truncated;
    c->req.continuation_token = page.next_continuation_token;
  }
  if (c->has_head()) {
    const std::string& k = c->keys[c->next];
    c->head_time = DeliveryTimeKey(std::string_view(k).substr(k.rfind('/') + 1));
  }
  return Status::Ok();
}

Status S3Source::Fetch(Cursor* c, const std::string& key) {
  KeyWindow& window = *c->window;
  auto body = client_->GetObject(config_.bucket, key, config_.max_input_bytes);
  if (!body.ok()) {
    StatusCode code = body.status().code();
    if (code != StatusCode::kNotFound && code != StatusCode::kLimitExceeded) return body.status();
    // Gone since the listing, or too large to read: nothing more can be done for it.
    ReportSkipped(body.status().WithContext("s3 source " + config_.name + ": skipped"));
  } else {
    IntakeRecord rec;
    rec.source = config_.name;
    rec.name = "s3://" + config_.bucket + "/" + key;
    rec.bytes = std::move(body).value();
    rec.parser = config_.parser;
    VIGIL_RETURN_IF_ERROR(Deliver(std::move(rec)));
  }
  window.MarkDone(key, config_.window);
  return store_.Save(c->partition->id(), window);
}

Status S3Source::PollOnce() {
  if (!opened_) VIGIL_RETURN_IF_ERROR(Open());
  CountPoll();
  std::vector<Partition> partitions;
  VIGIL_RETURN_IF_ERROR(Discover(config_.prefix, 0, &partitions).WithContext("s3 source " + config_.name));
  // A page per partition is held at once: smaller pages when there are many
  // partitions (an organisation's accounts times regions), so that holds
  // about 100k keys at most.
  const int page_keys =
      config_.list_page_keys > 0
          ? config_.list_page_keys
          : static_cast<int>(std::clamp<size_t>(100'000 / std::max<size_t>(partitions.size(), 1), 50, 1000));
  std::vector<Cursor> cursors(partitions.size());
  for (size_t i = 0; i < partitions.size(); ++i) {
    const Partition& p = partitions[i];
    Cursor& c = cursors[i];
    c.partition = &p;
    c.window = &windows_[p.id()];
    c.req.bucket = config_.bucket;
    c.req.prefix = p.prefix;
    c.req.max_keys = page_keys;
    if (!p.recursive) c.req.delimiter = "/";
    c.req.start_after = c.window->after;
    if (p.dated && !config_.start_date.empty()) {
      // Keys of a day D are "<prefix>YYYY/MM/DD/...", which sort after
      // "<prefix>YYYY/MM/DD" exactly when D >= start_date.
      std::string day = config_.start_date;
      std::replace(day.begin(), day.end(), '-', '/');
      c.req.start_after = std::max(c.req.start_after, p.prefix + day);
    }
    VIGIL_RETURN_IF_ERROR(NextPage(&c).WithContext("s3 source " + config_.name));
  }
  // The partition whose next object was delivered first (then by key).
  auto earlier = [](const Cursor* a, const Cursor* b) {
    if (a->head_time != b->head_time) return a->head_time > b->head_time;
    return a->keys[a->next] > b->keys[b->next];
  };
  std::vector<Cursor*> heap;
  for (Cursor& c : cursors)
    if (c.has_head()) heap.push_back(&c);
  std::make_heap(heap.begin(), heap.end(), earlier);
  while (!heap.empty() && !stopping()) {
    std::pop_heap(heap.begin(), heap.end(), earlier);
    Cursor* c = heap.back();
    heap.pop_back();
    VIGIL_RETURN_IF_ERROR(Fetch(c, c->keys[c->next++]).WithContext("s3 source " + config_.name));
    VIGIL_RETURN_IF_ERROR(NextPage(c).WithContext("s3 source " + config_.name));
    if (c->has_head()) {
      heap.push_back(c);
      std::push_heap(heap.begin(), heap.end(), earlier);
    }
  }
  return Status::Ok();
}

}  // namespace vigil
