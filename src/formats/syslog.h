// Syslog lines, recognised from content: RFC 5424
//   <165>1 2003-10-11T22:14:15.003Z host app 1234 ID47 [id@32473 a="1"] message
// and RFC 3164 (BSD) lines, with or without the PRI part (as syslog daemons
// write them to files), and with an RFC 3339 time where rsyslog writes one:
//   <34>Oct 11 22:14:15 host su[42]: message
//   Oct 11 22:14:15 host sshd[42]: message
//
// Each line is an Event whose fields are named as the RFCs name the parts:
// `pri`, `facility`, `severity` (numbers), `version`, `timestamp` (as
// written), `hostname`, `appname` (3164's TAG), `procid` (3164's `[pid]`),
// `msgid`, `structured_data` (as written) and `message`; each structured-data
// parameter as `sd.<SD-ID>.<PARAM-NAME>` (escapes removed; the first wins when
// a name repeats). A part that is absent or NILVALUE (`-`) is missing, as is
// a message that is exactly `-`. Numbers where a value is one in full.
//   id:        ContentId("syslog", line).
//   time:      the timestamp. RFC 3164's has no year or zone: it is read as
//              UTC in the year of the ingest time, or the year before when
//              that would put it more than a day after the ingest time (a
//              December line read in January). No usable timestamp: the
//              ingest time, with a warning.
//   principal: hostname.  resources: appname.
// A line that is neither form (no timestamp where 3164 has one, a PRI over
// 191, unterminated structured data) is a dead letter with the reason.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "formats/parser.h"

namespace vigil {

inline constexpr std::string_view kSyslog = "syslog";

std::unique_ptr<Parser> MakeSyslogParser(const InputLimits& limits = {});

// RFC 3164's `Mmm dd hh:mm:ss` (day space- or zero-padded) with the year rule
// above, as nanoseconds UTC; nullopt when `text` is not one.
std::optional<int64_t> ParseBsdSyslogTime(std::string_view text, int64_t ingest_time_ns);

}  // namespace vigil
