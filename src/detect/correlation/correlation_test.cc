// Sigma correlation rules: parsing, lint, the in-stream engine (every type,
// order independence, group-by, aliases, chains, generate, bounded state,
// late events) and checkpoint/restore.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "detect/correlation/correlation_detector.h"
#include "detect/sigma/rule_set.h"
#include "detect/sigma/sigma_detector.h"
#include "event/json_fields.h"

namespace vigil {
namespace {

constexpr int64_t kSec = 1'000'000'000;

Event MakeEvent(const std::string& json, int64_t time_s, const std::string& id) {
  Event e;
  auto f = ParseJsonFields(json);
  EXPECT_TRUE(f.ok()) << json;
  if (f.ok()) e.fields = std::move(f).value();
  e.time_ns = time_s * kSec;
  e.id = id;
  e.raw = json;
  return e;
}

// A base rule matching {"kind": "<kind>"}.
std::string BaseRule(const std::string& id, const std::string& name, const std::string& kind) {
  return "title: " + id + "\nid: " + id + "\nname: " + name +
         "\nlogsource: {product: test}\ndetection:\n    sel:\n        kind: " + kind + "\n    condition: sel\n";
}

struct Fired {
  std::string rule_id, entity;
  int64_t time_s;
  bool operator<(const Fired& o) const {
    return std::tie(rule_id, entity, time_s) < std::tie(o.rule_id, o.entity, o.time_s);
  }
  bool operator==(const Fired& o) const {
    return std::tie(rule_id, entity, time_s) == std::tie(o.rule_id, o.entity, o.time_s);
  }
};

void PrintTo(const Fired& f, std::ostream* os) { *os << f.rule_id << "/" << f.entity << "@" << f.time_s; }

class Harness {
 public:
  explicit Harness(const std::string& yaml, CorrelationLimits limits = {}) {
    set_.AddRuleText(yaml, "c.yml", &report_);
    EXPECT_TRUE(report_.errors.empty()) << report_.ToJson();
    EXPECT_TRUE(report_.unsupported.empty()) << report_.ToJson();
    auto sigma = std::make_unique<SigmaDetector>(set_.SharedRules(), set_.SharedFilters());
    auto d = CorrelationDetector::Create(std::move(sigma), set_.SharedRules(), set_.SharedCorrelations(), limits);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    if (d.ok()) det_ = std::move(d).value();
  }
  void Feed(const Event& e) {
    det_->Process(e, [&](const Event& ev, const Match& m) { out_.insert({std::string(m.rule_id), m.entity, ev.time_ns / kSec}); });
  }
  std::multiset<Fired> Run(std::vector<Event> events) {
    out_.clear();
    for (const Event& e : events) Feed(e);
    det_->Flush([&](const Event& ev, const Match& m) { out_.insert({std::string(m.rule_id), m.entity, ev.time_ns / kSec}); });
    return out_;
  }
  std::multiset<Fired> Only(const std::string& rule_id) const {
    std::multiset<Fired> r;
    for (const Fired& f : out_)
      if (f.rule_id == rule_id) r.insert(f);
    return r;
  }
  CorrelationDetector& det() { return *det_; }
  const LintReport& report() const { return report_; }

