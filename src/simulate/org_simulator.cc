#include "simulate/org_simulator.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <tuple>

#include "common/time.h"
#include "simulate/org_impl.h"

namespace vigil::sim {

namespace {

constexpr size_t kMaxEventsPerDay = 50'000'000;

// The simulation's GeoIP table. The ranges are real-looking public ranges
// whose owners and places are chosen for the simulation; the table describes
// the simulated world, not the real Internet.
struct GeoRow {
  const char* start;
  const char* end;
  const char* country;
  const char* asn;
  const char* city;
  const char* lat;
  const char* lon;
};
constexpr GeoRow kGeoTable[kGeoCount] = {
    {"81.2.69.0", "81.2.69.255", "GB", "AS20712", "London", "51.5074", "-0.1278"},
    {"91.64.12.0", "91.64.12.255", "DE", "AS3209", "Berlin", "52.5200", "13.4050"},
    {"64.124.30.0", "64.124.30.255", "US", "AS6461", "New York", "40.7128", "-74.0060"},
    {"86.128.0.0", "86.135.255.255", "GB", "AS2856", "Manchester", "53.4808", "-2.2426"},
    {"93.192.0.0", "93.199.255.255", "DE", "AS3320", "Munich", "48.1371", "11.5754"},
    {"90.0.0.0", "90.63.255.255", "FR", "AS3215", "Paris", "48.8566", "2.3522"},
    {"73.0.0.0", "73.63.255.255", "US", "AS7922", "Philadelphia", "39.9526", "-75.1652"},
    {"67.160.0.0", "67.191.255.255", "US", "AS7922", "San Francisco", "37.7749", "-122.4194"},
    {"3.80.0.0", "3.95.255.255", "US", "AS14618", "Ashburn", "39.0438", "-77.4874"},
    {"54.80.0.0", "54.95.255.255", "US", "AS14618", "Ashburn", "39.0438", "-77.4874"},
    {"34.240.0.0", "34.255.255.255", "IE", "AS16509", "Dublin", "53.3498", "-6.2603"},
    {"52.216.0.0", "52.217.255.255", "US", "AS16509", "Ashburn", "39.0438", "-77.4874"},
    {"140.82.112.0", "140.82.127.255", "US", "AS36459", "San Francisco", "37.7749", "-122.4194"},
    {"151.101.0.0", "151.101.255.255", "US", "AS54113", "San Francisco", "37.7749", "-122.4194"},
    {"104.16.0.0", "104.31.255.255", "US", "AS13335", "San Francisco", "37.7749", "-122.4194"},
    {"142.250.0.0", "142.251.255.255", "US", "AS15169", "Mountain View", "37.3861", "-122.0839"},
    {"3.233.144.0", "3.233.159.255", "US", "AS14618", "Ashburn", "39.0438", "-77.4874"},
    {"54.187.174.0", "54.187.175.255", "US", "AS16509", "Boardman", "45.8399", "-119.7006"},
    {"177.0.0.0", "177.31.255.255", "BR", "AS28573", "Sao Paulo", "-23.5505", "-46.6333"},
    {"49.32.0.0", "49.47.255.255", "IN", "AS55836", "Mumbai", "19.0760", "72.8777"},
    {"126.0.0.0", "126.63.255.255", "JP", "AS17676", "Tokyo", "35.6762", "139.6503"},
    {"1.120.0.0", "1.159.255.255", "AU", "AS1221", "Sydney", "-33.8688", "151.2093"},
    {"99.224.0.0", "99.255.255.255", "CA", "AS812", "Toronto", "43.6532", "-79.3832"},
    {"83.32.0.0", "83.63.255.255", "ES", "AS3352", "Madrid", "40.4168", "-3.7038"},
    {"145.128.0.0", "145.135.255.255", "NL", "AS1136", "Rotterdam", "51.9244", "4.4777"},
    {"185.220.100.0", "185.220.103.255", "DE", "AS60729", "Frankfurt", "50.1109", "8.6821"},
    {"45.155.204.0", "45.155.207.255", "RU", "AS206728", "Moscow", "55.7558", "37.6173"},
    {"222.186.0.0", "222.186.255.255", "CN", "AS4134", "Nanjing", "32.0603", "118.7969"},
    {"89.248.160.0", "89.248.175.255", "NL", "AS202425", "Amsterdam", "52.3676", "4.9041"},
    {"113.160.0.0", "113.191.255.255", "VN", "AS45899", "Hanoi", "21.0278", "105.8342"},
    {"128.199.0.0", "128.199.255.255", "SG", "AS14061", "Singapore", "1.3521", "103.8198"},
    {"45.33.0.0", "45.33.127.255", "US", "AS63949", "Fremont", "37.5485", "-121.9886"},
    {"105.112.0.0", "105.127.255.255", "NG", "AS36873", "Lagos", "6.5244", "3.3792"},
    {"51.15.0.0", "51.15.255.255", "FR", "AS12876", "Paris", "48.8566", "2.3522"},
    {"193.142.146.0", "193.142.147.255", "NL", "AS208476", "Amsterdam", "52.3676", "4.9041"},
    {"121.128.0.0", "121.191.255.255", "KR", "AS4766", "Seoul", "37.5665", "126.9780"},
};

constexpr const char* kFirstNames[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
                                       "ivan", "judy", "karl", "laura", "mallory", "nina", "oscar", "peggy",
                                       "quinn", "rupert", "sybil", "trent", "ursula", "victor", "wendy", "yusuf"};
constexpr const char* kLastNames[] = {"martin", "smith", "mueller", "dubois", "jones", "garcia", "rossi",
                                      "nowak", "silva", "kim", "patel", "brown", "schmidt", "lee", "novak",
                                      "moreau", "fischer", "taylor", "walker", "young"};

constexpr const char* kConsoleUa =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";
constexpr const char* kCliUa = "aws-cli/2.15.30 Python/3.11.8 Darwin/23.3.0 exe/x86_64 prompt/off";
constexpr const char* kBotoUa =
    "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#5.10.210 md/arch#x86_64 lang/python#3.11.8 Botocore/1.34.60";
constexpr const char* kGoUa = "aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64";
constexpr const char* kTerraformUa =
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0 aws-sdk-go-v2/1.25.3";

// People work 08:00-18:00 local time with a lunch dip and a little late work.
constexpr int kOfficeHours[24] = {1, 1, 1, 1, 1, 1, 2, 5, 20, 40, 45, 40, 25, 40, 45, 40, 35, 20, 8, 5, 3, 2, 1, 1};
// Customers of the web shop: Europe's evening and America's afternoon.
constexpr int kCustomerHours[24] = {14, 10, 7, 5, 4, 4, 5, 7, 10, 13, 15, 16, 17, 18, 20, 22, 24, 25, 26, 26, 25, 23, 20, 17};

}  // namespace

std::string IpStr(uint32_t ip) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  return buf;
}

uint32_t ParseIp(const char* s) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  std::sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d);
  return (a << 24) | (b << 16) | (c << 8) | d;
}

std::string_view LogTypeName(LogType t) {
  switch (t) {
    case LogType::kCloudTrail: return "cloudtrail";
    case LogType::kVpcFlow: return "vpcflow";
    case LogType::kDns: return "route53resolver";
    case LogType::kAlb: return "alb";
    case LogType::kS3Access: return "s3access";
  }
  return "";
}

SimulatorImpl::SimulatorImpl(const SimulateOptions& o) : opt(o), rng(o.seed) {
  first_day = DayNumber(o.start_ns) * kDay;
  day_start = first_day;
  for (int g = 0; g < kGeoCount; ++g) {
    geo_start[g] = ParseIp(kGeoTable[g].start);
    geo_end[g] = ParseIp(kGeoTable[g].end);
  }
}

uint32_t SimulatorImpl::IpIn(int geo) {
  // Skip .0 and .255 host parts, which real clients rarely use.
  for (;;) {
    uint32_t ip = geo_start[geo] + static_cast<uint32_t>(rng.Below(geo_end[geo] - geo_start[geo] + 1));
    if ((ip & 255) != 0 && (ip & 255) != 255) return ip;
  }
}

std::string SimulatorImpl::GeoCountry(uint32_t ip) const {
  for (int g = 0; g < kGeoCount; ++g)
    if (ip >= geo_start[g] && ip <= geo_end[g]) return kGeoTable[g].country;
  return "";
}

Principal* SimulatorImpl::Add(Principal p) {
  principals.push_back(std::make_unique<Principal>(std::move(p)));
  return principals.back().get();
}

Principal* SimulatorImpl::MakeUser(int account, const std::string& name, uint32_t ip, const std::string& ua) {
  Principal p;
  p.kind = Kind::kIamUser;
  p.account = accounts[account].id;
  p.name = name;
  p.id = "AIDA" + rng.Chars(17, kUpperAlnum);
  p.access_key = "AKIA" + rng.Chars(16, kUpperAlnum);
  p.ip = IpStr(ip);
  p.user_agent = ua;
  return Add(std::move(p));
}

Principal* SimulatorImpl::MakeRole(int account, const std::string& name, const std::string& session,
                                   const std::string& ip, const std::string& ua) {
  Principal p;
  p.kind = Kind::kAssumedRole;
  p.account = accounts[account].id;
  p.name = name;
  p.id = "AROA" + rng.Chars(17, kUpperAlnum);
  p.session = session;
  p.ip = ip;
  p.user_agent = ua;
  return Add(std::move(p));
}

const Instance& SimulatorImpl::InstanceOf(InstanceKind k, size_t n) const {
  const auto& all = InstancesOf(k);
  return *all[n % all.size()];
}

const Instance* SimulatorImpl::InstanceByIp(uint32_t ip) const {
  auto it = by_ip.find(ip);
  return it == by_ip.end() ? nullptr : it->second;
}

