// Sigma rule YAML -> SigmaRule. yaml-cpp throws; every call into it happens
// inside Parse's try block and comes out as a Status.
#include "detect/sigma/rule.h"

#include <re2/filtered_re2.h>
#include <re2/re2.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <set>
#include <sstream>

#include "common/glob.h"
#include "common/time.h"
#include "detect/sigma/internal/detection.h"

namespace vigil {

using sigma_internal::CondNode;
using sigma_internal::Detection;
using sigma_internal::FieldMatcher;
using sigma_internal::Selection;
using sigma_internal::ValueMatcher;

namespace {

Status Invalid(std::string m) { return Status::InvalidArgument(std::move(m)); }

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, *out);
  return r.ec == std::errc() && r.ptr == end;
}

// Puts `*` around a Sigma string without changing what its escapes mean: a
// trailing odd run of backslashes would otherwise escape the added `*`.
std::string Wrap(std::string_view value, bool lead, bool trail) {
  std::string out;
  if (lead) out.push_back('*');
  out.append(value);
  if (trail) {
    size_t backslashes = 0;
    for (size_t i = value.size(); i > 0 && value[i - 1] == '\\'; --i) ++backslashes;
    if (backslashes % 2 == 1) out.push_back('\\');
    out.push_back('*');
  }
  return out;
}

bool IsPlainScalar(const YAML::Node& n) { return n.IsScalar() && n.Tag() == "?"; }

const std::set<std::string_view>& NotYetModifiers() {
  static const std::set<std::string_view> kMods = {"windash", "base64", "base64offset", "utf16le", "utf16be",
                                                   "utf16",   "wide",   "expand",       "minute",  "hour",
                                                   "day",     "week",   "month",        "year"};
  return kMods;
}

struct Modifiers {
  enum class Position { kNone, kContains, kStartsWith, kEndsWith } position = Position::kNone;
  enum class Type { kPlain, kRe, kCidr, kExists, kFieldRef, kCompare } type = Type::kPlain;
  ValueMatcher::Cmp cmp = ValueMatcher::Cmp::kLt;
  bool all = false;
  bool cased = false;
  bool neq = false;
  std::string re_flags;
};

Result<Modifiers> ParseModifiers(const std::vector<std::string>& mods, const std::string& key) {
  Modifiers m;
  auto set_type = [&](Modifiers::Type t, const std::string& name) -> Status {
    if (m.type != Modifiers::Type::kPlain)
      return Invalid("`" + key + "`: modifier `" + name + "` cannot be combined with another type modifier");
    m.type = t;
    return Status::Ok();
  };
  auto set_position = [&](Modifiers::Position p, const std::string& name) -> Status {
    if (m.position != Modifiers::Position::kNone)
      return Invalid("`" + key + "`: modifier `" + name + "` conflicts with another of contains/startswith/endswith");
    m.position = p;
    return Status::Ok();
  };
  for (const std::string& mod : mods) {
    if (mod == "contains") {
      VIGIL_RETURN_IF_ERROR(set_position(Modifiers::Position::kContains, mod));
    } else if (mod == "startswith") {
      VIGIL_RETURN_IF_ERROR(set_position(Modifiers::Position::kStartsWith, mod));
    } else if (mod == "endswith") {
      VIGIL_RETURN_IF_ERROR(set_position(Modifiers::Position::kEndsWith, mod));
    } else if (mod == "all") {
      m.all = true;
    } else if (mod == "cased") {
      m.cased = true;
    } else if (mod == "neq") {
      m.neq = true;
    } else if (mod == "re") {
      VIGIL_RETURN_IF_ERROR(set_type(Modifiers::Type::kRe, mod));
    } else if ((mod == "i" || mod == "m" || mod == "s") && m.type == Modifiers::Type::kRe) {
      m.re_flags += mod;
    } else if (mod == "cidr") {
      VIGIL_RETURN_IF_ERROR(set_type(Modifiers::Type::kCidr, mod));
    } else if (mod == "exists") {
      VIGIL_RETURN_IF_ERROR(set_type(Modifiers::Type::kExists, mod));
    } else if (mod == "fieldref") {
      VIGIL_RETURN_IF_ERROR(set_type(Modifiers::Type::kFieldRef, mod));
    } else if (mod == "lt" || mod == "lte" || mod == "gt" || mod == "gte") {
      VIGIL_RETURN_IF_ERROR(set_type(Modifiers::Type::kCompare, mod));
      m.cmp = mod == "lt"    ? ValueMatcher::Cmp::kLt
              : mod == "lte" ? ValueMatcher::Cmp::kLte
              : mod == "gt"  ? ValueMatcher::Cmp::kGt
                             : ValueMatcher::Cmp::kGte;
    } else if (NotYetModifiers().count(mod)) {
      return Status::Unsupported("`" + key + "`: value modifier `" + mod +
                                 "` is not implemented yet (Sigma modifiers appendix)");
    } else if (mod.empty()) {
      return Invalid("`" + key + "`: empty modifier");
    } else {
      return Invalid("`" + key + "`: unknown modifier `" + mod + "`");
    }
  }
  if (m.type != Modifiers::Type::kPlain && m.type != Modifiers::Type::kFieldRef &&
      m.position != Modifiers::Position::kNone)
    return Invalid("`" + key + "`: contains/startswith/endswith cannot be combined with a type modifier");
  if (m.type == Modifiers::Type::kFieldRef && m.position != Modifiers::Position::kNone)
    return Status::Unsupported("`" + key +
                               "`: fieldref combined with contains/startswith/endswith is not implemented yet "
                               "(Sigma modifiers appendix, Specific Modifiers)");
  if (m.neq && m.type != Modifiers::Type::kPlain) return Invalid("`" + key + "`: `neq` applies to plain values only");
  return m;
}