 private:
  RuleSet set_;
  LintReport report_;
  std::unique_ptr<CorrelationDetector> det_;
  std::multiset<Fired> out_;
};

std::vector<Event> Shuffled(std::vector<Event> v, unsigned seed) {
  std::mt19937 rng(seed);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

// Runs the events in order and in several shuffles; every run must fire the same.
void ExpectOrderIndependent(const std::string& yaml, const std::vector<Event>& events,
                            const std::multiset<Fired>& expected) {
  // Order independence holds within the allowed lateness: allow a day.
  CorrelationLimits limits;
  limits.allowed_lateness_ns = 86400 * kSec;
  {
    Harness h(yaml, limits);
    EXPECT_EQ(h.Run(events).size(), expected.size());
    auto got = h.Run({});  // already flushed: nothing new
    EXPECT_TRUE(got.empty());
  }
  Harness in_order(yaml, limits);
  auto first = in_order.Run(events);
  EXPECT_EQ(first, expected);
  for (unsigned seed = 1; seed <= 5; ++seed) {
    Harness h(yaml, limits);
    EXPECT_EQ(h.Run(Shuffled(events, seed)), expected) << "seed " << seed;
  }
}

std::string Ev(const std::string& kind, const std::string& user, const std::string& extra = "") {
  return R"({"kind":")" + kind + R"(","user":")" + user + "\"" + extra + "}";
}

const std::string kFailed = BaseRule("r-failed", "failed_login", "fail");
const std::string kSuccess = BaseRule("r-success", "successful_login", "ok");

TEST(CorrelationParse, AllTypesAndLintErrors) {
  const std::string ok_types[] = {
      "type: event_count\n    rules: [failed_login]\n    group-by: [user]\n    timespan: 10m\n    condition: {gte: 3}",
      "type: value_count\n    rules: [failed_login]\n    group-by: [user]\n    timespan: 1h\n    condition: "
      "{field: ip, gt: 2, lte: 10}",
      "type: temporal\n    rules: [failed_login, successful_login]\n    group-by: [user]\n    timespan: 5m",
      "type: temporal_ordered\n    rules: [failed_login, successful_login]\n    group-by: [user]\n    timespan: 5m",
      "type: value_sum\n    rules: [failed_login]\n    group-by: [user]\n    timespan: 1d\n    condition: {field: "
      "bytes, gt: 100}",
      "type: value_avg\n    rules: [failed_login]\n    group-by: [user]\n    timespan: 1d\n    condition: {field: "
      "bytes, neq: 5}",
      "type: value_percentile\n    rules: [failed_login]\n    group-by: [user]\n    timespan: 1d\n    condition: "
      "{field: image, lte: 1}",
  };
  for (const std::string& body : ok_types) {
    RuleSet set;
    LintReport report;
    set.AddRuleText("title: c\nid: c1\ncorrelation:\n    " + body + "\n---\n" + kFailed + "---\n" + kSuccess,
                    "c.yml", &report);
    EXPECT_TRUE(report.errors.empty()) << body << report.ToJson();
    EXPECT_EQ(report.correlations, 1u) << body;
    EXPECT_EQ(report.loaded, 2u);
  }
  auto error = [](const std::string& text) {
    RuleSet set;
    LintReport report;
    set.AddRuleText(text, "bad.yml", &report);
    return report.errors.empty() ? std::string() : report.errors.front().reason;
  };
  const std::string head = "title: c\nid: c1\ncorrelation:\n    ";
  EXPECT_NE(error(head + "type: event_count\n    rules: [nope]\n    timespan: 5m\n    condition: {gt: 1}\n")
                .find("names rule `nope`"),
            std::string::npos);
  EXPECT_NE(error(head + "type: bogus\n    rules: [a]\n    timespan: 5m\n").find("type: bogus"), std::string::npos);
  EXPECT_NE(error(head + "type: event_count\n    rules: [a]\n    timespan: 5m\n").find("condition"),
            std::string::npos);
  EXPECT_NE(error(head + "type: value_count\n    rules: [a]\n    timespan: 5m\n    condition: {gt: 1}\n")
                .find("field"),
            std::string::npos);
  EXPECT_NE(error(head + "type: event_count\n    rules: [a]\n    timespan: 5 minutes\n    condition: {gt: 1}\n")
                .find("timespan"),
            std::string::npos);
  EXPECT_NE(error(head + "type: event_count\n    rules: [a]\n    timespan: 5m\n    condition: {above: 1}\n")
                .find("unknown operator"),
            std::string::npos);
  // A cycle between correlations.
  EXPECT_FALSE(error("title: x\nid: x1\nname: x\ncorrelation:\n    type: event_count\n    rules: [y]\n    timespan: "
                     "5m\n    condition: {gt: 1}\n---\ntitle: y\nid: y1\nname: y\ncorrelation:\n    type: event_count\n"
                     "    rules: [x]\n    timespan: 5m\n    condition: {gt: 1}\n")
                   .empty());
  // A reference resolved by a later load withdraws the error.
  RuleSet set;
  LintReport report;
  set.AddRuleText(head + "type: event_count\n    rules: [failed_login]\n    timespan: 5m\n    condition: {gt: 1}\n",
                  "c.yml", &report);
  EXPECT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.correlations, 0u);
  set.AddRuleText(kFailed, "f.yml", &report);
  EXPECT_TRUE(report.errors.empty()) << report.ToJson();
  EXPECT_EQ(report.correlations, 1u);
  EXPECT_NE(report.ToJson().find("\"correlations\":1"), std::string::npos);
}

TEST(CorrelationEngine, EventCountGroupByAndOrderIndependence) {
  const std::string yaml =
      "title: brute force\nid: c-bf\nlevel: high\ncorrelation:\n    type: event_count\n    rules: [failed_login]\n"
      "    group-by: [user]\n    timespan: 60s\n    condition: {gte: 3}\n---\n" + kFailed;
  std::vector<Event> ev;
  // alice: 3 failures within 60s starting at 100 -> fires at the third (t=130).
  // bob: 3 failures spread over 200s -> never 3 in 60s.
  for (int t : {100, 110, 130}) ev.push_back(MakeEvent(Ev("fail", "alice"), t, "a" + std::to_string(t)));
  for (int t : {100, 200, 300}) ev.push_back(MakeEvent(Ev("fail", "bob"), t, "b" + std::to_string(t)));
  ExpectOrderIndependent(yaml, ev, {{"c-bf", "alice", 130}});
}

// A correlation's match says why it fired: the group, the window and the
// condition.
TEST(CorrelationEngine, MatchExplainsGroupWindowAndCounts) {
  const std::string yaml =
      "title: brute force\nid: c-bf\nlevel: high\ncorrelation:\n    type: event_count\n    rules: [failed_login]\n"
      "    group-by: [user]\n    timespan: 60s\n    condition: {gte: 3}\n---\n" + kFailed;
  Harness h(yaml);
  std::vector<std::string> explained;
  for (int t : {100, 110, 130}) {
    h.det().Process(MakeEvent(Ev("fail", "alice"), t, "a" + std::to_string(t)), [&](const Event&, const Match& m) {
      if (m.rule_id == "c-bf" && m.explain) explained.push_back(m.explain());
    });
  }
  ASSERT_EQ(explained.size(), 1u);
  EXPECT_EQ(explained[0],
            R"({"correlation":"event_count","group_by":{"user":"alice"},"window_start":"1970-01-01T00:01:40Z",)"
            R"("window_end":"1970-01-01T00:02:10Z","condition":"gte 3","rules":["failed_login"]})");
}

TEST(CorrelationEngine, ValueCount) {
  const std::string yaml =
      "title: spray\nid: c-vc\ncorrelation:\n    type: value_count\n    rules: [failed_login]\n    group-by: [ip]\n"
      "    timespan: 5m\n    condition: {field: user, gte: 3}\n---\n" + kFailed;
  std::vector<Event> ev;
  int t = 0;
  for (const char* u : {"a", "b", "a", "c"}) {
    ev.push_back(MakeEvent(Ev("fail", u, R"(,"ip":"10.0.0.1")"), 1000 + 10 * t, "e" + std::to_string(t)));
    ++t;
  }
  for (const char* u : {"a", "a", "a", "b"}) {
    ev.push_back(MakeEvent(Ev("fail", u, R"(,"ip":"10.0.0.2")"), 1000 + 10 * t, "e" + std::to_string(t)));
    ++t;
  }
  // 10.0.0.1 sees a, b, a, c: the windows anchored at 1000 and 1010 both reach
  // 3 distinct users at c (t=1030); 10.0.0.2 never sees more than 2.
  ExpectOrderIndependent(yaml, ev, {{"c-vc", "10.0.0.1", 1030}, {"c-vc", "10.0.0.1", 1030}});
}

// Many entries per group, most windows never meeting the condition: the
// firings are those of the definition (each anchor fires at the first entry
// of its window that completes it), computed here by brute force.
TEST(CorrelationEngine, LargeGroupsFireAsTheDefinitionSays) {
  for (const std::string type : {"event_count", "value_count"}) {
    const int need = type == "event_count" ? 12 : 3;
    const std::string yaml = "title: big\nid: c-big\ncorrelation:\n    type: " + type +
                             "\n    rules: [failed_login]\n    group-by: [ip]\n    timespan: 100s\n    condition: {" +
                             (type == "value_count" ? "field: user, " : "") + "gte: " + std::to_string(need) +
                             "}\n---\n" + kFailed;
    std::mt19937 rng(7);
    struct Row {
      int64_t t;
      std::string ip, user, id;
    };
    std::vector<Row> rows;
    std::vector<Event> ev;
    for (int i = 0; i < 600; ++i) {
      Row r{static_cast<int64_t>(rng() % 3000), "10.0.0." + std::to_string(rng() % 2),
            // Mostly one user: value_count windows rarely reach 3.
            rng() % 25 == 0 ? "u" + std::to_string(rng() % 4) : "u0", "e" + std::to_string(i)};
      ev.push_back(MakeEvent(Ev("fail", r.user, R"(,"ip":")" + r.ip + "\""), r.t, r.id));
      rows.push_back(std::move(r));
    }
    std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
      return std::tie(a.time_ns, a.id) < std::tie(b.time_ns, b.id);
    });
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return std::tie(a.t, a.id) < std::tie(b.t, b.id); });
    std::multiset<Fired> expected;
    for (size_t a = 0; a < rows.size(); ++a) {
      std::set<std::string> users;
      int count = 0;
      for (size_t e = a; e < rows.size() && rows[e].t <= rows[a].t + 100; ++e) {
        if (rows[e].ip != rows[a].ip) continue;
        ++count;
        users.insert(rows[e].user);
        const int have = type == "event_count" ? count : static_cast<int>(users.size());
        if (have >= need) {
          expected.insert({"c-big", rows[a].ip, rows[e].t});
          break;
        }
      }
    }
    Harness h(yaml);
    EXPECT_EQ(h.Run(ev), expected) << type;
    EXPECT_FALSE(expected.empty()) << type;
    // Arrivals in order keep each group's newest window as they go; one out
    // of order drops it until the next in-order one rebuilds it. Mixed
    // (neighbours swapped now and then) or shuffled, the same windows fire
    // (when each fires may differ: a late entry can complete a window
    // earlier than the one that fired it).
    auto windows = [](const std::multiset<Fired>& f) {
      std::multiset<std::string> w;
      for (const Fired& x : f) w.insert(x.entity);
      return w;
    };
    CorrelationLimits late_ok;
    late_ok.allowed_lateness_ns = 86400 * kSec;
    std::vector<Event> mixed = ev;
    for (size_t i = 0; i + 1 < mixed.size(); i += 1 + rng() % 40) std::swap(mixed[i], mixed[i + 1]);
    Harness hm(yaml, late_ok);
    EXPECT_EQ(windows(hm.Run(mixed)), windows(expected)) << type;
    Harness hs(yaml, late_ok);
    EXPECT_EQ(windows(hs.Run(Shuffled(ev, 3))), windows(expected)) << type;
  }
}

