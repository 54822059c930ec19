#include "query/lookup.h"

#include <fstream>
#include <sstream>

#include "common/glob.h"

namespace vigil {

Result<std::shared_ptr<CsvLookupTable>> CsvLookupTable::Load(const std::string& path) {
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

Result<std::shared_ptr<CsvLookupTable>> CsvLookupTable::Parse(std::string_view csv, const std::string& name) {
  auto t = std::make_shared<CsvLookupTable>();
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
  t->index_.resize(t->columns_.size());
  for (size_t r = 0; r < t->rows_.size(); ++r)
    for (size_t c = 0; c < t->columns_.size(); ++c) t->index_[c].emplace(ToLower(t->rows_[r][c]), r);
  return t;
}

Status CsvLookupTable::CheckKey(std::string_view column) const {
  for (const std::string& c : columns_)
    if (c == column) return Status::Ok();
  std::string have;
  for (const std::string& c : columns_) have += (have.empty() ? "" : ", ") + c;
  return Status::InvalidArgument("lookup table " + name_ + " has no column `" + std::string(column) +
                                 "` (columns: " + have + ")");
}

std::optional<std::vector<Value>> CsvLookupTable::Find(std::string_view key_column, const Value& key) const {
  size_t c = 0;
  while (c < columns_.size() && columns_[c] != key_column) ++c;
  if (c == columns_.size() || key.is_null()) return std::nullopt;
  auto find_one = [&](const Value& k) -> std::optional<size_t> {
    auto it = index_[c].find(ToLower(k.Text()));
    if (it == index_[c].end()) return std::nullopt;
    return it->second;
  };
  std::optional<size_t> row;
  if (key.kind == Value::Kind::kList) {
    for (const Value& k : key.list)
      if ((row = find_one(k))) break;
  } else {
    row = find_one(key);
  }
  if (!row) return std::nullopt;
  std::vector<Value> out;
  out.reserve(columns_.size());
  for (const std::string& v : rows_[*row]) out.push_back(Value::String(v));
  return out;
}

void LookupRegistry::Register(std::string name, std::shared_ptr<const LookupTable> table) {
  tables_[std::move(name)] = std::move(table);
}

void LookupRegistry::RegisterCsv(std::string name, std::string path) { csv_paths_[std::move(name)] = std::move(path); }

Result<std::shared_ptr<const LookupTable>> LookupRegistry::Open(std::string_view name) const {
  if (auto it = tables_.find(name); it != tables_.end()) return it->second;
  if (auto it = csv_paths_.find(name); it != csv_paths_.end()) {
    VIGIL_ASSIGN_OR_RETURN(auto t, CsvLookupTable::Load(it->second));
    return std::shared_ptr<const LookupTable>(std::move(t));
  }
  if (name.find('/') != std::string_view::npos || EndsWithIgnoreCase(name, ".csv")) {
    VIGIL_ASSIGN_OR_RETURN(auto t, CsvLookupTable::Load(std::string(name)));
    return std::shared_ptr<const LookupTable>(std::move(t));
  }
  std::string known;
  for (const auto& [k, v] : tables_) known += (known.empty() ? "" : ", ") + k;
  for (const auto& [k, v] : csv_paths_) known += (known.empty() ? "" : ", ") + k;
  return Status::NotFound("no lookup table named `" + std::string(name) + "` (" +
                          (known.empty() ? std::string("none is configured") : "configured: " + known) +
                          "; a CSV file is named by its path, e.g. ./assets.csv)");
}

}  // namespace vigil
