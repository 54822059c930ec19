// The mappings against the reference data: every sample log of every AWS log
// type normalises to its class and validates against the OCSF schema, mapped
// values are the right ones, and the OCSF project's own example mappings
// agree wherever they cover an attribute vigil maps.
#include <simdjson.h>

#include <filesystem>
#include <map>

#include "event/json_fields.h"
#include "formats/record_fields.h"
#include "ocsf/internal/embedded.h"
#include "ocsf/internal/mapping.h"
#include "ocsf/ocsf_test_util.h"

namespace vigil::ocsf {
namespace {

namespace fs = std::filesystem;
using namespace testing;
using vigil::testing::ReadFile;

TEST(OcsfMappings, EveryMappingLoadsAndNamesOnlySchemaAttributes) {
  EXPECT_TRUE(MappingLoadErrors().empty()) << MappingLoadErrors().front();
  const auto types = MappedSourceTypes();
  for (std::string_view want : {"alb", "cloudtrail", "guardduty", "json", "route53resolver", "s3access",
                                "securityhub", "syslog", "vpcflow"})
    EXPECT_NE(std::find(types.begin(), types.end(), want), types.end()) << want;
  size_t checked = 0;
  for (const auto& t : types) {
    for (const auto& [class_uid, path] : MappedAttributes(t)) {
      Status st = TheSchema().CheckAttributePath(class_uid, path);
      EXPECT_TRUE(st.ok()) << t << " class " << class_uid << ": " << st.ToString();
      ++checked;
    }
  }
  EXPECT_GT(checked, 150u);
}

TEST(OcsfMappings, LoaderRejectsMistakesByName) {
  auto bad = [](std::string_view yaml) {
    auto m = internal::LoadMapping("t.yaml", yaml);
    return m.ok() ? std::string("loaded") : m.status().message();
  };
  const std::string head = "source_type: x\nclasses:\n  - class: [1, A]\n    category: [1, B]\n    activity: [1, C]\n";
  EXPECT_EQ(bad(head), "loaded");
  EXPECT_NE(bad(head + "    fields: {a: {from: b, as: ipv4}}").find("unknown type"), std::string::npos);
  EXPECT_NE(bad(head + "    fields: {a: {form: b}}").find("unknown key `form`"), std::string::npos);
  EXPECT_NE(bad(head + "    fields: {a: {from: b, value: 1}}").find("exactly one of"), std::string::npos);
  EXPECT_NE(bad("source_type: x\nclasses:\n  - class: [1, A]\n").find("needs `class:`"), std::string::npos);
  EXPECT_NE(bad("source_type: x\nclasses: [").find("t.yaml"), std::string::npos);
}

// The log files of one folder of the reference data (the AWS documentation
// pages under awsdocs/ are not logs).
std::vector<fs::path> LogFiles(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(kData + "/" + dir)) {
    if (!e.is_regular_file()) continue;
    const std::string p = e.path().string();
    if (p.find("/awsdocs/") != std::string::npos) continue;
    const std::string ext = e.path().extension().string();
    if (ext == ".log" || ext == ".jsonl" || (ext == ".json" && p.find("detonation-logs") != std::string::npos))
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct CorpusCase {
  std::string dir;
  std::string source_type;
  std::map<int, size_t> min_per_class;  // classes the folder must produce
};

TEST(OcsfCorpus, EverySampleParsesNormalisesAndValidates) {
  const std::vector<CorpusCase> cases = {
      {"vpcflow", "vpcflow", {{4001, 1}}},
      {"dns", "route53resolver", {{4003, 1}}},
      {"alb", "alb", {{4002, 1}, {4001, 1}}},
      {"s3access", "s3access", {{6003, 1}}},
      {"guardduty", "guardduty", {{2004, 1}}},
      {"securityhub", "securityhub", {{2004, 1}}},
      {"cloudtrail/stratus-red-team", "cloudtrail", {{6003, 1}, {3002, 1}}},
  };
  std::map<int, size_t> total_per_class;
  size_t events = 0, invalid = 0, violations = 0, excused = 0;
  for (const auto& c : cases) {
    const auto files = LogFiles(c.dir);
    ASSERT_FALSE(files.empty()) << c.dir;
    std::map<int, size_t> per_class;
    for (const auto& f : files) {
      SCOPED_TRACE(f.string());
      const std::string text = ReadFile(f);
      auto parsed = ParseSample(text);
      EXPECT_TRUE(parsed.dead.empty()) << parsed.dead.front().reason;
      EXPECT_FALSE(parsed.events.empty());
      for (const auto& e : parsed.events) {
        EXPECT_EQ(e.source_type, c.source_type);
        const Normalized& n = Ocsf(e);
        ++per_class[n.class_uid];
        ++events;
        invalid += n.invalid.size();
        ASSERT_FALSE(n.json.empty()) << e.raw;
        auto report = TheSchema().Validate(n.json, LeftOut(n));
        for (const auto& v : report.violations) ADD_FAILURE() << v.path << ": " << v.problem << "\n" << n.json;
        violations += report.violations.size();
        excused += report.excused.size();
        // Nothing is excused that the normaliser did not leave out.
        if (n.invalid.empty()) EXPECT_TRUE(report.excused.empty()) << report.excused.front().problem;
      }
    }
    for (const auto& [cls, min] : c.min_per_class) EXPECT_GE(per_class[cls], min) << c.dir << " class " << cls;
    for (const auto& [cls, n] : per_class) {
      EXPECT_TRUE(c.min_per_class.count(cls)) << c.dir << " produced class " << cls;
      total_per_class[cls] += n;
      std::printf("  %-28s class %4d: %zu events\n", c.dir.c_str(), cls, n);
    }
  }
  std::printf("  %zu events normalised, %zu invalid raw values left out, %zu violations, %zu excused\n", events,
              invalid, violations, excused);
  for (const auto& [cls, n] : total_per_class) std::printf("  class %4d: %zu\n", cls, n);
  EXPECT_EQ(violations, 0u);
}

// --- Specific values ---------------------------------------------------------

TEST(OcsfValues, AlbRequestIsHttpActivity) {
  const std::string line = ReadFile(kData + "/alb/awsdocs-examples.log").substr(0, ReadFile(kData + "/alb/awsdocs-examples.log").find('\n') + 1);
  auto p = ParseSample(line);
  ASSERT_EQ(p.events.size(), 1u);
  const Event& e = p.events[0];
  EXPECT_EQ(OcsfString(e, "class_uid"), "4002");
  EXPECT_EQ(OcsfString(e, "activity_name"), "Get");
  EXPECT_EQ(OcsfString(e, "type_uid"), "400203");
  EXPECT_EQ(OcsfString(e, "http_request.http_method"), "GET");
  EXPECT_EQ(OcsfString(e, "http_request.url.url_string"), "http://www.example.com:80/");
  EXPECT_EQ(OcsfString(e, "http_request.url.hostname"), "www.example.com");
  EXPECT_EQ(OcsfString(e, "http_request.url.port"), "80");
  EXPECT_EQ(OcsfString(e, "http_request.url.path"), "/");
  EXPECT_EQ(OcsfString(e, "http_request.user_agent"), "curl/7.46.0");
  EXPECT_EQ(OcsfString(e, "http_response.code"), "200");
  EXPECT_EQ(OcsfString(e, "src_endpoint.ip"), "192.168.131.39");
  EXPECT_EQ(OcsfString(e, "src_endpoint.port"), "2817");
  EXPECT_EQ(OcsfString(e, "dst_endpoint.ip"), "10.0.0.1");
  EXPECT_EQ(OcsfString(e, "status"), "Success");
}

TEST(OcsfValues, VpcFlowEndpointsAndDisposition) {
  auto p = ParseSample(
      "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 "
      "REJECT OK\n");
  ASSERT_EQ(p.events.size(), 1u);
  const Event& e = p.events[0];
  EXPECT_EQ(OcsfString(e, "class_uid"), "4001");
  EXPECT_EQ(OcsfString(e, "src_endpoint.ip"), "172.31.9.69");
  EXPECT_EQ(OcsfString(e, "src_endpoint.port"), "49761");
  EXPECT_EQ(OcsfString(e, "dst_endpoint.port"), "3389");
  EXPECT_EQ(OcsfString(e, "action"), "Denied");
  EXPECT_EQ(OcsfString(e, "action_id"), "2");
  EXPECT_EQ(OcsfString(e, "disposition"), "Blocked");
  EXPECT_EQ(OcsfString(e, "connection_info.protocol_num"), "6");
  EXPECT_EQ(OcsfString(e, "start_time"), "1418530010000");
  EXPECT_EQ(OcsfString(e, "cloud.account.uid"), "123456789010");
}

TEST(OcsfValues, Route53QueryAndResponseCode) {
  std::string text = ReadFile(kData + "/dns/awsdocs-examples.jsonl");
  auto p = ParseSample(text);
  ASSERT_FALSE(p.events.empty());
  const Event& e = p.events[0];  // the PTR query a DNS Firewall rule blocked
  EXPECT_EQ(OcsfString(e, "class_uid"), "4003");
  EXPECT_EQ(OcsfString(e, "query.hostname"), "15.3.4.32.in-addr.arpa.");
  EXPECT_EQ(OcsfString(e, "query.type"), "PTR");
  EXPECT_EQ(OcsfString(e, "rcode"), "NoError");
  EXPECT_EQ(OcsfString(e, "rcode_id"), "0");
  EXPECT_EQ(OcsfString(e, "answers.rdata"), "203.0.113.9");
  EXPECT_EQ(OcsfString(e, "disposition"), "Blocked");
  EXPECT_EQ(OcsfString(e, "src_endpoint.instance_uid"), "i-0d15cd0d3example");
  bool nxdomain = false;
  auto elastic = ParseSample(ReadFile(kData + "/dns/elastic-integrations-test-route53.excerpt.jsonl"));
  for (const auto& ev : elastic.events) nxdomain |= OcsfString(ev, "rcode_id") == "3" && OcsfString(ev, "rcode") == "NXDomain";
  EXPECT_TRUE(nxdomain);
}

TEST(OcsfValues, ConsoleLoginIsAuthenticationWithStatusAndMfa) {
  auto p = ParseSample(ReadFile(kData +
                                "/cloudtrail/stratus-red-team/docs/detonation-logs/"
                                "aws.initial-access.console-login-without-mfa.json"));
  ASSERT_EQ(p.events.size(), 1u);
  const Event& e = p.events[0];
  EXPECT_EQ(OcsfString(e, "class_uid"), "3002");
  EXPECT_EQ(OcsfString(e, "class_name"), "Authentication");
  EXPECT_EQ(OcsfString(e, "activity_name"), "Logon");
  EXPECT_EQ(OcsfString(e, "type_uid"), "300201");
  EXPECT_EQ(OcsfString(e, "status"), "Success");
  EXPECT_EQ(OcsfString(e, "status_id"), "1");
  EXPECT_EQ(OcsfString(e, "is_mfa"), "false");
  EXPECT_EQ(OcsfString(e, "user.name"), "stratus-red-team-nmfalu-jfzdtsvchl");
  EXPECT_EQ(OcsfString(e, "user.uid"), "arn:aws:iam::562283505220:user/stratus-red-team-nmfalu-jfzdtsvchl");
  EXPECT_EQ(OcsfString(e, "cloud.account.uid"), "562283505220");
  // Its source address is anonymised with leading zeros (225.01.00.16): left out and counted.
  EXPECT_EQ(OcsfString(e, "src_endpoint.ip"), "");
  const Normalized& n = Ocsf(e);
  ASSERT_EQ(n.invalid.size(), 1u);
  EXPECT_EQ(n.invalid[0].attribute, "src_endpoint.ip");
  EXPECT_EQ(n.invalid[0].raw_path, "sourceIPAddress");
  EXPECT_EQ(n.invalid[0].value, "225.01.00.16");
  EXPECT_EQ(OcsfString(e, "unmapped.invalid.value"), "225.01.00.16");
  EXPECT_EQ(OcsfString(e, "unmapped.invalid.attribute"), "src_endpoint.ip");
  // The raw field still answers under its own name.
  EXPECT_EQ(e.FirstString(FieldPath("sourceIPAddress")), "225.01.00.16");
}

TEST(OcsfValues, FailedConsoleLoginAndApiCallOutcome) {
  auto p = ParseSample(R"({"Records":[
    {"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin",
     "awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","userName":"bob"},
     "responseElements":{"ConsoleLogin":"Failure"},"errorMessage":"Failed authentication","additionalEventData":{"MFAUsed":"Yes"},
     "eventID":"e1","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"},
    {"eventVersion":"1.08","eventTime":"2024-01-01T00:00:01Z","eventSource":"iam.amazonaws.com","eventName":"DeleteUser",
     "awsRegion":"us-east-1","sourceIPAddress":"ec2.amazonaws.com","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/r/s","accountId":"111122223333",
     "sessionContext":{"attributes":{"mfaAuthenticated":"true","creationDate":"2024-01-01T00:00:00Z"}}},
     "errorCode":"AccessDenied","errorMessage":"not allowed","eventID":"e2","eventType":"AwsApiCall","recipientAccountId":"111122223333"}]})");
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(OcsfString(p.events[0], "status"), "Failure");
  EXPECT_EQ(OcsfString(p.events[0], "status_detail"), "Failed authentication");
  EXPECT_EQ(OcsfString(p.events[0], "is_mfa"), "true");
  EXPECT_EQ(OcsfString(p.events[0], "src_endpoint.ip"), "203.0.113.5");
  const Event& api = p.events[1];
  EXPECT_EQ(OcsfString(api, "class_uid"), "6003");
  EXPECT_EQ(OcsfString(api, "activity_name"), "Delete");
  EXPECT_EQ(OcsfString(api, "status"), "Failure");
  EXPECT_EQ(OcsfString(api, "api.response.error"), "AccessDenied");
  EXPECT_EQ(OcsfString(api, "actor.session.is_mfa"), "true");
  EXPECT_EQ(OcsfString(api, "actor.session.created_time"), "1704067200000");
  // A service name in sourceIPAddress is the endpoint's domain, not an invalid IP.
  EXPECT_EQ(OcsfString(api, "src_endpoint.domain"), "ec2.amazonaws.com");
  EXPECT_TRUE(Ocsf(api).invalid.empty());
  for (const auto& e : p.events) EXPECT_TRUE(TheSchema().Validate(Ocsf(e).json).violations.empty()) << Ocsf(e).json;
}