Result<ValueMatcher> CompileValue(const YAML::Node& v, const Modifiers& m, bool keyword, const std::string& key) {
  ValueMatcher vm;
  if (v.IsNull()) {
    if (m.type != Modifiers::Type::kPlain || m.position != Modifiers::Position::kNone || keyword || m.neq)
      return Invalid("`" + key + "`: a null value cannot take modifiers");
    vm.kind = ValueMatcher::Kind::kNull;
    return vm;
  }
  if (!v.IsScalar()) return Invalid("`" + key + "`: values must be scalars or a list of scalars");
  const std::string& text = v.Scalar();
  switch (m.type) {
    case Modifiers::Type::kExists: {
      std::string t = ToLower(text);
      if (t != "true" && t != "false") return Invalid("`" + key + "`: `exists` needs true or false");
      vm.kind = ValueMatcher::Kind::kExists;
      vm.exists_expected = t == "true";
      return vm;
    }
    case Modifiers::Type::kCompare:
      if (!ParseDouble(text, &vm.number)) return Invalid("`" + key + "`: `" + text + "` is not a number");
      vm.kind = ValueMatcher::Kind::kCompare;
      vm.cmp = m.cmp;
      return vm;
    case Modifiers::Type::kCidr: {
      auto net = sigma_internal::ParseCidr(text);
      if (!net) return Invalid("`" + key + "`: `" + text + "` is not a CIDR network");
      vm.kind = ValueMatcher::Kind::kCidr;
      vm.network = *net;
      return vm;
    }
    case Modifiers::Type::kFieldRef:
      if (text.empty()) return Invalid("`" + key + "`: fieldref needs a field name");
      vm.kind = ValueMatcher::Kind::kFieldRef;
      vm.ref = FieldPath(text);
      vm.cased = m.cased;
      return vm;
    case Modifiers::Type::kRe: {
      std::string pattern;
      if (!m.re_flags.empty()) pattern = "(?" + m.re_flags + ")";
      pattern += text;
      RE2::Options opts;
      opts.set_log_errors(false);
      auto re = std::make_shared<RE2>(pattern, opts);
      if (!re->ok()) return Invalid("`" + key + "`: invalid regular expression: " + re->error());
      vm.kind = ValueMatcher::Kind::kRegex;
      vm.regex = std::move(re);
      // Required literals let most values skip the regex engine entirely.
      re2::FilteredRE2 filter(/*min_atom_len=*/3);
      int id = 0;
      if (filter.Add(pattern, opts, &id) == RE2::NoError) filter.Compile(&vm.regex_atoms);
      return vm;
    }
    case Modifiers::Type::kPlain:
      break;
  }
  vm.kind = ValueMatcher::Kind::kGlob;
  using P = Modifiers::Position;
  std::string pattern;
  if (keyword && m.position == P::kNone) {
    pattern = Wrap(text, true, true);  // keywords match anywhere in a value
  } else {
    pattern = Wrap(text, m.position == P::kContains || m.position == P::kEndsWith,
                   m.position == P::kContains || m.position == P::kStartsWith);
  }
  vm.glob = GlobPattern::Compile(pattern, m.cased);
  if (!keyword && m.position == P::kNone && IsPlainScalar(v) && ParseDouble(text, &vm.number)) vm.numeric_equal = true;
  return vm;
}

