#include <gtest/gtest.h>

#include "event/json_fields.h"

namespace vigil {
namespace {

std::vector<std::string> All(const FieldResolver& f, std::string_view path, bool* found = nullptr) {
  std::vector<std::string> out;
  bool ok = f.Visit(FieldPath(path), [&](const FieldValue& v) {
    out.emplace_back(v.kind == ValueKind::kNull ? "<null>" : std::string(v.text));
    return true;
  });
  if (found) *found = ok;
  return out;
}

TEST(JsonFieldsTest, DottedPathsArraysAndScalars) {
  auto r = ParseJsonFields(R"({"userIdentity":{"sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},
    "resources":[{"ARN":"arn:a"},{"ARN":"arn:b"}],"n":443,"d":1.5,"b":true,"z":null,"tags":["x","y"]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const FieldResolver& f = **r;
  EXPECT_EQ(All(f, "userIdentity.sessionContext.attributes.mfaAuthenticated"), std::vector<std::string>{"false"});
  EXPECT_EQ(All(f, "resources.ARN"), (std::vector<std::string>{"arn:a", "arn:b"}));
  EXPECT_EQ(All(f, "tags"), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(All(f, "n"), std::vector<std::string>{"443"});
  EXPECT_EQ(All(f, "d"), std::vector<std::string>{"1.5"});
  EXPECT_EQ(All(f, "b"), std::vector<std::string>{"true"});
  bool found = false;
  EXPECT_EQ(All(f, "z", &found), std::vector<std::string>{"<null>"});
  EXPECT_TRUE(found);
  All(f, "missing.path", &found);
  EXPECT_FALSE(found);
  // `[N]` picks one element; out of range or on a non-array is absent.
  EXPECT_EQ(All(f, "resources.[1].ARN"), std::vector<std::string>{"arn:b"});
  EXPECT_EQ(All(f, "tags.[0]"), std::vector<std::string>{"x"});
  All(f, "tags.[5]", &found);
  EXPECT_FALSE(found);
  All(f, "n.[0]", &found);
  EXPECT_FALSE(found);
}

TEST(JsonFieldsTest, LimitsAreClearErrors) {
  std::string deep(100, '[');
  deep = "{\"a\":" + deep + std::string(100, ']') + "}";
  auto r = ParseJsonFields(deep, JsonLimits{1 << 20, 32});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kLimitExceeded);
  auto big = ParseJsonFields(std::string(100, ' '), JsonLimits{10, 64});
  EXPECT_EQ(big.status().code(), StatusCode::kLimitExceeded);
  auto bad = ParseJsonFields("{\"a\":");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil
