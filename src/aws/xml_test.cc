#include "aws/xml.h"

#include <gtest/gtest.h>

#include "aws/s3_client.h"

namespace vigil::aws {
namespace {

// A ListObjectsV2 response as S3 documents it, with entities in a key.
constexpr std::string_view kListPage = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>logs</Name><Prefix>AWSLogs/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/a&amp;b.json.gz</Key>
    <LastModified>2024-01-01T00:05:00.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
    <Size>434234</Size><StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents><Key><![CDATA[AWSLogs/x<y>.gz]]></Key><Size>0</Size></Contents>
  <CommonPrefixes><Prefix>AWSLogs/111122223333/</Prefix></CommonPrefixes>
</ListBucketResult>)";

TEST(S3XmlTest, ParsesListObjectsV2Page) {
  auto page = ParseListObjectsV2(kListPage);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/a&b.json.gz");
  EXPECT_EQ(page->objects[0].size, 434234u);
  EXPECT_EQ(page->objects[0].etag, "\"fba9dede5f27731c9771645a39863328\"");
  EXPECT_EQ(page->objects[0].last_modified, "2024-01-01T00:05:00.000Z");
  EXPECT_EQ(page->objects[1].key, "AWSLogs/x<y>.gz");
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"AWSLogs/111122223333/"});
}

TEST(S3XmlTest, ParsesErrorDocument) {
  auto e = ParseS3Error(
      "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
      "<Message>The request signature we calculated does not match the signature you provided.</Message>"
      "<RequestId>4442587FB7D0A2F9</RequestId></Error>");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");
  EXPECT_EQ(e->message, "The request signature we calculated does not match the signature you provided.");
}

TEST(S3XmlTest, CharacterReferences) {
  auto x = ParseXml("<a>&#65;&#x42;&#x1F600;<b k='v&gt;' /></a>");
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x->text, "AB\xF0\x9F\x98\x80");
  ASSERT_EQ(x->children.size(), 1u);
  EXPECT_EQ(x->children[0].name, "b");
}

TEST(S3XmlTest, RejectsMalformedInputWithItsPosition) {
  for (std::string_view bad : {"", "<a>", "<a></b>", "<a>&bogus;</a>", "<a>&#0;</a>", "<a>&#xD800;</a>",
                               "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<a></a><b/>", "<a b></a>",
                               "<a><![CDATA[x</a>", "text"}) {
    auto x = ParseXml(bad);
    EXPECT_FALSE(x.ok()) << bad;
    if (!x.ok()) {
      EXPECT_NE(x.status().message().find("XML at byte"), std::string::npos) << x.status().message();
    }
  }
  std::string deep;
  for (int i = 0; i < kMaxXmlDepth + 1; ++i) deep += "<a>";
  EXPECT_NE(ParseXml(deep).status().message().find("nested too deeply"), std::string::npos);
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").ok());
  EXPECT_FALSE(ParseListObjectsV2("<Error><Code>AccessDenied</Code></Error>").ok());
}

}  // namespace
}  // namespace vigil::aws
