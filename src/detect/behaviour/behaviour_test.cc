// Behavioural detectors: the rule format, each detector on fixtures (fires on
// the behaviour, not on near misses), explanations, checkpoints across a
// restart, bounded memory, and the GeoIP table format.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "detect/behaviour/behaviour_detector.h"
#include "detect/sigma/rule_set.h"
#include "event/json_fields.h"

namespace vigil {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kMin = 60;
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;
// Monday 2026-11-02 00:00:00 UTC, in seconds.
constexpr int64_t kT0 = 1793577600;

Event MakeEvent(const std::string& type, const std::string& json, int64_t time_s) {
  Event e;
  auto f = ParseJsonFields(json);
  EXPECT_TRUE(f.ok()) << json;
  if (f.ok()) e.fields = std::move(f).value();
  e.source_type = type;
  e.time_ns = time_s * kSec;
  e.raw = json;
  return e;
}

struct Fired {
  std::string rule_id, entity, finding_type, explanation;
  int64_t time_s;
};

class Harness {
 public:
  explicit Harness(const std::string& yaml, const std::string& file = "b.yml") {
    set_.AddRuleText(yaml, file, &report_);
    EXPECT_TRUE(report_.errors.empty()) << report_.ToJson();
    EXPECT_TRUE(report_.unsupported.empty()) << report_.ToJson();
    EXPECT_EQ(report_.behaviours, 1u) << report_.ToJson();
    Restart();
  }
  // A new detector over the same rules (state lost unless restored).
  void Restart() { detector_ = std::make_unique<BehaviourDetector>(set_.SharedBehaviours()); }
  // Saves the state (a commit) and returns the keys and sizes it put.
  std::map<std::string, size_t> Save() {
    std::map<std::string, size_t> put;
    EXPECT_TRUE(detector_->SaveState([&](const std::string& k, const std::string& v) {
      state_[k] = v;
      put[k] = v.size();
      return Status::Ok();
    }).ok());
    return put;
  }
  // Saves the state, makes a new detector and restores it: a process restart.
  void Checkpoint() {
    ASSERT_TRUE(detector_->SaveState([&](const std::string& k, const std::string& v) {
      state_[k] = v;
      return Status::Ok();
    }).ok());
    Restart();
    ASSERT_TRUE(detector_->RestoreState([&](const std::string& k) -> Result<std::optional<std::string>> {
      auto it = state_.find(k);
      if (it == state_.end()) return std::optional<std::string>();
      return std::optional<std::string>(it->second);
    }).ok());
  }
  size_t Feed(const std::string& type, const std::string& json, int64_t time_s) {
    Event e = MakeEvent(type, json, time_s);
    size_t before = fired.size();
    detector_->Process(e, [&](const Event& ev, const Match& m) {
      fired.push_back({std::string(m.rule_id), m.entity, std::string(m.finding_type), m.explain ? m.explain() : "",
                       ev.time_ns / kSec});
    });
    return fired.size() - before;
  }
  BehaviourDetector& detector() { return *detector_; }
  std::map<std::string, std::string>& state() { return state_; }

  std::vector<Fired> fired;

 private:
  RuleSet set_;
  LintReport report_;
  std::unique_ptr<BehaviourDetector> detector_;
  std::map<std::string, std::string> state_;
};

std::string Call(const std::string& arn, const std::string& api, const std::string& type = "IAMUser") {
  return R"({"eventName":")" + api + R"(","userIdentity":{"type":")" + type + R"(","arn":")" + arn +
         R"("},"sourceIPAddress":"198.51.100.7"})";
}

const char kNewApi[] = R"(title: API never called before by this principal
id: test-new-api
detector: new_term
log_type: cloudtrail
entity: userIdentity.arn
values: eventName
learning_period: 7d
finding_type: Discovery:IAMUser/AnomalousBehavior
level: medium
unless:
  userIdentity.type: AWSService
)";

TEST(BehaviourNewTerm, FiresOnANewValueAfterTheEntitysLearningPeriod) {
  Harness h(kNewApi);
  for (int d = 0; d < 9; ++d) {
    EXPECT_EQ(h.Feed("cloudtrail", Call("arn:aws:iam::1:user/alice", "ListBuckets"), kT0 + d * kDay), 0u);
    EXPECT_EQ(h.Feed("cloudtrail", Call("arn:aws:iam::1:user/alice", "GetObject"), kT0 + d * kDay + 60), 0u);
  }
  // Learnt value: no alert. New value during learning (day 3): no alert.
  EXPECT_EQ(h.Feed("cloudtrail", Call("arn:aws:iam::1:user/alice", "GetObject"), kT0 + 9 * kDay), 0u);
  EXPECT_EQ(h.Feed("cloudtrail", Call("arn:aws:iam::1:user/alice", "PutObject"), kT0 + 3 * kDay), 0u);
  // A principal first seen now learns for its own 7 days.
  EXPECT_EQ(h.Feed("cloudtrail", Call("arn:aws:iam::1:user/bob", "ListUsers"), kT0 + 9 * kDay), 0u);
  EXPECT_EQ(h.Feed("cloudtrail", Call("arn:aws:iam::1:user/bob", "DeleteTrail"), kT0 + 10 * kDay), 0u);
  // Service principals are excluded.
  EXPECT_EQ(h.Feed("cloudtrail", Call("arn:aws:iam::1:user/alice", "StopLogging", "AWSService"), kT0 + 9 * kDay), 0u);

  ASSERT_EQ(h.Feed("cloudtrail", Call("arn:aws:iam::1:user/alice", "StopLogging"), kT0 + 9 * kDay + 5), 1u);
  const Fired& f = h.fired.back();
  EXPECT_EQ(f.rule_id, "test-new-api");
  EXPECT_EQ(f.entity, "arn:aws:iam::1:user/alice");
  EXPECT_EQ(f.finding_type, "Discovery:IAMUser/AnomalousBehavior");
  EXPECT_NE(f.explanation.find("\"detector\":\"new_term\""), std::string::npos) << f.explanation;
  EXPECT_NE(f.explanation.find("\"eventName\":\"StopLogging\""), std::string::npos) << f.explanation;
  EXPECT_NE(f.explanation.find("\"learning_period\":\"7d\""), std::string::npos) << f.explanation;
  EXPECT_NE(f.explanation.find("\"known_values\":3"), std::string::npos) << f.explanation;
  // Once seen, it is known.
  EXPECT_EQ(h.Feed("cloudtrail", Call("arn:aws:iam::1:user/alice", "StopLogging"), kT0 + 9 * kDay + 9), 0u);
}

