// Internals of the organisation simulator, shared by org_simulator.cc (the
// organisation, routine traffic, output) and scenarios.cc (the attacks). Not
// part of the module's interface.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "simulate/cloudtrail_record.h"
#include "simulate/org_simulator.h"
#include "simulate/sim_common.h"

namespace vigil::sim {

// Named address ranges of the simulation's GeoIP table (org_simulator.cc).
enum Geo : int {
  kGeoLondonOffice, kGeoBerlinOffice, kGeoNewYorkOffice, kGeoUkHome, kGeoDeHome, kGeoFrHome, kGeoUsEastHome,
  kGeoUsWestHome, kGeoAwsUsEast, kGeoAwsUsEast2, kGeoAwsEuWest, kGeoS3UsEast, kGeoGithub, kGeoFastly,
  kGeoCloudflare, kGeoGoogle, kGeoMonitoringSaas, kGeoPaymentsSaas, kGeoCustBr, kGeoCustIn, kGeoCustJp,
  kGeoCustAu, kGeoCustCa, kGeoCustEs, kGeoCustNl, kGeoTorDe, kGeoRuHosting, kGeoCnTelecom, kGeoNlHosting,
  kGeoVnIsp, kGeoSgCloud, kGeoUsVps, kGeoNgIsp, kGeoFrCloud, kGeoNlBulletproof, kGeoKrIsp,
  kGeoCount
};

enum class InstanceKind { kWeb, kApi, kWorker, kDb, kBatch, kBastion, kCiRunner, kScanner, kMonitoring };

struct Account {
  std::string id;
  std::string name;
  std::string region;
  std::string vpc;
  uint32_t cidr = 0;        // 10.x.0.0/16
  uint32_t nat_ip = 0;      // public address of the NAT gateway
  std::string flow_log_id;  // fl-...
};

struct Instance {
  std::string id;
  std::string eni;
  InstanceKind kind = InstanceKind::kWeb;
  int account = 0;
  uint32_t private_ip = 0;
  uint32_t public_ip = 0;   // 0: none
  Principal* role = nullptr;
};

enum class UserKind { kAdmin, kDeveloper, kAnalyst, kOps };

struct User {
  Principal* p = nullptr;
  UserKind kind = UserKind::kDeveloper;
  int account = 0;
  int office_geo = kGeoLondonOffice;
  int home_geo = kGeoUkHome;
  uint32_t office_ip = 0;
  uint32_t home_ip = 0;
  int tz = 0;               // hours east of UTC
  bool console = true;
  bool mfa = true;
  std::vector<int> apis;    // indexes into the read catalogue this user calls
  int travel_day = -1;      // a day spent working from travel_geo (with MFA)
  int travel_geo = 0;
  uint32_t travel_ip = 0;
};

struct Bucket {
  std::string name;
  int account = 0;
  bool public_site = false;  // served anonymously (static assets)
};

struct External {
  std::string domain;
  uint32_t ip = 0;
  int port = 443;
};

struct SimulatorImpl {
  explicit SimulatorImpl(const SimulateOptions& o);

  // --- organisation (org_simulator.cc)
  void BuildOrg();
  uint32_t IpIn(int geo);
  std::string GeoCountry(uint32_t ip) const;
  Principal* Add(Principal p);
  Principal* MakeUser(int account, const std::string& name, uint32_t ip, const std::string& ua);
  Principal* MakeRole(int account, const std::string& name, const std::string& session, const std::string& ip,
                      const std::string& ua);
  const Instance& InstanceOf(InstanceKind k, size_t n = 0) const;
  const std::vector<const Instance*>& InstancesOf(InstanceKind k) const { return by_kind[static_cast<int>(k)]; }

  // --- time
  bool Weekend() const;
  int64_t AnyTime();
  int64_t OfficeTime(int tz);
  int64_t NightTime();
  int64_t CustomerTime();

