// FieldResolver over a delimited text record (a VPC flow log line, an ALB or
// S3 access log line): the record split into values, and a table naming them.
//
// The names are the log's own field names as AWS documents them (`srcaddr`,
// `interface-id`, `elb_status_code`, `client:port`): a path is looked up whole
// (`a.b` is the name "a.b", never a nested walk). A value that parses as a
// number in full is a number (kNumber, text as written); `-` is missing (Visit
// returns false, as for an absent JSON key); anything else is a string.
//
// Ownership and lifetime: a FieldTable is immutable once built and shared by
// every record of its layout (one per log format or header line). A
// DelimitedFields copies its values into one buffer it owns, so the line it was
// built from need not outlive it, and the texts it hands out live as long as
// the resolver.
// Thread safety: both are immutable after construction; const use from several
// threads is safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"

namespace vigil {

class FieldTable {
 public:
  static constexpr size_t npos = static_cast<size_t>(-1);

  explicit FieldTable(std::vector<std::string> names);
  size_t size() const { return names_.size(); }
  const std::string& name(size_t i) const { return names_[i]; }
  const std::vector<std::string>& names() const { return names_; }
  // The column of `name`, or npos. The first column wins when a name repeats.
  size_t Find(std::string_view name) const;

 private:
  std::vector<std::string> names_;
  // Open-addressing index over names_ (power-of-two size, 0 = empty, else column + 1).
  std::vector<uint32_t> slots_;
};

class DelimitedFields final : public FieldResolver {
 public:
  // values[i] is the text of column i; columns past values.size() are missing,
  // values past table->size() are dropped.
  DelimitedFields(std::shared_ptr<const FieldTable> table, std::span<const std::string_view> values);

  bool Visit(const FieldPath& path, const FieldVisitor& visitor) const override;
  void VisitAllScalars(const FieldVisitor& visitor) const override;
  bool Collect(const FieldPath& path, FieldValueList* out) const override;

  const FieldTable& table() const { return *table_; }
  // Column i's value, or nullptr when missing (`-`, or past the record's end).
  const FieldValue* value(size_t i) const;
  // The text of `name`'s value, or empty when missing.
  std::string_view Text(std::string_view name) const;

 private:
  std::shared_ptr<const FieldTable> table_;
  std::string text_;                // every value's text, back to back
  std::vector<FieldValue> values_;  // texts point into text_; kNull = missing
};

// The value kind a text takes in a delimited record: kNull for `-`, kNumber
// for a whole decimal number (with *number and *is_integer set), else kString.
ValueKind ClassifyDelimitedValue(std::string_view text, double* number, bool* is_integer);

}  // namespace vigil
