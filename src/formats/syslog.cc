#include "formats/syslog.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "common/time.h"
#include "formats/text_lines.h"

namespace vigil {
namespace {

// The fixed columns, in this order; structured-data parameters follow.
enum Column {
  kPri,
  kFacility,
  kSeverity,
  kVersion,
  kTimestamp,
  kHostname,
  kAppname,
  kProcid,
  kMsgid,
  kSd,
  kMessage,
  kColumns
};
constexpr std::string_view kNames[kColumns] = {"pri",       "facility",        "severity", "version",
                                               "timestamp", "hostname",        "appname",  "procid",
                                               "msgid",     "structured_data", "message"};

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

const std::shared_ptr<const FieldTable>& BaseTable() {
  static const auto* table = new std::shared_ptr<const FieldTable>(
      std::make_shared<const FieldTable>(std::vector<std::string>(std::begin(kNames), std::end(kNames))));
  return *table;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// `<N>` at the start of `s`: the length of the PRI part (0 when there is none)
// and its value; -1 when it starts like one but is not (digits, range).
int ReadPri(std::string_view s, int* pri) {
  if (s.empty() || s[0] != '<') return 0;
  size_t i = 1;
  int v = 0;
  while (i < s.size() && i <= 4 && IsDigit(s[i])) v = v * 10 + (s[i++] - '0');
  if (i == 1 || i > 4 || i >= s.size() || s[i] != '>' || v > 191) return -1;
  *pri = v;
  return static_cast<int>(i + 1);
}

// The month number (1-12) of a 3-letter English abbreviation, else 0.
int Month(std::string_view m) {
  for (int i = 0; i < 12; ++i)
    if (m == kMonths[i]) return i + 1;
  return 0;
}

// `Mmm dd hh:mm:ss` at the start of `s` (15 bytes).
bool LooksLikeBsdTime(std::string_view s) {
  return s.size() >= 15 && Month(s.substr(0, 3)) && s[3] == ' ' && (s[4] == ' ' || IsDigit(s[4])) && IsDigit(s[5]) &&
         s[6] == ' ' && IsDigit(s[7]) && IsDigit(s[8]) && s[9] == ':' && IsDigit(s[10]) && IsDigit(s[11]) &&
         s[12] == ':' && IsDigit(s[13]) && IsDigit(s[14]);
}

// The next space-delimited word of `s` from `*pos` (which moves past it and one space).
std::string_view NextWord(std::string_view s, size_t* pos) {
  if (*pos >= s.size()) return {};
  size_t end = s.find(' ', *pos);
  if (end == std::string_view::npos) end = s.size();
  std::string_view w = s.substr(*pos, end - *pos);
  *pos = end < s.size() ? end + 1 : end;
  return w;
}

struct Parsed {
  std::array<std::string_view, kColumns> values;
  std::vector<std::string> sd_names;   // sd.<id>.<param>
  std::vector<std::string> sd_values;  // unescaped
  std::string pri, facility, severity;
  bool bsd = false;
};

// Structured data from `*pos`: `-` or one or more `[id param="value"...]`.
// Fills the sd columns; false with *error on malformed data.
bool ReadStructuredData(std::string_view s, size_t* pos, Parsed* out, std::string* error) {
  size_t i = *pos;
  if (i < s.size() && s[i] == '-') {
    *pos = i + 1;
    return true;
  }
  if (i >= s.size() || s[i] != '[') {
    *error = "structured data is neither - nor [...]";
    return false;
  }
  while (i < s.size() && s[i] == '[') {
    size_t id_end = s.find_first_of(" ]", i + 1);
    if (id_end == std::string_view::npos) break;
    std::string id(s.substr(i + 1, id_end - i - 1));
    if (id.empty()) {
      *error = "structured data element without an SD-ID";
      return false;
    }
    i = id_end;
    while (i < s.size() && s[i] == ' ') {
      ++i;
      size_t eq = s.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') {
        *error = "structured data parameter of " + id + " without =\"value\"";
        return false;
      }
      std::string name = "sd." + id + "." + std::string(s.substr(i, eq - i));
      std::string value;
      size_t j = eq + 2;
      for (; j < s.size() && s[j] != '"'; ++j) {
        if (s[j] == '\\' && j + 1 < s.size() && (s[j + 1] == '"' || s[j + 1] == '\\' || s[j + 1] == ']')) ++j;
        value.push_back(s[j]);
      }
      if (j >= s.size()) {
        *error = "unterminated structured data value of " + name;
        return false;
      }
      out->sd_names.push_back(std::move(name));
      out->sd_values.push_back(std::move(value));
      i = j + 1;
    }
    if (i >= s.size() || s[i] != ']') {
      *error = "unterminated structured data element " + id;
      return false;
    }
    ++i;
  }
  if (i == *pos || (i < s.size() && s[i] != ' ')) {
    *error = "unterminated structured data";
    return false;
  }
  *pos = i;
  return true;
}

// RFC 5424 after `<PRI>`: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP
// PROCID SP MSGID SP STRUCTURED-DATA [SP MSG].
bool ParseRfc5424(std::string_view line, size_t pos, Parsed* out, std::string* error) {
  static constexpr Column kHeader[] = {kVersion, kTimestamp, kHostname, kAppname, kProcid, kMsgid};
  for (Column c : kHeader) {
    if (pos >= line.size()) {
      *error = "RFC 5424 line ends before its " + std::string(kNames[c]);
      return false;
    }
    out->values[c] = NextWord(line, &pos);
    if (out->values[c].empty()) {
      *error = "RFC 5424 line with an empty " + std::string(kNames[c]);
      return false;
    }
  }
  const size_t sd_start = pos;
  if (!ReadStructuredData(line, &pos, out, error)) return false;
  out->values[kSd] = line.substr(sd_start, pos - sd_start);
  if (pos < line.size()) ++pos;  // the space before MSG
  std::string_view msg = line.substr(pos);
  if (msg.starts_with("\xEF\xBB\xBF")) msg.remove_prefix(3);  // UTF-8 BOM
  out->values[kMessage] = msg;
  return true;
}

// RFC 3164 after the PRI (if any): TIMESTAMP SP HOSTNAME SP TAG[PID]: MSG. A
// word that ends with `:` or holds `[` right after the time is a TAG (no
// hostname).
bool ParseRfc3164(std::string_view line, size_t pos, Parsed* out, std::string* error) {
  out->bsd = true;
  std::string_view rest = line.substr(pos);
  if (LooksLikeBsdTime(rest)) {
    out->values[kTimestamp] = rest.substr(0, 15);
    pos += 15;
    if (pos < line.size() && line[pos] == ' ') ++pos;
  } else if (rest.size() >= 10 && IsDigit(rest[0]) && rest[4] == '-' &&
             ParseTimestamp(line.substr(pos, rest.find(' ')))) {
    out->values[kTimestamp] = NextWord(line, &pos);
  } else {
    *error = "not an RFC 5424 or RFC 3164 syslog line (no timestamp after the PRI)";
    return false;
  }
  size_t word_start = pos;
  std::string_view word = NextWord(line, &pos);
  if (!word.empty() && !word.ends_with(':') && word.find('[') == std::string_view::npos) {
    out->values[kHostname] = word;
    word_start = pos;
    word = NextWord(line, &pos);
  }
  // TAG: up to `[` or `:`; `[PID]` after it; then `:`.
  size_t tag_end = word.find_first_of("[:");
  if (!word.empty() && tag_end != std::string_view::npos && tag_end > 0) {
    out->values[kAppname] = word.substr(0, tag_end);
    std::string_view after = word.substr(tag_end);
    if (after.starts_with('[')) {
      size_t close = after.find(']');
      if (close != std::string_view::npos) {
        out->values[kProcid] = after.substr(1, close - 1);
        after = after.substr(close + 1);
      }
    }
    if (after.empty() || after == ":") {
      out->values[kMessage] = line.substr(pos);
      return true;
    }
  }
  // No TAG: the rest is the message.
  out->values[kMessage] = line.substr(word_start);
  return true;
}

bool ParseLine(std::string_view line, Parsed* out, std::string* error) {
  out->values.fill("-");
  out->sd_names.clear();
  out->sd_values.clear();
  out->bsd = false;
  int pri = 0;
  int n = ReadPri(line, &pri);
  if (n < 0) {
    *error = "syslog PRI is not <0> to <191>";
    return false;
  }
  if (n > 0) {
    out->pri = std::to_string(pri);
    out->facility = std::to_string(pri / 8);
    out->severity = std::to_string(pri % 8);
    out->values[kPri] = out->pri;
    out->values[kFacility] = out->facility;
    out->values[kSeverity] = out->severity;
  }
  size_t pos = static_cast<size_t>(n);
  // RFC 5424: a version (1-2 digits, not 0-led) and a space after the PRI.
  if (n > 0 && pos + 1 < line.size() && IsDigit(line[pos]) && line[pos] != '0' &&
      (line[pos + 1] == ' ' || (IsDigit(line[pos + 1]) && pos + 2 < line.size() && line[pos + 2] == ' ')))
    return ParseRfc5424(line, pos, out, error);
  return ParseRfc3164(line, pos, out, error);
}

class SyslogParser final : public Parser {
 public:
  explicit SyslogParser(const InputLimits& limits) : limits_(limits) {}

