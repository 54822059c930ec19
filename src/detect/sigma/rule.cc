// Sigma rule YAML -> SigmaRule. yaml-cpp throws; every call into it happens
// inside Parse's try block and comes out as a Status.
#include "detect/sigma/rule.h"

#include <re2/filtered_re2.h>
#include <re2/re2.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <charconv>
#include <map>
#include <sstream>

#include "common/glob.h"
#include "common/json_writer.h"
#include "common/time.h"
#include "detect/sigma/filter.h"
#include "detect/sigma/logsource_map.h"
#include "detect/cloudwatch/filter_pattern.h"
#include "detect/correlation/internal/parse.h"
#include "detect/sigma/internal/detection.h"
#include "detect/sigma/internal/yaml_fields.h"
#include "detect/sigma/internal/value_transforms.h"
#include "detect/sigma/internal/yaml_subset.h"

namespace vigil {

using sigma_internal::CondNode;
using sigma_internal::Detection;
using sigma_internal::FieldMatcher;
using sigma_internal::Selection;
using sigma_internal::SigmaString;
using sigma_internal::TimePart;
using sigma_internal::ValueMatcher;

namespace sigma_internal {

Result<std::string> YamlString(const YAML::Node& root, const char* key) {
  YAML::Node n = root[key];
  if (!n || n.IsNull()) return std::string();
  if (!n.IsScalar()) return Status::InvalidArgument(std::string("`") + key + "` must be a string");
  return n.Scalar();
}

Result<std::vector<std::string>> YamlStringList(const YAML::Node& root, const char* key, std::string_view where) {
  std::vector<std::string> out;
  YAML::Node n = root[key];
  if (!n || n.IsNull()) return out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  const std::string error = std::string(where) + "`" + key + "` must be a list of strings";
  if (!n.IsSequence()) return Status::InvalidArgument(error);
  for (const YAML::Node& item : n) {
    if (!item.IsScalar()) return Status::InvalidArgument(error);
    out.push_back(item.Scalar());
  }
  return out;
}

}  // namespace sigma_internal

using sigma_internal::YamlString;
using sigma_internal::YamlStringList;

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

// Reads a rule's field names through its logsource's mapping (LogsourceMap)
// and notes the names its log type cannot answer, for `vigil rules lint`.
class FieldMapper {
 public:
  explicit FieldMapper(const LogsourceMapping* m) : m_(m) {}

  // The path that a Sigma field name reads on the rule's log type.
  std::string Field(const std::string& name) {
    if (const FieldMapping* fm = Mapping(name)) return fm->field;
    // `ocsf.` names are OCSF attributes, which every log type's events answer
    // (src/ocsf/normalizer.h), so they need no mapping.
    if (m_ && m_->maps_fields && !name.empty() && !m_->IsLogField(name) && name.rfind("ocsf.", 0) != 0)
      Note("field `" + name + "` has no mapping for " + m_->Describe() + " and is not a field of log type " +
           m_->log_type + ", so it never has a value there");
    return name;
  }
  const FieldMapping* Mapping(const std::string& name) const {
    if (!m_ || !m_->maps_fields) return nullptr;
    auto it = m_->fields.find(name);
    return it == m_->fields.end() ? nullptr : &it->second;
  }
  void Note(std::string note) {
    if (std::find(notes_.begin(), notes_.end(), note) == notes_.end()) notes_.push_back(std::move(note));
  }
  std::vector<std::string> TakeNotes() { return std::move(notes_); }

 private:
  const LogsourceMapping* m_;
  std::vector<std::string> notes_;
};

struct Modifiers {
  enum class Position { kNone, kContains, kStartsWith, kEndsWith } position = Position::kNone;
  enum class Type { kPlain, kRe, kCidr, kExists, kFieldRef, kCompare, kTimePart } type = Type::kPlain;
  // String transforms, in the order written.
  enum class Transform { kWindash, kBase64, kBase64Offset, kUtf16Le, kUtf16Be, kUtf16 };
  std::vector<Transform> transforms;
  ValueMatcher::Cmp cmp = ValueMatcher::Cmp::kEq;
  TimePart time_part = TimePart::kHour;
  bool all = false;
  bool cased = false;
  bool neq = false;
  bool expand = false;
  std::string re_flags;
};

Result<Modifiers> ParseModifiers(const std::vector<std::string>& mods, const std::string& key) {
  Modifiers m;
  bool compare = false, time = false;
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
  static const std::map<std::string_view, Modifiers::Transform> kTransforms = {
      {"windash", Modifiers::Transform::kWindash},
      {"base64", Modifiers::Transform::kBase64},
      {"base64offset", Modifiers::Transform::kBase64Offset},
      {"utf16le", Modifiers::Transform::kUtf16Le},
      {"wide", Modifiers::Transform::kUtf16Le},
      {"utf16be", Modifiers::Transform::kUtf16Be},
      {"utf16", Modifiers::Transform::kUtf16}};
  static const std::map<std::string_view, TimePart> kTimeParts = {
      {"minute", TimePart::kMinute}, {"hour", TimePart::kHour},   {"day", TimePart::kDay},
      {"week", TimePart::kWeek},     {"month", TimePart::kMonth}, {"year", TimePart::kYear}};
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
    } else if (mod == "expand") {
      m.expand = true;
    } else if (mod == "re") {
      VIGIL_RETURN_IF_ERROR(set_type(Modifiers::Type::kRe, mod));
    } else if ((mod == "i" || mod == "m" || mod == "s") && m.type == Modifiers::Type::kRe) {
      if (m.re_flags.find(mod) == std::string::npos) m.re_flags += mod;
    } else if (mod == "cidr") {
      VIGIL_RETURN_IF_ERROR(set_type(Modifiers::Type::kCidr, mod));
    } else if (mod == "exists") {
      VIGIL_RETURN_IF_ERROR(set_type(Modifiers::Type::kExists, mod));
    } else if (mod == "fieldref") {
      VIGIL_RETURN_IF_ERROR(set_type(Modifiers::Type::kFieldRef, mod));
    } else if (mod == "lt" || mod == "lte" || mod == "gt" || mod == "gte") {
      if (compare) return Invalid("`" + key + "`: only one of lt/lte/gt/gte");
      compare = true;
      m.cmp = mod == "lt"    ? ValueMatcher::Cmp::kLt
              : mod == "lte" ? ValueMatcher::Cmp::kLte
              : mod == "gt"  ? ValueMatcher::Cmp::kGt
                             : ValueMatcher::Cmp::kGte;
    } else if (auto t = kTimeParts.find(mod); t != kTimeParts.end()) {
      if (time) return Invalid("`" + key + "`: only one of minute/hour/day/week/month/year");
      time = true;
      m.time_part = t->second;
    } else if (auto tr = kTransforms.find(mod); tr != kTransforms.end()) {
      m.transforms.push_back(tr->second);
    } else if (mod.empty()) {
      return Invalid("`" + key + "`: empty modifier");
    } else {
      return Invalid("`" + key + "`: unknown modifier `" + mod + "`");
    }
  }
  if (time || compare) {
    if (m.type != Modifiers::Type::kPlain)
      return Invalid("`" + key + "`: lt/lte/gt/gte and time modifiers cannot be combined with another type modifier");
    m.type = time ? Modifiers::Type::kTimePart : Modifiers::Type::kCompare;
  }
  if (m.type != Modifiers::Type::kPlain && m.type != Modifiers::Type::kFieldRef &&
      m.position != Modifiers::Position::kNone)
    return Invalid("`" + key + "`: contains/startswith/endswith cannot be combined with a type modifier");
  if (!m.transforms.empty() && m.type != Modifiers::Type::kPlain)
    return Invalid("`" + key +
                   "`: windash/base64/base64offset/utf16/wide apply to string values and cannot be combined with a "
                   "type modifier");
  if (m.neq && m.type != Modifiers::Type::kPlain && m.type != Modifiers::Type::kFieldRef)
    return Invalid("`" + key + "`: `neq` applies to plain values and fieldref only");
  if (m.expand && (m.type == Modifiers::Type::kExists || m.type == Modifiers::Type::kFieldRef))
    return Invalid("`" + key + "`: `expand` does not apply to exists or fieldref");
  return m;
}