void SimulatorImpl::BuildOrg() {
  accounts = {{"493817265012", "prod", "us-east-1", "", 0, 0, ""},
              {"210987654321", "dev", "us-east-1", "", 0, 0, ""},
              {"718204596331", "security", "us-east-1", "", 0, 0, ""}};
  for (size_t a = 0; a < accounts.size(); ++a) {
    accounts[a].vpc = "vpc-0" + rng.Hex(16);
    accounts[a].cidr = ParseIp("10.0.0.0") | static_cast<uint32_t>((10 + 10 * a) << 16);
    accounts[a].nat_ip = IpIn(kGeoAwsUsEast);
    accounts[a].flow_log_id = "fl-0" + rng.Hex(16);
    summary.accounts.push_back(accounts[a].id);
  }

  // Workload instances: a fixed core (so every kind exists) plus more web,
  // api and worker hosts as the organisation grows.
  const size_t n_instances = std::clamp<size_t>(opt.principals / 3, 12, 3000);
  const InstanceKind core[] = {InstanceKind::kWeb,     InstanceKind::kWeb,      InstanceKind::kApi,
                               InstanceKind::kApi,     InstanceKind::kWorker,   InstanceKind::kDb,
                               InstanceKind::kBatch,   InstanceKind::kBastion,  InstanceKind::kCiRunner,
                               InstanceKind::kScanner, InstanceKind::kMonitoring, InstanceKind::kWorker};
  const char* role_names[] = {"app-web", "app-api", "app-worker", "db-host", "batch-etl", "bastion", "ci-runner",
                              "vuln-scanner", "monitoring"};
  std::map<std::pair<int, int>, Principal*> roles;
  for (size_t i = 0; i < n_instances; ++i) {
    Instance in;
    in.kind = i < std::size(core) ? core[i] : std::array{InstanceKind::kWeb, InstanceKind::kApi, InstanceKind::kWorker}[i % 3];
    in.account = in.kind == InstanceKind::kCiRunner ? 1 : in.kind == InstanceKind::kScanner ? 2 : 0;
    in.id = "i-0" + rng.Hex(16);
    in.eni = "eni-0" + rng.Hex(16);
    const uint32_t subnet = (in.kind == InstanceKind::kBastion || in.kind == InstanceKind::kCiRunner) ? 1
                            : in.kind == InstanceKind::kDb                                          ? 3
                                                                                                    : 2;
    in.private_ip = accounts[in.account].cidr | static_cast<uint32_t>((subnet * 16 + i / 240) << 8) |
                    static_cast<uint32_t>(10 + i % 240);
    if (in.kind == InstanceKind::kBastion || in.kind == InstanceKind::kCiRunner || in.kind == InstanceKind::kWeb)
      in.public_ip = IpIn(kGeoAwsUsEast);
    const int k = static_cast<int>(in.kind);
    auto key = std::make_pair(in.account, k);
    if (!roles.count(key)) {
      roles[key] = MakeRole(in.account, role_names[k], in.id, IpStr(in.public_ip ? in.public_ip : accounts[in.account].nat_ip),
                            in.kind == InstanceKind::kCiRunner ? kGoUa : kBotoUa);
    }
    in.role = roles[key];
    instances.push_back(in);
  }
  for (const Instance& in : instances) {
    by_kind[static_cast<int>(in.kind)].push_back(&in);
    by_ip[in.private_ip] = &in;
    if (in.public_ip) {
      by_ip[in.public_ip] = &in;
      exposed.push_back(&in);
    }
  }

  // People.
  const int offices[] = {kGeoLondonOffice, kGeoBerlinOffice, kGeoNewYorkOffice};
  const int homes[] = {kGeoUkHome, kGeoDeHome, kGeoUsEastHome};
  const int tzs[] = {0, 1, -5};
  std::set<std::string> names;
  for (size_t i = 0; i < opt.principals; ++i) {
    User u;
    const int site = static_cast<int>(rng.Weighted(std::array{5, 3, 2}.data(), 3));
    u.office_geo = offices[site];
    u.home_geo = site == 0 && rng.PerMille(300) ? kGeoFrHome : homes[site];
    if (site == 2 && rng.PerMille(400)) u.home_geo = kGeoUsWestHome;
    u.tz = tzs[site] + (u.home_geo == kGeoUsWestHome ? -3 : 0);
    u.office_ip = IpIn(u.office_geo);
    u.home_ip = IpIn(u.home_geo);
    const uint64_t r = rng.Below(100);
    u.kind = r < 8 ? UserKind::kAdmin : r < 68 ? UserKind::kDeveloper : r < 88 ? UserKind::kAnalyst : UserKind::kOps;
    u.account = u.kind == UserKind::kDeveloper && rng.PerMille(450) ? 1 : 0;
    u.console = u.kind != UserKind::kDeveloper || rng.PerMille(400);
    // A few command-line-only contractors have no MFA device: benign, and the
    // reason a rule on MFA alone is noisy.
    u.mfa = u.console || rng.PerMille(900);
    std::string name =
        std::string(kFirstNames[rng.Below(std::size(kFirstNames))]) + "." + kLastNames[rng.Below(std::size(kLastNames))];
    // Namesakes get a number, as directories do (grace.nowak2).
    for (int k = 2; names.count(name); ++k) name = name.substr(0, name.find_last_not_of("0123456789") + 1) + std::to_string(k);
    names.insert(name);
    u.p = MakeUser(u.account, name, u.office_ip, u.console ? kConsoleUa : kCliUa);
    // Each person has a working set of calls they make again and again.
    const int n_apis = 3 + static_cast<int>(rng.Below(u.kind == UserKind::kAdmin ? 10 : 6));
    std::set<int> apis;
    while (static_cast<int>(apis.size()) < n_apis) apis.insert(static_cast<int>(rng.Below(kRoutineReadApis)));
    u.apis.assign(apis.begin(), apis.end());
    // Some people travel, and keep signing in with MFA from where they are.
    if (opt.days >= 3 && rng.PerMille(60)) {
      u.travel_day = 1 + static_cast<int>(rng.Below(opt.days - 1));
      u.travel_geo = std::array{kGeoCustEs, kGeoCustJp, kGeoCustCa, kGeoKrIsp}[rng.Below(4)];
      u.travel_ip = IpIn(u.travel_geo);
    }
    users.push_back(u);
  }

  svc_ci = MakeUser(1, "svc-ci", InstanceOf(InstanceKind::kCiRunner).public_ip, kGoUa);
  svc_backup = MakeUser(0, "svc-backup", accounts[0].nat_ip, kBotoUa);
  svc_terraform = MakeUser(0, "svc-terraform", InstanceOf(InstanceKind::kCiRunner).public_ip, kTerraformUa);
  deploy = MakeRole(0, "deploy", "ci-" + rng.Hex(8), IpStr(InstanceOf(InstanceKind::kCiRunner).public_ip), kGoUa);
  lambda_ingest = MakeRole(0, "lambda-ingest", "ingest", IpStr(accounts[0].nat_ip),
                           "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 exec-env/AWS_Lambda_python3.12 lang/python#3.12.2");
  {
    Principal p;
    p.kind = Kind::kAssumedRole;
    p.account = accounts[0].id;
    p.name = "AWSServiceRoleForConfig";
    p.id = "AROA" + rng.Chars(17, kUpperAlnum);
    p.session = "AWSConfig-Describe";
    p.invoked_by = "config.amazonaws.com";
    p.ip = "config.amazonaws.com";
    p.user_agent = "config.amazonaws.com";
    config_role = Add(std::move(p));
  }
  for (const char* svc : {"ec2.amazonaws.com", "lambda.amazonaws.com", "autoscaling.amazonaws.com",
                          "elasticloadbalancing.amazonaws.com", "cloudtrail.amazonaws.com", "ssm.amazonaws.com",
                          "access-analyzer.amazonaws.com", "trustedadvisor.amazonaws.com"}) {
    Principal p;
    p.kind = Kind::kAwsService;
    p.account = accounts[0].id;
    p.name = svc;
    p.invoked_by = svc;
    p.ip = svc;
    p.user_agent = svc;
    services.push_back(Add(std::move(p)));
  }
  for (int a = 0; a < 3; ++a) {
    Principal p;
    p.kind = Kind::kRoot;
    p.account = accounts[a].id;
    p.id = accounts[a].id;
    p.ip = IpStr(IpIn(kGeoLondonOffice));
    p.user_agent = kConsoleUa;
    root[a] = Add(std::move(p));
  }

  buckets = {{"acme-prod-uploads", 0, false}, {"acme-prod-reports", 0, false}, {"acme-data-lake", 0, false},
             {"acme-prod-backups", 0, false}, {"acme-static-assets", 0, true},  {"acme-dev-scratch", 1, false}};
  secrets = {"prod/db/orders-password", "prod/api/payments-key", "prod/api/mail-token", "prod/worker/queue-creds",
             "prod/web/session-secret", "prod/batch/warehouse-dsn", "prod/api/jwt-signing-key",
             "prod/monitoring/api-key", "prod/ci/registry-token", "prod/db/replica-password",
             "prod/api/maps-key", "prod/partner/sftp-key"};
  kms_key = "arn:aws:kms:us-east-1:" + accounts[0].id + ":key/" + rng.Uuid();
  alb_name = "app/prod-web/" + rng.Hex(16);
  alb_public_ip = IpIn(kGeoAwsUsEast);
  alb_private_ip[0] = accounts[0].cidr | (1u << 8) | 200;
  alb_private_ip[1] = accounts[0].cidr | (1u << 8) | 201;
  alb_tg_arn = "arn:aws:elasticloadbalancing:us-east-1:" + accounts[0].id + ":targetgroup/prod-web/" + rng.Hex(16);
  trail_arn = "arn:aws:cloudtrail:us-east-1:" + accounts[0].id + ":trail/org-trail";
  ebs_snapshot = "snap-0" + rng.Hex(16);

  saas = {{"api.github.com", IpIn(kGeoGithub), 443},
          {"codeload.github.com", IpIn(kGeoGithub), 443},
          {"pypi.org", IpIn(kGeoFastly), 443},
          {"files.pythonhosted.org", IpIn(kGeoFastly), 443},
          {"registry.npmjs.org", IpIn(kGeoCloudflare), 443},
          {"http-intake.logs.datadoghq.com", IpIn(kGeoMonitoringSaas), 443},
          {"api.stripe.com", IpIn(kGeoPaymentsSaas), 443},
          {"www.googleapis.com", IpIn(kGeoGoogle), 443},
          {"fonts.gstatic.com", IpIn(kGeoGoogle), 443},
          {"s3.us-east-1.amazonaws.com", IpIn(kGeoS3UsEast), 443},
          {"sts.us-east-1.amazonaws.com", IpIn(kGeoAwsUsEast2), 443},
          {"secretsmanager.us-east-1.amazonaws.com", IpIn(kGeoAwsUsEast2), 443},
          {"ssm.us-east-1.amazonaws.com", IpIn(kGeoAwsUsEast2), 443},
          {"ntp.ubuntu.com", IpIn(kGeoFastly), 123}};

  // The intel feeds: what the scenarios contact among many other entries.
  for (int i = 0; i < 40; ++i) {
    intel_ip_values.push_back(IpIn(std::array{kGeoRuHosting, kGeoNlBulletproof, kGeoVnIsp, kGeoCnTelecom}[i % 4]));
    intel_ips.push_back(IpStr(intel_ip_values.back()));
  }
  std::sort(intel_ip_values.begin(), intel_ip_values.end());
  for (const char* d : {"xmr-eu1.nanopool.org", "pool.supportxmr.com", "gulf.moneroocean.stream", "xmr.2miners.com",
                        "update-cdn-telemetry.com", "auth-microsoft-verify.net", "cdn-jsdelivr-stats.org"})
    intel_domains.push_back(d);
}

