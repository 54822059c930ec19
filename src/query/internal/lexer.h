// Tokens of the query language. Internal to the query module.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil::query_internal {

enum class TokenKind {
  kEnd,     // end of the query (offset == text size)
  kWord,    // unquoted run of characters
  kString,  // "double quoted"
  kEq,      // =
  kNe,      // !=
  kLt,      // <
  kLe,      // <=
  kGt,      // >
  kGe,      // >=
  kLParen,  // (
  kRParen,  // )
  kPipe,    // |
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t offset = 0;     // byte offset in the query text
  std::string_view raw;  // the token as written (a view into the query text)
  // kWord and kString only:
  std::string pattern;        // GlobPattern text: wildcards live, `\*` `\?` `\\` kept escaped
  std::string literal;        // every escape resolved; wildcards are plain characters
  bool has_wildcard = false;  // an unescaped `*` or `?` occurs
};

// Splits `text` into tokens, the last of which is kEnd. Fails on an
// unterminated quoted string (error points at its opening quote). With
// `stop_at_pipe` it stops after the first `|` (then the kEnd token sits at
// the pipe's offset): the pipe stages have a lexer of their own.
Result<std::vector<Token>> Lex(std::string_view text, bool stop_at_pipe = false);

// "query: <what> at column N\n  <text>\n  <caret>": an error pointing at `offset`.
Status QueryError(StatusCode code, std::string_view text, size_t offset, std::string_view what);

// True when `token` is the unquoted keyword `keyword` (given in upper case),
// compared case-insensitively.
bool IsKeyword(const Token& token, std::string_view keyword);

}  // namespace vigil::query_internal
