#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <random>
#include <unordered_map>

#include "alert/fold.h"
#include "alert/metadata.h"
#include "common/time.h"

namespace vigil {
namespace {

constexpr int64_t kHour = 3600 * kNanosPerSecond;
const int64_t kT0 = DaysFromCivil(2024, 7, 31) * 24 * kHour;

class MetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil_meta_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::unique_ptr<MetadataStore> Open(const std::string& name = "meta.db") {
    auto m = OpenSqliteMetadata(dir_ + "/" + name);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return std::move(m).value();
  }
  std::string dir_;
};

AlertHit Hit(const std::string& rule, const std::string& entity, int64_t t, const std::string& event_id,
             const std::string& severity = "high") {
  AlertHit h;
  h.rule_id = rule;
  h.title = "Title of " + rule;
  h.severity = severity;
  h.tags = {"attack.t1078", "quote\"tag"};
  h.entity = entity;
  h.finding_type = "TTPs/Initial Access";
  h.rollup_window_ns = kHour;
  h.event_time_ns = t;
  h.event_id = event_id;
  return h;
}

// Folds `hits` and commits them in one transaction.
Result<size_t> Apply(MetadataStore* m, const std::vector<AlertHit>& hits) {
  AlertFold fold;
  for (const AlertHit& h : hits) fold.Add(h);
  MetadataCommit c;
  c.alerts = &fold;
  return m->Commit(c);
}

// Writes one state blob in a commit of its own.
Status PutState(MetadataStore* m, const std::string& key, const std::string& value) {
  MetadataCommit c;
  c.put_state.emplace_back(key, value);
  return m->Commit(c).status();
}

std::vector<Alert> All(MetadataStore* m) {
  auto alerts = m->ListAlerts({});
  EXPECT_TRUE(alerts.ok()) << alerts.status().ToString();
  return std::move(alerts).value();
}

void ExpectSameAlerts(const std::vector<Alert>& a, const std::vector<Alert>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(a[i].id);
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].rule_id, b[i].rule_id);
    EXPECT_EQ(a[i].title, b[i].title);
    EXPECT_EQ(a[i].severity, b[i].severity);
    EXPECT_EQ(a[i].tags, b[i].tags);
    EXPECT_EQ(a[i].entity, b[i].entity);
    EXPECT_EQ(a[i].bucket_start_ns, b[i].bucket_start_ns);
    EXPECT_EQ(a[i].first_seen_ns, b[i].first_seen_ns);
    EXPECT_EQ(a[i].last_seen_ns, b[i].last_seen_ns);
    EXPECT_EQ(a[i].count, b[i].count);
    EXPECT_EQ(a[i].event_ids, b[i].event_ids);
    EXPECT_EQ(a[i].truncated, b[i].truncated);
    EXPECT_EQ(a[i].finding_type, b[i].finding_type);
  }
}

TEST(AlertRollupTest, BucketsAreEpochAligned) {
  EXPECT_EQ(AlertBucketStart(kT0 + kHour - 1, kHour), kT0);
  EXPECT_EQ(AlertBucketStart(kT0 + kHour, kHour), kT0 + kHour);
  EXPECT_EQ(AlertBucketStart(kT0 + 90 * 60 * kNanosPerSecond, 2 * kHour), kT0);
  EXPECT_EQ(AlertBucketStart(-1, kHour), -kHour);  // floor, not truncation
  EXPECT_EQ(AlertBucketStart(-kHour, kHour), -kHour);
  EXPECT_EQ(AlertBucketStart(kT0 + 5, 0), 0);
  EXPECT_EQ(AlertId("r", "e", 0).size(), 32u);
  EXPECT_NE(AlertId("r", "e1", 0), AlertId("r1", "e", 0));  // no ambiguity from concatenation
  EXPECT_NE(AlertId("r", "e", 0), AlertId("r", "e", kHour));
}

