#include "detect/schema/sigma_schema.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>

namespace vigil {
namespace {

namespace fs = std::filesystem;

const SigmaSchemas& Schemas() {
  static const SigmaSchemas* s = [] {
    auto loaded = SigmaSchemas::Load(VIGIL_SHARED_DATA "/sigma-spec/json-schema");
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    return new SigmaSchemas(std::move(loaded).value());
  }();
  return *s;
}

std::vector<std::string> CheckText(const std::string& yaml) { return Schemas().Check(YAML::Load(yaml)); }

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

size_t CheckTree(const std::string& dir, size_t* files) {
  size_t rejected = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string p = e.path().string();
    if (e.path().extension() != ".yml" || p.find(".tests.yml") != std::string::npos) continue;
    ++*files;
    for (const YAML::Node& doc : YAML::LoadAllFromFile(p)) {
      if (doc.IsMap() && doc["detector"]) continue;  // a behavioural rule: vigil's own format
      auto v = Schemas().Check(doc);
      if (!v.empty()) {
        ++rejected;
        ADD_FAILURE() << p << "\n" << Join(v);
        break;
      }
    }
  }
  return rejected;
}

TEST(SigmaSchemaTest, ShippedRulesAndSigmaHqAwsRulesPass) {
  size_t files = 0;
  EXPECT_EQ(CheckTree(VIGIL_SOURCE_DIR "/rules", &files), 0u);
  EXPECT_EQ(CheckTree(VIGIL_SHARED_DATA "/sigma/rules/cloud/aws", &files), 0u);
  EXPECT_GE(files, 70u);
}

TEST(SigmaSchemaTest, SpecificationExamplesOfCorrelationsPass) {
  size_t files = 0;
  EXPECT_EQ(CheckTree(VIGIL_SHARED_DATA "/sigma-spec/tests/schema/correlation", &files), 0u);
  EXPECT_GE(files, 5u);
}

TEST(SigmaSchemaTest, ReportsWhatTheSchemaRejects) {
  auto v = CheckText(R"(
title: x
id: not-a-uuid
status: wip
date: 2020/06/14
level: severe
tags: [Attack.T1078, attack.t1078, attack.t1078]
logsource: {product: aws}
detection: {sel: {a: b}, condition: sel}
)");
  std::string all = Join(v);
  EXPECT_NE(all.find("/id: \"not-a-uuid\" is not a UUID"), std::string::npos) << all;
  EXPECT_NE(all.find("/status: matches 0 of the"), std::string::npos) << all;
  EXPECT_NE(all.find("/date: \"2020/06/14\" does not match"), std::string::npos) << all;
  EXPECT_NE(all.find("/level:"), std::string::npos) << all;
  EXPECT_NE(all.find("/tags/0: \"Attack.T1078\" does not match"), std::string::npos) << all;
  EXPECT_NE(all.find("/tags: items are not unique"), std::string::npos) << all;
  EXPECT_NE(CheckText("logsource: {}\ndetection: {condition: x}\n")[0].find("missing required `title`"),
            std::string::npos);
  // A quoted number is a string; a plain one is not.
  EXPECT_TRUE(CheckText("title: '42'\nlogsource: {}\ndetection: {condition: x}\n").empty());
  EXPECT_FALSE(CheckText("title: 42\nlogsource: {}\ndetection: {condition: x}\n").empty());
}

TEST(SigmaSchemaTest, ObsoleteSyntaxInUnsupportedRulesIsReported) {
  size_t rejected = 0, files = 0;
  for (const auto& e : fs::recursive_directory_iterator(VIGIL_SHARED_DATA "/sigma/unsupported")) {
    if (e.path().extension() != ".yml") continue;
    ++files;
    for (const YAML::Node& doc : YAML::LoadAllFromFile(e.path().string()))
      if (!Schemas().Check(doc).empty()) {
        ++rejected;
        break;
      }
  }
  EXPECT_GT(files, 0u);
  EXPECT_GT(rejected, 0u);  // old date formats and the like
}

}  // namespace
}  // namespace vigil
