#include "simulate/cloudtrail_generator.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <string_view>
#include <tuple>
#include <utility>

#include "common/time.h"
#include "simulate/cloudtrail_record.h"
#include "simulate/sim_common.h"

namespace vigil {
namespace {

using namespace sim;  // NOLINT: the generator is written in the helpers' terms

constexpr int64_t kDeliveryWindow = 15 * kMinute;
constexpr size_t kMaxRoutineEvents = 10'000'000;

constexpr std::string_view kWorkloadAccount = "493817265012";
constexpr std::string_view kSecurityAccount = "718204596331";
constexpr std::string_view kAttackerIp = "185.220.101.47";
constexpr std::string_view kTrailBucket = "acme-org-cloudtrail";
constexpr std::string_view kTrailName = "org-trail";

// ---------------------------------------------------------------------------
// The organisation.

// People work 08:00-18:00 UTC, with a lunch dip and a little late work.
constexpr std::array<int, 24> kHumanHourWeights = {1, 1, 1, 1, 1, 1, 2, 5, 20, 40, 45, 40,
                                                   25, 40, 45, 40, 35, 20, 8, 5, 3, 2, 1, 1};

std::string GlobalRegion() { return "us-east-1"; }

struct Record {
  std::string account;
  std::string region;
  int64_t time_ns = 0;
  uint64_t seq = 0;
  std::string json;
};

class DayBuilder {
 public:
  explicit DayBuilder(const GeneratorOptions& o)
      : rng_(o.seed), day_start_(DayNumber(o.day_start_ns) * kDay) {}

  void BuildOrg();
  void Routine(size_t n);
  void Attacks();
  Result<GeneratorSummary> Write(const std::string& out_dir);

 private:
  Principal* Add(Principal p) {
    principals_.push_back(std::make_unique<Principal>(std::move(p)));
    return principals_.back().get();
  }
  Principal MakeUser(std::string_view account, std::string_view name, std::string ip, std::string ua) {
    Principal p;
    p.kind = Kind::kIamUser;
    p.account = account;
    p.name = name;
    p.id = "AIDA" + rng_.Chars(17, kUpperAlnum);
    p.access_key = "AKIA" + rng_.Chars(16, kUpperAlnum);
    p.ip = std::move(ip);
    p.user_agent = std::move(ua);
    return p;
  }
  Principal MakeRole(std::string_view account, std::string_view name, std::string session, std::string ip,
                     std::string ua) {
    Principal p;
    p.kind = Kind::kAssumedRole;
    p.account = account;
    p.name = name;
    p.id = "AROA" + rng_.Chars(17, kUpperAlnum);
    p.session = std::move(session);
    p.ip = std::move(ip);
    p.user_agent = std::move(ua);
    return p;
  }

  int64_t HumanTime() {
    int total = 0;
    for (int w : kHumanHourWeights) total += w;
    int64_t r = static_cast<int64_t>(rng_.Below(total));
    int hour = 0;
    while (r >= kHumanHourWeights[hour]) r -= kHumanHourWeights[hour++];
    return day_start_ + hour * kHour + static_cast<int64_t>(rng_.Below(3600)) * kSecond;
  }
  int64_t AnyTime() { return day_start_ + static_cast<int64_t>(rng_.Below(86400)) * kSecond; }
  std::string Region() { return rng_.PerMille(800) ? "us-east-1" : "eu-west-1"; }

  // Renders and stores the record; returns its eventID.
  std::string Emit(const Call& c);
  void Label(const std::string& scenario, const std::string& cis, const std::string& event_id, const Call& c);

  // Routine activity, one record per call.
  void HumanRead(const Principal& who);
  void ConsoleLogin(const Principal& who, int64_t t);
  void S3DataEvent();
  void KmsDataKey();
  void ScannerRead();
  void ConfigRecorderRead();
  void ServiceAssumeRole();
  void CiActivity();
  void LambdaActivity();
  void HumanWrite();
  void BenignError();
  void CrossAccountAssume();