// A transformed value is the same whether its raw value is new or repeated
// (the detector remembers recent results), and a raw value whose transform
// gives nothing stays absent when it comes again.
TEST(BehaviourNewTerm, TransformedValuesAreTheSameWhenRawValuesRepeat) {
  Harness h(R"(title: New client product
id: test-new-product
detector: new_term
log_type: cloudtrail
entity: userIdentity.arn
values: userAgent|product
learning_period: 1d
finding_type: Discovery:IAMUser/AnomalousBehavior
)");
  auto ua = [](const std::string& agent) {
    return R"({"eventName":"ListBuckets","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/alice"},"userAgent":")" +
           agent + R"("})";
  };
  h.Feed("cloudtrail", ua("aws-cli/2.1.0 Python/3.9"), kT0);
  const int64_t t = kT0 + 2 * kDay;
  EXPECT_EQ(h.Feed("cloudtrail", ua("aws-cli/2.1.0 Python/3.9"), t), 0u);  // the same raw value
  EXPECT_EQ(h.Feed("cloudtrail", ua("AWS-CLI/2.9.9 Linux"), t + 1), 0u);     // another raw value, same product
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h.Feed("cloudtrail", ua("[]"), t + 2 + i), 0u);  // no product: absent
  EXPECT_EQ(h.Feed("cloudtrail", ua("aws-cli/2.1.0 Python/3.9"), t + 5), 0u);
  ASSERT_EQ(h.Feed("cloudtrail", ua("Boto3/1.26.0 Python/3.11"), t + 6), 1u);
  EXPECT_NE(h.fired.back().explanation.find("\"userAgent|product\":\"boto3\""), std::string::npos)
      << h.fired.back().explanation;
  EXPECT_EQ(h.Feed("cloudtrail", ua("Boto3/1.26.0 Python/3.11"), t + 7), 0u);
  EXPECT_EQ(h.Feed("cloudtrail", ua("boto3/1.30.1"), t + 8), 0u);
  EXPECT_EQ(h.detector().stats().observed, 7u);  // every event but the three without a product
}

// Conditions of one field (`where` and `unless` on eventName) each keep their
// own verdict per value, however the values repeat and alternate.
TEST(BehaviourNewTerm, ConditionsOnOneFieldKeepTheirOwnVerdicts) {
  Harness h(R"(title: New listing
id: test-new-listing
detector: new_term
log_type: cloudtrail
entity: userIdentity.arn
values: eventName
learning_period: 1d
finding_type: Discovery:IAMUser/AnomalousBehavior
where:
  eventName: [ListUsers, ListRoles, DescribeInstances]
unless:
  eventName: "Describe*"
)");
  const std::string alice = "arn:aws:iam::1:user/alice";
  EXPECT_EQ(h.Feed("cloudtrail", Call(alice, "GetObject"), kT0), 0u);  // not selected: starts the history
  const int64_t t = kT0 + 2 * kDay;
  const std::pair<const char*, size_t> steps[] = {
      {"DescribeInstances", 0}, {"ListUsers", 1}, {"DescribeInstances", 0}, {"GetObject", 0},
      {"ListRoles", 1},         {"ListUsers", 0}, {"DescribeInstances", 0}, {"ListRoles", 0}};
  for (size_t i = 0; i < std::size(steps); ++i)
    EXPECT_EQ(h.Feed("cloudtrail", Call(alice, steps[i].first), t + static_cast<int64_t>(i)), steps[i].second)
        << steps[i].first << " at step " << i;
  EXPECT_EQ(h.detector().stats().observed, 4u);  // the List* calls: selected and not excluded
}

TEST(BehaviourNewTerm, ThresholdNeedsABurstOfNewValuesInTheWindow) {
  std::string rule = kNewApi;
  rule += "threshold: 3\nwindow: 10m\n";
  Harness h(rule);
  const std::string alice = "arn:aws:iam::1:user/alice";
  for (int d = 0; d < 8; ++d) h.Feed("cloudtrail", Call(alice, "GetObject"), kT0 + d * kDay);
  const int64_t t = kT0 + 8 * kDay;
  // Two new APIs, then a third 20 minutes later: never three in 10 minutes.
  EXPECT_EQ(h.Feed("cloudtrail", Call(alice, "ListUsers"), t), 0u);
  EXPECT_EQ(h.Feed("cloudtrail", Call(alice, "ListRoles"), t + 60), 0u);
  EXPECT_EQ(h.Feed("cloudtrail", Call(alice, "ListPolicies"), t + 20 * kMin), 0u);
  EXPECT_EQ(h.Feed("cloudtrail", Call(alice, "ListGroups"), t + 21 * kMin), 0u);
  EXPECT_EQ(h.Feed("cloudtrail", Call(alice, "ListGroups"), t + 22 * kMin), 0u);  // not new
  EXPECT_EQ(h.Feed("cloudtrail", Call(alice, "DescribeInstances"), t + 23 * kMin), 1u);
  EXPECT_NE(h.fired.back().explanation.find("\"new_values_in_window\":3"), std::string::npos)
      << h.fired.back().explanation;
}

TEST(BehaviourNewTerm, StateSurvivesARestartAndIsBounded) {
  std::string rule = kNewApi;
  rule += "max_entities: 100\nmax_terms: 20\n";
  Harness h(rule);
  const std::string alice = "arn:aws:iam::1:user/alice";
  h.Feed("cloudtrail", Call(alice, "GetObject"), kT0);
  h.Checkpoint();
  ASSERT_EQ(h.state().count("behaviour/test-new-api"), 1u);
  EXPECT_EQ(h.detector().stats().restored, 1u);
  // Learnt before the restart: known after it, and the learning period ran on.
  EXPECT_EQ(h.Feed("cloudtrail", Call(alice, "GetObject"), kT0 + 8 * kDay), 0u);
  EXPECT_EQ(h.Feed("cloudtrail", Call(alice, "ListUsers"), kT0 + 8 * kDay), 1u);
  // Without the checkpoint the principal would be learning again.
  h.Restart();
  EXPECT_EQ(h.Feed("cloudtrail", Call(alice, "ListRoles"), kT0 + 8 * kDay), 0u);

  // Many principals: at most max_entities held, the oldest evicted.
  for (int i = 0; i < 5000; ++i)
    h.Feed("cloudtrail", Call("arn:aws:iam::1:user/u" + std::to_string(i), "GetObject"), kT0 + 9 * kDay + i);
  EXPECT_LE(h.detector().entity_count("test-new-api"), 100u);
  EXPECT_GT(h.detector().stats().evicted, 4800u);
  // Many values: at most max_terms per entity; past it, nothing is learnt or alerted.
  const std::string carol = "arn:aws:iam::1:user/carol";
  h.Feed("cloudtrail", Call(carol, "GetObject"), kT0);
  size_t alerts = 0;
  for (int i = 0; i < 50; ++i) alerts += h.Feed("cloudtrail", Call(carol, "Api" + std::to_string(i)), kT0 + 8 * kDay);
  EXPECT_EQ(alerts, 19u);
  EXPECT_EQ(h.detector().stats().saturated, 31u);
}

TEST(BehaviourState, CheckpointOfAnotherDefinitionIsDiscarded) {
  Harness a(kNewApi);
  a.Feed("cloudtrail", Call("arn:aws:iam::1:user/alice", "GetObject"), kT0);
  a.Checkpoint();
  std::string changed = kNewApi;
  changed += "learning_period: 1d\n";
  changed.replace(changed.find("learning_period: 7d\n"), 20, "");
  Harness b(changed);
  b.state() = a.state();
  b.Checkpoint();  // b saved nothing (no events): a's blob is offered and refused
  EXPECT_EQ(b.detector().stats().state_discarded, 1u);
  EXPECT_EQ(b.detector().stats().restored, 0u);
  // Garbage is discarded too, never an error.
  Harness c(kNewApi);
  c.state()["behaviour/test-new-api"] = "vigil-behaviour-state-v1\x05junk";
  c.Checkpoint();
  EXPECT_EQ(c.detector().stats().state_discarded, 1u);
}

// An event for the state tests: principal `user` calls `api` with `agent`.
std::string Activity(int user, const std::string& api, const std::string& agent) {
  return R"({"eventName":")" + api + R"(","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u)" +
         std::to_string(user) + R"("},"userAgent":")" + agent + R"("})";
}