// --- time ------------------------------------------------------------------

bool SimulatorImpl::Weekend() const {
  const int64_t dow = (DayNumber(day_start) + 4) % 7;  // 1970-01-01 was a Thursday; 0 = Sunday
  return dow == 0 || dow == 6;
}

int64_t SimulatorImpl::AnyTime() { return day_start + static_cast<int64_t>(rng.Below(86400 * 1000)) * 1'000'000; }

int64_t SimulatorImpl::OfficeTime(int tz) {
  const int local_hour = static_cast<int>(rng.Weighted(kOfficeHours, 24));
  const int hour = ((local_hour - tz) % 24 + 24) % 24;
  return day_start + hour * kHour + static_cast<int64_t>(rng.Below(3600 * 1000)) * 1'000'000;
}

int64_t SimulatorImpl::NightTime() {
  return day_start + kHour + static_cast<int64_t>(rng.Below(3 * 3600 * 1000)) * 1'000'000;
}

int64_t SimulatorImpl::CustomerTime() {
  const int hour = static_cast<int>(rng.Weighted(kCustomerHours, 24));
  return day_start + hour * kHour + static_cast<int64_t>(rng.Below(3600 * 1000)) * 1'000'000;
}

// --- emission --------------------------------------------------------------

uint32_t SimulatorImpl::Stream(LogType t, const std::string& account, const std::string& region,
                               const std::string& resource) {
  std::string key = std::string(LogTypeName(t)) + "|" + account + "|" + region + "|" + resource;
  auto it = stream_index.find(key);
  if (it != stream_index.end()) return it->second;
  StreamInfo s{t, account, region, resource, rng.Chars(16, kUpperAlnum)};
  streams.push_back(std::move(s));
  const auto id = static_cast<uint32_t>(streams.size() - 1);
  stream_index.emplace(std::move(key), id);
  return id;
}

void SimulatorImpl::Push(LogType t, uint32_t stream, int64_t time_ns, std::string text, int64_t end_ns) {
  SimRecord r;
  r.type = t;
  r.stream = stream;
  r.time_ns = time_ns;
  r.seq = seq++;
  r.text = std::move(text);
  records.push_back(std::move(r));
  ++summary.records_by_type[static_cast<int>(t)];
  if (label_ >= 0) {
    AttackLabel& l = summary.labels[label_];
    const int64_t end = std::max(time_ns, end_ns);
    if (l.records == 0 || time_ns < l.start_ns) l.start_ns = time_ns;
    l.end_ns = std::max(l.end_ns, end);
    ++l.records;
    std::string name(LogTypeName(t));
    if (std::find(l.log_types.begin(), l.log_types.end(), name) == l.log_types.end()) l.log_types.push_back(name);
    ++summary.attack_records;
  } else if (Weekend()) {
    ++summary.weekend_records;
  } else {
    ++summary.weekday_records;
  }
}

std::string SimulatorImpl::Ct(const Call& c) {
  std::string event_id;
  std::string json = RenderCloudTrail(c, rng, &event_id);
  const std::string& account = c.account.empty() ? c.who->account : c.account;
  Push(LogType::kCloudTrail, Stream(LogType::kCloudTrail, account, c.region, ""), c.time_ns, std::move(json));
  return event_id;
}

void SimulatorImpl::FlowRecord(const Instance& on, uint32_t src, uint32_t dst, int sport, int dport, int proto,
                               int64_t packets, int64_t bytes, int64_t start_ns, int64_t seconds, bool accept) {
  const Account& a = accounts[on.account];
  const int64_t start = start_ns / kSecond;
  char buf[256];
  std::snprintf(buf, sizeof buf, "2 %s %s %s %s %d %d %d %lld %lld %lld %lld %s OK", a.id.c_str(), on.eni.c_str(),
                IpStr(src).c_str(), IpStr(dst).c_str(), sport, dport, proto, static_cast<long long>(packets),
                static_cast<long long>(bytes), static_cast<long long>(start), static_cast<long long>(start + seconds),
                accept ? "ACCEPT" : "REJECT");
  Push(LogType::kVpcFlow, Stream(LogType::kVpcFlow, a.id, a.region, a.flow_log_id), start * kSecond, buf,
       (start + seconds) * kSecond);
}

void SimulatorImpl::Connection(uint32_t src, uint32_t dst, int sport, int dport, int proto, int64_t packets,
                               int64_t bytes, int64_t start_ns, int64_t seconds, bool accept) {
  // Flow logs record the public address of an instance as its private one.
  const Instance* from = InstanceByIp(src);
  const Instance* to = InstanceByIp(dst);
  const uint32_t s = from ? from->private_ip : src;
  const uint32_t d = to ? to->private_ip : dst;
  const int64_t back_packets = accept ? std::max<int64_t>(1, packets * 3 / 4) : 0;
  // Replies to a bulk upload are acknowledgements; to a request, content.
  const int64_t back_bytes = !accept ? 0 : packets > 10000 ? back_packets * 52 : std::max<int64_t>(40, bytes / 3);
  for (const Instance* on : {from, to}) {
    if (!on) continue;
    FlowRecord(*on, s, d, sport, dport, proto, packets, bytes, start_ns, seconds, accept);
    if (accept) FlowRecord(*on, d, s, dport, sport, proto, back_packets, back_bytes, start_ns, seconds, true);
    if (from == to) break;
  }
}

void SimulatorImpl::DnsQuery(const Instance& from, const std::string& name, const std::string& type,
                             const std::string& rcode, const std::vector<std::pair<std::string, std::string>>& answers,
                             int64_t t) {
  const Account& a = accounts[from.account];
  std::string ans = "[";
  for (size_t i = 0; i < answers.size(); ++i) {
    if (i) ans += ",";
    ans += Obj({{"Rdata", Q(answers[i].second)}, {"Type", Q(answers[i].first)}, {"Class", Q("IN")}});
  }
  ans += "]";
  std::string json = Obj({{"version", Q("1.100000")},
                          {"account_id", Q(a.id)},
                          {"region", Q(a.region)},
                          {"vpc_id", Q(a.vpc)},
                          {"query_timestamp", Q(FormatRfc3339(t - t % kSecond))},
                          {"query_name", Q(name + ".")},
                          {"query_type", Q(type)},
                          {"query_class", Q("IN")},
                          {"rcode", Q(rcode)},
                          {"answers", ans},
                          {"srcaddr", Q(IpStr(from.private_ip))},
                          {"srcport", Q(std::to_string(EphemeralPort()))},
                          {"transport", Q("UDP")},
                          {"srcids", Obj({{"instance", Q(from.id)}})}});
  Push(LogType::kDns, Stream(LogType::kDns, a.id, a.region, a.vpc), t - t % kSecond, std::move(json));
}

