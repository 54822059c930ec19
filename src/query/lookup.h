// CSV tables for the `lookup` pipe stage, and how the stage finds its table.
//
//   ... | lookup ./assets.csv ip AS sourceIPAddress OUTPUT owner, environment
//   ... | lookup intel sourceIPAddress
//
// The table interface is query/lookup_table.h (LookupTable: one key in, at
// most one row of named text fields out); threat-intelligence tables
// implement it (intel/lookup.h) and match keys their own way. A CSV file can
// be keyed by any of its columns, so CsvTable hands out one LookupTable per
// key column.
//
// Thread safety: CsvTable and the tables it hands out are immutable once
// built and safe to read from several threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "query/lookup_table.h"

namespace vigil {

// A CSV file: a header row of column names, then one entry per line (RFC 4180
// quoting; blank lines skipped).
class CsvTable : public std::enable_shared_from_this<CsvTable> {
 public:
  static constexpr size_t kMaxFileBytes = 64 << 20;
  // Reads the file. Errors name the file and the line.
  static Result<std::shared_ptr<const CsvTable>> Load(const std::string& path);
  // `name` is used in errors and as the table's name.
  static Result<std::shared_ptr<const CsvTable>> Parse(std::string_view csv, const std::string& name);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& columns() const { return columns_; }
  size_t size() const { return rows_.size(); }

  // The table keyed by `column`: a key matches a row whose value in that
  // column is the same text, ASCII case-insensitively; the first such row
  // wins. kInvalidArgument (naming the columns) when there is no such column.
  Result<std::shared_ptr<const LookupTable>> KeyedBy(std::string_view column) const;

 private:
  friend class CsvKeyedTable;
  std::string name_;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// Where `lookup TABLE` finds TABLE: named tables (threat intelligence, or
// anything else that implements LookupTable), named CSV files
// (`vigil hunt --lookup assets=assets.csv`), else a CSV file by path (a name
// that contains `/` or ends in `.csv`).
struct LookupSources {
  const LookupTables* tables = nullptr;           // not owned; may be null
  std::map<std::string, std::string, std::less<>> csv_files;  // name -> path
  bool files_by_path = true;  // false: a name never opens a file (fuzzing)
};

// The resolved table of one `lookup` stage.
struct OpenedLookup {
  std::shared_ptr<const LookupTable> table;
  bool keyed_by_column = false;  // a CSV table keyed by the stage's KEY column
};

// Opens `name` keyed by `key`: for a CSV table, `key` must be one of its
// columns; a named table matches keys its own way and `key` only names the
// row's field (unless AS names another). Errors say what is available.
Result<OpenedLookup> OpenLookup(const LookupSources& sources, std::string_view name, std::string_view key);

}  // namespace vigil
