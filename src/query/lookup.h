// Lookup tables for the `lookup` pipe stage:
//
//   ... | lookup assets.csv ip AS sourceIPAddress OUTPUT owner, environment
//
// LookupTable is the interface a table implements: CSV files here; a threat
// intelligence table (IP and domain indicators, CIDR ranges) implements the
// same interface and is registered by name, so `lookup threat_intel ...`
// reads it like any other table. How a key matches is the table's choice:
// exact (case-insensitive) text for CSV, and, for instance, network
// containment for an intel table of CIDR ranges.
//
// Thread safety: a LookupTable is immutable once opened (Find is const and
// safe from several threads). LookupRegistry is filled before queries run
// and then only read.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "query/value.h"

namespace vigil {

class LookupTable {
 public:
  virtual ~LookupTable() = default;
  // The table's columns, in order (key columns included).
  virtual const std::vector<std::string>& columns() const = 0;
  // Whether `column` can be matched against (kInvalidArgument naming the
  // usable key columns if not). Called once per query, before any Find.
  virtual Status CheckKey(std::string_view column) const = 0;
  // The entry whose `key_column` matches `key`: its values, one per
  // columns() entry; nullopt when no entry matches.
  virtual std::optional<std::vector<Value>> Find(std::string_view key_column, const Value& key) const = 0;
};

// Resolves the TABLE of `lookup TABLE ...`.
class LookupTables {
 public:
  virtual ~LookupTables() = default;
  virtual Result<std::shared_ptr<const LookupTable>> Open(std::string_view name) const = 0;
};

// A CSV file: a header row of column names, then one entry per line (RFC 4180
// quoting; blank lines skipped). Every column is a key; keys match exactly,
// ASCII case-insensitively, and the first entry with a key wins.
class CsvLookupTable : public LookupTable {
 public:
  static constexpr size_t kMaxFileBytes = 64 << 20;
  // Reads and indexes the file. Errors name the file and the line.
  static Result<std::shared_ptr<CsvLookupTable>> Load(const std::string& path);
  static Result<std::shared_ptr<CsvLookupTable>> Parse(std::string_view csv, const std::string& name);

  const std::vector<std::string>& columns() const override { return columns_; }
  Status CheckKey(std::string_view column) const override;
  std::optional<std::vector<Value>> Find(std::string_view key_column, const Value& key) const override;
  size_t size() const { return rows_.size(); }

 private:
  std::string name_;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
  // Per column: lower-cased key -> first row index.
  std::vector<std::map<std::string, size_t, std::less<>>> index_;
};

// Named tables (from configuration, or a threat-intel table registered by
// its owner), falling back to a CSV file path for names that contain a `/`
// or end in `.csv`.
class LookupRegistry : public LookupTables {
 public:
  void Register(std::string name, std::shared_ptr<const LookupTable> table);
  // A CSV file under a name; read when a query first uses it.
  void RegisterCsv(std::string name, std::string path);
  Result<std::shared_ptr<const LookupTable>> Open(std::string_view name) const override;

 private:
  std::map<std::string, std::shared_ptr<const LookupTable>, std::less<>> tables_;
  std::map<std::string, std::string, std::less<>> csv_paths_;
};

}  // namespace vigil
