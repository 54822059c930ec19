// Parser for Sigma detection conditions.
//
// Precedence, least to most binding: or, and, not, `x of`, parentheses.
#include <string>
#include <vector>

#include "detect/sigma/internal/detection.h"

namespace vigil::sigma_internal {
namespace {

constexpr int kMaxDepth = 64;

struct Token {
  enum Kind { kWord, kOpen, kClose, kEnd } kind;
  std::string text;
};

std::vector<Token> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '(') {
      out.push_back({Token::kOpen, "("});
      ++i;
    } else if (c == ')') {
      out.push_back({Token::kClose, ")"});
      ++i;
    } else {
      size_t start = i;
      while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '(' && s[i] != ')')
        ++i;
      out.push_back({Token::kWord, std::string(s.substr(start, i - start))});
    }
  }
  out.push_back({Token::kEnd, ""});
  return out;
}

bool IsWord(const Token& t, std::string_view w) { return t.kind == Token::kWord && EqualsIgnoreCase(t.text, w); }

bool IsKeyword(const Token& t) {
  return IsWord(t, "and") || IsWord(t, "or") || IsWord(t, "not") || IsWord(t, "of") || IsWord(t, "them");
}

class Parser {
 public:
  Parser(std::vector<Token> toks, const std::vector<Selection>& sels) : toks_(std::move(toks)), sels_(sels) {}

  Result<CondNode> ParseAll() {
    VIGIL_ASSIGN_OR_RETURN(CondNode n, ParseOr(0));
    if (Peek().kind != Token::kEnd) return Error("unexpected `" + Peek().text + "`");
    return n;
  }

 private:
  const Token& Peek() const { return toks_[pos_]; }
  const Token& Next() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  Status Error(const std::string& what) const { return Status::InvalidArgument("condition: " + what); }

  Result<CondNode> ParseOr(int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    VIGIL_ASSIGN_OR_RETURN(CondNode left, ParseAnd(depth));
    if (!IsWord(Peek(), "or")) return left;
    CondNode n;
    n.op = CondNode::Op::kOr;
    n.kids.push_back(std::move(left));
    while (IsWord(Peek(), "or")) {
      Next();
      VIGIL_ASSIGN_OR_RETURN(CondNode right, ParseAnd(depth));
      n.kids.push_back(std::move(right));
    }
    return n;
  }

  Result<CondNode> ParseAnd(int depth) {
    VIGIL_ASSIGN_OR_RETURN(CondNode left, ParseNot(depth));
    if (!IsWord(Peek(), "and")) return left;
    CondNode n;
    n.op = CondNode::Op::kAnd;
    n.kids.push_back(std::move(left));
    while (IsWord(Peek(), "and")) {
      Next();
      VIGIL_ASSIGN_OR_RETURN(CondNode right, ParseNot(depth));
      n.kids.push_back(std::move(right));
    }
    return n;
  }

  Result<CondNode> ParseNot(int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    if (IsWord(Peek(), "not")) {
      Next();
      VIGIL_ASSIGN_OR_RETURN(CondNode inner, ParseNot(depth + 1));
      CondNode n;
      n.op = CondNode::Op::kNot;
      n.kids.push_back(std::move(inner));
      return n;
    }
    return ParsePrimary(depth);
  }

  Result<CondNode> ParsePrimary(int depth) {
    const Token& t = Peek();
    if (t.kind == Token::kOpen) {
      Next();
      VIGIL_ASSIGN_OR_RETURN(CondNode inner, ParseOr(depth + 1));
      if (Peek().kind != Token::kClose) return Error("missing `)`");
      Next();
      return inner;
    }
    if (t.kind == Token::kEnd) return Error("unexpected end of condition");
    if (t.kind == Token::kClose) return Error("unexpected `)`");
    if (toks_[pos_ + 1].kind == Token::kWord && IsWord(toks_[pos_ + 1], "of")) return ParseQuantified();
    if (IsKeyword(t)) return Error("unexpected `" + t.text + "`");
    std::string name = Next().text;
    for (size_t i = 0; i < sels_.size(); ++i) {
      if (sels_[i].name == name) {
        CondNode n;
        n.selection = static_cast<int>(i);
        return n;
      }
    }
    return Error("unknown search identifier `" + name + "`");
  }

  // `1 of X*`, `all of them`, `any of sel_*`, `N of X*`.
  Result<CondNode> ParseQuantified() {
    std::string quant = Next().text;
    Next();  // of
    const Token& target = Next();
    if (target.kind != Token::kWord || (IsKeyword(target) && !IsWord(target, "them")))
      return Error("`" + quant + " of` needs `them` or a search-identifier pattern");
    CondNode n;
    if (EqualsIgnoreCase(quant, "all")) {
      n.op = CondNode::Op::kAnd;
    } else if (EqualsIgnoreCase(quant, "any")) {
      n.op = CondNode::Op::kOr;
    } else {
      int count = 0;
      for (char c : quant) {
        if (c < '0' || c > '9' || count > 100000) return Error("bad quantifier `" + quant + " of`");
        count = count * 10 + (c - '0');
      }
      if (count < 1) return Error("bad quantifier `" + quant + " of`");
      n.op = count == 1 ? CondNode::Op::kOr : CondNode::Op::kAtLeast;
      n.count = count;
    }
    const bool them = IsWord(target, "them");
    GlobPattern pattern = GlobPattern::Compile(target.text, /*case_sensitive=*/true);
    for (size_t i = 0; i < sels_.size(); ++i) {
      const std::string& name = sels_[i].name;
      if (them ? (!name.empty() && name[0] == '_') : !pattern.Matches(name)) continue;
      CondNode ref;
      ref.selection = static_cast<int>(i);
      n.kids.push_back(std::move(ref));
    }
    if (n.kids.empty()) return Error("`" + quant + " of " + target.text + "` matches no search identifier");
    return n;
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  const std::vector<Selection>& sels_;
};

}  // namespace

Result<CondNode> ParseCondition(std::string_view text, const std::vector<Selection>& selections) {
  size_t bar = text.find('|');
  if (bar != std::string_view::npos) {
    std::string agg = ToLower(TrimSpace(text.substr(bar + 1)));
    for (std::string_view fn : {"count", "min", "max", "avg", "sum"}) {
      if (agg.rfind(fn, 0) == 0 && agg.find('(') != std::string::npos)
        return Status::Unsupported(
            "aggregation expressions are deprecated; correlation rules needed (Sigma correlation specification)");
    }
    if (agg.rfind("near", 0) == 0)
      return Status::Unsupported(
          "`near` aggregation is deprecated; a temporal correlation rule is needed (Sigma correlation "
          "specification, Temporal Proximity)");
    return Status::InvalidArgument("condition: unexpected `|` in `" + std::string(TrimSpace(text)) + "`");
  }
  if (TrimSpace(text).empty()) return Status::InvalidArgument("condition is empty");
  Parser p(Tokenize(text), selections);
  return p.ParseAll();
}

}  // namespace vigil::sigma_internal
