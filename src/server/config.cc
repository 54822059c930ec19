#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "common/time.h"
#include "formats/parser.h"
#include "intel/feed.h"

namespace vigil::server {
namespace {

// "YYYY-MM-DD" naming a real day.
bool IsCalendarDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  const int y = std::stoi(s.substr(0, 4));
  const int m = std::stoi(s.substr(5, 2));
  const int d = std::stoi(s.substr(8, 2));
  if (m < 1 || m > 12 || d < 1 || d > 31) return false;
  const CivilDate c = CivilFromDays(DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)));
  return c.year == y && c.month == m && c.day == d;
}

// One key of a mapping: parses the node found under it (path names it in errors).
using FieldFn = std::function<Status(const YAML::Node& node, const std::string& path)>;
using Fields = std::map<std::string, FieldFn>;

std::string Join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

Status ParseMap(const YAML::Node& node, const std::string& path, const Fields& fields) {
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) return Status::InvalidArgument((path.empty() ? "the file" : path) + ": expected a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    auto it = fields.find(key);
    if (it == fields.end()) {
      std::string known;
      for (const auto& [k, fn] : fields) known += (known.empty() ? "" : ", ") + k;
      return Status::InvalidArgument(Join(path, key) + ": unknown key (known here: " + known + ")");
    }
    VIGIL_RETURN_IF_ERROR(it->second(kv.second, Join(path, key)));
  }
  return Status::Ok();
}

Status Scalar(const YAML::Node& node, const std::string& path, std::string* out) {
  if (!node.IsScalar()) return Status::InvalidArgument(path + ": expected a single value");
  *out = node.Scalar();
  return Status::Ok();
}

FieldFn String(std::string* out) {
  return [out](const YAML::Node& n, const std::string& path) { return Scalar(n, path, out); };
}

FieldFn Int(int* out, int min, int max) {
  return [=](const YAML::Node& n, const std::string& path) -> Status {
    std::string s;
    VIGIL_RETURN_IF_ERROR(Scalar(n, path, &s));
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v < min || v > max)
      return Status::InvalidArgument(path + ": expected a whole number from " + std::to_string(min) + " to " +
                                     std::to_string(max) + ", got '" + s + "'");
    *out = static_cast<int>(v);
    return Status::Ok();
  };
}

FieldFn Bool(bool* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    std::string s;
    VIGIL_RETURN_IF_ERROR(Scalar(n, path, &s));
    if (s == "true") *out = true;
    else if (s == "false") *out = false;
    else return Status::InvalidArgument(path + ": expected true or false, got '" + s + "'");
    return Status::Ok();
  };
}

FieldFn Bytes(uint64_t* out, uint64_t min) {
  return [=](const YAML::Node& n, const std::string& path) -> Status {
    std::string s;
    VIGIL_RETURN_IF_ERROR(Scalar(n, path, &s));
    auto v = ParseByteSize(s);
    if (!v.ok()) return v.status().WithContext(path);
    if (*v < min) return Status::InvalidArgument(path + ": at least " + std::to_string(min) + " bytes");
    *out = *v;
    return Status::Ok();
  };
}

template <typename Duration>
FieldFn Time(Duration* out, int min, int max) {
  return [=](const YAML::Node& n, const std::string& path) -> Status {
    int v = 0;
    VIGIL_RETURN_IF_ERROR(Int(&v, min, max)(n, path));
    *out = Duration(v);
    return Status::Ok();
  };
}

FieldFn StringList(std::vector<std::string>* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    if (n.IsNull()) return Status::Ok();
    if (!n.IsSequence()) return Status::InvalidArgument(path + ": expected a list");
    out->clear();
    for (size_t i = 0; i < n.size(); ++i) {
      std::string s;
      VIGIL_RETURN_IF_ERROR(Scalar(n[i], path + "[" + std::to_string(i) + "]", &s));
      out->push_back(std::move(s));
    }
    return Status::Ok();
  };
}

FieldFn Section(std::function<Fields()> make) {
  return [make](const YAML::Node& n, const std::string& path) { return ParseMap(n, path, make()); };
}

