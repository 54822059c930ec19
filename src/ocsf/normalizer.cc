#include "ocsf/normalizer.h"

#include <arpa/inet.h>

#include <charconv>
#include <map>
#include <mutex>
#include <typeinfo>

#include "common/json_writer.h"
#include "common/time.h"
#include "event/json_fields.h"
#include "ocsf/internal/embedded.h"
#include "ocsf/internal/mapping.h"

namespace vigil::ocsf {
namespace {

using internal::Coded;
using internal::Conv;
using internal::FieldSpec;
using internal::Mapping;

// The mappings, compiled once from the embedded files.
struct Registry {
  std::map<std::string, std::unique_ptr<Mapping>, std::less<>> by_source;
  std::vector<std::string> errors;
};

const Registry& Mappings() {
  static const Registry* registry = [] {
    auto* r = new Registry;
    for (const auto& file : internal::EmbeddedMappings()) {
      auto m = internal::LoadMapping(file.name, file.contents);
      if (!m.ok()) {
        r->errors.push_back(m.status().message());
        continue;
      }
      std::string source = (*m)->source_type;
      if (!r->by_source.emplace(source, std::move(*m)).second)
        r->errors.push_back(std::string(file.name) + ": a second mapping for " + source);
    }
    return r;
  }();
  return *registry;
}

// The OCSF object under construction: members keep insertion order, which
// is the order the mapping names them (classification first).
struct Node {
  enum Kind : uint8_t { kEmpty, kScalar, kObject, kArray } kind = kEmpty;
  std::string scalar;  // JSON text
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> members;
  std::vector<std::unique_ptr<Node>> items;

  Node* Member(std::string_view key) {
    kind = kObject;
    for (auto& [k, v] : members)
      if (k == key) return v.get();
    members.emplace_back(std::string(key), std::make_unique<Node>());
    return members.back().second.get();
  }
  const Node* Find(std::string_view key) const {
    for (const auto& [k, v] : members)
      if (k == key) return v.get();
    return nullptr;
  }
  bool Empty() const {
    switch (kind) {
      case kEmpty: return true;
      case kScalar: return false;
      case kObject:
        for (const auto& m : members)
          if (!m.second->Empty()) return false;
        return true;
      case kArray:
        for (const auto& i : items)
          if (!i->Empty()) return false;
        return true;
    }
    return true;
  }
  void Write(std::string* out) const {
    if (kind == kScalar) {
      out->append(scalar);
    } else if (kind == kArray) {
      out->push_back('[');
      bool first = true;
      for (const auto& i : items) {
        if (i->Empty()) continue;
        if (!first) out->push_back(',');
        first = false;
        i->Write(out);
      }
      out->push_back(']');
    } else {
      out->push_back('{');
      bool first = true;
      for (const auto& [k, v] : members) {
        if (v->Empty()) continue;
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(out, k);
        out->push_back(':');
        v->Write(out);
      }
      out->push_back('}');
    }
  }
};

// Walks `parts` from `obj`, creating objects; null when the way is blocked
// by a value already written there.
Node* Walk(Node* obj, const std::vector<std::string>& parts) {
  Node* n = obj;
  for (const auto& p : parts) {
    if (n->kind != Node::kEmpty && n->kind != Node::kObject) return nullptr;
    n = n->Member(p);
  }
  return n;
}

// The first writer of an attribute wins: class fields come before the
// mapping's common ones, so a class can override a common attribute.
void Set(Node* obj, const std::vector<std::string>& parts, std::string json) {
  Node* n = Walk(obj, parts);
  if (n == nullptr || n->kind != Node::kEmpty) return;
  n->kind = Node::kScalar;
  n->scalar = std::move(json);
}

// A raw value as text, or absent. Placeholders the AWS text logs use for "no
// value" ("-") and empty strings count as absent, not as invalid.
struct RawValue {
  bool present = false;
  std::string text;
  ValueKind kind = ValueKind::kNull;
};

RawValue First(const FieldResolver& r, const FieldPath& p) {
  RawValue out;
  r.Visit(p, [&](const FieldValue& v) {
    if (v.kind == ValueKind::kNull || v.kind == ValueKind::kObject || v.kind == ValueKind::kArray) return true;
    if (v.text.empty() || v.text == "-") return true;
    out.present = true;
    out.kind = v.kind;
    out.text.assign(v.text);
    return false;
  });
  return out;
}

// Strict dotted quad: four decimal parts 0-255 without leading zeros (OCSF
// ip_t). Anonymised records carry addresses like 035.249.253.232, which
// fail here on purpose.
bool IsIpv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    size_t start = i;
    int v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) v = v * 10 + (s[i++] - '0');
    const size_t len = i - start;
    if (len == 0 || v > 255 || (len > 1 && s[start] == '0')) return false;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

bool IsIp(std::string_view s) {
  if (s.find(':') == std::string_view::npos) return IsIpv4(s);
  if (s.size() > 39) return false;
  char buf[40];
  s.copy(buf, s.size());
  buf[s.size()] = 0;
  unsigned char addr[16];
  return inet_pton(AF_INET6, buf, addr) == 1;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The OCSF JSON for a raw value, or nullopt when it fails the type.
std::optional<std::string> Convert(Conv as, const RawValue& raw) {
  const std::string& t = raw.text;
  switch (as) {
    case Conv::kString: return JsonString(t);
    case Conv::kInteger:
      if (auto v = ParseInt(t)) return std::to_string(*v);
      return std::nullopt;
    case Conv::kPort:
      if (auto v = ParseInt(t); v && *v >= 0 && *v <= 65535) return std::to_string(*v);
      return std::nullopt;
    case Conv::kFloat: {
      double d = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
      if (ec != std::errc() || p != t.data() + t.size() || d != d) return std::nullopt;
      char buf[32];
      auto [e, ec2] = std::to_chars(buf, buf + sizeof buf, d);
      std::string out(buf, e);
      // JSON numbers need a digit before an exponent and no "inf".
      if (out.find_first_of("in") != std::string::npos) return std::nullopt;
      return out;
    }
    case Conv::kBool:
      if (t == "true" || t == "True" || t == "TRUE") return std::string("true");
      if (t == "false" || t == "False" || t == "FALSE") return std::string("false");
      return std::nullopt;
    case Conv::kIp:
      if (IsIp(t)) return JsonString(t);
      return std::nullopt;
    case Conv::kTimestamp:
      if (auto ns = ParseTimestamp(t)) return std::to_string(*ns / 1000000);
      return std::nullopt;
    case Conv::kTimestampSeconds:
      if (auto v = ParseInt(t); v && *v >= 0 && *v < (int64_t{1} << 40)) return std::to_string(*v * 1000);
      return std::nullopt;
  }
  return std::nullopt;
}

bool LooksLikeName(std::string_view s) { return s.find_first_not_of("0123456789.:") != std::string_view::npos; }

struct Context {
  const EventContext& event;
  const FieldResolver& raw;
  std::vector<InvalidValue>* invalid;
};

void SetCoded(Node* obj, const FieldSpec& f, const Coded& c, std::string_view raw_text) {
  Set(obj, f.target_parts, c.json);
  if (c.caption && !f.caption_to.empty())
    Set(obj, f.caption_to, JsonString(*c.caption == "$raw" ? raw_text : std::string_view(*c.caption)));
}

void Apply(const FieldSpec& f, const std::vector<FieldPath>& from, std::string_view prefix, const Context& ctx,
           Node* obj);

// One object per element of a raw array, built from the element's fields.
void ApplyEach(const FieldSpec& f, const Context& ctx, Node* obj) {
  constexpr size_t kMaxElements = 256;  // bounds the work one record can cause
  size_t n = 0;
  ctx.raw.Visit(FieldPath(f.each), [&](const FieldValue&) { return ++n < kMaxElements; });
  Node* arr = Walk(obj, f.target_parts);
  if (arr == nullptr || (arr->kind != Node::kEmpty && arr->kind != Node::kArray)) return;
  const std::string prefix = f.target + "[].";
  for (size_t i = 0; i < n; ++i) {
    auto elem = std::make_unique<Node>();
    elem->kind = Node::kObject;
    const std::string base = f.each + ".[" + std::to_string(i) + "].";
    for (const FieldSpec& sub : f.each_fields) {
      std::vector<FieldPath> paths;
      for (const auto& p : sub.from) paths.emplace_back(base + p);
      Apply(sub, paths, prefix, ctx, elem.get());
    }
    if (!elem->Empty()) {
      arr->kind = Node::kArray;
      arr->items.push_back(std::move(elem));
    }
  }
}

void Apply(const FieldSpec& f, const std::vector<FieldPath>& from, std::string_view prefix, const Context& ctx,
           Node* obj) {
  if (f.if_absent && First(ctx.raw, *f.if_absent).present) return;
  if (!f.each.empty()) return ApplyEach(f, ctx, obj);
  if (f.constant) return SetCoded(obj, f, *f.constant, "");
  if (f.event_time) {
    if (ctx.event.time_ns != 0) Set(obj, f.target_parts, std::to_string(ctx.event.time_ns / 1000000));
    return;
  }
  auto invalid = [&](const FieldPath& p, const std::string& text) {
    ctx.invalid->push_back({std::string(prefix) + f.target, p.str(), text});
  };
  if (f.array) {
    Node* arr = Walk(obj, f.target_parts);
    if (arr == nullptr || arr->kind != Node::kEmpty) return;
    for (const FieldPath& p : from) {
      ctx.raw.Visit(p, [&](const FieldValue& v) {
        if (v.kind == ValueKind::kNull || v.kind == ValueKind::kObject || v.kind == ValueKind::kArray) return true;
        RawValue raw{true, std::string(v.text), v.kind};
        if (auto json = Convert(f.as, raw)) {
          auto item = std::make_unique<Node>();
          item->kind = Node::kScalar;
          item->scalar = std::move(*json);
          arr->kind = Node::kArray;
          arr->items.push_back(std::move(item));
        } else {
          invalid(p, raw.text);
        }
        return arr->items.size() < 256;
      });
    }
    return;
  }
  RawValue raw;
  const FieldPath* source = nullptr;
  for (const FieldPath& p : from) {
    raw = First(ctx.raw, p);
    if (raw.present) {
      source = &p;
      break;
    }
  }
  if (f.present) {
    if (raw.present) return SetCoded(obj, f, *f.present, raw.text);
    if (f.absent) SetCoded(obj, f, *f.absent, "");
    return;
  }
  if (!raw.present) {
    if (f.absent) SetCoded(obj, f, *f.absent, "");
    return;
  }
  if (!f.map.empty() || !f.prefixes.empty()) {
    if (auto it = f.map.find(raw.text); it != f.map.end()) return SetCoded(obj, f, it->second, raw.text);
    for (const auto& [prefix, coded] : f.prefixes)
      if (std::string_view(raw.text).substr(0, prefix.size()) == prefix) return SetCoded(obj, f, coded, raw.text);
    if (f.otherwise) {
      SetCoded(obj, f, *f.otherwise, raw.text);
    }
    return;
  }
  if (!f.ranges.empty()) {
    double d = 0;
    auto [p, ec] = std::from_chars(raw.text.data(), raw.text.data() + raw.text.size(), d);
    if (ec != std::errc() || p != raw.text.data() + raw.text.size()) return invalid(*source, raw.text);
    for (const auto& [min, coded] : f.ranges) {
      if (d >= min) return SetCoded(obj, f, coded, raw.text);
    }
    return;
  }
  if (auto json = Convert(f.as, raw)) return Set(obj, f.target_parts, std::move(*json));
  if (!f.else_to.empty() && LooksLikeName(raw.text)) return Set(obj, f.else_to, JsonString(raw.text));
  invalid(*source, raw.text);
}

bool Holds(const internal::Condition& c, const FieldResolver& raw) {
  switch (c.kind) {
    case internal::Condition::kAlways: return true;
    case internal::Condition::kHas: return First(raw, c.field).present;
    case internal::Condition::kIn: {
      RawValue v = First(raw, c.field);
      if (!v.present) return false;
      for (const auto& want : c.values)
        if (v.text == want) return true;
      return false;
    }
  }
  return false;
}

std::string ScalarText(const Node* n) {
  if (n == nullptr || n->kind != Node::kScalar) return "";
  std::string_view s = n->scalar;
  if (s.size() >= 2 && s.front() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

}  // namespace

Result<Normalized> Normalize(const EventContext& ctx, const FieldResolver& raw) {
  const Registry& reg = Mappings();
  auto it = reg.by_source.find(ctx.source_type);
  if (it == reg.by_source.end())
    return Status::NotFound("no OCSF mapping for log type " + std::string(ctx.source_type));
  const Mapping& m = *it->second;
  Normalized out;
  for (const auto& cm : m.classes) {
    if (!Holds(cm.when, raw)) continue;
    Context c{ctx, raw, &out.invalid};
    Node root;
    root.kind = Node::kObject;
    Set(&root, {"class_uid"}, std::to_string(cm.class_uid));
    Set(&root, {"class_name"}, JsonString(cm.class_name));
    Set(&root, {"category_uid"}, std::to_string(cm.category_uid));
    Set(&root, {"category_name"}, JsonString(cm.category_name));
    Apply(cm.activity, cm.activity.from_paths, "", c, &root);
    int64_t activity = ParseInt(ScalarText(root.Find("activity_id"))).value_or(0);
    Set(&root, {"activity_id"}, "0");  // no-ops when the mapping set them
    Set(&root, {"activity_name"}, JsonString("Unknown"));
    Set(&root, {"type_uid"}, std::to_string(int64_t{cm.class_uid} * 100 + activity));
    Set(&root, {"type_name"}, JsonString(cm.class_name + ": " + ScalarText(root.Find("activity_name"))));
    for (const FieldSpec& f : cm.fields) Apply(f, f.from_paths, "", c, &root);
    for (const FieldSpec& f : m.common) Apply(f, f.from_paths, "", c, &root);
    Set(&root, {"metadata", "version"}, JsonString(kSchemaVersion));
    if (!m.profiles.empty()) {
      std::vector<std::string> parts = {"metadata", "profiles"};
      Node* arr = Walk(&root, parts);
      if (arr != nullptr && arr->kind == Node::kEmpty) {
        arr->kind = Node::kArray;
        for (const auto& p : m.profiles) {
          auto item = std::make_unique<Node>();
          item->kind = Node::kScalar;
          item->scalar = JsonString(p);
          arr->items.push_back(std::move(item));
        }
      }
    }
    // What was left out stays visible where OCSF keeps what a mapping did
    // not map: `unmapped`, a free-form object.
    if (!out.invalid.empty()) {
      Node* arr = Walk(&root, {"unmapped", "invalid"});
      if (arr != nullptr && arr->kind == Node::kEmpty) {
        arr->kind = Node::kArray;
        for (const auto& i : out.invalid) {
          auto item = std::make_unique<Node>();
          Set(item.get(), {"attribute"}, JsonString(i.attribute));
          Set(item.get(), {"raw_field"}, JsonString(i.raw_path));
          Set(item.get(), {"value"}, JsonString(i.value));
          arr->items.push_back(std::move(item));
        }
      }
    }
    out.class_uid = cm.class_uid;
    root.Write(&out.json);
    break;
  }
  return out;
}

std::vector<std::string> MappedSourceTypes() {
  std::vector<std::string> out;
  for (const auto& [k, v] : Mappings().by_source) out.push_back(k);
  return out;
}

const std::vector<std::string>& MappingLoadErrors() { return Mappings().errors; }

std::vector<std::pair<int, std::string>> MappedAttributes(std::string_view source_type) {
  std::vector<std::pair<int, std::string>> out;
  auto it = Mappings().by_source.find(source_type);
  if (it == Mappings().by_source.end()) return out;
  auto join = [](const std::vector<std::string>& parts) {
    std::string s;
    for (const auto& p : parts) s += (s.empty() ? "" : ".") + p;
    return s;
  };
  for (const auto& cm : it->second->classes) {
    auto add = [&](const FieldSpec& f, const std::string& prefix, auto&& self) -> void {
      if (!f.each.empty()) {
        for (const auto& sub : f.each_fields) self(sub, prefix + f.target + "[].", self);
        return;
      }
      out.emplace_back(cm.class_uid, prefix + f.target + (f.array ? "[]" : ""));
      if (!f.caption_to.empty()) out.emplace_back(cm.class_uid, prefix + join(f.caption_to));
      if (!f.else_to.empty()) out.emplace_back(cm.class_uid, prefix + join(f.else_to));
    };
    add(cm.activity, "", add);
    for (const auto& f : cm.fields) add(f, "", add);
    for (const auto& f : it->second->common) add(f, "", add);
  }
  return out;
}

namespace {

// The resolver WithOcsf returns. See normalizer.h for the thread-safety
// argument: everything but `state_` is immutable, and `state_` is written
// once inside std::call_once, which orders that write before every reader.
class OcsfFields final : public FieldResolver {
 public:
  OcsfFields(const EventContext& ctx, std::shared_ptr<const FieldResolver> raw)
      : source_type_(ctx.source_type), time_ns_(ctx.time_ns), raw_(std::move(raw)) {}

  bool Visit(const FieldPath& path, const FieldVisitor& visitor) const override {
    if (IsOcsf(path)) {
      const State& s = state();
      return s.fields != nullptr && s.fields->Visit(path, visitor);
    }
    return raw_->Visit(path, visitor);
  }
  // Keyword search looks at the record as it came, not at its OCSF copy.
  void VisitAllScalars(const FieldVisitor& visitor) const override { raw_->VisitAllScalars(visitor); }
  // Visit answers raw paths from raw_ (an `ocsf.` path is never a raw
  // record's value).
  std::string_view ParsedJson() const override { return raw_->ParsedJson(); }
  bool Collect(const FieldPath& path, FieldValueList* out) const override {
    if (IsOcsf(path)) {
      const State& s = state();
      return s.fields != nullptr && s.fields->Collect(path, out);
    }
    return raw_->Collect(path, out);
  }

  const Normalized& normalized() const { return state().normalized; }

 private:
  struct State {
    Normalized normalized;
    std::shared_ptr<const FieldResolver> fields;  // answers `ocsf.*`; null without a class
  };

  static bool IsOcsf(const FieldPath& path) { return !path.parts().empty() && path.parts()[0] == kOcsfPrefix; }

  // Built on first use only, so that an event no `ocsf.` path asks about
  // costs one small allocation and nothing more.
  const State& state() const {
    std::call_once(once_, [this] {
      auto st = std::make_unique<State>();
      auto n = Normalize(EventContext{source_type_, time_ns_}, *raw_);
      if (n.ok()) {
        st->normalized = std::move(*n);
        if (!st->normalized.json.empty()) {
          auto fields = ParseJsonFields("{\"ocsf\":" + st->normalized.json + "}");
          if (fields.ok()) st->fields = std::move(*fields);
        }
      }
      state_ = std::move(st);
    });
    return *state_;
  }

  std::string source_type_;
  int64_t time_ns_;
  std::shared_ptr<const FieldResolver> raw_;
  mutable std::once_flag once_;
  mutable std::unique_ptr<const State> state_;
};

}  // namespace

std::shared_ptr<const FieldResolver> WithOcsf(const EventContext& ctx, std::shared_ptr<const FieldResolver> raw) {
  return std::make_shared<const OcsfFields>(ctx, std::move(raw));
}

void AttachOcsf(Event* e) {
  // typeid, not dynamic_cast: this runs once per ingested event.
  if (e->fields == nullptr || typeid(*e->fields) == typeid(OcsfFields)) return;
  e->fields = WithOcsf(EventContext{e->source_type, e->time_ns}, std::move(e->fields));
}

const Normalized* NormalizedOf(const FieldResolver& fields) {
  const auto* o = dynamic_cast<const OcsfFields*>(&fields);
  return o == nullptr ? nullptr : &o->normalized();
}

}  // namespace vigil::ocsf
