// Row: what flows between the pipe stages of a hunt. A row starts as one
// stored event that matched the search (its record answers any field path,
// OCSF attributes and pseudo-fields) and gains, loses or replaces named
// columns as stages run; aggregating stages (stats, top, timechart) emit rows
// of columns only.
//
// Ownership: a Row shares its event (immutable) and owns its columns; rows
// copy cheaply enough to buffer (sort, tail).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event/event.h"
#include "query/value.h"

namespace vigil {

// The stored event a row came from.
struct RowEvent {
  std::shared_ptr<const FieldResolver> fields;  // raw record (and `ocsf.` attributes)
  std::string source;                           // source type
  std::string id;
  std::string principal;
  std::string account;
  int64_t time_ns = 0;
  std::string raw;  // the stored record, exact
};

struct Row {
  std::shared_ptr<const RowEvent> event;               // null for aggregated rows
  std::vector<std::pair<std::string, Value>> columns;  // computed or chosen columns, in order
  std::vector<std::string> removed;                    // event fields hidden (`fields -`, rename)
  bool projected = false;  // only `columns` exist: the event no longer answers fields
  // How many identical input rows this row stands for: the column executor
  // hands an aggregation one row per distinct combination of the values it
  // reads, weighted by how many events have them (count, sum and avg add the
  // weight; the other stages treat the row as one).
  double weight = 1;

  // The column named `name`, or nullptr.
  const Value* Find(std::string_view name) const;
  // Sets (replacing) or appends a column.
  void Set(std::string_view name, Value v);
  // Removes a column and hides the event field of that name.
  void Remove(std::string_view name);
  bool IsRemoved(std::string_view name) const;
  // True when the row prints as an event (it has one and was not projected).
  bool is_event() const { return event != nullptr && !projected; }
  size_t Footprint() const;
};

// The value of field `name` (pre-split as `path`) in `row`: a column of that
// name, else (for event rows) the pseudo-fields source, id, principal,
// account and time, else the record's values at the path: none is null, one
// is that value, several (arrays fan out) are a list.
Value GetField(const Row& row, std::string_view name, const FieldPath& path);
Value GetField(const Row& row, std::string_view name);

}  // namespace vigil