void SimulatorImpl::AlbRequest(int64_t t, uint32_t client_ip, const std::string& method, const std::string& path,
                               int status, int64_t sent_bytes, const std::string& ua) {
  const Account& a = accounts[0];
  const auto& webs = InstancesOf(InstanceKind::kWeb);
  const Instance& target = *webs[rng.Below(webs.size())];
  const std::string target_ep = IpStr(target.private_ip) + ":8080";
  const int64_t created = t - static_cast<int64_t>(rng.Below(40)) * 1'000'000;
  char times[64];
  const double req = 0.001 * static_cast<double>(rng.Below(3));
  const double tgt = 0.001 * static_cast<double>(2 + rng.Below(status >= 500 ? 900 : 120));
  std::snprintf(times, sizeof times, "%.3f %.3f %.3f", req, tgt, 0.000);
  char trace[64];
  std::snprintf(trace, sizeof trace, "Root=1-%08llx-%s", static_cast<unsigned long long>(t / kSecond),
                rng.Hex(24).c_str());
  const std::string status_s = std::to_string(status);
  std::string line;
  line.reserve(700);
  line += "https ";
  line += FormatRfc3339(t).substr(0, 19) + "." + std::to_string(1000000 + (t / 1000) % 1000000).substr(1) + "Z ";
  line += alb_name + " " + IpStr(client_ip) + ":" + std::to_string(EphemeralPort()) + " " + target_ep + " ";
  line += std::string(times) + " " + status_s + " " + status_s + " " + std::to_string(method == "POST" ? 400 + rng.Below(3000) : 0) +
          " " + std::to_string(sent_bytes) + " ";
  line += "\"" + method + " https://shop.acme-example.com:443" + path + " HTTP/1.1\" \"" + ua + "\" ";
  line += "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 " + alb_tg_arn + " \"" + trace + "\" \"shop.acme-example.com\" ";
  line += "\"arn:aws:acm:us-east-1:" + a.id + ":certificate/3f2a7c1e-5b4d-4e8f-9a61-2c7d8e9f0a1b\" 0 ";
  line += FormatRfc3339(created).substr(0, 19) + "." + std::to_string(1000000 + (created / 1000) % 1000000).substr(1) + "Z ";
  line += "\"forward\" \"-\" \"-\" \"" + target_ep + "\" \"" + status_s + "\" \"-\" \"-\"";
  Push(LogType::kAlb, Stream(LogType::kAlb, a.id, a.region, alb_name), t, std::move(line));
}

void SimulatorImpl::S3Access(const Bucket& b, int64_t t, uint32_t remote_ip, const std::string& requester,
                             const std::string& operation, const std::string& key, const std::string& method,
                             int status, const std::string& error, int64_t bytes, const std::string& ua) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const Account& a = accounts[b.account];
  CivilDate c = CivilFromDays(DayNumber(t));
  const int64_t secs = (t - DayNumber(t) * kDay) / kSecond;
  char when[48];
  std::snprintf(when, sizeof when, "[%02d/%s/%04d:%02d:%02d:%02d +0000]", c.day, kMonths[c.month - 1], c.year,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  const std::string owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
  const std::string host = b.name + ".s3.us-east-1.amazonaws.com";
  const std::string uri = method + " /" + (key == "-" ? "" : key) + " HTTP/1.1";
  const bool got = method == "GET" && status == 200;
  std::string line;
  if (remote_ip == 0) {
    // Lifecycle actions are S3's own: no client, request or status.
    line = owner + " " + b.name + " " + when + " - AmazonS3 " + rng.Chars(16, "0123456789ABCDEF") + " " + operation + " " +
           key + " \"-\" - - - " + std::to_string(bytes) + " - - \"-\" \"-\" " + rng.Chars(32, kAlnum) + " " +
           rng.Chars(64, kAlnum) + " - - - - - - -";
    Push(LogType::kS3Access, Stream(LogType::kS3Access, a.id, a.region, b.name), t - t % kSecond, std::move(line));
    return;
  }
  line.reserve(600);
  line += owner + " " + b.name + " " + when + " " + IpStr(remote_ip) + " " + requester + " " + rng.Chars(16, "0123456789ABCDEF") +
          " " + operation + " " + key + " \"" + uri + "\" " + std::to_string(status) + " " + (error.empty() ? "-" : error) +
          " " + (got ? std::to_string(bytes) : "-") + " " + (key == "-" ? "-" : std::to_string(bytes)) + " " +
          std::to_string(5 + rng.Below(120)) + " " + std::to_string(2 + rng.Below(60)) + " \"-\" \"" + ua + "\" - " +
          rng.Chars(76, kAlnum) + "= SigV4 ECDHE-RSA-AES128-GCM-SHA256 " +
          (requester == "-" ? "-" : "AuthHeader") + " " + host + " TLSv1.2 - -";
  Push(LogType::kS3Access, Stream(LogType::kS3Access, a.id, a.region, b.name), t - t % kSecond, std::move(line));
}

// --- routine ---------------------------------------------------------------

void SimulatorImpl::ConsoleSignIn(User& u, int64_t t, uint32_t ip) {
  Call c = ConsoleLoginCall(u.p, t, /*success=*/true, u.mfa);
  c.ip = IpStr(ip);
  Ct(c);
}

void SimulatorImpl::HumanApi() {
  User& u = users[rng.Below(users.size())];
  const ReadCall& api = ReadCatalogue()[u.apis[rng.Below(u.apis.size())]];
  Call c;
  c.who = u.p;
  c.time_ns = OfficeTime(u.tz);
  c.source = api.source;
  c.name = api.name;
  c.request = api.request;
  c.region = rng.PerMille(850) ? "us-east-1" : "eu-west-1";
  const bool travelling = u.travel_day == day_index;
  const bool home = !travelling && (Weekend() || rng.PerMille(350));
  c.ip = IpStr(travelling ? u.travel_ip : home ? u.home_ip : u.office_ip);
  c.console = u.console && rng.PerMille(600);
  c.mfa_session = u.mfa;
  if (!c.console) c.user_agent = std::string(kCliUa) + " command/" + api.name;
  Ct(c);
}

void SimulatorImpl::AdminChange() {
  // Legitimate identity administration: an admin creates a user for a new
  // starter, gives them a key and a managed policy, or rotates a key.
  std::vector<User*> admins;
  for (User& u : users)
    if (u.kind == UserKind::kAdmin) admins.push_back(&u);
  if (admins.empty()) return;
  User& a = *admins[rng.Below(admins.size())];
  Call c;
  c.who = a.p;
  c.time_ns = OfficeTime(a.tz);
  c.source = "iam.amazonaws.com";
  c.read_only = false;
  c.console = a.console;
  c.ip = IpStr(a.office_ip);
  const std::string starter = std::string(kFirstNames[rng.Below(std::size(kFirstNames))]) + ".new" + rng.Hex(3);
  const std::string arn = "arn:aws:iam::" + a.p->account + ":user/" + starter;
  c.name = "CreateUser";
  c.request = Obj({{"userName", Q(starter)}, {"tags", "[]"}});
  c.response = Obj({{"user", Obj({{"path", Q("/")}, {"userName", Q(starter)}, {"userId", Q("AIDA" + rng.Chars(17, kUpperAlnum))},
                                  {"arn", Q(arn)}, {"createDate", Q(ResponseDate(c.time_ns))}})}});
  Ct(c);
  c.time_ns += (20 + static_cast<int64_t>(rng.Below(90))) * kSecond;
  c.name = "AddUserToGroup";
  c.request = Obj({{"groupName", Q(rng.PerMille(500) ? "developers" : "analysts")}, {"userName", Q(starter)}});
  c.response = "null";
  Ct(c);
  c.time_ns += (20 + static_cast<int64_t>(rng.Below(90))) * kSecond;
  c.name = "CreateLoginProfile";
  c.request = Obj({{"userName", Q(starter)}, {"passwordResetRequired", Bool(true)}});
  Ct(c);
}

void SimulatorImpl::WorkloadApi() {
  // Instance roles and Lambda calling AWS around the clock.
  const Instance& in = instances[rng.Below(instances.size())];
  Call c;
  c.who = in.role;
  c.time_ns = AnyTime();
  c.ip = IpStr(in.public_ip ? in.public_ip : accounts[in.account].nat_ip);
  const uint64_t r = rng.Below(100);
  if (r < 35) {
    c.source = "kms.amazonaws.com";
    c.name = rng.PerMille(600) ? "Decrypt" : "GenerateDataKey";
    c.request = Obj({{"keyId", Q(kms_key)}, {"encryptionAlgorithm", Q("SYMMETRIC_DEFAULT")}});
    c.resources = Arr({Obj({{"accountId", Q(accounts[0].id)}, {"type", Q("AWS::KMS::Key")}, {"ARN", Q(kms_key)}})});
  } else if (r < 55) {
    c.source = "ssm.amazonaws.com";
    c.name = rng.PerMille(700) ? "UpdateInstanceInformation" : "GetParameter";
    c.read_only = c.name == "GetParameter";
    c.request = c.read_only ? Obj({{"name", Q("/prod/" + in.role->name + "/endpoint")}, {"withDecryption", Bool(false)}})
                            : Obj({{"instanceId", Q(in.id)}, {"agentVersion", Q("3.3.131.0")}, {"platformType", Q("Linux")}});
    c.user_agent = "aws-sdk-go/1.44.260 (go1.20.11; linux; amd64) amazon-ssm-agent/3.3.131.0";
  } else if (r < 65) {
    // Each application reads its own secret a few times a day.
    c.source = "secretsmanager.amazonaws.com";
    c.name = "GetSecretValue";
    const std::string& secret = secrets[static_cast<size_t>(in.kind) % secrets.size()];
    c.request = Obj({{"secretId", Q(secret)}});
  } else if (r < 80) {
    c.source = "sts.amazonaws.com";
    c.name = "GetCallerIdentity";
  } else {
    c.source = "logs.amazonaws.com";
    c.name = "PutLogEvents";
    c.read_only = false;
    c.request = Obj({{"logGroupName", Q("/app/" + in.role->name)}, {"logStreamName", Q(in.id)}});
  }
  // The role is shared by every host of a kind; each host's session is its
  // instance id and its calls leave from its own address.
  Principal p = *in.role;
  p.session = in.id;
  p.ip = c.ip;
  c.who = &p;
  Ct(c);
}

