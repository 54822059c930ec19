// Feed parsers on samples written in each format's real layout
// (src/intel/testdata), the index's matching rules, hot reload and lookups.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/time.h"
#include "intel/feed.h"
#include "intel/index.h"
#include "intel/intel_store.h"
#include "intel/lookup.h"

namespace vigil::intel {
namespace {

const std::filesystem::path kTestdata = std::filesystem::path(VIGIL_SOURCE_DIR) / "src/intel/testdata";

FeedConfig Config(const std::string& file) {
  FeedConfig c;
  c.path = (kTestdata / file).string();
  return c;
}

ParsedFeed Load(const std::string& file) {
  auto f = LoadFeedFile(Config(file));
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? std::move(f).value() : ParsedFeed{};
}

std::vector<std::string> Values(const ParsedFeed& f) {
  std::vector<std::string> out;
  for (const auto& e : f.entries) out.push_back(e.value.text);
  return out;
}

uint64_t Skipped(const ParsedFeed& f, const std::string& reason) {
  for (const auto& [r, n] : f.skipped)
    if (r == reason) return n;
  return 0;
}

const FeedEntry* Entry(const ParsedFeed& f, const std::string& value) {
  for (const auto& e : f.entries)
    if (e.value.text == value) return &e;
  return nullptr;
}

TEST(IndicatorValue, IpsAndRanges) {
  EXPECT_EQ(ParseIpOrCidr("203.0.113.7")->text, "203.0.113.7");
  EXPECT_EQ(ParseIpOrCidr("203.0.113.7")->prefix, 32);
  EXPECT_EQ(ParseIpOrCidr("198.51.100.0/24")->text, "198.51.100.0/24");
  EXPECT_EQ(ParseIpOrCidr("2001:DB8:0:0::1")->text, "2001:db8::1");
  EXPECT_EQ(ParseIpOrCidr("2001:db8::/32")->prefix, 32);
  // An IPv4-mapped IPv6 address is the IPv4 address.
  EXPECT_EQ(ParseIpOrCidr("::ffff:203.0.113.7")->kind, IndicatorKind::kIpv4);
  EXPECT_EQ(ParseIpOrCidr("::ffff:203.0.113.7")->text, "203.0.113.7");
  EXPECT_EQ(ParseIpOrCidr("0.0.0.0/0")->text, "0.0.0.0/0");
  EXPECT_FALSE(ParseIpOrCidr("198.51.100.1/24"));  // host bits set: a typo, not a range
  EXPECT_FALSE(ParseIpOrCidr("198.51.100.0/33"));
  EXPECT_FALSE(ParseIpOrCidr("035.249.253.232"));  // leading zeros read as octal elsewhere
  EXPECT_FALSE(ParseIpOrCidr("256.1.1.1"));
  EXPECT_FALSE(ParseIpOrCidr("evil.example"));
  EXPECT_FALSE(ParseIpOrCidr("1.2.3.4/"));
}

TEST(IndicatorValue, Domains) {
  EXPECT_EQ(ParseDomain("Evil.Example.")->text, "evil.example");
  EXPECT_EQ(ParseDomain("*.wild.example")->text, "wild.example");
  EXPECT_EQ(ParseDomain("_dmarc.x.example")->text, "_dmarc.x.example");
  EXPECT_FALSE(ParseDomain("a..b"));
  EXPECT_FALSE(ParseDomain("http://evil.example/"));
  EXPECT_FALSE(ParseDomain("1.2.3.4"));  // digits and dots: an address, not a name
  EXPECT_FALSE(ParseDomain(std::string(64, 'a') + ".example"));
  EXPECT_FALSE(ParseDomain(""));
  EXPECT_FALSE(ParseIndicatorValue("not a value").ok());
}

TEST(IndicatorValue, CategoriesFromWords) {
  EXPECT_EQ(CategoryFromText("C2 server"), ThreatCategory::kCommandAndControl);
  EXPECT_EQ(CategoryFromText("kill-chain:Command and Control"), ThreatCategory::kCommandAndControl);
  EXPECT_EQ(CategoryFromText("botnet_cc"), ThreatCategory::kCommandAndControl);
  EXPECT_FALSE(CategoryFromText("ec2 scanner"));  // the "c2" in "ec2" is no word of its own
  EXPECT_EQ(CategoryFromText("phishing"), ThreatCategory::kPhishing);
  EXPECT_EQ(CategoryFromText("coinminer"), ThreatCategory::kCryptoMining);
  EXPECT_EQ(CategoryFromText("Blackhole"), ThreatCategory::kBlackhole);
  EXPECT_FALSE(CategoryFromText("malicious-activity"));
}

TEST(FeedFormats, DetectedFromContent) {
  for (auto [file, format] : {std::pair{"stix-bundle.json", FeedFormat::kStix}, {"misp-event.json", FeedFormat::kMisp},
                              {"feed.csv", FeedFormat::kCsv}, {"blocklist.txt", FeedFormat::kList}}) {
    EXPECT_EQ(Load(file).format, format) << file;
  }
  EXPECT_EQ(Load("feed.csv").name, "feed");
  EXPECT_EQ(FeedNameFromPath("/etc/vigil/abuse-c2.ipset.txt"), "abuse-c2");
}

TEST(StixBundle, IndicatorsPatternsAndMetadata) {
  ParsedFeed f = Load("stix-bundle.json");
  EXPECT_EQ(Values(f), (std::vector<std::string>{"198.51.100.7", "203.0.113.0/24", "2001:db8:dead::/48",
                                                 "login-update.example", "a.phish.example", "b.phish.example"}))
      << "backslash-escaped quote, IN lists, ISSUBSET, ORs inside and between observations";
  const FeedEntry* c2 = Entry(f, "198.51.100.7");
  ASSERT_NE(c2, nullptr);
  EXPECT_EQ(c2->ref, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
  EXPECT_EQ(c2->line, 17u);  // the line of its "id"
  EXPECT_EQ(c2->description, "Team server seen in the March intrusion");
  EXPECT_EQ(c2->confidence, 85);
  EXPECT_EQ(c2->category, ThreatCategory::kCommandAndControl);
  EXPECT_EQ(c2->labels, (std::vector<std::string>{"malicious-activity", "c2"}));
  EXPECT_EQ(c2->valid_from_ns, *ParseTimestamp("2023-03-01T00:00:00Z"));
  EXPECT_EQ(c2->valid_until_ns, 0);
  const FeedEntry* scan = Entry(f, "203.0.113.0/24");
  EXPECT_EQ(scan->description, "Scanning network");  // the name when there is no description
  EXPECT_EQ(scan->confidence, -1);
  EXPECT_EQ(scan->category, ThreatCategory::kListed);
  EXPECT_EQ(scan->valid_until_ns, *ParseTimestamp("2024-01-01T00:00:00Z"));
  EXPECT_EQ(Entry(f, "a.phish.example")->category, ThreatCategory::kPhishing);
  EXPECT_EQ(Skipped(f, "pattern on file"), 1u);
  EXPECT_EQ(Skipped(f, "pattern needs AND or FOLLOWEDBY"), 1u);
  EXPECT_EQ(Skipped(f, "revoked indicator"), 1u);
  EXPECT_EQ(Skipped(f, "pattern_type yara"), 1u);
  EXPECT_EQ(f.skipped_total(), 4u);
}

TEST(StixBundle, ErrorsNameFileLineAndObject) {
  FeedConfig c;
  c.path = "feeds/x.json";
  std::string bundle = R"({"type": "bundle", "objects": [
  {"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = '192.0.2.1']", "valid_from": "2023-01-01T00:00:00Z"},
  {"type": "indicator", "id": "indicator--2", "pattern": "[ipv4-addr:value = '192.0.2.1'", "valid_from": "2023-01-01T00:00:00Z"}
]})";
  auto r = ParseStixBundle(bundle, c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("feeds/x.json:3: indicator--2: pattern: expected ']'", 0), 0u)
      << r.status().message();
  for (auto [text, expect] : std::initializer_list<std::pair<std::string, std::string>>{
           {R"({"type":"bundle","objects":[{"type":"indicator","id":"indicator--3","pattern":"[ipv4-addr:value = 'evil.example']"}]})",
            "is not an IP address"},
           {R"({"type":"bundle","objects":[{"type":"indicator","id":"indicator--4","pattern":"[ipv6-addr:value = '192.0.2.1']"}]})",
            "is not an IPv6 address"},
           {R"({"type":"bundle","objects":[{"type":"indicator","id":"indicator--5","confidence":101,"pattern":"[ipv4-addr:value = '192.0.2.1']"}]})",
            "confidence"},
           {R"({"type":"bundle","objects":[{"type":"indicator","id":"indicator--6","valid_from":"yesterday","pattern":"[ipv4-addr:value = '192.0.2.1']"}]})",
            "valid_from"},
           {R"({"type":"bundle","objects":[{"type":"indicator","id":"indicator--7","pattern":"[ipv4-addr:value = '192.0.2.1' OR]"}]})",
            "pattern"},
           {R"({"type":"bundle","objects":[)", "not valid JSON"},
           {R"({"type":"report"})", "not a STIX bundle"},
       }) {
    auto bad = ParseStixBundle(text, c);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.status().message().find(expect), std::string::npos) << bad.status().message();
    EXPECT_EQ(bad.status().message().rfind("feeds/x.json", 0), 0u) << bad.status().message();
  }
}

