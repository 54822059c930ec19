#include "query/ast.h"

namespace vigil {
namespace {

void AppendQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

void Render(const SearchExpr& e, std::string& out) {
  switch (e.kind) {
    case SearchExpr::Kind::kAll:
      out += "(all)";
      return;
    case SearchExpr::Kind::kCompare:
      out += '(';
      out += CompareOpText(e.op);
      out += ' ';
      out += e.field.str();
      out += ' ';
      AppendQuoted(out, e.value);
      out += ')';
      return;
    case SearchExpr::Kind::kText:
      out += "(text ";
      AppendQuoted(out, e.value);
      out += ')';
      return;
    case SearchExpr::Kind::kAnd:
    case SearchExpr::Kind::kOr:
    case SearchExpr::Kind::kNot:
      out += e.kind == SearchExpr::Kind::kAnd ? "(and" : e.kind == SearchExpr::Kind::kOr ? "(or" : "(not";
      for (const SearchExpr& c : e.children) {
        out += ' ';
        Render(c, out);
      }
      out += ')';
      return;
  }
}

void Render(const Expr& e, std::string& out) {
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      if (e.literal.kind == Value::Kind::kString) {
        AppendQuoted(out, e.literal.str);
      } else {
        out += e.literal.is_null() ? "null" : e.literal.Text();
      }
      return;
    case Expr::Kind::kField:
      out += e.name;
      return;
    case Expr::Kind::kCall:
    case Expr::Kind::kUnary:
    case Expr::Kind::kBinary:
      out += '(';
      if (e.kind == Expr::Kind::kCall) out += "call ";
      out += e.name;
      for (const Expr& a : e.args) {
        out += ' ';
        Render(a, out);
      }
      out += ')';
      return;
  }
}

void AppendList(std::string& out, const std::vector<std::string>& items) {
  for (size_t i = 0; i < items.size(); ++i) {
    out += i ? ", " : " ";
    out += items[i];
  }
}

void AppendNamed(std::string& out, const std::vector<NamedExpr>& items) {
  for (size_t i = 0; i < items.size(); ++i) {
    out += i ? ", " : " ";
    Render(items[i].expr, out);
    out += " AS " + items[i].name;
  }
}

std::string SpanText(double seconds) { return Value::Number(seconds).Text() + "s"; }

}  // namespace

std::string DebugString(const Expr& expr) {
  std::string out;
  Render(expr, out);
  return out;
}

std::string DebugString(const PipeStage& st) {
  std::string out = st.name;
  using K = PipeStage::Kind;
  auto aggs = [&] {
    for (size_t i = 0; i < st.aggs.size(); ++i) {
      const Aggregation& a = st.aggs[i];
      out += i ? ", " : " ";
      out += a.func + "(";
      if (a.arg) Render(*a.arg, out);
      if (a.func == "percentile") out += " " + Value::Number(a.percentile).Text();
      out += ") AS " + a.name;
    }
  };
  auto by = [&] {
    if (st.by.empty()) return;
    out += " BY";
    AppendNamed(out, st.by);
  };
  switch (st.kind) {
    case K::kWhere:
      out += ' ';
      Render(st.expr, out);
      break;
    case K::kEval:
      AppendNamed(out, st.assignments);
      break;
    case K::kFields:
      if (st.exclude) out += " -";
      AppendList(out, st.fields);
      break;
    case K::kRename:
      for (size_t i = 0; i < st.renames.size(); ++i)
        out += (i ? ", " : " ") + st.renames[i].first + " AS " + st.renames[i].second;
      break;
    case K::kStats:
      aggs();
      by();
      break;
    case K::kBin:
      AppendNamed(out, st.assignments);
      out += " span=" + SpanText(st.span_seconds);
      break;
    case K::kTimechart:
      out += " span=" + SpanText(st.span_seconds) + " limit=" + std::to_string(st.count);
      aggs();
      by();
      break;
    case K::kTop:
    case K::kRare:
      out += " " + std::to_string(st.count);
      AppendList(out, st.fields);
      by();
      break;
    case K::kSort:
      if (st.count) out += " " + std::to_string(st.count);
      for (size_t i = 0; i < st.sort.size(); ++i)
        out += (i ? ", " : " ") + std::string(st.sort[i].descending ? "-" : "+") + st.sort[i].field;
      break;
    case K::kHead:
    case K::kTail:
      out += " " + std::to_string(st.count);
      break;
    case K::kDedup:
      if (st.count) out += " " + std::to_string(st.count);
      AppendList(out, st.fields);
      break;
    case K::kLookup:
      out += " " + st.table + " " + st.table_key + " AS " + st.row_key + " OUTPUT";
      AppendList(out, st.fields);
      break;
  }
  return out;
}

const char* CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "=";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

std::string DebugString(const SearchExpr& expr) {
  std::string out;
  Render(expr, out);
  return out;
}

}  // namespace vigil