TEST(BehaviourState, CommitsHoldOnlyWhatChangedAndARestoreIsTheSameState) {
  const std::string rare = std::string(R"(title: Rare agent
id: test-rare
detector: rarity
log_type: cloudtrail
entity: userIdentity.arn
values: userAgent
learning_period: 1d
max_percent: 2
min_population: 50
max_entities: 100
finding_type: UnauthorizedAccess:IAMUser/AnomalousBehavior
)");
  std::string newterm = kNewApi;
  newterm += "max_entities: 100\n";
  for (const std::string& rule : {rare, newterm}) {
    SCOPED_TRACE(rule.substr(0, rule.find('\n')));
    const std::string key = rule == rare ? "behaviour/test-rare" : "behaviour/test-new-api";
    Harness live(rule), restarted(rule);
    auto feed = [&](int user, const std::string& api, const std::string& agent, int64_t t) {
      size_t a = live.Feed("cloudtrail", Activity(user, api, agent), t);
      size_t b = restarted.Feed("cloudtrail", Activity(user, api, agent), t);
      EXPECT_EQ(a, b);
    };
    // A population to learn from, and the first (whole) checkpoint.
    for (int u = 0; u < 90; ++u) feed(u, "ListBuckets", "aws-cli/2.15", kT0 + u);
    auto first = restarted.Save();
    ASSERT_EQ(first.count(key), 1u);
    const size_t whole = first[key];
    // Commits of a few busy principals each: each holds only those. New
    // principals past max_entities evict old ones (the change holds that
    // too), and every few commits the process restarts from its checkpoint.
    int next = 90;
    size_t delta_commits = 0;
    for (int round = 0; round < 40; ++round) {
      const int64_t t = kT0 + kDay + round * 600;
      feed(round % 7, "GetObject", "aws-cli/2.15", t);
      feed(round % 5, round % 9 == 0 ? "DeleteTrail" : "ListBuckets", round % 11 == 0 ? "curl/8." + std::to_string(round) : "aws-cli/2.15", t + 1);
      if (round % 2 == 0) feed(next++, "ListBuckets", "aws-cli/2.15", t + 2);
      auto put = restarted.Save();
      ASSERT_FALSE(put.empty());
      for (const auto& [k, size] : put) {
        if (k == key) continue;  // a new whole state (the chain outgrew it)
        EXPECT_EQ(k.rfind(key + "+", 0), 0u) << k;
        EXPECT_LT(size, whole / 4) << k << " holds more than the few entities that changed";
        delta_commits += size > 0;
      }
      if (round % 6 == 5) restarted.Checkpoint();
    }
    EXPECT_GE(delta_commits, 30u);
    EXPECT_GT(live.detector().stats().evicted, 0u);
    restarted.Checkpoint();
    EXPECT_EQ(restarted.detector().stats().state_discarded, 0u);
    EXPECT_EQ(restarted.detector().entity_count(key.substr(10)), live.detector().entity_count(key.substr(10)));
    // Same state: the same events raise the same alerts with the same explanations.
    const size_t live_before = live.fired.size(), restarted_before = restarted.fired.size();
    for (int u = 0; u < 130; u += 3) feed(u, "PutBucketPolicy", u % 2 ? "aws-cli/2.15" : "pacu/1.5", kT0 + 9 * kDay + u);
    ASSERT_GT(live.fired.size(), live_before);
    ASSERT_EQ(live.fired.size() - live_before, restarted.fired.size() - restarted_before);
    for (size_t i = 0; i < live.fired.size() - live_before; ++i) {
      EXPECT_EQ(live.fired[live_before + i].entity, restarted.fired[restarted_before + i].entity);
      EXPECT_EQ(live.fired[live_before + i].explanation, restarted.fired[restarted_before + i].explanation);
    }
  }
}

TEST(BehaviourState, AVersion1CheckpointIsReadAndRewrittenWhole) {
  Harness a(kNewApi);
  const std::string alice = "arn:aws:iam::1:user/alice";
  a.Feed("cloudtrail", Call(alice, "GetObject"), kT0);
  a.Save();
  // The same state as a version 1 blob: magic, fingerprint, then the state
  // (version 2 has a generation number between them).
  std::string v2 = a.state()["behaviour/test-new-api"];
  const std::string magic2 = "vigil-behaviour-state-v2";
  ASSERT_EQ(v2.rfind(magic2, 0), 0u);
  const size_t fp_len = static_cast<unsigned char>(v2[magic2.size()]);
  ASSERT_LT(fp_len, 128u);
  const size_t gen_at = magic2.size() + 1 + fp_len;
  ASSERT_EQ(v2[gen_at], '\x01');
  Harness b(kNewApi);
  b.state()["behaviour/test-new-api"] = "vigil-behaviour-state-v1" + v2.substr(magic2.size(), 1 + fp_len) + v2.substr(gen_at + 1);
  b.Checkpoint();
  EXPECT_EQ(b.detector().stats().restored, 1u);
  EXPECT_EQ(b.Feed("cloudtrail", Call(alice, "GetObject"), kT0 + 8 * kDay), 0u);  // learnt before
  EXPECT_EQ(b.Feed("cloudtrail", Call(alice, "ListUsers"), kT0 + 8 * kDay), 1u);  // and its history kept
  auto put = b.Save();
  ASSERT_EQ(put.count("behaviour/test-new-api"), 1u);
  EXPECT_EQ(b.state()["behaviour/test-new-api"].rfind(magic2, 0), 0u);
}

const char kRareAgent[] = R"(title: User agent rare among principals
id: test-rare-ua
detector: rarity
log_type: cloudtrail
entity: userIdentity.arn
values: userAgent
learning_period: 1d
max_percent: 2
min_population: 50
finding_type: Discovery:IAMUser/AnomalousBehavior
)";

std::string WithAgent(int user, const std::string& agent) {
  return R"({"userIdentity":{"arn":"arn:aws:iam::1:user/u)" + std::to_string(user) + R"("},"userAgent":")" + agent +
         R"("})";
}

TEST(BehaviourRarity, FiresOnAValueFewOfThePopulationUse) {
  Harness h(kRareAgent);
  for (int u = 0; u < 60; ++u) h.Feed("cloudtrail", WithAgent(u, "aws-cli/2.15"), kT0 + u);
  h.Feed("cloudtrail", WithAgent(0, "Boto3/1.34"), kT0 + 100);
  h.Feed("cloudtrail", WithAgent(1, "Boto3/1.34"), kT0 + 100);
  const int64_t later = kT0 + 2 * kDay;
  // Common value, new to this principal: no alert.
  EXPECT_EQ(h.Feed("cloudtrail", WithAgent(61, "aws-cli/2.15"), later), 0u);
  // 2 of 62 principals (3.2%) use Boto3: not under 2%.
  EXPECT_EQ(h.Feed("cloudtrail", WithAgent(5, "Boto3/1.34"), later), 0u);
  // Nobody has used this one.
  ASSERT_EQ(h.Feed("cloudtrail", WithAgent(7, "python-requests/2.31"), later), 1u);
  EXPECT_NE(h.fired.back().explanation.find("\"detector\":\"rarity\""), std::string::npos);
  EXPECT_NE(h.fired.back().explanation.find("\"population\":61"), std::string::npos) << h.fired.back().explanation;
  EXPECT_NE(h.fired.back().explanation.find("python-requests/2.31"), std::string::npos);
  // The same principal again: already its own.
  EXPECT_EQ(h.Feed("cloudtrail", WithAgent(7, "python-requests/2.31"), later + 1), 0u);
  // Survives a restart.
  h.Checkpoint();
  EXPECT_EQ(h.Feed("cloudtrail", WithAgent(7, "python-requests/2.31"), later + 2), 0u);
  EXPECT_EQ(h.Feed("cloudtrail", WithAgent(8, "curl/8.5"), later + 2), 1u);
}