Result<FieldMatcher> CompileField(const std::string& key, const YAML::Node& value) {
  FieldMatcher fm;
  fm.display = key;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t bar = key.find('|', start);
    parts.push_back(key.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  const std::string field = parts.front();
  parts.erase(parts.begin());
  VIGIL_ASSIGN_OR_RETURN(Modifiers m, ParseModifiers(parts, key));
  fm.keyword = field.empty();
  if (fm.keyword && m.type != Modifiers::Type::kPlain && m.type != Modifiers::Type::kRe)
    return Invalid("`" + key + "`: a keyword search needs a field name for this modifier");
  fm.path = FieldPath(field);
  fm.all = m.all;
  fm.negate = m.neq;
  std::vector<YAML::Node> items;
  if (value.IsSequence()) {
    for (const YAML::Node& item : value) items.push_back(item);
    if (items.empty()) return Invalid("`" + key + "`: empty value list");
  } else if (value.IsMap()) {
    return Invalid("`" + key + "`: values must be scalars or a list of scalars, not a mapping");
  } else {
    items.push_back(value);
  }
  for (const YAML::Node& item : items) {
    VIGIL_ASSIGN_OR_RETURN(ValueMatcher vm, CompileValue(item, m, fm.keyword, key));
    fm.values.push_back(std::move(vm));
  }
  return fm;
}

Result<std::vector<FieldMatcher>> CompileMap(const YAML::Node& map, const std::string& name) {
  std::vector<FieldMatcher> out;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) return Invalid("search identifier `" + name + "`: field names must be strings");
    auto fm = CompileField(kv.first.Scalar(), kv.second);
    if (!fm.ok()) return fm.status().WithContext("search identifier `" + name + "`");
    out.push_back(std::move(fm).value());
  }
  if (out.empty()) return Invalid("search identifier `" + name + "` is empty");
  return out;
}

Result<Selection> CompileSelection(const std::string& name, const YAML::Node& node) {
  Selection sel;
  sel.name = name;
  if (node.IsMap()) {
    VIGIL_ASSIGN_OR_RETURN(auto alt, CompileMap(node, name));
    sel.alternatives.push_back(std::move(alt));
    return sel;
  }
  if (node.IsScalar()) {
    auto fm = CompileField("", node);
    if (!fm.ok()) return fm.status().WithContext("search identifier `" + name + "`");
    sel.alternatives.push_back({std::move(fm).value()});
    return sel;
  }
  if (!node.IsSequence() || node.size() == 0) return Invalid("search identifier `" + name + "` is empty");
  bool maps = false, scalars = false;
  for (const YAML::Node& item : node) {
    if (item.IsMap()) {
      maps = true;
    } else if (item.IsScalar()) {
      scalars = true;
    } else {
      return Invalid("search identifier `" + name + "`: list items must be strings or mappings");
    }
  }
  if (maps && scalars) return Invalid("search identifier `" + name + "` mixes keywords and mappings");
  if (scalars) {
    auto fm = CompileField("", node);
    if (!fm.ok()) return fm.status().WithContext("search identifier `" + name + "`");
    sel.alternatives.push_back({std::move(fm).value()});
    return sel;
  }
  for (const YAML::Node& item : node) {
    VIGIL_ASSIGN_OR_RETURN(auto alt, CompileMap(item, name));
    sel.alternatives.push_back(std::move(alt));
  }
  return sel;
}

Result<std::string> GetString(const YAML::Node& root, const char* key) {
  YAML::Node n = root[key];
  if (!n || n.IsNull()) return std::string();
  if (!n.IsScalar()) return Invalid(std::string("`") + key + "` must be a string");
  return n.Scalar();
}

Result<std::vector<std::string>> GetStringList(const YAML::Node& root, const char* key) {
  std::vector<std::string> out;
  YAML::Node n = root[key];
  if (!n || n.IsNull()) return out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (!n.IsSequence()) return Invalid(std::string("`") + key + "` must be a list of strings");
  for (const YAML::Node& item : n) {
    if (!item.IsScalar()) return Invalid(std::string("`") + key + "` must be a list of strings");
    out.push_back(item.Scalar());
  }
  return out;
}