TEST(MispEvent, AttributesObjectsAndFlags) {
  ParsedFeed f = Load("misp-event.json");
  EXPECT_EQ(Values(f), (std::vector<std::string>{"192.0.2.10", "198.51.100.0/25", "payloads.evil.example",
                                                 "cdn.evil.example", "2001:db8::42", "203.0.113.66"}));
  const FeedEntry* c2 = Entry(f, "192.0.2.10");
  EXPECT_EQ(c2->description, "C2 server");
  EXPECT_EQ(c2->category, ThreatCategory::kCommandAndControl);
  EXPECT_EQ(c2->confidence, 75);  // misp:confidence-level="usually-confident" on the event
  EXPECT_EQ(c2->ref, "a1b2c3d4-0001-4000-8000-000000000001");
  EXPECT_EQ(c2->line, 24u);
  EXPECT_EQ(c2->labels, (std::vector<std::string>{"tlp:amber", "misp:confidence-level=\"usually-confident\"",
                                                  "kill-chain:Command and Control"}));
  const FeedEntry* range = Entry(f, "198.51.100.0/25");
  EXPECT_EQ(range->description, "Emotet epoch 5 infrastructure");  // the event's info without a comment
  EXPECT_EQ(range->valid_from_ns, *ParseTimestamp("2023-06-01T00:00:00Z"));
  EXPECT_EQ(range->valid_until_ns, *ParseTimestamp("2023-06-30T00:00:00Z") + 1);
  EXPECT_EQ(Entry(f, "cdn.evil.example")->ref, Entry(f, "2001:db8::42")->ref);  // domain|ip gives both
  EXPECT_EQ(Skipped(f, "attribute type url"), 1u);
  EXPECT_EQ(Skipped(f, "attribute type port"), 1u);
  EXPECT_EQ(Skipped(f, "to_ids false"), 1u);
  EXPECT_EQ(Skipped(f, "deleted attribute"), 1u);

  FeedConfig all = Config("misp-event.json");
  all.misp_include_non_ids = true;
  auto with_context = LoadFeedFile(all);
  ASSERT_TRUE(with_context.ok());
  EXPECT_NE(Entry(*with_context, "192.0.2.200"), nullptr);
}