TEST(CorrelationEngine, TemporalAndTemporalOrdered) {
  const std::string rules = "---\n" + kFailed + "---\n" + kSuccess;
  const std::string temporal =
      "title: t\nid: c-t\ncorrelation:\n    type: temporal\n    rules: [failed_login, successful_login]\n"
      "    group-by: [user]\n    timespan: 60s\n" + rules;
  const std::string ordered =
      "title: o\nid: c-o\ncorrelation:\n    type: temporal_ordered\n    rules: [failed_login, successful_login]\n"
      "    group-by: [user]\n    timespan: 60s\n" + rules;
  std::vector<Event> ev = {
      // alice: fail then ok (ordered).
      MakeEvent(Ev("fail", "alice"), 100, "a1"), MakeEvent(Ev("ok", "alice"), 120, "a2"),
      // bob: ok then fail (temporal only).
      MakeEvent(Ev("ok", "bob"), 100, "b1"), MakeEvent(Ev("fail", "bob"), 130, "b2"),
      // carol: too far apart.
      MakeEvent(Ev("fail", "carol"), 100, "c1"), MakeEvent(Ev("ok", "carol"), 300, "c2")};
  ExpectOrderIndependent(temporal, ev, {{"c-t", "alice", 120}, {"c-t", "bob", 130}});
  ExpectOrderIndependent(ordered, ev, {{"c-o", "alice", 120}});
}