  // --- record emission
  uint32_t Stream(LogType t, const std::string& account, const std::string& region, const std::string& resource);
  void Push(LogType t, uint32_t stream, int64_t time_ns, std::string text, int64_t end_ns = 0);
  std::string Ct(const Call& c);
  void FlowRecord(const Instance& on, uint32_t src, uint32_t dst, int sport, int dport, int proto, int64_t packets,
                  int64_t bytes, int64_t start_ns, int64_t seconds, bool accept);
  // A connection as flow logs see it: the request direction and, if accepted,
  // the response direction, on the ENI of every instance at either end.
  void Connection(uint32_t src, uint32_t dst, int sport, int dport, int proto, int64_t packets, int64_t bytes,
                  int64_t start_ns, int64_t seconds, bool accept);
  void DnsQuery(const Instance& from, const std::string& name, const std::string& type, const std::string& rcode,
                const std::vector<std::pair<std::string, std::string>>& answers, int64_t t);
  void AlbRequest(int64_t t, uint32_t client_ip, const std::string& method, const std::string& path, int status,
                  int64_t sent_bytes, const std::string& ua);
  void S3Access(const Bucket& b, int64_t t, uint32_t remote_ip, const std::string& requester,
                const std::string& operation, const std::string& key, const std::string& method, int status,
                const std::string& error, int64_t bytes, const std::string& ua);
  const Instance* InstanceByIp(uint32_t ip) const;
  int EphemeralPort() { return static_cast<int>(rng.Between(32768, 60999)); }

  // --- routine activity (org_simulator.cc)
  void RoutineDay();
  void HumanApi();
  void ConsoleSignIn(User& u, int64_t t, uint32_t ip);
  void AdminChange();
  void WorkloadApi();
  void ServiceNoise();
  void ScannerSweep();
  void BackupNight();
  void CiDeploy();
  void BenignError();
  void AppFlows();
  void InternetNoise();
  void BastionSsh();
  void OwnScannerNight();
  void NightlyTransfer();
  void MonitoringBeacon();
  void Updates();
  void DnsRoutine();
  void AlbRoutine();
  void S3Routine();

  // --- attacks (scenarios.cc)
  void ScheduleAttacks();
  void RunAttack(const std::string& name, int64_t start);
  AttackLabel& BeginLabel(const std::string& scenario, const std::string& entity_type, const std::string& entity,
                          const std::string& account, const std::string& finding = "");
  void EndLabel() { label_ = -1; }

  SimulateOptions opt;
  Rng rng;
  int64_t first_day = 0;
  int64_t day_start = 0;
  int day_index = 0;
  uint64_t seq = 0;
  std::vector<SimRecord> records;  // the day being built
  SimulateSummary summary;
  int label_ = -1;                 // label the records being pushed belong to
  std::map<std::string, int> label_counts;
  // scheduled attacks: (day, start time, name)
  struct Planned {
    int day;
    int64_t start;
    std::string name;
  };
  std::vector<Planned> plan;

  struct StreamInfo {
    LogType type;
    std::string account;
    std::string region;
    std::string resource;
    std::string suffix;  // fixed random part of file names
  };
  std::vector<StreamInfo> streams;
  std::map<std::string, uint32_t> stream_index;

  uint32_t geo_start[kGeoCount] = {};
  uint32_t geo_end[kGeoCount] = {};

  std::vector<Account> accounts;
  std::vector<std::unique_ptr<Principal>> principals;
  std::vector<User> users;
  std::vector<Instance> instances;
  // Built once the instances are: by kind, by address (private and public),
  // and those with a public address.
  std::vector<const Instance*> by_kind[9];
  std::unordered_map<uint32_t, const Instance*> by_ip;
  std::vector<const Instance*> exposed;
  std::vector<Bucket> buckets;
  std::vector<std::string> secrets;
  std::vector<External> saas;
  std::vector<std::string> instance_role_names;
  Principal* svc_ci = nullptr;
  Principal* svc_backup = nullptr;
  Principal* svc_terraform = nullptr;
  Principal* deploy = nullptr;
  Principal* lambda_ingest = nullptr;
  Principal* config_role = nullptr;
  std::vector<Principal*> services;
  Principal* root[3] = {};
  std::string kms_key;
  std::string alb_name;       // app/prod-web/<id>
  uint32_t alb_public_ip = 0;
  uint32_t alb_private_ip[2] = {};
  std::string alb_tg_arn;
  std::string trail_arn;
  std::string ebs_snapshot;
  // Intel: IPs and domains the scenarios use, plus unrelated entries, as a
  // real feed holds far more than one site ever sees.
  std::vector<std::string> intel_ips;
  std::vector<uint32_t> intel_ip_values;  // the same, sorted: background traffic avoids them
  std::vector<std::string> intel_domains;
};

std::string IpStr(uint32_t ip);
uint32_t ParseIp(const char* s);
}  // namespace vigil::sim