// A plain value through its string transforms: the glob patterns (before
// contains/startswith/endswith) one of which must match.
Result<std::vector<std::string>> TransformValue(const std::string& text, const Modifiers& m, const std::string& key) {
  using T = Modifiers::Transform;
  std::vector<SigmaString> vals{SigmaString::Parse(text)};
  for (T t : m.transforms) {
    std::vector<SigmaString> next;
    for (const SigmaString& v : vals) {
      switch (t) {
        case T::kWindash: {
          VIGIL_ASSIGN_OR_RETURN(std::vector<SigmaString> w, sigma_internal::WindashExpand(v));
          for (SigmaString& x : w) next.push_back(std::move(x));
          break;
        }
        case T::kUtf16Le:
        case T::kUtf16Be:
        case T::kUtf16: {
          const auto form = t == T::kUtf16Le   ? sigma_internal::Utf16Form::kLe
                            : t == T::kUtf16Be ? sigma_internal::Utf16Form::kBe
                                               : sigma_internal::Utf16Form::kLeWithBom;
          VIGIL_ASSIGN_OR_RETURN(SigmaString u, sigma_internal::ToUtf16(v, form));
          next.push_back(std::move(u));
          break;
        }
        case T::kBase64:
        case T::kBase64Offset: {
          if (v.HasWildcards()) return Invalid("`" + key + "`: base64/base64offset need a value without wildcards");
          std::vector<std::string> encoded;
          if (t == T::kBase64) {
            encoded.push_back(sigma_internal::Base64Encode(v.Literal()));
          } else {
            VIGIL_ASSIGN_OR_RETURN(encoded, sigma_internal::Base64OffsetVariants(v.Literal()));
          }
          for (std::string& e : encoded) next.push_back(SigmaString{{{0, std::move(e)}}});
          break;
        }
      }
      if (next.size() > sigma_internal::kMaxExpansion)
        return Invalid("`" + key + "`: the value expands to more than " +
                       std::to_string(sigma_internal::kMaxExpansion) + " values");
    }
    vals = std::move(next);
  }
  std::vector<std::string> out;
  for (const SigmaString& v : vals) {
    std::string p = v.ToPattern();
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
  }
  return out;
}

// Moves to the front of vm->regex_atoms the atoms every match of the regex
// contains, and counts them in vm->regex_required. The prefilter is a
// monotone formula over the atoms, so an atom is required exactly when the
// other atoms together do not let the regex through.
void OrderRequiredAtoms(const re2::FilteredRE2& filter, ValueMatcher* vm) {
  std::vector<std::string>& atoms = vm->regex_atoms;
  std::vector<int> others, passed;
  std::vector<std::string> required, rest;
  for (size_t i = 0; i < atoms.size(); ++i) {
    others.clear();
    for (size_t k = 0; k < atoms.size(); ++k)
      if (k != i) others.push_back(static_cast<int>(k));
    passed.clear();
    filter.AllPotentials(others, &passed);
    (passed.empty() ? required : rest).push_back(atoms[i]);
  }
  vm->regex_required = required.size();
  atoms = std::move(required);
  atoms.insert(atoms.end(), rest.begin(), rest.end());
}