TEST(CorrelationEngine, ValueSumAvgPercentile) {
  const std::string sum =
      "title: s\nid: c-s\ncorrelation:\n    type: value_sum\n    rules: [failed_login]\n    group-by: [user]\n"
      "    timespan: 60s\n    condition: {field: bytes, gt: 100}\n---\n" + kFailed;
  const std::string avg =
      "title: a\nid: c-a\ncorrelation:\n    type: value_avg\n    rules: [failed_login]\n    group-by: [user]\n"
      "    timespan: 60s\n    condition: {field: bytes, gte: 50, lt: 60}\n---\n" + kFailed;
  const std::string pct =
      "title: p\nid: c-p\ncorrelation:\n    type: value_percentile\n    rules: [failed_login]\n    group-by: [user]\n"
      "    timespan: 60s\n    condition: {field: image, lte: 20}\n---\n" + kFailed;
  std::vector<Event> ev;
  int n = 0;
  for (int b : {40, 50, 30, 55, 55}) {
    ev.push_back(MakeEvent(Ev("fail", n < 3 ? "alice" : "bob", ",\"bytes\":" + std::to_string(b)), 100 + n * 5,
                           "x" + std::to_string(n)));
    ++n;
  }
  // alice: 40+50+30 = 120 > 100 at the third entry (t=110); bob: 110 > 100 at t=120.
  ExpectOrderIndependent(sum, ev, {{"c-s", "alice", 110}, {"c-s", "bob", 120}});
  // avg in [50, 60): alice's windows average 40, 40 and 30; bob's windows
  // anchored at 115 and 120 average 55 and close with their last entry (120).
  ExpectOrderIndependent(avg, ev, {{"c-a", "bob", 120}, {"c-a", "bob", 120}});
  std::vector<Event> images;
  for (int i = 0; i < 9; ++i) images.push_back(MakeEvent(Ev("fail", "host", R"(,"image":"svchost.exe")"), 100 + i, "i" + std::to_string(i)));
  images.push_back(MakeEvent(Ev("fail", "host", R"(,"image":"evil.exe")"), 100, "i-evil"));
  // The window anchored at evil.exe (first at t=100: entries of equal time
  // sort by rule, then event id) holds all 10 events, evil.exe 10% of them.
  // Later windows hold svchost.exe only.
  ExpectOrderIndependent(pct, images, {{"c-p", "host", 108}});
}