TEST(OcsfValues, GuardDutyFindingInfoAndSeverity) {
  auto p = ParseSample(ReadFile(kData + "/guardduty/elastic-integrations-test-guardduty.excerpt.jsonl"));
  ASSERT_FALSE(p.events.empty());
  const Event& e = p.events[0];
  EXPECT_EQ(OcsfString(e, "class_uid"), "2004");
  EXPECT_EQ(OcsfString(e, "finding_info.title"), "Blackholed domain name queried by EC2 instance i-99999999.");
  EXPECT_EQ(OcsfString(e, "finding_info.types"), "Trojan:EC2/BlackholeTraffic!DNS");
  EXPECT_EQ(OcsfString(e, "finding_info.created_time"), "1668677599224");
  // GuardDuty severity 5 is in the Medium band (4.0-6.9).
  EXPECT_EQ(OcsfString(e, "severity_id"), "3");
  EXPECT_EQ(OcsfString(e, "severity"), "Medium");
  EXPECT_EQ(OcsfString(e, "cloud.account.uid"), "123412341234");
}

TEST(OcsfValues, SyslogAndAppJsonAreBaseEvents) {
  auto s = vigil::testing::ParseAs("syslog", "<34>1 2024-01-01T00:00:00Z host1 sshd 42 - - Failed password\n");
  ASSERT_EQ(s.events.size(), 1u);
  AttachOcsf(&s.events[0]);
  EXPECT_EQ(OcsfString(s.events[0], "class_uid"), "0");
  EXPECT_EQ(OcsfString(s.events[0], "severity"), "Critical");  // syslog severity 2
  EXPECT_EQ(OcsfString(s.events[0], "device.hostname"), "host1");
  EXPECT_EQ(OcsfString(s.events[0], "message"), "Failed password");
  auto report = TheSchema().Validate(Ocsf(s.events[0]).json);
  EXPECT_TRUE(report.violations.empty()) << report.violations.front().path << report.violations.front().problem;
  auto j = vigil::testing::ParseAs("json", R"({"timestamp":"2024-01-01T00:00:00Z","level":"error","msg":"boom","service":"api"})");
  ASSERT_EQ(j.events.size(), 1u);
  AttachOcsf(&j.events[0]);
  EXPECT_EQ(OcsfString(j.events[0], "severity"), "High");
  EXPECT_EQ(OcsfString(j.events[0], "metadata.product.name"), "api");
  report = TheSchema().Validate(Ocsf(j.events[0]).json);
  EXPECT_TRUE(report.violations.empty()) << report.violations.front().path << report.violations.front().problem;
}

