#include "query/scan_hints.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "common/glob.h"
#include "query/internal/bound.h"

namespace vigil {
namespace {

bool IsPseudo(const SearchExpr& e, std::string_view name) {
  return e.kind == SearchExpr::Kind::kCompare && e.field.parts().size() == 1 && e.field.parts().front() == name;
}

// The exact text of a pattern without wildcards, or nullopt when it has any.
std::optional<std::string> LiteralOf(std::string_view pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*' || c == '?') return std::nullopt;
    if (c == '\\' && i + 1 < pattern.size() &&
        (pattern[i + 1] == '*' || pattern[i + 1] == '?' || pattern[i + 1] == '\\')) {
      c = pattern[++i];
    }
    out.push_back(c);
  }
  return out;
}

// The source types one conjunct allows, or nullopt when it does not constrain them.
std::optional<std::set<std::string>> SourcesOf(const SearchExpr& e) {
  if (IsPseudo(e, "source") && e.op == CompareOp::kEq) {
    auto literal = LiteralOf(e.value);
    if (!literal) return std::nullopt;
    return std::set<std::string>{ToLower(*literal)};
  }
  if (e.kind == SearchExpr::Kind::kOr) {
    std::set<std::string> all;
    for (const SearchExpr& c : e.children) {
      auto s = SourcesOf(c);
      if (!s) return std::nullopt;
      all.insert(s->begin(), s->end());
    }
    return all;
  }
  if (e.kind == SearchExpr::Kind::kAnd) {  // only reached for nested ANDs inside an OR
    std::optional<std::set<std::string>> acc;
    for (const SearchExpr& c : e.children) {
      auto s = SourcesOf(c);
      if (!s) continue;
      if (!acc) {
        acc = std::move(s);
      } else {
        std::set<std::string> both;
        std::set_intersection(acc->begin(), acc->end(), s->begin(), s->end(), std::inserter(both, both.end()));
        acc = std::move(both);
      }
    }
    return acc;
  }
  return std::nullopt;
}

}  // namespace

ScanHints ExtractScanHints(const SearchExpr& expr) {
  ScanHints hints;
  if (auto sources = SourcesOf(expr)) hints.sources = std::vector<std::string>(sources->begin(), sources->end());
  const bool is_and = expr.kind == SearchExpr::Kind::kAnd;
  auto visit_time = [&](const SearchExpr& c) {
    if (!IsPseudo(c, "time")) return;
    auto bound = query_internal::ParseBound(c.value);
    if (!bound || !bound->is_time) return;
    const int64_t t = bound->time_ns;
    auto lower = [&](int64_t from) { hints.from_ns = hints.from_ns ? std::max(*hints.from_ns, from) : from; };
    auto upper = [&](int64_t to) { hints.to_ns = hints.to_ns ? std::min(*hints.to_ns, to) : to; };
    switch (c.op) {
      case CompareOp::kGe:
        lower(t);
        break;
      case CompareOp::kGt:
        lower(t + 1);
        break;
      case CompareOp::kLt:
        upper(t);
        break;
      case CompareOp::kLe:
        upper(t + 1);
        break;
      default:
        break;
    }
  };
  if (is_and) {
    for (const SearchExpr& c : expr.children) visit_time(c);
  } else {
    visit_time(expr);
  }
  return hints;
}

}  // namespace vigil
