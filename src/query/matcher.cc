#include "query/matcher.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/glob.h"
#include "common/ip.h"
#include "query/internal/bound.h"

namespace vigil {

using query_internal::Bound;
using query_internal::ParseBound;
using query_internal::ParseNumber;

namespace {

enum class MetaField { kNone, kSource, kId, kPrincipal, kAccount, kTime };

MetaField MetaFieldOf(const FieldPath& path) {
  if (path.parts().size() != 1) return MetaField::kNone;
  const std::string& name = path.parts().front();
  if (name == "source") return MetaField::kSource;
  if (name == "id") return MetaField::kId;
  if (name == "principal") return MetaField::kPrincipal;
  if (name == "account") return MetaField::kAccount;
  if (name == "time") return MetaField::kTime;
  return MetaField::kNone;
}

const std::optional<std::string_view>* MetaString(const MetadataFields* meta, MetaField f) {
  if (meta == nullptr) return nullptr;
  switch (f) {
    case MetaField::kSource:
      return &meta->source;
    case MetaField::kId:
      return &meta->id;
    case MetaField::kPrincipal:
      return &meta->principal;
    case MetaField::kAccount:
      return &meta->account;
    default:
      return nullptr;
  }
}

// Numbers compare as doubles, times as int64 nanoseconds.
template <typename T>
bool Compare(CompareOp op, T a, T b) {
  switch (op) {
    case CompareOp::kLt:
      return a < b;
    case CompareOp::kLe:
      return a <= b;
    case CompareOp::kGt:
      return a > b;
    case CompareOp::kGe:
      return a >= b;
    default:
      return false;
  }
}


}  // namespace

struct Matcher::Node {
  enum class Kind {
    kTrue,
    kAnd,
    kOr,
    kNot,
    kMatch,     // field=pattern (or any of `alternatives`)
    kNotMatch,  // field!=pattern
    kExists,    // field=*
    kCompare,   // field<bound ...
    kText,      // full text
  };
  Kind kind = Kind::kTrue;
  MetaField meta = MetaField::kNone;
  FieldPath path;
  GlobPattern pattern;
  // kMatch: further patterns OR-ed with `pattern` on the same path, merged
  // from `f=a OR f=b OR ...` so that the record is visited once.
  std::vector<GlobPattern> alternatives;
  // kMatch, kNotMatch: a value written as a network (`10.0.0.0/8`) also
  // matches every IP address inside it.
  std::optional<IpNetwork> network;
  CompareOp op = CompareOp::kEq;
  Bound bound;
  std::vector<Node> children;
  int cost = 0;  // rough relative cost, to run cheap tests first

  bool Eval(const FieldResolver& fields, const MetadataFields* meta_fields) const;