// A list of mappings, each parsed into a default T by the fields `make` gives for it.
template <typename T>
FieldFn SectionList(std::vector<T>* out, std::function<Fields(T*)> make) {
  return [=](const YAML::Node& n, const std::string& path) -> Status {
    if (n.IsNull()) return Status::Ok();
    if (!n.IsSequence()) return Status::InvalidArgument(path + ": expected a list");
    out->clear();
    for (size_t i = 0; i < n.size(); ++i) {
      T item;
      VIGIL_RETURN_IF_ERROR(ParseMap(n[i], path + "[" + std::to_string(i) + "]", make(&item)));
      out->push_back(std::move(item));
    }
    return Status::Ok();
  };
}

template <typename T>
FieldFn Number(T* out, int min, int max) {
  return [=](const YAML::Node& n, const std::string& path) -> Status {
    int v = 0;
    VIGIL_RETURN_IF_ERROR(Int(&v, min, max)(n, path));
    *out = static_cast<T>(v);
    return Status::Ok();
  };
}

// Whole seconds in the file, milliseconds in the struct.
FieldFn SecondsAsMs(int64_t* out_ms, int min, int max) {
  return [=](const YAML::Node& n, const std::string& path) -> Status {
    int v = 0;
    VIGIL_RETURN_IF_ERROR(Int(&v, min, max)(n, path));
    *out_ms = int64_t{v} * 1000;
    return Status::Ok();
  };
}

// A non-negative decimal number (prices).
FieldFn Decimal(double* out) {
  return [out](const YAML::Node& n, const std::string& path) -> Status {
    std::string s;
    VIGIL_RETURN_IF_ERROR(Scalar(n, path, &s));
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(v >= 0) || v > 1e9)
      return Status::InvalidArgument(path + ": expected a non-negative number, got '" + s + "'");
    *out = v;
    return Status::Ok();
  };
}

// `storage` (docs/operations.md): retention per source type, the cold bucket,
// the read cache, compaction and the prices of the cost report.
Fields StorageFields(TieringConfig* t) {
  return {
      {"interval_seconds", [t](const YAML::Node& n, const std::string& path) -> Status {
         int v = 0;
         VIGIL_RETURN_IF_ERROR(Int(&v, 0, 7 * 86400)(n, path));
         t->interval_seconds = v;
         return Status::Ok();
       }},
      {"warm_zstd_level", Int(&t->warm_zstd_level, 1, 22)},
      {"cache_bytes", Bytes(&t->cache_bytes, 1 << 20)},
      {"cold", Section([t] {
         ColdStoreConfig* c = &t->cold;
         return Fields{{"bucket", String(&c->bucket)},
                       {"prefix", String(&c->prefix)},
                       {"region", String(&c->s3.region)},
                       {"endpoint", String(&c->s3.endpoint)},
                       {"path_style", Bool(&c->s3.path_style)},
                       {"access_key_id", String(&c->s3.credentials.access_key_id)},
                       {"secret_access_key", String(&c->s3.credentials.secret_access_key)},
                       {"session_token", String(&c->s3.credentials.session_token)},
                       {"request_timeout_seconds", SecondsAsMs(&c->s3.request_timeout_ms, 1, 3600)},
                       {"max_retries", Number(&c->s3.max_retries, 0, 20)}};
       })},
      {"retention", [t](const YAML::Node& n, const std::string& path) -> Status {
         if (n.IsNull()) return Status::Ok();
         if (!n.IsMap()) return Status::InvalidArgument(path + ": expected a mapping of source type to policy");
         for (const auto& kv : n) {
           const std::string source = kv.first.as<std::string>();
           RetentionPolicy& p = t->retention[source];
           VIGIL_RETURN_IF_ERROR(ParseMap(kv.second, Join(path, source),
                                          Fields{{"warm_after_days", Int(&p.warm_after_days, 0, 100000)},
                                                 {"cold_after_days", Int(&p.cold_after_days, 0, 100000)},
                                                 {"delete_after_days", Int(&p.delete_after_days, 0, 100000)}}));
         }
         return Status::Ok();
       }},
      {"compaction", Section([t] {
         CompactionConfig* k = &t->compaction;
         return Fields{{"enabled", Bool(&k->enabled)},
                       {"min_segments", Number(&k->min_segments, 2, 1'000'000)},
                       {"small_segment_bytes", Bytes(&k->small_segment_bytes, 1)},
                       {"max_merged_bytes", Bytes(&k->max_merged_bytes, 1)},
                       {"interval_seconds", Number(&k->interval_seconds, 1, 7 * 86400)},
                       {"grace_ms", Number(&k->grace_ms, 0, 3'600'000)},
                       {"copy_block_bytes", Bytes(&k->copy_block_bytes, 0)}};
       })},
      {"prices", Section([t] {
         StoragePrices* p = &t->prices;
         return Fields{{"hot_per_gb_month", Decimal(&p->hot_per_gb_month)},
                       {"warm_per_gb_month", Decimal(&p->warm_per_gb_month)},
                       {"cold_per_gb_month", Decimal(&p->cold_per_gb_month)}};
       })},
  };
}

