#include "query/internal/pipe_parser.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include "common/glob.h"
#include "query/internal/bound.h"
#include "query/internal/functions.h"
#include "query/internal/lexer.h"

namespace vigil::query_internal {
namespace {

// ---------------------------------------------------------------- tokens

enum class P {
  kEnd, kIdent, kNumber, kDuration, kString,
  kPipe, kComma, kLParen, kRParen,
  kEq, kEqEq, kNe, kLt, kLe, kGt, kGe,
  kPlus, kMinus, kStar, kSlash, kPercent, kBang,
};

struct PTok {
  P kind = P::kEnd;
  size_t offset = 0;
  std::string_view raw;
  std::string text;   // kIdent: the name (quotes removed); kString: unescaped
  double number = 0;  // kNumber; kDuration: seconds
  bool quoted = false;  // kIdent written in single quotes: never a keyword
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '@'; }
bool IdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '@' || c == '.' || c == '[' || c == ']';
}

// Seconds per duration unit, or 0 for an unknown unit.
double UnitSeconds(std::string_view u) {
  if (u == "s" || u == "sec" || u == "secs") return 1;
  if (u == "m" || u == "min" || u == "mins") return 60;
  if (u == "h" || u == "hr" || u == "hour" || u == "hours") return 3600;
  if (u == "d" || u == "day" || u == "days") return 86400;
  if (u == "w" || u == "week" || u == "weeks") return 7 * 86400;
  return 0;
}

Result<std::vector<PTok>> LexPipes(std::string_view text, size_t i) {
  std::vector<PTok> out;
  const size_t n = text.size();
  while (true) {
    while (i < n && IsSpace(text[i])) ++i;
    PTok t;
    t.offset = i;
    if (i == n) {
      out.push_back(std::move(t));
      return out;
    }
    const char c = text[i];
    const char next = i + 1 < n ? text[i + 1] : '\0';
    auto single = [&](P kind, size_t len) {
      t.kind = kind;
      t.raw = text.substr(i, len);
      i += len;
    };
    if (IdentStart(c)) {
      size_t j = i + 1;
      while (j < n && IdentChar(text[j])) ++j;
      t.kind = P::kIdent;
      t.raw = text.substr(i, j - i);
      t.text = std::string(t.raw);
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && std::isdigit(static_cast<unsigned char>(next)))) {
      size_t j = i;
      while (j < n && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      if (j < n && text[j] == '.') {
        ++j;
        while (j < n && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      }
      if (j + 1 < n && (text[j] == 'e' || text[j] == 'E') &&
          (std::isdigit(static_cast<unsigned char>(text[j + 1])) ||
           ((text[j + 1] == '+' || text[j + 1] == '-') && j + 2 < n &&
            std::isdigit(static_cast<unsigned char>(text[j + 2]))))) {
        j += 2;
        while (j < n && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      }
      auto num = ParseNumber(text.substr(i, j - i));
      if (!num) return QueryError(StatusCode::kInvalidArgument, text, i, "invalid number");
      t.kind = P::kNumber;
      t.number = *num;
      size_t k = j;
      while (k < n && std::isalpha(static_cast<unsigned char>(text[k]))) ++k;
      if (k > j) {
        const double unit = UnitSeconds(ToLower(text.substr(j, k - j)));
        if (unit == 0) {
          return QueryError(StatusCode::kInvalidArgument, text, i,
                            "unknown time unit '" + std::string(text.substr(j, k - j)) +
                                "' (use s, m, h, d or w, as in 5m)");
        }
        t.kind = P::kDuration;
        t.number = *num * unit;
      }
      t.raw = text.substr(i, k - i);
      i = k;
    } else if (c == '"' || c == '\'') {
      // "string" is a value; 'name' is a field name with any characters.
      size_t j = i + 1;
      bool closed = false;
      while (j < n) {
        if (text[j] == c) {
          closed = true;
          break;
        }
        if (text[j] == '\\' && j + 1 < n && (text[j + 1] == c || text[j + 1] == '\\')) {
          t.text.push_back(text[j + 1]);
          j += 2;
          continue;
        }
        t.text.push_back(text[j++]);
      }
      if (!closed) {
        return QueryError(StatusCode::kInvalidArgument, text, i,
                          c == '"' ? "unterminated quoted string" : "unterminated quoted field name");
      }
      t.kind = c == '"' ? P::kString : P::kIdent;
      t.quoted = c == '\'';
      if (t.quoted && t.text.empty()) return QueryError(StatusCode::kInvalidArgument, text, i, "empty field name");
      t.raw = text.substr(i, j + 1 - i);
      i = j + 1;
    } else {
      switch (c) {
        case '|':
          single(P::kPipe, 1);
          break;
        case ',':
          single(P::kComma, 1);
          break;
        case '(':
          single(P::kLParen, 1);
          break;
        case ')':
          single(P::kRParen, 1);
          break;
        case '=':
          single(next == '=' ? P::kEqEq : P::kEq, next == '=' ? 2 : 1);
          break;
        case '!':
          single(next == '=' ? P::kNe : P::kBang, next == '=' ? 2 : 1);
          break;
        case '<':
          if (next == '>') {
            single(P::kNe, 2);
          } else {
            single(next == '=' ? P::kLe : P::kLt, next == '=' ? 2 : 1);
          }
          break;
        case '>':
          single(next == '=' ? P::kGe : P::kGt, next == '=' ? 2 : 1);
          break;
        case '+':
          single(P::kPlus, 1);
          break;
        case '-':
          single(P::kMinus, 1);
          break;
        case '*':
          single(P::kStar, 1);
          break;
        case '/':
          single(P::kSlash, 1);
          break;
        case '%':
          single(P::kPercent, 1);
          break;
        default: {
          // Cut on a UTF-8 boundary so the message shows the whole character.
          size_t len = 1;
          while (i + len < n && (static_cast<unsigned char>(text[i + len]) & 0xC0) == 0x80) ++len;
          return QueryError(StatusCode::kInvalidArgument, text, i,
                            "unexpected character '" + std::string(text.substr(i, len)) + "'");
        }
      }
    }
    out.push_back(std::move(t));
  }
}

std::string Describe(const PTok& t) {
  if (t.kind == P::kEnd) return "end of query";
  if (t.kind == P::kPipe) return "'|'";
  constexpr size_t kMax = 40;
  std::string s = "'";
  s.append(t.raw.substr(0, kMax));
  if (t.raw.size() > kMax) s += "...";
  return s + "'";
}

// ---------------------------------------------------------------- parser

class PipeParser {
 public:
  PipeParser(std::string_view text, std::vector<PTok> toks, size_t max_depth)
      : text_(text), toks_(std::move(toks)), max_depth_(max_depth) {}

  Result<std::vector<PipeStage>> Parse() {
    std::vector<PipeStage> stages;
    while (Peek().kind == P::kPipe) {
      Next();
      VIGIL_ASSIGN_OR_RETURN(PipeStage st, ParseStage());
      if (!AtStageEnd()) return Error(Peek(), "unexpected " + Describe(Peek()) + " in `" + st.name + "`");
      stages.push_back(std::move(st));
    }
    if (Peek().kind != P::kEnd) return Error(Peek(), "unexpected " + Describe(Peek()));
    return stages;
  }

 private:
  const PTok& Peek(size_t ahead = 0) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  const PTok& Next() {
    const PTok& t = toks_[pos_];
    if (t.kind != P::kEnd) ++pos_;
    return t;
  }
  bool AtStageEnd() const { return Peek().kind == P::kEnd || Peek().kind == P::kPipe; }
  bool IsWord(const PTok& t, std::string_view kw) const {
    return t.kind == P::kIdent && !t.quoted && EqualsIgnoreCase(t.text, kw);
  }
  bool AcceptWord(std::string_view kw) {
    if (!IsWord(Peek(), kw)) return false;
    Next();
    return true;
  }
  bool Accept(P kind) {
    if (Peek().kind != kind) return false;
    Next();
    return true;
  }
  Status Error(const PTok& at, const std::string& what) const {
    return QueryError(StatusCode::kInvalidArgument, text_, at.offset, what);
  }
  Status Expected(const std::string& what) const {
    return Error(Peek(), "expected " + what + ", found " + Describe(Peek()));
  }
  // The text of tokens [from, pos_), as written: default column names.
  std::string TextFrom(size_t from_tok) const {
    if (from_tok >= pos_) return "";
    const PTok& last = toks_[pos_ - 1];
    return std::string(text_.substr(toks_[from_tok].offset, last.offset + last.raw.size() - toks_[from_tok].offset));
  }

  Result<std::string> FieldName(const std::string& what = "a field name") {
    if (Peek().kind != P::kIdent) return Expected(what);
    return Next().text;
  }

  // a, b, c  (commas optional between names)
  Result<std::vector<std::string>> FieldList(const std::string& what, bool stop_at_by = false) {
    std::vector<std::string> out;
    VIGIL_ASSIGN_OR_RETURN(std::string first, FieldName(what));
    out.push_back(std::move(first));
    while (true) {
      if (Accept(P::kComma)) {
        VIGIL_ASSIGN_OR_RETURN(std::string f, FieldName(what));
        out.push_back(std::move(f));
      } else if (Peek().kind == P::kIdent && !(stop_at_by && IsWord(Peek(), "by")) && !IsWord(Peek(), "output") &&
                 !IsWord(Peek(), "outputnew")) {
        out.push_back(Next().text);
      } else {
        return out;
      }
    }
  }

  Result<size_t> Count(const std::string& what) {
    const PTok& t = Peek();
    if (t.kind != P::kNumber || t.number < 0 || t.number != std::floor(t.number) || t.number > 1e12) {
      return Expected(what);
    }
    Next();
    return static_cast<size_t>(t.number);
  }

  // `span=5m` (the caller has seen `span`).
  Result<double> Span() {
    Next();  // span
    if (!Accept(P::kEq)) return Expected("'=' after span");
    const PTok& t = Peek();
    if ((t.kind != P::kDuration && t.kind != P::kNumber) || t.number <= 0) {
      return Expected("a positive duration such as 5m or 1h");
    }
    Next();
    return t.number;
  }

  Result<PipeStage> ParseStage() {
    const PTok& name = Peek();
    if (name.kind != P::kIdent || name.quoted) return Expected("a command after '|'");
    Next();
    PipeStage st;
    st.name = ToLower(name.text);
    st.offset = name.offset;
    using K = PipeStage::Kind;
    const std::string& c = st.name;
    if (c == "where") {
      st.kind = K::kWhere;
      if (AtStageEnd()) return Expected("an expression after `where`");
      VIGIL_ASSIGN_OR_RETURN(st.expr, ParseExpr(0));
    } else if (c == "eval") {
      st.kind = K::kEval;
      do {
        VIGIL_ASSIGN_OR_RETURN(std::string field, FieldName("a field name to assign (eval NAME = EXPR)"));
        if (!Accept(P::kEq)) return Expected("'=' after `" + field + "`");
        VIGIL_ASSIGN_OR_RETURN(Expr e, ParseExpr(0));
        st.assignments.push_back({std::move(field), std::move(e)});
      } while (Accept(P::kComma));
    } else if (c == "fields" || c == "table") {
      st.kind = K::kFields;
      st.name = "fields";
      if (Accept(P::kMinus)) {
        st.exclude = true;
      } else {
        Accept(P::kPlus);
      }
      VIGIL_ASSIGN_OR_RETURN(st.fields, FieldList("a field name"));
    } else if (c == "rename") {
      st.kind = K::kRename;
      do {
        VIGIL_ASSIGN_OR_RETURN(std::string from, FieldName());
        if (!AcceptWord("as")) return Expected("AS after `" + from + "` (rename OLD AS NEW)");
        VIGIL_ASSIGN_OR_RETURN(std::string to, FieldName("a new field name"));
        st.renames.emplace_back(std::move(from), std::move(to));
      } while (Accept(P::kComma));
    } else if (c == "stats") {
      st.kind = K::kStats;
      VIGIL_RETURN_IF_ERROR(ParseAggs(st));
      if (AcceptWord("by")) VIGIL_RETURN_IF_ERROR(ParseBy(st));
    } else if (c == "bin" || c == "bucket") {
      st.kind = K::kBin;
      st.name = "bin";
      std::string field;
      size_t field_offset = Peek().offset;
      while (!AtStageEnd()) {
        if (IsWord(Peek(), "span") && Peek(1).kind == P::kEq) {
          VIGIL_ASSIGN_OR_RETURN(st.span_seconds, Span());
        } else if (field.empty()) {
          field_offset = Peek().offset;
          VIGIL_ASSIGN_OR_RETURN(field, FieldName());
        } else {
          break;
        }
      }
      if (field.empty()) return Expected("a field to bin (bin time span=1h)");
      if (st.span_seconds <= 0) return Expected("span=DURATION (bin " + field + " span=1h)");
      std::string out = field;
      if (AcceptWord("as")) {
        VIGIL_ASSIGN_OR_RETURN(out, FieldName("a new field name"));
      }
      Expr call;
      call.kind = Expr::Kind::kCall;
      call.name = "bin";
      call.offset = field_offset;
      Expr f;
      f.kind = Expr::Kind::kField;
      f.name = field;
      f.offset = field_offset;
      Expr s;
      s.literal = Value::Number(st.span_seconds);
      s.offset = field_offset;
      call.args.push_back(std::move(f));
      call.args.push_back(std::move(s));
      st.assignments.push_back({out, std::move(call)});
    } else if (c == "timechart") {
      st.kind = K::kTimechart;
      st.span_seconds = 3600;
      st.count = 10;
      VIGIL_RETURN_IF_ERROR(TimechartOptions(st));
      VIGIL_RETURN_IF_ERROR(ParseAggs(st));
      if (AcceptWord("by")) {
        const PTok& at = Peek();
        VIGIL_RETURN_IF_ERROR(ParseBy(st));
        if (st.by.size() > 1) return Error(at, "timechart splits by one field only");
        if (st.aggs.size() > 1) return Error(at, "timechart with `by` takes one aggregation");
      }
      VIGIL_RETURN_IF_ERROR(TimechartOptions(st));
    } else if (c == "top" || c == "rare") {
      st.kind = c == "top" ? K::kTop : K::kRare;
      st.count = 10;
      if (Peek().kind == P::kNumber) {
        VIGIL_ASSIGN_OR_RETURN(st.count, Count("a number of rows"));
      } else if (IsWord(Peek(), "limit") && Peek(1).kind == P::kEq) {
        Next();
        Next();
        VIGIL_ASSIGN_OR_RETURN(st.count, Count("a number of rows after limit="));
      }
      VIGIL_ASSIGN_OR_RETURN(st.fields, FieldList("a field name", /*stop_at_by=*/true));
      if (AcceptWord("by")) VIGIL_RETURN_IF_ERROR(ParseBy(st, /*fields_only=*/true));
    } else if (c == "sort") {
      st.kind = K::kSort;
      if (Peek().kind == P::kNumber) {
        VIGIL_ASSIGN_OR_RETURN(st.count, Count("a number of rows"));
      }
      do {
        SortKey k;
        k.offset = Peek().offset;
        if (Accept(P::kMinus)) {
          k.descending = true;
        } else {
          Accept(P::kPlus);
        }
        VIGIL_ASSIGN_OR_RETURN(k.field, FieldName("a field to sort by"));
        if (AcceptWord("desc")) k.descending = true;
        else AcceptWord("asc");
        st.sort.push_back(std::move(k));
      } while (Accept(P::kComma) || (Peek().kind == P::kIdent || Peek().kind == P::kMinus || Peek().kind == P::kPlus));
    } else if (c == "head" || c == "tail") {
      st.kind = c == "head" ? K::kHead : K::kTail;
      st.count = 10;
      if (!AtStageEnd()) {
        VIGIL_ASSIGN_OR_RETURN(st.count, Count("a number of rows"));
      }
    } else if (c == "dedup") {
      st.kind = K::kDedup;
      st.count = 1;
      if (Peek().kind == P::kNumber) {
        VIGIL_ASSIGN_OR_RETURN(st.count, Count("a number of rows to keep per value"));
        if (st.count == 0) return Error(toks_[pos_ - 1], "dedup keeps at least 1 row per value");
      }
      VIGIL_ASSIGN_OR_RETURN(st.fields, FieldList("a field name"));
    } else if (c == "lookup") {
      st.kind = K::kLookup;
      VIGIL_RETURN_IF_ERROR(ParseLookupTable(st));
      VIGIL_ASSIGN_OR_RETURN(st.table_key, FieldName("the table's key column (lookup TABLE KEY [OUTPUT f, ...])"));
      st.row_key = st.table_key;
      if (AcceptWord("as")) {
        VIGIL_ASSIGN_OR_RETURN(st.row_key, FieldName("the row's field to match"));
      }
      if (AcceptWord("output") || AcceptWord("outputnew")) {
        VIGIL_ASSIGN_OR_RETURN(st.fields, FieldList("a column name to output"));
      }
    } else {
      return Error(name, "unknown command " + Describe(name) +
                             " after '|' (commands: where, eval, fields, rename, stats, bin, timechart, top, rare, "
                             "sort, head, tail, dedup, lookup)");
    }
    return st;
  }

  // span=DURATION and limit=N of timechart, before the aggregations or at the end.
  Status TimechartOptions(PipeStage& st) {
    while (true) {
      if (IsWord(Peek(), "span") && Peek(1).kind == P::kEq) {
        VIGIL_ASSIGN_OR_RETURN(st.span_seconds, Span());
      } else if (IsWord(Peek(), "limit") && Peek(1).kind == P::kEq) {
        Next();
        Next();
        VIGIL_ASSIGN_OR_RETURN(st.count, Count("a number of series after limit="));
      } else {
        return Status::Ok();
      }
    }
  }

  // The table of `lookup`: a "quoted path", or the unquoted text up to the next
  // blank (a path such as /etc/vigil/assets.csv, or a configured table name).
  Status ParseLookupTable(PipeStage& st) {
    if (AtStageEnd()) return Expected("a table: a CSV file or a configured table name");
    st.table_offset = Peek().offset;
    if (Peek().kind == P::kString) {
      st.table = Next().text;
    } else {
      size_t end = st.table_offset;
      while (end < text_.size() && !IsSpace(text_[end]) && text_[end] != '|') ++end;
      st.table = std::string(text_.substr(st.table_offset, end - st.table_offset));
      while (Peek().kind != P::kEnd && Peek().offset < end) Next();
      if (pos_ > 0 && toks_[pos_ - 1].offset + toks_[pos_ - 1].raw.size() > end) {
        // A token (a quoted string) straddles the blank that ends the name.
        return Error(toks_[pos_ - 1], "unexpected " + Describe(toks_[pos_ - 1]) + " in the table name");
      }
    }
    if (st.table.empty()) return Error(toks_[pos_ - 1], "empty table name");
    return Status::Ok();
  }

  Status ParseAggs(PipeStage& st) {
    do {
      VIGIL_ASSIGN_OR_RETURN(Aggregation a, ParseAgg());
      for (const Aggregation& b : st.aggs) {
        if (b.name == a.name) {
          return QueryError(StatusCode::kInvalidArgument, text_, a.offset,
                            "two aggregations named `" + a.name + "`; name one with AS");
        }
      }
      st.aggs.push_back(std::move(a));
    } while (Accept(P::kComma) || (Peek().kind == P::kIdent && !IsWord(Peek(), "by")));
    return Status::Ok();
  }

  Result<Aggregation> ParseAgg() {
    const PTok& t = Peek();
    if (t.kind != P::kIdent || t.quoted) return Expected("an aggregation such as count(), dc(f), avg(f)");
    Aggregation a;
    a.offset = t.offset;
    std::string fn = ToLower(t.text);
    const size_t first_tok = pos_;
    Next();
    bool is_pnn = false;
    double pnn = 0;
    if (fn.size() >= 2 && fn[0] == 'p' && fn.find_first_not_of("0123456789.", 1) == std::string::npos) {
      auto p = ParseNumber(std::string_view(fn).substr(1));
      if (p && *p >= 0 && *p <= 100) {
        is_pnn = true;
        pnn = *p;
      }
    }
    static constexpr std::string_view kFuncs[] = {"count", "dc",     "distinct_count", "sum",      "avg",
                                                  "mean",  "min",    "max",            "values",   "earliest",
                                                  "latest", "median", "percentile",    "perc",     "first",
                                                  "last"};
    bool known = is_pnn;
    for (std::string_view k : kFuncs) known = known || fn == k;
    if (!known) {
      return Error(t, "unknown aggregation " + Describe(t) +
                          " (count, dc, sum, avg, min, max, median, percentile, pNN, values, earliest, latest)");
    }
    const bool needs_percentile = fn == "percentile" || fn == "perc";
    if (fn == "distinct_count") fn = "dc";
    if (fn == "mean") fn = "avg";
    if (fn == "perc") fn = "percentile";
    if (fn == "first") fn = "earliest";
    if (fn == "last") fn = "latest";
    if (is_pnn || fn == "median") {
      a.percentile = is_pnn ? pnn : 50;
      fn = "percentile";
    }
    a.func = fn;
    if (Accept(P::kLParen)) {
      if (!Accept(P::kRParen)) {
        VIGIL_ASSIGN_OR_RETURN(Expr arg, ParseExpr(0));
        a.arg = std::move(arg);
        if (needs_percentile) {
          if (!Accept(P::kComma)) return Expected("',' and a percentile (percentile(bytes, 95))");
          const PTok& p = Peek();
          if (p.kind != P::kNumber || p.number < 0 || p.number > 100) return Expected("a percentile from 0 to 100");
          a.percentile = Next().number;
        }
        if (!Accept(P::kRParen)) return Expected("')' to close " + std::string(t.raw) + "(");
      }
    }
    if (!a.arg && a.func != "count") {
      return Error(t, std::string(t.raw) + " needs a field: " + std::string(t.raw) + "(bytes)");
    }
    a.name = a.func == "count" && !a.arg ? "count" : TextFrom(first_tok);
    if (AcceptWord("as")) {
      VIGIL_ASSIGN_OR_RETURN(a.name, FieldName("a column name after AS"));
    }
    return a;
  }

  Status ParseBy(PipeStage& st, bool fields_only = false) {
    do {
      NamedExpr item;
      const size_t first_tok = pos_;
      if (fields_only) {
        item.expr.kind = Expr::Kind::kField;
        item.expr.offset = Peek().offset;
        VIGIL_ASSIGN_OR_RETURN(item.expr.name, FieldName("a field to split by"));
      } else {
        if (AtStageEnd()) return Expected("a field or expression after BY");
        VIGIL_ASSIGN_OR_RETURN(item.expr, ParseExpr(0));
      }
      const Expr& e = item.expr;
      if (e.kind == Expr::Kind::kField) {
        item.name = e.name;
      } else if (e.kind == Expr::Kind::kCall && e.name == "bin" && !e.args.empty() &&
                 e.args.front().kind == Expr::Kind::kField) {
        item.name = e.args.front().name;  // by bin(time, 1h): the column stays `time`
      } else {
        item.name = TextFrom(first_tok);
      }
      if (AcceptWord("as")) {
        VIGIL_ASSIGN_OR_RETURN(item.name, FieldName("a column name after AS"));
      }
      st.by.push_back(std::move(item));
    } while (Accept(P::kComma) || (fields_only && Peek().kind == P::kIdent));
    return Status::Ok();
  }

  // ---------------------------------------------------------------- expressions

  Status TooDeep(const PTok& at) const {
    return QueryError(StatusCode::kLimitExceeded, text_, at.offset,
                      "expression nests deeper than " + std::to_string(max_depth_) + " levels");
  }

  static Expr Binary(std::string op, size_t offset, Expr a, Expr b) {
    Expr e;
    e.kind = Expr::Kind::kBinary;
    e.name = std::move(op);
    e.offset = offset;
    e.args.push_back(std::move(a));
    e.args.push_back(std::move(b));
    return e;
  }

  Result<Expr> ParseExpr(size_t depth) {
    VIGIL_ASSIGN_OR_RETURN(Expr left, ParseAnd(depth));
    while (IsWord(Peek(), "or")) {
      const size_t at = Next().offset;
      VIGIL_ASSIGN_OR_RETURN(Expr right, ParseAnd(depth));
      left = Binary("or", at, std::move(left), std::move(right));
    }
    return left;
  }

  Result<Expr> ParseAnd(size_t depth) {
    VIGIL_ASSIGN_OR_RETURN(Expr left, ParseNot(depth));
    while (IsWord(Peek(), "and")) {
      const size_t at = Next().offset;
      VIGIL_ASSIGN_OR_RETURN(Expr right, ParseNot(depth));
      left = Binary("and", at, std::move(left), std::move(right));
    }
    return left;
  }

  Result<Expr> ParseNot(size_t depth) {
    if (IsWord(Peek(), "not") || Peek().kind == P::kBang) {
      const PTok& op = Next();
      if (depth + 1 > max_depth_) return TooDeep(op);
      VIGIL_ASSIGN_OR_RETURN(Expr inner, ParseNot(depth + 1));
      Expr e;
      e.kind = Expr::Kind::kUnary;
      e.name = "not";
      e.offset = op.offset;
      e.args.push_back(std::move(inner));
      return e;
    }
    return ParseCompare(depth);
  }

  Result<Expr> ParseCompare(size_t depth) {
    VIGIL_ASSIGN_OR_RETURN(Expr left, ParseAdd(depth));
    std::string op;
    switch (Peek().kind) {
      case P::kEq:
      case P::kEqEq:
        op = "=";
        break;
      case P::kNe:
        op = "!=";
        break;
      case P::kLt:
        op = "<";
        break;
      case P::kLe:
        op = "<=";
        break;
      case P::kGt:
        op = ">";
        break;
      case P::kGe:
        op = ">=";
        break;
      default:
        return left;
    }
    const size_t at = Next().offset;
    VIGIL_ASSIGN_OR_RETURN(Expr right, ParseAdd(depth));
    switch (Peek().kind) {
      case P::kEq:
      case P::kEqEq:
      case P::kNe:
      case P::kLt:
      case P::kLe:
      case P::kGt:
      case P::kGe:
        return Error(Peek(), "comparisons do not chain; join them with AND");
      default:
        break;
    }
    return Binary(op, at, std::move(left), std::move(right));
  }

  Result<Expr> ParseAdd(size_t depth) {
    VIGIL_ASSIGN_OR_RETURN(Expr left, ParseMul(depth));
    while (Peek().kind == P::kPlus || Peek().kind == P::kMinus) {
      const PTok& op = Next();
      VIGIL_ASSIGN_OR_RETURN(Expr right, ParseMul(depth));
      left = Binary(std::string(op.raw), op.offset, std::move(left), std::move(right));
    }
    return left;
  }

  Result<Expr> ParseMul(size_t depth) {
    VIGIL_ASSIGN_OR_RETURN(Expr left, ParseUnary(depth));
    while (Peek().kind == P::kStar || Peek().kind == P::kSlash || Peek().kind == P::kPercent) {
      const PTok& op = Next();
      VIGIL_ASSIGN_OR_RETURN(Expr right, ParseUnary(depth));
      left = Binary(std::string(op.raw), op.offset, std::move(left), std::move(right));
    }
    return left;
  }

  Result<Expr> ParseUnary(size_t depth) {
    if (Peek().kind == P::kMinus) {
      const PTok& op = Next();
      if (depth + 1 > max_depth_) return TooDeep(op);
      VIGIL_ASSIGN_OR_RETURN(Expr inner, ParseUnary(depth + 1));
      if (inner.kind == Expr::Kind::kLiteral && inner.literal.kind == Value::Kind::kNumber) {
        inner.literal.number = -inner.literal.number;
        inner.offset = op.offset;
        return inner;
      }
      Expr e;
      e.kind = Expr::Kind::kUnary;
      e.name = "-";
      e.offset = op.offset;
      e.args.push_back(std::move(inner));
      return e;
    }
    return ParsePrimary(depth);
  }

  Result<Expr> ParsePrimary(size_t depth) {
    const PTok& t = Peek();
    Expr e;
    e.offset = t.offset;
    switch (t.kind) {
      case P::kNumber:
      case P::kDuration:
        Next();
        e.literal = Value::Number(t.number);
        return e;
      case P::kString:
        Next();
        e.literal = Value::String(t.text);
        return e;
      case P::kLParen: {
        Next();
        if (depth + 1 > max_depth_) return TooDeep(t);
        VIGIL_ASSIGN_OR_RETURN(Expr inner, ParseExpr(depth + 1));
        if (!Accept(P::kRParen)) {
          if (AtStageEnd()) return Error(t, "unbalanced parentheses: this '(' is never closed");
          return Expected("')'");
        }
        return inner;
      }
      case P::kIdent:
        break;
      default:
        if (t.kind == P::kEnd || t.kind == P::kPipe || t.kind == P::kComma || t.kind == P::kRParen) {
          return Expected("a value, field or function");
        }
        return Error(t, "unexpected " + Describe(t) + " where a value, field or function belongs");
    }
    Next();
    if (!t.quoted && Peek().kind == P::kLParen) {
      const std::string fn = ToLower(t.text);
      const FunctionInfo* info = FindFunction(fn);
      if (info == nullptr) return Error(t, "unknown function " + Describe(t));
      const PTok& open = Next();
      if (depth + 1 > max_depth_) return TooDeep(open);
      e.kind = Expr::Kind::kCall;
      e.name = fn;
      if (!Accept(P::kRParen)) {
        do {
          VIGIL_ASSIGN_OR_RETURN(Expr arg, ParseExpr(depth + 1));
          e.args.push_back(std::move(arg));
        } while (Accept(P::kComma));
        if (!Accept(P::kRParen)) {
          if (AtStageEnd()) return Error(open, "unbalanced parentheses: this '(' is never closed");
          return Expected("',' or ')' in " + fn + "(...)");
        }
      }
      if (e.args.size() < info->min_args || e.args.size() > info->max_args) {
        return Error(t, "wrong number of arguments to " + fn + ": " + std::to_string(e.args.size()) + " given, usage " +
                            std::string(info->signature));
      }
      return e;
    }
    if (!t.quoted) {
      if (EqualsIgnoreCase(t.text, "true") || EqualsIgnoreCase(t.text, "false")) {
        e.literal = Value::Bool(EqualsIgnoreCase(t.text, "true"));
        return e;
      }
      if (EqualsIgnoreCase(t.text, "null")) return e;
      if (IsWord(t, "and") || IsWord(t, "or") || IsWord(t, "by") || IsWord(t, "as")) {
        return Error(t, "expected a value, field or function, found " + Describe(t));
      }
    }
    e.kind = Expr::Kind::kField;
    e.name = t.text;
    if (e.name.front() == '.' || e.name.back() == '.' || e.name.find("..") != std::string::npos) {
      return Error(t, "invalid field name " + Describe(t));
    }
    return e;
  }

  std::string_view text_;
  std::vector<PTok> toks_;
  size_t max_depth_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::vector<PipeStage>> ParsePipes(std::string_view text, size_t begin, size_t max_depth) {
  VIGIL_ASSIGN_OR_RETURN(std::vector<PTok> toks, LexPipes(text, begin));
  return PipeParser(text, std::move(toks), max_depth).Parse();
}

}  // namespace vigil::query_internal