// Live matches: an event's matches come together; the same alert hit twice by
// one event counts once, and a reused Event object holding the next event is
// a new event.
TEST(AlertFoldTest, EventMatchesCountOncePerEventAndKeepSmallestIds) {
  AlertFold fold;
  Event e;
  e.principal = "alice";
  Match m;
  m.rule_id = "r1";
  m.title = "T";
  m.severity = "high";
  m.rollup_window_ns = kHour;
  e.id = "e2";
  e.time_ns = kT0 + 5;
  fold.Add(e, m);
  fold.Add(e, m);
  e.id = "e1";
  e.time_ns = kT0 + 5;
  fold.Add(e, m);
  e.id = "e0";
  e.time_ns = kT0 + 9;
  fold.Add(e, m);
  ASSERT_EQ(fold.size(), 1u);
  const AlertDelta& d = fold.deltas()[0];
  EXPECT_EQ(d.count, 3u);
  EXPECT_EQ(d.first_seen_ns, kT0 + 5);
  EXPECT_EQ(d.last_seen_ns, kT0 + 9);
  auto ids = fold.SortedEventIds(d);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0].second, "e1");  // (time, id) order
  EXPECT_EQ(ids[1].second, "e2");
  EXPECT_EQ(ids[2].second, "e0");
  EXPECT_EQ(d.id(), AlertId("r1", "alice", kT0));
}

TEST_F(MetadataTest, RollsUpPerRuleEntityAndBucket) {
  auto m = Open();
  std::vector<AlertHit> hits = {
      Hit("r1", "alice", kT0 + 10, "e1"),
      Hit("r1", "alice", kT0 + kHour - 1, "e2"),  // same bucket
      Hit("r1", "alice", kT0 + kHour, "e3"),      // next bucket
      Hit("r1", "bob", kT0 + 10, "e4"),
      Hit("r2", "alice", kT0 + 10, "e5", "low"),
  };
  auto n = Apply(m.get(), hits);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 4u);
  auto alerts = All(m.get());
  ASSERT_EQ(alerts.size(), 4u);
  // severity desc, then last_seen desc
  EXPECT_EQ(alerts[0].entity, "alice");
  EXPECT_EQ(alerts[0].bucket_start_ns, kT0 + kHour);
  EXPECT_EQ(alerts[3].rule_id, "r2");
  const Alert& a = *std::find_if(alerts.begin(), alerts.end(), [](const Alert& x) {
    return x.entity == "alice" && x.rule_id == "r1" && x.bucket_start_ns == kT0;
  });
  EXPECT_EQ(a.id, AlertId("r1", "alice", kT0));
  EXPECT_EQ(a.count, 2u);
  EXPECT_EQ(a.first_seen_ns, kT0 + 10);
  EXPECT_EQ(a.last_seen_ns, kT0 + kHour - 1);
  EXPECT_EQ(a.event_ids, (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(a.tags, (std::vector<std::string>{"attack.t1078", "quote\"tag"}));
  EXPECT_EQ(a.title, "Title of r1");
  EXPECT_EQ(a.finding_type, "TTPs/Initial Access");
  EXPECT_FALSE(a.truncated);
}

TEST_F(MetadataTest, AnEventCountsOncePerFoldAndCommitsAddUp) {
  auto m = Open();
  std::vector<AlertHit> hits;
  for (int i = 0; i < 50; ++i) hits.push_back(Hit("r1", "alice", kT0 + i, "e" + std::to_string(i)));
  std::vector<AlertHit> twice = hits;
  twice.insert(twice.end(), hits.begin(), hits.end());
  ASSERT_TRUE(Apply(m.get(), twice).ok());
  auto alerts = All(m.get());
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, 50u);
  EXPECT_EQ(alerts[0].event_ids.size(), 50u);
  // Commits are additive: the pipeline folds each stored event once.
  std::vector<AlertHit> more;
  for (int i = 50; i < 80; ++i) more.push_back(Hit("r1", "alice", kT0 + i, "e" + std::to_string(i)));
  m.reset();
  m = Open();
  ASSERT_TRUE(Apply(m.get(), more).ok());
  alerts = All(m.get());
  EXPECT_EQ(alerts[0].count, 80u);
  EXPECT_EQ(alerts[0].first_seen_ns, kT0);
  EXPECT_EQ(alerts[0].last_seen_ns, kT0 + 79);
}