void SimulatorImpl::ServiceNoise() {
  const Principal* svc = services[rng.Below(services.size())];
  Call c;
  c.who = svc;
  c.time_ns = AnyTime();
  c.account = accounts[rng.Below(3)].id;
  c.request_id = true;
  if (svc->name == "ec2.amazonaws.com" || svc->name == "lambda.amazonaws.com" || rng.PerMille(400)) {
    const Instance& in = instances[rng.Below(instances.size())];
    const bool lambda = svc->name == "lambda.amazonaws.com";
    const std::string role_arn = lambda ? lambda_ingest->RoleArn() : in.role->RoleArn();
    c.account = lambda ? accounts[0].id : accounts[in.account].id;
    c.source = "sts.amazonaws.com";
    c.name = "AssumeRole";
    c.request = Obj({{"roleArn", Q(role_arn)}, {"roleSessionName", Q(lambda ? "ingest" : in.id)}});
    c.response = Obj({{"credentials", Obj({{"accessKeyId", Q("ASIA" + rng.Chars(16, kUpperAlnum))},
                                           {"sessionToken", Q(rng.Chars(96, kAlnum))},
                                           {"expiration", Q(ResponseDate(c.time_ns + 6 * kHour))}})}});
    c.resources = Arr({Obj({{"accountId", Q(c.account)}, {"type", Q("AWS::IAM::Role")}, {"ARN", Q(role_arn)}})});
  } else if (svc->name == "autoscaling.amazonaws.com") {
    c.source = "ec2.amazonaws.com";
    c.name = "DescribeInstanceStatus";
  } else if (svc->name == "elasticloadbalancing.amazonaws.com") {
    c.source = "ec2.amazonaws.com";
    c.name = "DescribeNetworkInterfaces";
  } else if (svc->name == "cloudtrail.amazonaws.com") {
    c.source = "s3.amazonaws.com";
    c.name = "GetBucketAcl";
    c.request = Obj({{"bucketName", Q("acme-org-cloudtrail")}, {"Host", Q("acme-org-cloudtrail.s3.amazonaws.com")}, {"acl", Q("")}});
  } else if (svc->name == "ssm.amazonaws.com") {
    c.source = "ssm.amazonaws.com";
    c.name = "ListInstanceAssociations";
  } else if (svc->name == "access-analyzer.amazonaws.com") {
    c.source = "iam.amazonaws.com";
    c.name = "GetRole";
    c.request = Obj({{"roleName", Q(instances[rng.Below(instances.size())].role->name)}});
  } else {
    c.source = "support.amazonaws.com";
    c.name = "DescribeTrustedAdvisorChecks";
  }
  if (c.source == "iam.amazonaws.com") c.region = "us-east-1";
  Ct(c);
  // The Config recorder's service-linked role describes the estate too.
  if (rng.PerMille(500)) {
    Call d;
    d.who = config_role;
    d.time_ns = AnyTime();
    d.source = "ec2.amazonaws.com";
    d.name = std::array{"DescribeInstances", "DescribeSecurityGroups", "DescribeNetworkInterfaces", "DescribeVpcs"}[rng.Below(4)];
    d.request = R"({"filterSet":{}})";
    Ct(d);
  }
}

void SimulatorImpl::ScannerSweep() {
  // The inventory scanner (security account) sweeps every account every
  // hour with a burst of List/Describe calls: the benign twin of a
  // discovery burst, steady enough to be its own baseline.
  const Instance& scanner = InstanceOf(InstanceKind::kScanner);
  const int hour = static_cast<int>(rng.Below(24));
  int64_t t = day_start + hour * kHour + static_cast<int64_t>(rng.Below(300)) * kSecond;
  const ReadCall& api = ReadCatalogue()[rng.Below(kRoutineReadApis)];
  Call c;
  c.who = scanner.role;
  c.time_ns = t + static_cast<int64_t>(rng.Below(600 * 1000)) * 1'000'000;
  c.source = api.source;
  c.name = api.name;
  c.request = api.request;
  Ct(c);
}

void SimulatorImpl::BackupNight() {
  // Nightly backups: snapshots and copies, 01:00-04:00.
  Call c;
  c.who = svc_backup;
  c.time_ns = NightTime();
  c.source = "ec2.amazonaws.com";
  c.read_only = false;
  const uint64_t r = rng.Below(3);
  if (r == 0) {
    c.name = "CreateSnapshot";
    c.request = Obj({{"volumeId", Q("vol-0" + rng.Hex(16))}, {"description", Q("nightly backup")}});
  } else if (r == 1) {
    c.name = "DescribeSnapshots";
    c.read_only = true;
    c.request = R"({"ownersSet":{"items":[{"owner":"self"}]}})";
  } else {
    c.name = "DeleteSnapshot";
    c.request = Obj({{"snapshotId", Q("snap-0" + rng.Hex(16))}});
  }
  Ct(c);
}

void SimulatorImpl::CiDeploy() {
  Call c;
  const User& u = users[rng.Below(users.size())];
  c.time_ns = OfficeTime(u.tz);
  if (rng.PerMille(300)) {
    c.who = svc_ci;
    c.source = "sts.amazonaws.com";
    c.name = "AssumeRole";
    c.request = Obj({{"roleArn", Q(deploy->RoleArn())}, {"roleSessionName", Q(deploy->session)}, {"durationSeconds", Num(3600)}});
    c.response = Obj({{"credentials", Obj({{"accessKeyId", Q("ASIA" + rng.Chars(16, kUpperAlnum))},
                                           {"sessionToken", Q(rng.Chars(96, kAlnum))},
                                           {"expiration", Q(ResponseDate(c.time_ns + kHour))}})},
                      {"assumedRoleUser", Obj({{"assumedRoleId", Q(deploy->id + ":" + deploy->session)}, {"arn", Q(deploy->Arn())}})}});
    Ct(c);
    return;
  }
  if (rng.PerMille(150)) {
    // Terraform plans read a lot and, now and then, change IAM: a policy
    // attached by automation is routine here.
    c.who = svc_terraform;
    c.source = "iam.amazonaws.com";
    c.name = rng.PerMille(900) ? "GetRolePolicy" : "AttachRolePolicy";
    c.read_only = c.name == "GetRolePolicy";
    c.request = Obj({{"roleName", Q("app-worker")}, {"policyArn", c.read_only ? "" : Q("arn:aws:iam::aws:policy/AmazonSQSFullAccess")},
                     {"policyName", c.read_only ? Q("worker-inline") : ""}});
    Ct(c);
    return;
  }
  c.who = deploy;
  const uint64_t r = rng.Below(4);
  c.source = r == 0 ? "ecr.amazonaws.com" : r == 1 ? "ecs.amazonaws.com" : r == 2 ? "cloudformation.amazonaws.com"
                                                                                    : "lambda.amazonaws.com";
  c.name = r == 0 ? "GetAuthorizationToken" : r == 1 ? "UpdateService" : r == 2 ? "DescribeStackEvents"
                                                                                 : "UpdateFunctionCode20150331v2";
  c.read_only = r == 0 || r == 2;
  if (r == 1) c.request = Obj({{"cluster", Q("prod")}, {"service", Q("api")}, {"taskDefinition", Q("api:" + Num(100 + rng.Below(50)))}});
  if (r == 3) c.request = Obj({{"functionName", Q("ingest")}, {"s3Bucket", Q("acme-prod-artifacts")}, {"publish", Bool(true)}});
  Ct(c);
}

void SimulatorImpl::BenignError() {
  Call c;
  const User& u = users[rng.Below(users.size())];
  c.who = u.p;
  c.time_ns = OfficeTime(u.tz);
  c.ip = IpStr(u.office_ip);
  const uint64_t r = rng.Below(3);
  if (r == 0) {
    c.source = "iam.amazonaws.com";
    c.name = "GetUser";
    c.request = Obj({{"userName", Q("svc-legacy")}});
    c.error_code = "NoSuchEntityException";
    c.error_message = "The user with name svc-legacy cannot be found.";
  } else if (r == 1) {
    c.source = "s3.amazonaws.com";
    c.name = "GetBucketPolicy";
    c.request = Obj({{"bucketName", Q("acme-prod-uploads")}, {"Host", Q("acme-prod-uploads.s3.amazonaws.com")}, {"policy", Q("")}});
    c.error_code = "NoSuchBucketPolicy";
    c.error_message = "The bucket policy does not exist";
  } else {
    c.source = "ec2.amazonaws.com";
    c.name = "DescribeInstances";
    c.request = R"({"instancesSet":{},"filterSet":{}})";
    c.error_code = "Client.RequestLimitExceeded";
    c.error_message = "Request limit exceeded.";
  }
  Ct(c);
}

void SimulatorImpl::AppFlows() {
  // East-west application traffic: web -> api -> db, workers -> db, plus
  // calls out to SaaS and AWS endpoints through the NAT gateway.
  const int64_t t = rng.PerMille(600) ? CustomerTime() : AnyTime();
  const uint64_t r = rng.Below(100);
  const auto& webs = InstancesOf(InstanceKind::kWeb);
  const auto& apis = InstancesOf(InstanceKind::kApi);
  const auto& workers = InstancesOf(InstanceKind::kWorker);
  const Instance& db = InstanceOf(InstanceKind::kDb);
  const int64_t secs = 1 + static_cast<int64_t>(rng.Below(59));
  if (r < 35) {
    const Instance& w = *webs[rng.Below(webs.size())];
    const Instance& a = *apis[rng.Below(apis.size())];
    const int64_t p = 4 + static_cast<int64_t>(rng.Below(40));
    Connection(w.private_ip, a.private_ip, EphemeralPort(), 8443, 6, p, p * 420, t, secs, true);
  } else if (r < 60) {
    const Instance& a = rng.PerMille(600) ? *apis[rng.Below(apis.size())] : *workers[rng.Below(workers.size())];
    const int64_t p = 6 + static_cast<int64_t>(rng.Below(80));
    Connection(a.private_ip, db.private_ip, EphemeralPort(), 5432, 6, p, p * 310, t, secs, true);
  } else if (r < 75) {
    const Instance& a = *workers[rng.Below(workers.size())];
    const External& e = saas[rng.Below(9)];
    const int64_t p = 8 + static_cast<int64_t>(rng.Below(60));
    Connection(a.private_ip, e.ip, EphemeralPort(), e.port, 6, p, p * 600, t, secs, true);
  } else if (r < 92) {
    const Instance& a = instances[rng.Below(instances.size())];
    const External& e = saas[9 + rng.Below(4)];  // AWS endpoints
    const int64_t p = 6 + static_cast<int64_t>(rng.Below(30));
    Connection(a.private_ip, e.ip, EphemeralPort(), 443, 6, p, p * 700, t, secs, true);
  } else {
    // ALB nodes to their targets, health checks included.
    const Instance& w = *webs[rng.Below(webs.size())];
    const int64_t p = 3 + static_cast<int64_t>(rng.Below(30));
    Connection(alb_private_ip[rng.Below(2)], w.private_ip, EphemeralPort(), 8080, 6, p, p * 900, t, secs, true);
  }
}