Result<ValueMatcher> CompileText(const std::string& text, const YAML::Node& v, const Modifiers& m, bool keyword,
                                 const std::string& key) {
  ValueMatcher vm;
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
    case Modifiers::Type::kTimePart:
      if (!ParseDouble(text, &vm.number)) return Invalid("`" + key + "`: `" + text + "` is not a number");
      vm.kind = ValueMatcher::Kind::kTimePart;
      vm.time_part = m.time_part;
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
      vm.ref_slot = sigma_internal::FieldSlot(text);
      vm.cased = m.cased;
      vm.ref_shape = m.position == Modifiers::Position::kContains     ? GlobPattern::Shape::kContains
                     : m.position == Modifiers::Position::kStartsWith ? GlobPattern::Shape::kPrefix
                     : m.position == Modifiers::Position::kEndsWith   ? GlobPattern::Shape::kSuffix
                                                                      : GlobPattern::Shape::kExact;
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
      OrderRequiredAtoms(filter, &vm);
      return vm;
    }
    case Modifiers::Type::kPlain:
      break;
  }
  using P = Modifiers::Position;
  const bool anywhere = keyword && m.position == P::kNone;  // keywords match anywhere in a value
  const bool lead = anywhere || m.position == P::kContains || m.position == P::kEndsWith;
  const bool trail = anywhere || m.position == P::kContains || m.position == P::kStartsWith;
  auto compile = [&](const std::string& pattern, bool windash) {
    ValueMatcher g;
    g.kind = ValueMatcher::Kind::kGlob;
    g.windash = windash;
    g.glob = GlobPattern::Compile(Wrap(pattern, lead, trail), m.cased);
    return g;
  };
  if (m.transforms.empty()) {
    vm = compile(text, false);
    if (!keyword && m.position == P::kNone && IsPlainScalar(v) && ParseDouble(text, &vm.number))
      vm.numeric_equal = true;
    return vm;
  }
  if (m.transforms.size() == 1 && m.transforms.front() == Modifiers::Transform::kWindash) {
    // Windash alone: match with every dash mapped to `-` on both sides rather
    // than enumerating 5^n permutations.
    std::string normalized;
    return compile(sigma_internal::WindashNormalize(text, &normalized) ? normalized : text, true);
  }
  VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> patterns, TransformValue(text, m, key));
  if (patterns.size() == 1) return compile(patterns.front(), false);
  vm.kind = ValueMatcher::Kind::kAnyOf;
  for (const std::string& p : patterns) vm.any_of.push_back(compile(p, false));
  return vm;
}

Result<ValueMatcher> CompileValue(const YAML::Node& v, const Modifiers& m, bool keyword, const std::string& key,
                                  const SigmaParseOptions& options, FieldMapper* mapper) {
  if (v.IsNull()) {
    if (m.type != Modifiers::Type::kPlain || m.position != Modifiers::Position::kNone || keyword || m.neq ||
        !m.transforms.empty())
      return Invalid("`" + key + "`: a null value cannot take modifiers");
    ValueMatcher vm;
    vm.kind = ValueMatcher::Kind::kNull;
    return vm;
  }
  if (!v.IsScalar()) return Invalid("`" + key + "`: values must be scalars or a list of scalars");
  if (m.type == Modifiers::Type::kFieldRef) {  // the referenced name reads the log type's field too
    const std::string ref = mapper->Field(v.Scalar());
    return CompileText(ref, YAML::Node(ref), m, keyword, key);
  }
  if (!m.expand) return CompileText(v.Scalar(), v, m, keyword, key);
  auto texts = sigma_internal::ExpandPlaceholders(v.Scalar(), options.placeholders);
  if (!texts.ok()) return texts.status().WithContext("`" + key + "`");
  std::vector<ValueMatcher> alts;
  for (const std::string& t : *texts) {
    VIGIL_ASSIGN_OR_RETURN(ValueMatcher vm, CompileText(t, v, m, keyword, key));
    if (vm.kind == ValueMatcher::Kind::kAnyOf) {
      for (ValueMatcher& x : vm.any_of) alts.push_back(std::move(x));
    } else {
      alts.push_back(std::move(vm));
    }
  }
  if (alts.size() == 1) return std::move(alts.front());
  ValueMatcher any;
  any.kind = ValueMatcher::Kind::kAnyOf;
  any.any_of = std::move(alts);
  return any;
}

Result<FieldMatcher> CompileField(const std::string& key, const YAML::Node& value, const SigmaParseOptions& options,
                                  FieldMapper* mapper) {
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
  const std::string sigma_field = parts.front();
  const std::string field = mapper->Field(sigma_field);
  parts.erase(parts.begin());
  VIGIL_ASSIGN_OR_RETURN(Modifiers m, ParseModifiers(parts, key));
  // Values the log writes differently (`action: allow` is ACCEPT in a flow
  // log) are rewritten when written plainly; with a modifier they are
  // compared as written.
  const FieldMapping* mapping = mapper->Mapping(sigma_field);
  const bool map_values = mapping && !mapping->values.empty() && m.type == Modifiers::Type::kPlain &&
                          m.position == Modifiers::Position::kNone && m.transforms.empty() && !m.expand;
  if (mapping && !mapping->values.empty() && !map_values)
    mapper->Note("`" + key + "`: values are compared as written; only plain values of `" + sigma_field +
                 "` are rewritten to the values the log writes");
  fm.keyword = field.empty();
  if (fm.keyword && m.type != Modifiers::Type::kPlain && m.type != Modifiers::Type::kRe)
    return Invalid("`" + key + "`: a keyword search needs a field name for this modifier");
  fm.path = FieldPath(field);
  if (!fm.keyword) fm.slot = sigma_internal::FieldSlot(field);
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
  for (YAML::Node item : items) {
    if (map_values && item.IsScalar()) {
      auto it = mapping->values.find(ToLower(item.Scalar()));
      if (it != mapping->values.end()) item = YAML::Node(it->second);
    }
    VIGIL_ASSIGN_OR_RETURN(ValueMatcher vm, CompileValue(item, m, fm.keyword, key, options, mapper));
    fm.values.push_back(std::move(vm));
  }
  fm.IndexExactValues();
  return fm;
}

Result<std::vector<FieldMatcher>> CompileMap(const YAML::Node& map, const std::string& name,
                                             const SigmaParseOptions& options, FieldMapper* mapper) {
  std::vector<FieldMatcher> out;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) return Invalid("search identifier `" + name + "`: field names must be strings");
    auto fm = CompileField(kv.first.Scalar(), kv.second, options, mapper);
    if (!fm.ok()) return fm.status().WithContext("search identifier `" + name + "`");
    out.push_back(std::move(fm).value());
  }
  if (out.empty()) return Invalid("search identifier `" + name + "` is empty");
  return out;
}

