#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <sstream>
#include <thread>

namespace vigil {
namespace {

// One line of text exposition format 0.0.4: a comment (HELP/TYPE) or a sample
// `name{label="value",...} value`, label values escaped (\\, \", \n only).
bool ValidExpositionLine(const std::string& line) {
  static const std::regex kHelp(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* ([^\n\\]|\\[\\n])*)");
  static const std::regex kType(R"(# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))");
  static const std::string kLabel = R"([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")";
  static const std::regex kSample("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{" + kLabel + "(," + kLabel +
                                  ")*\\})? ([-+]?[0-9.]+(e[-+]?[0-9]+)?|[+-]Inf|NaN)");
  return std::regex_match(line, kHelp) || std::regex_match(line, kType) || std::regex_match(line, kSample);
}

TEST(MetricsTest, EmptyRegistryRendersNothing) {
  MetricsRegistry r;
  EXPECT_EQ(r.RenderPrometheus(), "");
}

TEST(MetricsTest, CountersWithLabelsRenderHelpTypeOncePerFamily) {
  MetricsRegistry r;
  Counter& http = r.GetCounter("vigil_received_records_total", "Records received.", {{"source", "http"}});
  Counter& fh = r.GetCounter("vigil_received_records_total", "Records received.", {{"source", "firehose"}});
  r.GetCounter("vigil_dropped_records_total", "Records dropped.", {{"source", "http"}, {"reason", "too_large"}})
      .Inc(2);
  http.Inc(1000);
  http.Inc();
  fh.Inc(5);
  // The same series asked for again is the same counter; the first help text stays.
  EXPECT_EQ(&r.GetCounter("vigil_received_records_total", "Other help.", {{"source", "http"}}), &http);
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP vigil_dropped_records_total Records dropped.\n"
            "# TYPE vigil_dropped_records_total counter\n"
            "vigil_dropped_records_total{source=\"http\",reason=\"too_large\"} 2\n"
            "# HELP vigil_received_records_total Records received.\n"
            "# TYPE vigil_received_records_total counter\n"
            "vigil_received_records_total{source=\"firehose\"} 5\n"
            "vigil_received_records_total{source=\"http\"} 1001\n");
}

TEST(MetricsTest, GaugesWithoutLabelsAndSpecialValues) {
  MetricsRegistry r;
  Gauge& depth = r.GetGauge("vigil_queue_depth", "Batches waiting.");
  depth.Set(7);
  depth.Add(3);
  depth.Sub(1.5);
  r.GetGauge("x_nan", "n").Set(std::nan(""));
  r.GetGauge("x_pinf", "p").Set(INFINITY);
  r.GetGauge("x_ninf", "m").Set(-INFINITY);
  r.GetGauge("x_small", "s").Set(1e-7);
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("\nvigil_queue_depth 8.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nx_nan NaN\n"), std::string::npos);
  EXPECT_NE(text.find("\nx_pinf +Inf\n"), std::string::npos);
  EXPECT_NE(text.find("\nx_ninf -Inf\n"), std::string::npos);
  EXPECT_NE(text.find("\nx_small 1e-07\n"), std::string::npos);
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  r.GetCounter("vigil_x_total", "Help with \\ backslash\nand a newline; \"quotes\" stay.",
               {{"path", "C:\\logs\\\"a\"\nb"}})
      .Inc();
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP vigil_x_total Help with \\\\ backslash\\nand a newline; \"quotes\" stay.\n"
            "# TYPE vigil_x_total counter\n"
            "vigil_x_total{path=\"C:\\\\logs\\\\\\\"a\\\"\\nb\"} 1\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry r;
  Histogram& h = r.GetHistogram("vigil_event_to_alert_seconds", "Event to alert.", {{"rule", "a"}},
                                {0.1, 0.5, 1, 2.5});
  for (double v : {0.05, 0.1, 0.3, 0.7, 3.0, 100.0}) h.Observe(v);
  h.Observe(std::nan(""));  // ignored
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP vigil_event_to_alert_seconds Event to alert.\n"
            "# TYPE vigil_event_to_alert_seconds histogram\n"
            "vigil_event_to_alert_seconds_bucket{rule=\"a\",le=\"0.1\"} 2\n"
            "vigil_event_to_alert_seconds_bucket{rule=\"a\",le=\"0.5\"} 3\n"
            "vigil_event_to_alert_seconds_bucket{rule=\"a\",le=\"1\"} 4\n"
            "vigil_event_to_alert_seconds_bucket{rule=\"a\",le=\"2.5\"} 4\n"
            "vigil_event_to_alert_seconds_bucket{rule=\"a\",le=\"+Inf\"} 6\n"
            "vigil_event_to_alert_seconds_sum{rule=\"a\"} 104.15\n"
            "vigil_event_to_alert_seconds_count{rule=\"a\"} 6\n");
}

