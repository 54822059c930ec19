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

}  // namespace

std::optional<std::string> PatternLiteral(std::string_view pattern) {
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

namespace {

std::optional<std::string> LiteralOf(std::string_view pattern) { return PatternLiteral(pattern); }

// Literal runs of a pattern, split at its wildcards, lower-cased.
std::vector<std::string> LiteralRuns(std::string_view pattern) {
  std::vector<std::string> runs(1);
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*' || c == '?') {
      runs.emplace_back();
      continue;
    }
    if (c == '\\' && i + 1 < pattern.size() &&
        (pattern[i + 1] == '*' || pattern[i + 1] == '?' || pattern[i + 1] == '\\')) {
      c = pattern[++i];
    }
    runs.back().push_back(AsciiLower(c));
  }
  return runs;
}

bool IsFieldEquality(const SearchExpr& e) {
  if (e.kind != SearchExpr::Kind::kCompare || e.op != CompareOp::kEq || IsPseudo(e, "source")) return false;
  // `field=*` only says the field exists.
  return e.value.find_first_not_of('*') != std::string::npos;
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
  auto visit_record = [&](const SearchExpr& c) {
    if (IsFieldEquality(c)) {
      hints.equalities.push_back({c.field.str(), {c.value}, c.network});
      return;
    }
    if (c.kind == SearchExpr::Kind::kOr) {  // f=a OR f=b ...
      ScanHints::Equality eq;
      for (const SearchExpr& alt : c.children) {
        if (!IsFieldEquality(alt) || (!eq.patterns.empty() && alt.field.str() != eq.field)) return;
        eq.field = alt.field.str();
        eq.patterns.push_back(alt.value);
        eq.network = eq.network || alt.network;
      }
      if (!eq.patterns.empty()) hints.equalities.push_back(std::move(eq));
      return;
    }
    if (c.kind == SearchExpr::Kind::kCompare && c.op != CompareOp::kEq && c.op != CompareOp::kNe &&
        !IsPseudo(c, "time")) {
      auto bound = query_internal::ParseBound(c.value);
      if (bound && !bound->is_time) hints.compares.push_back({c.field.str(), c.op, bound->number});
      return;
    }
    if (c.kind == SearchExpr::Kind::kText) {
      for (std::string& run : LiteralRuns(c.value))
        if (run.size() >= 3) hints.text_runs.push_back(std::move(run));
    }
  };
  if (is_and) {
    for (const SearchExpr& c : expr.children) {
      visit_time(c);
      visit_record(c);
    }
  } else {
    visit_time(expr);
    visit_record(expr);
  }
  return hints;
}

}  // namespace vigil
