#include "ingest/syslog_framing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vigil {
namespace {

struct Decoded {
  std::vector<std::string> messages;
  std::vector<bool> truncated;
  size_t missing = 0;
};

// Feeds `stream` cut into pieces of `piece` bytes (0: whole), then finishes.
Decoded Decode(std::string_view stream, size_t piece = 0, size_t max = 1024) {
  Decoded d;
  SyslogFrameDecoder dec(max);
  auto fn = [&](std::string_view m, bool t) {
    d.messages.emplace_back(m);
    d.truncated.push_back(t);
  };
  if (piece == 0) piece = stream.size() ? stream.size() : 1;
  for (size_t i = 0; i < stream.size(); i += piece) dec.Feed(stream.substr(i, piece), fn);
  d.missing = dec.Finish(fn);
  return d;
}

using Msgs = std::vector<std::string>;

const char k5424[] = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                     "[exampleSDID@32473 iut=\"3\"] An application event";
const char k3164[] = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8";

std::string Octets(std::string_view m) { return std::to_string(m.size()) + " " + std::string(m); }

TEST(SyslogFraming, OctetCountingWholeAndSplitAtEveryByte) {
  std::string multi("multi\nline\0msg", 14);
  std::string stream = Octets(k5424) + Octets(k3164) + Octets(multi);
  Msgs want = {k5424, k3164, multi};
  for (size_t piece : {0, 1, 2, 3, 7, 64}) {
    Decoded d = Decode(stream, piece);
    EXPECT_EQ(d.messages, want) << "piece " << piece;
    EXPECT_EQ(d.missing, 0u);
  }
}

TEST(SyslogFraming, OctetCountMayCarryTrailingLfAndLeadingBlankLines) {
  // rsyslog can send "len msg\n" with the LF counted or not; LF between frames is skipped.
  std::string m = std::string(k3164) + "\n";
  Decoded d = Decode("\n\r\n" + Octets(m) + "\n" + Octets(k5424));
  EXPECT_EQ(d.messages, (Msgs{m, k5424}));
}

TEST(SyslogFraming, LfFramingWithCrlfAndNulTrailers) {
  std::string stream = std::string(k5424) + "\n" + k3164 + "\r\n" + "<13>Oct  1 00:00:00 h a: nul-ended" +
                       std::string(1, '\0') + "<13>Oct  1 00:00:01 h a: last, no LF";
  Msgs want = {k5424, k3164, "<13>Oct  1 00:00:00 h a: nul-ended", "<13>Oct  1 00:00:01 h a: last, no LF"};
  for (size_t piece : {0, 1, 5, 13}) EXPECT_EQ(Decode(stream, piece).messages, want) << "piece " << piece;
}

TEST(SyslogFraming, FramingsMixedPerMessage) {
  std::string stream = Octets(k5424) + k3164 + "\n" + Octets("<13>1 - - - - - - octet again") + k5424 + "\n";
  Msgs want = {k5424, k3164, "<13>1 - - - - - - octet again", k5424};
  for (size_t piece : {0, 1, 4}) EXPECT_EQ(Decode(stream, piece).messages, want) << "piece " << piece;
}

TEST(SyslogFraming, DigitsWithoutSpaceAreAnLfFramedLine) {
  // A sender writing file-format lines (RFC 3339 time first) over LF framing.
  std::string line = "2024-05-01T10:00:00Z host sshd[42]: Accepted publickey for ec2-user";
  Decoded d = Decode(line + "\n" + "1234567890123 is not a length\n" + "42\n", 1);
  EXPECT_EQ(d.messages, (Msgs{line, "1234567890123 is not a length", "42"}));
  EXPECT_EQ(Decode("0 zero is not a length\n").messages, (Msgs{"0 zero is not a length"}));
  EXPECT_EQ(Decode("17").messages, (Msgs{"17"}));  // digits alone at the end of the stream
}

TEST(SyslogFraming, OversizedMessagesAreTruncatedAndTheStreamResynchronises) {
  std::string big(5000, 'x');
  std::string stream = Octets(big) + Octets(k3164) + big + "\n" + k5424 + "\n";
  for (size_t piece : {0, 1, 100, 999}) {
    Decoded d = Decode(stream, piece, 1000);
    ASSERT_EQ(d.messages.size(), 4u) << "piece " << piece;
    EXPECT_EQ(d.messages[0], big.substr(0, 1000));
    EXPECT_EQ(d.messages[1], k3164);
    EXPECT_EQ(d.messages[2], big.substr(0, 1000));
    EXPECT_EQ(d.messages[3], k5424);
    EXPECT_EQ(d.truncated, (std::vector<bool>{true, false, true, false}));
  }
}

TEST(SyslogFraming, MemoryStaysBoundedWhateverTheSenderSends) {
  SyslogFrameDecoder dec(1000);
  size_t n = 0;
  auto fn = [&](std::string_view m, bool) {
    EXPECT_LE(m.size(), 1000u);
    ++n;
  };
  std::string chunk(4096, 'y');  // one endless line
  for (int i = 0; i < 100; ++i) {
    dec.Feed(chunk, fn);
    EXPECT_LE(dec.buffered(), 1000u);
  }
  dec.Feed("999999999 ", fn);  // a huge octet count is skipped, never buffered
  SyslogFrameDecoder dec2(1000);
  dec2.Feed("999999999 ", fn);
  for (int i = 0; i < 100; ++i) dec2.Feed(chunk, fn);
  EXPECT_LE(dec2.buffered(), 1000u);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(dec2.Finish(fn), 999999999u - 409600u);
}

TEST(SyslogFraming, ConnectionClosedInsideAnOctetCountedMessage) {
  Decoded d = Decode(Octets(k3164) + "100 <13>cut short", 3);
  EXPECT_EQ(d.messages, (Msgs{k3164}));
  EXPECT_EQ(d.missing, 100u - 13u);
}

TEST(SyslogFraming, GarbageLengthsNeverLoseTheFollowingLine) {
  // Non-digits after digits, a length too long to be one, a space-only line.
  Decoded d = Decode("12abc\n9999999999 x\n \n" + std::string(k5424) + "\n");
  EXPECT_EQ(d.messages, (Msgs{"12abc", "9999999999 x", " ", k5424}));
}

TEST(SyslogFraming, AppendSyslogLineKeepsEachMessageOneLine) {
  std::string out;
  EXPECT_FALSE(AppendSyslogLine("\r\n", &out));  // nothing but line ends: no line
  EXPECT_TRUE(AppendSyslogLine("first\n", &out));
  EXPECT_FALSE(AppendSyslogLine(std::string_view("\0", 1), &out));
  EXPECT_TRUE(AppendSyslogLine(std::string_view("a\nb\rc\0d\r\n", 9), &out));
  EXPECT_TRUE(AppendSyslogLine("third", &out));
  EXPECT_EQ(out, "first\na#012b#015c#000d\nthird");
}

}  // namespace
}  // namespace vigil