// Splitting events into commits, in any order, gives the same alerts as one
// commit; repeated hits of one event in one fold count once.
TEST_F(MetadataTest, OrderIndependent) {
  std::mt19937 rng(1);
  const char* sevs[] = {"low", "medium", "high", "critical", "bogus"};
  // An event id always comes with the same event time; its hits stay together.
  std::vector<std::vector<AlertHit>> by_event(1800);
  std::vector<AlertHit> hits;
  for (int i = 0; i < 2500; ++i) {
    size_t ev = rng() % by_event.size();
    int64_t t = kT0 + static_cast<int64_t>((ev * 7919) % 10800) * kNanosPerSecond;
    AlertHit h = Hit(i % 3 == 0 ? "r1" : "r2", i % 2 ? "alice" : "bob", t, "ev" + std::to_string(ev), sevs[rng() % 5]);
    if (rng() % 4 == 0) h.title = "Variant " + std::to_string(rng() % 3);
    if (rng() % 3 == 0) h.match = "{\"why\":" + std::to_string(rng() % 4) + "}";
    by_event[ev].push_back(h);
    hits.push_back(h);
  }
  auto first = Open("a.db");
  ASSERT_TRUE(Apply(first.get(), hits).ok());
  auto expected = All(first.get());
  ASSERT_GT(expected.size(), 6u);
  for (int round = 0; round < 3; ++round) {
    std::shuffle(by_event.begin(), by_event.end(), rng);
    auto m = Open("b" + std::to_string(round) + ".db");
    // In uneven commits, as ingest runs would deliver them.
    for (size_t i = 0; i < by_event.size();) {
      size_t n = std::min(by_event.size() - i, static_cast<size_t>(1 + rng() % 500));
      std::vector<AlertHit> batch;
      for (size_t j = i; j < i + n; ++j) {
        std::shuffle(by_event[j].begin(), by_event[j].end(), rng);
        batch.insert(batch.end(), by_event[j].begin(), by_event[j].end());
      }
      ASSERT_TRUE(Apply(m.get(), batch).ok());
      i += n;
    }
    auto got = All(m.get());
    ExpectSameAlerts(expected, got);
    for (size_t i = 0; i < got.size() && i < expected.size(); ++i) EXPECT_EQ(got[i].match, expected[i].match);
  }
}

// Busy alerts hit by many commits, as `vigil serve` commits them every
// second or so, list exactly as after one commit: the stored lists are merged
// as they are stored (packed ids beside ids kept as text), and many ids share
// an event time, so their order comes down to the ids themselves.
TEST_F(MetadataTest, ManyCommitsOnTheSameAlertsListAsOne) {
  std::mt19937 rng(7);
  auto hex = [&](int digits) {
    std::string s;
    for (int i = 0; i < digits; ++i) s.push_back("0123456789abcdef"[rng() % 16]);
    return s;
  };
  std::vector<AlertHit> hits;
  for (int i = 0; i < 9000; ++i) {
    std::string id;
    switch (rng() % 4) {
      case 0: id = hex(8) + "-" + hex(4) + "-" + hex(4) + "-" + hex(4) + "-" + hex(12); break;  // packed UUID
      case 1: id = hex(32); break;                                                              // packed hex
      case 2: id = hex(8) + "-" + hex(4) + "-4" + hex(3) + "-" + hex(4) + "-" + hex(11) + "G"; break;  // text
      default: id = "e" + std::to_string(i); break;                                            // text
    }
    // 40 distinct times within one bucket: most ids share theirs with others.
    const int64_t t = kT0 + static_cast<int64_t>(rng() % 40) * kNanosPerSecond;
    // Two rules on three entities: six alerts, each past 1,000 events.
    AlertHit h = Hit(i % 2 == 0 ? "r1" : "r2", "user" + std::to_string(rng() % 3), t, id);
    if (rng() % 5 == 0) h.match = "{\"why\":" + std::to_string(rng() % 7) + "}";
    hits.push_back(h);
  }
  auto one = Open("one.db");
  ASSERT_TRUE(Apply(one.get(), hits).ok());
  const std::vector<Alert> expected = All(one.get());
  ASSERT_EQ(expected.size(), 6u);
  for (const Alert& a : expected) {
    EXPECT_TRUE(a.truncated);
    EXPECT_EQ(a.event_ids.size(), kMaxAlertEventIds);
  }
  // The same hits in 60 commits of uneven size, in time order and shuffled:
  // lists are filled, then merged with ids earlier than, equal to and later
  // than their last.
  for (bool shuffled : {false, true}) {
    SCOPED_TRACE(shuffled ? "shuffled" : "in time order");
    std::vector<AlertHit> order = hits;
    if (shuffled) {
      std::shuffle(order.begin(), order.end(), rng);
    } else {
      std::stable_sort(order.begin(), order.end(),
                       [](const AlertHit& a, const AlertHit& b) { return a.event_time_ns < b.event_time_ns; });
    }
    auto many = Open(shuffled ? "shuffled.db" : "ordered.db");
    for (size_t i = 0; i < order.size();) {
      const size_t n = std::min(order.size() - i, static_cast<size_t>(1 + rng() % 200));
      ASSERT_TRUE(Apply(many.get(), std::vector<AlertHit>(order.begin() + i, order.begin() + i + n)).ok());
      i += n;
    }
    const std::vector<Alert> got = All(many.get());
    ExpectSameAlerts(expected, got);
    for (size_t i = 0; i < got.size() && i < expected.size(); ++i) EXPECT_EQ(got[i].match, expected[i].match);
  }
}

