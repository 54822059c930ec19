#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace vigil::server {
namespace {

TEST(ServeConfigTest, EmptyFileGivesSafeDefaults) {
  auto c = ParseServeConfig("", "empty.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->http.listen, "127.0.0.1");
  EXPECT_FALSE(c->http.tls.enabled());
  EXPECT_EQ(c->http.max_body_bytes, 16u << 20);
  EXPECT_EQ(c->pipeline.commit_interval, std::chrono::milliseconds(250));
  auto tokens = c->ResolveTokens();
  ASSERT_TRUE(tokens.ok());
  EXPECT_TRUE(tokens->empty());  // ingest refused until a token is configured
}

TEST(ServeConfigTest, TheDocumentedExampleLoads) {
  auto c = LoadServeConfig(std::string(VIGIL_SOURCE_DIR) + "/docs/examples/vigil-serve.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->http.port, 8514);
  EXPECT_EQ(c->wal.max_backlog_bytes, 1ull << 30);
}

TEST(ServeConfigTest, ValuesAndUnits) {
  auto c = ParseServeConfig(R"(
data_dir: /var/lib/vigil
log_format: json
http:
  listen: 0.0.0.0
  port: 9000
  max_body_bytes: 4MiB
  tls: {cert_file: c.pem, key_file: k.pem}
ingest:
  tokens: [a, b]
wal:
  max_backlog_bytes: 2GiB
  segment_bytes: 1000000
pipeline:
  rules: [/etc/vigil/rules]
  builtin_rules: false
  commit_interval_ms: 100
)", "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data_dir, "/var/lib/vigil");
  EXPECT_EQ(c->http.port, 9000);
  EXPECT_EQ(c->http.max_body_bytes, 4u << 20);
  EXPECT_TRUE(c->http.tls.enabled());
  EXPECT_EQ(c->wal.max_backlog_bytes, 2ull << 30);
  EXPECT_EQ(c->wal.segment_bytes, 1000000u);
  EXPECT_FALSE(c->pipeline.builtin_rules);
  EXPECT_EQ(c->pipeline.commit_interval, std::chrono::milliseconds(100));
  EXPECT_EQ(*c->ResolveTokens(), (std::vector<std::string>{"a", "b"}));
}

TEST(ServeConfigTest, SyslogListeners) {
  auto c = ParseServeConfig(R"(
sources:
  syslog:
    - {protocol: udp, port: 5514}
    - protocol: tls
      listen: 0.0.0.0
      port: 6514
      name: syslog-edge
      tls: {cert_file: c.pem, key_file: k.pem, client_ca_file: ca.pem}
      max_message_bytes: 8KiB
      max_connections: 10
      idle_timeout_seconds: 0
)", "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->sources.syslog.size(), 2u);
  const SyslogListenerConfig& udp = c->sources.syslog[0];
  EXPECT_EQ(udp.protocol, SyslogProtocol::kUdp);
  EXPECT_EQ(udp.bind, "127.0.0.1");  // loopback unless told otherwise
  EXPECT_EQ(udp.port, 5514);
  const SyslogListenerConfig& tls = c->sources.syslog[1];
  EXPECT_EQ(tls.protocol, SyslogProtocol::kTls);
  EXPECT_EQ(tls.bind, "0.0.0.0");
  EXPECT_EQ(tls.source, "syslog-edge");
  EXPECT_EQ(tls.tls_client_ca, "ca.pem");
  EXPECT_EQ(tls.max_message_bytes, 8u << 10);
  EXPECT_EQ(tls.max_connections, 10u);
  EXPECT_EQ(tls.idle_timeout_ms, 0);
  EXPECT_TRUE(ParseServeConfig("", "empty.yaml")->sources.syslog.empty());
}

TEST(ServeConfigTest, StorageRetentionColdBucketAndPrices) {
  auto c = ParseServeConfig(R"(
storage:
  interval_seconds: 600
  warm_zstd_level: 15
  cache_bytes: 2GiB
  cold: {bucket: archive, prefix: vigil/, endpoint: "http://127.0.0.1:4568", region: eu-west-1}
  retention:
    cloudtrail: {warm_after_days: 7, cold_after_days: 30, delete_after_days: 2555}
    "*": {delete_after_days: 90}
  prices: {hot_per_gb_month: 0.1, cold_per_gb_month: 0.004}
)", "s.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.interval_seconds, 600);
  EXPECT_EQ(c->storage.warm_zstd_level, 15);
  EXPECT_EQ(c->storage.cache_bytes, 2ull << 30);
  EXPECT_EQ(c->storage.cold.bucket, "archive");
  EXPECT_EQ(c->storage.cold.s3.region, "eu-west-1");
  EXPECT_EQ(c->storage.PolicyFor("cloudtrail").cold_after_days, 30);
  EXPECT_EQ(c->storage.PolicyFor("vpcflow").delete_after_days, 90);  // the "*" policy
  EXPECT_EQ(c->storage.PolicyFor("vpcflow").cold_after_days, 0);
  EXPECT_DOUBLE_EQ(c->storage.prices.cold_per_gb_month, 0.004);
  EXPECT_DOUBLE_EQ(c->storage.prices.warm_per_gb_month, 0.08);  // default