TEST(CorrelationEngine, AliasesMapDifferentFields) {
  const std::string yaml =
      "title: conn after error\nid: c-al\ncorrelation:\n    type: temporal\n"
      "    rules: [internal_error, new_connection]\n    group-by: [internal_ip]\n    timespan: 10s\n"
      "    aliases:\n        internal_ip:\n            internal_error: dst\n            new_connection: src\n---\n" +
      BaseRule("r-err", "internal_error", "error") + "---\n" + BaseRule("r-conn", "new_connection", "conn");
  std::vector<Event> ev = {MakeEvent(R"({"kind":"error","dst":"10.1.1.1","src":"1.2.3.4"})", 100, "e1"),
                           MakeEvent(R"({"kind":"conn","src":"10.1.1.1","dst":"5.6.7.8"})", 105, "e2"),
                           MakeEvent(R"({"kind":"conn","src":"1.2.3.4","dst":"10.1.1.1"})", 105, "e3")};
  ExpectOrderIndependent(yaml, ev, {{"c-al", "10.1.1.1", 105}});
}

TEST(CorrelationEngine, ChainedCorrelationAndGenerate) {
  // The specification's example: many failed logins followed by a success.
  const std::string yaml =
      "title: brute force then success\nid: c-outer\nlevel: critical\ncorrelation:\n    type: temporal_ordered\n"
      "    rules: [many_failed, successful_login]\n    group-by: [user]\n    timespan: 10m\n---\n"
      "title: many failed\nid: c-inner\nname: many_failed\ncorrelation:\n    type: event_count\n"
      "    rules: [failed_login]\n    group-by: [user]\n    timespan: 10m\n    condition: {gte: 3}\n---\n" +
      kFailed + "---\n" + kSuccess;
  std::vector<Event> ev;
  for (int t : {100, 110, 120}) ev.push_back(MakeEvent(Ev("fail", "alice"), t, "f" + std::to_string(t)));
  ev.push_back(MakeEvent(Ev("ok", "alice"), 200, "s1"));
  ev.push_back(MakeEvent(Ev("ok", "bob"), 200, "s2"));  // bob never failed
  // Nothing but the outermost correlation alerts (generate defaults to false).
  ExpectOrderIndependent(yaml, ev, {{"c-outer", "alice", 200}});

  // generate: true on the inner correlation lets the base rule alert too.
  std::string gen = yaml;
  gen.replace(gen.find("    condition: {gte: 3}\n"), 24, "    condition: {gte: 3}\ngenerate: true\n");
  Harness h(gen);
  h.Run(ev);
  EXPECT_EQ(h.Only("r-failed").size(), 3u);
  EXPECT_EQ(h.Only("r-success").size(), 0u);  // the outer correlation does not generate
  EXPECT_EQ(h.Only("c-inner").size(), 0u);
  EXPECT_EQ(h.Only("c-outer").size(), 1u);
}

