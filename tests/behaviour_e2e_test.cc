// End-to-end: the behavioural pack (rules/aws/behaviour) in `vigil ingest` on
// real CloudTrail (Stratus Red Team detonations), VPC flow and Route 53
// Resolver samples: what it raises with no history, baselines that carry
// over from one run to the next through the data directory, and a GeoIP
// table of vigil's CSV format driving impossible travel.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "run_vigil.h"

namespace {

namespace fs = std::filesystem;
using vigil::testing::CmdResult;
using vigil::testing::Vigil;

const fs::path kStratus = VIGIL_SHARED_DATA "/cloudtrail/stratus-red-team/docs/detonation-logs";

struct Alert {
  std::string rule_id, title, entity, finding_type, match;
};

class BehaviourE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-behave-e2e-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Data() const { return "--data " + (dir_ / "data").string(); }

  // Alerts whose match is a behavioural explanation.
  std::vector<Alert> BehaviourAlerts() {
    std::vector<Alert> out;
    std::istringstream lines(Vigil("alerts --json " + Data()).out);
    std::string line;
    simdjson::dom::parser parser;
    while (std::getline(lines, line)) {
      simdjson::dom::element a;
      if (parser.parse(line).get(a)) continue;
      simdjson::dom::element match;
      if (a["match"].get(match) || match["detector"].error()) continue;
      out.push_back({std::string(a["rule_id"].get_string().value()), std::string(a["title"].get_string().value()),
                     std::string(a["entity"].get_string().value()),
                     std::string(a["finding_type"].get_string().value()), simdjson::minify(match)});
    }
    return out;
  }
  fs::path dir_;
};

void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// Record `i` of a Stratus file (a JSON array), minified.
std::string RecordOf(const fs::path& file, size_t i) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.load(file.string()).get(doc), simdjson::SUCCESS) << file;
  simdjson::dom::element rec;
  EXPECT_EQ(doc.at(i).get(rec), simdjson::SUCCESS) << file;
  return simdjson::minify(rec);
}

// `record` (one minified CloudTrail record) with `key`'s string value replaced.
std::string With(std::string record, const std::string& key, const std::string& value) {
  const std::string k = "\"" + key + "\":\"";
  size_t at = record.find(k);
  EXPECT_NE(at, std::string::npos) << key;
  if (at == std::string::npos) return record;
  at += k.size();
  record.replace(at, record.find('"', at) - at, value);
  return record;
}

TEST_F(BehaviourE2E, PackLoadsAndRaisesOnlyTheBulkSecretReadOnRealLogs) {
  CmdResult lint = Vigil("rules lint --json " VIGIL_SOURCE_DIR "/rules/aws/behaviour");
  EXPECT_EQ(lint.exit_code, 0) << lint.out;
  simdjson::dom::parser parser;
  simdjson::dom::element report;
  ASSERT_EQ(parser.parse(lint.out).get(report), simdjson::SUCCESS) << lint.out;
  EXPECT_GE(report["behaviours"].get_uint64().value(), 20u) << lint.out;
  EXPECT_EQ(report["errors"].get_array().size(), 0u) << lint.out;
  // The GeoIP rules wait for a table the pack cannot ship.
  for (auto u : report["unsupported"].get_array())
    EXPECT_NE(std::string(u["reason"].get_string().value()).find("GeoIP table"), std::string::npos) << lint.out;

  // No history: nothing learnt, so only the rules that need none may fire.
  CmdResult in = Vigil("ingest --json " + Data() + " " + kStratus.string() + " " VIGIL_SHARED_DATA "/vpcflow " +
                       VIGIL_SHARED_DATA "/dns");
  ASSERT_EQ(in.exit_code, 0) << in.out;
  auto alerts = BehaviourAlerts();
  ASSERT_EQ(alerts.size(), 1u);
  // Stratus' secretsmanager-retrieve-secrets reads 20 secrets in seconds.
  const Alert& a = alerts[0];
  EXPECT_EQ(a.title, "Many distinct secrets read by one principal in minutes");
  EXPECT_EQ(a.entity, "arn:aws:iam::903144391865:user/christophe");
  EXPECT_EQ(a.finding_type, "CredentialAccess:IAMUser/AnomalousBehavior");
  EXPECT_NE(a.match.find("\"detector\":\"distinct_count\""), std::string::npos) << a.match;
  EXPECT_NE(a.match.find("\"threshold\":10"), std::string::npos) << a.match;
  EXPECT_NE(a.match.find("\"distinct_values\":1"), std::string::npos) << a.match;
  EXPECT_NE(a.match.find("stratus-red-team-retrieve-secret-"), std::string::npos) << a.match;
}

