#include "detect/cloudwatch/filter_pattern.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/glob.h"

namespace vigil {
namespace {

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIsNull, kNotExists, kIsTrue, kIsFalse };

// One `selector op value` (or `selector IS NULL` ...) test.
struct Comparison {
  FieldPath path;
  Op op = Op::kEq;
  // The value was a bare number (`5`, `-1.5`, `1e3`): compared numerically.
  bool numeric = false;
  double number = 0;
  // The value as a wildcard pattern (string comparisons). AWS gives only `*`
  // a meaning, so `?` and `\` were escaped before GlobPattern compiled it.
  GlobPattern glob;
};

struct Node {
  enum class Kind { kAnd, kOr, kCompare } kind = Kind::kCompare;
  std::vector<int> children;  // kAnd, kOr: node indexes
  int compare = -1;           // kCompare: index into comparisons
};

// `-?(digits[.digits]|.digits)([eE][+-]?digits)?`, whole text. Used for the
// pattern's bare values and for numeric strings in records.
bool ParseNumber(std::string_view s, double* out) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = digits();
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    frac_digits = digits();
  }
  if (int_digits + frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  if (i != s.size()) return false;
  // from_chars rejects a leading '+' and a bare leading '.'; normalise both.
  std::string_view body = s;
  bool negative = false;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  double v = 0;
  char buf[64];
  if (body[0] == '.' && body.size() < sizeof buf) {
    buf[0] = '0';
    body.copy(buf + 1, body.size());
    auto r = std::from_chars(buf, buf + body.size() + 1, v);
    if (r.ec != std::errc() && r.ec != std::errc::result_out_of_range) return false;
  } else {
    auto r = std::from_chars(body.data(), body.data() + body.size(), v);
    if (r.ec != std::errc() && r.ec != std::errc::result_out_of_range) return false;
  }
  *out = negative ? -v : v;
  return true;
}

// The number a record value stands for: a JSON number, or a string that is
// entirely a number ("443", "1.5e3").
bool NumberOf(const FieldValue& v, double* out) {
  if (v.kind == ValueKind::kNumber) {
    *out = v.number;
    return true;
  }
  if (v.kind == ValueKind::kString) return ParseNumber(v.text, out);
  return false;
}

bool IsScalarText(const FieldValue& v) {
  return v.kind == ValueKind::kString || v.kind == ValueKind::kNumber || v.kind == ValueKind::kBool;
}

// Does one value satisfy `=` (kEq, also used for kNe), `<`, `<=`, `>`, `>=`?
bool ValueMatches(const Comparison& c, const FieldValue& v) {
  if (c.op == Op::kEq || c.op == Op::kNe) {
    if (c.numeric) {
      double n;
      return NumberOf(v, &n) && n == c.number;
    }
    return IsScalarText(v) && c.glob.Matches(v.text);
  }
  double n;
  if (!NumberOf(v, &n)) return false;
  switch (c.op) {
    case Op::kLt:
      return n < c.number;
    case Op::kLe:
      return n <= c.number;
    case Op::kGt:
      return n > c.number;
    case Op::kGe:
      return n >= c.number;
    default:
      return false;
  }
}

bool KindMatches(Op op, const FieldValue& v) {
  switch (op) {
    case Op::kIsNull:
      return v.kind == ValueKind::kNull;
    case Op::kIsTrue:
      return v.kind == ValueKind::kBool && v.boolean;
    case Op::kIsFalse:
      return v.kind == ValueKind::kBool && !v.boolean;
    default:
      return false;
  }
}

// State shared with the visitor by one reference, so the std::function holding
// the lambda stores it inline (no allocation per evaluation).
struct VisitState {
  const Comparison* c;
  bool found;
};

bool EvalCompare(const Comparison& c, const FieldResolver& fields) {
  if (c.op == Op::kNotExists) {
    static const FieldVisitor kStop = [](const FieldValue&) { return false; };
    return !fields.Visit(c.path, kStop);
  }
  VisitState st{&c, false};
  FieldVisitor visitor = [&st](const FieldValue& v) {
    Op op = st.c->op;
    if (op == Op::kIsNull || op == Op::kIsTrue || op == Op::kIsFalse) {
      st.found = KindMatches(op, v);
    } else {
      st.found = ValueMatches(*st.c, v);
    }
    return !st.found;  // stop at the first hit
  };
  fields.Visit(c.path, visitor);
  // `!=` is the negation of `=`: true when no value at the path equals the
  // operand, including when the field is absent.
  return c.op == Op::kNe ? !st.found : st.found;
}

