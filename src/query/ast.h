// The syntax tree of a `vigil hunt` query, as ParseQuery produces it.
//
// A query is a search expression optionally followed by pipe stages:
//
//   eventSource=iam.amazonaws.com (eventName=Create* OR eventName=Attach*) | stats count() by eventName
//   \______________________________ search ______________________________/ \_______ pipes ________/
//
// The tree is plain data: it owns all its strings, copies freely and holds no
// pointers into the query text. Offsets are byte offsets into the original
// query text, kept so that later stages (the planner, pipe stages) can point
// their errors at the token that caused them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "event/event.h"
#include "query/value.h"

namespace vigil {

enum class CompareOp {
  kEq,  // =   any value at the path matches the pattern (`field=*`: the path exists)
  kNe,  // !=  the path exists and none of its values matches the pattern
  kLt,  // <   numeric or time comparison
  kLe,  // <=
  kGt,  // >
  kGe,  // >=
};

// "=", "!=", "<", ...
const char* CompareOpText(CompareOp op);

struct SearchExpr {
  enum class Kind {
    kAll,      // the empty query: matches every event
    kAnd,      // all children match (two or more children)
    kOr,       // any child matches (two or more children)
    kNot,      // exactly one child, negated
    kCompare,  // `field OP value`
    kText,     // a bare word or quoted phrase: any scalar value contains it
  };

  Kind kind = Kind::kAll;
  size_t offset = 0;  // where the term or operator starts in the query text

  // kCompare: `field` and `op`. kCompare and kText: `value` is the pattern
  // text as GlobPattern reads it: `*` and `?` are wildcards and the escapes
  // `\*`, `\?` and `\\` are kept as written, so a literal star stays `\*`.
  FieldPath field;
  CompareOp op = CompareOp::kEq;
  std::string value;
  bool quoted = false;  // the value was written in double quotes
  // kCompare with = or !=: the value is an IP network (`10.0.0.0/8`), which
  // also matches every address inside it. Pruning by exact values (blooms)
  // must treat such a term as a range, not as its text.
  bool network = false;

  std::vector<SearchExpr> children;  // kAnd, kOr, kNot
};

// An expression of `where` and `eval` (and of `stats ... by` items):
//   where count > 5 AND NOT like(userAgent, "%aws-cli%")
struct Expr {
  enum class Kind {
    kLiteral,  // `value`: a number, "string", duration (in seconds), true, false, null
    kField,    // `name`: a field of the row (a dotted path, a computed column, a pseudo-field)
    kCall,     // `name(args)`: a function, name lower-cased
    kUnary,    // `name` is "-" or "not"; one arg
    kBinary,   // `name` is the operator: or and = != < <= > >= + - * / %; two args
  };
  Kind kind = Kind::kLiteral;
  size_t offset = 0;
  Value literal;
  std::string name;
  std::vector<Expr> args;
};

// One aggregation of `stats`, `timechart`: `dc(userIdentity.arn) AS users`.
struct Aggregation {
  std::string func;       // count dc sum avg min max percentile values earliest latest
  std::optional<Expr> arg;  // count() has none
  double percentile = 0;  // percentile, pNN, median: 0..100
  std::string name;       // output column: the AS name, else "count" or "func(arg)"
  size_t offset = 0;
};

// A `by` item or a named expression: `bin(time, 1h)`, `sourceIPAddress`.
struct NamedExpr {
  std::string name;  // output column
  Expr expr;
};

struct SortKey {
  std::string field;
  bool descending = false;
  size_t offset = 0;
};

// One `| command args` stage; which members are used depends on `kind`.
struct PipeStage {
  enum class Kind {
    kWhere, kEval, kFields, kRename, kStats, kBin, kTimechart, kTop, kRare, kSort, kHead, kTail, kDedup, kLookup,
  };
  Kind kind = Kind::kWhere;
  std::string name;   // lower-cased command name, e.g. "stats"
  size_t offset = 0;  // offset of the name in the query text

  Expr expr;                          // where
  std::vector<NamedExpr> assignments;  // eval: name=expr, ...
  std::vector<std::string> fields;    // fields, dedup, top/rare, lookup OUTPUT
  bool exclude = false;               // fields - a, b
  std::vector<std::pair<std::string, std::string>> renames;  // rename a AS b
  std::vector<Aggregation> aggs;      // stats, timechart
  std::vector<NamedExpr> by;          // stats, timechart, top, rare
  double span_seconds = 0;            // bin, timechart
  size_t count = 0;                   // head, tail, top, rare, dedup (0: every), sort (0: all)
  std::vector<SortKey> sort;          // sort
  std::string table;                  // lookup: file path or configured table name
  size_t table_offset = 0;
  std::string table_key;              // lookup: the table's key column
  std::string row_key;                // lookup: the row's field matched against it (default table_key)
};

struct Query {
  SearchExpr search;
  std::vector<PipeStage> pipes;
};

// A compact, unambiguous rendering for tests and `--explain`-style output:
//   (and (= eventName "ConsoleLogin") (not (text "fail*")))
std::string DebugString(const SearchExpr& expr);
//   (> count 5)   (call bin time 3600)
std::string DebugString(const Expr& expr);
//   stats (count) as count by (sourceIPAddress) as sourceIPAddress
std::string DebugString(const PipeStage& stage);

}  // namespace vigil
