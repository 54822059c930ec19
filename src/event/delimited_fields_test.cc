#include "event/delimited_fields.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

std::shared_ptr<const FieldTable> FlowTable() {
  return std::make_shared<const FieldTable>(
      std::vector<std::string>{"version", "account-id", "interface-id", "srcaddr", "dstport", "bytes", "action", "x"});
}

TEST(DelimitedFieldsTest, NamesNumbersAndMissing) {
  std::string line = "2 012345678901 eni-1 10.0.0.1 22 1.5 REJECT";
  std::vector<std::string_view> values = {"2", "012345678901", "eni-1", "10.0.0.1", "22", "1.5", "REJECT"};
  DelimitedFields f(FlowTable(), values);
  line.assign(line.size(), '?');  // the resolver keeps its own copy

  std::vector<FieldValue> got;
  EXPECT_TRUE(f.Visit(FieldPath("dstport"), [&](const FieldValue& v) {
    got.push_back(v);
    return true;
  }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, ValueKind::kNumber);
  EXPECT_EQ(got[0].text, "22");
  EXPECT_EQ(got[0].number, 22);
  EXPECT_TRUE(got[0].is_integer);

  EXPECT_EQ(f.value(f.table().Find("account-id"))->kind, ValueKind::kString);  // leading zero: an id, not a number
  EXPECT_EQ(f.value(f.table().Find("srcaddr"))->kind, ValueKind::kString);
  EXPECT_EQ(f.value(f.table().Find("bytes"))->kind, ValueKind::kNumber);
  EXPECT_FALSE(f.value(f.table().Find("bytes"))->is_integer);
  EXPECT_EQ(f.Text("interface-id"), "eni-1");
  EXPECT_EQ(f.Text("action"), "REJECT");
  EXPECT_FALSE(f.Visit(FieldPath("x"), [](const FieldValue&) { return true; }));  // past the record's end
  EXPECT_FALSE(f.Visit(FieldPath("nope"), [](const FieldValue&) { return true; }));

  FieldValueList list;
  EXPECT_TRUE(f.Collect(FieldPath("srcaddr"), &list));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list.at(0).text, "10.0.0.1");

  size_t scalars = 0;
  f.VisitAllScalars([&](const FieldValue&) { return ++scalars < 100; });
  EXPECT_EQ(scalars, 7u);
}

TEST(DelimitedFieldsTest, DashIsMissing) {
  std::vector<std::string_view> values = {"2", "1", "eni-1", "-", "-", "-", "-"};
  DelimitedFields f(FlowTable(), values);
  EXPECT_FALSE(f.Visit(FieldPath("srcaddr"), [](const FieldValue&) { return true; }));
  EXPECT_EQ(f.value(3), nullptr);
  EXPECT_EQ(f.Text("srcaddr"), "");
}

TEST(DelimitedFieldsTest, ClassifyValues) {
  double n = 0;
  bool integer = false;
  EXPECT_EQ(ClassifyDelimitedValue("-", &n, &integer), ValueKind::kNull);
  EXPECT_EQ(ClassifyDelimitedValue("-1", &n, &integer), ValueKind::kNumber);
  EXPECT_EQ(n, -1);
  EXPECT_EQ(ClassifyDelimitedValue("0", &n, &integer), ValueKind::kNumber);
  EXPECT_EQ(ClassifyDelimitedValue("0.000", &n, &integer), ValueKind::kNumber);
  EXPECT_FALSE(integer);
  for (std::string_view s : {"", "inf", "nan", "1e5", "0x10", "+1", "1.2.3", "12ab", "007", "- "})
    EXPECT_EQ(ClassifyDelimitedValue(s, &n, &integer), ValueKind::kString) << s;
}

TEST(DelimitedFieldsTest, TableLookupAndRepeats) {
  FieldTable t({"a", "b", "a", "client:port"});
  EXPECT_EQ(t.Find("a"), 0u);
  EXPECT_EQ(t.Find("b"), 1u);
  EXPECT_EQ(t.Find("client:port"), 3u);
  EXPECT_EQ(t.Find("c"), FieldTable::npos);
  FieldTable empty({});
  EXPECT_EQ(empty.Find("a"), FieldTable::npos);
}

}  // namespace
}  // namespace vigil
