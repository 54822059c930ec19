// Syslog framing over a byte stream (RFC 6587, also RFC 5425 for TLS): cuts
// what a TCP or TLS connection delivers, in whatever pieces it arrives, into
// syslog messages.
//
// Each message's framing is detected from its first byte, as RFC 6587 3.4
// describes, so one connection may mix both:
//   - octet counting `<len> <msg>` when it starts with a digit 1-9: `len`
//     (at most 9 digits) bytes follow the space, LF and NUL included;
//   - otherwise non-transparent framing: the message runs to the next LF or
//     NUL; a CR before the LF is dropped (CRLF senders).
// Digits not followed by a space (an unframed line that starts with a year,
// `2024-05-01T10:00:00Z host app: ...`) are read as a non-transparent message,
// so a sender that frames by LF loses nothing. LF, CR and NUL between
// messages are skipped, as are empty messages.
//
// Oversized messages: a message longer than max_message_bytes is truncated to
// its first max_message_bytes (where the header, the part that can be parsed,
// is) and the rest of its frame is skipped without being buffered; the
// callback is told, so the listener counts it. The connection stays open:
// octet counting says where the next message starts, and non-transparent
// framing resynchronises at the next LF.
//
// Memory: at most max_message_bytes (plus a 9-digit length) is buffered,
// whatever the sender sends.
// Lifetime: the message view passed to the callback is valid only during the
// call. Thread safety: one decoder per connection, used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace vigil {

// One decoded message (framing removed, never empty). `truncated`: the frame
// was longer than max_message_bytes and `message` is its start.
using SyslogMessageFn = std::function<void(std::string_view message, bool truncated)>;

class SyslogFrameDecoder {
 public:
  explicit SyslogFrameDecoder(size_t max_message_bytes);

  // Decodes `data`, the next bytes of the stream; calls `fn` for every message
  // it completes, in order. Never fails: every byte sequence frames somehow.
  void Feed(std::string_view data, const SyslogMessageFn& fn);

  // The stream ended. A non-transparent message without its final LF is
  // complete (senders that close without one) and passed to `fn`. Returns
  // how many bytes of an octet-counted message were still to come (0 when
  // none was cut short; that message is dropped), for the caller to report.
  size_t Finish(const SyslogMessageFn& fn);

  // Bytes held for an incomplete message.
  size_t buffered() const { return message_.size(); }

 private:
  enum class State { kStart, kLength, kOctets, kLine };
  void Emit(const SyslogMessageFn& fn);

  size_t max_;
  State state_ = State::kStart;
  std::string message_;     // the incomplete message, at most max_ bytes
  uint64_t length_ = 0;     // kLength: the count so far; kOctets: bytes still to come
  size_t digits_ = 0;       // kLength: digits read
  bool truncated_ = false;  // bytes of the current frame were dropped
};

// Appends `message` to a batch of newline-separated lines (the form the
// syslog parser reads): a '\n' first when `*out` is not empty, then the
// message with trailing LF/CR/NUL removed and each LF, CR and NUL inside it
// written as rsyslog writes control characters (`#012`, `#015`, `#000`), so a
// multi-line octet-counted message stays one line, one event. A message of
// nothing but line ends appends nothing and returns false.
bool AppendSyslogLine(std::string_view message, std::string* out);

}  // namespace vigil