void SimulatorImpl::InternetNoise() {
  // Background radiation: the Internet knocks on every public address,
  // mostly on ports the security groups keep shut.
  const Instance& target = *exposed[rng.Below(exposed.size())];
  const int src_geo = std::array{kGeoNlHosting, kGeoCnTelecom, kGeoUsVps, kGeoSgCloud, kGeoRuHosting, kGeoCustBr}[rng.Below(6)];
  const int port = std::array{23, 445, 3389, 22, 80, 8080, 5900, 6379, 1433, 2375, 9200, 81}[rng.Below(12)];
  const bool open = (port == 22 && target.kind == InstanceKind::kBastion) || (port == 80 && target.kind == InstanceKind::kWeb);
  // The feed's addresses are the scenarios' (and ones that never appear):
  // benign background traffic never comes from one.
  uint32_t src = IpIn(src_geo);
  while (std::binary_search(intel_ip_values.begin(), intel_ip_values.end(), src)) src = IpIn(src_geo);
  Connection(src, target.public_ip, static_cast<int>(rng.Between(1024, 65535)), port, 6, 1 + rng.Below(2), 44 + 40 * rng.Below(2),
             AnyTime(), 1 + static_cast<int64_t>(rng.Below(5)), open);
}

void SimulatorImpl::BastionSsh() {
  // Ops people reach the bastion over SSH from the office or home, in hours.
  User* u = &users[rng.Below(users.size())];
  for (int tries = 0; tries < 8 && u->kind != UserKind::kOps && u->kind != UserKind::kAdmin; ++tries)
    u = &users[rng.Below(users.size())];
  const Instance& bastion = InstanceOf(InstanceKind::kBastion);
  const int64_t t = OfficeTime(u->tz);
  const int64_t p = 40 + static_cast<int64_t>(rng.Below(4000));
  Connection(Weekend() ? u->home_ip : u->office_ip, bastion.public_ip, EphemeralPort(), 22, 6, p, p * 90, t,
             30 + static_cast<int64_t>(rng.Below(570)), true);
  // And on to a host inside.
  const Instance& inner = instances[rng.Below(instances.size())];
  if (&inner != &bastion) Connection(bastion.private_ip, inner.private_ip, EphemeralPort(), 22, 6, p / 2, p * 80, t + 5 * kSecond, 60, true);
}

void SimulatorImpl::OwnScannerNight() {
  // The security team's vulnerability scanner sweeps the production subnets
  // every night: many ports on many hosts, the benign twin of a port scan.
  const Instance& scanner = InstanceOf(InstanceKind::kScanner);
  const Instance& target = instances[rng.Below(instances.size())];
  if (target.account == scanner.account) return;
  const int port = std::array{21, 22, 23, 25, 80, 110, 135, 139, 143, 443, 445, 993, 1433, 3306, 3389, 5432, 5900,
                              6379, 8080, 8443, 9200, 11211, 27017}[rng.Below(23)];
  const bool open = port == 22 || (port == 8080 && target.kind == InstanceKind::kWeb) ||
                    (port == 5432 && target.kind == InstanceKind::kDb) || (port == 8443 && target.kind == InstanceKind::kApi);
  Connection(scanner.private_ip, target.private_ip, static_cast<int>(rng.Between(40000, 60000)), port, 6, 1, 44,
             day_start + 2 * kHour + static_cast<int64_t>(rng.Below(40 * 60)) * kSecond, 1, open);
}

void SimulatorImpl::NightlyTransfer() {
  // Batch ETL and backups push gigabytes to S3 at night.
  const Instance& batch = InstanceOf(InstanceKind::kBatch);
  const External& s3 = saas[9];
  const int64_t p = 200000 + static_cast<int64_t>(rng.Below(800000));
  Connection(batch.private_ip, s3.ip, EphemeralPort(), 443, 6, p, p * 1400, NightTime(), 600, true);
}

void SimulatorImpl::MonitoringBeacon() {
  // The monitoring agent on every host reports every minute: perfectly
  // periodic, small, to one SaaS address. Benign beaconing.
  const Instance& in = instances[rng.Below(instances.size())];
  const External& dd = saas[5];
  const int64_t minute = static_cast<int64_t>(rng.Below(1440));
  Connection(in.private_ip, dd.ip, EphemeralPort(), 443, 6, 12, 5200, day_start + minute * kMinute + 7 * kSecond, 2, true);
}

void SimulatorImpl::Updates() {
  // Package mirrors, code hosts, NTP.
  const Instance& in = instances[rng.Below(instances.size())];
  const External& e = saas[rng.PerMille(300) ? 13 : 1 + rng.Below(4)];
  const int64_t p = e.port == 123 ? 1 : 20 + static_cast<int64_t>(rng.Below(2000));
  Connection(in.private_ip, e.ip, static_cast<int>(e.port == 123 ? 123 : EphemeralPort()), e.port, e.port == 123 ? 17 : 6, p,
             e.port == 123 ? 76 : p * 1300, rng.PerMille(500) ? NightTime() : AnyTime(), e.port == 123 ? 1 : 20, true);
}

void SimulatorImpl::DnsRoutine() {
  const Instance& in = instances[rng.Below(instances.size())];
  const int64_t t = rng.PerMille(500) ? CustomerTime() : AnyTime();
  const uint64_t r = rng.Below(100);
  if (r < 45) {
    const External& e = saas[rng.Below(saas.size())];
    const std::string type = rng.PerMille(800) ? "A" : "AAAA";
    std::vector<std::pair<std::string, std::string>> answers;
    if (type == "A") answers.push_back({"A", IpStr(e.ip)});
    DnsQuery(in, e.domain, type, "NOERROR", answers, t);
  } else if (r < 65) {
    // CDN and AWS names: long, machine-made labels that are not tunnels.
    const uint64_t k = rng.Below(5);
    std::string name;
    std::vector<std::pair<std::string, std::string>> answers;
    if (k == 0) {
      name = "d" + rng.Chars(13, "abcdefghijklmnopqrstuvwxyz0123456789") + ".cloudfront.net";
      answers = {{"A", IpStr(IpIn(kGeoCloudflare))}};
    } else if (k == 1) {
      name = "e" + std::to_string(1000 + rng.Below(9000)) + ".dsce" + std::to_string(rng.Below(10)) + ".akamaiedge.net";
      answers = {{"A", IpStr(IpIn(kGeoFastly))}};
    } else if (k == 2) {
      name = "internal-prod-api-" + std::to_string(1000000000 + rng.Below(900000000)) + ".us-east-1.elb.amazonaws.com";
      answers = {{"A", IpStr(accounts[0].cidr | (2u << 8) | static_cast<uint32_t>(100 + rng.Below(50)))}};
    } else if (k == 3) {
      name = rng.Hex(32) + ".s3-accesspoint.us-east-1.amazonaws.com";
      answers = {{"CNAME", "s3-r-w.us-east-1.amazonaws.com."}, {"A", IpStr(saas[9].ip)}};
    } else {
      name = "prod-" + rng.Hex(12) + "-" + rng.Hex(8) + ".cluster-ro-" + rng.Hex(12) + ".us-east-1.rds.amazonaws.com";
      answers = {{"A", IpStr(InstanceOf(InstanceKind::kDb).private_ip)}};
    }
    DnsQuery(in, name, "A", "NOERROR", answers, t);
  } else if (r < 85) {
    // Private names of the estate.
    const Instance& peer = instances[rng.Below(instances.size())];
    std::string name = "ip-" + IpStr(peer.private_ip) + ".ec2.internal";
    std::replace(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(3 + IpStr(peer.private_ip).size()), '.', '-');
    DnsQuery(in, name, "A", "NOERROR", {{"A", IpStr(peer.private_ip)}}, t);
  } else if (r < 93) {
    // Search-domain misses and cloud-init probes come back NXDOMAIN.
    const External& e = saas[rng.Below(9)];
    DnsQuery(in, rng.PerMille(500) ? e.domain + ".ec2.internal" : "__cloud_init_expected_not_found__", "A", "NXDOMAIN", {}, t);
  } else {
    const Instance& peer = instances[rng.Below(instances.size())];
    const uint32_t ip = peer.private_ip;
    const std::string name = std::to_string(ip & 255) + "." + std::to_string((ip >> 8) & 255) + "." +
                             std::to_string((ip >> 16) & 255) + "." + std::to_string(ip >> 24) + ".in-addr.arpa";
    std::string ptr = "ip-" + std::to_string(ip >> 24) + "-" + std::to_string((ip >> 16) & 255) + "-" +
                      std::to_string((ip >> 8) & 255) + "-" + std::to_string(ip & 255) + ".ec2.internal.";
    DnsQuery(in, name, "PTR", "NOERROR", {{"PTR", ptr}}, t);
  }
}

