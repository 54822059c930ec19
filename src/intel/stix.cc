// STIX 2.1 bundles: the indicator objects whose pattern says "this value".
//
// A pattern is read fully (a pattern that does not parse is an error), then
// used when it is a disjunction of comparisons: each `=`, `IN` or `ISSUBSET`
// comparison on ipv4-addr:value, ipv6-addr:value, domain-name:value or
// network-traffic:{src,dst}_ref.value gives one indicator
//
//   [ipv4-addr:value = '203.0.113.7' OR ipv4-addr:value ISSUBSET '198.51.100.0/24']
//   [domain-name:value = 'evil.example'] OR [ipv6-addr:value = '2001:db8::1']
//
// A pattern that needs more than one thing at once (AND, FOLLOWEDBY, NOT,
// !=, qualifiers such as REPEATS or WITHIN) cannot be decided on one value and
// is skipped, as are comparisons on other objects (file hashes, URLs).
#include <simdjson.h>

#include <cctype>

#include "common/time.h"
#include "intel/feed.h"
#include "intel/internal/feed_util.h"

namespace vigil::intel {
namespace {

struct Comparison {
  std::string path;            // "ipv4-addr:value"
  std::string op;              // "=", "!=", "IN", "ISSUBSET", "LIKE", ...
  std::vector<std::string> values;  // string constants (other constants as written)
  bool negated = false;
};

struct Pattern {
  std::vector<Comparison> comparisons;
  bool needs_all = false;  // AND or FOLLOWEDBY somewhere
  bool qualified = false;  // WITHIN, REPEATS, START/STOP
};

// A recursive-descent reader of the STIX 2.1 patterning grammar (section 9),
// as far as it is needed to know which comparisons a pattern holds and how
// they combine.
class PatternParser {
 public:
  explicit PatternParser(std::string_view text) : s_(text) {}