TEST_F(MetadataTest, KeepsEarliestThousandEventIdsAndFlagsTruncation) {
  std::vector<AlertHit> hits;
  for (int i = 0; i < 1500; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "e%04d", i);
    hits.push_back(Hit("r1", "alice", kT0 + (i / 2), id));  // pairs share a time: ordered by id
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 1000; ++i) expected.push_back(hits[i].event_id);
  std::mt19937 rng(3);
  std::shuffle(hits.begin(), hits.end(), rng);
  auto m = Open();
  ASSERT_TRUE(Apply(m.get(), hits).ok());
  auto alerts = All(m.get());
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, 1500u);
  EXPECT_TRUE(alerts[0].truncated);
  EXPECT_EQ(alerts[0].event_ids, expected);
  // The same events over three commits keep the same ids.
  auto split = Open("split.db");
  for (size_t i = 0; i < hits.size(); i += 500)
    ASSERT_TRUE(Apply(split.get(), std::vector<AlertHit>(hits.begin() + i, hits.begin() + i + 500)).ok());
  auto parts = All(split.get());
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].count, 1500u);
  EXPECT_EQ(parts[0].event_ids, expected);

  auto exact = Open("exact.db");
  hits.resize(0);
  for (int i = 0; i < 1000; ++i) hits.push_back(Hit("r1", "alice", kT0 + i, "x" + std::to_string(i)));
  ASSERT_TRUE(Apply(exact.get(), hits).ok());
  auto one = All(exact.get());
  EXPECT_EQ(one[0].count, 1000u);
  EXPECT_FALSE(one[0].truncated);
  EXPECT_EQ(one[0].event_ids.size(), 1000u);
}

// Event ids of every form come back as they went in: the store packs
// lower-case UUIDs and 32-digit hex ids into 16 bytes and keeps the rest as
// text.
TEST_F(MetadataTest, EventIdsOfEveryFormRoundTrip) {
  const std::vector<std::string> ids = {
      "1fb8c94b-c3b8-410c-a251-69f476251c78",   // CloudTrail eventID
      "1FB8C94B-C3B8-410C-A251-69F476251C78",   // upper case: kept as text
      "0123456789abcdef0123456789abcdef",       // vigil's own hash ids
      "0123456789abcdef0123456789abcdeg",       // not hex
      "1fb8c94b-c3b8-410c-a251_69f476251c78",   // not a UUID
      "e1", "x", std::string(300, 'z'), "caf\xc3\xa9"};
  std::vector<AlertHit> hits;
  std::vector<std::string> expected;
  for (size_t i = 0; i < ids.size(); ++i) {
    // Times far apart and out of order exercise the signed time deltas.
    const int64_t t = kT0 + kHour / 2 + (i % 2 == 0 ? 1 : -1) * static_cast<int64_t>(i) * 1'000'000'007;
    hits.push_back(Hit("r1", "alice", t, ids[i]));
  }
  std::vector<std::pair<int64_t, std::string>> order;
  for (const AlertHit& h : hits) order.emplace_back(h.event_time_ns, h.event_id);
  std::sort(order.begin(), order.end());
  for (const auto& [t, id] : order) expected.push_back(id);
  auto m = Open();
  // Over two commits, so the second merges with the stored list.
  ASSERT_TRUE(Apply(m.get(), std::vector<AlertHit>(hits.begin(), hits.begin() + 4)).ok());
  ASSERT_TRUE(Apply(m.get(), std::vector<AlertHit>(hits.begin() + 4, hits.end())).ok());
  auto alerts = All(m.get());
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, ids.size());
  EXPECT_EQ(alerts[0].event_ids, expected);
}

