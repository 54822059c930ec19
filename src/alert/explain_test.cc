// One-line explanations of each kind of match object vigil stores.
#include "alert/explain.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(ExplainOneLineTest, SigmaFields) {
  EXPECT_EQ(ExplainOneLine(R"({"selections":["selection"],"fields":{"eventName":"CreateAccessKey","userIdentity.type":"Root"}})"),
            "eventName=CreateAccessKey userIdentity.type=Root");
}

TEST(ExplainOneLineTest, BehaviouralDetectors) {
  EXPECT_EQ(ExplainOneLine(R"({"detector":"new_term","entity":{"userIdentity.arn":"arn:aws:iam::1:user/p"},
      "values":{"eventSource":"ec2.amazonaws.com","eventName":"CreateSnapshot"},
      "baseline":{"learning_period":"5d","entity_first_seen":"2025-03-03T00:08:08Z","known_values":0},
      "observed":{"never_seen_for_entity":true}})"),
            "first eventSource=ec2.amazonaws.com eventName=CreateSnapshot (learning 5d)");
  const std::string dga = ExplainOneLine(R"({"detector":"distinct_count","values":{"query_name|apex":"x.info"},
      "baseline":{"window":"10m","threshold":10},"observed":{"distinct_values":12,"sample_values":["a.xyz","b.net"]}})");
  EXPECT_EQ(dga, "query_name|apex=x.info; 12 distinct in 10m (threshold 10); e.g. a.xyz,b.net");
  EXPECT_EQ(ExplainOneLine(R"({"detector":"impossible_travel",
      "baseline":{"previous_location":{"country":"GB","city":"London"}},
      "observed":{"location":{"country":"NG","city":"Lagos"},"distance_km":5012.0,"hours":0.545,"speed_kmh":9200.0}})"),
            "London GB -> Lagos NG: 5012 km in 0.545 h (9200 km/h)");
  EXPECT_EQ(ExplainOneLine(R"({"detector":"beacon","observed":{"connections":20,"mean_interval_s":298.684,"jitter":0.029}})"),
            "20 connections every 298.7s (jitter 2.9%)");
  EXPECT_EQ(ExplainOneLine(R"({"detector":"volume","values":{"bytes":"1636223400"},"baseline":{"mean":10800.0},
      "observed":{"sum":1636223400.0,"z":230695.154}})"),
            "bytes=1636223400 in the hour, z=230695, baseline mean 10800");
  // A detector this function does not know still says what it saw.
  EXPECT_EQ(ExplainOneLine(R"({"detector":"rarity","values":{"userAgent":"pacu"},"observed":{"share_percent":0.5}})"),
            "rarity; userAgent=pacu; share_percent=0.5");
}

TEST(ExplainOneLineTest, IntelAndCorrelation) {
  EXPECT_EQ(ExplainOneLine(R"({"field":"srcaddr","value":"45.155.205.81","indicator":"45.155.205.81","feed":"threat-ips",
      "source":"f.txt:30","category":"listed"})"),
            "srcaddr 45.155.205.81 on threat-ips (listed)");
  EXPECT_EQ(ExplainOneLine(R"({"correlation":"event_count","group_by":{"userIdentity.arn":"arn:x"},
      "window_start":"T1","window_end":"T2","condition":"gte 10"})"),
            "event_count gte 10 userIdentity.arn=arn:x from T1 to T2");
}

TEST(ExplainOneLineTest, EmptyBadAndLong) {
  EXPECT_EQ(ExplainOneLine(""), "");
  EXPECT_EQ(ExplainOneLine("{not json"), "");
  EXPECT_EQ(ExplainOneLine("[1,2]"), "");
  const std::string long_value(500, 'x');
  const std::string line = ExplainOneLine(R"({"fields":{"k":")" + long_value + R"("}})", 40);
  EXPECT_EQ(line.size(), 40u);
  EXPECT_EQ(line.substr(37), "...");
  // A cut never splits a UTF-8 character.
  const std::string accents = ExplainOneLine(R"({"fields":{"k":")" + std::string(60, '\xc3') + R"("}})", 20);
  EXPECT_LE(accents.size(), 20u);
}

}  // namespace
}  // namespace vigil
