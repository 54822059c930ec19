// CSV feeds (RFC 4180: quoted fields, "" inside quotes, fields spanning
// lines). Which column holds what is configured by header name or 1-based
// number; unset columns are guessed from the header (docs/threat-intel.md).
// Lines starting with '#' before the header are comments (abuse.ch style).
#include <algorithm>
#include <cctype>

#include "common/time.h"
#include "intel/feed.h"
#include "intel/internal/feed_util.h"

namespace vigil::intel {
namespace {

// Splits one record; false when a quote is left open (the caller extends the
// record by the next line and tries again).
bool SplitRecord(std::string_view rec, char delim, std::vector<std::string>* out) {
  out->clear();
  std::string field;
  size_t i = 0;
  while (true) {
    field.clear();
    if (i < rec.size() && rec[i] == '"') {
      ++i;
      while (true) {
        if (i >= rec.size()) return false;
        if (rec[i] == '"') {
          if (i + 1 < rec.size() && rec[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += rec[i++];
      }
      // Text after the closing quote up to the delimiter is kept as written.
      while (i < rec.size() && rec[i] != delim) field += rec[i++];
    } else {
      while (i < rec.size() && rec[i] != delim) field += rec[i++];
    }
    out->push_back(std::string(internal::Trim(field)));
    if (i >= rec.size()) return true;
    ++i;  // the delimiter
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Column index for a configured name or number; -1 unset; error when it
// names no column.
Result<int> ResolveColumn(const std::string& spec, const std::vector<std::string>& header, const std::string& what,
                          const std::string& path) {
  if (spec.empty()) return -1;
  if (std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '9'; }) && spec.size() < 4) {
    int n = std::stoi(spec);
    if (n < 1) return Status::InvalidArgument(path + ": " + what + " column " + spec + ": columns count from 1");
    return n - 1;
  }
  for (size_t i = 0; i < header.size(); ++i)
    if (Lower(header[i]) == Lower(spec)) return static_cast<int>(i);
  return Status::InvalidArgument(path + ": " + what + " column '" + spec + "' is not in the header");
}

int GuessColumn(const std::vector<std::string>& header, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names)
    for (size_t i = 0; i < header.size(); ++i)
      if (Lower(header[i]) == n) return static_cast<int>(i);
  return -1;
}

}  // namespace

Result<ParsedFeed> ParseCsvFeed(std::string_view text, const FeedConfig& config) {
  ParsedFeed feed;
  feed.format = FeedFormat::kCsv;
  const char delim = config.csv_delimiter;
  internal::LineReader lines(text);
  std::vector<std::string> fields, header;
  std::string_view rec;
  bool have_header = !config.csv_header;
  int value_col = 0, desc_col = -1, conf_col = -1, labels_col = -1, cat_col = -1;
  auto resolve = [&]() -> Status {
    VIGIL_ASSIGN_OR_RETURN(int v, ResolveColumn(config.value_column, header, "value", config.path));
    VIGIL_ASSIGN_OR_RETURN(desc_col, ResolveColumn(config.description_column, header, "description", config.path));
    VIGIL_ASSIGN_OR_RETURN(conf_col, ResolveColumn(config.confidence_column, header, "confidence", config.path));
    VIGIL_ASSIGN_OR_RETURN(labels_col, ResolveColumn(config.labels_column, header, "labels", config.path));
    VIGIL_ASSIGN_OR_RETURN(cat_col, ResolveColumn(config.category_column, header, "category", config.path));
    value_col = v;
    if (value_col < 0) {
      value_col = GuessColumn(header, {"indicator", "ioc", "value", "ip", "ip_address", "ipaddress", "dst_ip",
                                       "address", "cidr", "network", "domain", "hostname", "host"});
      if (value_col < 0) value_col = 0;
    }
    if (desc_col < 0 && config.description_column.empty())
      desc_col = GuessColumn(header, {"description", "comment", "desc", "info", "malware", "threat"});
    if (conf_col < 0 && config.confidence_column.empty()) conf_col = GuessColumn(header, {"confidence", "score"});
    if (labels_col < 0 && config.labels_column.empty())
      labels_col = GuessColumn(header, {"labels", "tags", "tag", "threat_type", "type", "category"});
    return Status::Ok();
  };
  if (have_header) VIGIL_RETURN_IF_ERROR(resolve());
  while (lines.Next(&rec)) {
    const uint32_t first_line = lines.line();
    if (internal::Trim(rec).empty()) continue;
    if (!have_header && rec.starts_with('#')) continue;
    if (have_header && rec.starts_with('#')) continue;
    while (!SplitRecord(rec, delim, &fields)) {
      if (!lines.Extend(&rec)) return internal::LineError(config.path, first_line, "a quoted field is never closed");
    }
    if (!have_header) {
      header = fields;
      have_header = true;
      VIGIL_RETURN_IF_ERROR(resolve());
      continue;
    }
    auto col = [&](int i) -> std::string_view {
      return i >= 0 && static_cast<size_t>(i) < fields.size() ? std::string_view(fields[i]) : std::string_view();
    };
    std::string_view value = col(value_col);
    if (value.empty()) {
      if (static_cast<size_t>(value_col) >= fields.size())
        return internal::LineError(config.path, first_line,
                                   "the record has " + std::to_string(fields.size()) + " fields; the value is field " +
                                       std::to_string(value_col + 1));
      feed.Skip("empty value");
      continue;
    }
    auto v = ParseIndicatorValue(value);
    if (!v.ok()) return internal::LineError(config.path, first_line, v.status().message());
    FeedEntry e;
    e.value = std::move(v).value();
    e.line = first_line;
    e.description = std::string(col(desc_col));
    if (std::string_view c = col(conf_col); !c.empty()) {
      e.confidence = internal::ParseConfidence(c);
      if (e.confidence == -2)
        return internal::LineError(config.path, first_line,
                                   "confidence '" + std::string(c) + "': expected 0-100 or high/medium/low");
    }
    if (std::string_view l = col(labels_col); !l.empty()) {
      size_t start = 0;
      while (start <= l.size()) {
        size_t end = l.find_first_of(",;|", start);
        if (end == std::string_view::npos) end = l.size();
        std::string_view one = internal::Trim(l.substr(start, end - start));
        if (!one.empty()) e.labels.emplace_back(one);
        start = end + 1;
      }
    }
    if (std::string_view c = col(cat_col); !c.empty()) {
      e.category = ParseThreatCategory(Lower(c));
      if (!e.category) e.category = CategoryFromText(c);
      if (!e.category)
        return internal::LineError(config.path, first_line,
                                   "category '" + std::string(c) +
                                       "': expected listed, c2, blackhole, droppoint, phishing or cryptomining");
    } else {
      std::string words;
      for (const auto& l : e.labels) words += l + " ";
      e.category = CategoryFromText(words);
    }
    feed.entries.push_back(std::move(e));
  }
  return feed;
}

}  // namespace vigil::intel
