// LookupTable: a named table of rows keyed by one value, for the hunting
// language's `lookup` stage (`... | lookup intel src_ip`) and for anything
// else that enriches a value with what a table knows about it.
//
// The interface is deliberately small: a table answers one key with at most
// one row of named text fields. How a key matches is the table's business (an
// exact match for a CSV table; longest prefix for an IP in a CIDR, the
// longest listed suffix for a domain in the threat-intelligence tables).
//
// Thread safety: Lookup is const and safe from several threads at once.
// Lifetime: a row owns its text; tables are shared (std::shared_ptr) so that
// a query keeps the version it started with while a newer one is loaded.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil {

struct LookupRow {
  // (column, value) pairs in the table's column order; a column the row has
  // no value for is left out.
  std::vector<std::pair<std::string, std::string>> fields;

  // The value of `column`, or nullptr.
  const std::string* Get(std::string_view column) const {
    for (const auto& [k, v] : fields)
      if (k == column) return &v;
    return nullptr;
  }
};

class LookupTable {
 public:
  virtual ~LookupTable() = default;
  virtual std::string_view name() const = 0;
  // Every column a row may hold, in output order.
  virtual const std::vector<std::string>& columns() const = 0;
  // The row for `key`, or nullopt when the table does not know it.
  virtual std::optional<LookupRow> Lookup(std::string_view key) const = 0;
};

// The tables a query may name, by name.
using LookupTables = std::map<std::string, std::shared_ptr<const LookupTable>, std::less<>>;

}  // namespace vigil