  Rng rng_;
  int64_t day_start_;
  uint64_t seq_ = 0;
  std::vector<std::unique_ptr<Principal>> principals_;
  std::vector<Principal*> console_users_;  // sign in with MFA every morning
  std::vector<Principal*> cli_users_;
  Principal* erin_ = nullptr;
  Principal* svc_ci_ = nullptr;
  Principal* svc_backup_ = nullptr;
  Principal* deploy_ = nullptr;
  Principal* app_worker_ = nullptr;
  Principal* lambda_ingest_ = nullptr;
  std::vector<Principal*> scanners_;
  std::vector<Principal*> config_roles_;
  Principal* audit_reader_ = nullptr;
  std::vector<Principal*> services_;
  Principal* root_security_ = nullptr;
  std::vector<std::string> instances_;
  std::string kms_key_;
  std::vector<Record> records_;
  std::vector<InjectedEvent> attacks_;
  size_t attack_records_ = 0;
};

void DayBuilder::BuildOrg() {
  const std::string w(kWorkloadAccount);
  const std::string s(kSecurityAccount);
  const std::string console_ua =
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";
  const std::string cli_ua = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023 prompt/off";
  const std::string boto_ua =
      "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 os/linux#5.10.210 md/arch#x86_64 lang/python#3.11.8 Botocore/1.34.60";
  const std::string go_ua = "aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64";

  for (auto [name, ip] : {std::pair{"alice", "198.51.100.23"}, {"bob", "198.51.100.24"},
                          {"carol", "198.51.100.31"}, {"dave", "203.0.113.77"}}) {
    Principal* p = Add(MakeUser(w, name, ip, console_ua));
    console_users_.push_back(p);
    cli_users_.push_back(p);
  }
  Principal* frank = Add(MakeUser(s, "frank", "198.51.100.40", console_ua));
  console_users_.push_back(frank);
  cli_users_.push_back(frank);
  // A contractor who works from the command line only and has no MFA device.
  erin_ = Add(MakeUser(w, "erin", "203.0.113.140", cli_ua));
  cli_users_.push_back(erin_);
  svc_ci_ = Add(MakeUser(w, "svc-ci", "52.14.201.77", go_ua));
  svc_backup_ = Add(MakeUser(w, "svc-backup", "54.210.33.9", boto_ua));

  for (int i = 0; i < 4; ++i) instances_.push_back("i-0" + rng_.Hex(16));
  deploy_ = Add(MakeRole(w, "deploy", "ci-" + rng_.Hex(8), "52.14.201.77", go_ua));
  app_worker_ = Add(MakeRole(w, "app-worker", instances_[0], "54.210.33.18", boto_ua));
  lambda_ingest_ = Add(MakeRole(w, "lambda-ingest", "ingest", "54.210.33.40",
                                "Boto3/1.34.60 md/Botocore#1.34.60 ua/2.0 exec-env/AWS_Lambda_python3.12 lang/python#3.12.2"));
  scanners_.push_back(Add(MakeRole(w, "inventory-scanner", instances_[3], "54.210.33.25", boto_ua)));
  scanners_.push_back(Add(MakeRole(s, "inventory-scanner", instances_[3], "54.210.33.25", boto_ua)));
  for (const std::string& acct : {w, s}) {
    Principal p = MakeRole(acct, "AWSServiceRoleForConfig", "AWSConfig-Describe", "config.amazonaws.com",
                           "config.amazonaws.com");
    p.invoked_by = "config.amazonaws.com";
    config_roles_.push_back(Add(std::move(p)));
  }
  audit_reader_ = Add(MakeRole(w, "audit-reader", "frank", "198.51.100.40", console_ua));
  for (const char* svc : {"ec2.amazonaws.com", "lambda.amazonaws.com", "config.amazonaws.com"}) {
    Principal p;
    p.kind = Kind::kAwsService;
    p.account = w;
    p.name = svc;
    p.invoked_by = svc;
    p.ip = svc;
    p.user_agent = svc;
    services_.push_back(Add(std::move(p)));
  }
  Principal root;
  root.kind = Kind::kRoot;
  root.account = s;
  root.id = s;
  root.ip = "203.0.113.200";
  root.user_agent = console_ua;
  root_security_ = Add(std::move(root));
  kms_key_ = "arn:aws:kms:us-east-1:" + w + ":key/" + rng_.Uuid();
}

std::string DayBuilder::Emit(const Call& c) {
  Record r;
  r.account = c.account.empty() ? c.who->account : c.account;
  r.region = c.region;
  r.time_ns = c.time_ns;
  r.seq = seq_++;
  std::string event_id;
  r.json = RenderCloudTrail(c, rng_, &event_id);
  records_.push_back(std::move(r));
  return event_id;
}

void DayBuilder::Label(const std::string& scenario, const std::string& cis, const std::string& event_id,
                       const Call& c) {
  InjectedEvent e;
  e.scenario = scenario;
  e.cis_control = cis;
  e.event_id = event_id;
  e.event_name = c.name;
  e.principal_arn = c.who->Arn();
  e.account = c.account.empty() ? c.who->account : c.account;
  e.time_ns = c.time_ns;
  attacks_.push_back(std::move(e));
  ++attack_records_;
}

// --- routine ---------------------------------------------------------------

void DayBuilder::HumanRead(const Principal& who) {
  const ReadCall& api = ReadCatalogue()[rng_.Below(kRoutineReadApis)];
  Call c;
  c.who = &who;
  c.time_ns = HumanTime();
  c.source = api.source;
  c.name = api.name;
  c.request = api.request;
  c.region = (c.source == "iam.amazonaws.com") ? GlobalRegion() : Region();
  c.console = who.user_agent.rfind("Mozilla", 0) == 0 && rng_.PerMille(600);
  if (!c.console && who.user_agent.rfind("Mozilla", 0) == 0) {
    c.user_agent = "aws-cli/2.15.30 Python/3.11.8 Darwin/23.3.0 exe/x86_64 prompt/off command/" + std::string(api.name);
  }
  Emit(c);
}

void DayBuilder::ConsoleLogin(const Principal& who, int64_t t) {
  Call c = ConsoleLoginCall(&who, t, /*success=*/true, /*mfa=*/true);
  c.console = false;
  Emit(c);
}

void DayBuilder::S3DataEvent() {
  static constexpr std::array<std::string_view, 2> kBuckets = {"acme-prod-uploads", "acme-prod-reports"};
  const std::string bucket(rng_.Pick(kBuckets));
  const uint64_t r = rng_.Below(100);
  const std::string name = r < 78 ? "GetObject" : r < 95 ? "PutObject" : "HeadObject";
  const std::string key = "ingest/" + DatePath(day_start_) + "/" + rng_.Hex(12) + ".json";
  Call c;
  c.who = rng_.PerMille(850) ? app_worker_ : lambda_ingest_;
  c.time_ns = AnyTime();
  c.source = "s3.amazonaws.com";
  c.name = name;
  c.data_event = true;
  c.read_only = name != "PutObject";
  c.request = Obj({{"bucketName", Q(bucket)}, {"Host", Q(bucket + ".s3.us-east-1.amazonaws.com")}, {"key", Q(key)}});
  if (name == "PutObject") {
    c.response = Obj({{"x-amz-server-side-encryption", Q("aws:kms")},
                      {"x-amz-server-side-encryption-aws-kms-key-id", Q(kms_key_)}});
  }
  const int64_t bytes = 512 + static_cast<int64_t>(rng_.Below(200000));
  c.additional = Obj({{"SignatureVersion", Q("SigV4")}, {"CipherSuite", Q("TLS_AES_128_GCM_SHA256")},
                      {"bytesTransferredIn", Num(name == "PutObject" ? bytes : 0)},
                      {"AuthenticationMethod", Q("AuthHeader")},
                      {"x-amz-id-2", Q(rng_.Chars(56, kAlnum))},
                      {"bytesTransferredOut", Num(name == "GetObject" ? bytes : 0)}});
  c.resources = Arr({Obj({{"type", Q("AWS::S3::Object")}, {"ARN", Q("arn:aws:s3:::" + bucket + "/" + key)}}),
                     Obj({{"accountId", Q(std::string(kWorkloadAccount))}, {"type", Q("AWS::S3::Bucket")},
                          {"ARN", Q("arn:aws:s3:::" + bucket)}})});
  Emit(c);
}

void DayBuilder::KmsDataKey() {
  Call c;
  c.who = rng_.PerMille(700) ? app_worker_ : lambda_ingest_;
  c.time_ns = AnyTime();
  c.source = "kms.amazonaws.com";
  c.name = rng_.PerMille(600) ? "Decrypt" : "GenerateDataKey";
  c.request = c.name == "Decrypt"
                  ? Obj({{"encryptionAlgorithm", Q("SYMMETRIC_DEFAULT")},
                         {"encryptionContext", Obj({{"aws:s3:arn", Q("arn:aws:s3:::acme-prod-uploads")}})}})
                  : Obj({{"keyId", Q(kms_key_)}, {"keySpec", Q("AES_256")},
                         {"encryptionContext", Obj({{"aws:s3:arn", Q("arn:aws:s3:::acme-prod-uploads")}})}});
  c.resources = Arr({Obj({{"accountId", Q(std::string(kWorkloadAccount))}, {"type", Q("AWS::KMS::Key")}, {"ARN", Q(kms_key_)}})});
  Emit(c);
}

void DayBuilder::ScannerRead() {
  const ReadCall& api = ReadCatalogue()[rng_.Below(kRoutineReadApis)];
  Call c;
  c.who = rng_.Pick(scanners_);
  c.time_ns = AnyTime();
  c.source = api.source;
  c.name = api.name;
  c.request = api.request;
  c.region = c.source == "iam.amazonaws.com" ? GlobalRegion() : Region();
  Emit(c);
}

void DayBuilder::ConfigRecorderRead() {
  static constexpr std::array<std::string_view, 5> kNames = {"DescribeInstances", "DescribeSecurityGroups",
                                                             "DescribeNetworkInterfaces", "DescribeVpcs",
                                                             "DescribeSubnets"};
  Call c;
  c.who = rng_.Pick(config_roles_);
  c.time_ns = AnyTime();
  c.source = "ec2.amazonaws.com";
  c.name = rng_.Pick(kNames);
  c.request = R"({"filterSet":{}})";
  c.region = Region();
  Emit(c);
}

void DayBuilder::ServiceAssumeRole() {
  const Principal* svc = rng_.Pick(services_);
  std::string role;
  std::string session;
  if (svc->name == "ec2.amazonaws.com") {
    bool worker = rng_.PerMille(500);
    role = worker ? "app-worker" : "inventory-scanner";
    session = worker ? instances_[0] : instances_[3];
  } else if (svc->name == "lambda.amazonaws.com") {
    role = "lambda-ingest";
    session = "ingest";
  } else {
    role = "AWSServiceRoleForConfig";
    session = "AWSConfig-Describe";
  }
  const std::string account(rng_.PerMille(750) ? kWorkloadAccount : kSecurityAccount);
  const std::string role_arn = "arn:aws:iam::" + account + ":role/" +
                               (role == "AWSServiceRoleForConfig" ? "aws-service-role/config.amazonaws.com/" : "") + role;
  Call c;
  c.who = svc;
  c.account = account;
  c.time_ns = AnyTime();
  c.source = "sts.amazonaws.com";
  c.name = "AssumeRole";
  c.region = Region();
  c.request = Obj({{"roleArn", Q(role_arn)}, {"roleSessionName", Q(session)}});
  c.response = Obj({{"credentials", Obj({{"accessKeyId", Q("ASIA" + rng_.Chars(16, kUpperAlnum))},
                                         {"sessionToken", Q(rng_.Chars(120, kAlnum))},
                                         {"expiration", Q(ResponseDate(day_start_ + kDay - kSecond))}})}});
  c.resources = Arr({Obj({{"accountId", Q(account)}, {"type", Q("AWS::IAM::Role")}, {"ARN", Q(role_arn)}})});
  Emit(c);
}

void DayBuilder::CiActivity() {
  Call c;
  c.time_ns = HumanTime();
  c.region = "us-east-1";
  if (rng_.PerMille(350)) {
    c.who = svc_ci_;
    c.source = "sts.amazonaws.com";
    c.name = "AssumeRole";
    const std::string role_arn = deploy_->RoleArn();
    c.request = Obj({{"roleArn", Q(role_arn)}, {"roleSessionName", Q(deploy_->session)}, {"durationSeconds", Num(3600)}});
    c.response = Obj({{"credentials", Obj({{"accessKeyId", Q("ASIA" + rng_.Chars(16, kUpperAlnum))},
                                           {"sessionToken", Q(rng_.Chars(120, kAlnum))},
                                           {"expiration", Q(ResponseDate(day_start_ + kDay - kSecond))}})},
                      {"assumedRoleUser", Obj({{"assumedRoleId", Q(deploy_->id + ":" + deploy_->session)},
                                               {"arn", Q(deploy_->Arn())}})}});
    c.resources = Arr({Obj({{"accountId", Q(std::string(kWorkloadAccount))}, {"type", Q("AWS::IAM::Role")}, {"ARN", Q(role_arn)}})});
    Emit(c);
    return;
  }
  c.who = deploy_;
  const uint64_t r = rng_.Below(5);
  if (r == 0) {
    c.source = "ecr.amazonaws.com";
    c.name = "GetAuthorizationToken";
  } else if (r == 1) {
    c.source = "ecs.amazonaws.com";
    c.name = "DescribeServices";
    c.request = Obj({{"cluster", Q("prod")}, {"services", Arr({Q("api"), Q("worker")})}});
  } else if (r == 2) {
    c.source = "cloudformation.amazonaws.com";
    c.name = "DescribeStacks";
    c.request = Obj({{"stackName", Q("prod-api")}});
  } else if (r == 3) {
    c.source = "ecs.amazonaws.com";
    c.name = "UpdateService";
    c.read_only = false;
    c.request = Obj({{"cluster", Q("prod")}, {"service", Q("api")}, {"taskDefinition", Q("api:" + Num(100 + rng_.Below(50)))}});
  } else {
    c.source = "lambda.amazonaws.com";
    c.name = "UpdateFunctionCode20150331v2";
    c.read_only = false;
    c.request = Obj({{"functionName", Q("ingest")}, {"s3Bucket", Q("acme-prod-artifacts")},
                     {"s3Key", Q("ingest/" + rng_.Hex(12) + ".zip")}, {"publish", Bool(true)}});
  }
  Emit(c);
}

void DayBuilder::LambdaActivity() {
  Call c;
  c.who = lambda_ingest_;
  c.time_ns = AnyTime();
  if (rng_.PerMille(500)) {
    c.source = "logs.amazonaws.com";
    c.name = "CreateLogStream";
    c.read_only = false;
    c.request = Obj({{"logGroupName", Q("/aws/lambda/ingest")},
                     {"logStreamName", Q(DatePath(day_start_) + "/[$LATEST]" + rng_.Hex(32))}});
  } else {
    c.source = "ssm.amazonaws.com";
    c.name = "GetParameter";
    c.request = Obj({{"name", Q("/prod/ingest/endpoint")}, {"withDecryption", Bool(false)}});
  }
  Emit(c);
}

void DayBuilder::HumanWrite() {
  Call c;
  c.time_ns = HumanTime();
  c.region = Region();
  c.source = "ec2.amazonaws.com";
  c.read_only = false;
  const std::string& instance = instances_[1 + rng_.Below(2)];
  const uint64_t r = rng_.Below(4);
  if (r == 3) {
    c.who = svc_backup_;
    c.name = "CreateSnapshot";
    c.request = Obj({{"volumeId", Q("vol-0" + rng_.Hex(16))}, {"description", Q("nightly backup")}});
    c.time_ns = day_start_ + kHour + static_cast<int64_t>(rng_.Below(3600)) * kSecond;
  } else {
    c.who = console_users_[3];  // dave runs operations
    c.console = true;
    c.name = r == 0 ? "CreateTags" : r == 1 ? "StopInstances" : "StartInstances";
    if (r == 0) {
      c.request = Obj({{"resourcesSet", Obj({{"items", Arr({Obj({{"resourceId", Q(instance)}})})}})},
                       {"tagSet", Obj({{"items", Arr({Obj({{"key", Q("owner")}, {"value", Q("ops")}})})}})}});
    } else {
      c.request = Obj({{"instancesSet", Obj({{"items", Arr({Obj({{"instanceId", Q(instance)}})})}})}});
    }
  }
  Emit(c);
}

void DayBuilder::BenignError() {
  Call c;
  const uint64_t r = rng_.Below(4);
  if (r == 0) {
    c.who = rng_.Pick(scanners_);
    c.time_ns = AnyTime();
    c.source = "ec2.amazonaws.com";
    c.name = "DescribeInstances";
    c.request = R"({"instancesSet":{},"filterSet":{}})";
    c.error_code = "Client.RequestLimitExceeded";
    c.error_message = "Request limit exceeded.";
  } else if (r == 1) {
    c.who = rng_.Pick(scanners_);
    c.time_ns = AnyTime();
    c.source = "s3.amazonaws.com";
    c.name = "GetBucketPolicy";
    c.request = Obj({{"bucketName", Q("acme-prod-uploads")}, {"Host", Q("acme-prod-uploads.s3.amazonaws.com")}, {"policy", Q("")}});
    c.error_code = "NoSuchBucketPolicy";
    c.error_message = "The bucket policy does not exist";
  } else if (r == 2) {
    c.who = rng_.Pick(cli_users_);
    c.time_ns = HumanTime();
    c.source = "iam.amazonaws.com";
    c.name = "GetUser";
    c.request = Obj({{"userName", Q("svc-legacy")}});
    c.error_code = "NoSuchEntityException";
    c.error_message = "The user with name svc-legacy cannot be found.";
  } else {
    c.who = deploy_;
    c.time_ns = HumanTime();
    c.source = "lambda.amazonaws.com";
    c.name = "GetFunction20150331v2";
    c.request = Obj({{"functionName", Q("ingest-canary")}});
    c.error_code = "ResourceNotFoundException";
    c.error_message = "Function not found: arn:aws:lambda:us-east-1:" + std::string(kWorkloadAccount) + ":function:ingest-canary";
  }
  c.region = c.source == "iam.amazonaws.com" ? GlobalRegion() : "us-east-1";
  Emit(c);
}

void DayBuilder::CrossAccountAssume() {
  Call c;
  c.who = console_users_[4];  // frank, from the security account
  c.account = std::string(kSecurityAccount);
  c.time_ns = HumanTime();
  c.source = "sts.amazonaws.com";
  c.name = "AssumeRole";
  c.user_agent = "aws-cli/2.15.30 Python/3.11.8 Darwin/23.3.0 exe/x86_64 prompt/off command/sts.assume-role";
  const std::string role_arn = audit_reader_->RoleArn();
  c.request = Obj({{"roleArn", Q(role_arn)}, {"roleSessionName", Q("frank")}});
  c.response = Obj({{"credentials", Obj({{"accessKeyId", Q("ASIA" + rng_.Chars(16, kUpperAlnum))},
                                         {"sessionToken", Q(rng_.Chars(120, kAlnum))},
                                         {"expiration", Q(ResponseDate(day_start_ + kDay - kSecond))}})},
                    {"assumedRoleUser", Obj({{"assumedRoleId", Q(audit_reader_->id + ":frank")}, {"arn", Q(audit_reader_->Arn())}})}});
  c.resources = Arr({Obj({{"accountId", Q(std::string(kWorkloadAccount))}, {"type", Q("AWS::IAM::Role")}, {"ARN", Q(role_arn)}})});
  Emit(c);
}

void DayBuilder::Routine(size_t n) {
  size_t made = 0;
  // Every console user signs in with MFA once, in their morning.
  for (Principal* p : console_users_) {
    if (made == n) break;
    ConsoleLogin(*p, day_start_ + 7 * kHour + 30 * kMinute + static_cast<int64_t>(rng_.Below(7200)) * kSecond);
    ++made;
  }
  for (; made < n; ++made) {
    const uint64_t r = rng_.Below(1000);
    if (r < 300) {
      HumanRead(*rng_.Pick(cli_users_));
    } else if (r < 320) {
      HumanRead(*audit_reader_);
    } else if (r < 580) {
      S3DataEvent();
    } else if (r < 660) {
      KmsDataKey();
    } else if (r < 760) {
      ScannerRead();
    } else if (r < 810) {
      ConfigRecorderRead();
    } else if (r < 870) {
      ServiceAssumeRole();
    } else if (r < 910) {
      CiActivity();
    } else if (r < 940) {
      LambdaActivity();
    } else if (r < 960) {
      HumanWrite();
    } else if (r < 980) {
      BenignError();
    } else {
      CrossAccountAssume();
    }
  }
}

// --- attacks ---------------------------------------------------------------

void DayBuilder::Attacks() {
  const std::string w(kWorkloadAccount);
  const std::string attacker_ua = "Boto3/1.9.201 Python/2.7.18 Linux/4.19.0-kali Botocore/1.12.201";
  int64_t t = day_start_ + 2 * kHour + 7 * kMinute + static_cast<int64_t>(rng_.Below(600)) * kSecond;
  auto step = [&](int64_t max_seconds) { t += (1 + static_cast<int64_t>(rng_.Below(max_seconds))) * kSecond; };

  // 1. erin's leaked access key, used from an unfamiliar address: discovery
  //    with many refusals (CIS 4.1).
  struct Probe {
    std::string_view source, name, error;
  };
  constexpr std::array<Probe, 15> kProbes = {{
      {"sts.amazonaws.com", "GetCallerIdentity", ""},
      {"iam.amazonaws.com", "ListUsers", "AccessDenied"},
      {"iam.amazonaws.com", "ListRoles", "AccessDenied"},
      {"iam.amazonaws.com", "GetAccountAuthorizationDetails", "AccessDenied"},
      {"iam.amazonaws.com", "ListAttachedUserPolicies", "AccessDenied"},
      {"s3.amazonaws.com", "ListBuckets", ""},
      {"ec2.amazonaws.com", "DescribeInstances", ""},
      {"ec2.amazonaws.com", "GetPasswordData", "Client.UnauthorizedOperation"},
      {"ec2.amazonaws.com", "GetPasswordData", "Client.UnauthorizedOperation"},
      {"ec2.amazonaws.com", "GetPasswordData", "Client.UnauthorizedOperation"},
      {"secretsmanager.amazonaws.com", "ListSecrets", "AccessDeniedException"},
      {"ssm.amazonaws.com", "DescribeParameters", "AccessDeniedException"},
      {"kms.amazonaws.com", "ListKeys", "AccessDeniedException"},
      {"organizations.amazonaws.com", "DescribeOrganization", "AccessDeniedException"},
      {"lambda.amazonaws.com", "ListFunctions20150331", "AccessDeniedException"},
  }};
  int password_probe = 0;
  for (const Probe& p : kProbes) {
    step(20);
    Call c;
    c.who = erin_;
    c.time_ns = t;
    c.source = p.source;
    c.name = p.name;
    c.region = p.source == "iam.amazonaws.com" ? GlobalRegion() : "us-east-1";
    c.ip = kAttackerIp;
    c.user_agent = attacker_ua;
    if (p.name == "GetPasswordData") c.request = Obj({{"instanceId", Q(instances_[password_probe++ % instances_.size()])}});
    if (p.name == "ListAttachedUserPolicies") c.request = Obj({{"userName", Q("erin")}});
    if (p.name == "ListBuckets") c.request = R"({"Host":"s3.amazonaws.com"})";
    if (p.name == "DescribeInstances") c.request = R"({"instancesSet":{},"filterSet":{}})";
    if (!p.error.empty()) {
      c.error_code = p.error;
      std::string action = std::string(p.source.substr(0, p.source.find('.'))) + ":" + std::string(p.name);
      if (p.source == "ec2.amazonaws.com") {
        c.error_message = "You are not authorized to perform this operation. User: " + erin_->Arn() +
                          " is not authorized to perform: " + action + " on resource: arn:aws:ec2:us-east-1:" + w +
                          ":instance/" + instances_[(password_probe + 3) % instances_.size()] +
                          " because no identity-based policy allows the " + action + " action.";
      } else {
        c.error_message = "User: " + erin_->Arn() + " is not authorized to perform: " + action +
                          " because no identity-based policy allows the " + action + " action";
      }
    }
    Label("leaked-key-recon", p.error.empty() ? "" : "4.1", Emit(c), c);
  }

  // 2. Password guessing on erin's console password, then a sign-in without
  //    MFA (CIS 4.6 three times, then 4.2).
  t += 9 * kMinute;
  for (int i = 0; i < 4; ++i) {
    step(40);
    const bool ok = i == 3;
    Call c = ConsoleLoginCall(erin_, t, ok, /*mfa=*/false);
    c.ip = kAttackerIp;
    c.user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0";
    Label(ok ? "console-login-without-mfa" : "console-password-guessing", ok ? "4.2" : "4.6", Emit(c), c);
  }

  // 3. The CI user's key (found in a build log) assumes the deploy role and
  //    creates a backdoor administrator with an access key (CIS 4.4).
  t += 14 * kMinute;
  Principal attacker_deploy = *deploy_;
  attacker_deploy.session = "ci-" + rng_.Hex(8);
  attacker_deploy.ip = kAttackerIp;
  attacker_deploy.user_agent = attacker_ua;
  const Principal* deploy_session = Add(attacker_deploy);
  {
    step(30);
    Call c;
    c.who = svc_ci_;
    c.time_ns = t;
    c.source = "sts.amazonaws.com";
    c.name = "AssumeRole";
    c.ip = kAttackerIp;
    c.user_agent = attacker_ua;
    c.request = Obj({{"roleArn", Q(deploy_->RoleArn())}, {"roleSessionName", Q(deploy_session->session)}});
    c.response = Obj({{"credentials", Obj({{"accessKeyId", Q("ASIA" + rng_.Chars(16, kUpperAlnum))},
                                           {"sessionToken", Q(rng_.Chars(120, kAlnum))},
                                           {"expiration", Q(ResponseDate(t + kHour))}})},
                      {"assumedRoleUser", Obj({{"assumedRoleId", Q(deploy_session->id + ":" + deploy_session->session)},
                                               {"arn", Q(deploy_session->Arn())}})}});
    Label("admin-user-backdoor", "", Emit(c), c);
  }
  Principal backdoor = MakeUser(w, "backup-admin", std::string(kAttackerIp), attacker_ua);
  {
    step(30);
    Call c;
    c.who = deploy_session;
    c.time_ns = t;
    c.source = "iam.amazonaws.com";
    c.name = "CreateUser";
    c.read_only = false;
    c.request = Obj({{"userName", Q(backdoor.name)}});
    c.response = Obj({{"user", Obj({{"path", Q("/")}, {"userName", Q(backdoor.name)}, {"userId", Q(backdoor.id)},
                                    {"arn", Q(backdoor.Arn())}, {"createDate", Q(ResponseDate(t))}})}});
    Label("admin-user-backdoor", "", Emit(c), c);
    step(10);
    c.time_ns = t;
    c.name = "AttachUserPolicy";
    c.request = Obj({{"userName", Q(backdoor.name)}, {"policyArn", Q("arn:aws:iam::aws:policy/AdministratorAccess")}});
    c.response = "null";
    Label("admin-user-backdoor", "4.4", Emit(c), c);
    step(10);
    c.time_ns = t;
    c.name = "CreateAccessKey";
    c.request = Obj({{"userName", Q(backdoor.name)}});
    c.response = Obj({{"accessKey", Obj({{"userName", Q(backdoor.name)}, {"accessKeyId", Q(backdoor.access_key)},
                                         {"status", Q("Active")}, {"createDate", Q(ResponseDate(t))}})}});
    Label("admin-user-backdoor", "", Emit(c), c);
  }

  // 4. The backdoor user blinds and opens the estate.
  const Principal* admin = Add(backdoor);
  t += 5 * kMinute;
  {
    step(30);
    Call c;
    c.who = admin;
    c.time_ns = t;
    c.source = "cloudtrail.amazonaws.com";
    c.name = "StopLogging";
    c.read_only = false;
    c.request = Obj({{"name", Q("arn:aws:cloudtrail:us-east-1:" + w + ":trail/" + std::string(kTrailName))}});
    Label("trail-stopped", "4.5", Emit(c), c);
  }
  {
    step(60);
    const std::string sg = "sg-0" + rng_.Hex(16);
    Call c;
    c.who = admin;
    c.time_ns = t;
    c.source = "ec2.amazonaws.com";
    c.name = "AuthorizeSecurityGroupIngress";
    c.read_only = false;
    c.request = Obj({{"groupId", Q(sg)},
                     {"ipPermissions",
                      Obj({{"items", Arr({Obj({{"ipProtocol", Q("tcp")}, {"fromPort", Num(22)}, {"toPort", Num(22)},
                                               {"groups", "{}"},
                                               {"ipRanges", Obj({{"items", Arr({Obj({{"cidrIp", Q("0.0.0.0/0")}})})}})},
                                               {"ipv6Ranges", "{}"}, {"prefixListIds", "{}"}})})}})}});
    c.response = Obj({{"requestId", Q(rng_.Uuid())}, {"_return", Bool(true)},
                      {"securityGroupRuleSet",
                       Obj({{"items", Arr({Obj({{"groupOwnerId", Q(w)}, {"groupId", Q(sg)},
                                                {"securityGroupRuleId", Q("sgr-0" + rng_.Hex(16))}, {"isEgress", Bool(false)},
                                                {"ipProtocol", Q("tcp")}, {"fromPort", Num(22)}, {"toPort", Num(22)},
                                                {"cidrIpv4", Q("0.0.0.0/0")}})})}})}});
    Label("ssh-open-to-world", "4.10", Emit(c), c);
  }
  {
    step(60);
    const std::string bucket = "acme-prod-reports";
    const std::string policy = R"({"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::)" +
                               bucket + R"(/*"}]})";
    Call c;
    c.who = admin;
    c.time_ns = t;
    c.source = "s3.amazonaws.com";
    c.name = "PutBucketPolicy";
    c.read_only = false;
    c.request = Obj({{"bucketName", Q(bucket)}, {"Host", Q(bucket + ".s3.amazonaws.com")}, {"policy", Q("")},
                     {"bucketPolicy", policy}});
    c.resources = Arr({Obj({{"accountId", Q(w)}, {"type", Q("AWS::S3::Bucket")}, {"ARN", Q("arn:aws:s3:::" + bucket)}})});
    Label("bucket-made-public", "4.8", Emit(c), c);
  }
  {
    step(60);
    Call c;
    c.who = admin;
    c.time_ns = t;
    c.source = "kms.amazonaws.com";
    c.name = "ScheduleKeyDeletion";
    c.read_only = false;
    c.request = Obj({{"keyId", Q(kms_key_)}, {"pendingWindowInDays", Num(7)}});
    c.response = Obj({{"keyId", Q(kms_key_)}, {"deletionDate", Q(ResponseDate(t + 7 * kDay))},
                      {"keyState", Q("PendingDeletion")}, {"pendingWindowInDays", Num(7)}});
    c.resources = Arr({Obj({{"accountId", Q(w)}, {"type", Q("AWS::KMS::Key")}, {"ARN", Q(kms_key_)}})});
    Label("kms-key-deletion", "4.7", Emit(c), c);
  }

  // 5. Root signs in to the security account and looks around (CIS 4.3).
  t = day_start_ + 5 * kHour + 12 * kMinute + static_cast<int64_t>(rng_.Below(300)) * kSecond;
  {
    Call c = ConsoleLoginCall(root_security_, t, /*success=*/true, /*mfa=*/false);
    Label("root-console-login", "4.3", Emit(c), c);
    step(90);
    c = Call();
    c.who = root_security_;
    c.time_ns = t;
    c.source = "iam.amazonaws.com";
    c.name = "ListUsers";
    Label("root-console-login", "4.3", Emit(c), c);
  }
}