TEST(MetricsTest, HistogramWithoutLabelsPutsOnlyLe) {
  MetricsRegistry r;
  r.GetHistogram("h_seconds", "h", {}, {1}).Observe(0.5);
  EXPECT_EQ(r.RenderPrometheus(),
            "# HELP h_seconds h\n# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 1\n"
            "h_seconds_sum 0.5\nh_seconds_count 1\n");
}

TEST(MetricsTest, QuantilesInterpolateLikePrometheus) {
  Histogram h({1, 2, 4, 8});
  EXPECT_TRUE(std::isnan(h.Quantile(0.99)));  // no observations
  // 100 observations: 50 in (0,1], 40 in (1,2], 9 in (2,4], 1 in (4,8].
  for (int i = 0; i < 50; ++i) h.Observe(0.5);
  for (int i = 0; i < 40; ++i) h.Observe(1.5);
  for (int i = 0; i < 9; ++i) h.Observe(3);
  h.Observe(5);
  EXPECT_DOUBLE_EQ(h.Quantile(0.5), 1.0);         // rank 50: top of the first bucket
  EXPECT_DOUBLE_EQ(h.Quantile(0.25), 0.5);        // rank 25 of 50 in (0,1]
  EXPECT_DOUBLE_EQ(h.Quantile(0.7), 1.5);         // rank 70: 20 of 40 into (1,2]
  EXPECT_DOUBLE_EQ(h.Quantile(0.99), 4.0);        // rank 99: the last of (2,4]
  EXPECT_DOUBLE_EQ(h.Quantile(0.995), 6.0);       // rank 99.5: half into (4,8]
  h.Observe(1000);                                // beyond the last bound
  EXPECT_DOUBLE_EQ(h.Quantile(1.0), 8.0);         // the +Inf bucket answers the highest bound
}

TEST(MetricsTest, LatencyBucketsResolveMillisecondP99) {
  Histogram h(LatencyBuckets());
  for (int i = 0; i < 990; ++i) h.Observe(0.002);
  for (int i = 0; i < 10; ++i) h.Observe(0.2);
  double p99 = h.Quantile(0.99);
  EXPECT_GT(p99, 0.001);
  EXPECT_LE(p99, 0.0025);
  EXPECT_GT(h.Quantile(0.999), 0.1);
}

TEST(MetricsTest, ConcurrentUpdatesLoseNothing) {
  MetricsRegistry r;
  Counter& c = r.GetCounter("c_total", "c");
  Histogram& h = r.GetHistogram("h_seconds", "h", {}, {0.5});
  Gauge& g = r.GetGauge("g", "g");
  constexpr int kThreads = 4, kPer = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        c.Inc();
        h.Observe(t % 2 == 0 ? 0.25 : 1.0);
        g.Add(1);
        if (i % 1000 == 0) (void)r.RenderPrometheus();  // renders race with updates
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), uint64_t{kThreads} * kPer);
  EXPECT_DOUBLE_EQ(g.Value(), double{kThreads} * kPer);
  HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kPer);
  EXPECT_EQ(s.cumulative[0], uint64_t{kThreads / 2} * kPer);
  EXPECT_DOUBLE_EQ(s.sum, kPer * (0.25 * 2 + 1.0 * 2));
}