TEST(OcsfValues, InvalidValuesAreLeftOutAndCounted) {
  // A port out of range and an address with a leading zero.
  auto p = ParseSample("2 123456789010 eni-1 010.0.0.1 10.0.0.2 70000 22 6 1 40 1418530010 1418530070 ACCEPT OK\n");
  ASSERT_EQ(p.events.size(), 1u);
  const Normalized& n = Ocsf(p.events[0]);
  ASSERT_EQ(n.invalid.size(), 2u) << n.json;
  EXPECT_EQ(n.invalid[0].attribute, "src_endpoint.ip");
  EXPECT_EQ(n.invalid[0].value, "010.0.0.1");
  EXPECT_EQ(n.invalid[1].attribute, "src_endpoint.port");
  EXPECT_EQ(OcsfString(p.events[0], "src_endpoint.ip"), "");
  EXPECT_EQ(OcsfString(p.events[0], "dst_endpoint.ip"), "10.0.0.2");
  auto report = TheSchema().Validate(n.json, LeftOut(n));
  EXPECT_TRUE(report.violations.empty()) << report.violations.front().problem;
}

TEST(OcsfValues, LogTypeWithoutMappingAnswersNothing) {
  Event e;
  e.source_type = "no-such-type";
  auto f = ParseJsonFields(R"({"a":1})");
  ASSERT_TRUE(f.ok());
  e.fields = *f;
  AttachOcsf(&e);
  EXPECT_EQ(OcsfString(e, "class_uid"), "");
  EXPECT_EQ(e.FirstString(FieldPath("a")), "1");
  EXPECT_EQ(Ocsf(e).class_uid, -1);
}