  Status Parse(Pattern* out) {
    out_ = out;
    VIGIL_RETURN_IF_ERROR(ObservationExpression(0));
    Space();
    if (i_ != s_.size()) return Error("unexpected '" + std::string(s_.substr(i_, 20)) + "'");
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("pattern: " + what + " at offset " + std::to_string(i_));
  }
  void Space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  // Consumes the keyword `kw` (case-sensitive, as STIX writes them) when next.
  bool Keyword(std::string_view kw) {
    Space();
    if (s_.substr(i_, kw.size()) != kw) return false;
    size_t end = i_ + kw.size();
    if (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_')) return false;
    i_ = end;
    return true;
  }
  bool Char(char c) {
    Space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  // observation expressions joined by OR / AND / FOLLOWEDBY, with qualifiers
  Status ObservationExpression(int depth) {
    if (depth > 32) return Error("nested too deeply");
    while (true) {
      VIGIL_RETURN_IF_ERROR(Observation(depth));
      VIGIL_RETURN_IF_ERROR(Qualifiers());
      if (Keyword("OR")) continue;
      if (Keyword("AND") || Keyword("FOLLOWEDBY")) {
        out_->needs_all = true;
        continue;
      }
      return Status::Ok();
    }
  }

  Status Qualifiers() {
    while (true) {
      if (Keyword("WITHIN")) {
        out_->qualified = true;
        VIGIL_RETURN_IF_ERROR(Number());
        if (!Keyword("SECONDS")) return Error("expected SECONDS after WITHIN n");
      } else if (Keyword("REPEATS")) {
        out_->qualified = true;
        VIGIL_RETURN_IF_ERROR(Number());
        if (!Keyword("TIMES")) return Error("expected TIMES after REPEATS n");
      } else if (Keyword("START")) {
        out_->qualified = true;
        std::string t;
        VIGIL_RETURN_IF_ERROR(Constant(&t));
        if (!Keyword("STOP")) return Error("expected STOP after START t'...'");
        VIGIL_RETURN_IF_ERROR(Constant(&t));
      } else {
        return Status::Ok();
      }
    }
  }

  Status Number() {
    Space();
    size_t start = i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.')) ++i_;
    if (i_ == start) return Error("expected a number");
    return Status::Ok();
  }

  Status Observation(int depth) {
    if (Char('(')) {
      VIGIL_RETURN_IF_ERROR(ObservationExpression(depth + 1));
      if (!Char(')')) return Error("expected ')'");
      return Status::Ok();
    }
    if (!Char('[')) return Error("expected '[' or '('");
    VIGIL_RETURN_IF_ERROR(ComparisonExpression(depth + 1));
    if (!Char(']')) return Error("expected ']'");
    return Status::Ok();
  }

  // comparisons joined by OR / AND inside [ ]
  Status ComparisonExpression(int depth) {
    if (depth > 32) return Error("nested too deeply");
    while (true) {
      if (Char('(')) {
        VIGIL_RETURN_IF_ERROR(ComparisonExpression(depth + 1));
        if (!Char(')')) return Error("expected ')'");
      } else {
        VIGIL_RETURN_IF_ERROR(ComparisonTerm());
      }
      if (Keyword("OR")) continue;
      if (Keyword("AND")) {
        out_->needs_all = true;
        continue;
      }
      return Status::Ok();
    }
  }

  Status ComparisonTerm() {
    Comparison c;
    Space();
    // object-type:property.path ; property names may be quoted ('SHA-256') or indexed ([*], [0])
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ' ' && s_[i_] != '\t' && s_[i_] != '\n' && s_[i_] != '=' && s_[i_] != '!' &&
           s_[i_] != '<' && s_[i_] != '>' && s_[i_] != ']' && s_[i_] != ')') {
      if (s_[i_] == '\'') {
        size_t close = s_.find('\'', i_ + 1);
        if (close == std::string_view::npos) return Error("unterminated quoted property name");
        i_ = close + 1;
        continue;
      }
      ++i_;
    }
    c.path = std::string(s_.substr(start, i_ - start));
    if (c.path.find(':') == std::string::npos || c.path.front() == ':')
      return Error("expected an object path such as ipv4-addr:value, got '" + c.path + "'");
    if (Keyword("NOT")) c.negated = true;
    Space();
    static constexpr std::string_view kOps[] = {"!=", "<=", ">=", "=", "<", ">"};
    for (std::string_view op : kOps)
      if (s_.substr(i_, op.size()) == op) {
        c.op = std::string(op);
        i_ += op.size();
        break;
      }
    if (c.op.empty()) {
      for (std::string_view kw : {"IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS"})
        if (Keyword(kw)) {
          c.op = std::string(kw);
          break;
        }
    }
    if (c.op.empty()) return Error("expected a comparison operator after " + c.path);
    if (c.op == "IN") {
      if (!Char('(')) return Error("expected '(' after IN");
      do {
        std::string v;
        VIGIL_RETURN_IF_ERROR(Constant(&v));
        c.values.push_back(std::move(v));
      } while (Char(','));
      if (!Char(')')) return Error("expected ')' closing IN (...)");
    } else if (c.op != "EXISTS") {
      std::string v;
      VIGIL_RETURN_IF_ERROR(Constant(&v));
      c.values.push_back(std::move(v));
    }
    out_->comparisons.push_back(std::move(c));
    return Status::Ok();
  }

  // 'string' (with \' and \\), t'...', h'...', b'...', numbers, true/false
  Status Constant(std::string* out) {
    Space();
    if (i_ < s_.size() && (s_[i_] == 't' || s_[i_] == 'h' || s_[i_] == 'b') && i_ + 1 < s_.size() &&
        s_[i_ + 1] == '\'')
      ++i_;
    if (i_ < s_.size() && s_[i_] == '\'') {
      ++i_;
      while (true) {
        if (i_ >= s_.size()) return Error("unterminated string");
        char ch = s_[i_++];
        if (ch == '\\') {
          if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '\\')) return Error("bad escape in string");
          out->push_back(s_[i_++]);
        } else if (ch == '\'') {
          return Status::Ok();
        } else {
          out->push_back(ch);
        }
      }
    }
    if (Keyword("true") || Keyword("false")) return Status::Ok();
    size_t start = i_;
    if (i_ < s_.size() && (s_[i_] == '-' || s_[i_] == '+')) ++i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.')) ++i_;
    if (i_ == start) return Error("expected a constant");
    *out = std::string(s_.substr(start, i_ - start));
    return Status::Ok();
  }

  std::string_view s_;
  size_t i_ = 0;
  Pattern* out_ = nullptr;
};

enum class PathKind { kIp, kDomain, kOther };

PathKind KindOf(std::string_view path) {
  if (path == "ipv4-addr:value" || path == "ipv6-addr:value" || path == "network-traffic:dst_ref.value" ||
      path == "network-traffic:src_ref.value")
    return PathKind::kIp;
  if (path == "domain-name:value") return PathKind::kDomain;
  return PathKind::kOther;
}

std::string_view Str(simdjson::dom::element obj, const char* key) {
  std::string_view v;
  if (obj[key].get_string().get(v) != simdjson::SUCCESS) return {};
  return v;
}

}  // namespace

