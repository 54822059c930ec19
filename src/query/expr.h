// CompiledExpr: a `where`/`eval` expression ready to evaluate over rows.
// Compilation pre-splits field paths and pre-compiles constant patterns
// (like(), match(), cidrmatch()), so evaluation does no parsing on the
// common paths. Semantics are in docs/query-language.md ("Expressions").
//
// Thread safety: immutable after Compile; Eval may run on several threads.
#pragma once

#include <memory>

#include "common/status.h"
#include "query/ast.h"
#include "query/row.h"
#include "query/value.h"

namespace vigil {

class CompiledExpr {
 public:
  // Fails for a constant argument that cannot work (an invalid regex in
  // match(), an invalid network in cidrmatch()), pointing at it in `text`.
  static Result<CompiledExpr> Compile(const Expr& expr, std::string_view text);

  CompiledExpr(CompiledExpr&&) noexcept;
  CompiledExpr& operator=(CompiledExpr&&) noexcept;
  ~CompiledExpr();

  Value Eval(const Row& row) const;

  struct Node;  // internal

 private:
  explicit CompiledExpr(std::unique_ptr<Node> root);
  std::unique_ptr<Node> root_;
};

}  // namespace vigil
