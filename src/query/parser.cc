#include "query/parser.h"

#include <algorithm>
#include <array>
#include <utility>

#include "common/glob.h"
#include "common/ip.h"
#include "query/internal/bound.h"
#include "query/internal/lexer.h"
#include "query/internal/pipe_parser.h"

namespace vigil {
namespace {

using query_internal::Lex;
using query_internal::ParseBound;
using query_internal::QueryError;
using query_internal::Token;
using query_internal::TokenKind;

bool IsCompareOp(TokenKind k) {
  return k == TokenKind::kEq || k == TokenKind::kNe || k == TokenKind::kLt || k == TokenKind::kLe ||
         k == TokenKind::kGt || k == TokenKind::kGe;
}

CompareOp ToCompareOp(TokenKind k) {
  switch (k) {
    case TokenKind::kNe:
      return CompareOp::kNe;
    case TokenKind::kLt:
      return CompareOp::kLt;
    case TokenKind::kLe:
      return CompareOp::kLe;
    case TokenKind::kGt:
      return CompareOp::kGt;
    case TokenKind::kGe:
      return CompareOp::kGe;
    default:
      return CompareOp::kEq;
  }
}

std::string Describe(const Token& t) {
  if (t.kind == TokenKind::kEnd) return "end of query";
  constexpr size_t kMax = 40;
  std::string s = "'";
  s.append(t.raw.substr(0, kMax));
  if (t.raw.size() > kMax) s += "...";
  s += "'";
  return s;
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens, const QueryLimits& limits)
      : text_(text), tokens_(std::move(tokens)), limits_(limits) {}

  Result<Query> Parse() {
    Query query;
    if (Peek().kind != TokenKind::kEnd && Peek().kind != TokenKind::kPipe) {
      VIGIL_ASSIGN_OR_RETURN(query.search, ParseOr(0));
      if (Peek().kind != TokenKind::kEnd && Peek().kind != TokenKind::kPipe) return Unexpected(Peek());
    }
    if (Peek().kind == TokenKind::kPipe) {
      VIGIL_ASSIGN_OR_RETURN(query.pipes, query_internal::ParsePipes(text_, Peek().offset, limits_.max_depth));
    }
    return query;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  // Consumes a token; never moves past the final kEnd.
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (t.kind != TokenKind::kEnd) ++pos_;
    return t;
  }

  Status Error(const Token& at, const std::string& what) const {
    return QueryError(StatusCode::kInvalidArgument, text_, at.offset, what);
  }
  Status Unexpected(const Token& t) const {
    if (IsCompareOp(t.kind)) return Error(t, "missing field name before " + Describe(t));
    return Error(t, "unexpected " + Describe(t));
  }
  Status TooDeep(const Token& at) const {
    return QueryError(StatusCode::kLimitExceeded, text_, at.offset,
                      "query nests deeper than " + std::to_string(limits_.max_depth) + " levels");
  }

  // An unquoted AND/OR/NOT keyword at `pos`. A keyword directly followed by a
  // comparison operator is a field name (`not=1` compares field `not`).
  bool KeywordAt(size_t pos, std::string_view keyword) const {
    return query_internal::IsKeyword(tokens_[pos], keyword) && !IsCompareOp(tokens_[pos + 1].kind);
  }

  // Whether the next token can begin an operand (of AND, OR, NOT or juxtaposition).
  bool StartsOperand() const {
    const Token& t = Peek();
    if (t.kind == TokenKind::kString || t.kind == TokenKind::kLParen) return true;
    return t.kind == TokenKind::kWord && !KeywordAt(pos_, "AND") && !KeywordAt(pos_, "OR");
  }

  Status ExpectOperandAfter(const Token& op) const {
    if (StartsOperand()) return Status::Ok();
    return Error(Peek(), "expected a search term after '" + std::string(op.raw) + "', found " + Describe(Peek()));
  }

  static SearchExpr MakeNary(SearchExpr::Kind kind, std::vector<SearchExpr> operands) {
    if (operands.size() == 1) return std::move(operands.front());
    SearchExpr e;
    e.kind = kind;
    e.offset = operands.front().offset;
    for (SearchExpr& o : operands) {
      if (o.kind == kind) {  // (a AND b) AND c: one flat AND
        for (SearchExpr& c : o.children) e.children.push_back(std::move(c));
      } else {
        e.children.push_back(std::move(o));
      }
    }
    return e;
  }

  Result<SearchExpr> ParseOr(size_t depth) {
    std::vector<SearchExpr> operands;
    VIGIL_ASSIGN_OR_RETURN(SearchExpr first, ParseAnd(depth));
    operands.push_back(std::move(first));
    while (KeywordAt(pos_, "OR")) {
      const Token& op = Next();
      VIGIL_RETURN_IF_ERROR(ExpectOperandAfter(op));
      VIGIL_ASSIGN_OR_RETURN(SearchExpr next, ParseAnd(depth));
      operands.push_back(std::move(next));
    }
    return MakeNary(SearchExpr::Kind::kOr, std::move(operands));
  }