// Settings every polling source has.
void PollingFields(PollingSourceConfig* p, Fields* f) {
  f->insert({{"name", String(&p->name)},
             {"interval_seconds", SecondsAsMs(&p->interval_ms, 1, 86400)},
             {"max_input_bytes", Bytes(&p->max_input_bytes, 1)},
             {"window", Number(&p->window, 1, 1'000'000)},
             {"parser", String(&p->parser)}});
}

Fields S3SourceFields(S3SourceConfig* s) {
  Fields f{{"bucket", String(&s->bucket)},
           {"prefix", String(&s->prefix)},
           {"region", String(&s->s3.region)},
           {"endpoint", String(&s->s3.endpoint)},
           {"path_style", Bool(&s->s3.path_style)},
           {"access_key_id", String(&s->s3.credentials.access_key_id)},
           {"secret_access_key", String(&s->s3.credentials.secret_access_key)},
           {"session_token", String(&s->s3.credentials.session_token)},
           {"connect_timeout_seconds", SecondsAsMs(&s->s3.connect_timeout_ms, 1, 3600)},
           {"request_timeout_seconds", SecondsAsMs(&s->s3.request_timeout_ms, 1, 3600)},
           {"max_retries", Number(&s->s3.max_retries, 0, 20)},
           {"max_depth", Number(&s->max_depth, 0, 32)},
           {"exclude", StringList(&s->exclude)},
           {"start_date", String(&s->start_date)}};
  PollingFields(s, &f);
  return f;
}

Fields DirWatchFields(DirWatchConfig* d) {
  Fields f{{"path", String(&d->directory)}};
  PollingFields(d, &f);
  return f;
}

// One `sources.syslog` entry (docs/serve.md#syslog); checked in Validate.
Fields SyslogFields(SyslogListenerConfig* l) {
  return {
      {"protocol", [l](const YAML::Node& n, const std::string& path) -> Status {
         std::string s;
         VIGIL_RETURN_IF_ERROR(Scalar(n, path, &s));
         auto p = ParseSyslogProtocol(s);
         if (!p.ok()) return p.status().WithContext(path);
         l->protocol = *p;
         return Status::Ok();
       }},
      {"listen", String(&l->bind)},
      {"port", Number(&l->port, 0, 65535)},
      {"name", String(&l->source)},
      {"tls", Section([l] {
         return Fields{{"cert_file", String(&l->tls_cert)},
                       {"key_file", String(&l->tls_key)},
                       {"client_ca_file", String(&l->tls_client_ca)}};
       })},
      {"max_message_bytes", [l](const YAML::Node& n, const std::string& path) -> Status {
         uint64_t v = 0;
         VIGIL_RETURN_IF_ERROR(Bytes(&v, 480)(n, path));
         if (v > (64u << 20)) return Status::InvalidArgument(path + ": at most 64MiB");
         l->max_message_bytes = v;
         return Status::Ok();
       }},
      {"max_connections", Number(&l->max_connections, 1, 65536)},
      {"idle_timeout_seconds", [l](const YAML::Node& n, const std::string& path) -> Status {
         int64_t ms = 0;
         VIGIL_RETURN_IF_ERROR(SecondsAsMs(&ms, 0, 86400)(n, path));
         l->idle_timeout_ms = static_cast<int>(ms);
         return Status::Ok();
       }},
  };
}