// ---------------------------------------------------------------------------
// Parser: recursive descent over the pattern text. `pos_` indexes the text;
// columns in messages are 1-based.

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Characters that end a bare word or a selector name.
bool IsDelimiter(char c) {
  switch (c) {
    case '(':
    case ')':
    case '{':
    case '}':
    case '"':
    case '&':
    case '|':
    case '=':
    case '!':
    case '<':
    case '>':
      return true;
    default:
      return IsSpace(c);
  }
}

}  // namespace

struct FilterPattern::Compiled {
  std::string source;
  std::vector<Node> nodes;
  std::vector<Comparison> comparisons;
  int root = -1;
  bool uses_index = false;

  bool Eval(int n, const FieldResolver& fields) const {
    const Node& node = nodes[n];
    switch (node.kind) {
      case Node::Kind::kCompare:
        return EvalCompare(comparisons[node.compare], fields);
      case Node::Kind::kAnd:
        for (int c : node.children)
          if (!Eval(c, fields)) return false;
        return true;
      case Node::Kind::kOr:
        for (int c : node.children)
          if (Eval(c, fields)) return true;
        return false;
    }
    return false;
  }
};

namespace {

class Parser {
 public:
  Parser(std::string_view text, FilterPattern::Compiled* out) : text_(text), out_(out) {}

  Status Run() {
    SkipSpace();
    if (pos_ == text_.size()) {
      return Status::Unsupported(
          "filter pattern: an empty pattern (which matches every event) is not a JSON pattern; "
          "only JSON patterns `{ $.field = value }` are supported");
    }
    char first = text_[pos_];
    if (first == '[') {
      return Status::Unsupported(
          "filter pattern: space-delimited patterns `[field, ...]` are not supported; only JSON patterns "
          "`{ $.field = value }` are");
    }
    if (first == '%') {
      return Status::Unsupported(
          "filter pattern: regular-expression patterns `%...%` are not supported; only JSON patterns "
          "`{ $.field = value }` are");
    }
    if (first != '{') {
      return Status::Unsupported(
          "filter pattern: term patterns (words or quoted phrases searched in the whole event) are not "
          "supported; only JSON patterns `{ $.field = value }` are");
    }
    ++pos_;
    int root;
    VIGIL_RETURN_IF_ERROR(ParseOr(0, &root));
    SkipSpace();
    if (!Eat('}')) return Expected("'&&', '||' or '}'");
    SkipSpace();
    if (pos_ != text_.size()) return Expected("end of pattern after '}'");
    out_->root = root;
    return Status::Ok();
  }

