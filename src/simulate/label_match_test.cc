// Matching alerts to labelled attacks: an alert counts for a label when it
// names the label's entity by any of its names and falls in its window.
#include "simulate/label_match.h"

#include <gtest/gtest.h>

#include "simulate/sim_common.h"

namespace vigil::sim {
namespace {

struct SimRun {
  std::unique_ptr<Simulator> sim;
  std::vector<AttackLabel> labels;
};

SimRun Simulate(const std::vector<std::string>& attacks) {
  SimulateOptions o;
  o.days = 2;
  o.principals = 8;
  o.events_per_day = 800;
  o.attacks = attacks;
  auto sim = Simulator::Create(o);
  EXPECT_TRUE(sim.ok()) << sim.status().ToString();
  Status st = (*sim)->Run([](int, std::vector<SimRecord>&) { return Status::Ok(); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  SimRun r;
  r.labels = (*sim)->summary().labels;
  r.sim = std::move(*sim);
  return r;
}

const AttackLabel* Find(const std::vector<AttackLabel>& labels, const std::string& scenario) {
  for (const AttackLabel& l : labels)
    if (l.scenario == scenario) return &l;
  return nullptr;
}

TEST(ContainsWordTest, WholeNamesOnly) {
  EXPECT_TRUE(ContainsWord("10.10.48.15", "10.10.48.15"));
  EXPECT_TRUE(ContainsWord("10.10.48.15, static-img-cache.org", "10.10.48.15"));
  EXPECT_TRUE(ContainsWord("arn:aws:sts::1:assumed-role/app-api/i-03a7", "i-03a7"));
  EXPECT_FALSE(ContainsWord("10.10.48.15", "10.10.48.1"));
  EXPECT_FALSE(ContainsWord("110.10.48.15", "10.10.48.15"));
  EXPECT_FALSE(ContainsWord("arn:aws:iam::1:user/bob.taylor2", "arn:aws:iam::1:user/bob.taylor"));
  EXPECT_TRUE(ContainsWord("x 10.0.0.1 y 10.0.0.12", "10.0.0.12"));
  EXPECT_TRUE(ContainsWord("10.0.0.12 then 10.0.0.1", "10.0.0.1")) << "a later occurrence counts";
  EXPECT_FALSE(ContainsWord("anything", ""));
}

TEST(LabelMatcherTest, InstanceLabelsMatchItsAddressesAndEni) {
  SimRun run = Simulate({"c2-beaconing"});
  const AttackLabel* l = Find(run.labels, "c2-beaconing");
  ASSERT_NE(l, nullptr);
  ASSERT_EQ(l->entity_type, "instance");
  auto m = LabelMatcher::FromOrgJson(run.sim->OrgJson());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const std::vector<std::string> names = m->EntityNames(*l);
  ASSERT_GE(names.size(), 3u) << "id, ENI and private address";
  EXPECT_EQ(names[0], l->entity);
  std::string eni, ip;
  for (const std::string& n : names) {
    if (n.rfind("eni-", 0) == 0) eni = n;
    if (n.rfind("10.", 0) == 0) ip = n;
  }
  ASSERT_FALSE(eni.empty());
  ASSERT_FALSE(ip.empty());
  // The org file says so too.
  const std::string org = run.sim->OrgJson();
  EXPECT_NE(org.find("\"eni\":\"" + eni + "\""), std::string::npos);

  const int64_t mid = (l->start_ns + l->end_ns) / 2;
  EXPECT_TRUE(m->Matches(*l, ip, mid, mid));
  EXPECT_TRUE(m->Matches(*l, ip + ", c2.example", l->start_ns, l->end_ns)) << "composite entity";
  EXPECT_TRUE(m->Matches(*l, eni, mid, mid));
  EXPECT_TRUE(m->Matches(*l, "arn:aws:sts::1:assumed-role/app/" + l->entity, mid, mid)) << "session named after it";
  EXPECT_FALSE(m->Matches(*l, ip + "9", mid, mid)) << "another address sharing a prefix";
  EXPECT_FALSE(m->Matches(*l, "10.99.99.99", mid, mid));
  // Time: an alert that ended before the attack, or began well after it, is
  // about something else; one within the slack after the end still counts.
  EXPECT_FALSE(m->Matches(*l, ip, l->start_ns - 2 * kHour, l->start_ns - kSecond));
  EXPECT_TRUE(m->Matches(*l, ip, l->end_ns + m->slack_ns - kSecond, l->end_ns + m->slack_ns));
  EXPECT_FALSE(m->Matches(*l, ip, l->end_ns + m->slack_ns + kSecond, l->end_ns + 2 * m->slack_ns));
  EXPECT_TRUE(m->Matches(*l, ip, l->start_ns - kHour, l->start_ns)) << "a rollup that began before and ran into it";
}

TEST(LabelMatcherTest, PrincipalLabelsMatchTheArn) {
  SimRun run = Simulate({"trail-stopped"});
  const AttackLabel* l = Find(run.labels, "trail-stopped");
  ASSERT_NE(l, nullptr);
  ASSERT_EQ(l->entity_type, "principal");
  auto m = LabelMatcher::FromOrgJson(run.sim->OrgJson());
  ASSERT_TRUE(m.ok());
  // The ARN first, then the user's access key id and its (unshared) name.
  const std::vector<std::string> names = m->EntityNames(*l);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], l->entity);
  EXPECT_EQ(names[1].rfind("AKIA", 0), 0u) << names[1];
  EXPECT_EQ(names[2], l->entity.substr(l->entity.rfind('/') + 1));
  EXPECT_TRUE(m->Matches(*l, l->entity, l->start_ns, l->end_ns));
  EXPECT_TRUE(m->Matches(*l, names[1], l->start_ns, l->end_ns));
  EXPECT_FALSE(m->Matches(*l, l->entity + "2", l->start_ns, l->end_ns));
}

TEST(LabelMatcherTest, BadOrgJsonIsAnError) {
  auto bad = LabelMatcher::FromOrgJson("{\"instances\": [");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("org.json"), std::string::npos);
  EXPECT_FALSE(LabelMatcher::FromOrgJson("{\"accounts\": []}").ok());
  auto no_id = LabelMatcher::FromOrgJson("{\"instances\": [{\"eni\": \"eni-1\"}]}");
  ASSERT_FALSE(no_id.ok());
  EXPECT_NE(no_id.status().message().find("instance 1"), std::string::npos);
}

}  // namespace
}  // namespace vigil::sim