  for (auto [yaml, error] : {
           std::pair{"storage: {retention: {cloudtrail: {cold_after_days: 3}}}", "storage.cold.bucket is not set"},
           std::pair{"storage: {retention: {x: {warm_after_days: 9, cold_after_days: 3}}, cold: {bucket: b}}",
                     "cold_after_days (3) is before warm_after_days (9)"},
           std::pair{"storage: {retention: {x: {hot_days: 3}}}", "storage.retention.x.hot_days: unknown key"},
           std::pair{"storage: {prices: {hot_per_gb_month: -1}}", "storage.prices.hot_per_gb_month"},
       }) {
    auto bad = ParseServeConfig(yaml, "s.yaml");
    ASSERT_FALSE(bad.ok()) << yaml;
    EXPECT_NE(bad.status().message().find(error), std::string::npos) << bad.status().ToString();
  }
}

TEST(ServeConfigTest, ErrorsNameTheFileAndTheKey) {
  struct Case {
    const char* yaml;
    const char* expect;
  } cases[] = {
      {"htpp: {}", "htpp: unknown key"},
      {"http: {prot: 1}", "http.prot: unknown key"},
      {"http: {tls: {cert: x}}", "http.tls.cert: unknown key"},
      {"http: {port: 70000}", "http.port: expected a whole number"},
      {"http: {port: abc}", "http.port"},
      {"http: {max_body_bytes: 12XB}", "unknown size unit 'XB'"},
      {"http: {tls: {cert_file: c.pem}}", "cert_file and key_file are both needed"},
      {"ingest: {tokens: abc}", "ingest.tokens: expected a list"},
      {"pipeline: {detect: maybe}", "pipeline.detect: expected true or false"},
      {"log_format: xml", "log_format"},
      {"http: [1, 2]", "http: expected a mapping"},
      {"a: [", "not valid YAML"},
      {"sources: {syslog: {port: 1}}", "sources.syslog: expected a list"},
      {"sources: {syslog: [{protocol: relp}]}", "sources.syslog[0].protocol: syslog protocol 'relp'"},
      {"sources: {syslog: [{port: 1}, {prot: 2}]}", "sources.syslog[1].prot: unknown key"},
      {"sources: {syslog: [{protocol: tls, port: 1}]}", "sources.syslog[0]: syslog listener tls"},
      {"sources: {syslog: [{max_message_bytes: 100}]}", "sources.syslog[0].max_message_bytes: at least 480"},
      {"wal: {max_pending_bytes: 64KiB}\nsources: {syslog: [{max_message_bytes: 32KiB}]}",
       "sources.syslog[0].max_message_bytes: more than a quarter of wal.max_backlog_bytes"},
  };
  for (const Case& k : cases) {
    auto c = ParseServeConfig(k.yaml, "bad.yaml");
    ASSERT_FALSE(c.ok()) << k.yaml;
    EXPECT_NE(c.status().message().find(k.expect), std::string::npos) << c.status().message();
    EXPECT_EQ(c.status().message().rfind("bad.yaml", 0), 0u) << c.status().message();
  }
}