  std::string_view name() const override { return kSyslog; }

  bool Recognize(std::string_view head) const override {
    std::string_view line = FirstLine(head.substr(0, 8192));
    int pri = 0;
    int n = ReadPri(line, &pri);
    if (n < 0) return false;
    Parsed parsed;
    std::string error;
    // Without a PRI only the BSD file form (`Mmm dd hh:mm:ss host ...`) is claimed.
    if (n == 0 && !LooksLikeBsdTime(line)) return false;
    return ParseLine(line, &parsed, &error);
  }

  Status Parse(const ParseInput& in, ParseSink& sink) const override {
    Parsed p;
    std::string error;
    std::shared_ptr<const FieldTable> table = BaseTable();
    std::vector<std::string_view> values;
    std::string message;
    return ForEachLine(in, limits_, sink, [&](std::string_view line, uint64_t index) {
      if (!ParseLine(line, &p, &error)) {
        EmitBadLine(in, index, line, error, sink);
        return;
      }
      // `-` would read as missing in the message too: only a message that is exactly `-` does.
      values.assign(p.values.begin(), p.values.end());
      for (const std::string& v : p.sd_values) values.emplace_back(v);
      if (p.sd_names.empty()) {
        table = BaseTable();
      } else if (table->size() != kColumns + p.sd_names.size() ||
                 !std::equal(p.sd_names.begin(), p.sd_names.end(), table->names().begin() + kColumns)) {
        std::vector<std::string> names(std::begin(kNames), std::end(kNames));
        names.insert(names.end(), p.sd_names.begin(), p.sd_names.end());
        table = std::make_shared<const FieldTable>(std::move(names));
      }
      Event ev;
      StartTextEvent(kSyslog, line, in.ingest_time_ns, table, values, &ev);
      std::string_view ts = p.values[kTimestamp];
      std::optional<int64_t> t =
          p.bsd && LooksLikeBsdTime(ts) ? ParseBsdSyslogTime(ts, in.ingest_time_ns) : ParseTimestamp(ts);
      std::string warning;
      SetTextEventTime(t, "timestamp", ts, &ev, &warning);
      AddResource(p.values[kAppname], &ev);
      if (p.values[kHostname] != "-") ev.principal = p.values[kHostname];
      EmitTextEvent(in, index, std::move(ev), warning, sink);
    });
  }

