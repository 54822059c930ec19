#include "ingest/syslog_framing.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>

namespace vigil {
namespace {

// RFC 6587's MSG-LEN has no stated bound; 9 digits (under 1 GB) is more than
// any receiver buffers, and a longer run of digits is text, not a length.
constexpr size_t kMaxLengthDigits = 9;
// The first of `chars` in s[from, end), or npos. One memchr per byte value:
// std::string_view::find_first_of runs a memchr over the set for every byte
// of the input, which made it most of a listener's CPU time.
size_t FindFirst(std::string_view s, size_t from, std::initializer_list<char> chars) {
  size_t end = s.size();
  for (char c : chars) {
    if (from >= end) break;
    const void* hit = std::memchr(s.data() + from, c, end - from);
    if (hit) end = static_cast<size_t>(static_cast<const char*>(hit) - s.data());
  }
  return end == s.size() ? std::string_view::npos : end;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view StripTrailingCr(std::string_view s) {
  while (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

}  // namespace

SyslogFrameDecoder::SyslogFrameDecoder(size_t max_message_bytes)
    // Room for the digits of an unframed line that starts with a number.
    : max_(std::max(max_message_bytes, kMaxLengthDigits + 1)) {}

void SyslogFrameDecoder::Emit(const SyslogMessageFn& fn) {
  std::string_view m = message_;
  if (state_ == State::kLine) m = StripTrailingCr(m);
  if (!m.empty()) fn(m, truncated_);
  message_.clear();
  truncated_ = false;
  length_ = 0;
  digits_ = 0;
  state_ = State::kStart;
}

void SyslogFrameDecoder::Feed(std::string_view data, const SyslogMessageFn& fn) {
  size_t i = 0;
  const size_t n = data.size();
  while (i < n) {
    switch (state_) {
      case State::kStart: {
        char c = data[i];
        if (c == '\n' || c == '\r' || c == '\0') {
          ++i;
        } else if (c >= '1' && c <= '9') {
          state_ = State::kLength;
          length_ = 0;
          digits_ = 0;
        } else {
          state_ = State::kLine;
        }
        break;
      }
      case State::kLength: {
        char c = data[i];
        if (IsDigit(c) && digits_ < kMaxLengthDigits) {
          length_ = length_ * 10 + static_cast<uint64_t>(c - '0');
          message_.push_back(c);
          ++digits_;
          ++i;
        } else if (c == ' ') {
          ++i;
          message_.clear();
          digits_ = 0;
          state_ = State::kOctets;
        } else {
          // Not a length: the digits read are the start of an LF-framed line.
          digits_ = 0;
          state_ = State::kLine;
        }
        break;
      }
      case State::kOctets: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(length_, n - i));
        if (message_.empty() && !truncated_ && take == length_ && take <= max_) {
          // The whole frame is in this piece: no copy.
          fn(data.substr(i, take), false);
          i += take;
          length_ = 0;
          state_ = State::kStart;
          break;
        }
        size_t keep = std::min(take, max_ - message_.size());
        message_.append(data.substr(i, keep));
        if (keep < take) truncated_ = true;
        i += take;
        length_ -= take;
        if (length_ == 0) Emit(fn);
        break;
      }
      case State::kLine: {
        size_t end = FindFirst(data, i, {'\n', '\0'});
        bool complete = end != std::string_view::npos;
        std::string_view piece = data.substr(i, complete ? end - i : n - i);
        if (complete && message_.empty() && !truncated_ && piece.size() <= max_) {
          piece = StripTrailingCr(piece);
          if (!piece.empty()) fn(piece, false);
          state_ = State::kStart;
        } else {
          size_t keep = std::min(piece.size(), max_ - message_.size());
          message_.append(piece.substr(0, keep));
          if (keep < piece.size()) truncated_ = true;
          if (complete) Emit(fn);
        }
        i = complete ? end + 1 : n;
        break;
      }
    }
  }
}

size_t SyslogFrameDecoder::Finish(const SyslogMessageFn& fn) {
  size_t missing = 0;
  if (state_ == State::kLine || state_ == State::kLength) {
    state_ = State::kLine;  // digits alone at the end are a line too
    Emit(fn);
  } else if (state_ == State::kOctets) {
    missing = static_cast<size_t>(length_);
  }
  message_.clear();
  truncated_ = false;
  length_ = 0;
  digits_ = 0;
  state_ = State::kStart;
  return missing;
}

bool AppendSyslogLine(std::string_view message, std::string* out) {
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == '\0'))
    message.remove_suffix(1);
  if (message.empty()) return false;
  if (!out->empty()) out->push_back('\n');
  size_t pos = 0;
  while (true) {
    size_t c = FindFirst(message, pos, {'\n', '\r', '\0'});
    if (c == std::string_view::npos) {
      out->append(message.substr(pos));
      return true;
    }
    out->append(message.substr(pos, c - pos));
    out->append(message[c] == '\n' ? "#012" : message[c] == '\r' ? "#015" : "#000");
    pos = c + 1;
  }
}

}  // namespace vigil
