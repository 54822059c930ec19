// SigmaDetector: evaluates a set of Sigma rules against each event.
//
// A prefilter keeps the per-event cost low and nearly flat in the number of
// rules. For every rule it derives, from the condition, a necessary
// constraint on one field: a value must match one of a set of literals, for
// example eventName in {StopLogging, DeleteTrail} (taken from selections
// ANDed at the top level), or userAgent containing `Boto3` or `aws-cli`.
//   - Rules with exact-value constraints are indexed by value: Process()
//     looks the field's value up (lower-cased) in a hash table.
//   - Rules whose constraint has other literals (startswith, endswith,
//     contains, a regex's required substrings) are scanned: the literals of
//     all such rules on one field are compiled into one vectorscan database,
//     and Process() scans the field's value once against it.
// A rule whose alternatives pin different fields (`1 of selection*` over
// eventName and eventname) is registered under one constraint of each.
// Only the rules a lookup or scan selects are evaluated, plus the rules for
// which no constraint could be derived. A rule whose logsource names an AWS
// service vigil has a log type for (LogTypeOfLogsource) runs only on events of
// that type (and on events without a type), and an index or scan whose rules
// all name other types is not looked at for an event. The prefilter only ever skips rules
// that cannot match; every selected rule is evaluated in full, so matches are
// exactly those of evaluating every rule. Each field an event is asked for is
// resolved once (sigma_internal::EventFields) and shared by the index, every
// rule and every filter.
//
// Filters (Sigma filters specification) are applied after a rule matched: the
// match is dropped when any filter that applies to the rule (names it, covers
// its logsource) matches the event. Filters never change which rules the
// prefilter selects, so they cost nothing on events no rule matches.
//
// Ownership and thread safety: the detector shares the immutable rules and
// filters it was built from. Process() does not mutate the detector and may be
// called from several threads at once (each thread keeps its own vectorscan
// scratch and field cache).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/hash.h"
#include "detect/detector.h"
#include "detect/sigma/filter.h"
#include "detect/sigma/rule.h"

struct hs_scratch;

namespace vigil {

class SigmaDetector final : public Detector {
 public:
  explicit SigmaDetector(std::vector<std::shared_ptr<const SigmaRule>> rules,
                         std::vector<std::shared_ptr<const SigmaFilter>> filters = {});
  ~SigmaDetector() override;

  std::string_view name() const override { return "sigma"; }
  // Calls `sink` once per matching rule not suppressed by a filter, in rule
  // order.
  void Process(const Event& event, const MatchSink& sink) override;
  bool ReadsOcsf() const override { return reads_ocsf_; }

  // Builds the Match a rule reports for an event (entity, severity, window).
  static Match MakeMatch(const SigmaRule& rule, const Event& event);

  // The log type (Event::source_type) a rule's logsource selects through the
  // logsource map (SigmaRule::log_type(): aws cloudtrail, guardduty and
  // securityhub; the generic dns, firewall, webserver... categories); ""
  // (any) otherwise.
  static std::string_view LogTypeOfLogsource(const SigmaRule& rule);

  size_t rule_count() const { return rules_.size(); }
  size_t filter_count() const { return filters_.size(); }
  // How many filters apply to a rule.
  size_t FilterCountOf(size_t rule_index) const { return filters_of_rule_.at(rule_index).size(); }
  // Rules without an exact-value index: scanned ones plus those evaluated
  // for every event.
  size_t unindexed_rule_count() const { return always_.size() + scanned_rule_count_; }
  // Rules selected by a literal scan; the rest of the unindexed ones are
  // evaluated for every event.
  size_t scanned_rule_count() const { return scanned_rule_count_; }
  // The field path each rule is indexed on by exact value ("" when not; the
  // first of a pair); for lint output and tests.
  std::string IndexFieldOf(size_t rule_index) const;

  struct Stats {
    uint64_t events = 0;
    uint64_t rules_evaluated = 0;
    uint64_t matches = 0;     // reported (after filters)
    uint64_t suppressed = 0;  // rule matches dropped by a filter
  };
  Stats stats() const;

 private:
  // xxh3: every event looks its indexed values up (an eventName and
  // eventSource pair is some 40 bytes), where std::hash cost twice as much.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return Hash64(s); }
  };
  // Rules by the exact value of one field, or of a pair of fields that a
  // rule pins both of (eventName and eventSource): keyed then by both
  // values, joined by kPairSeparator, so that a rule naming one service's
  // call is not evaluated on another service's call of the same name.
  struct FieldIndex {
    FieldPath path;
    uint32_t slot = 0;  // sigma_internal::FieldSlot(path.str())
    size_t max_value_len = 0;
    uint64_t type_mask = 0;  // TypeBit of its rules' log types; kAnyType: some rule takes any
    std::unordered_map<std::string, std::vector<uint32_t>, StringHash, std::equal_to<>> by_value;
    bool paired = false;  // keyed by (path, path2) values
    FieldPath path2;
    uint32_t slot2 = 0;
    size_t max_value_len2 = 0;
  };

  // Log types as bits, so that asking whether an index or rule serves an
  // event's type costs an AND, not string comparisons: the first 62 types the
  // rules name get a bit each, any further ones share one (and are told apart
  // by name where a rule is evaluated), and the types no rule names share the
  // last, which only rules of any type (kAnyType, every bit) have.
  static constexpr uint64_t kAnyType = ~uint64_t{0};
  static constexpr uint64_t kOverflowType = uint64_t{1} << 62;
  static constexpr uint64_t kUnnamedType = uint64_t{1} << 63;
  uint64_t TypeBit(std::string_view type) const;
  // The bits of the rules an event of `type` may run ("": every rule).
  uint64_t EventTypeBits(std::string_view type) const { return type.empty() ? kAnyType : TypeBit(type); }

  struct ScanIndex;  // sigma_detector.cc
  // This thread's vectorscan scratch, fitted to scans_; null if it cannot be
  // allocated.
  hs_scratch* ThreadScratch() const;
  // Sets what MakeMatch sets but the explanation.
  static void FillMatch(const SigmaRule& rule, const Event& event, Match* m);

  std::vector<std::shared_ptr<const SigmaRule>> rules_;
  std::vector<FieldIndex> indexes_;
  std::vector<std::unique_ptr<ScanIndex>> scans_;
  size_t scanned_rule_count_ = 0;
  std::vector<uint32_t> always_;    // rule indices without a constraint
  std::vector<std::string_view> log_type_of_rule_;  // "" = any
  std::vector<uint64_t> type_bit_of_rule_;          // TypeBit of log_type_of_rule_; kAnyType for ""
  std::vector<std::string_view> type_names_;        // by bit
  std::vector<int> index_of_rule_;  // rule -> indexes_ position or -1
  std::vector<std::shared_ptr<const SigmaFilter>> filters_;
  std::vector<std::vector<uint32_t>> filters_of_rule_;  // rule -> filters_ indices
  uint64_t serial_;  // tells apart detectors sharing a thread's scratch
  bool reads_ocsf_ = false;
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> suppressed_{0};
  std::atomic<uint64_t> rules_evaluated_{0};
  std::atomic<uint64_t> matches_{0};
};

}  // namespace vigil