TEST(BehaviourRarity, NoAlertsWhileLearningOrWithASmallPopulation) {
  Harness h(kRareAgent);
  for (int u = 0; u < 10; ++u) h.Feed("cloudtrail", WithAgent(u, "aws-cli/2.15"), kT0 + u);
  EXPECT_EQ(h.Feed("cloudtrail", WithAgent(3, "odd/1"), kT0 + 3 * kDay), 0u);  // 10 principals < 50
  for (int u = 10; u < 60; ++u) h.Feed("cloudtrail", WithAgent(u, "aws-cli/2.15"), kT0 + u);
  EXPECT_EQ(h.Feed("cloudtrail", WithAgent(3, "odd/2"), kT0 + 3600), 0u);  // still learning
}

const char kEgress[] = R"(title: Unusual egress volume
id: test-egress
detector: volume
log_type: vpcflow
entity: srcaddr
values: bytes
min_count: 1000000
z: 4
min_samples: 3
finding_type: Exfiltration:EC2/UnusualEgress
)";

std::string Flow(const std::string& src, int64_t bytes, int dstport = 443, const std::string& dst = "203.0.113.9",
                 int srcport = 40000) {
  return R"({"srcaddr":")" + src + R"(","dstaddr":")" + dst + R"(","srcport":)" + std::to_string(srcport) +
         R"(,"dstport":)" + std::to_string(dstport) + R"(,"bytes":)" + std::to_string(bytes) + "}";
}

TEST(BehaviourVolume, FiresWhenAnHourBreaksTheSeasonalBaseline) {
  Harness h(kEgress);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> jitter(-50000, 50000);
  // Four days: 2 MB an hour at night, 20 MB an hour by day, in 10 flows.
  for (int64_t hour = 0; hour < 4 * 24; ++hour) {
    const bool day = hour % 24 >= 8 && hour % 24 < 18;
    for (int i = 0; i < 10; ++i) {
      h.Feed("vpcflow", Flow("10.0.1.5", (day ? 2000000 : 200000) + jitter(rng)), kT0 + hour * kHour + i * 300);
      h.Feed("vpcflow", Flow("10.0.1.6", (day ? 2000000 : 200000) + jitter(rng)), kT0 + hour * kHour + i * 300);
    }
  }
  ASSERT_TRUE(h.fired.empty()) << h.fired[0].explanation;
  // Day 5, 14:00: a normal busy hour for .6, but 60 MB for .5.
  const int64_t t = kT0 + (4 * 24 + 14) * kHour;
  size_t alerts = 0;
  for (int i = 0; i < 10; ++i) alerts += h.Feed("vpcflow", Flow("10.0.1.6", 2100000), t + i * 60);
  EXPECT_EQ(alerts, 0u);
  // Day 5, 03:00 with a daytime volume: over the night baseline.
  alerts = 0;
  for (int i = 0; i < 30; ++i) alerts += h.Feed("vpcflow", Flow("10.0.1.5", 2000000), t + i * 60);
  ASSERT_EQ(alerts, 1u);  // once per hour
  const Fired& f = h.fired.back();
  EXPECT_EQ(f.entity, "10.0.1.5");
  EXPECT_NE(f.explanation.find("\"season\":\"hour_of_day\""), std::string::npos) << f.explanation;
  EXPECT_NE(f.explanation.find("\"samples\":4"), std::string::npos) << f.explanation;
  EXPECT_NE(f.explanation.find("\"z\":"), std::string::npos);
  // A night hour at a daytime volume is anomalous by the hour-of-day baseline.
  const int64_t night = kT0 + (5 * 24 + 3) * kHour;
  alerts = 0;
  for (int i = 0; i < 10; ++i) alerts += h.Feed("vpcflow", Flow("10.0.1.6", 2000000), night + i * 60);
  EXPECT_EQ(alerts, 1u);
}

TEST(BehaviourVolume, MinimumCountAndLearningPreventAlerts) {
  Harness h(kEgress);
  // Two days only (2 samples per hour of day): never judged.
  for (int64_t hour = 0; hour < 2 * 24; ++hour) h.Feed("vpcflow", Flow("10.0.1.5", 1000), kT0 + hour * kHour);
  size_t alerts = 0;
  for (int i = 0; i < 30; ++i) alerts += h.Feed("vpcflow", Flow("10.0.1.5", 5000000), kT0 + 2 * kDay + 14 * kHour + i);
  EXPECT_EQ(alerts, 0u);
  // Learnt, huge z, but under min_count (1 MB).
  Harness g(kEgress);
  for (int64_t hour = 0; hour < 4 * 24; ++hour) g.Feed("vpcflow", Flow("10.0.1.5", 1000), kT0 + hour * kHour);
  alerts = 0;
  for (int i = 0; i < 30; ++i) alerts += g.Feed("vpcflow", Flow("10.0.1.5", 30000), kT0 + 4 * kDay + 14 * kHour + i);
  EXPECT_EQ(alerts, 0u);
  // Checkpointed baselines judge after a restart.
  g.Checkpoint();
  alerts = 0;
  for (int i = 0; i < 30; ++i) alerts += g.Feed("vpcflow", Flow("10.0.1.5", 3000000), kT0 + 4 * kDay + 15 * kHour + i);
  EXPECT_EQ(alerts, 1u);
}

const char kPortScan[] = R"(title: Port scan
id: test-portscan
detector: distinct_count
log_type: vpcflow
entity: srcaddr
values: dstport
window: 1m
threshold: 50
finding_type: Recon:EC2/Portscan
level: high
where:
  srcport|gte: 1024
  dstport|lt: 32768
)";

TEST(BehaviourDistinct, PortScanFiresOnManyPortsInAWindow) {
  Harness h(kPortScan);
  size_t alerts = 0;
  for (int p = 1; p <= 200; ++p) alerts += h.Feed("vpcflow", Flow("10.0.1.9", 60, p, "10.0.2.3"), kT0 + p / 10);
  ASSERT_EQ(alerts, 1u);
  const Fired& f = h.fired.back();
  EXPECT_EQ(f.finding_type, "Recon:EC2/Portscan");
  EXPECT_NE(f.explanation.find("\"detector\":\"distinct_count\""), std::string::npos);
  EXPECT_NE(f.explanation.find("\"estimator\":\"hyperloglog\""), std::string::npos);
  EXPECT_NE(f.explanation.find("\"sample_values\":[\"1\",\"2\""), std::string::npos) << f.explanation;
}