void SimulatorImpl::AlbRoutine() {
  static constexpr const char* kPaths[] = {"/", "/products", "/products/4411", "/products/1872", "/cart",
                                           "/api/v1/orders", "/api/v1/session", "/static/app.4f2c1a.js",
                                           "/static/app.9e0b7d.css", "/images/hero.webp", "/search?q=boots", "/login"};
  static constexpr const char* kUas[] = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.105 Mobile Safari/537.36",
      "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0"};
  const int geo = std::array{kGeoUkHome, kGeoDeHome, kGeoFrHome, kGeoUsEastHome, kGeoUsWestHome, kGeoCustBr,
                             kGeoCustIn, kGeoCustJp, kGeoCustAu, kGeoCustCa, kGeoCustEs, kGeoCustNl}[rng.Below(12)];
  const uint32_t client = IpIn(geo);
  const std::string ua = kUas[rng.Below(std::size(kUas))];
  int64_t t = CustomerTime();
  // A visit: a few requests in a row from one client.
  const int n = 1 + static_cast<int>(rng.Below(4));
  for (int i = 0; i < n; ++i) {
    const char* path = kPaths[rng.Below(std::size(kPaths))];
    const uint64_t s = rng.Below(1000);
    const int status = s < 930 ? 200 : s < 960 ? 304 : s < 990 ? 404 : s < 997 ? 500 : 502;
    const std::string method = std::string(path).rfind("/api/v1/orders", 0) == 0 && rng.PerMille(300) ? "POST" : "GET";
    AlbRequest(t, client, method, path, status, status == 304 ? 0 : 300 + static_cast<int64_t>(rng.Below(60000)), ua);
    t += static_cast<int64_t>(200 + rng.Below(8000)) * 1'000'000;
  }
  // Scanners of the Internet probe the shop too (404s, harmless).
  if (rng.PerMille(30)) {
    static constexpr const char* kProbes[] = {"/wp-login.php", "/.env", "/.git/config", "/phpmyadmin/", "/actuator/health",
                                              "/cgi-bin/luci", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php"};
    AlbRequest(AnyTime(), IpIn(kGeoNlHosting), "GET", kProbes[rng.Below(std::size(kProbes))], 404, 162,
               "Mozilla/5.0 zgrab/0.x");
  }
}

void SimulatorImpl::S3Routine() {
  const uint64_t r = rng.Below(100);
  const Bucket& b = buckets[r < 30 ? 0 : r < 45 ? 1 : r < 60 ? 2 : r < 70 ? 3 : r < 95 ? 4 : 5];
  const int64_t bytes = 400 + static_cast<int64_t>(rng.Below(400000));
  if (b.public_site) {
    // Static assets fetched anonymously through the CDN: normal for this bucket.
    const std::string key = "assets/" + std::string(std::array{"app.js", "app.css", "logo.svg", "hero.webp"}[rng.Below(4)]);
    S3Access(b, CustomerTime(), IpIn(kGeoCloudflare), "-", "REST.GET.OBJECT", key, "GET", 200, "", bytes, "Amazon CloudFront");
    return;
  }
  if (b.name == "acme-prod-backups") {
    S3Access(b, NightTime(), accounts[0].nat_ip, svc_backup->Arn(), "REST.PUT.OBJECT",
             "nightly/" + DatePath(day_start) + "/vol-0" + rng.Hex(16) + ".tar.zst", "PUT", 200, "", bytes * 100, kBotoUa);
    return;
  }
  if (b.name == "acme-data-lake" && rng.PerMille(500)) {
    const Instance& batch = InstanceOf(InstanceKind::kBatch);
    S3Access(b, NightTime(), accounts[0].nat_ip, batch.role->Arn(), rng.PerMille(500) ? "REST.GET.OBJECT" : "REST.PUT.OBJECT",
             "raw/" + DatePath(day_start) + "/part-" + rng.Hex(8) + ".parquet", "GET", 200, "", bytes * 20, kBotoUa);
    return;
  }
  if (rng.PerMille(40)) {
    S3Access(b, AnyTime(), 0, "-", "S3.EXPIRE.OBJECT", "tmp/" + rng.Hex(12), "-", 200, "", bytes, "-");
    return;
  }
  const auto& apps = InstancesOf(rng.PerMille(500) ? InstanceKind::kApi : InstanceKind::kWorker);
  const Instance& in = *apps[rng.Below(apps.size())];
  const bool put = rng.PerMille(250);
  S3Access(b, rng.PerMille(600) ? CustomerTime() : AnyTime(), accounts[in.account].nat_ip, in.role->Arn(),
           put ? "REST.PUT.OBJECT" : "REST.GET.OBJECT", "data/" + rng.Hex(2) + "/" + rng.Hex(16) + ".json",
           put ? "PUT" : "GET", rng.PerMille(985) ? 200 : 404, "", bytes, kBotoUa);
}

void SimulatorImpl::RoutineDay() {
  const bool weekend = Weekend();
  const double e = static_cast<double>(opt.events_per_day);
  // Shares of a weekday's records, and how much of each kind of activity is
  // left at the weekend.
  struct Activity {
    void (SimulatorImpl::*fn)();
    double share;         // of events_per_day, in records
    double weekend;       // weekday count multiplier at the weekend
  };
  const Activity acts[] = {
      // CloudTrail, about 35% of a weekday.
      {&SimulatorImpl::HumanApi, 0.12, 0.08},
      {&SimulatorImpl::WorkloadApi, 0.09, 1.0},
      {&SimulatorImpl::ServiceNoise, 0.06, 1.0},
      {&SimulatorImpl::ScannerSweep, 0.04, 1.0},
      {&SimulatorImpl::BackupNight, 0.01, 1.0},
      {&SimulatorImpl::CiDeploy, 0.025, 0.05},
      {&SimulatorImpl::BenignError, 0.005, 0.1},
      // VPC flow, about 35%.
      {&SimulatorImpl::AppFlows, 0.20, 0.7},
      {&SimulatorImpl::InternetNoise, 0.03, 1.0},
      {&SimulatorImpl::BastionSsh, 0.005, 0.1},
      {&SimulatorImpl::OwnScannerNight, 0.03, 1.0},
      {&SimulatorImpl::NightlyTransfer, 0.003, 1.0},
      {&SimulatorImpl::MonitoringBeacon, 0.06, 1.0},
      {&SimulatorImpl::Updates, 0.022, 0.8},
      // Resolver queries, ALB requests, S3 access.
      {&SimulatorImpl::DnsRoutine, 0.17, 0.75},
      {&SimulatorImpl::AlbRoutine, 0.08, 0.7},
      {&SimulatorImpl::S3Routine, 0.05, 0.7},
  };

  // Morning sign-ins: console users on working days (a few at the weekend).
  for (User& u : users) {
    if (!u.console) continue;
    if (weekend && !rng.PerMille(60)) continue;
    const bool travelling = u.travel_day == day_index;
    const int64_t t = day_start + ((((8 - u.tz) % 24) + 24) % 24) * kHour + static_cast<int64_t>(rng.Below(2 * 3600)) * kSecond;
    ConsoleSignIn(u, t, travelling ? u.travel_ip : weekend ? u.home_ip : u.office_ip);
  }
  // An admin sets up a new starter on about one working day in three.
  if (!weekend && rng.PerMille(350)) AdminChange();
  // Each activity runs until it has written its share of records (a call
  // writes one record or several: a connection is two to four flow records).
  for (const Activity& a : acts) {
    const auto want = static_cast<size_t>(e * a.share * (weekend ? a.weekend : 1.0));
    const size_t before = records.size();
    for (size_t calls = 0; records.size() - before < want && calls < 2 * want + 16; ++calls) (this->*a.fn)();
  }
}

// --- the public object -----------------------------------------------------

struct Simulator::Impl : SimulatorImpl {
  using SimulatorImpl::SimulatorImpl;
};

Simulator::Simulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Simulator::~Simulator() = default;

Result<std::unique_ptr<Simulator>> Simulator::Create(const SimulateOptions& o) {
  if (o.days < 1 || o.days > 366) return Status::InvalidArgument("simulate: --days must be 1 to 366, not " + std::to_string(o.days));
  if (o.principals < 4 || o.principals > 100000)
    return Status::InvalidArgument("simulate: --principals must be 4 to 100000, not " + std::to_string(o.principals));
  if (o.events_per_day > kMaxEventsPerDay)
    return Status::InvalidArgument("simulate: --events must be at most " + std::to_string(kMaxEventsPerDay));
  if (o.start_ns < 0) return Status::InvalidArgument("simulate: start before 1970");
  if (o.learning_days < -1 || o.learning_days >= o.days)
    return Status::InvalidArgument("simulate: learning days must be 0 to " + std::to_string(o.days - 1) +
                                   " (fewer than the days simulated), not " + std::to_string(o.learning_days));
  for (const std::string& a : o.attacks) {
    bool known = false;
    for (const ScenarioInfo& s : AttackCatalog()) known |= s.name == a;
    if (!known) {
      std::string names;
      for (const ScenarioInfo& s : AttackCatalog()) names += (names.empty() ? "" : ", ") + s.name;
      return Status::InvalidArgument("simulate: unknown attack '" + a + "' (known: " + names + ")");
    }
  }
  auto impl = std::make_unique<Impl>(o);
  impl->BuildOrg();
  impl->ScheduleAttacks();
  return std::unique_ptr<Simulator>(new Simulator(std::move(impl)));
}

