// The organisation simulator: reproducible bytes, files vigil's parsers read
// without a dead letter (and whose OCSF form validates), labelled windows
// that hold their attacks, and working-week rhythms.
#include "simulate/org_simulator.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "common/time.h"
#include "formats/decompress.h"
#include "formats/test_sink.h"
#include "ocsf/ocsf_test_util.h"

namespace vigil::sim {
namespace {

namespace fs = std::filesystem;

class OrgSimulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-orgsim-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

SimulateOptions AllAttacks(int days, size_t events) {
  SimulateOptions o;
  o.days = days;
  o.events_per_day = events;
  o.principals = 30;
  for (const auto& s : AttackCatalog()) o.attacks.push_back(s.name);
  return o;
}

std::map<std::string, std::string> Snapshot(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) files[fs::relative(e.path(), root).string()] = vigil::testing::ReadFile(e.path());
  return files;
}

// Every record of a run, by day, in memory.
std::vector<SimRecord> RunAll(const SimulateOptions& o, SimulateSummary* summary = nullptr) {
  auto sim = Simulator::Create(o);
  EXPECT_TRUE(sim.ok()) << sim.status().ToString();
  std::vector<SimRecord> all;
  Status st = (*sim)->Run([&](int, std::vector<SimRecord>& day) {
    for (auto& r : day) all.push_back(std::move(r));
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (summary) *summary = (*sim)->summary();
  return all;
}

TEST_F(OrgSimulatorTest, CatalogHasTheRequiredScenarios) {
  std::set<std::string> names;
  for (const auto& s : AttackCatalog()) {
    names.insert(s.name);
    EXPECT_NE(s.finding_type.find(':'), std::string::npos) << s.name;
  }
  EXPECT_GE(names.size(), 20u);
  for (const char* n : {"trail-stopped", "trail-deleted", "iam-backdoor-user", "console-login-no-mfa-new-country",
                        "root-usage", "secrets-mass-retrieval", "ec2-userdata-retrieval", "ec2-password-data",
                        "s3-bucket-public-exfil", "ebs-snapshot-shared", "instance-credentials-exfil",
                        "discovery-burst", "privilege-escalation-policy", "portscan-from-instance",
                        "portscan-to-instance", "ssh-bruteforce-inbound", "ssh-bruteforce-outbound", "crypto-mining",
                        "dns-exfiltration", "dga-domains", "c2-beaconing", "threat-intel-ip", "egress-volume",
                        "impossible-travel"})
    EXPECT_TRUE(names.count(n)) << n;
}

TEST_F(OrgSimulatorTest, SameSeedSameBytesOtherSeedOtherBytes) {
  SimulateOptions o = AllAttacks(2, 4000);
  ASSERT_TRUE(SimulateToDirectory(o, (dir_ / "a").string(), nullptr).ok());
  ASSERT_TRUE(SimulateToDirectory(o, (dir_ / "b").string(), nullptr).ok());
  auto a = Snapshot(dir_ / "a");
  auto b = Snapshot(dir_ / "b");
  EXPECT_GT(a.size(), 100u);
  EXPECT_TRUE(a == b) << "two runs with one seed differ";
  o.seed = 2;
  ASSERT_TRUE(SimulateToDirectory(o, (dir_ / "c").string(), nullptr).ok());
  EXPECT_NE(Snapshot(dir_ / "c")["labels.jsonl"], a["labels.jsonl"]);
}

TEST_F(OrgSimulatorTest, EveryFileParsesWithoutDeadLetters) {
  SimulateOptions o = AllAttacks(2, 6000);
  auto summary = SimulateToDirectory(o, dir_.string(), nullptr);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  std::map<std::string, size_t> events_by_type;
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "logs")) {
    if (!e.is_regular_file()) continue;
    ++files;
    const std::string raw = vigil::testing::ReadFile(e.path());
    auto bytes = MaybeDecompress(raw, e.path().string());
    ASSERT_TRUE(bytes.ok()) << e.path();
    const std::string_view text(bytes->data(), bytes->size());
    const std::string_view type = vigil::testing::RecognisedAs(text);
    const std::string rel = e.path().string();
    // Each delivery layout holds its own log type.
    if (rel.find("/CloudTrail/") != std::string::npos) { EXPECT_EQ(type, "cloudtrail") << rel; }
    if (rel.find("/vpcflowlogs/") != std::string::npos) { EXPECT_EQ(type, "vpcflow") << rel; }
    if (rel.find("/vpcdnsquerylogs/") != std::string::npos) { EXPECT_EQ(type, "route53resolver") << rel; }
    if (rel.find("/elasticloadbalancing/") != std::string::npos) { EXPECT_EQ(type, "alb") << rel; }
    if (rel.find("/s3-access/") != std::string::npos) { EXPECT_EQ(type, "s3access") << rel; }
    auto c = vigil::testing::ParseAs(type, text);
    EXPECT_TRUE(c.dead.empty()) << rel << ": " << (c.dead.empty() ? "" : c.dead[0].reason + " in " + c.dead[0].raw);
    EXPECT_TRUE(c.warnings.empty()) << rel << ": " << (c.warnings.empty() ? "" : c.warnings[0]);
    for (const Event& ev : c.events) EXPECT_FALSE(ev.time_fallback) << rel;
    events_by_type[std::string(type)] += c.events.size();
  }
  EXPECT_EQ(files, summary->files);
  for (int t = 0; t < kLogTypeCount; ++t) {
    const std::string name(LogTypeName(static_cast<LogType>(t)));
    EXPECT_EQ(events_by_type[name], summary->records_by_type[t]) << name;
    EXPECT_GT(summary->records_by_type[t], 0u) << name;
  }
}

TEST_F(OrgSimulatorTest, OcsfFormsValidate) {
  SimulateOptions o = AllAttacks(1, 3000);
  std::vector<SimRecord> all = RunAll(o);
  size_t checked[kLogTypeCount] = {};
  for (const SimRecord& r : all) {
    const int t = static_cast<int>(r.type);
    if (checked[t] >= 150) continue;
    ++checked[t];
    auto c = ocsf::testing::ParseSample(r.text);
    ASSERT_EQ(c.events.size(), 1u) << r.text;
    const ocsf::Normalized& n = ocsf::testing::Ocsf(c.events[0]);
    ASSERT_GT(n.class_uid, 0) << r.text;
    EXPECT_TRUE(n.invalid.empty()) << r.text;
    auto report = ocsf::testing::TheSchema().Validate(n.json, ocsf::testing::LeftOut(n));
    EXPECT_TRUE(report.violations.empty())
        << LogTypeName(r.type) << ": " << report.violations[0].path << ": " << report.violations[0].problem << "\n"
        << n.json;
  }
  for (int t = 0; t < kLogTypeCount; ++t) EXPECT_GT(checked[t], 0u);
}

// The records of a labelled window that involve its entity: a principal's
// ARN, an instance's id, ENI or address, or an IP address.
struct Org {
  std::map<std::string, std::vector<std::string>> instance_keys;  // id -> id, eni, private ip
};

Org ReadOrg(const std::string& json) {
  Org org;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(json);
  for (simdjson::dom::element i : doc["instances"].get_array()) {
    std::string id{std::string_view(i["id"])};
    org.instance_keys[id] = {id, std::string(std::string_view(i["eni"])), " " + std::string(std::string_view(i["private_ip"])) + " ",
                             "\"" + std::string(std::string_view(i["private_ip"])) + "\""};
  }
  return org;
}

bool Mentions(const SimRecord& r, const AttackLabel& l, const Org& org) {
  if (l.entity_type == "instance") {
    for (const std::string& k : org.instance_keys.at(l.entity))
      if (r.text.find(k) != std::string::npos) return true;
    return false;
  }
  if (l.entity_type == "ip") return r.text.find(" " + l.entity + " ") != std::string::npos;
  return r.text.find("\"" + l.entity + "\"") != std::string::npos;
}

TEST_F(OrgSimulatorTest, LabelledWindowsHoldTheirAttacks) {
  SimulateOptions o = AllAttacks(3, 5000);
  auto sim = Simulator::Create(o);
  ASSERT_TRUE(sim.ok());
  std::vector<SimRecord> all;
  ASSERT_TRUE((*sim)->Run([&](int, std::vector<SimRecord>& day) {
                       for (auto& r : day) all.push_back(std::move(r));
                       return Status::Ok();
                     }).ok());
  const SimulateSummary& s = (*sim)->summary();
  const Org org = ReadOrg((*sim)->OrgJson());
  std::set<std::string> scenarios;
  for (const AttackLabel& l : s.labels) {
    scenarios.insert(l.scenario);
    ASSERT_LE(l.start_ns, l.end_ns) << l.id;
    EXPECT_GE(l.start_ns, o.start_ns + kNanosPerSecond * 86400) << l.id << " falls in the learning period";
    std::vector<const SimRecord*> in;
    for (const SimRecord& r : all)
      if (r.time_ns >= l.start_ns && r.time_ns <= l.end_ns && Mentions(r, l, org)) in.push_back(&r);
    EXPECT_GE(in.size(), l.records) << l.id;
    auto count = [&](const std::string& needle) {
      return std::count_if(in.begin(), in.end(), [&](const SimRecord* r) { return r->text.find(needle) != std::string::npos; });
    };
    // What each finding needs to see is there.
    if (l.scenario == "trail-stopped") { EXPECT_EQ(count("\"StopLogging\""), 1) << l.id; }
    if (l.scenario == "trail-deleted") { EXPECT_EQ(count("\"DeleteTrail\""), 1) << l.id; }
    if (l.scenario == "iam-backdoor-user") {
      EXPECT_EQ(count("\"CreateUser\""), 1);
      EXPECT_EQ(count("\"CreateAccessKey\""), 1);
    }
    if (l.scenario == "console-login-no-mfa-new-country") { EXPECT_GE(count("\"MFAUsed\":\"No\""), 1); }
    if (l.scenario == "root-usage") { EXPECT_GE(count("\"type\":\"Root\""), 3); }
    if (l.scenario == "secrets-mass-retrieval") { EXPECT_GE(count("\"GetSecretValue\""), 10); }
    if (l.scenario == "ec2-userdata-retrieval") { EXPECT_GE(count("\"userData\""), 10); }
    if (l.scenario == "ec2-password-data") { EXPECT_GE(count("\"GetPasswordData\""), 5); }
    if (l.id == "s3-bucket-public-exfil-1") { EXPECT_EQ(count("\"PutBucketPolicy\""), 1); }
    if (l.id == "s3-bucket-public-exfil-2") { EXPECT_GE(count("REST.GET.OBJECT"), 200); }
    if (l.scenario == "ebs-snapshot-shared") { EXPECT_EQ(count("CREATE_VOLUME_PERMISSION"), 1); }
    if (l.scenario == "discovery-burst") { EXPECT_GE(in.size(), 20u); }
    if (l.scenario == "privilege-escalation-policy") { EXPECT_EQ(count("AdministratorAccess"), 1); }
    if (l.scenario == "ssh-bruteforce-inbound" || l.scenario == "ssh-bruteforce-outbound") { EXPECT_GE(count(" 22 6 "), 200); }
    if (l.scenario == "dns-exfiltration") { EXPECT_GE(count("\"TXT\""), 100); }
    if (l.scenario == "dga-domains") { EXPECT_GE(count("NXDOMAIN"), 100); }
    if (l.scenario == "portscan-from-instance" || l.scenario == "portscan-to-instance") {
      std::set<std::string> ports;
      for (const SimRecord* r : in) {
        std::istringstream f(r->text);
        std::string w[7];
        for (auto& x : w) f >> x;
        ports.insert(w[6]);
      }
      EXPECT_GE(ports.size(), 25u) << l.id;
    }
  }
  for (const auto& info : AttackCatalog()) EXPECT_TRUE(scenarios.count(info.name)) << info.name;
  // The intel list names the address the scenario contacts, and the pool
  // domain crypto-mining resolves.
  const std::string ips = (*sim)->ThreatIntelIps();
  const std::string domains = (*sim)->ThreatIntelDomains();
  size_t intel_flows = 0, pool_queries = 0;
  for (const SimRecord& r : all) {
    if (r.type == LogType::kVpcFlow) {
      std::istringstream f(r.text);
      std::string w[5];
      for (auto& x : w) f >> x;
      if (ips.find("\n" + w[4] + "\n") != std::string::npos) ++intel_flows;
    }
    if (r.type == LogType::kDns && r.text.find("nanopool") != std::string::npos) ++pool_queries;
    if (r.type == LogType::kDns) {
      for (const char* d : {"supportxmr", "moneroocean", "2miners", "nanopool"})
        if (r.text.find(d) != std::string::npos && domains.find(d) == std::string::npos) ADD_FAILURE() << d;
    }
  }
  EXPECT_GE(intel_flows, 4u);
}

TEST_F(OrgSimulatorTest, NothingMarksAnAttack) {
  SimulateOptions o = AllAttacks(1, 2000);
  for (const SimRecord& r : RunAll(o)) {
    for (const char* word : {"attack", "scenario", "malicious", "evil", "simulat", "backdoor"})
      ASSERT_EQ(r.text.find(word), std::string::npos) << word << " in " << r.text;
  }
}

TEST_F(OrgSimulatorTest, WeekdaysAreBusierThanWeekendsAndPeopleWorkByDay) {
  SimulateOptions o;
  o.days = 7;  // from Monday 2025-03-03
  o.events_per_day = 4000;
  SimulateSummary s;
  std::vector<SimRecord> all = RunAll(o, &s);
  const double weekday = static_cast<double>(s.weekday_records) / 5;
  const double weekend = static_cast<double>(s.weekend_records) / 2;
  EXPECT_GT(weekday, 1.2 * weekend) << weekday << " vs " << weekend;
  // Human sign-ins cluster in working hours (UTC 06-18 for London, Berlin
  // and New York offices), on working days.
  size_t day_logins = 0, night_logins = 0, weekend_logins = 0, weekday_logins = 0;
  // Bulk transfers (over 100 MB) run at night.
  size_t bulk_night = 0, bulk_day = 0;
  for (const SimRecord& r : all) {
    const int64_t hour = (r.time_ns / (3600 * kNanosPerSecond)) % 24;
    const int64_t dow = (DayNumber(r.time_ns) + 4) % 7;
    const bool weekend_day = dow == 0 || dow == 6;
    if (r.type == LogType::kCloudTrail && r.text.find("\"ConsoleLogin\"") != std::string::npos) {
      (hour >= 6 && hour < 18 ? day_logins : night_logins)++;
      (weekend_day ? weekend_logins : weekday_logins)++;
    }
    if (r.type == LogType::kVpcFlow) {
      std::istringstream f(r.text);
      std::string w[10];
      for (auto& x : w) f >> x;
      if (std::stoll(w[9]) > 100'000'000) (hour >= 1 && hour < 5 ? bulk_night : bulk_day)++;
    }
  }
  EXPECT_GT(day_logins, 4 * night_logins);
  EXPECT_GT(weekday_logins / 5, 3 * (weekend_logins / 2 + 1));
  EXPECT_GT(bulk_night, 10u);
  EXPECT_EQ(bulk_day, 0u);
}

TEST_F(OrgSimulatorTest, GeoIpTableCoversEveryPublicAddress) {
  SimulateOptions o = AllAttacks(2, 3000);
  auto sim = Simulator::Create(o);
  ASSERT_TRUE(sim.ok());
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  std::istringstream csv((*sim)->GeoIpCsv());
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "start_ip,end_ip,country,asn,city,lat,lon");
  auto ip = [](const std::string& s) {
    unsigned a, b, c, d;
    EXPECT_EQ(std::sscanf(s.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d), 4) << s;
    return (a << 24) | (b << 16) | (c << 8) | d;
  };
  while (std::getline(csv, line)) {
    const size_t comma = line.find(',');
    ranges.push_back({ip(line.substr(0, comma)), ip(line.substr(comma + 1, line.find(',', comma + 1) - comma - 1))});
  }
  // Ranges are disjoint, as vigil's GeoIP table format requires.
  auto sorted = ranges;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i + 1 < sorted.size(); ++i) {
    EXPECT_LE(sorted[i].first, sorted[i].second);
    EXPECT_LT(sorted[i].second, sorted[i + 1].first) << "overlapping ranges";
  }
  size_t checked = 0;
  ASSERT_TRUE((*sim)->Run([&](int, std::vector<SimRecord>& day) {
                       for (const SimRecord& r : day) {
                         std::string addr;
                         if (r.type == LogType::kCloudTrail) {
                           const size_t k = r.text.find("\"sourceIPAddress\":\"");
                           addr = r.text.substr(k + 19, r.text.find('"', k + 19) - k - 19);
                         } else if (r.type == LogType::kVpcFlow) {
                           std::istringstream f(r.text);
                           std::string w[5];
                           for (auto& x : w) f >> x;
                           addr = w[3].rfind("10.", 0) == 0 ? w[4] : w[3];
                         } else if (r.type == LogType::kAlb) {
                           std::istringstream f(r.text);
                           std::string w[4];
                           for (auto& x : w) f >> x;
                           addr = w[3].substr(0, w[3].find(':'));
                         }
                         if (addr.empty() || addr.find_first_not_of("0123456789.") != std::string::npos ||
                             addr.rfind("10.", 0) == 0)
                           continue;
                         const uint32_t a = ip(addr);
                         bool found = false;
                         for (auto [lo, hi] : ranges) found |= a >= lo && a <= hi;
                         EXPECT_TRUE(found) << addr << " in " << r.text;
                         ++checked;
                       }
                       return Status::Ok();
                     }).ok());
  EXPECT_GT(checked, 1000u);
}