// The explanation's samples are the first values of the window that fired
// (none left from an earlier window of the entity, long ones cut to their
// ends), and survive a restart in the middle of the window.
TEST(BehaviourDistinct, SamplesAreTheFiringWindowsFirstValues) {
  Harness h(R"(title: Many secrets read
id: test-secrets
detector: distinct_count
log_type: cloudtrail
entity: userIdentity.arn
values: requestParameters.secretId
window: 10m
threshold: 10
finding_type: CredentialAccess:IAMUser/AnomalousBehavior
)");
  auto read = [&](const std::string& secret, int64_t t) {
    return h.Feed("cloudtrail",
                  R"({"eventName":"GetSecretValue","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/alice"},)"
                  R"("requestParameters":{"secretId":")" + secret + R"("}})",
                  t);
  };
  const std::string old_long(80, 'x');
  const std::string long_id = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod-payments-database-credentials-AbCdEf";
  size_t alerts = read("old-a", kT0) + read(old_long, kT0 + 1) + read("old-b", kT0 + 2) + read("old-c", kT0 + 3) +
                  read("old-d", kT0 + 4) + read("old-e", kT0 + 5);
  const int64_t t = kT0 + 20 * kMin;  // a new window
  alerts += read("s0", t) + read(long_id, t + 1) + read("s2", t + 2);
  h.Checkpoint();
  for (int i = 3; i < 40 && alerts == 0; ++i) alerts += read("s" + std::to_string(i), t + i);
  ASSERT_EQ(alerts, 1u);
  const std::string expected = "\"sample_values\":[\"s0\",\"..." + long_id.substr(long_id.size() - 61) + "\",\"s2\",\"s3\",\"s4\"]";
  EXPECT_NE(h.fired.back().explanation.find(expected), std::string::npos) << h.fired.back().explanation;
}

TEST(BehaviourDistinct, NearMissesDoNotFire) {
  Harness h(kPortScan);
  size_t alerts = 0;
  // 40 ports in a minute: under the threshold.
  for (int p = 1; p <= 40; ++p) alerts += h.Feed("vpcflow", Flow("10.0.1.9", 60, p), kT0 + p);
  // 40 more two minutes later: a new window.
  for (int p = 41; p <= 80; ++p) alerts += h.Feed("vpcflow", Flow("10.0.1.9", 60, p), kT0 + 180 + p % 40);
  // One port many times.
  for (int i = 0; i < 500; ++i) alerts += h.Feed("vpcflow", Flow("10.0.1.10", 60, 443), kT0 + i % 50);
  // A server answering many clients: source port 443, ephemeral destinations.
  for (int p = 0; p < 500; ++p) alerts += h.Feed("vpcflow", Flow("10.0.1.11", 60, 33000 + p, "198.51.100.1", 443), kT0 + p % 50);
  EXPECT_EQ(alerts, 0u);
}

TEST(BehaviourDistinct, WithALearningPeriodHabitualBurstsAreKnown) {
  Harness h(std::string(kPortScan) + "learning_period: 2d\n");
  auto sweep = [&](const std::string& src, int64_t at) {
    size_t n = 0;
    for (int p = 1; p <= 100; ++p) n += h.Feed("vpcflow", Flow(src, 60, p), at + p / 10);
    return n;
  };
  // The scanner sweeps every night from the start; a worker only talks to one port.
  EXPECT_EQ(sweep("10.0.1.9", kT0), 0u) << "learning";
  EXPECT_EQ(h.Feed("vpcflow", Flow("10.0.1.20", 60, 443), kT0 + 10), 0u);
  h.Checkpoint();  // the habit survives a restart
  EXPECT_EQ(sweep("10.0.1.9", kT0 + 3 * kDay), 0u) << "a habit, not an anomaly";
  EXPECT_EQ(sweep("10.0.1.20", kT0 + 3 * kDay + 600), 1u) << "past learning, never swept";
  EXPECT_NE(h.fired.back().explanation.find("\"learning_period\":\"2d\""), std::string::npos)
      << h.fired.back().explanation;
  EXPECT_EQ(sweep("10.0.1.30", kT0 + 3 * kDay + 1200), 0u) << "first seen now: still learning";
}

TEST(BehaviourDistinct, EstimateIsCloseAndStateIsBounded) {
  std::string rule = kPortScan;
  rule.replace(rule.find("threshold: 50"), 13, "threshold: 1000");
  rule.replace(rule.find("window: 1m"), 10, "window: 1h");
  rule.replace(rule.find("where:"), std::string::npos, "");
  rule += "max_entities: 50\nvalues: [dstaddr, dstport]\n";
  rule.replace(rule.find("values: dstport\n"), 16, "");
  Harness h(rule);
  size_t alerts = 0;
  // 980 distinct (address, port) pairs: the estimate (about 5% error at
  // 256 registers) must not reach 1000 until well past it.
  int n = 0;
  for (; n < 900; ++n) alerts += h.Feed("vpcflow", Flow("10.0.1.9", 1, 1 + n % 60, "10.9.0." + std::to_string(n / 60)), kT0 + n);
  EXPECT_EQ(alerts, 0u);
  h.Checkpoint();  // the registers survive
  for (; n < 1300 && !alerts; ++n)
    alerts += h.Feed("vpcflow", Flow("10.0.1.9", 1, 1 + n % 60, "10.9.0." + std::to_string(n / 60)), kT0 + n);
  EXPECT_EQ(alerts, 1u);
  EXPECT_GT(n, 850);
  EXPECT_LT(n, 1200);
  for (int i = 0; i < 2000; ++i) h.Feed("vpcflow", Flow("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250), 1), kT0 + 2000 + i);
  EXPECT_LE(h.detector().entity_count("test-portscan"), 50u);
}

const char kTunnel[] = R"(title: DNS tunnelling
id: test-dns-tunnel
detector: distinct_count
log_type: route53resolver
entity: [srcaddr, query_name|apex]
values: query_name|subdomain
window: 10m
threshold: 40
finding_type: Trojan:EC2/DNSDataExfiltration
where:
  query_name|subdomain|length|gte: 24
  query_name|subdomain|entropy|gte: 3.5
unless:
  query_name|apex: [amazonaws.com, cloudfront.net]
)";

std::string Query(const std::string& src, const std::string& name) {
  return R"({"srcaddr":")" + src + R"(","query_name":")" + name + R"(","rcode":"NOERROR"})";
}

std::string RandomLabel(std::mt19937* rng, int n) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(kAlphabet[(*rng)() % 32]);
  return s;
}

TEST(BehaviourDns, TunnellingFiresOnManyLongRandomSubdomainsOfOneApex) {
  Harness h(kTunnel);
  std::mt19937 rng(1);
  size_t alerts = 0;
  // Normal lookups, and AWS names with long generated labels.
  for (int i = 0; i < 300; ++i) {
    alerts += h.Feed("route53resolver", Query("10.0.0.8", "www.example.com."), kT0 + i);
    alerts += h.Feed("route53resolver", Query("10.0.0.8", "api" + std::to_string(i % 20) + ".github.com."), kT0 + i);
    alerts += h.Feed("route53resolver",
                     Query("10.0.0.8", RandomLabel(&rng, 40) + ".s3.eu-west-1.amazonaws.com."), kT0 + i);
  }
  // Few long random names: under the threshold.
  for (int i = 0; i < 20; ++i)
    alerts += h.Feed("route53resolver", Query("10.0.0.8", RandomLabel(&rng, 40) + ".cdn.example.net."), kT0 + i);
  EXPECT_EQ(alerts, 0u);
  for (int i = 0; i < 100; ++i)
    alerts += h.Feed("route53resolver",
                     Query("10.0.0.8", RandomLabel(&rng, 50) + "." + RandomLabel(&rng, 12) + ".t.exfil.example.co.uk."),
                     kT0 + 400 + i);
  ASSERT_EQ(alerts, 1u);
  const Fired& f = h.fired.back();
  EXPECT_EQ(f.entity, "10.0.0.8, example.co.uk");
  EXPECT_EQ(f.finding_type, "Trojan:EC2/DNSDataExfiltration");
}