Status Simulator::Run(const DaySink& sink) {
  SimulatorImpl& s = *impl_;
  for (int d = 0; d < s.opt.days; ++d) {
    s.day_index = d;
    s.day_start = s.first_day + d * kDay;
    s.records.clear();
    s.RoutineDay();
    for (const auto& p : s.plan)
      if (p.day == d) s.RunAttack(p.name, p.start);
    std::sort(s.records.begin(), s.records.end(), [](const SimRecord& a, const SimRecord& b) {
      return std::tie(a.time_ns, a.seq) < std::tie(b.time_ns, b.seq);
    });
    s.summary.records += s.records.size();
    s.summary.days = d + 1;
    VIGIL_RETURN_IF_ERROR(sink(d, s.records));
  }
  return Status::Ok();
}

const SimulateSummary& Simulator::summary() const { return impl_->summary; }

int64_t Simulator::DeliveryWindow(LogType t) { return t == LogType::kCloudTrail ? 15 * kMinute : kHour; }

std::string_view Simulator::FileHeader(LogType t) {
  if (t == LogType::kVpcFlow)
    return "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
  return "";
}

std::string Simulator::FilePath(const SimRecord& first, int64_t window_start) const {
  const auto& st = impl_->streams[first.stream];
  const int64_t end = window_start + DeliveryWindow(st.type);
  const std::string stamp = FileStamp(end);
  const std::string date = DatePath(window_start);
  switch (st.type) {
    case LogType::kCloudTrail:
      return "AWSLogs/" + st.account + "/CloudTrail/" + st.region + "/" + date + "/" + st.account + "_CloudTrail_" +
             st.region + "_" + stamp + "_" + st.suffix + ".json.gz";
    case LogType::kVpcFlow:
      return "AWSLogs/" + st.account + "/vpcflowlogs/" + st.region + "/" + date + "/" + st.account + "_vpcflowlogs_" +
             st.region + "_" + st.resource + "_" + stamp + "_" + st.suffix.substr(0, 8) + ".log.gz";
    case LogType::kDns:
      return "AWSLogs/" + st.account + "/vpcdnsquerylogs/" + st.resource + "/" + date + "/" + st.account +
             "_vpcdnsquerylogs_" + st.resource + "_" + stamp + "_" + st.suffix.substr(0, 8) + ".log.gz";
    case LogType::kAlb: {
      std::string lb = st.resource;  // app/prod-web/<id> -> app.prod-web.<id>
      std::replace(lb.begin(), lb.end(), '/', '.');
      return "AWSLogs/" + st.account + "/elasticloadbalancing/" + st.region + "/" + date + "/" + st.account +
             "_elasticloadbalancing_" + st.region + "_" + lb + "_" + stamp + "_" + IpStr(impl_->alb_public_ip) + "_" +
             st.suffix.substr(0, 8) + ".log.gz";
    }
    case LogType::kS3Access: {
      CivilDate c = CivilFromDays(DayNumber(end));
      const int64_t secs = (end - DayNumber(end) * kDay) / kSecond;
      char name[64];
      std::snprintf(name, sizeof name, "%04d-%02d-%02d-%02d-%02d-%02d-%s", c.year, c.month, c.day,
                    static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60),
                    st.suffix.c_str());
      return "s3-access/" + st.account + "/" + st.region + "/" + st.resource + "/" + DatePath(end) + "/" + name;
    }
  }
  return "";
}

std::string Simulator::GeoIpCsv() const {
  std::string out = "start_ip,end_ip,country,asn,city,lat,lon\n";
  for (const GeoRow& g : kGeoTable)
    out += std::string(g.start) + "," + g.end + "," + g.country + "," + g.asn + "," + g.city + "," + g.lat + "," + g.lon + "\n";
  return out;
}

std::string Simulator::ThreatIntelIps() const {
  std::string out = "# Addresses of known-bad infrastructure (simulated feed)\n";
  for (const std::string& ip : impl_->intel_ips) out += ip + "\n";
  return out;
}

std::string Simulator::ThreatIntelDomains() const {
  std::string out = "# Domains of known-bad infrastructure (simulated feed)\n";
  for (const std::string& d : impl_->intel_domains) out += d + "\n";
  return out;
}

std::string Simulator::LabelsJsonl() const {
  std::string out;
  for (const AttackLabel& l : impl_->summary.labels) {
    std::vector<std::string> types;
    for (const std::string& t : l.log_types) types.push_back(Q(t));
    out += Obj({{"id", Q(l.id)},
                {"scenario", Q(l.scenario)},
                {"finding_type", Q(l.finding_type)},
                {"entity_type", Q(l.entity_type)},
                {"entity", Q(l.entity)},
                {"account", Q(l.account)},
                {"start", Q(FormatRfc3339(l.start_ns))},
                {"end", Q(FormatRfc3339(l.end_ns))},
                {"log_types", Arr(types)},
                {"records", Num(static_cast<int64_t>(l.records))},
                {"description", Q(l.description)}}) +
           "\n";
  }
  return out;
}

std::string Simulator::OrgJson() const {
  const SimulatorImpl& s = *impl_;
  std::vector<std::string> accts, users, insts, bkts;
  for (const Account& a : s.accounts)
    accts.push_back(Obj({{"id", Q(a.id)}, {"name", Q(a.name)}, {"region", Q(a.region)}, {"vpc", Q(a.vpc)},
                         {"nat_ip", Q(IpStr(a.nat_ip))}}));
  for (const User& u : s.users)
    users.push_back(Obj({{"arn", Q(u.p->Arn())}, {"access_key", Q(u.p->access_key)}, {"office_ip", Q(IpStr(u.office_ip))}, {"home_ip", Q(IpStr(u.home_ip))},
                         {"mfa", Bool(u.mfa)}, {"console", Bool(u.console)}}));
  static constexpr const char* kKinds[] = {"web", "api", "worker", "db", "batch", "bastion", "ci-runner", "scanner", "monitoring"};
  for (const Instance& i : s.instances)
    insts.push_back(Obj({{"id", Q(i.id)}, {"kind", Q(kKinds[static_cast<int>(i.kind)])}, {"account", Q(s.accounts[i.account].id)},
                         {"eni", Q(i.eni)}, {"private_ip", Q(IpStr(i.private_ip))},
                         {"public_ip", i.public_ip ? Q(IpStr(i.public_ip)) : ""}, {"role", Q(i.role->RoleArn())}}));
  for (const Bucket& b : s.buckets) bkts.push_back(Q(b.name));
  return Obj({{"accounts", Arr(accts)}, {"users", Arr(users)}, {"instances", Arr(insts)}, {"buckets", Arr(bkts)},
              {"load_balancer", Q(s.alb_name)}, {"load_balancer_ip", Q(IpStr(s.alb_public_ip))}}) +
         "\n";
}

Status WriteSidecars(const Simulator& sim, const std::string& out_dir) {
  const std::filesystem::path root(out_dir);
  VIGIL_RETURN_IF_ERROR(WriteFile(root / "labels.jsonl", sim.LabelsJsonl()));
  VIGIL_RETURN_IF_ERROR(WriteFile(root / "geoip.csv", sim.GeoIpCsv()));
  VIGIL_RETURN_IF_ERROR(WriteFile(root / "intel" / "threat-ips.txt", sim.ThreatIntelIps()));
  VIGIL_RETURN_IF_ERROR(WriteFile(root / "intel" / "threat-domains.txt", sim.ThreatIntelDomains()));
  return WriteFile(root / "org.json", sim.OrgJson());
}

Result<SimulateSummary> SimulateToDirectory(const SimulateOptions& options, const std::string& out_dir,
                                            const std::function<void(int, const SimulateSummary&)>& progress) {
  if (out_dir.empty()) return Status::InvalidArgument("simulate: empty output directory");
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Simulator> sim, Simulator::Create(options));
  const std::filesystem::path root = std::filesystem::path(out_dir) / "logs";
  size_t files = 0;
  uint64_t bytes = 0;
  std::vector<const SimRecord*> order;
  Status st = sim->Run([&](int day, std::vector<SimRecord>& records) -> Status {
    // Group by delivery stream, then window; records keep time order.
    order.clear();
    for (const SimRecord& r : records) order.push_back(&r);
    std::stable_sort(order.begin(), order.end(), [](const SimRecord* a, const SimRecord* b) { return a->stream < b->stream; });
    size_t i = 0;
    std::string body;
    while (i < order.size()) {
      const SimRecord& first = *order[i];
      const int64_t w = Simulator::DeliveryWindow(first.type);
      const int64_t window = first.time_ns - first.time_ns % w;
      const bool json_array = first.type == LogType::kCloudTrail;
      body.clear();
      body += json_array ? "{\"Records\":[" : "";
      const std::string_view header = Simulator::FileHeader(first.type);
      if (!header.empty()) {
        body += header;
        body += '\n';
      }
      size_t j = i;
      while (j < order.size() && order[j]->stream == first.stream && order[j]->time_ns < window + w) {
        if (json_array && j > i) body += ',';
        body += order[j]->text;
        if (!json_array) body += '\n';
        ++j;
      }
      if (json_array) body += "]}";
      const std::string rel = sim->FilePath(first, window);
      if (first.type == LogType::kS3Access) {
        VIGIL_RETURN_IF_ERROR(WriteFile(root / rel, body));
        bytes += body.size();
      } else {
        VIGIL_ASSIGN_OR_RETURN(std::string gz, Gzip(body));
        VIGIL_RETURN_IF_ERROR(WriteFile(root / rel, gz));
        bytes += gz.size();
      }
      ++files;
      i = j;
    }
    if (progress) progress(day, sim->summary());
    return Status::Ok();
  });
  VIGIL_RETURN_IF_ERROR(st);
  VIGIL_RETURN_IF_ERROR(WriteSidecars(*sim, out_dir));
  SimulateSummary summary = sim->summary();
  summary.files = files;
  summary.bytes_written = bytes;
  return summary;
}

}  // namespace vigil::sim