TEST(CorrelationEngine, UnrelatedRulesPassThrough) {
  const std::string yaml =
      "title: c\nid: c-x\ncorrelation:\n    type: event_count\n    rules: [failed_login]\n    group-by: [user]\n"
      "    timespan: 60s\n    condition: {gte: 100}\n---\n" + kFailed;
  RuleSet set;
  LintReport report;
  set.AddRuleText(yaml, "c.yml", &report);
  set.AddRuleText(kSuccess, "s.yml", &report);
  auto d = CorrelationDetector::Create(std::make_unique<SigmaDetector>(set.SharedRules()), set.SharedRules(),
                                       set.SharedCorrelations());
  ASSERT_TRUE(d.ok());
  int matches = 0;
  (*d)->Process(MakeEvent(Ev("ok", "a"), 1, "1"), [&](const Event&, const Match& m) {
    EXPECT_EQ(m.rule_id, "r-success");
    ++matches;
  });
  (*d)->Process(MakeEvent(Ev("fail", "a"), 1, "2"), [&](const Event&, const Match&) { ++matches; });
  EXPECT_EQ(matches, 1);
  EXPECT_EQ((*d)->stats().entries, 1u);
}

TEST(CorrelationEngine, BoundedStateEvictsOldest) {
  const std::string yaml =
      "title: c\nid: c-b\ncorrelation:\n    type: event_count\n    rules: [failed_login]\n    group-by: [user]\n"
      "    timespan: 1h\n    condition: {gte: 1000}\n---\n" + kFailed;
  CorrelationLimits limits;
  limits.max_groups = 3;
  limits.max_entries_per_group = 4;
  Harness h(yaml, limits);
  for (int i = 0; i < 10; ++i) h.Feed(MakeEvent(Ev("fail", "u" + std::to_string(i)), 100 + i, "g" + std::to_string(i)));
  for (int i = 0; i < 10; ++i) h.Feed(MakeEvent(Ev("fail", "same"), 200 + i, "s" + std::to_string(i)));
  EXPECT_EQ(h.det().group_count("c-b"), 3u);
  EXPECT_EQ(h.det().stats().evicted_groups, 8u);
  EXPECT_EQ(h.det().stats().evicted_entries, 6u);
}