Result<Selection> CompileSelection(const std::string& name, const YAML::Node& node, const SigmaParseOptions& options,
                                   FieldMapper* mapper) {
  Selection sel;
  sel.name = name;
  if (node.IsMap()) {
    VIGIL_ASSIGN_OR_RETURN(auto alt, CompileMap(node, name, options, mapper));
    sel.alternatives.push_back(std::move(alt));
    return sel;
  }
  if (node.IsScalar()) {
    auto fm = CompileField("", node, options, mapper);
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
    auto fm = CompileField("", node, options, mapper);
    if (!fm.ok()) return fm.status().WithContext("search identifier `" + name + "`");
    sel.alternatives.push_back({std::move(fm).value()});
    return sel;
  }
  for (const YAML::Node& item : node) {
    VIGIL_ASSIGN_OR_RETURN(auto alt, CompileMap(item, name, options, mapper));
    sel.alternatives.push_back(std::move(alt));
  }
  return sel;
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

namespace {

// Compiles a `detection:` block (or a filter's `filter:` block, whose `rules`
// key is skipped) into selections and a condition.
Result<std::unique_ptr<Detection>> CompileDetectionBlock(const YAML::Node& block, const SigmaParseOptions& options,
                                                         FieldMapper* mapper,
                                                         bool is_filter) {
  // Gather identifiers and conditions first, so that deprecated aggregations
  // are reported as such before anything else.
  std::vector<std::string> conditions;
  std::vector<std::pair<std::string, YAML::Node>> idents;
  bool timeframe = false;
  for (const auto& kv : block) {
    if (!kv.first.IsScalar())
      return Invalid(is_filter ? "`filter` keys must be strings" : "`detection` keys must be strings");
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
    } else if (is_filter && name == "rules") {
      continue;
    } else if (!is_filter && name == "timeframe") {
      timeframe = true;
    } else {
      idents.emplace_back(name, kv.second);
    }
  }
  if (conditions.empty())
    return Invalid(is_filter ? "not a Sigma filter: `filter` has no `condition`"
                             : "not a Sigma rule: `detection` has no `condition`");
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
    VIGIL_ASSIGN_OR_RETURN(Selection sel, CompileSelection(name, node, options, mapper));
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
  return det;
}

Status ReadLogsource(const YAML::Node& root, std::string* product, std::string* service, std::string* category) {
  YAML::Node logsource = root["logsource"];
  if (!logsource || logsource.IsNull()) return Status::Ok();
  if (!logsource.IsMap()) return Invalid("`logsource` must be a mapping");
  VIGIL_ASSIGN_OR_RETURN(*product, YamlString(logsource, "product"));
  VIGIL_ASSIGN_OR_RETURN(*service, YamlString(logsource, "service"));
  VIGIL_ASSIGN_OR_RETURN(*category, YamlString(logsource, "category"));
  return Status::Ok();
}

bool IsFilterDocument(const YAML::Node& root) { return root.IsMap() && root["filter"] && !root["detection"]; }

// The YAML documents of a file's text (two empty nodes stand for a
// multi-document stream, which callers report as unsupported). Throws
// YAML::Exception on malformed YAML.
// True when the text cannot hold more than one YAML document: no document
// marker line (`---` or `...` at column 0; block scalars cannot hold one, as
// they are indented) other than a `---` opening the first document. Such
// texts, nearly every rule file, are parsed once instead of being counted
// first (which parses them a second time).
bool SingleDocument(std::string_view text) {
  bool content = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const bool marker = (line.substr(0, 3) == "---" || line.substr(0, 3) == "...") &&
                        (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    if (marker) {
      if (content || line[0] == '.') return false;
      content = true;  // `--- value` may carry content itself
      continue;
    }
    size_t i = line.find_first_not_of(" \t\r");
    if (i != std::string_view::npos && line[i] != '#') content = true;
  }
  return true;
}

std::vector<YAML::Node> LoadDocuments(std::string_view yaml_text) {
  const std::string text(yaml_text);
  std::vector<YAML::Node> docs;
  if (SingleDocument(text)) {
    // The plain YAML most rules are written in is read directly; the rest
    // (and anything the subset reader is unsure of) by yaml-cpp.
    std::optional<YAML::Node> fast = sigma_internal::LoadYamlSubset(text);
    YAML::Node doc = fast ? *fast : YAML::Load(text);
    if (doc && !doc.IsNull()) docs.push_back(doc);
    return docs;
  }
  if (DocumentCounter::Count(text, 2) > 1) {
    docs.resize(2);
  } else {
    YAML::Node doc = YAML::Load(text);
    if (doc && !doc.IsNull()) docs.push_back(doc);
  }
  return docs;
}

// The mapping entry of a logsource (null when the map has none); a logsource
// that no AWS log carries is unsupported.
Result<const LogsourceMapping*> FindLogsource(const SigmaParseOptions& options, const std::string& product,
                                              const std::string& category, const std::string& service) {
  const LogsourceMap& map = options.logsources ? *options.logsources : LogsourceMap::Builtin();
  const LogsourceMapping* m = map.Find(product, category, service);
  if (m && !m->unsupported.empty())
    return Status::Unsupported("logsource " + m->Describe() + ": " + m->unsupported +
                               "; no log type vigil reads carries it (docs/rule-authoring.md, Logsources)");
  return m;
}

Status TooLarge(size_t size) {
  return Status::LimitExceeded("rule file of " + std::to_string(size) + " bytes exceeds " +
                               std::to_string(SigmaRule::kMaxRuleBytes) + " bytes");
}

}  // namespace

