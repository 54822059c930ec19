#include "query/internal/lexer.h"

#include <algorithm>

#include "common/glob.h"

namespace vigil::query_internal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Characters that end an unquoted word. `!` only does so before `=`.
bool EndsWord(std::string_view text, size_t i) {
  char c = text[i];
  if (IsSpace(c)) return true;
  switch (c) {
    case '=':
    case '<':
    case '>':
    case '(':
    case ')':
    case '|':
    case '"':
      return true;
    case '!':
      return i + 1 < text.size() && text[i + 1] == '=';
    default:
      return false;
  }
}

bool IsGlobEscapable(char c) { return c == '*' || c == '?' || c == '\\'; }

// Appends one escaped character: glob metacharacters keep their backslash in
// the pattern so that GlobPattern reads them literally.
void AppendEscaped(Token& t, char c) {
  if (IsGlobEscapable(c)) t.pattern.push_back('\\');
  t.pattern.push_back(c);
  t.literal.push_back(c);
}

void AppendPlain(Token& t, char c) {
  t.pattern.push_back(c);
  t.literal.push_back(c);
  if (c == '*' || c == '?') t.has_wildcard = true;
}

// Counts UTF-8 code points in `s` (continuation bytes do not start one).
size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Lexes the unquoted word starting at `i` into `t`; returns the offset after it.
// A backslash makes the next character literal (and keeps glob metacharacters
// escaped); a backslash at the very end is itself literal.
size_t LexWord(std::string_view text, size_t i, Token& t) {
  t.kind = TokenKind::kWord;
  const size_t n = text.size();
  size_t j = i;
  while (j < n && (j == i || !EndsWord(text, j))) {
    char d = text[j];
    if (d == '\\') {
      AppendEscaped(t, j + 1 < n ? text[j + 1] : '\\');
      j += j + 1 < n ? 2 : 1;
      continue;
    }
    AppendPlain(t, d);
    ++j;
  }
  t.raw = text.substr(i, j - i);
  return j;
}

}  // namespace

Result<std::vector<Token>> Lex(std::string_view text, bool stop_at_pipe) {
  std::vector<Token> tokens;
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    while (i < n && IsSpace(text[i])) ++i;
    Token t;
    t.offset = i;
    if (i == n) {
      t.kind = TokenKind::kEnd;
      tokens.push_back(std::move(t));
      return tokens;
    }
    const char c = text[i];
    auto single = [&](TokenKind kind, size_t len) {
      t.kind = kind;
      t.raw = text.substr(i, len);
      i += len;
    };
    const bool next_eq = i + 1 < n && text[i + 1] == '=';
    switch (c) {
      case '=':
        single(TokenKind::kEq, 1);
        break;
      case '!':
        if (next_eq) {
          single(TokenKind::kNe, 2);
          break;
        }
        i = LexWord(text, i, t);  // a `!` not before `=` is an ordinary character
        break;
      case '<':
        single(next_eq ? TokenKind::kLe : TokenKind::kLt, next_eq ? 2 : 1);
        break;
      case '>':
        single(next_eq ? TokenKind::kGe : TokenKind::kGt, next_eq ? 2 : 1);
        break;
      case '(':
        single(TokenKind::kLParen, 1);
        break;
      case ')':
        single(TokenKind::kRParen, 1);
        break;
      case '|':
        single(TokenKind::kPipe, 1);
        if (stop_at_pipe) {
          Token end;
          end.kind = TokenKind::kEnd;
          end.offset = t.offset;
          tokens.push_back(std::move(t));
          tokens.push_back(std::move(end));
          return tokens;
        }
        break;
      case '"': {
        t.kind = TokenKind::kString;
        size_t j = i + 1;
        bool closed = false;
        while (j < n) {
          char d = text[j];
          if (d == '"') {
            closed = true;
            break;
          }
          if (d == '\\' && j + 1 < n) {
            char e = text[j + 1];
            if (e == '"') {
              t.pattern.push_back('"');
              t.literal.push_back('"');
            } else if (IsGlobEscapable(e)) {
              AppendEscaped(t, e);
            } else {
              // Not an escape: the backslash is literal (as in Sigma), e.g. "C:\Windows".
              t.pattern.append("\\\\");
              t.literal.push_back('\\');
              ++j;
              continue;
            }
            j += 2;
            continue;
          }
          if (d == '\\') {  // a final backslash before the end of text: literal
            t.pattern.append("\\\\");
            t.literal.push_back('\\');
            ++j;
            continue;
          }
          AppendPlain(t, d);
          ++j;
        }
        if (!closed) {
          return QueryError(StatusCode::kInvalidArgument, text, i, "unterminated quoted string");
        }
        t.raw = text.substr(i, j + 1 - i);
        i = j + 1;
        break;
      }
      default:
        i = LexWord(text, i, t);
        break;
    }
    tokens.push_back(std::move(t));
  }
}

Status QueryError(StatusCode code, std::string_view text, size_t offset, std::string_view what) {
  offset = std::min(offset, text.size());
  // Show a window of the query around the offset so the caret stays readable
  // for long queries; cut on code point boundaries.
  constexpr size_t kContext = 60;
  auto is_cont = [&](size_t k) { return k < text.size() && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80; };
  size_t begin = offset > kContext ? offset - kContext : 0;
  while (begin > 0 && is_cont(begin)) --begin;
  size_t end = std::min(text.size(), offset + kContext);
  while (end < text.size() && is_cont(end)) ++end;

  std::string line = begin > 0 ? "..." : "";
  const size_t prefix = line.size();
  for (size_t k = begin; k < end; ++k) {
    unsigned char c = static_cast<unsigned char>(text[k]);
    line.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));  // keep the caret aligned
  }
  if (end < text.size()) line += "...";

  const size_t column = CodePoints(text.substr(0, offset)) + 1;
  const size_t caret = prefix + CodePoints(text.substr(begin, offset - begin));
  std::string message = "query: ";
  message.append(what);
  message += " at column " + std::to_string(column) + "\n  " + line + "\n  " + std::string(caret, ' ') + "^";
  return Status(code, std::move(message));
}

bool IsKeyword(const Token& token, std::string_view keyword) {
  return token.kind == TokenKind::kWord && EqualsIgnoreCase(token.raw, keyword);
}

}  // namespace vigil::query_internal
