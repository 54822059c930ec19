// The validator on hand-written events: each kind of violation is caught,
// and a valid event passes.
#include "ocsf/ocsf_test_util.h"

namespace vigil::ocsf {
namespace {

using testing::TheSchema;

const std::string kValid = R"({"class_uid":4001,"class_name":"Network Activity","category_uid":4,
  "category_name":"Network Activity","activity_id":6,"activity_name":"Traffic","type_uid":400106,
  "type_name":"Network Activity: Traffic","time":1418530010000,"severity_id":1,"severity":"Informational",
  "src_endpoint":{"ip":"172.31.9.69","port":49761},"metadata":{"version":"1.9.0-dev",
  "product":{"name":"Amazon VPC","vendor_name":"AWS"},"profiles":["cloud"]},"cloud":{"provider":"AWS"}})";

std::string Problems(std::string_view json, const std::vector<std::string>& left_out = {}) {
  std::string out;
  for (const auto& v : TheSchema().Validate(json, left_out).violations) out += v.path + ": " + v.problem + "\n";
  return out;
}

std::string With(std::string_view from, std::string_view to) {
  std::string s = kValid;
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(OcsfValidator, ValidEventPasses) { EXPECT_EQ(Problems(kValid), ""); }

TEST(OcsfValidator, CatchesEachKindOfViolation) {
  EXPECT_NE(Problems(With("\"172.31.9.69\"", "\"035.249.253.232\"")).find("src_endpoint.ip"), std::string::npos);
  EXPECT_NE(Problems(With("49761", "70000")).find("outside port_t range"), std::string::npos);
  EXPECT_NE(Problems(With("49761", "\"49761\"")).find("expected an integer"), std::string::npos);
  EXPECT_NE(Problems(With("\"severity_id\":1", "\"severity_id\":7")).find("not a value of this enum"), std::string::npos);
  EXPECT_NE(Problems(With("\"Informational\"", "\"Low\"")).find("should be \"Informational\""), std::string::npos);
  EXPECT_NE(Problems(With("400106", "400107")).find("type_uid"), std::string::npos);
  EXPECT_NE(Problems(With("\"category_uid\":4", "\"category_uid\":3")).find("category_uid"), std::string::npos);
  EXPECT_NE(Problems(With("\"time\":1418530010000,", "")).find("time: required attribute missing"), std::string::npos);
  EXPECT_NE(Problems(With("\"provider\":\"AWS\"", "\"region\":\"x\"")).find("cloud.provider: required"), std::string::npos);
  EXPECT_NE(Problems(With("\"port\":49761", "\"port\":49761,\"colour\":1")).find("not an attribute of network_endpoint"),
            std::string::npos);
  EXPECT_NE(Problems(With("\"ip\":\"172.31.9.69\",", "")).find("at least one of"), std::string::npos);
  EXPECT_NE(Problems(With("\"class_uid\":4001", "\"class_uid\":9999")).find("no class 9999"), std::string::npos);
  // A profile's required attributes bind only when the event names the profile.
  EXPECT_NE(Problems(With(",\"cloud\":{\"provider\":\"AWS\"}", "")).find("cloud: required"), std::string::npos);
  std::string no_profile = With(",\"profiles\":[\"cloud\"]", "");
  no_profile.replace(no_profile.find(",\"cloud\":{\"provider\":\"AWS\"}"), 27, "");
  EXPECT_EQ(Problems(no_profile), "");
}

TEST(OcsfValidator, AnUnmetRequirementIsExcusedOnlyByALeftOutValue) {
  const std::string no_ip = With("\"ip\":\"172.31.9.69\",", "");
  EXPECT_NE(Problems(no_ip), "");
  EXPECT_EQ(Problems(no_ip, {"src_endpoint.ip"}), "");
  EXPECT_EQ(TheSchema().Validate(no_ip, {"src_endpoint.ip"}).excused.size(), 1u);
  EXPECT_NE(Problems(no_ip, {"dst_endpoint.ip"}), "");
}

TEST(OcsfValidator, ChecksMappingPaths) {
  EXPECT_TRUE(TheSchema().CheckAttributePath(6003, "actor.user.uid").ok());
  EXPECT_TRUE(TheSchema().CheckAttributePath(6003, "resources[].owner.account.uid").ok());
  EXPECT_FALSE(TheSchema().CheckAttributePath(6003, "resources.uid").ok());
  EXPECT_FALSE(TheSchema().CheckAttributePath(4001, "src_endpoint.colour").ok());
}

}  // namespace
}  // namespace vigil::ocsf