// A run can keep a longer learning period than the default, and can attack
// every day after it (the live demo's estate).
TEST_F(OrgSimulatorTest, LearningDaysAndAttacksEveryDay) {
  SimulateOptions o = AllAttacks(4, 1500);
  o.principals = 12;
  o.learning_days = 2;
  o.attacks_every_day = true;
  SimulateSummary s;
  RunAll(o, &s);
  std::map<int64_t, std::set<std::string>> by_day;
  for (const AttackLabel& l : s.labels) {
    const int64_t day = (l.start_ns - o.start_ns) / (kNanosPerSecond * 86400);
    EXPECT_GE(day, 2) << l.id << " falls in the learning period";
    EXPECT_EQ((l.end_ns - o.start_ns) / (kNanosPerSecond * 86400), day) << l.id << " ends another day";
    by_day[day].insert(l.scenario);
  }
  ASSERT_EQ(by_day.size(), 2u);
  for (const auto& [day, scenarios] : by_day) EXPECT_EQ(scenarios.size(), AttackCatalog().size()) << "day " << day;

  // Without attacks_every_day each scenario happens once, after learning.
  o.attacks_every_day = false;
  o.learning_days = 3;
  RunAll(o, &s);
  std::set<std::string> once;
  for (const AttackLabel& l : s.labels) {
    EXPECT_EQ((l.start_ns - o.start_ns) / (kNanosPerSecond * 86400), 3) << l.id;
    once.insert(l.scenario);
  }
  EXPECT_EQ(once.size(), AttackCatalog().size());
}

TEST_F(OrgSimulatorTest, RejectsBadOptions) {
  SimulateOptions o;
  o.days = 0;
  EXPECT_EQ(Simulator::Create(o).status().code(), StatusCode::kInvalidArgument);
  o.days = 1;
  o.principals = 2;
  EXPECT_EQ(Simulator::Create(o).status().code(), StatusCode::kInvalidArgument);
  o.principals = 10;
  o.attacks = {"no-such-attack"};
  auto r = Simulator::Create(o);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("trail-stopped"), std::string::npos) << "the error lists the known names";
  o.attacks = {"trail-stopped"};
  o.days = 2;
  o.learning_days = 2;  // no day left to attack on
  EXPECT_EQ(Simulator::Create(o).status().code(), StatusCode::kInvalidArgument);
  o.learning_days = 1;
  EXPECT_TRUE(Simulator::Create(o).ok());
}

}  // namespace
}  // namespace vigil::sim