TEST_F(MetadataTest, ListFilters) {
  auto m = Open();
  ASSERT_TRUE(Apply(m.get(), {Hit("r1", "a", kT0, "1", "low"), Hit("r2", "a", kT0 + 2 * kHour, "2", "critical"),
                         Hit("r3", "a", kT0 + 5 * kHour, "3", "medium")})
                  .ok());
  AlertQuery q;
  q.min_severity = "medium";
  auto r = m->ListAlerts(q);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].rule_id, "r2");
  EXPECT_EQ((*r)[1].rule_id, "r3");
  q = {};
  q.from_ns = kT0 + kHour;
  q.to_ns = kT0 + 3 * kHour;
  r = m->ListAlerts(q);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].rule_id, "r2");
  q = {};
  q.rule_id = "r3";
  EXPECT_EQ(m->ListAlerts(q)->size(), 1u);
  q = {};
  q.limit = 2;
  EXPECT_EQ(m->ListAlerts(q)->size(), 2u);
  q = {};
  q.min_severity = "severe";
  EXPECT_EQ(m->ListAlerts(q).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(MetadataTest, CommitAppliesAlertsAndStateTogether) {
  auto m = Open();
  ASSERT_TRUE(PutState(m.get(), "gone", "x").ok());
  AlertFold fold;
  fold.Add(Hit("r1", "a", kT0, "1"));
  MetadataCommit c;
  c.alerts = &fold;
  c.put_state = {{"k1", "v1"}, {"k2", std::string("a\0b", 3)}};
  c.delete_state = {"gone"};
  auto n = m->Commit(c);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(**m->GetState("k1"), "v1");
  EXPECT_EQ(**m->GetState("k2"), std::string("a\0b", 3));
  EXPECT_FALSE(m->GetState("gone")->has_value());
  EXPECT_EQ(All(m.get()).size(), 1u);
}

// A version-1 database (every event id kept per alert) is migrated in place.
TEST_F(MetadataTest, MigratesSchemaVersion1) {
  std::string path = dir_ + "/v1.db";
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string sql = R"sql(
CREATE TABLE alerts (id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, title TEXT NOT NULL, severity TEXT NOT NULL,
  severity_rank INTEGER NOT NULL, tags TEXT NOT NULL, entity TEXT NOT NULL, bucket_start_ns INTEGER NOT NULL,
  first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL, count INTEGER NOT NULL,
  finding_type TEXT NOT NULL, match TEXT NOT NULL DEFAULT '');
CREATE INDEX alerts_by_priority ON alerts (severity_rank DESC, last_seen_ns DESC);
CREATE INDEX alerts_by_rule ON alerts (rule_id, last_seen_ns);
CREATE TABLE alert_events (alert_id TEXT NOT NULL, event_id TEXT NOT NULL, time_ns INTEGER NOT NULL,
  PRIMARY KEY (alert_id, event_id)) WITHOUT ROWID;
CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
INSERT INTO alerts VALUES (')sql" + AlertId("r1", "alice", 0) + R"sql(', 'r1', 'T', 'high', 3, '[]', 'alice', 0, 1, 1500,
  1500, '', '');
PRAGMA user_version = 1;
BEGIN;
)sql";
  for (int i = 0; i < 1500; ++i) {
    char row[160];
    std::snprintf(row, sizeof row, "INSERT INTO alert_events VALUES ('%s', 'e%04d', %d);",
                  AlertId("r1", "alice", 0).c_str(), 1499 - i, 1500 - i);
    sql += row;
  }
  sql += "COMMIT;";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto m = OpenSqliteMetadata(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto alerts = All(m->get());
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].count, 1500u);
  ASSERT_EQ(alerts[0].event_ids.size(), 1000u);
  EXPECT_EQ(alerts[0].event_ids.front(), "e0000");
  EXPECT_EQ(alerts[0].event_ids.back(), "e0999");
  // The migrated list is known to be full: a later event counts without
  // entering it, an earlier one enters and pushes the last out.
  const AlertHit later = Hit("r1", "alice", 5000, "late");
  const AlertHit earlier = Hit("r1", "alice", 0, "early");
  ASSERT_TRUE(Apply(m->get(), {later}).ok());
  alerts = All(m->get());
  EXPECT_EQ(alerts[0].count, 1501u);
  EXPECT_EQ(alerts[0].event_ids.back(), "e0999");
  ASSERT_TRUE(Apply(m->get(), {earlier}).ok());
  alerts = All(m->get());
  EXPECT_EQ(alerts[0].count, 1502u);
  ASSERT_EQ(alerts[0].event_ids.size(), 1000u);
  EXPECT_EQ(alerts[0].event_ids.front(), "early");
  EXPECT_EQ(alerts[0].event_ids.back(), "e0998");
  m->reset();
  // Version 3 dropped the per-rule index.
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = 'alerts_by_rule'", -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