TEST(ServeConfigTest, TokensFromFilesAndTheEnvironment) {
  auto path = std::filesystem::temp_directory_path() / ("vigil_tokens_" + std::to_string(::getpid()));
  {
    std::ofstream f(path);
    f << "# ingest tokens\n  t1  \n\nt2\r\n";
  }
  ::setenv("VIGIL_TEST_INGEST_TOKEN", "t3", 1);
  auto c = ParseServeConfig("ingest: {tokens: [t0], token_files: [" + path.string() +
                                "], token_env: VIGIL_TEST_INGEST_TOKEN}",
                            "t.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto tokens = c->ResolveTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  EXPECT_EQ(*tokens, (std::vector<std::string>{"t0", "t1", "t2", "t3"}));
  std::filesystem::remove(path);
  EXPECT_FALSE(c->ResolveTokens().ok());  // a configured file that is gone is an error, not "no tokens"
  ::unsetenv("VIGIL_TEST_INGEST_TOKEN");
}

TEST(ServeConfigTest, PollingSources) {
  auto c = ParseServeConfig(R"(
sources:
  s3:
    - name: org-trail
      bucket: my-cloudtrail
      prefix: AWSLogs/
      region: eu-west-1
      interval_seconds: 120
      max_input_bytes: 64MiB
      window: 5000
      start_date: 2024-02-29
    - name: everything
      bucket: other
      exclude: []
  directory:
    - name: drops
      path: /var/spool/vigil
      interval_seconds: 2
)", "s.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->sources.s3.size(), 2u);
  const S3SourceConfig& s = c->sources.s3[0];
  EXPECT_EQ(s.exclude, std::vector<std::string>{"/CloudTrail-Digest/"});
  EXPECT_TRUE(c->sources.s3[1].exclude.empty());
  EXPECT_EQ(s.name, "org-trail");
  EXPECT_EQ(s.bucket, "my-cloudtrail");
  EXPECT_EQ(s.prefix, "AWSLogs/");
  EXPECT_EQ(s.s3.region, "eu-west-1");
  EXPECT_EQ(s.interval_ms, 120'000);
  EXPECT_EQ(s.max_input_bytes, 64ull << 20);
  EXPECT_EQ(s.window, 5000u);
  EXPECT_EQ(s.start_date, "2024-02-29");
  EXPECT_EQ(c->sources.s3[1].start_date, "");  // from the beginning
  EXPECT_TRUE(s.s3.credentials.access_key_id.empty());  // taken from AWS_* variables at start
  ASSERT_EQ(c->sources.directory.size(), 1u);
  EXPECT_EQ(c->sources.directory[0].directory, "/var/spool/vigil");
  EXPECT_EQ(c->sources.directory[0].interval_ms, 2000);
}

TEST(ServeConfigTest, PollingSourceErrorsNameTheKey) {
  auto err = [](const std::string& yaml) { return ParseServeConfig(yaml, "s.yaml").status().message(); };
  EXPECT_NE(err("sources: {s3: [{name: a}]}").find("sources.s3[0].bucket: required"), std::string::npos);
  EXPECT_NE(err("sources: {directory: [{path: /x}, {path: /y}]}").find("sources.directory[1].name: 'directory' is also"),
            std::string::npos);
  EXPECT_NE(err("sources: {s3: [{bucket: b, name: ../x}]}").find("sources.s3[0].name"), std::string::npos);
  EXPECT_NE(err("sources: {s3: [{bucket: b, bukcet: c}]}").find("sources.s3[0].bukcet: unknown key"),
            std::string::npos);
  for (const char* day : {"2023-02-29", "2025-13-01", "2025-1-01", "yesterday"}) {
    EXPECT_NE(err(std::string("sources: {s3: [{bucket: b, start_date: ") + day + "}]}")
                  .find("sources.s3[0].start_date: expected a date YYYY-MM-DD, got '" + std::string(day) + "'"),
              std::string::npos)
        << day;
  }
  EXPECT_NE(err("sources: {directory: [{path: /x, interval_seconds: 0}]}").find("sources.directory[0].interval_seconds"),
            std::string::npos);
}

TEST(ServeConfigTest, IntelFeeds) {
  auto c = ParseServeConfig(R"(
intel:
  reload_seconds: 0
  feeds:
    - path: /etc/vigil/intel/c2.json
    - path: /etc/vigil/intel/blocklist.csv
      name: blocklist
      format: csv
      category: blackhole
      confidence: 70
      csv: {header: false, delimiter: "\t", value: 2, description: 3}
    - path: misp.json
      include_non_ids: true
)",
                            "intel.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->intel.reload_seconds, 0);
  ASSERT_EQ(c->intel.feeds.size(), 3u);
  const intel::FeedConfig& csv = c->intel.feeds[1];
  EXPECT_EQ(csv.name, "blocklist");
  EXPECT_EQ(csv.format, intel::FeedFormat::kCsv);
  EXPECT_EQ(csv.category, intel::ThreatCategory::kBlackhole);
  EXPECT_EQ(csv.confidence, 70);
  EXPECT_FALSE(csv.csv_header);
  EXPECT_EQ(csv.csv_delimiter, '\t');
  EXPECT_EQ(csv.value_column, "2");
  EXPECT_EQ(csv.description_column, "3");
  EXPECT_TRUE(c->intel.feeds[2].misp_include_non_ids);
  EXPECT_EQ(ParseServeConfig("", "e.yaml")->intel.reload_seconds, 30);

  auto err = [](const std::string& yaml) { return ParseServeConfig(yaml, "i.yaml").status().message(); };
  EXPECT_EQ(err("intel: {feeds: [{name: x}]}"), "i.yaml: intel.feeds[0].path: required");
  EXPECT_EQ(err("intel: {feeds: [{path: a.txt, format: json}]}"),
            "i.yaml: intel.feeds[0].format: expected auto, stix, misp, csv or list, got 'json'");
  EXPECT_EQ(err("intel: {feeds: [{path: a.txt, category: bad}]}"),
            "i.yaml: intel.feeds[0].category: expected listed, c2, blackhole, droppoint, phishing or cryptomining, "
            "got 'bad'");
  EXPECT_EQ(err("intel: {feeds: [{path: x/a.txt}, {path: y/a.csv}]}"),
            "i.yaml: intel.feeds[1]: the name 'a' is also that of intel.feeds[0] (set name: to tell them apart)");
  EXPECT_EQ(err("intel: {feeds: [{path: a.txt, colour: red}]}").rfind("i.yaml: intel.feeds[0].colour: unknown key", 0),
            0u);
}

TEST(ServeConfigTest, EncryptionAndMinimisation) {
  auto c = ParseServeConfig(R"(
encryption:
  key_files: [/etc/vigil/new.key, /etc/vigil/old.key]
  key_env: VIGIL_KEY
minimise:
  - name: noisy
    source: cloudtrail
    drop: 'readOnly=true eventName=Describe*'
  - source: vpcflow
    where: action=REJECT
    sample: 10
  - source: vpcflow
    where: action=ACCEPT
    before_detection: true
    aggregate: {by: [srcaddr, dstaddr], sum: [bytes], window_seconds: 300}
)", "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  KeySources keys = c->encryption.sources();
  EXPECT_EQ(keys.files, (std::vector<std::string>{"/etc/vigil/new.key", "/etc/vigil/old.key"}));
  EXPECT_EQ(keys.env_vars, (std::vector<std::string>{"VIGIL_KEY"}));
  ASSERT_EQ(c->minimise.size(), 3u);
  EXPECT_EQ(c->minimise[0].kind, MinimiseRule::Kind::kDrop);
  EXPECT_EQ(c->minimise[0].where, "readOnly=true eventName=Describe*");
  EXPECT_EQ(c->minimise[1].kind, MinimiseRule::Kind::kSample);
  EXPECT_EQ(c->minimise[1].sample_every, 10u);
  EXPECT_EQ(c->minimise[2].kind, MinimiseRule::Kind::kAggregate);
  EXPECT_EQ(c->minimise[2].by, (std::vector<std::string>{"srcaddr", "dstaddr"}));
  EXPECT_EQ(c->minimise[2].window_seconds, 300);
  EXPECT_TRUE(c->minimise[2].before_detection);

  auto error = [](const std::string& yaml) { return ParseServeConfig(yaml, "m.yaml").status().message(); };
  EXPECT_NE(error("minimise: [{source: vpcflow}]").find("minimise[0]: one of drop, sample or aggregate"),
            std::string::npos);
  EXPECT_NE(error("minimise: [{source: vpcflow, sample: 10, drop: x=1}]").find("minimise[0].drop: a rule has one of"),
            std::string::npos);
  EXPECT_NE(error("minimise: [{source: vpcflow, sample: 1}]").find("minimise[0].sample"), std::string::npos);
  EXPECT_NE(error("minimise: [{name: bad, source: cloudtrail, drop: 'eventName=('}]").find("minimise rule bad"),
            std::string::npos);
  EXPECT_NE(error("minimise: [{source: vpcflow, aggregate: {sum: [bytes]}}]").find("minimise[0].aggregate.by"),
            std::string::npos);
  EXPECT_NE(error("minimise: [{drop: x=1}]").find("minimise[0].source: required"), std::string::npos);
  EXPECT_NE(error("minimise: [{source: a, where: y=2, drop: x=1}]").find("minimise[0].drop: drop's value is its"),
            std::string::npos);
  EXPECT_NE(error("minimise: [{source: a, drop: x=1, where: y=2}]").find("minimise[0].where: drop's value is its"),
            std::string::npos);
  EXPECT_NE(error("encryption: {key_file: x}").find("encryption.key_file: unknown key"), std::string::npos);
}

}  // namespace
}  // namespace vigil::server
