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
#include <string>
#include <vector>

#include "event/event.h"

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

  std::vector<SearchExpr> children;  // kAnd, kOr, kNot
};

// One `| name args...` stage. v1 parses stages only far enough to name them;
// their arguments are kept as text for the stage parsers that come next.
struct PipeStage {
  std::string name;   // lower-cased command name, e.g. "stats"
  std::string args;   // the text after the name up to the next `|`, trimmed
  size_t offset = 0;  // offset of the name in the query text
};

struct Query {
  SearchExpr search;
  std::vector<PipeStage> pipes;
};

// A compact, unambiguous rendering for tests and `--explain`-style output:
//   (and (= eventName "ConsoleLogin") (not (text "fail*")))
std::string DebugString(const SearchExpr& expr);

}  // namespace vigil
