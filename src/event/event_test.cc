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

// The root's keys are looked up through a table built per document: these
// answers must match a walk of the document (first of duplicate keys, keys
// with dots in them, short keys, escaped keys, roots too big for the table).
TEST(JsonFieldsTest, RootKeyLookupsMatchTheDocument) {
  auto r = ParseJsonFields(R"({"a":1,"ab":"short","a":2,"x.y":{"z":"dotted"},"x":{"q":"nested"},
    "k\u0065y":"escaped","eventName":"first","eventName":"second","n.m":[{"o":"p"}],"-1":-7})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const FieldResolver& f = **r;
  bool found = false;
  EXPECT_EQ(All(f, "a"), std::vector<std::string>{"1"});
  EXPECT_EQ(All(f, "ab"), std::vector<std::string>{"short"});
  EXPECT_EQ(All(f, "eventName"), std::vector<std::string>{"first"});
  EXPECT_EQ(All(f, "key"), std::vector<std::string>{"escaped"});
  EXPECT_EQ(All(f, "-1"), std::vector<std::string>{"-7"});
  EXPECT_EQ(All(f, "x.q"), std::vector<std::string>{"nested"});
  // A path follows the first part that is a key: `x` is one (without `y`),
  // so x.y.z is absent; `n` is not, so n.m.o finds the dotted root key "n.m".
  All(f, "x.y.z", &found);
  EXPECT_FALSE(found);
  EXPECT_EQ(All(f, "n.m.o"), std::vector<std::string>{"p"});
  All(f, "n.m.q", &found);
  EXPECT_FALSE(found);
  All(f, "n", &found);
  EXPECT_FALSE(found);
  All(f, "eventname", &found);
  EXPECT_FALSE(found);
  All(f, "abc.d", &found);
  EXPECT_FALSE(found);

  // A document without dotted root keys answers absent multi-part paths.
  auto plain = ParseJsonFields(R"({"userIdentity":{"type":"Root"},"eventSource":"s3.amazonaws.com"})");
  ASSERT_TRUE(plain.ok());
  All(**plain, "errorCode.x", &found);
  EXPECT_FALSE(found);
  EXPECT_EQ(All(**plain, "userIdentity.type"), std::vector<std::string>{"Root"});

  // More root keys than the table holds: lookups scan the keys in order.
  std::string big = "{";
  for (int i = 0; i < 100; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  big += "\"k7\":\"dup\",\"p.q\":{\"r\":\"s\"}}";
  auto many = ParseJsonFields(big);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(All(**many, "k7"), std::vector<std::string>{"7"});
  EXPECT_EQ(All(**many, "k99"), std::vector<std::string>{"99"});
  EXPECT_EQ(All(**many, "p.q.r"), std::vector<std::string>{"s"});
  All(**many, "k100", &found);
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