// One `intel.feeds` entry (docs/threat-intel.md); checked in Validate.
Fields IntelFeedFields(intel::FeedConfig* f) {
  return {
      {"path", String(&f->path)},
      {"name", String(&f->name)},
      {"format", [f](const YAML::Node& n, const std::string& path) -> Status {
         std::string s;
         VIGIL_RETURN_IF_ERROR(Scalar(n, path, &s));
         auto v = intel::ParseFeedFormat(s);
         if (!v) return Status::InvalidArgument(path + ": expected auto, stix, misp, csv or list, got '" + s + "'");
         f->format = *v;
         return Status::Ok();
       }},
      {"category", [f](const YAML::Node& n, const std::string& path) -> Status {
         std::string s;
         VIGIL_RETURN_IF_ERROR(Scalar(n, path, &s));
         auto v = intel::ParseThreatCategory(s);
         if (!v) {
           return Status::InvalidArgument(path + ": expected listed, c2, blackhole, droppoint, phishing or "
                                                 "cryptomining, got '" + s + "'");
         }
         f->category = *v;
         return Status::Ok();
       }},
      {"confidence", Number(&f->confidence, 0, 100)},
      {"include_non_ids", Bool(&f->misp_include_non_ids)},
      {"csv", Section([f] {
         return Fields{{"header", Bool(&f->csv_header)},
                       {"delimiter", [f](const YAML::Node& n, const std::string& path) -> Status {
                          std::string s;
                          VIGIL_RETURN_IF_ERROR(Scalar(n, path, &s));
                          if (s == "\\t" || s == "tab") s = "\t";
                          if (s.size() != 1) return Status::InvalidArgument(path + ": expected one character");
                          f->csv_delimiter = s[0];
                          return Status::Ok();
                        }},
                       {"value", String(&f->value_column)},
                       {"description", String(&f->description_column)},
                       {"confidence", String(&f->confidence_column)},
                       {"labels", String(&f->labels_column)},
                       {"category", String(&f->category_column)}};
       })},
  };
}