TEST(MetricsTest, EveryRenderedLineFollowsTheGrammar) {
  MetricsRegistry r;
  r.GetCounter("vigil_received_records_total", "Records.\nSecond line \\.", {{"source", "we\"ird\\\nname"}}).Inc(3);
  r.GetGauge("vigil_wal_lag_bytes", "WAL bytes not yet applied.").Set(123456789);
  r.GetGauge("vigil:ratio", "colon names are allowed").Set(-0.25);
  r.AddGaugeCallback("vigil_queue_depth", "Depth.", {{"queue", "parse"}}, [] { return 4.0; });
  Histogram& h = r.GetHistogram("vigil_event_to_alert_seconds", "Latency.", {{"source", "http"}});
  h.Observe(0.003);
  h.Observe(42);
  std::string text = r.RenderPrometheus();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::istringstream lines(text);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(ValidExpositionLine(line)) << "line: " << line;
    ++n;
  }
  EXPECT_GT(n, 20);
  EXPECT_NE(text.find("vigil_queue_depth{queue=\"parse\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("vigil_wal_lag_bytes 123456789\n"), std::string::npos);
}

TEST(MetricsTest, CallbacksAreReadAtRenderAndRemovedByOwner) {
  MetricsRegistry r;
  double depth = 1;
  int owner = 0;
  r.AddGaugeCallback("vigil_queue_depth", "Depth.", {}, [&] { return depth; }, &owner);
  r.AddCounterCallback("vigil_events_total", "Events.", {}, [] { return 10.0; }, &owner);
  r.GetCounter("vigil_other_total", "Other.").Inc();
  EXPECT_NE(r.RenderPrometheus().find("vigil_queue_depth 1\n"), std::string::npos);
  depth = 9;
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("vigil_queue_depth 9\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE vigil_events_total counter\nvigil_events_total 10\n"), std::string::npos);
  r.RemoveCallbacks(&owner);
  EXPECT_EQ(r.RenderPrometheus(), "# HELP vigil_other_total Other.\n# TYPE vigil_other_total counter\n"
                                  "vigil_other_total 1\n");
  // Once removed, the name can be registered again (a restarted component).
  r.AddGaugeCallback("vigil_queue_depth", "Depth.", {}, [] { return 2.0; }, &owner);
  EXPECT_NE(r.RenderPrometheus().find("vigil_queue_depth 2\n"), std::string::npos);
}

TEST(MetricsTest, HistogramReadBackFromTextGivesTheSameQuantiles) {
  MetricsRegistry r;
  Histogram& http = r.GetHistogram("vigil_event_to_alert_seconds", "L.", {{"source", "http"}});
  Histogram& fh = r.GetHistogram("vigil_event_to_alert_seconds", "L.", {{"source", "firehose"}});
  for (int i = 0; i < 1000; ++i) http.Observe(0.001 * (i % 97));
  for (int i = 0; i < 50; ++i) fh.Observe(7);
  // A histogram whose name has the other's as prefix must not be mixed in.
  r.GetHistogram("vigil_event_to_alert_seconds_other", "O.", {}, {1}).Observe(0.5);
  std::string text = r.RenderPrometheus();

  auto only_http = HistogramFromPrometheusText(text, "vigil_event_to_alert_seconds", {{"source", "http"}});
  ASSERT_TRUE(only_http.ok()) << only_http.status().ToString();
  HistogramSnapshot want = http.Snapshot();
  EXPECT_EQ(only_http->bounds, want.bounds);
  EXPECT_EQ(only_http->cumulative, want.cumulative);
  EXPECT_EQ(only_http->count, 1000u);
  EXPECT_NEAR(only_http->sum, want.sum, 1e-9);
  EXPECT_DOUBLE_EQ(only_http->Quantile(0.99), http.Quantile(0.99));

  auto all = HistogramFromPrometheusText(text, "vigil_event_to_alert_seconds");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->count, 1050u);
  // rank 1039.5 of 1050 falls 39.5 of 50 into the (5,10] bucket of the 7 s Firehose records.
  EXPECT_DOUBLE_EQ(all->Quantile(0.99), 5 + 5 * (39.5 / 50));

  EXPECT_EQ(HistogramFromPrometheusText(text, "vigil_missing_seconds").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(HistogramFromPrometheusText("x_bucket{le=\"1\" 3\n", "x").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(MetricsDeathTest, MisuseAbortsWithAMessage) {
  MetricsRegistry r;
  r.GetCounter("vigil_a_total", "A.", {{"source", "http"}});
  EXPECT_DEATH(r.GetGauge("vigil_a_total", "A.", {{"source", "http"}}), "registered as counter and as gauge");
  EXPECT_DEATH(r.GetCounter("vigil_a_total", "A.", {{"input", "http"}}), "two sets of label names");
  EXPECT_DEATH(r.GetCounter("1bad", "x"), "invalid metric name");
  EXPECT_DEATH(r.GetCounter("ok_total", "x", {{"__reserved", "v"}}), "invalid label name");
  EXPECT_DEATH(r.GetHistogram("h", "x", {{"le", "1"}}), "invalid label name");
  EXPECT_DEATH(r.GetHistogram("h2", "x", {}, {2, 1}), "strictly increasing");
}

}  // namespace
}  // namespace vigil
