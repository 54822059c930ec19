// BehaviourRule: one behavioural detection, as a YAML rule file declares it
// (`detector: new_term` and friends; the format is in docs/rule-authoring.md,
// "Behavioural rules"). Loaded by RuleSet beside Sigma rules, evaluated by
// BehaviourDetector (behaviour_detector.h).
//
// Fields are named as in Sigma rules (dotted raw paths or `ocsf.` paths),
// optionally followed by transforms: `query_name|apex`,
// `sourceIPAddress|country`, `query_name|subdomain|entropy`.
//
// Thread safety: immutable once parsed; shared by detectors.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/glob.h"
#include "common/ip.h"
#include "common/status.h"
#include "detect/behaviour/geoip.h"
#include "event/event.h"

namespace vigil {

enum class BehaviourKind { kNewTerm, kRarity, kVolume, kDistinctCount, kBeacon, kImpossibleTravel };
std::string_view BehaviourKindName(BehaviourKind kind);

enum class FieldTransform {
  kLower,      // ASCII lower case
  kApex,       // DNS name -> registrable domain (example.co.uk), trailing dot dropped
  kSubdomain,  // DNS name -> the labels left of the apex ("" for the apex itself)
  kSld,        // DNS name -> the apex's first label (example)
  kCountry,    // IP -> country from the rule's GeoIP table
  kAsn,        // IP -> ASN
  kCity,       // IP -> city
  kProduct,    // user agent -> its first product name, lower case ("aws-cli/2.15 Python/3" -> "aws-cli")
  kLength,     // text -> its length in bytes
  kEntropy,    // text -> Shannon entropy in bits per character
};

// A field as a rule names it: a path and the transforms applied to its first
// scalar value.
struct FieldSpec {
  std::string text;  // as written
  FieldPath path;
  std::vector<FieldTransform> transforms;
};

// One `where` / `unless` entry: `field[|transform...][|op]: value or list`.
struct FieldCondition {
  enum class Op { kGlob, kCidr, kGt, kGte, kLt, kLte };
  FieldSpec field;
  Op op = Op::kGlob;
  // kGlob: any matches (case-insensitive); the values without wildcards are
  // in `exact`, lower-cased, for one lookup instead of a match each.
  std::vector<GlobPattern> globs;
  std::unordered_set<std::string> exact;
  std::vector<IpNetwork> blocks;   // kCidr: any contains
  double number = 0;               // comparisons
};

struct BehaviourRule {
  std::string file, id, title, description, level = "medium", finding_type;
  std::vector<std::string> tags;
  BehaviourKind kind = BehaviourKind::kNewTerm;
  std::vector<std::string> log_types;  // event source types; empty: any
  std::vector<FieldSpec> entity;       // who the baseline is about
  std::vector<FieldSpec> values;       // what is measured (not for volume's count)
  std::vector<FieldCondition> where;   // all must hold
  std::vector<FieldCondition> unless;  // none may hold
  int64_t rollup_ns = 3600LL * 1'000'000'000;
  std::string geoip_path;
  std::shared_ptr<const GeoIpTable> geoip;

  // Parameters (docs/rule-authoring.md lists each kind's with defaults).
  int64_t learning_ns = 0;          // new_term (per entity), rarity (global)
  int64_t window_ns = 0;            // new_term burst window, distinct_count window
  uint64_t threshold = 1;           // new_term: new terms in window; distinct_count: distinct values
  double max_percent = 1;           // rarity
  uint64_t min_population = 50;     // rarity
  double z = 4;                     // volume
  double min_count = 100;           // volume: minimum absolute count (or sum) in the hour
  uint32_t min_samples = 3;         // volume: observations of a seasonal slot before it judges
  double alpha = 0.2;               // volume: EWMA weight of the newest hour
  uint32_t precision = 8;           // distinct_count: HyperLogLog registers = 2^precision
  uint32_t min_connections = 20;    // beacon
  double max_jitter = 0.1;          // beacon: stddev / mean of inter-arrival times
  int64_t min_interval_ns = 10LL * 1'000'000'000;
  int64_t max_interval_ns = 3600LL * 1'000'000'000;
  double max_speed_kmh = 900;       // impossible_travel
  double min_distance_km = 500;
  size_t max_entities = 50000;      // bounded state, see docs
  size_t max_terms = 500;           // new_term: values per entity

  // What a checkpoint must agree with to be reused (kind and every field and
  // parameter that shapes the state).
  std::string fingerprint;
};

// Loads a GeoIP table by path (a cache, so rules naming one table share it).
using GeoIpLoader = std::function<Result<std::shared_ptr<const GeoIpTable>>(const std::string& path)>;

// True when `yaml_text` declares a behavioural rule (a top-level `detector:`).
bool IsBehaviourRuleText(std::string_view yaml_text);

// Parses one behavioural rule. `file` names it in errors and resolves a
// relative `geoip:` path. InvalidArgument naming the key for a bad rule;
// Unsupported when the rule needs a GeoIP table that is not there.
Result<std::shared_ptr<const BehaviourRule>> ParseBehaviourRule(std::string_view yaml_text, const std::string& file,
                                                                 const GeoIpLoader& load_geoip);

// The first scalar value of `spec.path` in `event` with the transforms
// applied, into `out`; false when absent or empty (or a GeoIP transform finds
// no range).
bool ExtractField(const Event& event, const FieldSpec& spec, const GeoIpTable* geoip, std::string* out);
// The transforms alone, on a value already read.
bool ApplyTransforms(const std::vector<FieldTransform>& transforms, const GeoIpTable* geoip, std::string* value);

// The registrable part of a DNS name: the last two labels, or three when the
// second-last is a common second-level label under a two-letter country code
// (co.uk, com.au). A trailing dot is dropped, case folded.
std::string_view DnsApex(std::string_view name);
double ShannonEntropy(std::string_view s);

}  // namespace vigil