// At the bound, the group evicted is the one whose newest entry is oldest:
// a group that gained an entry since keeps its state.
TEST(CorrelationEngine, EvictionTakesTheGroupLeastRecentlyFed) {
  const std::string yaml =
      "title: c\nid: c-e\ncorrelation:\n    type: event_count\n    rules: [failed_login]\n    group-by: [user]\n"
      "    timespan: 1h\n    condition: {gte: 3}\n---\n" + kFailed;
  CorrelationLimits limits;
  limits.max_groups = 2;
  Harness h(yaml, limits);
  const auto fired = h.Run({MakeEvent(Ev("fail", "u1"), 100, "a"), MakeEvent(Ev("fail", "u2"), 101, "b"),
                            MakeEvent(Ev("fail", "u1"), 102, "c"),   // u1 now newer than u2
                            MakeEvent(Ev("fail", "u3"), 103, "d"),   // evicts u2
                            MakeEvent(Ev("fail", "u1"), 104, "e"),   // u1's third: fires
                            MakeEvent(Ev("fail", "u2"), 105, "f"),   // evicts u3; u2 starts again
                            MakeEvent(Ev("fail", "u2"), 106, "g")});  // u2's second since eviction
  EXPECT_EQ(h.Only("c-e"), (std::multiset<Fired>{{"c-e", "u1", 104}}));
  EXPECT_EQ(h.det().stats().evicted_groups, 2u);
  EXPECT_EQ(h.det().group_count("c-e"), 2u);
}

TEST(CorrelationEngine, LateEventsPolicy) {
  const std::string yaml =
      "title: c\nid: c-l\ncorrelation:\n    type: event_count\n    rules: [failed_login]\n    group-by: [user]\n"
      "    timespan: 60s\n    condition: {gte: 2}\n---\n" + kFailed;
  Harness h(yaml);  // allowed lateness = timespan = 60s
  h.Feed(MakeEvent(Ev("fail", "alice"), 1000, "a1"));
  h.Feed(MakeEvent(Ev("fail", "bob"), 1000, "b1"));
  // 100s late, alice has state: counted (its window holds only itself).
  h.Feed(MakeEvent(Ev("fail", "alice"), 900, "a0"));
  // 200s late, carol has no state: dropped.
  h.Feed(MakeEvent(Ev("fail", "carol"), 800, "c0"));
  h.Feed(MakeEvent(Ev("fail", "carol"), 801, "c1"));
  EXPECT_EQ(h.det().stats().late_dropped, 2u);
  EXPECT_EQ(h.det().stats().entries, 3u);
  EXPECT_EQ(h.Only("c-l").size(), 0u);
  auto fired = h.Run({MakeEvent(Ev("fail", "alice"), 1010, "a2")});
  EXPECT_EQ(fired.size(), 1u);
  // Within the allowed lateness a late event needs no state.
  Harness h2(yaml);
  h2.Feed(MakeEvent(Ev("fail", "alice"), 1000, "a1"));
  auto r = h2.Run({MakeEvent(Ev("fail", "dave"), 950, "d1"), MakeEvent(Ev("fail", "dave"), 960, "d2")});
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(h2.det().stats().late_dropped, 0u);
}