Result<ParsedFeed> ParseStixBundle(std::string_view text, const FeedConfig& config) {
  ParsedFeed feed;
  feed.format = FeedFormat::kStix;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root))
    return Status::InvalidArgument(config.path + ": not valid JSON (" + simdjson::error_message(err) + ")");
  simdjson::dom::array objects;
  if (root.is_array()) {
    objects = root.get_array().value_unsafe();
  } else if (Str(root, "type") == "bundle") {
    if (root["objects"].get_array().get(objects) != simdjson::SUCCESS) {
      if (root["objects"].error() == simdjson::NO_SUCH_FIELD) return feed;  // an empty bundle
      return Status::InvalidArgument(config.path + ": the bundle's \"objects\" is not an array");
    }
  } else {
    return Status::InvalidArgument(config.path + ": not a STIX bundle (expected {\"type\": \"bundle\", ...})");
  }
  internal::LineCounter lines(text);
  size_t index = 0;
  for (simdjson::dom::element obj : objects) {
    ++index;
    if (!obj.is_object())
      return Status::InvalidArgument(config.path + ": objects[" + std::to_string(index - 1) + "] is not an object");
    if (Str(obj, "type") != "indicator") continue;
    std::string_view id = Str(obj, "id");
    const uint32_t line = lines.LineOf(id);
    auto fail = [&](const std::string& what) {
      std::string where = config.path + (line ? ":" + std::to_string(line) : "") + ": " +
                          (id.empty() ? "objects[" + std::to_string(index - 1) + "]" : std::string(id));
      return Status::InvalidArgument(where + ": " + what);
    };
    bool revoked = false;
    if (obj["revoked"].get_bool().get(revoked) == simdjson::SUCCESS && revoked) {
      feed.Skip("revoked indicator");
      continue;
    }
    std::string_view pattern_type = Str(obj, "pattern_type");
    if (!pattern_type.empty() && pattern_type != "stix") {
      feed.Skip("pattern_type " + std::string(pattern_type));
      continue;
    }
    std::string_view pattern_text = Str(obj, "pattern");
    if (pattern_text.empty()) return fail("no \"pattern\"");
    Pattern pattern;
    Status ps = PatternParser(pattern_text).Parse(&pattern);
    if (!ps.ok()) return fail(ps.message());
    if (pattern.needs_all || pattern.qualified) {
      feed.Skip(pattern.needs_all ? "pattern needs AND or FOLLOWEDBY" : "pattern has a qualifier");
      continue;
    }
    FeedEntry base;
    base.line = line;
    base.ref = std::string(id);
    base.description = std::string(Str(obj, "description"));
    std::string_view name = Str(obj, "name");
    if (base.description.empty()) base.description = std::string(name);
    std::string words(name);
    for (const char* key : {"indicator_types", "labels"}) {
      simdjson::dom::array arr;
      if (obj[key].get_array().get(arr) != simdjson::SUCCESS) continue;
      for (simdjson::dom::element l : arr) {
        std::string_view s;
        if (l.get_string().get(s) == simdjson::SUCCESS) {
          base.labels.emplace_back(s);
          words += " " + std::string(s);
        }
      }
    }
    simdjson::dom::array phases;
    if (obj["kill_chain_phases"].get_array().get(phases) == simdjson::SUCCESS)
      for (simdjson::dom::element p : phases) words += " " + std::string(Str(p, "phase_name"));
    base.category = CategoryFromText(words);
    int64_t confidence = -1;
    if (auto c = obj["confidence"]; c.error() != simdjson::NO_SUCH_FIELD) {
      if (c.get_int64().get(confidence) != simdjson::SUCCESS || confidence < 0 || confidence > 100)
        return fail("\"confidence\" must be a whole number from 0 to 100");
    }
    base.confidence = static_cast<int>(confidence);
    std::string_view from = Str(obj, "valid_from"), until = Str(obj, "valid_until");
    if (!from.empty()) {
      auto t = ParseTimestamp(from);
      if (!t) return fail("\"valid_from\" is not a timestamp: '" + std::string(from) + "'");
      base.valid_from_ns = *t;
    }
    if (!until.empty()) {
      auto t = ParseTimestamp(until);
      if (!t) return fail("\"valid_until\" is not a timestamp: '" + std::string(until) + "'");
      base.valid_until_ns = *t;
      if (base.valid_from_ns && base.valid_until_ns <= base.valid_from_ns)
        return fail("\"valid_until\" is not after \"valid_from\"");
    }
    // An indicator none of whose comparisons is usable is skipped, counted
    // under the first reason.
    size_t before = feed.entries.size();
    std::string skip_reason;
    for (const Comparison& c : pattern.comparisons) {
      PathKind kind = KindOf(c.path);
      if (kind == PathKind::kOther) {
        if (skip_reason.empty()) skip_reason = "pattern on " + c.path.substr(0, c.path.find(':'));
        continue;
      }
      if (c.negated || (c.op != "=" && c.op != "IN" && c.op != "ISSUBSET")) {
        if (skip_reason.empty()) skip_reason = "pattern with operator " + std::string(c.negated ? "NOT " : "") + c.op;
        continue;
      }
      for (const std::string& v : c.values) {
        auto value = kind == PathKind::kIp ? ParseIpOrCidr(v) : ParseDomain(v);
        if (!value) return fail(c.path + " '" + v + "' is not " + (kind == PathKind::kIp ? "an IP address or CIDR range" : "a domain name"));
        if (c.path.starts_with("ipv4") && value->kind != IndicatorKind::kIpv4)
          return fail("ipv4-addr:value '" + v + "' is not an IPv4 address");
        if (c.path.starts_with("ipv6") && value->kind != IndicatorKind::kIpv6)
          return fail("ipv6-addr:value '" + v + "' is not an IPv6 address");
        FeedEntry e = base;
        e.value = std::move(*value);
        feed.entries.push_back(std::move(e));
      }
    }
    if (feed.entries.size() == before) feed.Skip(skip_reason.empty() ? "pattern without values" : skip_reason);
  }
  return feed;
}

}  // namespace vigil::intel