TEST(MispEvent, SearchResponsesAndErrors) {
  FeedConfig c;
  c.path = "misp.json";
  auto r = ParseMispEvents(R"({"response": [{"Event": {"info": "a", "Attribute": [
    {"type": "ip-dst", "to_ids": true, "value": "192.0.2.5", "uuid": "u1"}]}},
    {"Event": {"info": "b", "Attribute": [{"type": "hostname", "to_ids": true, "value": "x.example", "uuid": "u2"}]}}]})",
                           c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Values(*r), (std::vector<std::string>{"192.0.2.5", "x.example"}));
  auto bad = ParseMispEvents(R"({"Event": {"Attribute": [
    {"type": "ip-dst", "to_ids": true, "value": "192.0.2.300", "uuid": "u3"}]}})",
                             c);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "misp.json:2: attribute u3: ip-dst value '192.0.2.300' is not an IP address or CIDR range");
  EXPECT_FALSE(ParseMispEvents(R"({"Events": []})", c).ok());
}

TEST(CsvFeed, ColumnsGuessedFromTheHeader) {
  ParsedFeed f = Load("feed.csv");
  EXPECT_EQ(Values(f), (std::vector<std::string>{"198.51.100.23", "203.0.113.0/28", "miner.pool.example", "2001:db8:bad::1"}));
  const FeedEntry* ssh = Entry(f, "198.51.100.23");
  EXPECT_EQ(ssh->description, "Brute force, SSH");
  EXPECT_EQ(ssh->confidence, 80);
  EXPECT_EQ(ssh->labels, (std::vector<std::string>{"scanner", "ssh"}));
  EXPECT_EQ(ssh->line, 3u);
  EXPECT_EQ(Entry(f, "203.0.113.0/28")->confidence, 85);  // "high"
  EXPECT_EQ(Entry(f, "miner.pool.example")->description, "Mining pool, \"stratum\" port");
  EXPECT_EQ(Entry(f, "miner.pool.example")->category, ThreatCategory::kCryptoMining);
  EXPECT_EQ(Entry(f, "2001:db8:bad::1")->confidence, -1);
}

