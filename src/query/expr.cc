#include "query/expr.h"

#include <re2/re2.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <optional>

#include "common/glob.h"
#include "common/ip.h"
#include "query/internal/functions.h"
#include "query/internal/lexer.h"

namespace vigil {
namespace query_internal {
namespace {

constexpr FunctionInfo kFunctions[] = {
    {"abs", 1, 1, "abs(number)"},
    {"bin", 2, 2, "bin(value, span), e.g. bin(time, 1h)"},
    {"ceil", 1, 1, "ceil(number)"},
    {"cidrmatch", 2, 2, "cidrmatch(\"10.0.0.0/8\", ip)"},
    {"coalesce", 1, 64, "coalesce(a, b, ...)"},
    {"floor", 1, 1, "floor(number)"},
    {"if", 3, 3, "if(condition, then, else)"},
    {"isnotnull", 1, 1, "isnotnull(field)"},
    {"isnull", 1, 1, "isnull(field)"},
    {"len", 1, 1, "len(text)"},
    {"like", 2, 2, "like(text, \"pattern%\")"},
    {"lower", 1, 1, "lower(text)"},
    {"match", 2, 2, "match(text, \"regex\")"},
    {"mvcount", 1, 1, "mvcount(field)"},
    {"now", 0, 0, "now()"},
    {"replace", 3, 3, "replace(text, \"regex\", \"replacement\")"},
    {"round", 1, 2, "round(number[, digits])"},
    {"split", 2, 2, "split(text, \",\")"},
    {"strftime", 2, 2, "strftime(time, \"%Y-%m-%d\")"},
    {"substr", 2, 3, "substr(text, start[, length])"},
    {"tonumber", 1, 1, "tonumber(value)"},
    {"tostring", 1, 1, "tostring(value)"},
    {"trim", 1, 1, "trim(text)"},
    {"upper", 1, 1, "upper(text)"},
};

}  // namespace

const FunctionInfo* FindFunction(std::string_view name) {
  for (const FunctionInfo& f : kFunctions)
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace query_internal

namespace {

// like(): SQL patterns (% any run, _ one character) as a case-insensitive glob.
GlobPattern LikePattern(std::string_view sql) {
  std::string glob;
  for (char c : sql) {
    if (c == '%') glob.push_back('*');
    else if (c == '_') glob.push_back('?');
    else if (c == '*' || c == '?' || c == '\\') {
      glob.push_back('\\');
      glob.push_back(c);
    } else {
      glob.push_back(c);
    }
  }
  return GlobPattern::Compile(glob);
}

// Calls `fn` on each scalar of a value (a list's elements, else the value).
template <typename F>
bool AnyScalar(const Value& v, F fn) {
  if (v.kind == Value::Kind::kList) {
    for (const Value& x : v.list)
      if (!x.is_null() && fn(x)) return true;
    return false;
  }
  return !v.is_null() && fn(v);
}

Value TextOrNull(const Value& v, std::string s) { return v.is_null() ? Value::Null() : Value::String(std::move(s)); }

}  // namespace

struct CompiledExpr::Node {
  Expr::Kind kind = Expr::Kind::kLiteral;
  std::string name;  // field name, function, operator
  FieldPath path;    // kField
  Value literal;     // kLiteral
  std::vector<Node> args;
  // Constant second/first arguments compiled once.
  std::optional<GlobPattern> like;
  std::shared_ptr<RE2> regex;
  std::optional<IpNetwork> network;

  Value Eval(const Row& row) const;

 private:
  Value Call(const Row& row) const;
  Value Arith(const Value& a, const Value& b) const;
};

namespace {

using Node = CompiledExpr::Node;

bool CompareOk(const std::string& op, const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return false;
  if (op == "=") return ValuesEqual(a, b);
  if (op == "!=") return !ValuesEqual(a, b);
  if (a.kind == Value::Kind::kList || b.kind == Value::Kind::kList) {
    // Any value of a multi-valued field compares true.
    const bool left = a.kind == Value::Kind::kList;
    for (const Value& x : (left ? a : b).list)
      if (left ? CompareOk(op, x, b) : CompareOk(op, a, x)) return true;
    return false;
  }
  int c;
  auto na = a.AsNumber(), nb = b.AsNumber();
  if (na && nb && a.kind != Value::Kind::kTime && b.kind != Value::Kind::kTime) {
    c = *na < *nb ? -1 : *na > *nb ? 1 : 0;
  } else if (auto ta = a.AsTime(), tb = b.AsTime(); ta && tb) {
    c = *ta < *tb ? -1 : *ta > *tb ? 1 : 0;
  } else if (na && nb) {
    c = *na < *nb ? -1 : *na > *nb ? 1 : 0;
  } else if (a.kind == Value::Kind::kString && b.kind == Value::Kind::kString) {
    c = a.str.compare(b.str);
  } else {
    return false;  // a number against a word never compares
  }
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

Value BinValue(const Value& v, const Value& span_v) {
  auto span = span_v.AsNumber();
  if (!span || *span <= 0) return Value::Null();
  if (auto t = v.AsTime()) {
    if (!(*span * 1e9 < 9e18)) return Value::Null();
    const int64_t s = static_cast<int64_t>(*span * 1e9);
    if (s <= 0) return Value::Null();
    int64_t b = *t / s * s;
    if (*t < 0 && *t % s != 0) b -= s;
    return Value::Time(b);
  }
  if (auto n = v.AsNumber()) return Value::Number(std::floor(*n / *span) * *span);
  return Value::Null();
}

}  // namespace

Value Node::Arith(const Value& a, const Value& b) const {
  if (a.is_null() || b.is_null()) return Value::Null();
  const char op = name[0];
  // Times: time ± seconds is a time; time - time is seconds.
  if (a.kind == Value::Kind::kTime && (op == '+' || op == '-')) {
    if (b.kind == Value::Kind::kTime) {
      return op == '-' ? Value::Number((static_cast<double>(a.time_ns) - static_cast<double>(b.time_ns)) / 1e9)
                       : Value::Null();
    }
    if (auto s = b.AsNumber()) {
      const double delta = *s * 1e9 * (op == '-' ? -1 : 1);
      int64_t moved = 0;
      if (!(std::fabs(delta) < 9e18) || __builtin_add_overflow(a.time_ns, static_cast<int64_t>(delta), &moved)) {
        return Value::Null();  // beyond what a time can hold
      }
      return Value::Time(moved);
    }
  }
  auto x = a.AsNumber(), y = b.AsNumber();
  if (x && y && a.kind != Value::Kind::kList && b.kind != Value::Kind::kList) {
    switch (op) {
      case '+':
        return Value::Number(*x + *y);
      case '-':
        return Value::Number(*x - *y);
      case '*':
        return Value::Number(*x * *y);
      case '/':
        return *y == 0 ? Value::Null() : Value::Number(*x / *y);
      case '%':
        return *y == 0 ? Value::Null() : Value::Number(std::fmod(*x, *y));
    }
  }
  if (op == '+') return Value::String(a.Text() + b.Text());  // text joins with +
  return Value::Null();
}

Value Node::Eval(const Row& row) const {
  switch (kind) {
    case Expr::Kind::kLiteral:
      return literal;
    case Expr::Kind::kField:
      return GetField(row, name, path);
    case Expr::Kind::kUnary: {
      Value v = args[0].Eval(row);
      if (name == "not") return Value::Bool(!v.Truthy());
      auto n = v.AsNumber();
      return n && v.kind != Value::Kind::kTime ? Value::Number(-*n) : Value::Null();
    }
    case Expr::Kind::kBinary: {
      if (name == "and") return Value::Bool(args[0].Eval(row).Truthy() && args[1].Eval(row).Truthy());
      if (name == "or") return Value::Bool(args[0].Eval(row).Truthy() || args[1].Eval(row).Truthy());
      Value a = args[0].Eval(row), b = args[1].Eval(row);
      if (name.size() == 1 && std::string_view("+-*/%").find(name[0]) != std::string_view::npos) return Arith(a, b);
      return Value::Bool(CompareOk(name, a, b));
    }
    case Expr::Kind::kCall:
      return Call(row);
  }
  return Value::Null();
}

Value Node::Call(const Row& row) const {
  const std::string& f = name;
  if (f == "now") return Value::Time(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  if (f == "if") return args[0].Eval(row).Truthy() ? args[1].Eval(row) : args[2].Eval(row);
  if (f == "coalesce") {
    for (const Node& a : args) {
      Value v = a.Eval(row);
      if (!v.is_null()) return v;
    }
    return Value::Null();
  }
  Value a = args[0].Eval(row);
  if (f == "isnull") return Value::Bool(a.is_null());
  if (f == "isnotnull") return Value::Bool(!a.is_null());
  if (f == "mvcount") {
    return a.is_null() ? Value::Number(0) : Value::Number(a.kind == Value::Kind::kList ? a.list.size() : 1);
  }
  if (f == "len") return a.is_null() ? Value::Null() : Value::Number(static_cast<double>(a.Text().size()));
  if (f == "lower") return TextOrNull(a, ToLower(a.Text()));
  if (f == "upper") {
    std::string s = a.Text();
    for (char& c : s)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return TextOrNull(a, std::move(s));
  }
  if (f == "trim") return TextOrNull(a, std::string(TrimSpace(a.Text())));
  if (f == "tostring") return TextOrNull(a, a.Text());
  if (f == "tonumber") {
    auto n = a.AsNumber();
    return n && a.kind != Value::Kind::kTime ? Value::Number(*n) : Value::Null();
  }
  if (f == "abs" || f == "floor" || f == "ceil" || f == "round") {
    auto n = a.AsNumber();
    if (!n || a.kind == Value::Kind::kTime) return Value::Null();
    if (f == "abs") return Value::Number(std::fabs(*n));
    if (f == "floor") return Value::Number(std::floor(*n));
    if (f == "ceil") return Value::Number(std::ceil(*n));
    double digits = 0;
    if (args.size() > 1) {
      auto d = args[1].Eval(row).AsNumber();
      if (!d || *d < 0 || *d > 15) return Value::Null();
      digits = std::floor(*d);
    }
    const double scale = std::pow(10.0, digits);
    return Value::Number(std::round(*n * scale) / scale);
  }
  Value b = args[1].Eval(row);
  if (f == "bin") return BinValue(a, b);
  if (f == "like") {
    if (like) return Value::Bool(AnyScalar(a, [&](const Value& x) { return like->Matches(x.Text()); }));
    if (b.is_null()) return Value::Bool(false);
    GlobPattern p = LikePattern(b.Text());
    return Value::Bool(AnyScalar(a, [&](const Value& x) { return p.Matches(x.Text()); }));
  }
  if (f == "match") {
    std::shared_ptr<RE2> re = regex;
    if (!re) {
      if (b.is_null()) return Value::Bool(false);
      RE2::Options opts;
      opts.set_log_errors(false);
      re = std::make_shared<RE2>(b.Text(), opts);
      if (!re->ok()) return Value::Null();
    }
    return Value::Bool(AnyScalar(a, [&](const Value& x) { return RE2::PartialMatch(x.Text(), *re); }));
  }
  if (f == "cidrmatch") {
    std::optional<IpNetwork> net = network;
    if (!net) net = a.is_null() ? std::nullopt : ParseCidr(a.Text());
    if (!net) return Value::Bool(false);
    return Value::Bool(AnyScalar(b, [&](const Value& x) { return CidrContains(*net, x.Text()); }));
  }
  if (f == "split") {
    if (a.is_null() || b.is_null()) return Value::Null();
    const std::string s = a.Text(), sep = b.Text();
    std::vector<Value> parts;
    if (sep.empty()) return Value::List({Value::String(s)});
    size_t start = 0;
    while (parts.size() < 10000) {
      size_t at = s.find(sep, start);
      parts.push_back(Value::String(s.substr(start, at == std::string::npos ? std::string::npos : at - start)));
      if (at == std::string::npos) break;
      start = at + sep.size();
    }
    return Value::List(std::move(parts));
  }
  if (f == "strftime") {
    auto t = a.AsTime();
    if (!t || b.is_null()) return Value::Null();
    const std::string fmt = b.Text();
    if (fmt.size() > 256) return Value::Null();
    std::time_t secs = static_cast<std::time_t>(*t / 1000000000 - (*t % 1000000000 < 0 ? 1 : 0));
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[512];
    const size_t n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
    return Value::String(std::string(buf, n));
  }
  if (f == "substr") {
    if (a.is_null()) return Value::Null();
    const std::string s = a.Text();
    auto start = b.AsNumber();
    if (!start) return Value::Null();
    // 1-based; a negative start counts from the end.
    double st = std::floor(*start);
    size_t from = st > 0 ? static_cast<size_t>(std::min(st - 1, 1e12))
                         : (st < 0 ? s.size() - std::min(s.size(), static_cast<size_t>(std::min(-st, 1e12))) : 0);
    if (from >= s.size()) return Value::String("");
    size_t len = std::string::npos;
    if (args.size() > 2) {
      auto l = args[2].Eval(row).AsNumber();
      if (!l || *l < 0) return Value::Null();
      len = static_cast<size_t>(std::min(*l, 1e12));
    }
    return Value::String(s.substr(from, len));
  }
  if (f == "replace") {
    Value r = args[2].Eval(row);
    if (a.is_null() || r.is_null()) return Value::Null();
    std::shared_ptr<RE2> re = regex;
    if (!re) {
      if (b.is_null()) return Value::Null();
      RE2::Options opts;
      opts.set_log_errors(false);
      re = std::make_shared<RE2>(b.Text(), opts);
      if (!re->ok()) return Value::Null();
    }
    std::string s = a.Text();
    RE2::GlobalReplace(&s, *re, r.Text());
    return Value::String(std::move(s));
  }
  return Value::Null();
}

namespace {

Result<Node> CompileNode(const Expr& e, std::string_view text) {
  Node n;
  n.kind = e.kind;
  n.name = e.name;
  n.literal = e.literal;
  if (e.kind == Expr::Kind::kField) n.path = FieldPath(e.name);
  for (const Expr& a : e.args) {
    VIGIL_ASSIGN_OR_RETURN(Node c, CompileNode(a, text));
    n.args.push_back(std::move(c));
  }
  if (e.kind != Expr::Kind::kCall) return n;
  auto constant = [&](size_t i) -> const Value* {
    return i < e.args.size() && e.args[i].kind == Expr::Kind::kLiteral && !e.args[i].literal.is_null()
               ? &e.args[i].literal
               : nullptr;
  };
  if (e.name == "like") {
    if (const Value* p = constant(1)) n.like = LikePattern(p->Text());
  } else if (e.name == "match" || e.name == "replace") {
    if (const Value* p = constant(1)) {
      RE2::Options opts;
      opts.set_log_errors(false);
      auto re = std::make_shared<RE2>(p->Text(), opts);
      if (!re->ok()) {
        return query_internal::QueryError(StatusCode::kInvalidArgument, text, e.args[1].offset,
                                          "invalid regular expression: " + re->error());
      }
      n.regex = std::move(re);
    }
  } else if (e.name == "cidrmatch") {
    if (const Value* p = constant(0)) {
      n.network = ParseCidr(p->Text());
      if (!n.network) {
        return query_internal::QueryError(StatusCode::kInvalidArgument, text, e.args[0].offset,
                                          "invalid network '" + p->Text() + "' (write it as 10.0.0.0/8)");
      }
    }
  }
  return n;
}

}  // namespace

CompiledExpr::CompiledExpr(std::unique_ptr<Node> root) : root_(std::move(root)) {}
CompiledExpr::CompiledExpr(CompiledExpr&&) noexcept = default;
CompiledExpr& CompiledExpr::operator=(CompiledExpr&&) noexcept = default;
CompiledExpr::~CompiledExpr() = default;

Result<CompiledExpr> CompiledExpr::Compile(const Expr& expr, std::string_view text) {
  VIGIL_ASSIGN_OR_RETURN(Node root, CompileNode(expr, text));
  return CompiledExpr(std::make_unique<Node>(std::move(root)));
}

Value CompiledExpr::Eval(const Row& row) const { return root_->Eval(row); }

}  // namespace vigil
