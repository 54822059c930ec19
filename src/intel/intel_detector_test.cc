// The intel detector on the reference logs in shared/data: a feed of
// addresses and names taken from them (testdata/real-logs-feed.txt) must
// match exactly the records listed here, with the finding type each field
// and indicator category gives, and explain each hit.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "formats/test_sink.h"
#include "intel/intel_detector.h"

namespace vigil::intel {
namespace {

const std::filesystem::path kData = VIGIL_SHARED_DATA;
const std::filesystem::path kTestdata = std::filesystem::path(VIGIL_SOURCE_DIR) / "src/intel/testdata";

struct Hit {
  std::string file;
  size_t record;  // index of the event in the file
  std::string rule_id;
  std::string finding_type;
  std::string explanation;
};

class RealLogs : public ::testing::Test {
 protected:
  void SetUp() override {
    FeedConfig c;
    c.path = (kTestdata / "real-logs-feed.txt").string();
    // Categories from the comments; the default for the rest.
    store_ = std::make_unique<IntelStore>(std::vector<FeedConfig>{c});
    ASSERT_TRUE(store_->Load().ok());
  }

  std::vector<Hit> Run(const std::string& parser, const std::string& file) {
    std::string text = testing::ReadFile(kData / file);
    EXPECT_FALSE(text.empty()) << file;
    auto parsed = testing::ParseAs(parser, text);
    EXPECT_TRUE(parsed.dead.empty()) << file;
    IntelDetector detector(store_.get());
    std::vector<Hit> hits;
    for (size_t i = 0; i < parsed.events.size(); ++i) {
      detector.Process(parsed.events[i], [&](const Event&, const Match& m) {
        hits.push_back({file, i, std::string(m.rule_id), std::string(m.finding_type), m.explain ? m.explain() : ""});
      });
    }
    return hits;
  }

  // "record rule field=value->indicator" per hit.
  static std::vector<std::string> Summary(const std::vector<Hit>& hits) {
    std::vector<std::string> out;
    for (const Hit& h : hits) {
      auto pick = [&](const std::string& key) {
        size_t at = h.explanation.find("\"" + key + "\":\"");
        if (at == std::string::npos) return std::string("?");
        at += key.size() + 4;
        return h.explanation.substr(at, h.explanation.find('"', at) - at);
      };
      out.push_back(std::to_string(h.record) + " " + h.finding_type + " " + pick("field") + "=" + pick("value") +
                    "->" + pick("indicator"));
    }
    return out;
  }

