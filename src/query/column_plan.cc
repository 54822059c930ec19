#include "query/column_plan.h"

#include <algorithm>
#include <set>

#include "common/glob.h"
#include "query/internal/bound.h"

namespace vigil {
namespace {

class Planner {
 public:
  // Search terms: false when one needs the raw record.
  bool Search(const SearchExpr& e) {
    switch (e.kind) {
      case SearchExpr::Kind::kAll:
        return true;
      case SearchExpr::Kind::kText:
        return false;
      case SearchExpr::Kind::kAnd:
      case SearchExpr::Kind::kOr:
      case SearchExpr::Kind::kNot:
        for (const SearchExpr& c : e.children)
          if (!Search(c)) return false;
        return true;
      case SearchExpr::Kind::kCompare:
        break;
    }
    const std::string& name = e.field.str();
    const bool single = e.field.parts().size() == 1;
    if (single && name == "time") {
      // time<T reads the event time; time=... and time<5 read the record's
      // own `time` field (docs/query-language.md).
      if (e.op == CompareOp::kEq || e.op == CompareOp::kNe) return false;
      auto bound = query_internal::ParseBound(e.value);
      if (!bound || !bound->is_time) return false;
      exact_time_ = true;
      return true;
    }
    const bool pseudo = single && (name == "source" || name == "account" || name == "principal" || name == "id");
    if (!pseudo && (e.op == CompareOp::kNe || (e.op == CompareOp::kEq &&
                                                GlobPattern::Compile(e.value).shape() == GlobPattern::Shape::kAny))) {
      return false;  // the field's existence
    }
    fields_.insert(name);
    return true;
  }

  // A `where`/`eval`/`by`/aggregation expression.
  void Expression(const Expr& e) {
    if (e.kind == Expr::Kind::kField) {
      Field(e.name);
      return;
    }
    if (e.kind == Expr::Kind::kCall && e.name == "bin" && e.args.size() == 2 &&
        e.args[0].kind == Expr::Kind::kField && e.args[0].name == "time" && !computed_.count("time") &&
        e.args[1].kind == Expr::Kind::kLiteral) {
      if (auto span = e.args[1].literal.AsNumber(); span && e.args[1].literal.kind == Value::Kind::kNumber) {
        Bucket(*span);
        return;
      }
    }
    for (const Expr& a : e.args) Expression(a);
  }

  void Field(const std::string& name) {
    if (computed_.count(name)) return;
    if (name == "time") {
      exact_time_ = true;
      return;
    }
    fields_.insert(name);
  }

  // Time read as bin(time, span seconds).
  void Bucket(double span) {
    int64_t ns = 0;
    if (span > 0 && span * 1e9 < 9e18) ns = static_cast<int64_t>(span * 1e9);
    if (ns <= 0) {
      exact_time_ = true;  // bin() gives null; reading exact times is always right
      return;
    }
    spans_.insert(ns);
  }

  void Computed(const std::string& name) { computed_.insert(name); }

  ColumnPlan Plan() const {
    ColumnPlan p;
    p.fields.assign(fields_.begin(), fields_.end());
    p.exact_time = exact_time_ || spans_.size() > 1;
    if (!p.exact_time && spans_.size() == 1) p.time_bucket_ns = *spans_.begin();
    return p;
  }

 private:
  std::set<std::string> fields_;
  std::set<std::string> computed_;
  std::set<int64_t> spans_;
  bool exact_time_ = false;
};

bool OrderFreeAggregation(const std::string& f) {
  return f == "count" || f == "dc" || f == "values" || f == "min" || f == "max" || f == "sum" || f == "avg";
}

}  // namespace

std::optional<ColumnPlan> PlanColumns(const Query& query) {
  Planner p;
  if (!p.Search(query.search)) return std::nullopt;
  using K = PipeStage::Kind;
  for (const PipeStage& st : query.pipes) {
    switch (st.kind) {
      case K::kWhere:
        p.Expression(st.expr);
        continue;
      case K::kEval:
      case K::kBin:
        for (const NamedExpr& a : st.assignments) {
          p.Expression(a.expr);
          p.Computed(a.name);
        }
        continue;
      case K::kStats:
      case K::kTimechart:
        for (const Aggregation& a : st.aggs) {
          if (!OrderFreeAggregation(a.func)) return std::nullopt;
          if (a.arg) p.Expression(*a.arg);
        }
        for (const NamedExpr& b : st.by) p.Expression(b.expr);
        if (st.kind == K::kTimechart) p.Bucket(st.span_seconds);
        return p.Plan();
      case K::kTop:
      case K::kRare:
        for (const NamedExpr& b : st.by) p.Expression(b.expr);
        for (const std::string& f : st.fields) p.Field(f);
        return p.Plan();
      default:
        return std::nullopt;  // a stage that sees row order or counts rows
    }
  }
  return std::nullopt;  // events are printed: they need their records
}

}  // namespace vigil