TEST(BehaviourDns, ApexSubdomainAndEntropy) {
  EXPECT_EQ(DnsApex("a.b.example.com."), "example.com");
  EXPECT_EQ(DnsApex("www.bbc.co.uk"), "bbc.co.uk");
  EXPECT_EQ(DnsApex("example.com"), "example.com");
  EXPECT_EQ(DnsApex("localhost"), "localhost");
  EXPECT_EQ(DnsApex("co.uk"), "co.uk");
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("abcd"), 2);
  std::string v = "X1.Y2.Example.COM.";
  ASSERT_TRUE(ApplyTransforms({FieldTransform::kSubdomain}, nullptr, &v));
  EXPECT_EQ(v, "x1.y2");
  v = "example.com";
  EXPECT_FALSE(ApplyTransforms({FieldTransform::kSubdomain}, nullptr, &v));  // none: the field is absent
}

const char kDga[] = R"(title: DGA domains
id: test-dga
detector: distinct_count
log_type: route53resolver
entity: srcaddr
values: query_name|apex
window: 10m
threshold: 10
finding_type: Trojan:EC2/DGADomainRequest
where:
  rcode: NXDOMAIN
  query_name|sld|length|gte: 10
  query_name|sld|entropy|gte: 3.2
)";

TEST(BehaviourDns, DgaFiresOnManyRandomNonexistentDomains) {
  Harness h(kDga);
  std::mt19937 rng(3);
  auto nx = [](const std::string& src, const std::string& name) {
    return R"({"srcaddr":")" + src + R"(","query_name":")" + name + R"(","rcode":"NXDOMAIN"})";
  };
  size_t alerts = 0;
  // Typos and internal names that do not resolve: low entropy or short.
  for (int i = 0; i < 50; ++i) {
    alerts += h.Feed("route53resolver", nx("10.0.0.9", "intranet" + std::to_string(i) + ".corp."), kT0 + i);
    alerts += h.Feed("route53resolver", nx("10.0.0.9", "gooogle.com."), kT0 + i);
  }
  EXPECT_EQ(alerts, 0u);
  for (int i = 0; i < 15; ++i) alerts += h.Feed("route53resolver", nx("10.0.0.7", RandomLabel(&rng, 16) + ".com."), kT0 + 100 + i);
  EXPECT_EQ(alerts, 1u);
}

const char kBeacon[] = R"(title: Beaconing
id: test-beacon
detector: beacon
log_type: vpcflow
entity: [srcaddr, dstaddr, dstport]
min_connections: 20
max_jitter: 0.1
min_interval: 10s
max_interval: 1h
finding_type: Backdoor:EC2/C&CActivity
unless:
  dstaddr|cidr: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]
)";

TEST(BehaviourBeacon, FiresOnRegularContactsNotOnIrregularOnes) {
  Harness h(kBeacon);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> small(-2, 2);
  std::exponential_distribution<double> poisson(1.0 / 60);
  size_t alerts = 0;
  int64_t t = kT0, u = kT0;
  for (int i = 0; i < 40; ++i) {
    // Irregular (human) traffic to another host.
    u += 10 + static_cast<int64_t>(poisson(rng));
    alerts += h.Feed("vpcflow", Flow("10.0.1.5", 500, 443, "198.51.100.20"), u);
    // Regular contacts to an internal host: excluded.
    alerts += h.Feed("vpcflow", Flow("10.0.1.5", 500, 443, "10.0.9.9"), kT0 + i * 60);
  }
  EXPECT_EQ(alerts, 0u);
  for (int i = 0; i < 19; ++i) {
    t += 60 + small(rng);
    alerts += h.Feed("vpcflow", Flow("10.0.1.5", 300, 8443, "203.0.113.50"), t);
    // The same contact logged twice (both directions) a second later.
    alerts += h.Feed("vpcflow", Flow("10.0.1.5", 300, 8443, "203.0.113.50"), t + 1);
  }
  EXPECT_EQ(alerts, 0u);
  EXPECT_EQ(h.detector().stats().state_discarded, 0u);
  h.Checkpoint();  // 19 contacts so far; the 20th after a restart completes the run
  EXPECT_EQ(h.detector().stats().restored, 1u);
  t += 60;
  ASSERT_EQ(h.Feed("vpcflow", Flow("10.0.1.5", 300, 8443, "203.0.113.50"), t), 1u);
  const Fired& f = h.fired.back();
  EXPECT_EQ(f.entity, "10.0.1.5, 203.0.113.50, 8443");
  EXPECT_NE(f.explanation.find("\"connections\":20"), std::string::npos) << f.explanation;
  EXPECT_NE(f.explanation.find("\"mean_interval_s\":6"), std::string::npos) << f.explanation;
  // A gap past max_interval breaks the run.
  t += 2 * kHour;
  for (int i = 0; i < 10; ++i) alerts += h.Feed("vpcflow", Flow("10.0.1.5", 300, 8443, "203.0.113.50"), t += 60);
  EXPECT_EQ(alerts, 0u);
}

const char kGeoCsv[] = R"(# test table
start_ip,end_ip,country,asn,city,lat,lon
81.2.69.0,81.2.69.255,GB,AS20712,London,51.5142,-0.0931
1.128.0.0,1.159.255.255,AU,AS1221,Sydney,-33.8688,151.2093
2.16.0.0,2.16.0.255,FR,AS20940,Paris,48.8566,2.3522
2001:db8:100::,2001:db8:1ff:ffff:ffff:ffff:ffff:ffff,US,AS16509,Ashburn,39.0438,-77.4874
192.0.2.0,192.0.2.255,ZZ,,,,
)";

class TravelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vigil-behave-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "geo.csv") << kGeoCsv;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string RuleFile() const { return (dir_ / "travel.yml").string(); }
  std::filesystem::path dir_;
};

const char kTravel[] = R"(title: Impossible travel
id: test-travel
detector: impossible_travel
log_type: cloudtrail
entity: userIdentity.arn
ip: sourceIPAddress
geoip: geo.csv
max_speed_kmh: 900
min_distance_km: 500
finding_type: UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B
where:
  eventName: ConsoleLogin
)";

std::string Login(const std::string& user, const std::string& ip) {
  return R"({"eventName":"ConsoleLogin","userIdentity":{"arn":"arn:aws:iam::1:user/)" + user +
         R"("},"sourceIPAddress":")" + ip + R"("})";
}