TEST(CsvFeed, ConfiguredColumnsAndErrors) {
  FeedConfig c;
  c.path = "x.csv";
  c.csv_header = false;
  c.value_column = "2";
  c.description_column = "3";
  c.category_column = "1";
  c.csv_delimiter = ';';
  auto r = ParseCsvFeed("c2;192.0.2.9;team server\nblackhole;192.0.2.0/30;\n", c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Values(*r), (std::vector<std::string>{"192.0.2.9", "192.0.2.0/30"}));
  EXPECT_EQ(r->entries[0].category, ThreatCategory::kCommandAndControl);
  EXPECT_EQ(r->entries[1].category, ThreatCategory::kBlackhole);

  FeedConfig h;
  h.path = "y.csv";
  auto bad = ParseCsvFeed("ip,confidence\n192.0.2.1,90\n192.0.2.2,very\n", h);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "y.csv:3: confidence 'very': expected 0-100 or high/medium/low");
  h.value_column = "address";
  EXPECT_EQ(ParseCsvFeed("ip\n192.0.2.1\n", h).status().message(), "y.csv: value column 'address' is not in the header");
  h.value_column.clear();
  EXPECT_EQ(ParseCsvFeed("ip\n\"192.0.2.1\n", h).status().message(), "y.csv:2: a quoted field is never closed");
  EXPECT_EQ(ParseCsvFeed("ip\nhttp://x/\n", h).status().message(),
            "y.csv:2: 'http://x/' is not an IP address, CIDR range or domain name");
}

TEST(ListFeed, CommentsDescriptionsAndHostsLines) {
  ParsedFeed f = Load("blocklist.txt");
  EXPECT_EQ(Values(f), (std::vector<std::string>{"192.0.2.1", "192.0.2.128/25", "2001:db8:bad:1::/64", "evil.example",
                                                 "ads.tracker.example", "wild.example"}));
  EXPECT_EQ(Entry(f, "192.0.2.128/25")->description, "SBL000001 bulletproof hosting");
  EXPECT_EQ(Entry(f, "evil.example")->description, "C2 domain of the spring campaign");
  EXPECT_EQ(Entry(f, "evil.example")->category, ThreatCategory::kCommandAndControl);
  EXPECT_EQ(Entry(f, "evil.example")->line, 7u);
  EXPECT_EQ(Entry(f, "192.0.2.1")->category, ThreatCategory::kListed);  // the feed's default

  FeedConfig c;
  c.path = "list.txt";
  EXPECT_EQ(ParseListFeed("192.0.2.1\r\n\r\n192.0.2.1 192.0.2.2\r\n", c).status().message(),
            "list.txt:3: expected one IP address, CIDR range or domain per line, got '192.0.2.1 192.0.2.2'");
  EXPECT_EQ(ParseListFeed("ok.example\nbad..example\n", c).status().message(),
            "list.txt:2: 'bad..example' is not an IP address, CIDR range or domain name");
}