class SigmaRuleParser {
 public:
  // `also_map`: field names outside the detection (a translated
  // aggregation's group-by and field) to read through the rule's logsource
  // mapping too; rewritten in place.
  static Result<std::shared_ptr<const SigmaRule>> FromYaml(const std::vector<YAML::Node>& docs,
                                                           const SigmaParseOptions& options,
                                                           std::vector<std::string*> also_map = {});
  static Result<std::shared_ptr<const SigmaFilter>> FilterFromYaml(const YAML::Node& root,
                                                                   const SigmaParseOptions& options);
};

SigmaRule::SigmaRule() = default;
SigmaRule::~SigmaRule() = default;
SigmaFilter::SigmaFilter() = default;
SigmaFilter::~SigmaFilter() = default;

Result<std::shared_ptr<const SigmaRule>> SigmaRuleParser::FromYaml(const std::vector<YAML::Node>& docs,
                                                                   const SigmaParseOptions& options,
                                                                   std::vector<std::string*> also_map) {
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
    return Status::Unsupported(
        "a correlation rule is not a single detection rule; load it through a RuleSet (Sigma correlation rules "
        "specification)");
  if (IsFilterDocument(root))
    return Invalid("this is a Sigma filter, not a rule; load it with SigmaFilter::Parse or a RuleSet");

  std::shared_ptr<SigmaRule> rule(new SigmaRule());
  YAML::Node detection = root["detection"];
  YAML::Node pattern = root["cloudwatch_pattern"];
  if (detection && pattern) return Invalid("a rule has either `detection` or `cloudwatch_pattern`, not both");
  if (!detection && !pattern) return Invalid("not a Sigma rule: no `detection:` (or `cloudwatch_pattern:`)");
  if (detection && !detection.IsMap())
    return Invalid("`detection` must be a mapping of search identifiers and a condition");
  if (pattern && !pattern.IsScalar()) return Invalid("`cloudwatch_pattern` must be a string");

  VIGIL_ASSIGN_OR_RETURN(rule->title_, YamlString(root, "title"));
  if (rule->title_.empty()) return Invalid("rule has no `title`");
  VIGIL_ASSIGN_OR_RETURN(rule->id_, YamlString(root, "id"));
  if (rule->id_.empty()) return Invalid("rule has no `id` (alerts and `covers` need a stable rule id)");
  VIGIL_ASSIGN_OR_RETURN(rule->name_, YamlString(root, "name"));
  VIGIL_ASSIGN_OR_RETURN(rule->status_, YamlString(root, "status"));
  VIGIL_ASSIGN_OR_RETURN(rule->description_, YamlString(root, "description"));
  VIGIL_ASSIGN_OR_RETURN(rule->author_, YamlString(root, "author"));
  VIGIL_ASSIGN_OR_RETURN(rule->date_, YamlString(root, "date"));
  VIGIL_ASSIGN_OR_RETURN(rule->modified_, YamlString(root, "modified"));
  VIGIL_ASSIGN_OR_RETURN(rule->tags_, YamlStringList(root, "tags"));
  VIGIL_ASSIGN_OR_RETURN(rule->references_, YamlStringList(root, "references"));
  VIGIL_ASSIGN_OR_RETURN(rule->falsepositives_, YamlStringList(root, "falsepositives"));
  VIGIL_ASSIGN_OR_RETURN(rule->fields_, YamlStringList(root, "fields"));
  VIGIL_ASSIGN_OR_RETURN(std::string level, YamlString(root, "level"));
  if (!level.empty()) {
    level = ToLower(level);
    if (level != "informational" && level != "low" && level != "medium" && level != "high" && level != "critical")
      return Invalid("`level: " + level + "` is not one of informational, low, medium, high, critical");
    rule->level_ = level;
  }
  VIGIL_RETURN_IF_ERROR(
      ReadLogsource(root, &rule->logsource_product_, &rule->logsource_service_, &rule->logsource_category_));
  VIGIL_ASSIGN_OR_RETURN(const LogsourceMapping* logsource,
                         FindLogsource(options, rule->logsource_product_, rule->logsource_category_,
                                       rule->logsource_service_));
  if (logsource) rule->log_type_ = logsource->log_type;
  FieldMapper mapper(logsource);
  for (std::string* name : also_map) *name = mapper.Field(*name);
  VIGIL_ASSIGN_OR_RETURN(std::string window, YamlString(root, "rollup_window"));
  if (!window.empty()) {
    auto ns = ParseDuration(window);
    if (!ns || *ns <= 0) return Invalid("`rollup_window: " + window + "` is not a duration such as 15m or 1h");
    rule->rollup_window_ns_ = *ns;
  }
  VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> entity, YamlStringList(root, "entity"));
  for (const std::string& e : entity) {
    if (e.empty()) return Invalid("`entity` lists an empty field path");
    rule->entity_.emplace_back(e);
  }
  VIGIL_ASSIGN_OR_RETURN(rule->covers_, YamlStringList(root, "covers"));
  VIGIL_ASSIGN_OR_RETURN(rule->finding_type_, YamlString(root, "finding_type"));

  if (pattern) {
    // A CloudWatch Logs filter pattern instead of a Sigma detection.
    auto compiled = FilterPattern::Parse(pattern.Scalar());
    if (!compiled.ok()) return compiled.status().WithContext("cloudwatch_pattern");
    rule->cloudwatch_pattern_ = std::make_unique<FilterPattern>(std::move(compiled).value());
    rule->detection_ = std::make_unique<sigma_internal::Detection>();
    return std::shared_ptr<const SigmaRule>(std::move(rule));
  }
  VIGIL_ASSIGN_OR_RETURN(rule->detection_, CompileDetectionBlock(detection, options, &mapper, /*is_filter=*/false));
  rule->logsource_notes_ = mapper.TakeNotes();
  return std::shared_ptr<const SigmaRule>(std::move(rule));
}