TEST_F(TravelTest, FiresWhenTwoPlacesAreTooFarApartForTheTime) {
  Harness h(kTravel, RuleFile());
  EXPECT_EQ(h.Feed("cloudtrail", Login("alice", "81.2.69.10"), kT0), 0u);
  // London -> Paris in 3 h (about 340 km): too close to judge.
  EXPECT_EQ(h.Feed("cloudtrail", Login("alice", "2.16.0.4"), kT0 + 3 * kHour), 0u);
  // Paris -> Sydney in 30 h (about 17,000 km, 565 km/h): possible.
  EXPECT_EQ(h.Feed("cloudtrail", Login("alice", "1.130.4.4"), kT0 + 33 * kHour), 0u);
  // An address outside the table, and one without coordinates: no location.
  EXPECT_EQ(h.Feed("cloudtrail", Login("alice", "203.0.113.1"), kT0 + 34 * kHour), 0u);
  EXPECT_EQ(h.Feed("cloudtrail", Login("alice", "192.0.2.1"), kT0 + 34 * kHour), 0u);
  EXPECT_EQ(h.detector().stats().no_location, 2u);
  h.Checkpoint();
  // Sydney -> Ashburn (IPv6) in 2 hours: impossible, after a restart.
  ASSERT_EQ(h.Feed("cloudtrail", Login("alice", "2001:db8:100::7"), kT0 + 35 * kHour), 1u);
  const Fired& f = h.fired.back();
  EXPECT_EQ(f.finding_type, "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B");
  EXPECT_NE(f.explanation.find("\"city\":\"Sydney\""), std::string::npos) << f.explanation;
  EXPECT_NE(f.explanation.find("\"city\":\"Ashburn\""), std::string::npos) << f.explanation;
  EXPECT_NE(f.explanation.find("\"distance_km\":15674"), std::string::npos) << f.explanation;
  // Another event type from far away is not a login.
  std::string other = Login("alice", "81.2.69.10");
  other.replace(other.find("ConsoleLogin"), 12, "GetObject");
  EXPECT_EQ(h.Feed("cloudtrail", other, kT0 + 35 * kHour), 0u);
}

TEST_F(TravelTest, MissingTableIsUnsupportedNotAnError) {
  RuleSet set;
  LintReport report;
  std::string rule = kTravel;
  rule.replace(rule.find("geo.csv"), 7, "absent.csv");
  set.AddRuleText(rule, RuleFile(), &report);
  ASSERT_EQ(report.unsupported.size(), 1u) << report.ToJson();
  EXPECT_NE(report.unsupported[0].reason.find("absent.csv"), std::string::npos);
  EXPECT_TRUE(report.errors.empty());
}

TEST(GeoIp, ParsesV4AndV6AndRejectsBadLines) {
  auto t = GeoIpTable::Parse(kGeoCsv);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->size(), 5u);
  auto g = (*t)->Lookup("81.2.69.255");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->country, "GB");
  EXPECT_EQ(g->asn, "AS20712");
  EXPECT_FALSE((*t)->Lookup("81.2.70.0"));
  EXPECT_FALSE((*t)->Lookup("not an ip"));
  g = (*t)->Lookup("2001:db8:1ff::1");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->city, "Ashburn");
  g = (*t)->Lookup("192.0.2.9");
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->has_coordinates);

  auto error = [](const std::string& csv) {
    auto r = GeoIpTable::Parse(csv);
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(error("1.0.0.0,1.0.0.255,AU\n").find("line 1: has 3 columns"), std::string::npos);
  EXPECT_NE(error("# c\n1.0.0.0,x,AU,,,,\n").find("line 2: end_ip 'x'"), std::string::npos);
  EXPECT_NE(error("1.0.0.9,1.0.0.1,AU,,,,\n").find("before start_ip"), std::string::npos);
  EXPECT_NE(error("1.0.0.0,::1,AU,,,,\n").find("address families"), std::string::npos);
  EXPECT_NE(error("1.0.0.0,1.0.0.9,AU,,,91,0\n").find("lat"), std::string::npos);
  EXPECT_NE(error("1.0.0.0,1.0.0.9,AU,,,1,\n").find("only one of lat and lon"), std::string::npos);
  EXPECT_NE(error("1.0.0.0,1.0.0.9,AU,,,,\n1.0.0.5,1.0.1.0,AU,,,,\n").find("overlap"), std::string::npos);
}

// A MaxMind DB (format 2.0, https://maxmind.github.io/MaxMind-DB/) written
// here: IPv6 tree with 24-bit records, IPv4 under ::/96 as MaxMind lays it
// out, and the data types a City or ASN database uses.
class MmdbWriter {
 public:
  // `prefix` bits of `addr` (16 bytes) lead to `data` (an encoded map).
  void Add(const std::array<uint8_t, 16>& addr, int prefix, const std::string& data) {
    const uint32_t at = static_cast<uint32_t>(data_.size());
    data_ += data;
    size_t node = 0;
    for (int bit = 0; bit < prefix; ++bit) {
      const int side = addr[bit / 8] >> (7 - bit % 8) & 1;
      if (bit + 1 == prefix) {
        nodes_[node][side] = -2 - static_cast<int64_t>(at);
        break;
      }
      if (nodes_[node][side] < 0) {
        nodes_[node][side] = static_cast<int64_t>(nodes_.size());
        nodes_.push_back({-1, -1});
      }
      node = static_cast<size_t>(nodes_[node][side]);
    }
  }
  static std::string Str(const std::string& v) { return std::string(1, static_cast<char>(2 << 5 | v.size())) + v; }
  static std::string Double(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    std::string out(1, static_cast<char>(3 << 5 | 8));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(bits >> (8 * i)));
    return out;
  }
  static std::string Uint(int type, uint64_t v, int bytes) {  // 5 uint16, 6 uint32, 9 uint64
    std::string out;
    if (type <= 7) {
      out.push_back(static_cast<char>(type << 5 | bytes));
    } else {
      out.push_back(static_cast<char>(bytes));
      out.push_back(static_cast<char>(type - 7));
    }
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
    return out;
  }
  static std::string Map(const std::vector<std::pair<std::string, std::string>>& kv) {
    std::string out(1, static_cast<char>(7 << 5 | kv.size()));
    for (const auto& [k, v] : kv) out += Str(k) + v;
    return out;
  }
  std::string Bytes() const {
    const uint64_t count = nodes_.size();
    std::string out;
    auto rec = [&](int64_t r) {
      const uint64_t v = r == -1 ? count : r >= 0 ? static_cast<uint64_t>(r) : count + 16 + static_cast<uint64_t>(-2 - r);
      for (int i = 2; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
    };
    for (const auto& n : nodes_) {
      rec(n[0]);
      rec(n[1]);
    }
    out += std::string(16, '\0') + data_ + "\xAB\xCD\xEFMaxMind.com";
    std::string langs(1, static_cast<char>(1));  // array of 1 (extended type 11)
    langs.push_back(static_cast<char>(11 - 7));
    langs += Str("en");
    out += Map({{"binary_format_major_version", Uint(5, 2, 1)},
                {"binary_format_minor_version", Uint(5, 0, 1)},
                {"build_epoch", Uint(9, 1700000000, 4)},
                {"database_type", Str("vigil-Test-City")},
                {"description", Map({{"en", Str("test")}})},
                {"ip_version", Uint(5, 6, 1)},
                {"languages", langs},
                {"node_count", Uint(6, count, 2)},
                {"record_size", Uint(5, 24, 1)}});
    return out;
  }

 private:
  std::vector<std::array<int64_t, 2>> nodes_{{-1, -1}};  // -1 empty, >= 0 node, <= -2 data at -2 - r
  std::string data_;
};

std::array<uint8_t, 16> V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {  // ::a.b.c.d
  std::array<uint8_t, 16> x{};
  x[12] = a, x[13] = b, x[14] = c, x[15] = d;
  return x;
}