// --- The OCSF project's example mappings --------------------------------------

// Every scalar leaf of a JSON value, as `path -> text` (arrays as `name[]`).
void Leaves(simdjson::dom::element e, const std::string& path, std::multimap<std::string, std::string>* out) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT:
      for (auto [k, v] : simdjson::dom::object(e)) Leaves(v, path.empty() ? std::string(k) : path + "." + std::string(k), out);
      break;
    case element_type::ARRAY:
      for (auto v : simdjson::dom::array(e)) Leaves(v, path + "[]", out);
      break;
    case element_type::STRING: out->emplace(path, std::string(std::string_view(e))); break;
    default: out->emplace(path, simdjson::minify(e)); break;
  }
}

// Compares vigil's OCSF form of `raw` with the example's, attribute by
// attribute where both have one. Returns how many attributes agreed.
size_t CompareWithExample(const std::string& raw_text, const std::string& parser, const std::string& example_file,
                          const std::set<std::string>& known_differences) {
  auto parsed = vigil::testing::ParseAs(parser, raw_text);
  EXPECT_EQ(parsed.events.size(), 1u);
  if (parsed.events.empty()) return 0;
  AttachOcsf(&parsed.events[0]);
  const Normalized& n = Ocsf(parsed.events[0]);
  simdjson::dom::parser p1, p2;
  std::multimap<std::string, std::string> ours, theirs;
  simdjson::dom::element a, b;
  EXPECT_FALSE(p1.parse(n.json).get(a));
  const std::string ex = ReadFile(example_file);
  EXPECT_FALSE(p2.parse(ex).get(b)) << example_file;
  Leaves(a, "", &ours);
  Leaves(b, "", &theirs);
  size_t agreed = 0;
  for (const auto& [path, value] : ours) {
    auto range = theirs.equal_range(path);
    if (range.first == range.second || known_differences.count(path)) continue;
    bool match = false;
    for (auto it = range.first; it != range.second; ++it) match |= it->second == value;
    EXPECT_TRUE(match) << example_file << ": " << path << " is " << value << ", the example has "
                       << range.first->second;
    agreed += match;
  }
  return agreed;
}