Result<std::shared_ptr<const SigmaFilter>> SigmaRuleParser::FilterFromYaml(const YAML::Node& root,
                                                                           const SigmaParseOptions& options) {
  if (!IsFilterDocument(root)) return Invalid("not a Sigma filter: no top-level `filter:`");
  std::shared_ptr<SigmaFilter> f(new SigmaFilter());
  VIGIL_ASSIGN_OR_RETURN(f->title_, YamlString(root, "title"));
  if (f->title_.empty()) return Invalid("filter has no `title`");
  VIGIL_ASSIGN_OR_RETURN(f->id_, YamlString(root, "id"));
  VIGIL_ASSIGN_OR_RETURN(f->description_, YamlString(root, "description"));
  if (!root["logsource"] || root["logsource"].IsNull())
    return Invalid("filter has no `logsource` (Sigma filters specification, Log source)");
  VIGIL_RETURN_IF_ERROR(ReadLogsource(root, &f->logsource_product_, &f->logsource_service_, &f->logsource_category_));
  VIGIL_ASSIGN_OR_RETURN(const LogsourceMapping* logsource,
                         FindLogsource(options, f->logsource_product_, f->logsource_category_, f->logsource_service_));
  FieldMapper mapper(logsource);
  const YAML::Node block = root["filter"];
  if (!block.IsMap()) return Invalid("`filter` must be a mapping of `rules`, search identifiers and a condition");
  VIGIL_ASSIGN_OR_RETURN(f->rules_, YamlStringList(block, "rules"));
  if (f->rules_.empty()) return Invalid("filter has no `rules`: list the ids or names of the rules it applies to");
  for (const std::string& r : f->rules_)
    if (r.empty()) return Invalid("filter `rules` lists an empty rule reference");
  VIGIL_ASSIGN_OR_RETURN(f->detection_, CompileDetectionBlock(block, options, &mapper, /*is_filter=*/true));
  f->logsource_notes_ = mapper.TakeNotes();
  return std::shared_ptr<const SigmaFilter>(std::move(f));
}

Result<std::shared_ptr<const SigmaRule>> SigmaRule::Parse(std::string_view yaml_text,
                                                          const SigmaParseOptions& options) {
  if (yaml_text.size() > kMaxRuleBytes) return TooLarge(yaml_text.size());
  try {
    return SigmaRuleParser::FromYaml(LoadDocuments(yaml_text), options);
  } catch (const YAML::Exception& e) {
    return Invalid(std::string("not valid YAML: ") + e.what());
  } catch (const std::exception& e) {
    return Invalid(std::string("cannot read rule: ") + e.what());
  }
}

Result<std::shared_ptr<const SigmaFilter>> SigmaFilter::Parse(std::string_view yaml_text,
                                                              const SigmaParseOptions& options) {
  VIGIL_ASSIGN_OR_RETURN(SigmaDocument doc, ParseSigmaDocument(yaml_text, options));
  if (!doc.filter) return Invalid("not a Sigma filter: no top-level `filter:`");
  return doc.filter;
}