  Result<SearchExpr> ParseAnd(size_t depth) {
    std::vector<SearchExpr> operands;
    VIGIL_ASSIGN_OR_RETURN(SearchExpr first, ParseUnary(depth));
    operands.push_back(std::move(first));
    while (true) {
      if (KeywordAt(pos_, "AND")) {
        const Token& op = Next();
        VIGIL_RETURN_IF_ERROR(ExpectOperandAfter(op));
      } else if (!StartsOperand()) {
        break;  // implicit AND continues only while operands follow
      }
      VIGIL_ASSIGN_OR_RETURN(SearchExpr next, ParseUnary(depth));
      operands.push_back(std::move(next));
    }
    return MakeNary(SearchExpr::Kind::kAnd, std::move(operands));
  }

  Result<SearchExpr> ParseUnary(size_t depth) {
    if (KeywordAt(pos_, "NOT")) {
      const Token& op = Next();
      if (depth + 1 > limits_.max_depth) return TooDeep(op);
      VIGIL_RETURN_IF_ERROR(ExpectOperandAfter(op));
      VIGIL_ASSIGN_OR_RETURN(SearchExpr operand, ParseUnary(depth + 1));
      SearchExpr e;
      e.kind = SearchExpr::Kind::kNot;
      e.offset = op.offset;
      e.children.push_back(std::move(operand));
      return e;
    }
    if (Peek().kind == TokenKind::kLParen) {
      const Token& open = Next();
      if (depth + 1 > limits_.max_depth) return TooDeep(open);
      VIGIL_RETURN_IF_ERROR(ExpectOperandAfter(open));
      VIGIL_ASSIGN_OR_RETURN(SearchExpr inner, ParseOr(depth + 1));
      if (Peek().kind == TokenKind::kRParen) {
        Next();
        return inner;
      }
      if (Peek().kind == TokenKind::kEnd || Peek().kind == TokenKind::kPipe) {
        return Error(open, "unbalanced parentheses: this '(' is never closed");
      }
      return Unexpected(Peek());
    }
    return ParseTerm();
  }

  Result<SearchExpr> ParseTerm() {
    const Token& t = Peek();
    if ((t.kind != TokenKind::kWord && t.kind != TokenKind::kString) || KeywordAt(pos_, "AND") ||
        KeywordAt(pos_, "OR")) {
      return Unexpected(t);
    }
    Next();
    SearchExpr e;
    e.offset = t.offset;
    if (!IsCompareOp(Peek().kind)) {
      if (t.literal.empty()) return Error(t, "empty search term");
      e.kind = SearchExpr::Kind::kText;
      e.value = t.pattern;
      e.quoted = t.kind == TokenKind::kString;
      return e;
    }
    const Token& op = Next();
    if (t.has_wildcard) return Error(t, "wildcards are not allowed in field names");
    const std::string& name = t.literal;
    if (name.empty() || name.front() == '.' || name.back() == '.' || name.find("..") != std::string::npos) {
      return Error(t, "invalid field name " + Describe(t));
    }
    const Token& v = Peek();
    if (v.kind != TokenKind::kWord && v.kind != TokenKind::kString) {
      return Error(v, "expected a value after '" + std::string(op.raw) + "', found " + Describe(v));
    }
    Next();
    if (v.offset > op.offset + op.raw.size() && IsCompareOp(Peek().kind)) {
      // `eventName= userName=bob`: the value was left out and the next term taken for it.
      return Error(v, "expected a value after '" + std::string(op.raw) + "', found field " + Describe(v));
    }
    e.kind = SearchExpr::Kind::kCompare;
    e.field = FieldPath(name);
    e.op = ToCompareOp(op.kind);
    e.value = v.pattern;
    e.quoted = v.kind == TokenKind::kString;
    e.network = (e.op == CompareOp::kEq || e.op == CompareOp::kNe) && !v.has_wildcard &&
                v.literal.find('/') != std::string::npos && ParseCidr(v.literal).has_value();
    if (e.op != CompareOp::kEq && e.op != CompareOp::kNe) {
      if (v.has_wildcard || !ParseBound(v.literal)) {
        return Error(v, "'" + std::string(op.raw) + "' needs a number or an RFC 3339 time, found " + Describe(v));
      }
      e.value = v.literal;
    }
    return e;
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  QueryLimits limits_;
  size_t pos_ = 0;
};

}  // namespace

Result<Query> ParseQuery(std::string_view text, const QueryLimits& limits) {
  if (text.size() > limits.max_query_bytes) {
    return Status::LimitExceeded("query: " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                                 std::to_string(limits.max_query_bytes) + " bytes");
  }
  VIGIL_ASSIGN_OR_RETURN(std::vector<Token> tokens, query_internal::Lex(text, /*stop_at_pipe=*/true));
  return Parser(text, std::move(tokens), limits).Parse();
}

}  // namespace vigil