TEST_F(BehaviourE2E, BaselineFromOneRunJudgesTheNext) {
  // The detonation: an established user creates an admin user with a key.
  const fs::path attack = kStratus / "aws.persistence.iam-create-admin-user.json";
  const std::string first = RecordOf(attack, 0);
  // Its history, from the same user and client: a harmless call a day for
  // three weeks before.
  std::string history = "{\"Records\": [";
  for (int day = 21; day >= 1; --day) {
    std::string r = With(first, "eventName", "GetCallerIdentity");
    r = With(r, "eventSource", "sts.amazonaws.com");
    r = With(r, "eventID", "00000000-0000-4000-8000-0000000000" + std::to_string(10 + day));
    char when[32];
    std::snprintf(when, sizeof when, "2024-07-%02dT09:00:00Z", 32 - day);
    r = With(r, "eventTime", when);
    history += (day == 21 ? "" : ", ") + r;
  }
  history += "]}";
  Write(dir_ / "history.json", history);

  // Without history, the same detonation raises nothing behavioural.
  ASSERT_EQ(Vigil("ingest --json --data " + (dir_ / "fresh").string() + " " + attack.string()).exit_code, 0);
  {
    CmdResult fresh = Vigil("alerts --json --data " + (dir_ / "fresh").string());
    EXPECT_EQ(fresh.out.find("\"detector\""), std::string::npos) << fresh.out;
  }

  ASSERT_EQ(Vigil("ingest --json " + Data() + " " + (dir_ / "history.json").string()).exit_code, 0);
  for (const Alert& a : BehaviourAlerts()) ADD_FAILURE() << "history raised " << a.title << ": " << a.match;
  // A second run, a second process: the baseline comes from the data directory.
  ASSERT_EQ(Vigil("ingest --json " + Data() + " " + attack.string()).exit_code, 0);
  std::map<std::string, Alert> by_type;
  for (const Alert& a : BehaviourAlerts()) by_type[a.finding_type] = a;
  ASSERT_EQ(by_type.size(), 2u);
  const Alert& persistence = by_type["Persistence:IAMUser/AnomalousBehavior"];
  EXPECT_EQ(persistence.entity, "arn:aws:iam::229654561268:user/christophe");
  EXPECT_NE(persistence.match.find("\"detector\":\"new_term\""), std::string::npos) << persistence.match;
  EXPECT_NE(persistence.match.find("\"entity_first_seen\":\"2024-07-11T09:00:00Z\""), std::string::npos)
      << persistence.match;
  EXPECT_NE(persistence.match.find("\"learning_period\":\"5d\""), std::string::npos) << persistence.match;
  const Alert& escalation = by_type["PrivilegeEscalation:IAMUser/AnomalousBehavior"];
  EXPECT_NE(escalation.match.find("\"eventName\":\"AttachUserPolicy\""), std::string::npos) << escalation.match;
}

TEST_F(BehaviourE2E, ImpossibleTravelWithACsvGeoIpTable) {
  const std::string record = RecordOf(kStratus / "aws.initial-access.console-login-without-mfa.json", 0);
  std::string london = With(With(record, "sourceIPAddress", "81.2.69.160"), "eventTime", "2024-08-02T08:53:24Z");
  std::string sydney = With(With(With(record, "sourceIPAddress", "1.128.7.7"), "eventTime", "2024-08-02T10:53:24Z"),
                            "eventID", "965d9377-9c6b-4fd7-8aad-725e95f6a140");
  Write(dir_ / "logins.json", "[" + london + ", " + sydney + "]");
  fs::create_directories(dir_ / "rules");
  fs::copy_file(VIGIL_SOURCE_DIR "/rules/aws/behaviour/impossible_travel.yml", dir_ / "rules" / "travel.yml");
  Write(dir_ / "rules" / "geoip.csv",
        "start_ip,end_ip,country,asn,city,lat,lon\n"
        "81.2.69.0,81.2.69.255,GB,AS20712,London,51.5142,-0.0931\n"
        "1.128.0.0,1.159.255.255,AU,AS1221,Sydney,-33.8688,151.2093\n");
  CmdResult lint = Vigil("rules lint --json " + (dir_ / "rules").string());
  EXPECT_NE(lint.out.find("\"behaviours\":1"), std::string::npos) << lint.out;
  // Only the copied rule: VIGIL_RULES names the rule directories.
  CmdResult in = Vigil("ingest --json " + Data() + " --rules " + (dir_ / "rules").string() + " " +
                       (dir_ / "logins.json").string());
  ASSERT_EQ(in.exit_code, 0) << in.out;
  std::vector<Alert> travel;
  for (const Alert& a : BehaviourAlerts())
    if (a.title.find("too far apart") != std::string::npos) travel.push_back(a);
  ASSERT_EQ(travel.size(), 1u);
  EXPECT_EQ(travel[0].finding_type, "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B");
  EXPECT_EQ(travel[0].entity, "arn:aws:iam::562283505220:user/stratus-red-team-nmfalu-jfzdtsvchl");
  EXPECT_NE(travel[0].match.find("\"city\":\"London\""), std::string::npos) << travel[0].match;
  EXPECT_NE(travel[0].match.find("\"city\":\"Sydney\""), std::string::npos) << travel[0].match;
  EXPECT_NE(travel[0].match.find("\"hours\":2"), std::string::npos) << travel[0].match;
}

}  // namespace
