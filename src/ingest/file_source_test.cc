#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "ingest/source.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

TEST(DeliveryTimeKeyTest, ReadsTheAwsLogsAndS3AccessLogNameForms) {
  EXPECT_EQ(DeliveryTimeKey("111122223333_CloudTrail_us-east-1_20250304T1215Z_AbCdEf.json.gz"), "20250304121500");
  EXPECT_EQ(DeliveryTimeKey("111122223333_vpcflowlogs_eu-west-1_fl-0123_20241231T2355Z_9f8e.log.gz"),
            "20241231235500");
  EXPECT_EQ(DeliveryTimeKey("2025-03-04-12-15-07-5E1F3A2B1C0D9E8F"), "20250304121507");
  EXPECT_EQ(DeliveryTimeKey("app.log"), "");
  EXPECT_EQ(DeliveryTimeKey("20250304T12Z.json"), "");  // hours only: not a delivery stamp
}

// A multi-account tree is replayed in delivery order across accounts and
// regions, not one account's whole history first, so windowed detectors see
// events in the order a live deployment would.
TEST(FileSourceTest, ADirectoryIsReadInDeliveryTimeOrderAcrossAccounts) {
  const fs::path root = fs::temp_directory_path() / ("vigil-file-source-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const std::vector<std::string> names = {
      "AWSLogs/111111111111/CloudTrail/us-east-1/2025/03/04/111111111111_CloudTrail_us-east-1_20250304T0900Z_a.json",
      "AWSLogs/111111111111/CloudTrail/us-east-1/2025/03/05/111111111111_CloudTrail_us-east-1_20250305T0900Z_b.json",
      "AWSLogs/222222222222/CloudTrail/eu-west-1/2025/03/04/222222222222_CloudTrail_eu-west-1_20250304T1000Z_c.json",
      "AWSLogs/222222222222/CloudTrail/eu-west-1/2025/03/05/222222222222_CloudTrail_eu-west-1_20250305T0800Z_d.json",
      "notes/readme.txt",
  };
  for (const auto& n : names) {
    fs::create_directories((root / n).parent_path());
    std::ofstream(root / n) << "{}";
  }
  auto source = MakeFileSource({root.string()});
  ASSERT_EQ(source->total(), names.size());
  std::vector<std::string> order;
  while (auto in = source->Next()) {
    ASSERT_TRUE(in->ok()) << in->status().ToString();
    order.push_back(fs::path((*in)->name).filename().string());
    EXPECT_FALSE((*in)->explicit_input);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"readme.txt", "111111111111_CloudTrail_us-east-1_20250304T0900Z_a.json",
                                             "222222222222_CloudTrail_eu-west-1_20250304T1000Z_c.json",
                                             "222222222222_CloudTrail_eu-west-1_20250305T0800Z_d.json",
                                             "111111111111_CloudTrail_us-east-1_20250305T0900Z_b.json"}));
  fs::remove_all(root);
}

}  // namespace
}  // namespace vigil
