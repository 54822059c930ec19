// End-to-end: OCSF through the `vigil` command. Sample logs of several types
// are ingested with a rule written on OCSF attributes, the rule raises its
// alert at ingest and in a backtest, and `vigil hunt --ocsf` prints the
// normalised events.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "run_vigil.h"

namespace {

namespace fs = std::filesystem;
using vigil::testing::Vigil;

const std::string kData = VIGIL_SHARED_DATA;

class OcsfE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-ocsf-e2e-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "in");
    fs::create_directories(dir_ / "rules");
    for (const char* f : {"/vpcflow/awsdocs-examples.log", "/dns/awsdocs-examples.jsonl", "/alb/awsdocs-examples.log",
                          "/cloudtrail/stratus-red-team/docs/detonation-logs/aws.initial-access.console-login-without-mfa.json",
                          "/cloudtrail/stratus-red-team/docs/detonation-logs/aws.defense-evasion.cloudtrail-delete.json"})
      fs::copy_file(kData + f, dir_ / "in" / (fs::path(f).parent_path().filename().string() + "-" + fs::path(f).filename().string()));
    std::ofstream(dir_ / "rules/ocsf_login.yml") << R"(title: Console sign-in without MFA (OCSF)
id: 6a0e9c52-3f0b-4d5e-9a51-7f2c8d1e4b60
status: test
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    ocsf.class_uid: 3002
    ocsf.is_mfa: 'false'
  condition: selection
level: high
)";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Data() const { return "--data " + (dir_ / "data").string(); }
  fs::path dir_;
};

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

TEST_F(OcsfE2ETest, RuleOnOcsfFieldsAlertsAndHuntPrintsOcsf) {
  auto in = Vigil("ingest --json " + Data() + " --rules " + (dir_ / "rules").string() + " " + (dir_ / "in").string());
  ASSERT_EQ(in.exit_code, 0) << in.out;
  auto alerts = Vigil("alerts --json " + Data());
  EXPECT_NE(alerts.out.find("Console sign-in without MFA (OCSF)"), std::string::npos) << alerts.out;

  // --ocsf --json: one OCSF event per line, for exactly the events the query finds.
  auto dns = Vigil("hunt --ocsf --json " + Data() + " 'ocsf.class_uid=4003'");
  ASSERT_EQ(dns.exit_code, 0);
  const auto lines = Lines(dns.out);
  EXPECT_EQ(lines.size(), Lines(Vigil("hunt --json " + Data() + " source=route53resolver").out).size());
  ASSERT_FALSE(lines.empty());
  simdjson::dom::parser parser;
  for (const auto& l : lines) {
    simdjson::dom::element e;
    ASSERT_FALSE(parser.parse(l).get(e)) << l;
    EXPECT_EQ(int64_t(e["class_uid"]), 4003);
    EXPECT_FALSE(e["query"]["hostname"].error()) << l;
  }
  // Every stored event of these types has an OCSF class.
  const size_t all = Lines(Vigil("hunt --json " + Data() + " ''").out).size();
  EXPECT_EQ(Lines(Vigil("hunt --ocsf --json " + Data() + " ''").out).size(), all);
  // The invalid source address of the anonymised record is listed, not mapped.
  auto login = Vigil("hunt --ocsf --json " + Data() + " 'ocsf.class_uid=3002'");
  EXPECT_NE(login.out.find(R"("unmapped":{"invalid":[{"attribute":"src_endpoint.ip")"), std::string::npos) << login.out;
  // The readable form: a heading per event and one line per attribute.
  auto table = Vigil("hunt --ocsf " + Data() + " 'ocsf.http_request.http_method=GET'");
  EXPECT_NE(table.out.find("HTTP Activity: Get (class 4002)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("http_request.url.url_string"), std::string::npos) << table.out;

  // The rule backtests over stored history the same way.
  auto bt = Vigil("rules backtest --json " + Data() + " " + (dir_ / "rules/ocsf_login.yml").string());
  EXPECT_NE(bt.out.find("6a0e9c52-3f0b-4d5e-9a51-7f2c8d1e4b60"), std::string::npos) << bt.out;
}

}  // namespace
