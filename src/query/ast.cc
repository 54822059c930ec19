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

}  // namespace

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