  std::unique_ptr<IntelStore> store_;
};

using Strings = std::vector<std::string>;

TEST_F(RealLogs, VpcFlowLogs) {
  EXPECT_EQ(Summary(Run("vpcflow", "vpcflow/awsdocs-examples.log")),
            (Strings{"4 UnauthorizedAccess:EC2/MaliciousIPCaller.Custom srcaddr=203.0.113.12->203.0.113.12",
                     "5 UnauthorizedAccess:EC2/MaliciousIPCaller.Custom dstaddr=203.0.113.12->203.0.113.12"}));
  // srcaddr and pkt-srcaddr hold the same address: one hit; the /32 wins over the /24.
  EXPECT_EQ(Summary(Run("vpcflow", "vpcflow/elastic-integrations-test-v5-all-fields.log")),
            Strings{"0 Trojan:EC2/BlackholeTraffic srcaddr=89.160.20.156->89.160.20.156"});
  // 81.2.69.142 and .144 are next to a listed address, 1.128.0.0 is not listed.
  EXPECT_EQ(Summary(Run("vpcflow", "vpcflow/elastic-integrations-test-tgw-samples.excerpt.log")),
            (Strings{"0 Backdoor:EC2/C&CActivity.B dstaddr=2a02:cf40::->2a02:cf40::/32",
                     "2 Trojan:EC2/DropPoint dstaddr=89.160.20.128->89.160.20.0/24",
                     "4 Trojan:EC2/DropPoint dstaddr=89.160.20.112->89.160.20.0/24"}));
}

TEST_F(RealLogs, Route53ResolverQueryLogs) {
  EXPECT_EQ(Summary(Run("route53resolver", "dns/awsdocs-examples.jsonl")), Strings{});
  // test.example.com is not under abcd.example.com; ample.com covers no example.com name.
  EXPECT_EQ(Summary(Run("route53resolver", "dns/elastic-integrations-test-route53.excerpt.jsonl")),
            (Strings{"3 Backdoor:EC2/C&CActivity.B!DNS answers.Rdata=2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6->2a02:cf40::/32",
                     "5 CryptoCurrency:EC2/BitcoinTool.B!DNS query_name=0.amazon.pool.ntp.org.->pool.ntp.org",
                     "5 Impact:EC2/MaliciousDomainRequest.Custom answers.Rdata=81.2.69.143->81.2.69.143",
                     "7 Trojan:EC2/PhishingDomainRequest!DNS query_name=abcd.example.com.->abcd.example.com",
                     "8 UnauthorizedAccess:EC2/MaliciousIPCaller.Custom srcaddr=81.2.69.143->81.2.69.143"}));
}

TEST_F(RealLogs, LoadBalancerLogs) {
  EXPECT_EQ(Summary(Run("alb", "alb/awsdocs-examples.log")), Strings{});
  EXPECT_EQ(Summary(Run("alb", "alb/elastic-integrations-test-alb.log")),
            Strings{"1 UnauthorizedAccess:EC2/MaliciousIPCaller.Custom client_ip=67.43.156.20->67.43.156.20"});
}

TEST_F(RealLogs, S3AccessLogs) {
  std::string caller = " UnauthorizedAccess:S3/MaliciousIPCaller.Custom remote_ip=";
  EXPECT_EQ(Summary(Run("s3access", "s3access/awsdocs-examples.log")),
            (Strings{"0" + caller + "192.0.2.3->192.0.2.3", "1" + caller + "192.0.2.3->192.0.2.3",
                     "2" + caller + "192.0.2.3->192.0.2.3", "3" + caller + "192.0.2.3->192.0.2.3",
                     "4" + caller + "192.0.2.3->192.0.2.3"}));
  EXPECT_EQ(Summary(Run("s3access", "s3access/elastic-integrations-test-s3-server-access.excerpt.log")),
            (Strings{"0" + caller + "89.160.20.156->89.160.20.156", "1" + caller + "89.160.20.156->89.160.20.156",
                     "2" + caller + "89.160.20.156->89.160.20.156", "3" + caller + "89.160.20.156->89.160.20.156"}));
}

TEST_F(RealLogs, CloudTrail) {
  const std::string dir = "cloudtrail/stratus-red-team/docs/detonation-logs/";
  auto stop = Run("cloudtrail", dir + "aws.defense-evasion.cloudtrail-stop.json");
  EXPECT_EQ(Summary(stop),
            Strings{"0 UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom sourceIPAddress=86.245.153.234->86.245.153.234"});
  ASSERT_EQ(stop.size(), 1u);
  // The alert's explanation: the indicator, its feed and where it is written.
  EXPECT_EQ(stop[0].explanation,
            "{\"field\":\"sourceIPAddress\",\"value\":\"86.245.153.234\",\"indicator\":\"86.245.153.234\","
            "\"feed\":\"real-logs-feed\",\"source\":\"" + (kTestdata / "real-logs-feed.txt").string() +
            ":11\",\"description\":\"listed: the CloudTrail StopLogging call\",\"category\":\"listed\"}");
  EXPECT_EQ(stop[0].rule_id, "intel-iam-malicious-ip-caller");
  // Every call made with the stolen instance credentials, from one address.
  auto stolen = Run("cloudtrail", dir + "aws.credential-access.ec2-steal-instance-credentials.json");
  EXPECT_EQ(stolen.size(), 45u);
  for (const Hit& h : stolen) EXPECT_EQ(h.finding_type, "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom");
  // Other detonations, from other addresses, raise nothing.
  EXPECT_EQ(Run("cloudtrail", dir + "aws.persistence.iam-backdoor-user.json").size(), 0u);
}

TEST_F(RealLogs, ReloadTakesEffectFromTheNextEvent) {
  // The detector follows its store: once the feed is reloaded without the
  // address, the same detector stops matching it.
  auto events = testing::ParseAs("vpcflow", testing::ReadFile(kData / "vpcflow/awsdocs-examples.log"));
  const auto path = std::filesystem::temp_directory_path() / ("vigil-intel-reload-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(path) << "203.0.113.12\n";
  FeedConfig c;
  c.path = path.string();
  IntelStore store({c});
  ASSERT_TRUE(store.Load().ok());
  IntelDetector detector(&store);
  int hits = 0;
  auto count = [&](const Event&, const Match&) { ++hits; };
  detector.Process(events.events[4], count);
  EXPECT_EQ(hits, 1);
  std::ofstream(path, std::ios::trunc) << "198.51.100.1\n# a longer file, so that the size changes too\n";
  EXPECT_EQ(store.Reload().reloaded, Strings{"vigil-intel-reload-" + std::to_string(::getpid())});
  detector.Process(events.events[4], count);
  EXPECT_EQ(hits, 1);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace vigil::intel