std::shared_ptr<const IntelIndex> IndexOf(const std::vector<std::string>& lines, const std::string& name = "t") {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  FeedConfig c;
  c.path = name + ".txt";
  auto f = ParseFeed(text, c);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  static std::vector<std::unique_ptr<ParsedFeed>> keep;
  keep.push_back(std::make_unique<ParsedFeed>(std::move(f).value()));
  return IntelIndex::Build({keep.back().get()});
}

// The indicator values `value` matches (most specific first).
std::vector<std::string> MatchValues(const IntelIndex& ix, std::string_view value, int64_t t = 0) {
  std::vector<uint32_t> hits;
  ix.Match(value, true, t, &hits);
  std::vector<std::string> out;
  for (uint32_t h : hits) out.push_back(ix.indicator(h).value);
  return out;
}

using Strings = std::vector<std::string>;

TEST(IntelIndex, DomainsMatchBySuffixOnLabelBoundaries) {
  auto ix = IndexOf({"evil.com", "sub.bad.example", "co.uk"});
  EXPECT_EQ(MatchValues(*ix, "evil.com"), Strings{"evil.com"});
  EXPECT_EQ(MatchValues(*ix, "a.b.evil.com"), Strings{"evil.com"});
  EXPECT_EQ(MatchValues(*ix, "A.B.EVIL.COM."), Strings{"evil.com"});  // case and the root's trailing dot
  EXPECT_EQ(MatchValues(*ix, "notevil.com"), Strings{});
  EXPECT_EQ(MatchValues(*ix, "evil.com.attacker.net"), Strings{});
  EXPECT_EQ(MatchValues(*ix, "bad.example"), Strings{});  // a parent of a listed name is not listed
  EXPECT_EQ(MatchValues(*ix, "x.sub.bad.example"), Strings{"sub.bad.example"});
  EXPECT_EQ(MatchValues(*ix, "anything.co.uk"), Strings{"co.uk"});
  EXPECT_EQ(MatchValues(*ix, "com"), Strings{});
  EXPECT_EQ(MatchValues(*ix, "evil.com/path"), Strings{});  // not a name
  EXPECT_EQ(MatchValues(*ix, ""), Strings{});
}

TEST(IntelIndex, AddressesMatchTheLongestPrefix) {
  auto ix = IndexOf({"10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "0.0.0.0/0", "2001:db8::/32", "2001:db8:1::/48",
                     "2001:db8:1::5"});
  EXPECT_EQ(MatchValues(*ix, "10.1.2.3"), Strings{"10.1.2.3"});
  EXPECT_EQ(MatchValues(*ix, "10.1.2.4"), Strings{"10.1.0.0/16"});
  EXPECT_EQ(MatchValues(*ix, "10.2.0.1"), Strings{"10.0.0.0/8"});
  EXPECT_EQ(MatchValues(*ix, "11.0.0.1"), Strings{"0.0.0.0/0"});
  EXPECT_EQ(MatchValues(*ix, "::ffff:10.1.2.3"), Strings{"10.1.2.3"});
  EXPECT_EQ(MatchValues(*ix, "2001:db8:1::5"), Strings{"2001:db8:1::5"});
  EXPECT_EQ(MatchValues(*ix, "2001:DB8:1:0::6"), Strings{"2001:db8:1::/48"});
  EXPECT_EQ(MatchValues(*ix, "2001:db8:2::1"), Strings{"2001:db8::/32"});
  EXPECT_EQ(MatchValues(*ix, "2001:db9::1"), Strings{});
  EXPECT_EQ(MatchValues(*ix, "10.1.2.3:443"), Strings{});  // not an address
  EXPECT_EQ(MatchValues(*ix, "010.1.2.3"), Strings{});
  auto edges = IndexOf({"192.0.2.0/31", "192.0.2.255/32"});
  EXPECT_EQ(MatchValues(*edges, "192.0.2.1"), Strings{"192.0.2.0/31"});
  EXPECT_EQ(MatchValues(*edges, "192.0.2.2"), Strings{});
  EXPECT_EQ(MatchValues(*edges, "192.0.2.255"), Strings{"192.0.2.255"});
}