TEST(GeoIp, ReadsAMaxMindDatabase) {
  using W = MmdbWriter;
  W w;
  w.Add(V4(81, 2, 69, 0), 96 + 24,
        W::Map({{"city", W::Map({{"names", W::Map({{"en", W::Str("London")}})}})},
                {"country", W::Map({{"iso_code", W::Str("GB")}})},
                {"location", W::Map({{"latitude", W::Double(51.5142)}, {"longitude", W::Double(-0.0931)}})}}));
  w.Add(V4(203, 0, 113, 0), 96 + 25,
        W::Map({{"country", W::Map({{"iso_code", W::Str("JP")}})},
                {"location", W::Map({{"latitude", W::Double(35.6895)}, {"longitude", W::Double(139.6917)}})}}));
  std::array<uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
  w.Add(v6, 32, W::Map({{"autonomous_system_number", W::Uint(6, 64496, 2)}, {"country", W::Map({{"iso_code", W::Str("DE")}})}}));
  const auto dir = std::filesystem::temp_directory_path() / ("vigil-mmdb-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "test-city.mmdb").string();
  std::ofstream(path, std::ios::binary) << w.Bytes();

  auto t = GeoIpTable::Load(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE((*t)->is_maxmind());
  auto g = (*t)->Lookup("81.2.69.160");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->country, "GB");
  EXPECT_EQ(g->city, "London");
  ASSERT_TRUE(g->has_coordinates);
  EXPECT_NEAR(g->lat, 51.5142, 1e-9);
  EXPECT_NEAR(g->lon, -0.0931, 1e-9);
  g = (*t)->Lookup("203.0.113.127");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->country, "JP");
  EXPECT_TRUE(g->city.empty());
  EXPECT_FALSE((*t)->Lookup("203.0.113.128"));  // outside the /25
  EXPECT_FALSE((*t)->Lookup("81.2.70.1"));
  g = (*t)->Lookup("2001:db8::7");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->asn, "AS64496");
  EXPECT_FALSE(g->has_coordinates);

  // Impossible travel on the MaxMind table: London, then Tokyo an hour later.
  std::string rule = kTravel;
  rule.replace(rule.find("geoip: geo.csv"), 14, "geoip: " + path);
  RuleSet set;
  LintReport report;
  set.AddRuleText(rule, (dir / "t.yml").string(), &report);
  ASSERT_TRUE(report.errors.empty() && report.unsupported.empty()) << report.ToJson();
  BehaviourDetector d(set.SharedBehaviours());
  size_t fired = 0;
  auto login = [&](const std::string& ip, int64_t t_s) {
    Event e = MakeEvent("cloudtrail", R"({"eventName":"ConsoleLogin","userIdentity":{"arn":"arn:aws:iam::1:user/alice"},"sourceIPAddress":")" + ip + R"(","responseElements":{"ConsoleLogin":"Success"}})", t_s);
    d.Process(e, [&](const Event&, const Match&) { ++fired; });
  };
  login("81.2.69.10", kT0);
  login("203.0.113.5", kT0 + 3600);
  EXPECT_EQ(fired, 1u);

  // Not a MaxMind DB: a clear error naming the file.
  const std::string bad = (dir / "bad.mmdb").string();
  std::ofstream(bad, std::ios::binary) << "not a database";
  auto b = GeoIpTable::Load(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("bad.mmdb"), std::string::npos) << b.status().ToString();
  std::filesystem::remove_all(dir);
}

TEST(BehaviourRules, BadRulesSayWhatIsWrong) {
  auto error = [](const std::string& yaml) {
    RuleSet set;
    LintReport report;
    set.AddRuleText(yaml, "x.yml", &report);
    return report.errors.empty() ? std::string() : report.errors[0].reason;
  };
  const std::string head = "title: t\nid: x\nlog_type: cloudtrail\nentity: a\nfinding_type: T:A/B\n";
  EXPECT_NE(error(head + "detector: sometimes\n").find("not a behavioural detector"), std::string::npos);
  EXPECT_NE(error(head + "detector: new_term\n").find("`values` is required"), std::string::npos);
  EXPECT_NE(error(head + "detector: new_term\nvalues: b\nwindow: 5m\nprecision: 9\n").find("unknown key `precision`"),
            std::string::npos);
  EXPECT_NE(error(head + "detector: new_term\nvalues: b\nlearning_period: soon\n").find("learning_period"),
            std::string::npos);
  EXPECT_NE(error(head + "detector: distinct_count\nvalues: b\nwindow: 1m\n").find("`threshold` is required"),
            std::string::npos);
  EXPECT_NE(error(head + "detector: new_term\nvalues: b|shout\n").find("unknown transform 'shout'"), std::string::npos);
  EXPECT_NE(error(head + "detector: new_term\nvalues: b\nwhere: {c|cidr: nonsense}\n").find("not a CIDR"),
            std::string::npos);
  EXPECT_NE(error(head + "detector: new_term\nvalues: b|country\n").find("`geoip:`"), std::string::npos);
  EXPECT_NE(error(head + "detector: rarity\nvalues: b\nmax_percent: 120\n").find("max_percent"), std::string::npos);
  EXPECT_NE(error("title: t\nid: x\ndetector: volume\nentity: a\nlog_type: vpcflow\n").find("finding_type"),
            std::string::npos);
  // Ids are shared with Sigma rules.
  RuleSet set;
  LintReport report;
  set.AddRuleText("title: s\nid: x\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s: {a: 1}\n  "
                  "condition: s\n",
                  "s.yml", &report);
  set.AddRuleText(head + "detector: new_term\nvalues: b\n", "b.yml", &report);
  ASSERT_EQ(report.errors.size(), 1u) << report.ToJson();
  EXPECT_NE(report.errors[0].reason.find("duplicate rule id x (first defined in s.yml)"), std::string::npos);
  EXPECT_NE(report.ToJson().find("\"behaviours\":0"), std::string::npos);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// Conditions are decided once per distinct value a field had lately (a
// memo of recent values per field): over many more distinct principals and
// API names than it holds, and with values recurring, every event is decided
// as matching it afresh decides it.
TEST(BehaviourConditions, DecidedAlikeForRecurringAndManyValues) {
  Harness h(R"(title: new read API for a principal
id: test-memo
detector: new_term
log_type: cloudtrail
entity: userIdentity.arn
values: eventName
learning_period: 1d
finding_type: Discovery:IAMUser/AnomalousBehavior
level: low
where:
  eventName: ["Get*", "describe*"]
unless:
  userIdentity.arn: "*:assumed-role/AWSServiceRole*"
)");
  auto arn = [](int p) {
    return p % 5 == 0 ? "arn:aws:sts::1:assumed-role/AWSServiceRoleForX/s" + std::to_string(p)
                      : "arn:aws:iam::1:user/u" + std::to_string(p);
  };
  auto api = [](int k) {
    static const char* kVerbs[] = {"Get", "List", "Describe", "Put"};
    return kVerbs[k % 4] + std::string("Thing") + std::to_string(k % 300);
  };
  constexpr int kPrincipals = 600;
  for (int p = 0; p < kPrincipals; ++p) h.Feed("cloudtrail", Call(arn(p), "Start"), kT0);  // histories begin
  std::set<std::pair<int, std::string>> seen;
  size_t expected = 0, got = 0;
  for (int i = 0; i < 4000; ++i) {
    const int p = (i * 7919) % kPrincipals;
    const std::string name = api(i * 31 + p);
    const bool selected = name.rfind("Get", 0) == 0 || name.rfind("Describe", 0) == 0;
    if (selected && p % 5 != 0 && seen.insert({p, name}).second) ++expected;
    got += h.Feed("cloudtrail", Call(arn(p), name), kT0 + 2 * kDay + i);
  }
  EXPECT_GT(expected, 400u);
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace vigil