 private:
  std::string_view text_;
  FilterPattern::Compiled* out_;
  size_t pos_ = 0;

  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }
  bool Eat(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool EatPair(const char* two) {
    if (pos_ + 1 < text_.size() && text_[pos_] == two[0] && text_[pos_ + 1] == two[1]) {
      pos_ += 2;
      return true;
    }
    return false;
  }

  // Names what stands at `pos` (up to 16 characters of it) for a message.
  std::string Found(size_t pos) const {
    if (pos >= text_.size()) return "end of pattern";
    size_t n = 0;
    while (pos + n < text_.size() && n < 16 && !IsSpace(text_[pos + n])) ++n;
    return "'" + std::string(text_.substr(pos, n)) + "'";
  }
  Status ErrorAt(size_t pos, const std::string& what) const {
    return Status::InvalidArgument("filter pattern: " + what + " at column " + std::to_string(pos + 1));
  }
  // "expected X, found 'Y', at column N", pointing at the next token.
  Status Expected(const std::string& what) const {
    size_t pos = pos_;
    while (pos < text_.size() && IsSpace(text_[pos])) ++pos;
    return ErrorAt(pos, "expected " + what + ", found " + Found(pos) + ",");
  }

  int AddNode(Node node) {
    out_->nodes.push_back(std::move(node));
    return static_cast<int>(out_->nodes.size()) - 1;
  }

  // or := and ( '||' and )*
  Status ParseOr(int depth, int* out) {
    Node node;
    node.kind = Node::Kind::kOr;
    int child;
    VIGIL_RETURN_IF_ERROR(ParseAnd(depth, &child));
    node.children.push_back(child);
    for (;;) {
      SkipSpace();
      if (!EatPair("||")) break;
      VIGIL_RETURN_IF_ERROR(ParseAnd(depth, &child));
      node.children.push_back(child);
    }
    *out = node.children.size() == 1 ? child : AddNode(std::move(node));
    return Status::Ok();
  }

  // and := primary ( '&&' primary )*
  Status ParseAnd(int depth, int* out) {
    Node node;
    node.kind = Node::Kind::kAnd;
    int child;
    VIGIL_RETURN_IF_ERROR(ParsePrimary(depth, &child));
    node.children.push_back(child);
    for (;;) {
      SkipSpace();
      if (!EatPair("&&")) break;
      VIGIL_RETURN_IF_ERROR(ParsePrimary(depth, &child));
      node.children.push_back(child);
    }
    *out = node.children.size() == 1 ? child : AddNode(std::move(node));
    return Status::Ok();
  }

  // primary := '(' or ')' | comparison
  Status ParsePrimary(int depth, int* out) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      if (depth >= FilterPattern::kMaxNesting) {
        return Status::LimitExceeded("filter pattern: parentheses nest deeper than " +
                                     std::to_string(FilterPattern::kMaxNesting) + " at column " +
                                     std::to_string(pos_ + 1));
      }
      ++pos_;
      VIGIL_RETURN_IF_ERROR(ParseOr(depth + 1, out));
      SkipSpace();
      if (!Eat(')')) return Expected("')'");
      return Status::Ok();
    }
    return ParseComparison(out);
  }

  // A keyword (IS, NULL, TRUE, FALSE, NOT, EXISTS), any ASCII case.
  bool EatKeyword(std::string_view kw) {
    if (pos_ + kw.size() > text_.size()) return false;
    if (!EqualsIgnoreCase(text_.substr(pos_, kw.size()), kw)) return false;
    if (pos_ + kw.size() < text_.size() && !IsDelimiter(text_[pos_ + kw.size()])) return false;
    pos_ += kw.size();
    return true;
  }

  // selector := '$' ( '.' name | '[' digits ']' )+
  Status ParseSelector(FieldPath* path) {
    if (!Eat('$')) return Expected("a selector such as '$.eventName'");
    std::string dotted;
    bool any = false;
    for (;;) {
      if (Eat('.')) {
        size_t start = pos_;
        while (pos_ < text_.size() && !IsDelimiter(text_[pos_]) && text_[pos_] != '.' && text_[pos_] != '[' &&
               text_[pos_] != ']')
          ++pos_;
        if (pos_ == start) return Expected("a field name after '.'");
        if (!dotted.empty()) dotted.push_back('.');
        dotted.append(text_.substr(start, pos_ - start));
        any = true;
      } else if (pos_ < text_.size() && text_[pos_] == '[') {
        ++pos_;
        size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
        if (pos_ == start) return Expected("an array index (digits) after '['");
        if (pos_ - start > 9) return ErrorAt(start, "array index too large");
        std::string_view digits = text_.substr(start, pos_ - start);
        if (!Eat(']')) return Expected("']'");
        if (!dotted.empty()) dotted.push_back('.');
        dotted.push_back('[');
        // Normalise leading zeros: [007] is element 7.
        uint32_t index = 0;
        std::from_chars(digits.data(), digits.data() + digits.size(), index);
        dotted.append(std::to_string(index));
        dotted.push_back(']');
        out_->uses_index = true;
        any = true;
      } else {
        break;
      }
    }
    if (!any) return Expected("'.' or '[' after '$'");
    *path = FieldPath(dotted);
    return Status::Ok();
  }

  // comparison := selector ( op value | IS NULL | IS TRUE | IS FALSE | NOT EXISTS )
  Status ParseComparison(int* out) {
    Comparison c;
    VIGIL_RETURN_IF_ERROR(ParseSelector(&c.path));
    SkipSpace();
    size_t op_pos = pos_;
    if (EatPair("!=")) {
      c.op = Op::kNe;
    } else if (EatPair("<=")) {
      c.op = Op::kLe;
    } else if (EatPair(">=")) {
      c.op = Op::kGe;
    } else if (Eat('=')) {
      c.op = Op::kEq;
    } else if (Eat('<')) {
      c.op = Op::kLt;
    } else if (Eat('>')) {
      c.op = Op::kGt;
    } else if (EatKeyword("IS")) {
      SkipSpace();
      if (EatKeyword("NULL")) {
        c.op = Op::kIsNull;
      } else if (EatKeyword("TRUE")) {
        c.op = Op::kIsTrue;
      } else if (EatKeyword("FALSE")) {
        c.op = Op::kIsFalse;
      } else {
        return Expected("NULL, TRUE or FALSE after IS");
      }
      return AddComparison(std::move(c), out);
    } else if (EatKeyword("NOT")) {
      SkipSpace();
      if (!EatKeyword("EXISTS")) return Expected("EXISTS after NOT");
      c.op = Op::kNotExists;
      return AddComparison(std::move(c), out);
    } else {
      return Expected("an operator (=, !=, <, <=, >, >=, IS NULL, IS TRUE, IS FALSE, NOT EXISTS)");
    }
    std::string op_text(text_.substr(op_pos, pos_ - op_pos));
    SkipSpace();
    size_t value_pos = pos_;
    std::string value;
    bool quoted = false;
    if (Eat('"')) {
      quoted = true;
      for (;;) {
        if (pos_ >= text_.size()) return ErrorAt(value_pos, "unterminated string starting");
        char ch = text_[pos_++];
        if (ch == '"') break;
        if (ch == '\\' && pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\\')) ch = text_[pos_++];
        value.push_back(ch);
      }
    } else {
      while (pos_ < text_.size() && !IsDelimiter(text_[pos_])) value.push_back(text_[pos_++]);
      if (value.empty()) return Expected("a value after the operator");
      if (value[0] == '%') {
        return Status::Unsupported("filter pattern: regular-expression values (%...%) at column " +
                                   std::to_string(value_pos + 1) + " are not supported yet");
      }
    }
    bool is_number = !quoted && ParseNumber(value, &c.number);
    if (c.op == Op::kLt || c.op == Op::kLe || c.op == Op::kGt || c.op == Op::kGe) {
      if (!is_number) {
        return ErrorAt(value_pos, "expected a number after '" + op_text + "'");
      }
    }
    c.numeric = is_number;
    if (!is_number) {
      // AWS gives `*` its wildcard meaning and nothing else; GlobPattern also
      // reads `?` and `\`, so escape those to keep them literal.
      std::string glob;
      glob.reserve(value.size());
      for (char ch : value) {
        if (ch == '?' || ch == '\\') glob.push_back('\\');
        glob.push_back(ch);
      }
      c.glob = GlobPattern::Compile(glob, /*case_sensitive=*/true);
    }
    return AddComparison(std::move(c), out);
  }

  Status AddComparison(Comparison c, int* out) {
    out_->comparisons.push_back(std::move(c));
    Node node;
    node.kind = Node::Kind::kCompare;
    node.compare = static_cast<int>(out_->comparisons.size()) - 1;
    *out = AddNode(std::move(node));
    return Status::Ok();
  }
};

}  // namespace

Result<FilterPattern> FilterPattern::Parse(std::string_view pattern) {
  if (pattern.size() > kMaxPatternBytes) {
    return Status::LimitExceeded("filter pattern: longer than " + std::to_string(kMaxPatternBytes) + " bytes");
  }
  auto compiled = std::make_shared<Compiled>();
  compiled->source = std::string(pattern);
  Parser parser(pattern, compiled.get());
  VIGIL_RETURN_IF_ERROR(parser.Run());
  return FilterPattern(std::move(compiled));
}

bool FilterPattern::Matches(const FieldResolver& fields) const { return compiled_->Eval(compiled_->root, fields); }

const std::string& FilterPattern::source() const { return compiled_->source; }

bool FilterPattern::uses_array_index() const { return compiled_->uses_index; }

}  // namespace vigil
