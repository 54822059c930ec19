// Fuzzes what behavioural detection reads from outside: rule files, GeoIP
// CSV tables and checkpoint blobs. Any bytes must come out as a rule, a table
// or an error (a discarded checkpoint), never a crash, hang or leak.
//
// The first byte chooses: 'G' the rest is a GeoIP table; 'S' the rest is a
// checkpoint offered to one rule of every detector kind; anything else the
// whole input is a rule file, which, if it loads, runs on sample events and
// has its state saved and restored.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "detect/behaviour/behaviour_detector.h"
#include "detect/behaviour/geoip.h"
#include "event/json_fields.h"

namespace {

constexpr char kTable[] =
    "81.2.69.0,81.2.69.255,GB,AS20712,London,51.5142,-0.0931\n"
    "1.128.0.0,1.159.255.255,AU,AS1221,Sydney,-33.8688,151.2093\n";

vigil::Result<std::shared_ptr<const vigil::GeoIpTable>> LoadTable(const std::string&) {
  return vigil::GeoIpTable::Parse(kTable);
}

std::vector<vigil::Event> SampleEvents() {
  static const char* kRecords[][2] = {
      {"cloudtrail", R"({"eventName":"ListUsers","eventSource":"iam.amazonaws.com","sourceIPAddress":"81.2.69.7",)"
                     R"("userAgent":"aws-cli/2.15 Python/3","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}})"},
      {"cloudtrail", R"({"eventName":"ConsoleLogin","sourceIPAddress":"1.130.0.1","userIdentity":{"arn":"arn:aws:iam::1:user/a"}})"},
      {"vpcflow", R"({"srcaddr":"10.0.0.5","dstaddr":"203.0.113.9","srcport":40000,"dstport":22,"bytes":900,"protocol":6})"},
      {"route53resolver", R"({"srcaddr":"10.0.0.5","query_name":"a1b2c3d4e5f6g7h8i9.t.example.co.uk.","rcode":"NXDOMAIN"})"},
  };
  std::vector<vigil::Event> out;
  int64_t t = 1'700'000'000'000'000'000;
  for (int round = 0; round < 3; ++round)
    for (const auto& r : kRecords) {
      vigil::Event e;
      e.source_type = r[0];
      e.raw = r[1];
      auto f = vigil::ParseJsonFields(e.raw);
      if (f.ok()) e.fields = *f;
      e.time_ns = t;
      t += 3'600'000'000'000 * 24 * 8;
      out.push_back(std::move(e));
    }
  return out;
}

void Run(vigil::BehaviourDetector& d) {
  static const std::vector<vigil::Event> events = SampleEvents();
  for (const auto& e : events)
    d.Process(e, [](const vigil::Event&, const vigil::Match& m) { (void)m.explain(); });
}

std::vector<std::shared_ptr<const vigil::BehaviourRule>> OneOfEachKind() {
  static const char* kRules[] = {
      "title: t\nid: a\ndetector: new_term\nlog_type: cloudtrail\nentity: userIdentity.arn\nvalues: eventName\n"
      "finding_type: A:B/C\nthreshold: 2\nwindow: 1h\n",
      "title: t\nid: b\ndetector: rarity\nlog_type: cloudtrail\nentity: userIdentity.arn\nvalues: userAgent|product\n"
      "finding_type: A:B/C\nmin_population: 1\n",
      "title: t\nid: c\ndetector: volume\nlog_type: vpcflow\nentity: srcaddr\nvalues: bytes\nfinding_type: A:B/C\n",
      "title: t\nid: d\ndetector: distinct_count\nlog_type: route53resolver\nentity: [srcaddr, query_name|apex]\n"
      "values: query_name|subdomain\nwindow: 1m\nthreshold: 2\nfinding_type: A:B/C\n",
      "title: t\nid: e\ndetector: beacon\nlog_type: vpcflow\nentity: [srcaddr, dstaddr]\nfinding_type: A:B/C\n",
      "title: t\nid: f\ndetector: impossible_travel\nlog_type: cloudtrail\nentity: userIdentity.arn\n"
      "ip: sourceIPAddress\ngeoip: /table.csv\nfinding_type: A:B/C\n",
  };
  std::vector<std::shared_ptr<const vigil::BehaviourRule>> out;
  for (const char* r : kRules) {
    auto rule = vigil::ParseBehaviourRule(r, "fuzz.yml", LoadTable);
    if (rule.ok()) out.push_back(*rule);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!text.empty() && text[0] == 'G') {
    auto table = vigil::GeoIpTable::Parse(text.substr(1));
    if (table.ok()) {
      (void)(*table)->Lookup("81.2.69.7");
      (void)(*table)->Lookup("2001:db8::1");
    }
    return 0;
  }
  if (!text.empty() && text[0] == 'S') {
    static const auto rules = OneOfEachKind();
    vigil::BehaviourDetector d(rules);
    const std::string blob(text.substr(1));
    (void)d.RestoreState([&](const std::string&) -> vigil::Result<std::optional<std::string>> { return std::optional<std::string>(blob); });
    Run(d);
    return 0;
  }
  // A rule file; a relative `geoip:` is resolved against a directory that
  // does not exist, so only the fixed loader's table is ever read.
  auto rule = vigil::ParseBehaviourRule(text, "/nonexistent/fuzz.yml", LoadTable);
  if (!rule.ok()) return 0;
  vigil::BehaviourDetector d({*rule});
  Run(d);
  std::string saved;
  (void)d.SaveState([&](const std::string&, const std::string& v) {
    saved = v;
    return vigil::Status::Ok();
  });
  vigil::BehaviourDetector again({*rule});
  (void)again.RestoreState([&](const std::string&) -> vigil::Result<std::optional<std::string>> { return std::optional<std::string>(saved); });
  Run(again);
  return 0;
}
