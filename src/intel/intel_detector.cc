#include "intel/intel_detector.h"

#include <algorithm>

#include "common/json_writer.h"
#include "common/time.h"

namespace vigil::intel {
namespace {

using R = FieldRole;

// The fields of each log type that hold an IP address or a domain name a
// threat list may name (docs/threat-intel.md lists them with their OCSF
// equivalents). Raw fields are read rather than the OCSF form: the OCSF form
// is built on first use, and most events need no other reason to build it.
const std::vector<IntelField> kFields = {
    // CloudTrail: the caller's address, or the AWS service's host name.
    {"cloudtrail", "sourceIPAddress", R::kIamCaller, true},
    // VPC flow logs: both ends, and the packet-level addresses behind a NAT
    // gateway or load balancer.
    {"vpcflow", "srcaddr", R::kNetwork, false},
    {"vpcflow", "dstaddr", R::kNetwork, false},
    {"vpcflow", "pkt-srcaddr", R::kNetwork, false},
    {"vpcflow", "pkt-dstaddr", R::kNetwork, false},
    // Route 53 Resolver: the name asked for, each answer (an address or a
    // CNAME target) and the asking instance's address.
    {"route53resolver", "query_name", R::kDns, true},
    {"route53resolver", "answers.Rdata", R::kDns, true},
    {"route53resolver", "srcaddr", R::kNetwork, false},
    // Load balancers: the client, the target, the Host header and the TLS SNI.
    {"alb", "client_ip", R::kNetwork, false},
    {"alb", "target_ip", R::kNetwork, false},
    {"alb", "backend_ip", R::kNetwork, false},
    {"alb", "destination_ip", R::kNetwork, false},
    {"alb", "request_host", R::kHost, true},
    {"alb", "domain_name", R::kHost, true},
    // S3 server access logs: the requester's address and the Host header.
    {"s3access", "remote_ip", R::kS3Caller, false},
    {"s3access", "host_header", R::kHost, true},
    // GuardDuty findings: the remote party of each action.
    {"guardduty", "service.action.awsApiCallAction.remoteIpDetails.ipAddressV4", R::kIamCaller, false},
    {"guardduty", "service.action.networkConnectionAction.remoteIpDetails.ipAddressV4", R::kNetwork, false},
    {"guardduty", "service.action.networkConnectionAction.remoteIpDetails.ipAddressV6", R::kNetwork, false},
    {"guardduty", "service.action.portProbeAction.portProbeDetails.remoteIpDetails.ipAddressV4", R::kNetwork, false},
    {"guardduty", "service.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV4", R::kNetwork, false},
    {"guardduty", "service.action.dnsRequestAction.domain", R::kDns, true},
    // Security Hub findings (ASFF): the network section and the actions.
    {"securityhub", "Network.SourceIpV4", R::kNetwork, false},
    {"securityhub", "Network.SourceIpV6", R::kNetwork, false},
    {"securityhub", "Network.DestinationIpV4", R::kNetwork, false},
    {"securityhub", "Network.DestinationIpV6", R::kNetwork, false},
    {"securityhub", "Network.SourceDomain", R::kHost, true},
    {"securityhub", "Network.DestinationDomain", R::kHost, true},
    {"securityhub", "Action.AwsApiCallAction.RemoteIpDetails.IpAddressV4", R::kIamCaller, false},
    {"securityhub", "Action.NetworkConnectionAction.RemoteIpDetails.IpAddressV4", R::kNetwork, false},
    {"securityhub", "Action.PortProbeAction.PortProbeDetails.RemoteIpDetails.IpAddressV4", R::kNetwork, false},
    {"securityhub", "Action.DnsRequestAction.Domain", R::kDns, true},
    // Generic JSON application logs: the usual names for a peer's address.
    {"json", "client_ip", R::kNetwork, false},
    {"json", "clientIp", R::kNetwork, false},
    {"json", "remote_addr", R::kNetwork, false},
    {"json", "remote_ip", R::kNetwork, false},
    {"json", "src_ip", R::kNetwork, false},
    {"json", "source_ip", R::kNetwork, false},
    {"json", "dst_ip", R::kNetwork, false},
    {"json", "destination_ip", R::kNetwork, false},
};

// Severities follow GuardDuty's for the same finding types.
constexpr IntelRule kIamCaller{"intel-iam-malicious-ip-caller", "API call from an IP address on a threat list", "medium",
                               "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"};
constexpr IntelRule kS3Caller{"intel-s3-malicious-ip-caller", "S3 request from an IP address on a threat list", "medium",
                              "UnauthorizedAccess:S3/MaliciousIPCaller.Custom"};
constexpr IntelRule kIpListed{"intel-ec2-malicious-ip", "Traffic with an IP address on a threat list", "medium",
                              "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom"};
constexpr IntelRule kIpC2{"intel-ec2-c2-ip", "Traffic with a known command and control server", "high",
                          "Backdoor:EC2/C&CActivity.B"};
constexpr IntelRule kIpBlackhole{"intel-ec2-blackhole-ip", "Traffic to a known black hole address", "medium",
                                 "Trojan:EC2/BlackholeTraffic"};
constexpr IntelRule kIpDropPoint{"intel-ec2-drop-point-ip", "Traffic with a known drop point for stolen data",
                                 "medium", "Trojan:EC2/DropPoint"};
constexpr IntelRule kIpMining{"intel-ec2-mining-ip", "Traffic with an address of cryptocurrency mining", "high",
                              "CryptoCurrency:EC2/BitcoinTool.B"};
constexpr IntelRule kDnsListed{"intel-dns-malicious-domain", "Domain on a threat list looked up or requested", "medium",
                               "Impact:EC2/MaliciousDomainRequest.Custom"};
constexpr IntelRule kDnsC2{"intel-dns-c2-domain", "Domain of a known command and control server looked up", "high",
                           "Backdoor:EC2/C&CActivity.B!DNS"};
constexpr IntelRule kDnsBlackhole{"intel-dns-blackhole-domain", "Domain redirected to a black hole looked up",
                                  "medium", "Trojan:EC2/BlackholeTraffic!DNS"};
constexpr IntelRule kDnsDropPoint{"intel-dns-drop-point-domain", "Domain of a known drop point looked up", "medium",
                                  "Trojan:EC2/DropPoint!DNS"};
constexpr IntelRule kDnsPhishing{"intel-dns-phishing-domain", "Phishing domain looked up", "high",
                                 "Trojan:EC2/PhishingDomainRequest!DNS"};
constexpr IntelRule kDnsMining{"intel-dns-mining-domain", "Domain of cryptocurrency mining looked up", "high",
                               "CryptoCurrency:EC2/BitcoinTool.B!DNS"};

const std::vector<std::string> kTags = {"threat-intel"};

}  // namespace

const std::vector<IntelField>& IntelFields() { return kFields; }

const IntelRule& RuleFor(FieldRole role, bool domain_indicator, ThreatCategory category) {
  if (role == R::kIamCaller) return kIamCaller;
  if (role == R::kS3Caller) return kS3Caller;
  // A domain indicator found in a request or a DNS answer is a name looked
  // up; an address indicator is traffic with that address.
  if (domain_indicator || role == R::kDns) {
    switch (category) {
      case ThreatCategory::kCommandAndControl: return kDnsC2;
      case ThreatCategory::kBlackhole: return kDnsBlackhole;
      case ThreatCategory::kDropPoint: return kDnsDropPoint;
      case ThreatCategory::kPhishing: return kDnsPhishing;
      case ThreatCategory::kCryptoMining: return kDnsMining;
      case ThreatCategory::kListed: return kDnsListed;
    }
    return kDnsListed;
  }
  switch (category) {
    case ThreatCategory::kCommandAndControl: return kIpC2;
    case ThreatCategory::kBlackhole: return kIpBlackhole;
    case ThreatCategory::kDropPoint: return kIpDropPoint;
    case ThreatCategory::kCryptoMining: return kIpMining;
    case ThreatCategory::kPhishing:
    case ThreatCategory::kListed: return kIpListed;
  }
  return kIpListed;
}

std::vector<const IntelRule*> AllIntelRules() {
  return {&kIamCaller, &kS3Caller,    &kIpListed,    &kIpC2,         &kIpBlackhole, &kIpDropPoint, &kIpMining,
          &kDnsListed, &kDnsC2,       &kDnsBlackhole, &kDnsDropPoint, &kDnsPhishing, &kDnsMining};
}

std::string ExplainHit(const IntelIndex& index, uint32_t i, std::string_view field, std::string_view value) {
  const Indicator& in = index.indicator(i);
  const FeedSummary& feed = index.feeds()[in.feed];
  JsonObject o;
  o.Str("field", field).Str("value", value).Str("indicator", in.value).Str("feed", feed.name);
  o.Str("source", feed.path + (in.line ? ":" + std::to_string(in.line) : ""));
  if (!in.ref.empty()) o.Str("ref", in.ref);
  if (std::string_view d = index.description(in); !d.empty()) o.Str("description", d);
  if (in.confidence >= 0) o.Int("confidence", in.confidence);
  if (!index.labels(in).empty()) o.StrList("labels", index.labels(in));
  o.Str("category", ThreatCategoryName(in.category));
  if (in.valid_from_ns) o.Str("valid_from", FormatRfc3339(in.valid_from_ns));
  if (in.valid_until_ns) o.Str("valid_until", FormatRfc3339(in.valid_until_ns));
  return o.Done();
}

struct IntelDetector::Fields {
  std::string source_type;
  std::vector<std::pair<FieldPath, const IntelField*>> fields;
};

IntelDetector::IntelDetector(const IntelStore* store) : store_(store) {}
IntelDetector::~IntelDetector() = default;

const IntelDetector::Fields* IntelDetector::FieldsFor(std::string_view source_type) {
  for (const auto& f : by_type_)
    if (f->source_type == source_type) return f.get();
  auto f = std::make_unique<Fields>();
  f->source_type = std::string(source_type);
  for (const IntelField& spec : kFields)
    if (spec.source_type == source_type) f->fields.emplace_back(FieldPath(spec.path), &spec);
  by_type_.push_back(std::move(f));
  return by_type_.back().get();
}

void IntelDetector::Process(const Event& event, const MatchSink& sink) {
  if (const uint64_t g = store_->generation(); g != generation_) {
    index_ = store_->current();
    generation_ = g;
  }
  if (!event.fields || index_->size() == 0) return;
  const Fields* fields = FieldsFor(event.source_type);
  raised_.clear();
  for (const auto& [path, spec] : fields->fields) {
    values_.clear();
    if (!event.fields->Collect(path, &values_)) continue;
    for (size_t v = 0; v < values_.size(); ++v) {
      const FieldValue value = values_.at(v);
      if (value.kind != ValueKind::kString || value.text.empty()) continue;
      hits_.clear();
      if (!index_->Match(value.text, spec->domains, event.time_ns, &hits_)) continue;
      for (uint32_t hit : hits_) {
        const Indicator& in = index_->indicator(hit);
        const IntelRule& rule = RuleFor(spec->role, in.kind == IndicatorKind::kDomain, in.category);
        if (std::find(raised_.begin(), raised_.end(), std::pair{&rule, hit}) != raised_.end()) continue;
        raised_.emplace_back(&rule, hit);
        Match m;
        m.rule_id = rule.id;
        m.title = rule.title;
        m.severity = rule.severity;
        m.tags = &kTags;
        m.finding_type = rule.finding_type;
        m.explain = [index = index_, hit, field = spec->path, text = std::string(value.text)] {
          return ExplainHit(*index, hit, field, text);
        };
        sink(event, m);
      }
    }
  }
}

}  // namespace vigil::intel
