#include <optional>

#include "event/json_fields.h"
#include "formats/alb.h"
#include "formats/app_json.h"
#include "formats/cloudtrail.h"
#include "formats/cloudwatchlogs.h"
#include "formats/guardduty.h"
#include "formats/parser.h"
#include "formats/record_fields.h"
#include "formats/route53resolver.h"
#include "formats/s3access.h"
#include "formats/securityhub.h"
#include "formats/syslog.h"
#include "formats/vpcflow.h"

namespace vigil {

void ParserRegistry::Register(std::unique_ptr<Parser> parser) { parsers_.push_back(std::move(parser)); }

const Parser* ParserRegistry::Find(std::string_view name) const {
  for (const auto& p : parsers_)
    if (p->name() == name) return p.get();
  return nullptr;
}

const Parser* ParserRegistry::Recognize(std::string_view head) const {
  for (const auto& p : parsers_)
    if (p->Recognize(head)) return p.get();
  return nullptr;
}

std::unique_ptr<ParserRegistry> ParserRegistry::WithLimits(const InputLimits& limits) {
  auto r = std::make_unique<ParserRegistry>();
  // One line per log type. Recognition tries them in this order: the finding
  // types first, as they look at top-level keys only and so never claim a
  // CloudTrail record that merely mentions a finding.
  r->Register(MakeGuardDutyParser(limits));
  r->Register(MakeSecurityHubParser(limits));
  r->Register(MakeCloudTrailParser(limits));
  // Then the other JSON type (top-level keys only) and the text types, each
  // of which rejects a JSON head on its first byte, so CloudTrail costs
  // nothing more to recognise.
  r->Register(MakeRoute53ResolverParser(limits));
  // CloudWatch Logs subscription payloads (top-level keys only); their
  // messages are recognised again, by the parsers of Default().
  r->Register(MakeCloudWatchLogsParser(limits));
  r->Register(MakeVpcFlowParser(limits));
  r->Register(MakeAlbParser(limits));
  r->Register(MakeS3AccessParser(limits));
  // Syslog lines start with `<PRI>` or a capitalised month, which no text
  // type above claims.
  r->Register(MakeSyslogParser(limits));
  // Last: generic JSON application logs, whose recogniser also refuses the
  // keys of every JSON type above.
  r->Register(MakeAppJsonParser(limits));
  return r;
}

const ParserRegistry& ParserRegistry::Default() {
  static const ParserRegistry* registry = WithLimits(InputLimits{}).release();
  return *registry;
}

namespace {

// Keeps the one event a stored record parses into, or the reason it does not.
struct OneRecord : ParseSink {
  std::optional<Event> event;
  std::string problem;
  void OnEvent(Event&& e) override {
    if (!event) event = std::move(e);
  }
  void OnDeadLetter(DeadLetter&& d) override {
    if (problem.empty()) problem = std::move(d.reason);
  }
  void OnWarning(std::string_view, std::string_view) override {}
};

// A stored record passed the limits it was ingested with, which may have been
// raised (`vigil deadletter replay --max-depth`); reading it again applies
// none tighter than what it needed. (Depth stays bounded: the JSON parser's
// stack grows with it.)
constexpr InputLimits kStoredRecordLimits{size_t{1} << 40, 1024, size_t{1} << 40};

const ParserRegistry& StoredRecordParsers() {
  static const ParserRegistry* registry = ParserRegistry::WithLimits(kStoredRecordLimits).release();
  return *registry;
}

}  // namespace

Result<std::shared_ptr<const FieldResolver>> RecordFields(std::string_view source_type, std::string_view raw) {
  // The text types: their parser reads the record (and, for a flow record with
  // its own layout, the header line it carries).
  if (source_type == kVpcFlow || source_type == kAlb || source_type == kS3Access || source_type == kSyslog) {
    OneRecord one;
    Status st = StoredRecordParsers().Find(source_type)->Parse(ParseInput{source_type, raw, 0}, one);
    if (one.event && one.event->fields) return one.event->fields;
    if (!st.ok()) return st;
    return Status::InvalidArgument(std::string(source_type) + " record does not parse: " + one.problem);
  }
  // Route 53 Resolver records answer the names their parser derives too.
  if (source_type == kRoute53Resolver) {
    Event ev;
    std::string warning;
    VIGIL_RETURN_IF_ERROR(BuildRoute53ResolverEvent(raw, 0, kStoredRecordLimits, &ev, &warning));
    return ev.fields;
  }
  JsonLimits json;
  json.max_record_bytes = kStoredRecordLimits.max_record_bytes;
  json.max_depth = kStoredRecordLimits.max_depth;
  return ParseJsonFields(raw, json);
}

}  // namespace vigil