// One `minimise` rule; exactly one of drop, sample, aggregate (checked in Validate).
Fields MinimiseFields(MinimiseRule* r) {
  // One kind per rule: a second one is an error, not a silent override.
  auto set_kind = [r](MinimiseRule::Kind k, const std::string& path) -> Status {
    if (r->kind != MinimiseRule::Kind::kNone)
      return Status::InvalidArgument(path + ": a rule has one of drop, sample or aggregate");
    r->kind = k;
    return Status::Ok();
  };
  return {
      {"name", String(&r->name)},
      {"source", String(&r->source)},
      // drop's value is its condition, so it takes no `where` beside it.
      {"where", [r](const YAML::Node& n, const std::string& path) -> Status {
         if (r->kind == MinimiseRule::Kind::kDrop)
           return Status::InvalidArgument(path + ": drop's value is its condition; no where beside it");
         return Scalar(n, path, &r->where);
       }},
      {"before_detection", Bool(&r->before_detection)},
      {"drop", [r, set_kind](const YAML::Node& n, const std::string& path) -> Status {
         if (!r->where.empty())
           return Status::InvalidArgument(path + ": drop's value is its condition; no where beside it");
         VIGIL_RETURN_IF_ERROR(set_kind(MinimiseRule::Kind::kDrop, path));
         return Scalar(n, path, &r->where);
       }},
      {"sample", [r, set_kind](const YAML::Node& n, const std::string& path) -> Status {
         int v = 0;
         VIGIL_RETURN_IF_ERROR(Int(&v, 2, 1'000'000'000)(n, path));
         VIGIL_RETURN_IF_ERROR(set_kind(MinimiseRule::Kind::kSample, path));
         r->sample_every = static_cast<uint64_t>(v);
         return Status::Ok();
       }},
      {"aggregate", [r, set_kind](const YAML::Node& n, const std::string& path) -> Status {
         VIGIL_RETURN_IF_ERROR(set_kind(MinimiseRule::Kind::kAggregate, path));
         int window = static_cast<int>(r->window_seconds);
         VIGIL_RETURN_IF_ERROR(ParseMap(n, path,
                                        Fields{{"by", StringList(&r->by)},
                                               {"sum", StringList(&r->sum)},
                                               {"window_seconds", Int(&window, 1, 86400)}}));
         r->window_seconds = window;
         if (r->by.empty()) return Status::InvalidArgument(path + ".by: at least one field to group by");
         return Status::Ok();
       }},
  };
}

// The top-level sections. New sources add a line here.
Fields TopLevel(ServeConfig* c) {
  return {
      {"data_dir", String(&c->data_dir)},
      {"log_format", String(&c->log_format)},
      {"http", Section([c] {
         HttpConfig* h = &c->http;
         return Fields{
             {"listen", String(&h->listen)},
             {"port", Int(&h->port, 0, 65535)},
             {"tls", Section([h] {
                return Fields{{"cert_file", String(&h->tls.cert_file)}, {"key_file", String(&h->tls.key_file)}};
              })},
             {"max_body_bytes", Bytes(&h->max_body_bytes, 1024)},
             {"threads", Int(&h->threads, 1, 256)},
             {"read_timeout_seconds", Time(&h->read_timeout, 1, 3600)},
             {"retry_after_seconds", Int(&h->retry_after_seconds, 1, 3600)},
         };
       })},
      {"ingest", Section([c] {
         IngestAuthConfig* a = &c->ingest;
         return Fields{{"tokens", StringList(&a->tokens)},
                       {"token_files", StringList(&a->token_files)},
                       {"token_env", String(&a->token_env)}};
       })},
      {"wal", Section([c] {
         WalConfig* w = &c->wal;
         return Fields{{"segment_bytes", Bytes(&w->segment_bytes, 4096)},
                       {"max_backlog_bytes", Bytes(&w->max_backlog_bytes, 4096)},
                       {"max_pending_bytes", Bytes(&w->max_pending_bytes, 4096)},
                       {"recycle_segments", Int(&w->recycle_segments, 0, 1024)}};
       })},
      {"pipeline", Section([c] {
         PipelineConfig* p = &c->pipeline;
         return Fields{{"rules", StringList(&p->rules)},
                       {"builtin_rules", Bool(&p->builtin_rules)},
                       {"detect", Bool(&p->detect)},
                       {"scheduled_rules", StringList(&p->scheduled_rules)},
                       {"commit_interval_ms", Time(&p->commit_interval, 10, 60000)}};
       })},
      {"sources", Section([c] {
         SourcesConfig* s = &c->sources;
         return Fields{{"s3", SectionList<S3SourceConfig>(&s->s3, S3SourceFields)},
                       {"directory", SectionList<DirWatchConfig>(&s->directory, DirWatchFields)},
                       {"syslog", SectionList<SyslogListenerConfig>(&s->syslog, SyslogFields)}};
       })},
      {"firehose", Section([c] {
         FirehoseSourceConfig* f = &c->firehose;
         return Fields{{"access_keys", StringList(&f->access_keys)},
                       {"access_key_env", String(&f->access_key_env)},
                       {"path", String(&f->path)},
                       {"parser", String(&f->parser)},
                       {"max_record_bytes", Bytes(&f->max_record_bytes, 1024)}};
       })},
      {"intel", Section([c] {
         IntelConfig* i = &c->intel;
         return Fields{{"feeds", SectionList<intel::FeedConfig>(&i->feeds, IntelFeedFields)},
                       {"reload_seconds", Int(&i->reload_seconds, 0, 86400)}};
       })},
      {"encryption", Section([c] {
         EncryptionConfig* e = &c->encryption;
         return Fields{{"key_files", StringList(&e->key_files)}, {"key_env", String(&e->key_env)}};
       })},
      {"minimise", SectionList<MinimiseRule>(&c->minimise, MinimiseFields)},
      {"storage", Section([c] { return StorageFields(&c->storage); })},
      // Sources added by their own modules go here.
  };
}

Status Validate(const ServeConfig& c) {
  if (c.log_format != "text" && c.log_format != "json")
    return Status::InvalidArgument("log_format: expected text or json, got '" + c.log_format + "'");
  if (c.http.tls.enabled() && (c.http.tls.cert_file.empty() || c.http.tls.key_file.empty()))
    return Status::InvalidArgument("http.tls: cert_file and key_file are both needed for HTTPS");
  if (c.data_dir.empty()) return Status::InvalidArgument("data_dir: must not be empty");
  // Source names name checkpoint directories: one path component, unique.
  std::map<std::string, std::string> names;
  auto check_name = [&](const std::string& name, const std::string& where) -> Status {
    bool ok = !name.empty() && name != "." && name != "..";
    for (char ch : name) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.');
    if (!ok) return Status::InvalidArgument(where + ".name: '" + name + "' (letters, digits, '-', '_', '.')");
    auto [it, inserted] = names.emplace(name, where);
    if (!inserted) {
      return Status::InvalidArgument(where + ".name: '" + name + "' is also the name of " + it->second +
                                     " (each source needs its own name)");
    }
    return Status::Ok();
  };
  for (size_t i = 0; i < c.sources.s3.size(); ++i) {
    const std::string where = "sources.s3[" + std::to_string(i) + "]";
    VIGIL_RETURN_IF_ERROR(check_name(c.sources.s3[i].name, where));
    if (c.sources.s3[i].bucket.empty()) return Status::InvalidArgument(where + ".bucket: required");
    const std::string& day = c.sources.s3[i].start_date;
    if (!day.empty() && !IsCalendarDate(day)) {
      return Status::InvalidArgument(where + ".start_date: expected a date YYYY-MM-DD, got '" + day + "'");
    }
  }
  for (size_t i = 0; i < c.sources.directory.size(); ++i) {
    const std::string where = "sources.directory[" + std::to_string(i) + "]";
    VIGIL_RETURN_IF_ERROR(check_name(c.sources.directory[i].name, where));
    if (c.sources.directory[i].directory.empty()) return Status::InvalidArgument(where + ".path: required");
  }
  for (size_t i = 0; i < c.sources.syslog.size(); ++i) {
    const std::string where = "sources.syslog[" + std::to_string(i) + "]";
    Status st = ValidateSyslogListenerConfig(c.sources.syslog[i]);
    if (!st.ok()) return st.WithContext(where);
    // A message the log can never take would stall its connection for ever.
    if (c.sources.syslog[i].max_message_bytes > std::min(c.wal.max_backlog_bytes, c.wal.max_pending_bytes) / 4)
      return Status::InvalidArgument(where + ".max_message_bytes: more than a quarter of wal.max_backlog_bytes or "
                                     "wal.max_pending_bytes");
  }
  for (size_t i = 0; i < c.minimise.size(); ++i) {
    const std::string where = "minimise[" + std::to_string(i) + "]";
    if (c.minimise[i].kind == MinimiseRule::Kind::kNone)
      return Status::InvalidArgument(where + ": one of drop, sample or aggregate is required");
    if (c.minimise[i].source.empty()) return Status::InvalidArgument(where + ".source: required (a log type, or *)");
  }
  {
    // Conditions parse, rates and windows are in range.
    auto m = Minimiser::Create(c.minimise);
    if (!m.ok()) return m.status();
  }
  VIGIL_RETURN_IF_ERROR(ValidateTieringConfig(c.storage));
  if (c.firehose.path.empty() || c.firehose.path[0] != '/' || c.firehose.path == "/api/v1/ingest")
    return Status::InvalidArgument("firehose.path: expected a path of its own starting with '/', got '" +
                                   c.firehose.path + "'");
  if (!c.firehose.parser.empty() && ParserRegistry::Default().Find(c.firehose.parser) == nullptr)
    return Status::InvalidArgument("firehose.parser: no log type named '" + c.firehose.parser + "'");
  std::map<std::string, size_t> feed_names;
  for (size_t i = 0; i < c.intel.feeds.size(); ++i) {
    const intel::FeedConfig& f = c.intel.feeds[i];
    const std::string where = "intel.feeds[" + std::to_string(i) + "]";
    if (f.path.empty()) return Status::InvalidArgument(where + ".path: required");
    const std::string name = f.name.empty() ? intel::FeedNameFromPath(f.path) : f.name;
    if (name == "intel") return Status::InvalidArgument(where + ": 'intel' names every feed together; name it otherwise");
    auto [it, inserted] = feed_names.emplace(name, i);
    if (!inserted) {
      return Status::InvalidArgument(where + ": the name '" + name + "' is also that of intel.feeds[" +
                                     std::to_string(it->second) + "] (set name: to tell them apart)");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<uint64_t> ParseByteSize(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 18) return Status::InvalidArgument("expected a size such as 4096, 512KiB, 64MiB or 1GiB, got '" + text + "'");
  uint64_t v = std::strtoull(text.substr(0, i).c_str(), nullptr, 10);
  std::string unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::map<std::string, uint64_t> kUnits = {
      {"", 1},           {"B", 1},          {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"KB", 1000},      {"MB", 1000000},   {"GB", 1000000000},
  };
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) return Status::InvalidArgument("unknown size unit '" + unit + "' in '" + text + "' (B, KiB, MiB, GiB, KB, MB, GB)");
  if (v > (uint64_t{1} << 50) / it->second) return Status::InvalidArgument("size '" + text + "' is too large");
  return v * it->second;
}

Result<ServeConfig> ParseServeConfig(const std::string& yaml, const std::string& name) {
  ServeConfig c;
  c.source_file = name;
  try {
    YAML::Node root = YAML::Load(yaml);
    Status st = ParseMap(root, "", TopLevel(&c));
    if (!st.ok()) return st.WithContext(name);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(name + ": not valid YAML: " + e.what());
  }
  Status st = Validate(c);
  if (!st.ok()) return st.WithContext(name);
  return c;
}

Result<ServeConfig> LoadServeConfig(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound(path + ": cannot open the configuration file");
  std::stringstream ss;
  ss << f.rdbuf();
  return ParseServeConfig(ss.str(), path);
}

Result<std::vector<std::string>> ServeConfig::ResolveTokens() const {
  std::vector<std::string> out;
  for (const std::string& t : ingest.tokens)
    if (!t.empty()) out.push_back(t);
  for (const std::string& path : ingest.token_files) {
    std::ifstream f(path);
    if (!f) return Status::NotFound("ingest.token_files: " + path + ": cannot open");
    std::string line;
    while (std::getline(f, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
      size_t start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line[start] == '#') continue;
      out.push_back(line.substr(start));
    }
  }
  if (!ingest.token_env.empty()) {
    const char* v = std::getenv(ingest.token_env.c_str());
    if (!v || !*v) return Status::NotFound("ingest.token_env: environment variable " + ingest.token_env + " is not set");
    out.emplace_back(v);
  }
  return out;
}

Result<std::vector<std::string>> FirehoseSourceConfig::ResolveKeys() const {
  std::vector<std::string> out;
  for (const std::string& k : access_keys) {
    if (k.empty()) return Status::InvalidArgument("firehose.access_keys: an empty key accepts nothing; remove it");
    out.push_back(k);
  }
  if (!access_key_env.empty()) {
    const char* v = std::getenv(access_key_env.c_str());
    if (!v || !*v) {
      return Status::NotFound("firehose.access_key_env: environment variable " + access_key_env + " is not set");
    }
    out.emplace_back(v);
  }
  return out;
}

}  // namespace vigil::server
