#include "query/lookup.h"

#include <fstream>
#include <sstream>

#include "common/glob.h"

namespace vigil {

Result<std::shared_ptr<const CsvTable>> CsvTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("lookup table " + path + ": cannot open the file");
  std::string data;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxFileBytes) {
      return Status::LimitExceeded("lookup table " + path + ": larger than " + std::to_string(kMaxFileBytes >> 20) +
                                   " MiB");
    }
  }
  return Parse(data, path);
}

Result<std::shared_ptr<const CsvTable>> CsvTable::Parse(std::string_view csv, const std::string& name) {
  auto t = std::make_shared<CsvTable>();
  t->name_ = name;
  if (csv.size() >= 3 && csv.substr(0, 3) == "\xEF\xBB\xBF") csv.remove_prefix(3);  // UTF-8 byte order mark
  size_t i = 0, line = 1;
  std::vector<std::vector<std::string>> records;
  while (i < csv.size()) {
    std::vector<std::string> rec;
    std::string field;
    const size_t rec_line = line;
    bool end_of_record = false;
    while (!end_of_record) {
      field.clear();
      if (i < csv.size() && csv[i] == '"') {
        ++i;
        while (true) {
          if (i >= csv.size()) {
            return Status::InvalidArgument("lookup table " + name + ": line " + std::to_string(rec_line) +
                                           ": unterminated quoted field");
          }
          if (csv[i] == '"') {
            if (i + 1 < csv.size() && csv[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (csv[i] == '\n') ++line;
          field.push_back(csv[i++]);
        }
        if (i < csv.size() && csv[i] != ',' && csv[i] != '\n' && csv[i] != '\r') {
          return Status::InvalidArgument("lookup table " + name + ": line " + std::to_string(line) +
                                         ": text after a closing quote");
        }
      } else {
        while (i < csv.size() && csv[i] != ',' && csv[i] != '\n' && csv[i] != '\r') field.push_back(csv[i++]);
      }
      rec.push_back(field);
      if (i < csv.size() && csv[i] == ',') {
        ++i;
        continue;
      }
      if (i < csv.size() && csv[i] == '\r') ++i;
      if (i < csv.size() && csv[i] == '\n') {
        ++i;
        ++line;
      }
      end_of_record = true;
    }
    if (rec.size() == 1 && rec[0].empty()) continue;  // blank line
    if (!records.empty() && rec.size() != records.front().size()) {
      return Status::InvalidArgument("lookup table " + name + ": line " + std::to_string(rec_line) + " has " +
                                     std::to_string(rec.size()) + " fields, the header has " +
                                     std::to_string(records.front().size()));
    }
    records.push_back(std::move(rec));
  }
  if (records.empty()) return Status::InvalidArgument("lookup table " + name + ": no header row");
  t->columns_ = std::move(records.front());
  for (size_t c = 0; c < t->columns_.size(); ++c) {
    t->columns_[c] = std::string(TrimSpace(t->columns_[c]));
    if (t->columns_[c].empty()) {
      return Status::InvalidArgument("lookup table " + name + ": column " + std::to_string(c + 1) +
                                     " of the header has no name");
    }
  }
  t->rows_.assign(std::make_move_iterator(records.begin() + 1), std::make_move_iterator(records.end()));
  return std::shared_ptr<const CsvTable>(std::move(t));
}

// One CSV file keyed by one of its columns.
class CsvKeyedTable final : public LookupTable {
 public:
  CsvKeyedTable(std::shared_ptr<const CsvTable> csv, size_t column) : csv_(std::move(csv)) {
    for (size_t r = 0; r < csv_->rows_.size(); ++r) index_.emplace(ToLower(csv_->rows_[r][column]), r);
  }
  std::string_view name() const override { return csv_->name(); }
  const std::vector<std::string>& columns() const override { return csv_->columns(); }
  std::optional<LookupRow> Lookup(std::string_view key) const override {
    auto it = index_.find(ToLower(key));
    if (it == index_.end()) return std::nullopt;
    LookupRow row;
    const auto& values = csv_->rows_[it->second];
    for (size_t c = 0; c < values.size(); ++c) row.fields.emplace_back(csv_->columns()[c], values[c]);
    return row;
  }

 private:
  std::shared_ptr<const CsvTable> csv_;
  std::map<std::string, size_t, std::less<>> index_;  // first row per lower-cased key
};

Result<std::shared_ptr<const LookupTable>> CsvTable::KeyedBy(std::string_view column) const {
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (columns_[c] == column) return std::shared_ptr<const LookupTable>(std::make_shared<CsvKeyedTable>(shared_from_this(), c));
  }
  std::string have;
  for (const std::string& c : columns_) have += (have.empty() ? "" : ", ") + c;
  return Status::InvalidArgument("lookup table " + name_ + " has no column `" + std::string(column) +
                                 "` (columns: " + have + ")");
}

Result<OpenedLookup> OpenLookup(const LookupSources& sources, std::string_view name, std::string_view key) {
  OpenedLookup out;
  if (sources.tables != nullptr) {
    if (auto it = sources.tables->find(name); it != sources.tables->end()) {
      out.table = it->second;
      return out;
    }
  }
  std::string path;
  if (auto it = sources.csv_files.find(name); it != sources.csv_files.end()) {
    path = it->second;
  } else if (sources.files_by_path && (name.find('/') != std::string_view::npos || EndsWithIgnoreCase(name, ".csv"))) {
    path = std::string(name);
  } else {
    std::string known;
    if (sources.tables != nullptr)
      for (const auto& [k, v] : *sources.tables) known += (known.empty() ? "" : ", ") + k;
    for (const auto& [k, v] : sources.csv_files) known += (known.empty() ? "" : ", ") + k;
    return Status::NotFound("no lookup table named `" + std::string(name) + "` (" +
                            (known.empty() ? std::string("none is configured") : "configured: " + known) +
                            "; a CSV file is named by its path, e.g. ./assets.csv)");
  }
  VIGIL_ASSIGN_OR_RETURN(std::shared_ptr<const CsvTable> csv, CsvTable::Load(path));
  VIGIL_ASSIGN_OR_RETURN(out.table, csv->KeyedBy(key));
  out.keyed_by_column = true;
  return out;
}

}  // namespace vigil