TEST(IntelIndex, ValidityWindowsAndSeveralFeeds) {
  FeedConfig a, b;
  a.path = "a.txt";
  b.path = "b.json";
  auto fa = ParseFeed("192.0.2.1\n192.0.2.0/24\n", a);
  auto fb = ParseStixBundle(R"({"type":"bundle","objects":[{"type":"indicator","id":"indicator--x",
      "pattern":"[ipv4-addr:value = '192.0.2.1']","valid_from":"2023-01-01T00:00:00Z","valid_until":"2023-02-01T00:00:00Z"}]})",
                            b);
  ASSERT_TRUE(fa.ok() && fb.ok());
  fb->name = "b";
  auto ix = IntelIndex::Build({&*fa, &*fb});
  std::vector<uint32_t> hits;
  ASSERT_TRUE(ix->Match("192.0.2.1", false, *ParseTimestamp("2023-01-15T00:00:00Z"), &hits));
  ASSERT_EQ(hits.size(), 2u);  // one value in two feeds: both, in feed order
  EXPECT_EQ(ix->feed_name(ix->indicator(hits[0])), "a");
  EXPECT_EQ(ix->feed_name(ix->indicator(hits[1])), "b");
  hits.clear();
  ASSERT_TRUE(ix->Match("192.0.2.1", false, *ParseTimestamp("2023-03-01T00:00:00Z"), &hits));
  ASSERT_EQ(hits.size(), 1u);  // b's has expired
  EXPECT_EQ(ix->feed_name(ix->indicator(hits[0])), "a");
  EXPECT_EQ(ix->feeds()[0].ipv4, 1u);
  EXPECT_EQ(ix->feeds()[0].cidr4, 1u);
  // Domains only when asked for.
  auto names = IndexOf({"evil.example"});
  hits.clear();
  EXPECT_FALSE(names->Match("evil.example", false, 0, &hits));
}

// A scratch directory for files the reload tests rewrite.
class ScratchDir {
 public:
  ScratchDir() {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil-intel-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~ScratchDir() { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    auto p = dir_ / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    // Modification times can be coarse: move it on so a rewrite is seen.
    static int tick = 0;
    std::filesystem::last_write_time(p, std::filesystem::file_time_type::clock::now() + std::chrono::seconds(++tick));
    return p.string();
  }

 private:
  std::filesystem::path dir_;
};

TEST(IntelStore, ReloadsChangedFeedsAndKeepsTheLastGoodVersion) {
  ScratchDir dir;
  FeedConfig list, csv;
  list.path = dir.Write("list.txt", "192.0.2.1\n");
  csv.path = dir.Write("more.csv", "ip\n198.51.100.1\n");
  IntelStore store({list, csv});
  ASSERT_TRUE(store.Load().ok());
  auto first = store.current();
  const uint64_t g1 = store.generation();
  EXPECT_EQ(MatchValues(*first, "192.0.2.1"), Strings{"192.0.2.1"});

  // Nothing changed: nothing read, nothing published.
  auto none = store.Reload();
  EXPECT_TRUE(none.reloaded.empty());
  EXPECT_FALSE(none.published);
  EXPECT_EQ(store.generation(), g1);

  dir.Write("list.txt", "192.0.2.2\n");
  auto r = store.Reload();
  EXPECT_EQ(r.reloaded, Strings{"list"});
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.published);
  EXPECT_GT(store.generation(), g1);
  EXPECT_EQ(MatchValues(*store.current(), "192.0.2.1"), Strings{});
  EXPECT_EQ(MatchValues(*store.current(), "192.0.2.2"), Strings{"192.0.2.2"});
  EXPECT_EQ(MatchValues(*store.current(), "198.51.100.1"), Strings{"198.51.100.1"});  // the other feed stays
  // A reader holding the old index still sees it whole.
  EXPECT_EQ(MatchValues(*first, "192.0.2.1"), Strings{"192.0.2.1"});

