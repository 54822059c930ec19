// LogsourceMap: which vigil log type a Sigma logsource selects, and how the
// Sigma field names of that logsource read the log type's own fields.
//
// Sigma's generic logsources (`category: dns`, `firewall`, `webserver`,
// `network_connection`) name no product, and their rules use taxonomy field
// names (`query`, `dst_port`, `cs-uri-query`). The map, kept as data in
// detect/sigma/logsources.yaml and built into the binary, puts each such
// logsource onto one log type (Route 53 Resolver query logs, VPC flow logs,
// load balancer logs) and renames its fields, the way a pySigma processing
// pipeline does. Rules are compiled through it (SigmaParseOptions), so the
// renaming costs nothing per event. docs/rule-authoring.md, Logsources, shows
// the table.
//
// Ownership and thread safety: immutable once parsed; Builtin() is built on
// first use (thread-safe) and lives for the process.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace vigil {

// One Sigma field name of a logsource as a log type reads it.
struct FieldMapping {
  std::string field;  // the log type's field (a dotted path)
  // Rule values written plainly (lower case) -> the value the log writes.
  std::map<std::string, std::string> values;
};

struct LogsourceMapping {
  // The logsource, lower case; empty when absent.
  std::string product, category, service;
  std::string log_type;        // empty for an unsupported logsource
  std::string unsupported;     // why no AWS log carries it (unsupported entries)
  bool maps_fields = false;    // false: field names are taken as written
  std::map<std::string, FieldMapping> fields;  // by Sigma field name
  const std::vector<std::string>* log_fields = nullptr;  // the log type's own names (sorted), or null

  // "category: dns" / "product: aws, service: cloudtrail", for messages.
  std::string Describe() const;
  // True when `name` is one of the log type's own fields.
  bool IsLogField(std::string_view name) const;
};

class LogsourceMap {
 public:
  // Parses the map's YAML (the format logsources.yaml documents). Errors name
  // the entry and the problem: an unknown key, a log type without a
  // `log_types` entry, a mapping onto a field the log type does not have, two
  // entries for one logsource.
  static Result<LogsourceMap> Parse(std::string_view yaml_text);

  // The map built into the binary (logsources.yaml). A test checks that it
  // parses; if it ever did not, every logsource would be unmapped.
  static const LogsourceMap& Builtin();
  // The text of the built-in map.
  static std::string_view BuiltinText();

  // The entry for a rule's logsource, or null when the map has none: the
  // `logsources` entry with the same product, category and service (ignoring
  // case; an absent key matches only an absent key), else the first
  // `unsupported` entry whose keys the logsource has (it may have more).
  const LogsourceMapping* Find(std::string_view product, std::string_view category, std::string_view service) const;

  const std::vector<LogsourceMapping>& entries() const { return entries_; }
  // The log types the map names, with their own fields (sorted; empty when
  // the map lists none, as for the JSON AWS service logs).
  const std::map<std::string, std::vector<std::string>>& log_types() const { return *log_types_; }

 private:
  std::vector<LogsourceMapping> entries_;
  // Shared so that entries' log_fields pointers stay valid when the map moves.
  std::shared_ptr<std::map<std::string, std::vector<std::string>>> log_types_;
};

}  // namespace vigil