TEST(CorrelationEngine, CheckpointRestoreSpansRuns) {
  const std::string yaml =
      "title: c\nid: c-cp\ncorrelation:\n    type: event_count\n    rules: [failed_login]\n    group-by: [user]\n"
      "    timespan: 60s\n    condition: {gte: 3}\n---\n" + kFailed;
  std::map<std::string, std::string> store;
  {
    Harness run1(yaml);
    run1.Feed(MakeEvent(Ev("fail", "alice"), 100, "a1"));
    run1.Feed(MakeEvent(Ev("fail", "alice"), 110, "a2"));
    ASSERT_TRUE(run1.det()
                    .SaveState([&](const std::string& k, const std::string& v) {
                      store[k] = v;
                      return Status::Ok();
                    })
                    .ok());
  }
  ASSERT_EQ(store.count("correlation/c-cp"), 1u);
  auto getter = [&](const std::string& k) -> Result<std::optional<std::string>> {
    auto it = store.find(k);
    return it == store.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  };
  Harness run2(yaml);
  ASSERT_TRUE(run2.det().RestoreState(getter).ok());
  EXPECT_EQ(run2.det().stats().restored_groups, 1u);
  EXPECT_EQ(run2.Run({MakeEvent(Ev("fail", "alice"), 120, "a3")}).size(), 1u);
  // Without the checkpoint the third event alone does not fire.
  Harness fresh(yaml);
  EXPECT_EQ(fresh.Run({MakeEvent(Ev("fail", "alice"), 120, "a3")}).size(), 0u);
  // A checkpoint for another definition, or a corrupt one, is discarded.
  Harness changed(std::string(yaml).replace(yaml.find("gte: 3"), 6, "gte: 4"));
  ASSERT_TRUE(changed.det().RestoreState(getter).ok());
  EXPECT_EQ(changed.det().stats().state_discarded, 1u);
  store["correlation/c-cp"] = store["correlation/c-cp"].substr(0, 40);
  Harness corrupt(yaml);
  ASSERT_TRUE(corrupt.det().RestoreState(getter).ok());
  EXPECT_EQ(corrupt.det().stats().state_discarded, 1u);
}

TEST(CorrelationTranslate, DeprecatedCountBecomesCorrelation) {
  const std::string rule =
      "title: enum\nid: r-enum\nlevel: low\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n"
      "    selection:\n        kind: fail\n    timeframe: 10m\n    condition: selection | count() by user > 2\n";
  auto docs = ParseSigmaFile(rule);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  ASSERT_TRUE((*docs)[1].correlation);
  const CorrelationRule& c = *(*docs)[1].correlation;
  EXPECT_EQ(c.id(), "r-enum");
  EXPECT_EQ(c.type(), CorrelationType::kEventCount);
  EXPECT_EQ(c.group_by(), std::vector<std::string>{"user"});
  EXPECT_EQ(c.timespan_ns(), 600 * kSec);
  EXPECT_EQ(c.condition().ToString(), "gt 2");
  EXPECT_EQ(c.level(), "low");
  Harness h(rule);
  std::vector<Event> ev;
  for (int t : {0, 60, 120}) ev.push_back(MakeEvent(Ev("fail", "alice"), t, std::to_string(t)));
  EXPECT_EQ(h.Run(ev).size(), 1u);  // only the correlation alerts

  auto vc = ParseSigmaFile(
      "title: scan\nid: r-scan\nlogsource: {product: x}\ndetection:\n    selection:\n        action: denied\n"
      "    timeframe: 24h\n    condition: selection | count(dst_port) by src_ip > 10\n");
  ASSERT_TRUE(vc.ok());
  EXPECT_EQ((*vc)[1].correlation->type(), CorrelationType::kValueCount);
  EXPECT_EQ((*vc)[1].correlation->fields(), std::vector<std::string>{"dst_port"});
  auto no_window = ParseSigmaFile(
      "title: x\nid: x\nlogsource: {product: x}\ndetection:\n    selection: {a: 1}\n"
      "    condition: selection | count(q) by d > 1000\n");
  EXPECT_EQ(no_window.status().code(), StatusCode::kUnsupported);
  auto near = ParseSigmaFile(
      "title: x\nid: x\nlogsource: {product: x}\ndetection:\n    s1: {a: 1}\n    s2: {b: 1}\n"
      "    condition: s1 | near s2\n");
  EXPECT_EQ(near.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(near.status().message().find("near"), std::string::npos);
}

}  // namespace
}  // namespace vigil
