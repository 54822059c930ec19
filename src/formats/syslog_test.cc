// Syslog: the golden over testdata/syslog/rfc5424_and_3164.log (RFC 5424 with
// structured data, escapes and a BOM; RFC 3164 with and without PRI, TAG and
// hostname; rsyslog's RFC 3339 time; bad lines), the year rule, recognition,
// and stored lines read again.
#include "formats/syslog.h"

#include <gtest/gtest.h>

#include "formats/app_logs_golden.h"
#include "formats/record_fields.h"

namespace vigil {
namespace {

using testing::Collect;
using testing::ExpectGolden;
using testing::GoldenSummary;
using testing::ParseAs;
using testing::RecognisedAs;
using testing::TestInput;
using testing::Values;

const int64_t kMarch2026 = *ParseTimestamp("2026-03-05T00:00:00Z");

TEST(SyslogTest, SamplesMatchGolden) {
  std::string text = TestInput("syslog/rfc5424_and_3164.log");
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(RecognisedAs(text), kSyslog);
  Collect c = ParseAs(kSyslog, text, kMarch2026);
  ExpectGolden("syslog", GoldenSummary(c, {"pri", "facility", "severity", "version", "timestamp", "hostname", "appname",
                                           "procid", "msgid", "structured_data", "message", "sd.exampleSDID@32473.iut",
                                           "sd.exampleSDID@32473.eventSource", "sd.examplePriority@32473.class",
                                           "sd.origin.ip", "sd.origin.software", "sd.meta.sequenceId"}));
}

TEST(SyslogTest, FieldsAreNamedAsTheRfcsNameThem) {
  Collect c = ParseAs(kSyslog,
                      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 12 ID47 "
                      "[a@1 x=\"q\\\"uote\" y=\"\"][b z=\"1\"] hello world\n"
                      "<13>Oct  1 02:03:04 host app[7]: hi: there\n",
                      kMarch2026);
  ASSERT_EQ(c.events.size(), 2u);
  const Event& e = c.events[0];
  EXPECT_EQ(Values(e, "facility"), "#20");
  EXPECT_EQ(Values(e, "severity"), "#5");
  EXPECT_EQ(Values(e, "version"), "#1");
  EXPECT_EQ(Values(e, "hostname"), "mymachine.example.com");
  EXPECT_EQ(Values(e, "appname"), "evntslog");
  EXPECT_EQ(Values(e, "procid"), "#12");
  EXPECT_EQ(Values(e, "msgid"), "ID47");
  EXPECT_EQ(Values(e, "sd.a@1.x"), "q\"uote");
  EXPECT_TRUE(e.fields->Visit(FieldPath("sd.a@1.y"), [](const FieldValue&) { return true; }));
  EXPECT_EQ(Values(e, "sd.b.z"), "#1");
  EXPECT_EQ(Values(e, "message"), "hello world");
  EXPECT_EQ(e.time_ns, *ParseTimestamp("2003-10-11T22:14:15.003Z"));
  EXPECT_EQ(e.principal, "mymachine.example.com");
  EXPECT_EQ(e.resources, std::vector<std::string>{"evntslog"});
  EXPECT_EQ(e.id, ContentId(kSyslog, e.raw));
  const Event& b = c.events[1];
  EXPECT_EQ(Values(b, "version"), "");
  EXPECT_EQ(Values(b, "appname"), "app");
  EXPECT_EQ(Values(b, "procid"), "#7");
  EXPECT_EQ(Values(b, "message"), "hi: there");
  EXPECT_EQ(Values(b, "timestamp"), "Oct  1 02:03:04");
  EXPECT_EQ(b.time_ns, *ParseTimestamp("2025-10-01T02:03:04Z"));  // October is after the March ingest time
}

TEST(SyslogTest, BsdTimesTakeTheYearOfTheIngestTimeOrTheOneBefore) {
  const int64_t jan = *ParseTimestamp("2027-01-02T00:00:00Z");
  EXPECT_EQ(ParseBsdSyslogTime("Dec 31 23:59:59", jan), ParseTimestamp("2026-12-31T23:59:59Z"));
  EXPECT_EQ(ParseBsdSyslogTime("Jan  2 12:00:00", jan), ParseTimestamp("2027-01-02T12:00:00Z"));  // within a day
  EXPECT_EQ(ParseBsdSyslogTime("Jan  3 12:00:00", jan), ParseTimestamp("2026-01-03T12:00:00Z"));
  EXPECT_EQ(ParseBsdSyslogTime("Feb 29 00:00:00", *ParseTimestamp("2029-03-01T00:00:00Z")),
            ParseTimestamp("2028-02-29T00:00:00Z"));
  EXPECT_EQ(ParseBsdSyslogTime("Feb 29 00:00:00", jan), std::nullopt);  // neither 2027 nor 2026 has one
  EXPECT_EQ(ParseBsdSyslogTime("Feb 30 00:00:00", jan), std::nullopt);
  EXPECT_EQ(ParseBsdSyslogTime("Jan  2 24:00:00", jan), std::nullopt);
  EXPECT_EQ(ParseBsdSyslogTime("Foo  2 12:00:00", jan), std::nullopt);
  EXPECT_EQ(ParseBsdSyslogTime("Jan  2 12:00", jan), std::nullopt);
}

TEST(SyslogTest, RecognitionClaimsSyslogOnly) {
  for (std::string_view line : {"<34>1 2026-03-02T10:00:00Z h a - - - m", "<34>Oct 11 22:14:15 host su: m",
                                "Oct 11 22:14:15 host sshd[1]: m", "<30>2026-03-02T10:16:11Z host systemd[1]: m"})
    EXPECT_EQ(RecognisedAs(line), kSyslog) << line;
  for (std::string_view line : {"2024-01-01T00:00:00Z worker 42 started", "Oct 11 host", "<500>1 x", "<a>",
                                "October 11 22:14:15 host x", "<34>hello world", "# syslog notes"})
    EXPECT_EQ(RecognisedAs(line), "(none)") << line;
}

TEST(SyslogTest, StoredLinesReadAgainWithTheSameFields) {
  std::string text = TestInput("syslog/rfc5424_and_3164.log");
  Collect c = ParseAs(kSyslog, text, kMarch2026);
  ASSERT_FALSE(c.events.empty());
  for (const Event& e : c.events) {
    auto again = RecordFields(e.source_type, e.raw);
    ASSERT_TRUE(again.ok()) << e.raw;
    EXPECT_EQ(testing::Scalars(**again), testing::Scalars(*e.fields)) << e.raw;
  }
}

}  // namespace
}  // namespace vigil