// Alerts whose row numbers (bucket, 32 bits of the id) coincide are stored
// apart and each is found again by later commits.
TEST_F(MetadataTest, AlertsSharingARowNumberStayApart) {
  // Two entities whose alert ids share hex digits 8..15 (the row number's
  // low half) in the same bucket: a birthday search over a few hundred
  // thousand ids.
  std::unordered_map<std::string, std::string> seen;
  std::string a, b;
  for (int i = 0; a.empty(); ++i) {
    ASSERT_LT(i, 2000000);
    const std::string entity = "user" + std::to_string(i);
    auto [it, inserted] = seen.try_emplace(AlertId("r1", entity, kT0).substr(8, 8), entity);
    if (!inserted) {
      a = it->second;
      b = entity;
    }
  }
  auto m = Open();
  ASSERT_TRUE(Apply(m.get(), {Hit("r1", a, kT0 + 1, "a1")}).ok());
  ASSERT_TRUE(Apply(m.get(), {Hit("r1", b, kT0 + 2, "b1"), Hit("r1", a, kT0 + 3, "a2")}).ok());
  ASSERT_TRUE(Apply(m.get(), {Hit("r1", b, kT0 + 4, "b2"), Hit("r1", b, kT0 + 5, "b3")}).ok());
  auto alerts = All(m.get());
  ASSERT_EQ(alerts.size(), 2u);
  std::sort(alerts.begin(), alerts.end(), [](const Alert& x, const Alert& y) { return x.entity < y.entity; });
  const std::vector<std::string> want_a{"a1", "a2"}, want_b{"b1", "b2", "b3"};
  for (const Alert& alert : alerts) {
    const bool is_a = alert.entity == a;
    EXPECT_EQ(alert.id, AlertId("r1", alert.entity, kT0));
    EXPECT_EQ(alert.count, is_a ? 2u : 3u);
    EXPECT_EQ(alert.event_ids, is_a ? want_a : want_b);
  }
  // Both new in one commit among 150 others (numbered in memory, inserted
  // many rows a statement), then each found again.
  auto m2 = Open("many.db");
  std::vector<AlertHit> first{Hit("r1", a, kT0 + 1, "a1"), Hit("r1", b, kT0 + 2, "b1")}, second;
  for (int i = 0; i < 150; ++i) first.push_back(Hit("r1", "other" + std::to_string(i), kT0 + i, "o" + std::to_string(i)));
  for (const AlertHit& h : first) second.push_back(Hit("r1", h.entity, h.event_time_ns + 1, h.event_id + "x"));
  ASSERT_TRUE(Apply(m2.get(), first).ok());
  ASSERT_TRUE(Apply(m2.get(), second).ok());
  alerts = All(m2.get());
  ASSERT_EQ(alerts.size(), first.size());
  for (const Alert& alert : alerts) {
    EXPECT_EQ(alert.id, AlertId("r1", alert.entity, kT0));
    EXPECT_EQ(alert.count, 2u) << alert.entity;
    ASSERT_EQ(alert.event_ids.size(), 2u);
    EXPECT_EQ(alert.event_ids[0] + "x", alert.event_ids[1]);
  }
}

