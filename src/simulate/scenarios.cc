// The attack scenarios of `vigil simulate`. Each one behaves as the real
// attack does in the logs (the calls, addresses, timing and volumes), with
// nothing in the records that marks it as simulated: the only ground truth is
// labels.jsonl. docs/simulate.md lists them.
#include <algorithm>
#include <set>

#include "common/time.h"
#include "simulate/org_impl.h"

namespace vigil::sim {

namespace {

constexpr const char* kKaliCli = "aws-cli/2.13.25 Python/3.11.5 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off";
constexpr const char* kPlainCli = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.ubuntu.22 prompt/off";
constexpr const char* kBoto = "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8 Botocore/1.34.60";
constexpr const char* kFirefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0";

}  // namespace

const std::vector<ScenarioInfo>& AttackCatalog() {
  static const std::vector<ScenarioInfo> kCatalog = {
      {"trail-stopped", "Stealth:IAMUser/CloudTrailLoggingDisabled", "A stolen administrator key stops the organisation trail"},
      {"trail-deleted", "Stealth:IAMUser/CloudTrailLoggingDisabled", "The trail is deleted after a look at its configuration"},
      {"iam-backdoor-user", "Persistence:IAMUser/AnomalousBehavior", "A compromised user creates a user with an access key and admin policy"},
      {"console-login-no-mfa-new-country", "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B", "A console sign-in without MFA from a country the user never signed in from"},
      {"root-usage", "Policy:IAMUser/RootCredentialUsage", "The root user signs in and makes API calls"},
      {"secrets-mass-retrieval", "CredentialAccess:IAMUser/AnomalousBehavior", "One principal lists and reads most secrets in minutes"},
      {"ec2-userdata-retrieval", "Discovery:IAMUser/AnomalousBehavior", "Instance user data read for many instances (credentials often sit there)"},
      {"ec2-password-data", "CredentialAccess:IAMUser/AnomalousBehavior", "GetPasswordData on several instances"},
      {"s3-bucket-public-exfil", "Policy:S3/BucketAnonymousAccessGranted", "A bucket's public access block is removed, a public policy set, and its objects pulled anonymously"},
      {"ebs-snapshot-shared", "Exfiltration:IAMUser/AnomalousBehavior", "An EBS snapshot is shared with an account outside the organisation"},
      {"instance-credentials-exfil", "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", "An instance role's session credentials used from an address outside AWS"},
      {"discovery-burst", "Discovery:IAMUser/AnomalousBehavior", "A user makes dozens of List/Describe calls they never made before"},
      {"privilege-escalation-policy", "PrivilegeEscalation:IAMUser/AnomalousBehavior", "A user attaches AdministratorAccess to themself via a new policy version"},
      {"portscan-from-instance", "Recon:EC2/Portscan", "An instance scans many ports of many hosts"},
      {"portscan-to-instance", "Recon:EC2/PortProbeUnprotectedPort", "An Internet host probes an instance's ports and finds one open"},
      {"ssh-bruteforce-inbound", "UnauthorizedAccess:EC2/SSHBruteForce", "Hundreds of short SSH connections to the bastion from one address"},
      {"ssh-bruteforce-outbound", "UnauthorizedAccess:EC2/SSHBruteForce", "A compromised instance brute-forces SSH on Internet hosts"},
      {"crypto-mining", "CryptoCurrency:EC2/BitcoinTool.B!DNS", "An instance resolves mining-pool names and holds long connections to a pool"},
      {"dns-exfiltration", "Trojan:EC2/DNSDataExfiltration", "Data leaves through long, high-entropy subdomains of one domain"},
      {"dga-domains", "Trojan:EC2/DGADomainRequest.B", "Malware tries algorithmically generated domains, most NXDOMAIN"},
      {"c2-beaconing", "Backdoor:EC2/C&CActivity.B", "An implant calls home at a fixed interval with small payloads"},
      {"threat-intel-ip", "UnauthorizedAccess:EC2/MaliciousIPCaller.Custom", "An instance talks to an address on the threat-intel list"},
      {"egress-volume", "Behavior:EC2/TrafficVolumeUnusual", "An instance sends gigabytes to an Internet address it never used"},
      {"impossible-travel", "UnauthorizedAccess:IAMUser/ImpossibleTravel", "The same user signs in from two continents within an hour"},
  };
  return kCatalog;
}

AttackLabel& SimulatorImpl::BeginLabel(const std::string& scenario, const std::string& entity_type,
                                       const std::string& entity, const std::string& account,
                                       const std::string& finding) {
  AttackLabel l;
  const int n = ++label_counts[scenario];
  l.id = scenario + "-" + std::to_string(n);
  l.scenario = scenario;
  for (const ScenarioInfo& s : AttackCatalog())
    if (s.name == scenario) {
      l.finding_type = finding.empty() ? s.finding_type : finding;
      l.description = s.description;
    }
  l.entity_type = entity_type;
  l.entity = entity;
  l.account = account;
  summary.labels.push_back(std::move(l));
  label_ = static_cast<int>(summary.labels.size() - 1);
  return summary.labels.back();
}

void SimulatorImpl::ScheduleAttacks() {
  std::vector<std::string> wanted;
  for (const ScenarioInfo& s : AttackCatalog())
    if (std::find(opt.attacks.begin(), opt.attacks.end(), s.name) != opt.attacks.end()) wanted.push_back(s.name);
  // Attacks come after a learning period (by default half the run, up to
  // three days), so behavioural baselines have history to compare with.
  const int learn = opt.learning_days >= 0 ? opt.learning_days : std::min(3, opt.days / 2);
  const int span = opt.days - learn;
  auto plan_one = [&](int day, const std::string& name) {
    Planned p;
    p.day = day;
    // Start between 00:30 and 20:30 so that every scenario (two hours at
    // most) ends the same day.
    p.start = static_cast<int64_t>(30 * 60 + rng.Below(20 * 3600)) * kSecond;
    p.name = name;
    plan.push_back(p);
  };
  if (opt.attacks_every_day) {
    for (int d = learn; d < opt.days; ++d)
      for (const std::string& name : wanted) plan_one(d, name);
    return;
  }
  for (size_t i = 0; i < wanted.size(); ++i) plan_one(learn + static_cast<int>(i % static_cast<size_t>(span)), wanted[i]);
}

void SimulatorImpl::RunAttack(const std::string& name, int64_t start_offset) {
  int64_t t = day_start + start_offset;
  auto step = [&](int64_t min_ms, int64_t max_ms) { t += rng.Between(min_ms, max_ms) * 1'000'000; };
  const Account& prod = accounts[0];
  // Victims: a developer (a leaked key), an admin, an instance of each kind.
  auto pick_user = [&](UserKind kind) -> User& {
    std::vector<User*> c;
    for (User& u : users)
      if (u.kind == kind) c.push_back(&u);
    if (c.empty()) return users[rng.Below(users.size())];
    return *c[rng.Below(c.size())];
  };
  auto api = [&](const Principal* who, const std::string& source, const std::string& call, const std::string& request,
                 const std::string& ip, const std::string& ua) {
    Call c;
    c.who = who;
    c.time_ns = t;
    c.source = source;
    c.name = call;
    c.request = request;
    c.ip = ip;
    c.user_agent = ua;
    c.read_only = call.rfind("List", 0) == 0 || call.rfind("Describe", 0) == 0 || call.rfind("Get", 0) == 0;
    return c;
  };
  // A stolen-credential attacker: a VPS or Tor exit, a Kali CLI.
  const std::string vps_ip = IpStr(IpIn(rng.PerMille(500) ? kGeoTorDe : kGeoRuHosting));

  if (name == "trail-stopped" || name == "trail-deleted") {
    User& admin = pick_user(UserKind::kAdmin);
    BeginLabel(name, "principal", admin.p->Arn(), admin.p->account);
    Call c = api(admin.p, "cloudtrail.amazonaws.com", "DescribeTrails", "null", vps_ip, kKaliCli);
    Ct(c);
    step(3000, 40000);
    c = api(admin.p, "cloudtrail.amazonaws.com", "GetTrailStatus", Obj({{"name", Q(trail_arn)}}), vps_ip, kKaliCli);
    Ct(c);
    step(3000, 40000);
    const bool del = name == "trail-deleted";
    c = api(admin.p, "cloudtrail.amazonaws.com", del ? "DeleteTrail" : "StopLogging", Obj({{"name", Q(trail_arn)}}), vps_ip, kKaliCli);
    c.read_only = false;
    Ct(c);
  } else if (name == "iam-backdoor-user") {
    User& dev = pick_user(UserKind::kDeveloper);
    BeginLabel(name, "principal", dev.p->Arn(), dev.p->account);
    const std::string backdoor = std::array{"svc-backup-sync", "aws-support-ops", "ci-deployer2"}[rng.Below(3)];
    const std::string arn = "arn:aws:iam::" + dev.p->account + ":user/" + backdoor;
    Call c = api(dev.p, "iam.amazonaws.com", "CreateUser", Obj({{"userName", Q(backdoor)}}), vps_ip, kKaliCli);
    c.response = Obj({{"user", Obj({{"path", Q("/")}, {"userName", Q(backdoor)}, {"userId", Q("AIDA" + rng.Chars(17, kUpperAlnum))},
                                    {"arn", Q(arn)}, {"createDate", Q(ResponseDate(t))}})}});
    Ct(c);
    step(2000, 15000);
    c = api(dev.p, "iam.amazonaws.com", "AttachUserPolicy",
            Obj({{"userName", Q(backdoor)}, {"policyArn", Q("arn:aws:iam::aws:policy/AdministratorAccess")}}), vps_ip, kKaliCli);
    Ct(c);
    step(2000, 15000);
    c = api(dev.p, "iam.amazonaws.com", "CreateAccessKey", Obj({{"userName", Q(backdoor)}}), vps_ip, kKaliCli);
    c.read_only = false;
    c.response = Obj({{"accessKey", Obj({{"userName", Q(backdoor)}, {"accessKeyId", Q("AKIA" + rng.Chars(16, kUpperAlnum))},
                                         {"status", Q("Active")}, {"createDate", Q(ResponseDate(t))}})}});
    Ct(c);
  } else if (name == "console-login-no-mfa-new-country" || name == "impossible-travel") {
    User& u = pick_user(UserKind::kAnalyst);
    BeginLabel(name, "principal", u.p->Arn(), u.p->account);
    const bool travel = name == "impossible-travel";
    if (travel) {
      // A genuine sign-in from the office, then one from far away 20-40
      // minutes later, both with MFA (the second after an MFA-fatigue push).
      const bool saved = u.mfa;
      u.mfa = true;
      ConsoleSignIn(u, t, u.office_ip);
      step(20 * 60 * 1000, 40 * 60 * 1000);
      ConsoleSignIn(u, t, IpIn(std::array{kGeoVnIsp, kGeoNgIsp, kGeoSgCloud}[rng.Below(3)]));
      u.mfa = saved;
    } else {
      const uint32_t ip = IpIn(std::array{kGeoNgIsp, kGeoVnIsp, kGeoRuHosting}[rng.Below(3)]);
      // A couple of failures (password spraying found the password), then success without MFA.
      for (int i = 0; i < 2; ++i) {
        Call c = ConsoleLoginCall(u.p, t, /*success=*/false, /*mfa=*/false);
        c.ip = IpStr(ip);
        c.user_agent = kFirefox;
        Ct(c);
        step(20000, 90000);
      }
      const bool saved = u.mfa;
      u.mfa = false;
      ConsoleSignIn(u, t, ip);
      u.mfa = saved;
      step(30000, 120000);
      Call c = api(u.p, "s3.amazonaws.com", "ListBuckets", R"({"Host":"s3.amazonaws.com"})", IpStr(ip), kFirefox);
      c.console = true;
      c.mfa_session = false;
      Ct(c);
    }
  } else if (name == "root-usage") {
    const int a = static_cast<int>(rng.Below(3));
    BeginLabel(name, "principal", root[a]->Arn(), accounts[a].id);
    const std::string ip = IpStr(IpIn(kGeoUsVps));
    Call c = ConsoleLoginCall(root[a], t, /*success=*/true, /*mfa=*/false);
    c.ip = ip;
    c.user_agent = kFirefox;
    Ct(c);
    for (const char* call : {"ListUsers", "GetAccountSummary", "ListAccessKeys", "CreateAccessKey"}) {
      step(20000, 120000);
      c = api(root[a], "iam.amazonaws.com", call, "null", ip, kFirefox);
      c.console = true;
      if (std::string(call) == "CreateAccessKey") {
        c.read_only = false;
        c.response = Obj({{"accessKey", Obj({{"accessKeyId", Q("AKIA" + rng.Chars(16, kUpperAlnum))}, {"status", Q("Active")},
                                             {"createDate", Q(ResponseDate(t))}})}});
      }
      Ct(c);
    }
  } else if (name == "secrets-mass-retrieval") {
    User& dev = pick_user(UserKind::kDeveloper);
    BeginLabel(name, "principal", dev.p->Arn(), dev.p->account);
    Call c = api(dev.p, "secretsmanager.amazonaws.com", "ListSecrets", R"({"maxResults":100})", vps_ip, kBoto);
    Ct(c);
    for (const std::string& s : secrets) {
      step(500, 4000);
      c = api(dev.p, "secretsmanager.amazonaws.com", "GetSecretValue", Obj({{"secretId", Q(s)}}), vps_ip, kBoto);
      if (rng.PerMille(150)) {
        c.error_code = "AccessDeniedException";
        c.error_message = "User: " + dev.p->Arn() + " is not authorized to perform: secretsmanager:GetSecretValue";
      }
      Ct(c);
    }
  } else if (name == "ec2-userdata-retrieval" || name == "ec2-password-data") {
    User& dev = pick_user(UserKind::kDeveloper);
    BeginLabel(name, "principal", dev.p->Arn(), dev.p->account);
    const bool pw = name == "ec2-password-data";
    Call c = api(dev.p, "ec2.amazonaws.com", "DescribeInstances", R"({"instancesSet":{},"filterSet":{}})", vps_ip, kKaliCli);
    Ct(c);
    const size_t n = std::min<size_t>(instances.size(), pw ? 6 : 15);
    for (size_t i = 0; i < n; ++i) {
      step(800, 6000);
      const Instance& in = instances[i];
      c = pw ? api(dev.p, "ec2.amazonaws.com", "GetPasswordData", Obj({{"instanceId", Q(in.id)}}), vps_ip, kKaliCli)
             : api(dev.p, "ec2.amazonaws.com", "DescribeInstanceAttribute",
                   Obj({{"instanceId", Q(in.id)}, {"attribute", Q("userData")}}), vps_ip, kKaliCli);
      Ct(c);
    }
  } else if (name == "s3-bucket-public-exfil") {
    User& admin = pick_user(UserKind::kAdmin);
    const Bucket& b = buckets[1];
    BeginLabel(name, "principal", admin.p->Arn(), admin.p->account);
    Call c = api(admin.p, "s3.amazonaws.com", "DeletePublicAccessBlock",
                 Obj({{"bucketName", Q(b.name)}, {"Host", Q(b.name + ".s3.amazonaws.com")}, {"publicAccessBlock", Q("")}}), vps_ip, kKaliCli);
    c.read_only = false;
    Ct(c);
    step(5000, 30000);
    const std::string policy = R"({"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::)" +
                               b.name + R"(/*"}]})";
    c = api(admin.p, "s3.amazonaws.com", "PutBucketPolicy",
            Obj({{"bucketName", Q(b.name)}, {"Host", Q(b.name + ".s3.amazonaws.com")}, {"policy", Q("")}, {"bucketPolicy", policy}}),
            vps_ip, kKaliCli);
    c.read_only = false;
    c.resources = Arr({Obj({{"accountId", Q(prod.id)}, {"type", Q("AWS::S3::Bucket")}, {"ARN", Q("arn:aws:s3:::" + b.name)}})});
    Ct(c);
    EndLabel();
    // Then the bucket is emptied anonymously from another address.
    const uint32_t puller = IpIn(kGeoSgCloud);
    BeginLabel(name, "ip", IpStr(puller), prod.id, "Exfiltration:S3/AnomalousBehavior");
    step(60000, 300000);
    for (int i = 0; i < 250; ++i) {
      step(100, 1500);
      S3Access(b, t, puller, "-", "REST.GET.OBJECT", "reports/" + DatePath(day_start - kDay * (i % 30)) + "/report-" +
               rng.Hex(6) + ".pdf", "GET", 200, "", 40000 + static_cast<int64_t>(rng.Below(4000000)), "python-requests/2.31.0");
    }
  } else if (name == "ebs-snapshot-shared") {
    User& ops = pick_user(UserKind::kOps);
    BeginLabel(name, "principal", ops.p->Arn(), ops.p->account);
    const std::string external = "3" + std::to_string(10000000000LL + static_cast<int64_t>(rng.Below(89999999999LL)));
    Call c = api(ops.p, "ec2.amazonaws.com", "CreateSnapshot",
                 Obj({{"volumeId", Q("vol-0" + rng.Hex(16))}, {"description", Q("")}}), vps_ip, kPlainCli);
    c.read_only = false;
    Ct(c);
    step(60000, 300000);
    c = api(ops.p, "ec2.amazonaws.com", "ModifySnapshotAttribute",
            Obj({{"snapshotId", Q(ebs_snapshot)}, {"attributeType", Q("CREATE_VOLUME_PERMISSION")},
                 {"createVolumePermission", Obj({{"add", Obj({{"items", Arr({Obj({{"userId", Q(external)}})})}})}})}}),
            vps_ip, kPlainCli);
    c.read_only = false;
    Ct(c);
  } else if (name == "instance-credentials-exfil") {
    const Instance& in = InstanceOf(InstanceKind::kApi);
    Principal p = *in.role;
    p.session = in.id;
    BeginLabel(name, "principal", p.Arn(), accounts[in.account].id);
    const std::string ip = IpStr(IpIn(kGeoUsVps));
    for (const char* call : {"GetCallerIdentity", "ListBuckets", "DescribeInstances", "ListSecrets", "GetSecretValue"}) {
      step(5000, 60000);
      const std::string c_name(call);
      const std::string source = c_name == "GetCallerIdentity" ? "sts.amazonaws.com"
                                 : c_name == "ListBuckets"     ? "s3.amazonaws.com"
                                 : c_name == "DescribeInstances" ? "ec2.amazonaws.com"
                                                                 : "secretsmanager.amazonaws.com";
      Call c = api(&p, source, c_name, c_name == "GetSecretValue" ? Obj({{"secretId", Q(secrets[1])}}) : "null", ip, kPlainCli);
      Ct(c);
    }
  } else if (name == "discovery-burst") {
    User& analyst = pick_user(UserKind::kAnalyst);
    BeginLabel(name, "principal", analyst.p->Arn(), analyst.p->account);
    const auto& cat = ReadCatalogue();
    // Calls the person never makes: the attacker-only tail and routine
    // calls outside their working set.
    std::vector<int> calls;
    for (int i = 0; i < static_cast<int>(cat.size()); ++i)
      if (std::find(analyst.apis.begin(), analyst.apis.end(), i) == analyst.apis.end()) calls.push_back(i);
    const std::string ip = IpStr(analyst.office_ip);  // from their own laptop
    for (int round = 0; round < 2; ++round)
      for (int i : calls) {
        step(300, 2500);
        Call c = api(analyst.p, cat[i].source, cat[i].name, cat[i].request, ip, kPlainCli);
        if (std::string(cat[i].source) == "iam.amazonaws.com" && rng.PerMille(300)) {
          c.error_code = "AccessDenied";
          c.error_message = "User: " + analyst.p->Arn() + " is not authorized to perform: iam:" + cat[i].name;
        }
        Ct(c);
      }
  } else if (name == "privilege-escalation-policy") {
    User& dev = pick_user(UserKind::kDeveloper);
    BeginLabel(name, "principal", dev.p->Arn(), dev.p->account);
    const std::string policy_arn = "arn:aws:iam::" + dev.p->account + ":policy/developer-boundary";
    Call c = api(dev.p, "iam.amazonaws.com", "ListAttachedUserPolicies", Obj({{"userName", Q(dev.p->name)}}), vps_ip, kKaliCli);
    Ct(c);
    step(5000, 30000);
    c = api(dev.p, "iam.amazonaws.com", "CreatePolicyVersion",
            Obj({{"policyArn", Q(policy_arn)}, {"setAsDefault", Bool(true)},
                 {"policyDocument", Q(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})")}}),
            vps_ip, kKaliCli);
    c.read_only = false;
    Ct(c);
    step(5000, 30000);
    c = api(dev.p, "iam.amazonaws.com", "AttachUserPolicy",
            Obj({{"userName", Q(dev.p->name)}, {"policyArn", Q("arn:aws:iam::aws:policy/AdministratorAccess")}}), vps_ip, kKaliCli);
    Ct(c);
  } else if (name == "portscan-from-instance") {
    const Instance& src = InstanceOf(InstanceKind::kWorker);
    BeginLabel(name, "instance", src.id, accounts[src.account].id);
    const int sport = static_cast<int>(rng.Between(40000, 60000));
    for (const Instance& dst : instances) {
      if (&dst == &src || dst.account != src.account) continue;
      for (int port = 1; port <= 1024; port += 1 + static_cast<int>(rng.Below(24))) {
        step(5, 60);
        Connection(src.private_ip, dst.private_ip, sport, port, 6, 1, 44, t, 1, port == 22 || port == 443);
      }
    }
  } else if (name == "portscan-to-instance") {
    const Instance& bastion = InstanceOf(InstanceKind::kBastion);
    const uint32_t src = IpIn(kGeoRuHosting);
    BeginLabel(name, "instance", bastion.id, accounts[bastion.account].id);
    for (int port : {21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 1521, 2049, 3306, 3389,
                     5432, 5900, 6379, 8000, 8080, 8443, 9000, 9200, 11211, 27017}) {
      step(200, 3000);
      Connection(src, bastion.public_ip, static_cast<int>(rng.Between(40000, 60000)), port, 6, 1, 44, t, 1, port == 22);
    }
  } else if (name == "ssh-bruteforce-inbound") {
    const Instance& bastion = InstanceOf(InstanceKind::kBastion);
    const uint32_t src = IpIn(kGeoCnTelecom);
    BeginLabel(name, "instance", bastion.id, accounts[bastion.account].id);
    for (int i = 0; i < 300; ++i) {
      step(1500, 9000);
      Connection(src, bastion.public_ip, EphemeralPort(), 22, 6, 11 + static_cast<int64_t>(rng.Below(8)),
                 2400 + static_cast<int64_t>(rng.Below(900)), t, 2 + static_cast<int64_t>(rng.Below(4)), true);
    }
  } else if (name == "ssh-bruteforce-outbound") {
    const Instance& src = InstanceOf(InstanceKind::kWeb);
    BeginLabel(name, "instance", src.id, accounts[src.account].id);
    for (int i = 0; i < 240; ++i) {
      step(2000, 12000);
      const uint32_t dst = IpIn(std::array{kGeoKrIsp, kGeoVnIsp, kGeoCustBr, kGeoCustIn}[rng.Below(4)]);
      Connection(src.private_ip, dst, EphemeralPort(), 22, 6, 10 + static_cast<int64_t>(rng.Below(10)),
                 2100 + static_cast<int64_t>(rng.Below(1200)), t, 3, rng.PerMille(700));
    }
  } else if (name == "crypto-mining") {
    const Instance& in = InstanceOf(InstanceKind::kWorker, 1);
    BeginLabel(name, "instance", in.id, accounts[in.account].id);
    const std::string pool = intel_domains[rng.Below(4)];
    const uint32_t pool_ip = IpIn(kGeoFrCloud);
    DnsQuery(in, pool, "A", "NOERROR", {{"A", IpStr(pool_ip)}}, t);
    step(500, 2000);
    DnsQuery(in, pool, "AAAA", "NOERROR", {}, t);
    EndLabel();
    BeginLabel(name, "instance", in.id, accounts[in.account].id, "CryptoCurrency:EC2/BitcoinTool.B");
    // Stratum keeps one connection open; flow logs report it every
    // aggregation interval (10 minutes) for as long as it lasts.
    const int port = std::array{3333, 4444, 14444, 5555}[rng.Below(4)];
    const int sport = EphemeralPort();
    for (int i = 0; i < 12; ++i) {
      Connection(in.private_ip, pool_ip, sport, port, 6, 140 + static_cast<int64_t>(rng.Below(40)),
                 21000 + static_cast<int64_t>(rng.Below(5000)), t, 600, true);
      t += 600 * kSecond;
    }
  } else if (name == "dns-exfiltration") {
    const Instance& in = InstanceOf(InstanceKind::kDb);
    BeginLabel(name, "instance", in.id, accounts[in.account].id);
    const std::string apex = std::array{"cdn-sync-metrics.net", "telemetry-edge.info", "static-img-cache.org"}[rng.Below(3)];
    // Base32 chunks of a dump, 50-60 characters a label, two labels a query.
    for (int i = 0; i < 400; ++i) {
      step(200, 1500);
      const std::string name_q = rng.Chars(52 + rng.Below(9), "abcdefghijklmnopqrstuvwxyz234567") + "." +
                                 rng.Chars(30 + rng.Below(20), "abcdefghijklmnopqrstuvwxyz234567") + "." +
                                 std::to_string(i) + "." + apex;
      DnsQuery(in, name_q, rng.PerMille(700) ? "TXT" : "A", "NOERROR",
               {{"TXT", "\"" + rng.Chars(8, kAlnum) + "\""}}, t);
    }
  } else if (name == "dga-domains") {
    const Instance& in = InstanceOf(InstanceKind::kApi, 1);
    BeginLabel(name, "instance", in.id, accounts[in.account].id);
    for (int i = 0; i < 120; ++i) {
      step(300, 4000);
      const std::string domain = rng.Chars(10 + rng.Below(10), "abcdefghijklmnopqrstuvwxyz") + "." +
                                 std::array{"com", "net", "info", "biz", "top", "xyz"}[rng.Below(6)];
      const bool hit = i == 97;
      DnsQuery(in, domain, "A", hit ? "NOERROR" : "NXDOMAIN",
               hit ? std::vector<std::pair<std::string, std::string>>{{"A", IpStr(IpIn(kGeoNlBulletproof))}}
                   : std::vector<std::pair<std::string, std::string>>{},
               t);
    }
  } else if (name == "c2-beaconing") {
    const Instance& in = InstanceOf(InstanceKind::kWorker);
    BeginLabel(name, "instance", in.id, accounts[in.account].id);
    const uint32_t c2 = IpIn(kGeoNlBulletproof);
    const std::string domain = intel_domains[4 + rng.Below(3)];
    DnsQuery(in, domain, "A", "NOERROR", {{"A", IpStr(c2)}}, t);
    // Every 5 minutes with 10% jitter, for two hours.
    for (int i = 0; i < 24; ++i) {
      Connection(in.private_ip, c2, EphemeralPort(), 443, 6, 7 + static_cast<int64_t>(rng.Below(3)),
                 1300 + static_cast<int64_t>(rng.Below(200)), t, 1, true);
      t += (300 - 15 + static_cast<int64_t>(rng.Below(31))) * kSecond;
    }
  } else if (name == "threat-intel-ip") {
    const Instance& in = InstanceOf(InstanceKind::kApi);
    const std::string& bad = intel_ips[rng.Below(intel_ips.size())];
    BeginLabel(name, "instance", in.id, accounts[in.account].id);
    for (int i = 0; i < 4; ++i) {
      step(10000, 120000);
      Connection(in.private_ip, ParseIp(bad.c_str()), EphemeralPort(), std::array{443, 80, 8080}[rng.Below(3)], 6,
                 9 + static_cast<int64_t>(rng.Below(20)), 2000 + static_cast<int64_t>(rng.Below(9000)), t, 4, true);
    }
  } else if (name == "egress-volume") {
    const Instance& in = InstanceOf(InstanceKind::kDb);
    const uint32_t dst = IpIn(kGeoSgCloud);
    BeginLabel(name, "instance", in.id, accounts[in.account].id);
    // About 8 GB over 50 minutes to one address.
    const int sport = EphemeralPort();
    for (int i = 0; i < 5; ++i) {
      const int64_t packets = 1'100'000 + static_cast<int64_t>(rng.Below(200'000));
      Connection(in.private_ip, dst, sport, 443, 6, packets, packets * 1420, t, 600, true);
      t += 600 * kSecond;
    }
  }
  EndLabel();
}

}  // namespace vigil::sim