 private:
  bool TextMatches(std::string_view text) const {
    if (pattern.Matches(text)) return true;
    if (network && CidrContains(*network, text)) return true;
    for (const GlobPattern& p : alternatives)
      if (p.Matches(text)) return true;
    return false;
  }
  bool ValueMatches(const FieldValue& v) const {
    switch (v.kind) {
      case ValueKind::kObject:
      case ValueKind::kArray:
        return false;
      case ValueKind::kNull:
        return TextMatches("null");
      default:
        return TextMatches(v.text);
    }
  }
  bool TextCompares(std::string_view text) const {
    if (bound.is_time) {
      auto t = query_internal::ParseTimeInRange(text);
      return t && Compare(op, *t, bound.time_ns);
    }
    auto d = ParseNumber(text);
    return d && Compare(op, *d, bound.number);
  }
  bool ValueCompares(const FieldValue& v) const {
    if (v.kind == ValueKind::kNumber && !bound.is_time) return Compare(op, v.number, bound.number);
    if (v.kind == ValueKind::kString) return TextCompares(v.text);
    return false;
  }
};

bool Matcher::Node::Eval(const FieldResolver& fields, const MetadataFields* meta_fields) const {
  switch (kind) {
    case Kind::kTrue:
      return true;
    case Kind::kAnd:
      for (const Node& c : children)
        if (!c.Eval(fields, meta_fields)) return false;
      return true;
    case Kind::kOr:
      for (const Node& c : children)
        if (c.Eval(fields, meta_fields)) return true;
      return false;
    case Kind::kNot:
      return !children.front().Eval(fields, meta_fields);
    case Kind::kMatch: {
      if (auto* m = MetaString(meta_fields, meta); m && m->has_value()) return TextMatches(**m);
      bool hit = false;
      fields.Visit(path, [this, &hit](const FieldValue& v) {
        hit = ValueMatches(v);
        return !hit;
      });
      return hit;
    }
    case Kind::kNotMatch: {
      if (auto* m = MetaString(meta_fields, meta); m && m->has_value()) return !TextMatches(**m);
      bool hit = false;
      const bool found = fields.Visit(path, [this, &hit](const FieldValue& v) {
        hit = ValueMatches(v);
        return !hit;
      });
      return found && !hit;
    }
    case Kind::kExists: {
      if (auto* m = MetaString(meta_fields, meta); m && m->has_value()) return true;
      if (meta == MetaField::kTime && meta_fields != nullptr && meta_fields->time_ns) return true;
      return fields.Visit(path, [](const FieldValue&) { return false; });
    }
    case Kind::kCompare: {
      if (meta == MetaField::kTime && meta_fields != nullptr && meta_fields->time_ns && bound.is_time) {
        return Compare(op, *meta_fields->time_ns, bound.time_ns);
      }
      if (auto* m = MetaString(meta_fields, meta); m && m->has_value()) return TextCompares(**m);
      bool hit = false;
      fields.Visit(path, [this, &hit](const FieldValue& v) {
        hit = ValueCompares(v);
        return !hit;
      });
      return hit;
    }
    case Kind::kText: {
      bool hit = false;
      fields.VisitAllScalars([this, &hit](const FieldValue& v) {
        hit = v.kind != ValueKind::kNull && pattern.Matches(v.text);
        return !hit;
      });
      return hit;
    }
  }
  return false;
}

namespace {

using Node = Matcher::Node;

// Folds kMatch children of an OR that test the same path into the first of
// them: `eventName=Create* OR eventName=Attach*` becomes one visit, two patterns.
void MergeSamePathAlternatives(Node& n) {
  std::vector<Node> kept;
  kept.reserve(n.children.size());
  for (Node& c : n.children) {
    if (c.kind == Node::Kind::kMatch) {
      auto same = std::find_if(kept.begin(), kept.end(), [&](const Node& k) {
        return k.kind == Node::Kind::kMatch && k.meta == c.meta && k.path == c.path && !k.network && !c.network;
      });
      if (same != kept.end()) {
        same->alternatives.push_back(std::move(c.pattern));
        for (GlobPattern& p : c.alternatives) same->alternatives.push_back(std::move(p));
        continue;
      }
    }
    kept.push_back(std::move(c));
  }
  n.children = std::move(kept);
}

Result<Node> CompileNode(const SearchExpr& e) {
  Node n;
  switch (e.kind) {
    case SearchExpr::Kind::kAll:
      n.kind = Node::Kind::kTrue;
      return n;
    case SearchExpr::Kind::kAnd:
    case SearchExpr::Kind::kOr:
    case SearchExpr::Kind::kNot: {
      n.kind = e.kind == SearchExpr::Kind::kAnd  ? Node::Kind::kAnd
               : e.kind == SearchExpr::Kind::kOr ? Node::Kind::kOr
                                                 : Node::Kind::kNot;
      for (const SearchExpr& c : e.children) {
        VIGIL_ASSIGN_OR_RETURN(Node child, CompileNode(c));
        n.cost += child.cost;
        n.children.push_back(std::move(child));
      }
      if (n.children.empty()) {
        // Only a hand-built tree can get here: an empty AND is true, an empty OR false.
        if (n.kind == Node::Kind::kNot) return Status::InvalidArgument("query: NOT without an operand");
        if (n.kind == Node::Kind::kOr) {
          n.kind = Node::Kind::kNot;
          n.children.emplace_back();
        } else {
          n.kind = Node::Kind::kTrue;
        }
        return n;
      }
      if (n.kind == Node::Kind::kOr) {
        MergeSamePathAlternatives(n);
        if (n.children.size() == 1) {
          Node only = std::move(n.children.front());
          return only;
        }
      }
      // Both AND and OR short-circuit; run the cheap tests first.
      std::stable_sort(n.children.begin(), n.children.end(),
                       [](const Node& a, const Node& b) { return a.cost < b.cost; });
      return n;
    }
    case SearchExpr::Kind::kText:
      n.kind = Node::Kind::kText;
      n.pattern = GlobPattern::Compile("*" + e.value + "*");
      if (n.pattern.shape() == GlobPattern::Shape::kAny) n.kind = Node::Kind::kTrue;
      n.cost = 100;
      return n;
    case SearchExpr::Kind::kCompare:
      break;
  }
  n.path = e.field;
  n.meta = MetaFieldOf(e.field);
  n.op = e.op;
  n.cost = n.meta == MetaField::kNone ? 10 : 1;
  if (e.op == CompareOp::kEq || e.op == CompareOp::kNe) {
    // `time` is a pseudo-field for comparisons only; time=... reads the record.
    if (n.meta == MetaField::kTime) n.meta = MetaField::kNone;
    n.pattern = GlobPattern::Compile(e.value);
    if (e.network) n.network = ParseCidr(e.value);
    if (n.pattern.shape() != GlobPattern::Shape::kAny) {
      n.kind = e.op == CompareOp::kEq ? Node::Kind::kMatch : Node::Kind::kNotMatch;
      return n;
    }
    n.kind = Node::Kind::kExists;
    if (e.op == CompareOp::kEq) return n;
    Node absent;  // field!=* : the field is absent
    absent.kind = Node::Kind::kNot;
    absent.cost = n.cost;
    absent.children.push_back(std::move(n));
    return absent;
  }
  auto bound = ParseBound(e.value);
  if (!bound) {
    return Status::InvalidArgument("query: '" + std::string(CompareOpText(e.op)) +
                                   "' needs a number or an RFC 3339 time, found '" + e.value + "'");
  }
  n.kind = Node::Kind::kCompare;
  n.bound = *bound;
  return n;
}

}  // namespace

Matcher::Matcher(std::unique_ptr<Node> root) : root_(std::move(root)) {}
Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;
Matcher::~Matcher() = default;

Result<Matcher> Matcher::Compile(const SearchExpr& expr) {
  VIGIL_ASSIGN_OR_RETURN(Node root, CompileNode(expr));
  return Matcher(std::make_unique<Node>(std::move(root)));
}

bool Matcher::Matches(const FieldResolver& fields, const MetadataFields* meta) const {
  return root_->Eval(fields, meta);
}

bool Matches(const SearchExpr& expr, const FieldResolver& fields, const MetadataFields* meta) {
  auto matcher = Matcher::Compile(expr);
  return matcher.ok() && matcher->Matches(fields, meta);
}

MetadataFields MetadataOf(const Event& event) {
  MetadataFields m;
  auto set = [](std::optional<std::string_view>& out, const std::string& s) {
    if (!s.empty()) out = s;
  };
  set(m.source, event.source_type);
  set(m.id, event.id);
  set(m.principal, event.principal);
  set(m.account, event.account);
  m.time_ns = event.time_ns;
  return m;
}

}  // namespace vigil