Result<SigmaDocument> ParseSigmaDocument(std::string_view yaml_text, const SigmaParseOptions& options) {
  if (yaml_text.size() > SigmaRule::kMaxRuleBytes) return TooLarge(yaml_text.size());
  try {
    std::vector<YAML::Node> docs = LoadDocuments(yaml_text);
    SigmaDocument out;
    if (docs.size() == 1 && IsFilterDocument(docs.front())) {
      VIGIL_ASSIGN_OR_RETURN(out.filter, SigmaRuleParser::FilterFromYaml(docs.front(), options));
    } else {
      VIGIL_ASSIGN_OR_RETURN(out.rule, SigmaRuleParser::FromYaml(docs, options));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return Invalid(std::string("not valid YAML: ") + e.what());
  } catch (const std::exception& e) {
    return Invalid(std::string("cannot read rule: ") + e.what());
  }
}

namespace {

constexpr int kMaxDocuments = 64;

// Splits a multi-document stream at `---` / `...` marker lines (markers are
// only recognised at the start of a line, as in YAML itself) and loads each
// piece. The piece count is checked against yaml-cpp's own document count.
// Throws YAML::Exception on malformed YAML.
Result<std::vector<YAML::Node>> LoadAllDocuments(std::string_view yaml_text) {
  if (SingleDocument(yaml_text)) return LoadDocuments(yaml_text);
  const std::string text(yaml_text);
  const int count = DocumentCounter::Count(text, kMaxDocuments + 1);
  if (count > kMaxDocuments)
    return Status::LimitExceeded("more than " + std::to_string(kMaxDocuments) + " YAML documents in one file");
  if (count <= 1) return LoadDocuments(yaml_text);
  std::vector<YAML::Node> docs;
  std::string piece;
  auto flush = [&] {
    YAML::Node d = YAML::Load(piece);
    if (d && !d.IsNull()) docs.push_back(d);
    piece.clear();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line(text.data() + pos, (eol == std::string::npos ? text.size() : eol) - pos);
    auto marker = [&](std::string_view m) {
      return line.substr(0, 3) == m && (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    };
    if (marker("---") || marker("...")) {
      flush();
      std::string_view rest = line.substr(3);  // `--- {inline: doc}`
      piece.append(rest).push_back('\n');
    } else {
      piece.append(line).push_back('\n');
    }
    if (eol == std::string::npos) break;
    pos = eol + 1;
  }
  flush();
  if (static_cast<int>(docs.size()) != count)
    return Invalid("cannot split the file into its " + std::to_string(count) + " YAML documents");
  return docs;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// `sel | count(field) by group > 5` -> its parts.
struct Aggregation {
  std::string base_condition, function, field, group_by, op;
  double value = 0;
};

// Parses a deprecated aggregation. Unsupported with a reason for forms that
// have no clear correlation equivalent.
Result<Aggregation> ParseAggregation(const std::string& condition) {
  const size_t bar = condition.find('|');
  Aggregation a;
  a.base_condition = std::string(TrimView(std::string_view(condition).substr(0, bar)));
  // `orig` keeps the spelling of field names; `rest` is the same text lower-cased.
  const std::string orig(TrimView(std::string_view(condition).substr(bar + 1)));
  const std::string rest = ToLower(orig);
  auto unsupported = [&](const std::string& why) {
    return Status::Unsupported("aggregation `" + std::string(TrimView(condition)) + "`: " + why +
                               " (Sigma correlation specification)");
  };
  if (rest.rfind("near", 0) == 0)
    return Status::Unsupported(
        "`near` aggregation is deprecated; a temporal correlation rule is needed (Sigma correlation "
        "specification, Temporal Proximity)");
  const size_t open = rest.find('('), close = rest.find(')');
  if (open == std::string::npos || close == std::string::npos || close < open)
    return unsupported("not an aggregation function call");
  a.function = std::string(TrimView(std::string_view(rest).substr(0, open)));
  if (a.function != "count" && a.function != "sum")
    return unsupported("only count() and sum() have a correlation equivalent");
  a.field = std::string(TrimView(std::string_view(orig).substr(open + 1, close - open - 1)));
  size_t pos = close + 1;
  auto skip_space = [&] {
    while (pos < rest.size() && std::isspace(static_cast<unsigned char>(rest[pos]))) ++pos;
  };
  skip_space();
  if (rest.compare(pos, 3, "by ") == 0) {
    pos += 3;
    skip_space();
    const size_t start = pos;
    while (pos < rest.size() && !std::isspace(static_cast<unsigned char>(rest[pos])) && rest[pos] != '<' &&
           rest[pos] != '>' && rest[pos] != '=' && rest[pos] != '!')
      ++pos;
    a.group_by = orig.substr(start, pos - start);
    skip_space();
  }
  for (std::string_view op : {">=", "<=", "==", "!=", ">", "<", "="}) {
    if (rest.compare(pos, op.size(), op) == 0) {
      a.op = std::string(op);
      pos += op.size();
      break;
    }
  }
  const std::string_view number = TrimView(std::string_view(rest).substr(std::min(pos, rest.size())));
  if (a.op.empty() || !ParseDouble(number, &a.value) || a.group_by.find(',') != std::string::npos)
    return unsupported("expected `[by field] <op> <number>` after the function");
  if (a.function == "sum" && a.field.empty()) return unsupported("sum() needs a field");
  if (a.base_condition.empty()) return unsupported("no condition before `|`");
  return a;
}

// A rule whose condition is `... | count(...) ...` with `timeframe`: a base
// rule plus the equivalent correlation.
Result<std::vector<SigmaDocument>> TranslateAggregation(const YAML::Node& root, const SigmaParseOptions& options,
                                                         const std::string& condition) {
  VIGIL_ASSIGN_OR_RETURN(Aggregation agg, ParseAggregation(condition));
  YAML::Node detection = root["detection"];
  YAML::Node tf = detection["timeframe"];
  if (!tf || !tf.IsScalar())
    return Status::Unsupported("aggregation `" + std::string(TrimView(condition)) +
                               "` has no `timeframe`, so no window to count in; write a correlation rule with a "
                               "`timespan` (Sigma correlation specification)");
  auto timespan = ParseTimespan(tf.Scalar());
  if (!timespan) return Invalid("`timeframe: " + tf.Scalar() + "` is not a number followed by s, m, h or d");

  YAML::Node base = YAML::Clone(root);
  base["detection"].remove("timeframe");
  base["detection"]["condition"] = agg.base_condition;
  VIGIL_ASSIGN_OR_RETURN(std::string id, YamlString(root, "id"));
  VIGIL_ASSIGN_OR_RETURN(std::string title, YamlString(root, "title"));
  if (id.empty()) return Invalid("rule has no `id` (alerts and `covers` need a stable rule id)");
  base["id"] = id + ":base";
  base["title"] = title + " (base rule)";
  base.remove("name");
  // The counted field and the group-by read the log type's fields, as the
  // base rule's detection does.
  VIGIL_ASSIGN_OR_RETURN(std::shared_ptr<const SigmaRule> base_rule,
                         SigmaRuleParser::FromYaml({base}, options, {&agg.field, &agg.group_by}));

  YAML::Node corr = YAML::Clone(root);
  corr.remove("detection");
  corr.remove("logsource");
  YAML::Node c;
  const bool sum = agg.function == "sum";
  c["type"] = sum ? "value_sum" : agg.field.empty() ? "event_count" : "value_count";
  c["rules"].push_back(id + ":base");
  if (!agg.group_by.empty()) c["group-by"].push_back(agg.group_by);
  c["timespan"] = tf.Scalar();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", agg.value);
  const std::string v = buf;
  if (!agg.field.empty()) c["condition"]["field"] = agg.field;
  if (agg.op == ">") c["condition"]["gt"] = v;
  if (agg.op == ">=") c["condition"]["gte"] = v;
  if (agg.op == "<") c["condition"]["lt"] = v;
  if (agg.op == "<=") c["condition"]["lte"] = v;
  if (agg.op == "==" || agg.op == "=") c["condition"]["eq"] = v;
  if (agg.op == "!=") c["condition"]["neq"] = v;
  corr["correlation"] = c;
  corr.remove("generate");
  VIGIL_ASSIGN_OR_RETURN(std::shared_ptr<const CorrelationRule> parsed,
                         correlation_internal::ParseCorrelationDocument(corr));
  CorrelationRule::Spec spec = parsed->spec();
  spec.translated_from = std::string(TrimView(condition));
  std::vector<SigmaDocument> out(2);
  out[0].rule = std::move(base_rule);
  out[1].correlation = std::make_shared<const CorrelationRule>(std::move(spec));
  return out;
}

// True when a rule's detection condition is a deprecated aggregation.
const YAML::Node* AggregationCondition(const YAML::Node& root, YAML::Node* holder) {
  if (!root.IsMap()) return nullptr;
  YAML::Node det = root["detection"];
  if (!det || !det.IsMap()) return nullptr;
  YAML::Node cond = det["condition"];
  if (!cond || !cond.IsScalar() || cond.Scalar().find('|') == std::string::npos) return nullptr;
  *holder = cond;
  return holder;
}

Result<std::vector<SigmaDocument>> ParseOneDocument(const YAML::Node& root, const SigmaParseOptions& options) {
  std::vector<SigmaDocument> out(1);
  if (root.IsMap() && root["correlation"] && !root["action"]) {
    VIGIL_ASSIGN_OR_RETURN(out[0].correlation, correlation_internal::ParseCorrelationDocument(root));
    return out;
  }
  if (IsFilterDocument(root)) {
    VIGIL_ASSIGN_OR_RETURN(out[0].filter, SigmaRuleParser::FilterFromYaml(root, options));
    return out;
  }
  YAML::Node cond;
  if (AggregationCondition(root, &cond)) return TranslateAggregation(root, options, cond.Scalar());
  VIGIL_ASSIGN_OR_RETURN(out[0].rule, SigmaRuleParser::FromYaml({root}, options));
  return out;
}

}  // namespace

Result<std::vector<SigmaDocument>> ParseSigmaFile(std::string_view yaml_text, const SigmaParseOptions& options) {
  if (yaml_text.size() > SigmaRule::kMaxRuleBytes) return TooLarge(yaml_text.size());
  try {
    VIGIL_ASSIGN_OR_RETURN(std::vector<YAML::Node> docs, LoadAllDocuments(yaml_text));
    if (docs.empty()) return Invalid("not a Sigma rule: the file holds no YAML document");
    std::vector<SigmaDocument> out;
    for (size_t i = 0; i < docs.size(); ++i) {
      if (docs.size() > 1 && docs[i].IsMap() && docs[i]["action"])
        return Status::Unsupported(
            "rule collection actions (`action: global/reset/repeat`) are not supported (Sigma rules "
            "specification, File Structure)");
      auto parsed = ParseOneDocument(docs[i], options);
      if (!parsed.ok()) {
        if (docs.size() == 1) return parsed.status();
        return parsed.status().WithContext("document " + std::to_string(i + 1));
      }
      for (SigmaDocument& d : *parsed) out.push_back(std::move(d));
    }
    return out;
  } catch (const YAML::Exception& e) {
    return Invalid(std::string("not valid YAML: ") + e.what());
  } catch (const std::exception& e) {
    return Invalid(std::string("cannot read rule: ") + e.what());
  }
}

bool SigmaRule::Matches(const Event& event) const { return event.fields && Matches(*event.fields); }

std::string SigmaRule::Explain(const FieldResolver& fields) const {
  sigma_internal::EventFields cache(fields);
  return Explain(cache);
}

std::string SigmaRule::Explain(sigma_internal::EventFields& cache, const sigma_internal::SelectionResults* known) const {
  if (cloudwatch_pattern_) return JsonObject().Str("cloudwatch_pattern", cloudwatch_pattern_->source()).Done();
  // Built once per alert of a busy rule set, so without intermediate
  // strings. The event matched: when the condition is one selection, that
  // selection held without asking again.
  const sigma_internal::CondNode& cond = detection_->condition;
  const int only = cond.op == sigma_internal::CondNode::Op::kRef ? cond.selection : -1;
  if (known != nullptr && known->size() != detection_->selections.size()) known = nullptr;
  // Selections that held, and the matchers whose first scalar (or null)
  // value is shown, one per field as written.
  std::vector<const sigma_internal::Selection*> held;
  std::vector<const sigma_internal::FieldMatcher*> shown;
  auto first_value = [&](const sigma_internal::FieldMatcher& fm, FieldValue* out) {
    const sigma_internal::EventFields::Values values = cache.Get(fm.path, fm.slot);
    for (uint32_t i = 0; i < values.count; ++i) {
      const FieldValue v = values[i];
      if (v.kind == ValueKind::kObject || v.kind == ValueKind::kArray) continue;
      *out = v;
      return true;
    }
    return false;
  };
  for (size_t s = 0; s < detection_->selections.size(); ++s) {
    const sigma_internal::Selection& sel = detection_->selections[s];
    // Known to hold without asking (the condition is this selection, or the
    // evaluation decided it held); one the evaluation decided did not hold
    // is left out without asking either.
    const int8_t decided = known != nullptr ? (*known)[s] : 0;
    const bool holds = static_cast<int>(s) == only || decided == 2;
    if (decided == 1 || (!holds && !sel.Matches(cache))) continue;
    held.push_back(&sel);
    for (const auto& alternative : sel.alternatives) {
      if (!(holds && sel.alternatives.size() == 1)) {
        bool all = true;
        for (const auto& fm : alternative) all = all && fm.Matches(cache);
        if (!all) continue;
      }
      for (const auto& fm : alternative) {
        if (fm.keyword) continue;
        if (std::any_of(shown.begin(), shown.end(),
                        [&](const sigma_internal::FieldMatcher* m) { return m->display == fm.display; }))
          continue;
        FieldValue v;
        if (first_value(fm, &v)) shown.push_back(&fm);
      }
      break;  // the first alternative that held explains the selection
    }
  }
  std::sort(shown.begin(), shown.end(), [](const sigma_internal::FieldMatcher* a, const sigma_internal::FieldMatcher* b) {
    return a->display < b->display;
  });
  std::string out;
  out.reserve(256);
  out += "{\"selections\":[";
  for (size_t i = 0; i < held.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, held[i]->name);
  }
  out += "],\"fields\":{";
  for (size_t i = 0; i < shown.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, shown[i]->display);
    out.push_back(':');
    FieldValue v;
    first_value(*shown[i], &v);  // cached: the same value as above
    if (v.kind == ValueKind::kNull) {
      AppendJsonString(&out, "null");
    } else {
      AppendJsonString(&out, v.text.substr(0, 256));
    }
  }
  out += "}}";
  return out;
}

bool SigmaRule::Matches(const FieldResolver& fields) const {
  return cloudwatch_pattern_ ? cloudwatch_pattern_->Matches(fields) : detection_->Matches(fields);
}

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