// A version-4 database (rule fields and a text id in every alert row) is
// migrated in place: the same alerts listed, and later commits find them.
TEST_F(MetadataTest, MigratesSchemaVersion4) {
  std::string path = dir_ + "/v4.db";
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const std::string id1 = AlertId("r1", "alice", 0), id2 = AlertId("r2", "bob", kT0);
  // Lists in the binary form: one id as text ("e1" at 10, "f1" at 20).
  const std::string sql = R"sql(
CREATE TABLE alerts (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, rule_id TEXT NOT NULL, title TEXT NOT NULL,
  severity TEXT NOT NULL, severity_rank INTEGER NOT NULL, tags TEXT NOT NULL, entity TEXT NOT NULL,
  bucket_start_ns INTEGER NOT NULL, first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL,
  count INTEGER NOT NULL, finding_type TEXT NOT NULL, match TEXT NOT NULL DEFAULT '',
  match_time_ns INTEGER NOT NULL DEFAULT 0, ids BLOB, ids_full_ns INTEGER, UNIQUE (bucket_start_ns, id));
CREATE INDEX alerts_by_priority ON alerts (severity_rank DESC, last_seen_ns DESC);
CREATE TABLE alert_event_ids (seq INTEGER PRIMARY KEY, ids BLOB NOT NULL);
CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
INSERT INTO alerts VALUES (7, ')sql" + id1 + R"sql(', 'r1', 'T1', 'high', 3, '["a","b"]', 'alice', 0, 10, 10, 1,
  'F', '{"m":1}', 10, X'1400026531', NULL);
INSERT INTO alerts VALUES (9, ')sql" + id2 + R"sql(', 'r2', 'T2', 'low', 1, '[]', 'bob', )sql" +
                          std::to_string(kT0) + ", " + std::to_string(kT0 + 20) + ", " + std::to_string(kT0 + 20) +
                          R"sql(, 5, '', '', 0, NULL, NULL);
INSERT INTO alert_event_ids VALUES (9, X'2800026631');
PRAGMA user_version = 4;
)sql";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto m = OpenSqliteMetadata(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto alerts = All(m->get());
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].id, id1);
  EXPECT_EQ(alerts[0].rule_id, "r1");
  EXPECT_EQ(alerts[0].title, "T1");
  EXPECT_EQ(alerts[0].severity, "high");
  EXPECT_EQ(alerts[0].tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(alerts[0].finding_type, "F");
  EXPECT_EQ(alerts[0].match, R"({"m":1})");
  EXPECT_EQ(alerts[0].event_ids, std::vector<std::string>{"e1"});
  EXPECT_EQ(alerts[1].id, id2);
  EXPECT_EQ(alerts[1].severity, "low");
  EXPECT_EQ(alerts[1].count, 5u);
  EXPECT_EQ(alerts[1].event_ids, std::vector<std::string>{"f1"});
  // Later hits add to the migrated alerts; a higher severity takes over the
  // descriptive fields, a lower one does not.
  AlertHit more = Hit("r2", "bob", kT0 + 1, "f0");
  ASSERT_TRUE(Apply(m->get(), {Hit("r1", "alice", 5, "e0", "low"), more}).ok());
  alerts = All(m->get());
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].id, id2);
  EXPECT_EQ(alerts[0].count, 6u);
  EXPECT_EQ(alerts[0].title, more.title);
  EXPECT_EQ(alerts[0].severity, "high");
  EXPECT_EQ(alerts[0].event_ids, (std::vector<std::string>{"f1", "f0"}));  // f1's time is 20
  EXPECT_EQ(alerts[1].id, id1);
  EXPECT_EQ(alerts[1].count, 2u);
  EXPECT_EQ(alerts[1].title, "T1");
  EXPECT_EQ(alerts[1].event_ids, (std::vector<std::string>{"e0", "e1"}));
}

TEST_F(MetadataTest, State) {
  auto m = Open();
  EXPECT_FALSE(m->GetState("k")->has_value());
  std::string blob("a\0b", 3);
  ASSERT_TRUE(PutState(m.get(), "k", blob).ok());
  ASSERT_TRUE(PutState(m.get(), "k", blob + "c").ok());
  m.reset();
  m = Open();
  auto v = m->GetState("k");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, blob + "c");
}

TEST_F(MetadataTest, SchemaVersionAndReadOnly) {
  std::string path = dir_ + "/meta.db";
  MetadataOptions ro;
  ro.read_only = true;
  EXPECT_FALSE(OpenSqliteMetadata(path, ro).ok());  // nothing there yet
  {
    auto m = Open();
    ASSERT_TRUE(Apply(m.get(), {Hit("r1", "a", kT0, "1")}).ok());
    // A reader beside the open writer.
    auto reader = OpenSqliteMetadata(path, ro);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_EQ(All(reader->get()).size(), 1u);
  }
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 9", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto m = OpenSqliteMetadata(path);
  EXPECT_EQ(m.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(m.status().message(), "metadata database " + path + " has schema version 9; this vigil reads up to 5");
}

}  // namespace
}  // namespace vigil