// Counts the non-empty documents of a YAML stream, stopping at the first
// empty one. YAML::LoadAll is not used: yaml-cpp 0.7 can loop forever there
// on malformed input such as a lone `,` (yaml-cpp issue #1040), producing
// empty documents without consuming any token.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override { content_ = false; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { content_ = true; }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override { content_ = true; }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content_ = true;
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content_ = true;
  }
  void OnMapEnd() override {}

  // Throws YAML::Exception on malformed YAML.
  static int Count(const std::string& text, int limit) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentCounter counter;
    int docs = 0;
    while (docs < limit) {
      counter.content_ = false;
      if (!parser.HandleNextDocument(counter) || !counter.content_) break;
      ++docs;
    }
    return docs;
  }

 private:
  bool content_ = false;
};

}  // namespace

class SigmaRuleParser {
 public:
  static Result<std::shared_ptr<const SigmaRule>> FromYaml(const std::vector<YAML::Node>& docs);
};

SigmaRule::SigmaRule() = default;
SigmaRule::~SigmaRule() = default;

Result<std::shared_ptr<const SigmaRule>> SigmaRuleParser::FromYaml(const std::vector<YAML::Node>& docs) {
  if (docs.empty()) return Invalid("not a Sigma rule: the file holds no YAML document");
  if (docs.size() > 1)
    return Status::Unsupported(
        "multi-document rule collections (`---`, `action: global/reset/repeat`) are not supported; write one rule "
        "per file (Sigma rules specification, File Structure)");
  const YAML::Node& root = docs.front();
  if (!root.IsMap()) return Invalid("not a Sigma rule: the top level is not a mapping");
  if (root["action"])
    return Status::Unsupported(
        "rule collection actions (`action: global/reset/repeat`) are not supported (Sigma rules specification, "
        "File Structure)");
  if (root["correlation"])
    return Status::Unsupported("correlation rules are not implemented yet (Sigma correlation rules specification)");
  if (root["filter"] && !root["detection"])
    return Status::Unsupported("filter rules are not implemented yet (Sigma filters specification, Global filter)");

  std::shared_ptr<SigmaRule> rule(new SigmaRule());
  YAML::Node detection = root["detection"];
  if (!detection) return Invalid("not a Sigma rule: no `detection:`");
  if (!detection.IsMap()) return Invalid("`detection` must be a mapping of search identifiers and a condition");

  VIGIL_ASSIGN_OR_RETURN(rule->title_, GetString(root, "title"));
  if (rule->title_.empty()) return Invalid("rule has no `title`");
  VIGIL_ASSIGN_OR_RETURN(rule->id_, GetString(root, "id"));
  if (rule->id_.empty()) return Invalid("rule has no `id` (alerts and `covers` need a stable rule id)");
  VIGIL_ASSIGN_OR_RETURN(rule->status_, GetString(root, "status"));
  VIGIL_ASSIGN_OR_RETURN(rule->description_, GetString(root, "description"));
  VIGIL_ASSIGN_OR_RETURN(rule->author_, GetString(root, "author"));
  VIGIL_ASSIGN_OR_RETURN(rule->date_, GetString(root, "date"));
  VIGIL_ASSIGN_OR_RETURN(rule->modified_, GetString(root, "modified"));
  VIGIL_ASSIGN_OR_RETURN(rule->tags_, GetStringList(root, "tags"));
  VIGIL_ASSIGN_OR_RETURN(rule->references_, GetStringList(root, "references"));
  VIGIL_ASSIGN_OR_RETURN(rule->falsepositives_, GetStringList(root, "falsepositives"));
  VIGIL_ASSIGN_OR_RETURN(rule->fields_, GetStringList(root, "fields"));
  VIGIL_ASSIGN_OR_RETURN(std::string level, GetString(root, "level"));
  if (!level.empty()) {
    level = ToLower(level);
    if (level != "informational" && level != "low" && level != "medium" && level != "high" && level != "critical")
      return Invalid("`level: " + level + "` is not one of informational, low, medium, high, critical");
    rule->level_ = level;
  }
  YAML::Node logsource = root["logsource"];
  if (logsource && !logsource.IsNull()) {
    if (!logsource.IsMap()) return Invalid("`logsource` must be a mapping");
    VIGIL_ASSIGN_OR_RETURN(rule->logsource_product_, GetString(logsource, "product"));
    VIGIL_ASSIGN_OR_RETURN(rule->logsource_service_, GetString(logsource, "service"));
    VIGIL_ASSIGN_OR_RETURN(rule->logsource_category_, GetString(logsource, "category"));
  }
  VIGIL_ASSIGN_OR_RETURN(std::string window, GetString(root, "rollup_window"));
  if (!window.empty()) {
    auto ns = ParseDuration(window);
    if (!ns || *ns <= 0) return Invalid("`rollup_window: " + window + "` is not a duration such as 15m or 1h");
    rule->rollup_window_ns_ = *ns;
  }
  VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> entity, GetStringList(root, "entity"));
  for (const std::string& e : entity) {
    if (e.empty()) return Invalid("`entity` lists an empty field path");
    rule->entity_.emplace_back(e);
  }
  VIGIL_ASSIGN_OR_RETURN(rule->covers_, GetStringList(root, "covers"));
  VIGIL_ASSIGN_OR_RETURN(rule->finding_type_, GetString(root, "finding_type"));

  // Detection: gather identifiers and conditions first, so that deprecated
  // aggregations are reported as such before anything else.
  std::vector<std::string> conditions;
  std::vector<std::pair<std::string, YAML::Node>> idents;
  bool timeframe = false;
  for (const auto& kv : detection) {
    if (!kv.first.IsScalar()) return Invalid("`detection` keys must be strings");
    const std::string& name = kv.first.Scalar();
    if (name == "condition") {
      if (kv.second.IsScalar()) {
        conditions.push_back(kv.second.Scalar());
      } else if (kv.second.IsSequence()) {
        for (const YAML::Node& c : kv.second) {
          if (!c.IsScalar()) return Invalid("`condition` must be a string or a list of strings");
          conditions.push_back(c.Scalar());
        }
      } else {
        return Invalid("`condition` must be a string or a list of strings");
      }
    } else if (name == "timeframe") {
      timeframe = true;
    } else {
      idents.emplace_back(name, kv.second);
    }
  }
  if (conditions.empty()) return Invalid("not a Sigma rule: `detection` has no `condition`");
  for (const std::string& c : conditions) {
    if (c.find('|') != std::string::npos) {
      auto r = sigma_internal::ParseCondition(c, {});
      if (!r.ok()) return r.status();
    }
  }
  if (timeframe)
    return Status::Unsupported(
        "`timeframe` asks for events to be related within a time window; a correlation rule is needed (Sigma "
        "correlation specification, Time Selection)");

  auto det = std::make_unique<Detection>();
  for (auto& [name, node] : idents) {
    VIGIL_ASSIGN_OR_RETURN(Selection sel, CompileSelection(name, node));
    det->selections.push_back(std::move(sel));
  }
  std::vector<CondNode> roots;
  for (const std::string& c : conditions) {
    VIGIL_ASSIGN_OR_RETURN(CondNode n, sigma_internal::ParseCondition(c, det->selections));
    roots.push_back(std::move(n));
  }
  if (roots.size() == 1) {
    det->condition = std::move(roots.front());
  } else {
    det->condition.op = CondNode::Op::kOr;
    det->condition.kids = std::move(roots);
  }
  rule->detection_ = std::move(det);
  return std::shared_ptr<const SigmaRule>(std::move(rule));
}

