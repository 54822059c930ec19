#include "simulate/cloudtrail_record.h"

#include "common/time.h"

namespace vigil::sim {
namespace {

std::string Identity(const Call& c) {
  const Principal& p = *c.who;
  const std::string created = FormatRfc3339(c.time_ns - c.time_ns % kHour);
  const std::string temp_key = p.id.size() > 4 ? "ASIA" + p.id.substr(4, 16) : std::string();
  if (c.name == "ConsoleLogin" && (p.kind == Kind::kIamUser || p.kind == Kind::kRoot)) {
    // Sign-in records carry no credentials.
    const bool user = p.kind == Kind::kIamUser;
    return Obj({{"type", Q(user ? "IAMUser" : "Root")}, {"principalId", Q(user ? p.id : p.account)}, {"arn", Q(p.Arn())},
                {"accountId", Q(p.account)}, {"accessKeyId", user ? "" : Q("")}, {"userName", user ? Q(p.name) : ""}});
  }
  switch (p.kind) {
    case Kind::kIamUser: {
      std::string ctx;
      if (c.console) {
        ctx = Obj({{"attributes", Obj({{"creationDate", Q(created)}, {"mfaAuthenticated", Q(c.mfa_session ? "true" : "false")}})}});
      }
      return Obj({{"type", Q("IAMUser")}, {"principalId", Q(p.id)}, {"arn", Q(p.Arn())}, {"accountId", Q(p.account)},
                  {"accessKeyId", Q(c.console ? temp_key : p.access_key)}, {"userName", Q(p.name)},
                  {"sessionContext", ctx}});
    }
    case Kind::kAssumedRole:
      return Obj({{"type", Q("AssumedRole")}, {"principalId", Q(p.id + ":" + p.session)}, {"arn", Q(p.Arn())},
                  {"accountId", Q(p.account)}, {"accessKeyId", Q(temp_key)},
                  {"sessionContext",
                   Obj({{"sessionIssuer", Obj({{"type", Q("Role")}, {"principalId", Q(p.id)}, {"arn", Q(p.RoleArn())},
                                               {"accountId", Q(p.account)}, {"userName", Q(p.name)}})},
                        {"attributes", Obj({{"creationDate", Q(created)}, {"mfaAuthenticated", Q("false")}})},
                        {"ec2RoleDelivery", p.session.rfind("i-", 0) == 0 ? Q("2.0") : ""}})},
                  {"invokedBy", p.invoked_by.empty() ? "" : Q(p.invoked_by)}});
    case Kind::kRoot:
      return Obj({{"type", Q("Root")}, {"principalId", Q(p.account)}, {"arn", Q(p.Arn())}, {"accountId", Q(p.account)},
                  {"accessKeyId", c.console ? Q("") : Q(temp_key)},
                  {"sessionContext", c.console ? "" : Obj({{"attributes", Obj({{"creationDate", Q(created)}, {"mfaAuthenticated", Q("false")}})}})}});
    case Kind::kAwsService:
      return Obj({{"type", Q("AWSService")}, {"invokedBy", Q(p.invoked_by)}});
  }
  return "{}";
}

}  // namespace

const std::vector<ReadCall>& ReadCatalogue() {
  static const std::vector<ReadCall> kCalls = {
      {"ec2.amazonaws.com", "DescribeInstances", R"({"instancesSet":{},"filterSet":{}})"},
      {"ec2.amazonaws.com", "DescribeSecurityGroups", R"({"securityGroupSet":{},"securityGroupIdSet":{},"filterSet":{}})"},
      {"ec2.amazonaws.com", "DescribeVpcs", R"({"vpcSet":{},"filterSet":{}})"},
      {"ec2.amazonaws.com", "DescribeSubnets", R"({"subnetSet":{},"filterSet":{}})"},
      {"ec2.amazonaws.com", "DescribeVolumes", R"({"volumeSet":{},"filterSet":{}})"},
      {"s3.amazonaws.com", "ListBuckets", R"({"Host":"s3.amazonaws.com"})"},
      {"iam.amazonaws.com", "ListRoles", "null"},
      {"iam.amazonaws.com", "GetAccountSummary", "null"},
      {"monitoring.amazonaws.com", "DescribeAlarms", R"({"maxRecords":100})"},
      {"monitoring.amazonaws.com", "GetMetricData", R"({"maxDatapoints":1440})"},
      {"logs.amazonaws.com", "DescribeLogGroups", R"({"limit":50})"},
      {"logs.amazonaws.com", "FilterLogEvents", R"({"logGroupName":"/aws/lambda/ingest","interleaved":true,"limit":100})"},
      {"lambda.amazonaws.com", "ListFunctions20150331", "null"},
      {"cloudtrail.amazonaws.com", "LookupEvents", R"({"maxResults":50})"},
      {"sts.amazonaws.com", "GetCallerIdentity", "null"},
      {"rds.amazonaws.com", "DescribeDBInstances", "null"},
      {"ssm.amazonaws.com", "DescribeInstanceInformation", R"({"maxResults":50})"},
      {"cloudformation.amazonaws.com", "DescribeStacks", "null"},
      {"cloudformation.amazonaws.com", "ListStacks", "null"},
      {"ecs.amazonaws.com", "ListClusters", "null"},
      {"ecs.amazonaws.com", "DescribeServices", R"({"cluster":"prod","services":["api","worker"]})"},
      {"dynamodb.amazonaws.com", "DescribeTable", R"({"tableName":"orders"})"},
      {"sqs.amazonaws.com", "ListQueues", "null"},
      {"kms.amazonaws.com", "ListAliases", "null"},
      // Calls routine work never makes: only attackers in discovery reach them.
      {"iam.amazonaws.com", "ListUsers", "null"},
      {"iam.amazonaws.com", "GetAccountAuthorizationDetails", R"({"filter":["User","Role","Group","LocalManagedPolicy"]})"},
      {"iam.amazonaws.com", "ListAccessKeys", "null"},
      {"iam.amazonaws.com", "ListAttachedUserPolicies", "null"},
      {"iam.amazonaws.com", "ListPolicies", R"({"onlyAttached":true})"},
      {"iam.amazonaws.com", "ListGroups", "null"},
      {"organizations.amazonaws.com", "DescribeOrganization", "null"},
      {"organizations.amazonaws.com", "ListAccounts", "null"},
      {"secretsmanager.amazonaws.com", "ListSecrets", "null"},
      {"ssm.amazonaws.com", "DescribeParameters", "null"},
      {"kms.amazonaws.com", "ListKeys", "null"},
      {"guardduty.amazonaws.com", "ListDetectors", "null"},
      {"cloudtrail.amazonaws.com", "DescribeTrails", "null"},
      {"ec2.amazonaws.com", "DescribeSnapshots", R"({"ownersSet":{"items":[{"owner":"self"}]}})"},
      {"ec2.amazonaws.com", "DescribeKeyPairs", "null"},
      {"route53.amazonaws.com", "ListHostedZones", "null"},
      {"backup.amazonaws.com", "ListBackupVaults", "null"},
      {"elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers", "null"},
  };
  return kCalls;
}

Call ConsoleLoginCall(const Principal* who, int64_t t, bool success, bool mfa) {
  Call c;
  c.who = who;
  c.time_ns = t;
  c.source = "signin.amazonaws.com";
  c.name = "ConsoleLogin";
  c.event_type = "AwsConsoleSignIn";
  c.read_only = false;
  c.request_id = false;
  c.console = true;
  c.mfa_session = mfa;
  c.response = Obj({{"ConsoleLogin", Q(success ? "Success" : "Failure")}});
  if (!success) c.error_message = "Failed authentication";
  const bool device = mfa && who->kind == Kind::kIamUser;
  c.additional = Obj({{"LoginTo", Q("https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true")},
                      {"MobileVersion", Q("No")},
                      {"MFAIdentifier", device ? Q("arn:aws:iam::" + who->account + ":mfa/" + who->name) : ""},
                      {"MFAUsed", Q(mfa ? "Yes" : "No")}});
  return c;
}

std::string RenderCloudTrail(const Call& c, Rng& rng, std::string* event_id_out) {
  const std::string event_id = rng.Uuid();
  const std::string account = c.account.empty() ? c.who->account : c.account;
  std::string request_id;
  if (c.request_id) request_id = c.source == "s3.amazonaws.com" ? rng.Chars(16, "0123456789ABCDEF") : rng.Uuid();
  std::string tls;
  if (c.who->kind != Kind::kAwsService && c.who->invoked_by.empty()) {
    std::string svc = c.source.substr(0, c.source.find('.'));
    std::string host = (svc == "iam" || svc == "signin") ? svc + ".amazonaws.com" : svc + "." + c.region + ".amazonaws.com";
    if (svc == "signin") host = "signin.aws.amazon.com";
    tls = Obj({{"tlsVersion", Q("TLSv1.3")}, {"cipherSuite", Q("TLS_AES_128_GCM_SHA256")}, {"clientProvidedHostHeader", Q(host)}});
  }
  std::string json = Obj({
      {"eventVersion", Q(c.data_event ? "1.10" : "1.09")},
      {"userIdentity", Identity(c)},
      {"eventTime", Q(FormatRfc3339(c.time_ns))},
      {"eventSource", Q(c.source)},
      {"eventName", Q(c.name)},
      {"awsRegion", Q(c.region)},
      {"sourceIPAddress", Q(c.ip.empty() ? c.who->ip : c.ip)},
      {"userAgent", Q(c.user_agent.empty() ? c.who->user_agent : c.user_agent)},
      {"errorCode", c.error_code.empty() ? "" : Q(c.error_code)},
      {"errorMessage", c.error_message.empty() ? "" : Q(c.error_message)},
      {"requestParameters", c.request},
      {"responseElements", c.response},
      {"additionalEventData", c.additional},
      {"requestID", request_id.empty() ? "" : Q(request_id)},
      {"eventID", Q(event_id)},
      {"readOnly", Bool(c.read_only)},
      {"resources", c.resources},
      {"eventType", Q(c.event_type)},
      {"managementEvent", Bool(!c.data_event)},
      {"recipientAccountId", Q(account)},
      {"sharedEventID", c.who->kind == Kind::kAwsService ? Q(rng.Uuid()) : ""},
      {"serviceEventDetails", c.service_details},
      {"eventCategory", Q(c.data_event ? "Data" : "Management")},
      {"tlsDetails", tls},
  });
  *event_id_out = event_id;
  return json;
}


}  // namespace vigil::sim