  // A broken rewrite keeps the previous version and says where it broke.
  const uint64_t g2 = store.generation();
  dir.Write("list.txt", "192.0.2.3\n192.0.2.999\n");
  auto broken = store.Reload();
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_EQ(broken.errors[0].message(), list.path + ":2: '192.0.2.999' is not an IP address, CIDR range or domain name");
  EXPECT_FALSE(broken.published);
  EXPECT_EQ(store.generation(), g2);
  EXPECT_EQ(MatchValues(*store.current(), "192.0.2.2"), Strings{"192.0.2.2"});
  EXPECT_EQ(MatchValues(*store.current(), "192.0.2.3"), Strings{});
  // A deleted feed file too.
  std::filesystem::remove(csv.path);
  auto gone = store.Reload();
  ASSERT_EQ(gone.errors.size(), 1u);
  EXPECT_EQ(MatchValues(*store.current(), "198.51.100.1"), Strings{"198.51.100.1"});
  // Fixed: taken.
  dir.Write("list.txt", "192.0.2.3\n");
  EXPECT_EQ(store.Reload().reloaded, Strings{"list"});
  EXPECT_EQ(MatchValues(*store.current(), "192.0.2.3"), Strings{"192.0.2.3"});
}

TEST(IntelStore, StartupFailsOnABrokenFeed) {
  ScratchDir dir;
  FeedConfig c;
  c.path = dir.Write("bad.txt", "192.0.2.1 oops\n");
  IntelStore store({c});
  Status st = store.Load();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad.txt:1:"), std::string::npos) << st.message();
  FeedConfig missing;
  missing.path = "/nonexistent/feed.txt";
  EXPECT_EQ(IntelStore({missing}).Load().message(), "/nonexistent/feed.txt: cannot open the feed file");
}

TEST(IntelStore, MatchingDuringReloadsSeesWholeIndexes) {
  // Every version of the feed lists N addresses 10.0.v.0-255; a reader must
  // never see a version with some of them missing.
  ScratchDir dir;
  auto version = [](int v) {
    std::string t;
    for (int i = 0; i < 256; ++i) t += "10.0." + std::to_string(v) + "." + std::to_string(i) + "\n";
    return t;
  };
  FeedConfig c;
  c.path = dir.Write("feed.txt", version(0));
  IntelStore store({c});
  ASSERT_TRUE(store.Load().ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    std::vector<uint32_t> hits;
    while (!stop.load()) {
      auto ix = store.current();
      int found = 0;
      const std::string first = ix->indicator(0).value;
      const std::string prefix = first.substr(0, first.rfind('.') + 1);
      for (int i = 0; i < 256; ++i) {
        hits.clear();
        found += ix->Match(prefix + std::to_string(i), false, 0, &hits);
      }
      if (found != 256) ++torn;
    }
  });
  for (int v = 1; v <= 20; ++v) {
    dir.Write("feed.txt", version(v));
    EXPECT_TRUE(store.Reload().published);
  }
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(MatchValues(*store.current(), "10.0.20.7"), Strings{"10.0.20.7"});
}

TEST(IntelLookup, TablesAnswerLikeTheDetector) {
  FeedConfig stix = Config("stix-bundle.json"), list = Config("blocklist.txt");
  IntelStore store({stix, list});
  ASSERT_TRUE(store.Load().ok());
  LookupTables tables = IntelLookupTables(&store);
  ASSERT_TRUE(tables.contains("intel"));
  ASSERT_TRUE(tables.contains("stix-bundle"));
  ASSERT_TRUE(tables.contains("blocklist"));
  auto row = tables["intel"]->Lookup("198.51.100.7");
  ASSERT_TRUE(row);
  EXPECT_EQ(*row->Get("indicator"), "198.51.100.7");
  EXPECT_EQ(*row->Get("feed"), "stix-bundle");
  EXPECT_EQ(*row->Get("category"), "c2");
  EXPECT_EQ(*row->Get("confidence"), "85");
  EXPECT_EQ(*row->Get("description"), "Team server seen in the March intrusion");
  EXPECT_EQ(*row->Get("source"), stix.path + ":17");
  auto sub = tables["intel"]->Lookup("www.evil.example");
  ASSERT_TRUE(sub);
  EXPECT_EQ(*sub->Get("indicator"), "evil.example");
  EXPECT_EQ(sub->Get("confidence"), nullptr);
  EXPECT_FALSE(tables["stix-bundle"]->Lookup("www.evil.example"));  // in the other feed only
  EXPECT_FALSE(tables["intel"]->Lookup("192.0.2.0"));
  EXPECT_EQ(tables["intel"]->columns().front(), "indicator");
}

}  // namespace
}  // namespace vigil::intel