Result<std::shared_ptr<const SigmaRule>> SigmaRule::Parse(std::string_view yaml_text) {
  if (yaml_text.size() > kMaxRuleBytes)
    return Status::LimitExceeded("rule file of " + std::to_string(yaml_text.size()) + " bytes exceeds " +
                                 std::to_string(kMaxRuleBytes) + " bytes");
  try {
    const std::string text(yaml_text);
    std::vector<YAML::Node> docs;
    if (DocumentCounter::Count(text, 2) > 1) {
      // FromYaml reports collections as unsupported; it only needs to see two.
      docs.resize(2);
    } else {
      YAML::Node doc = YAML::Load(text);
      if (doc && !doc.IsNull()) docs.push_back(doc);
    }
    return SigmaRuleParser::FromYaml(docs);
  } catch (const YAML::Exception& e) {
    return Invalid(std::string("not valid YAML: ") + e.what());
  } catch (const std::exception& e) {
    return Invalid(std::string("cannot read rule: ") + e.what());
  }
}

bool SigmaRule::Matches(const Event& event) const { return event.fields && detection_->Matches(*event.fields); }

bool SigmaRule::Matches(const FieldResolver& fields) const { return detection_->Matches(fields); }

std::string SigmaRule::EntityFor(const Event& event) const {
  if (event.fields) {
    for (const FieldPath& p : entity_) {
      std::string v = event.FirstString(p);
      if (!v.empty()) return v;
    }
  }
  return event.principal;
}

}  // namespace vigil