const std::string kExamples = kData + "/ocsf-examples/mappings/markdown/AWS/";

TEST(OcsfExamples, VpcFlowAgrees) {
  // The example's raw record is CSV with underscores; a flow log file with a
  // header line says the same in the delivered format.
  std::string csv = ReadFile(kExamples + "v1.5.0/VPC Flowlogs/samples/vpcflowlog.raw");
  std::string header = csv.substr(0, csv.find('\n')), row = csv.substr(csv.find('\n') + 1);
  for (char& c : header) c = c == ',' ? ' ' : c == '_' ? '-' : c;
  for (char& c : row) c = c == ',' ? ' ' : c;
  size_t agreed = CompareWithExample(header + "\n" + row, "vpcflow", kExamples + "v1.5.0/VPC Flowlogs/samples/vpcflowlog.ocsf",
                                     {"metadata.version", "metadata.product.feature.name", "metadata.product.version",
                                      // the example writes the literal "-" the record has for "no service"
                                      "src_endpoint.svc_name", "dst_endpoint.svc_name"});
  EXPECT_GE(agreed, 18u);
}

TEST(OcsfExamples, Route53Agrees) {
  std::string raw = ReadFile(kExamples + "v1.5.0/Route53/samples/route53.raw");
  for (char& c : raw)
    if (c == '\n') c = ' ';
  size_t agreed = CompareWithExample(raw, "route53resolver", kExamples + "v1.5.0/Route53/samples/route53.ocsf",
                                     {"metadata.version"});
  EXPECT_GE(agreed, 20u);
}

TEST(OcsfExamples, SecurityHubDetectionFindingAgrees) {
  std::string raw = ReadFile(kExamples + "v1.1.0/Security Hub/Detection Finding/samples/sechub-guardduty.raw");
  for (char& c : raw)
    if (c == '\n') c = ' ';
  size_t agreed = CompareWithExample(raw, "securityhub",
                                     kExamples + "v1.1.0/Security Hub/Detection Finding/samples/sechub-guardduty.ocsf",
                                     {"metadata.version", "metadata.product.vendor_name"});
  EXPECT_GE(agreed, 12u);
}

}  // namespace
}  // namespace vigil::ocsf
