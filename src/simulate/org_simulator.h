// `vigil simulate`: a synthetic AWS organisation that produces CloudTrail,
// VPC Flow Logs (default v2 format), Route 53 Resolver query logs, ALB access
// logs and S3 server access logs over one or more days, with labelled attack
// scenarios injected on request. docs/simulate.md describes the organisation,
// the rhythms, every scenario and the files written.
//
// Determinism: the same options give the same records in the same order and,
// on disk, byte-identical files (own PRNG, no wall clock, gzip headers without
// a timestamp). Thread safety: a Simulator keeps no global state; one object
// is used from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil::sim {

enum class LogType { kCloudTrail, kVpcFlow, kDns, kAlb, kS3Access };
inline constexpr int kLogTypeCount = 5;
// vigil's source type names ("cloudtrail", "vpcflow", "route53resolver", "alb", "s3access").
std::string_view LogTypeName(LogType t);

struct SimulateOptions {
  uint64_t seed = 1;
  // Start of the first simulated day (rounded down to midnight UTC). The
  // default, 2025-03-03, is a Monday.
  int64_t start_ns = 1740960000LL * 1'000'000'000LL;
  int days = 1;             // 1..366
  size_t principals = 40;   // human IAM users, 4..100000
  // Routine records of all five log types on an ordinary weekday; weekends
  // and quiet hours produce fewer. At most 50M.
  size_t events_per_day = 20000;
  // Scenario names (AttackCatalog), in any order; duplicates are ignored.
  std::vector<std::string> attacks;
  // Days of routine activity before the first attack, so that behavioural
  // baselines have history; -1: half the run, at most three days.
  int learning_days = -1;
  // false: the attacks are spread over the days after learning, one
  // occurrence each. true: every one of those days carries every attack (a
  // live estate that is attacked day after day, as `vigil demo --follow` runs).
  bool attacks_every_day = false;
};

struct ScenarioInfo {
  std::string name;
  std::string finding_type;  // GuardDuty-style, e.g. "Recon:EC2/Portscan"
  std::string description;
};
// Every scenario the simulator can inject, in a fixed order.
const std::vector<ScenarioInfo>& AttackCatalog();

// One labelled scenario occurrence (a line of labels.jsonl). A scenario may
// carry more than one label when its stages would raise different findings.
struct AttackLabel {
  std::string id;            // "<scenario>-<n>", unique in a run
  std::string scenario;
  std::string finding_type;
  std::string entity_type;   // "principal", "instance" or "ip"
  std::string entity;        // principal ARN, instance id or IP address
  std::string account;
  int64_t start_ns = 0;      // first attack record
  int64_t end_ns = 0;        // last attack record (a flow record's end)
  std::vector<std::string> log_types;  // where its records are
  size_t records = 0;
  std::string description;
};

// One generated record: a CloudTrail record or Resolver query (JSON text) or
// one text log line, without a line break.
struct SimRecord {
  LogType type = LogType::kCloudTrail;
  uint32_t stream = 0;  // delivery stream (see Simulator::StreamKey)
  int64_t time_ns = 0;
  uint64_t seq = 0;     // generation order, to keep sorting stable
  std::string text;
};

struct SimulateSummary {
  int days = 0;
  size_t records = 0;
  size_t attack_records = 0;
  size_t records_by_type[kLogTypeCount] = {};
  size_t weekday_records = 0;  // routine records on Monday-Friday
  size_t weekend_records = 0;
  size_t files = 0;
  uint64_t bytes_written = 0;
  std::vector<std::string> accounts;
  std::vector<AttackLabel> labels;
};

// Receives the records of one simulated day, sorted by time. Returning an
// error stops the run.
using DaySink = std::function<Status(int day, std::vector<SimRecord>& records)>;

class Simulator {
 public:
  // Fails with kInvalidArgument for options out of range or an unknown attack name.
  static Result<std::unique_ptr<Simulator>> Create(const SimulateOptions& options);
  ~Simulator();

  // Generates day by day and hands each day to `sink`; `summary()` is
  // complete afterwards.
  Status Run(const DaySink& sink);
  const SimulateSummary& summary() const;

  // The delivery stream of a record: which account, region and resource its
  // file belongs to, and the file name it is written under.
  std::string FilePath(const SimRecord& first, int64_t window_start) const;
  // Length of a stream's delivery window: 15 minutes for CloudTrail (AWS
  // writes about every 5), an hour for the others.
  static int64_t DeliveryWindow(LogType t);
  // The first line of every file of this type (the flow-log header), or empty.
  static std::string_view FileHeader(LogType t);

  // The sidecar files: a GeoIP CSV table (start_ip,end_ip,country,asn,city,
  // lat,lon) covering every address the simulation uses, the threat-intel
  // lists the scenarios use, and the labels.
  std::string GeoIpCsv() const;
  std::string ThreatIntelIps() const;
  std::string ThreatIntelDomains() const;
  std::string LabelsJsonl() const;
  std::string OrgJson() const;

 private:
  struct Impl;
  explicit Simulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes a run under `out_dir` in the AWS delivery layouts:
//   logs/AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz
//   logs/AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD/*.log.gz
//   logs/AWSLogs/<acct>/vpcdnsquerylogs/<vpc-id>/YYYY/MM/DD/*.log.gz
//   logs/AWSLogs/<acct>/elasticloadbalancing/<region>/YYYY/MM/DD/*.log.gz
//   logs/s3-access/<acct>/<region>/<bucket>/YYYY/MM/DD/YYYY-MM-DD-HH-MM-SS-<id>
// and beside them labels.jsonl, geoip.csv, intel/threat-ips.txt,
// intel/threat-domains.txt and org.json. `progress` (optional) is called
// after each day.
Result<SimulateSummary> SimulateToDirectory(const SimulateOptions& options, const std::string& out_dir,
                                            const std::function<void(int day, const SimulateSummary&)>& progress);

// Writes the sidecar files (labels, GeoIP, intel, org) of a finished run.
Status WriteSidecars(const Simulator& sim, const std::string& out_dir);

}  // namespace vigil::sim