 private:
  InputLimits limits_;
};

}  // namespace

std::optional<int64_t> ParseBsdSyslogTime(std::string_view s, int64_t ingest_time_ns) {
  if (s.size() != 15 || !LooksLikeBsdTime(s)) return std::nullopt;
  auto two = [&](size_t i) { return (s[i] == ' ' ? 0 : s[i] - '0') * 10 + (s[i + 1] - '0'); };
  const int month = Month(s.substr(0, 3)), day = two(4), h = two(7), mi = two(10), sec = two(13);
  if (day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  const int year = CivilFromDays(DayNumber(ingest_time_ns)).year;
  auto at = [&](int y) -> std::optional<int64_t> {
    // Feb 29 outside a leap year, Apr 31 ...: no such day.
    CivilDate back = CivilFromDays(DaysFromCivil(y, month, day));
    if (back.month != month || back.day != day) return std::nullopt;
    return (DaysFromCivil(y, month, day) * 86400 + h * 3600 + mi * 60 + sec) * kNanosPerSecond;
  };
  std::optional<int64_t> t = at(year);
  if (!t || *t > ingest_time_ns + 86400 * kNanosPerSecond) t = at(year - 1);
  return t;
}

std::unique_ptr<Parser> MakeSyslogParser(const InputLimits& limits) { return std::make_unique<SyslogParser>(limits); }

}  // namespace vigil