// --- output ----------------------------------------------------------------

struct LogFile {
  std::string account;
  std::string region;
  std::string key;  // relative path
  int64_t oldest = 0;
  int64_t newest = 0;
};

Result<GeneratorSummary> DayBuilder::Write(const std::string& out_dir) {
  std::stable_sort(records_.begin(), records_.end(), [](const Record& a, const Record& b) {
    return std::tie(a.account, a.region, a.time_ns, a.seq) < std::tie(b.account, b.region, b.time_ns, b.seq);
  });
  GeneratorSummary summary;
  summary.accounts = {std::string(kWorkloadAccount), std::string(kSecurityAccount)};
  const std::filesystem::path root(out_dir);
  std::vector<LogFile> written;

  size_t i = 0;
  while (i < records_.size()) {
    const Record& first = records_[i];
    const int64_t window = first.time_ns - ((first.time_ns % kDeliveryWindow) + kDeliveryWindow) % kDeliveryWindow;
    size_t j = i;
    std::string body = "{\"Records\":[";
    while (j < records_.size() && records_[j].account == first.account && records_[j].region == first.region &&
           records_[j].time_ns < window + kDeliveryWindow) {
      if (j > i) body.push_back(',');
      body += records_[j].json;
      ++j;
    }
    body += "]}";
    const int64_t delivered = window + kDeliveryWindow;
    LogFile lf;
    lf.account = first.account;
    lf.region = first.region;
    lf.oldest = first.time_ns;
    lf.newest = records_[j - 1].time_ns;
    lf.key = "AWSLogs/" + first.account + "/CloudTrail/" + first.region + "/" + DatePath(delivered) + "/" +
             first.account + "_CloudTrail_" + first.region + "_" + FileStamp(delivered) + "_" +
             rng_.Chars(16, kAlnum) + ".json.gz";
    VIGIL_ASSIGN_OR_RETURN(std::string gz, Gzip(body));
    VIGIL_RETURN_IF_ERROR(WriteFile(root / lf.key, gz));
    summary.bytes_written += gz.size();
    summary.files.push_back(lf.key);
    written.push_back(std::move(lf));
    i = j;
  }
  summary.log_files = written.size();

  // One digest for the workload account's us-east-1 logs of the first hour.
  const std::string account(kWorkloadAccount);
  const std::string region = "us-east-1";
  const int64_t digest_end = day_start_ + kHour;
  std::vector<std::string> entries;
  int64_t oldest = 0, newest = 0;
  for (const LogFile& lf : written) {
    if (lf.account != account || lf.region != region || lf.oldest < day_start_ || lf.oldest >= digest_end) continue;
    if (entries.empty() || lf.oldest < oldest) oldest = lf.oldest;
    newest = std::max(newest, lf.newest);
    entries.push_back(Obj({{"s3Bucket", Q(kTrailBucket)}, {"s3Object", Q(lf.key)}, {"hashValue", Q(rng_.Hex(64))},
                           {"hashAlgorithm", Q("SHA-256")}, {"newestEventTime", Q(FormatRfc3339(lf.newest))},
                           {"oldestEventTime", Q(FormatRfc3339(lf.oldest))}}));
  }
  const std::string digest_key = "AWSLogs/" + account + "/CloudTrail-Digest/" + region + "/" + DatePath(digest_end) +
                                 "/" + account + "_CloudTrail-Digest_" + region + "_" + std::string(kTrailName) + "_" +
                                 region + "_" + FileStamp(digest_end) + ".json.gz";
  const std::string digest = Obj({
      {"awsAccountId", Q(account)},
      {"digestStartTime", Q(FormatRfc3339(day_start_))},
      {"digestEndTime", Q(FormatRfc3339(digest_end))},
      {"digestS3Bucket", Q(kTrailBucket)},
      {"digestS3Object", Q(digest_key)},
      {"digestPublicKeyFingerprint", Q(rng_.Hex(32))},
      {"digestSignatureAlgorithm", Q("SHA256withRSA")},
      {"newestEventTime", entries.empty() ? "null" : Q(FormatRfc3339(newest))},
      {"oldestEventTime", entries.empty() ? "null" : Q(FormatRfc3339(oldest))},
      {"previousDigestS3Bucket", "null"},
      {"previousDigestS3Object", "null"},
      {"previousDigestHashValue", "null"},
      {"previousDigestHashAlgorithm", "null"},
      {"previousDigestSignature", "null"},
      {"logFiles", Arr(entries)},
  });
  VIGIL_ASSIGN_OR_RETURN(std::string gz, Gzip(digest));
  VIGIL_RETURN_IF_ERROR(WriteFile(root / digest_key, gz));
  summary.bytes_written += gz.size();
  summary.files.push_back(digest_key);
  summary.digest_files = 1;

  summary.records = records_.size();
  summary.attack_records = attack_records_;
  summary.routine_records = records_.size() - attack_records_;
  summary.attacks = std::move(attacks_);
  return summary;
}

}  // namespace

Result<GeneratorSummary> GenerateCloudTrailDay(const GeneratorOptions& options, const std::string& out_dir) {
  if (out_dir.empty()) return Status::InvalidArgument("cloudtrail generator: empty output directory");
  if (options.routine_events > kMaxRoutineEvents) {
    return Status::InvalidArgument("cloudtrail generator: routine_events " + std::to_string(options.routine_events) +
                                   " exceeds " + std::to_string(kMaxRoutineEvents));
  }
  if (options.day_start_ns < 0) return Status::InvalidArgument("cloudtrail generator: day_start_ns before 1970");
  DayBuilder day(options);
  day.BuildOrg();
  day.Routine(options.routine_events);
  if (options.attacks) day.Attacks();
  return day.Write(out_dir);
}

}  // namespace vigil
