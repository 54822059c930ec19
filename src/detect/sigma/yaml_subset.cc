#include "detect/sigma/internal/yaml_subset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::sigma_internal {

namespace {

struct Line {
  int indent = 0;         // leading spaces
  std::string_view text;  // after them
  bool blank = false;     // empty, spaces only, or a comment
};

bool IsNullText(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

YAML::Node Scalar(std::string text, bool plain) {
  if (plain && IsNullText(text)) return YAML::Node(YAML::NodeType::Null);
  YAML::Node n(std::move(text));
  n.SetTag(plain ? "?" : "!");
  return n;
}

// Appends code point `cp` as UTF-8.
void PutUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// After a value: nothing, or a comment.
bool OnlyComment(std::string_view rest) {
  size_t i = rest.find_first_not_of(' ');
  if (i == std::string_view::npos) return true;
  return rest[i] == '#' && i > 0;
}

class Reader {
 public:
  explicit Reader(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t eol = text.find('\n', pos);
      if (eol == std::string_view::npos) eol = text.size();
      std::string_view raw = text.substr(pos, eol - pos);
      pos = eol + 1;
      Line line;
      size_t i = raw.find_first_not_of(' ');
      line.indent = static_cast<int>(i == std::string_view::npos ? raw.size() : i);
      line.text = i == std::string_view::npos ? std::string_view() : raw.substr(i);
      line.blank = line.text.empty() || line.text[0] == '#';
      if (!line.blank && line.text[0] == '\t') ok_ = false;  // a tab in the indentation
      lines_.push_back(line);
      raw_.push_back(raw);
    }
  }

  std::optional<YAML::Node> Document() {
    if (!ok_) return std::nullopt;
    SkipBlank();
    if (pos_ < lines_.size() && lines_[pos_].indent == 0 && lines_[pos_].text.substr(0, 3) == "---") {
      if (!OnlyComment(lines_[pos_].text.substr(3)) && lines_[pos_].text.size() > 3) return std::nullopt;
      ++pos_;
      SkipBlank();
    }
    if (pos_ >= lines_.size() || lines_[pos_].indent != 0 || IsDash(lines_[pos_].text)) return std::nullopt;
    YAML::Node root = Mapping(0);
    SkipBlank();
    if (!ok_ || pos_ != lines_.size()) return std::nullopt;
    return root;
  }

 private:
  static bool IsDash(std::string_view t) { return t == "-" || t.substr(0, 2) == "- "; }

  void SkipBlank() {
    while (pos_ < lines_.size() && lines_[pos_].blank) ++pos_;
  }

  YAML::Node Fail() {
    ok_ = false;
    return YAML::Node();
  }

  // The value of a key or a `-` at indentation `indent` whose rest of line
  // is `rest` (trimmed at the front).
  YAML::Node Value(std::string_view rest, int indent, bool in_sequence) {
    if (rest.empty() || rest[0] == '#') {
      ++pos_;
      SkipBlank();
      if (pos_ < lines_.size()) {
        const Line& next = lines_[pos_];
        if (next.indent > indent) return Block(next.indent);
        // A sequence may sit at its key's indentation.
        if (!in_sequence && next.indent == indent && IsDash(next.text)) return Sequence(indent);
      }
      return YAML::Node(YAML::NodeType::Null);
    }
    if (rest[0] == '|' || rest[0] == '>') return BlockScalar(rest, indent);
    YAML::Node n = Inline(rest);
    ++pos_;
    SkipBlank();
    // A more-indented line would continue a plain scalar (or be an error).
    if (pos_ < lines_.size() && lines_[pos_].indent > indent) return Fail();
    return n;
  }

  // A mapping or sequence whose first line is the current one, at `indent`.
  YAML::Node Block(int indent) {
    if (IsDash(lines_[pos_].text)) return Sequence(indent);
    return Mapping(indent);
  }

  YAML::Node Mapping(int indent) {
    YAML::Node map(YAML::NodeType::Map);
    map.SetTag("?");
    std::vector<std::string> keys;
    while (ok_) {
      SkipBlank();
      if (pos_ >= lines_.size() || lines_[pos_].indent < indent) break;
      const Line& line = lines_[pos_];
      if (line.indent > indent || IsDash(line.text)) return Fail();
      std::string_view t = line.text;
      std::string key;
      bool plain_key = true;
      size_t after;  // index of the ':' after the key
      if (t[0] == '"' || t[0] == '\'') {
        size_t end;
        if (!Quoted(t, &key, &end)) return Fail();
        if (end >= t.size() || t[end] != ':') return Fail();
        plain_key = false;
        after = end;
      } else {
        after = t.find(':');
        while (after != std::string_view::npos && after + 1 < t.size() && t[after + 1] != ' ') after = t.find(':', after + 1);
        if (after == std::string_view::npos) return Fail();
        key = std::string(t.substr(0, after));
        while (!key.empty() && key.back() == ' ') key.pop_back();
        if (IsNullText(key) || !PlainStart(key) || key.find(" #") != std::string::npos) return Fail();
      }
      for (const std::string& k : keys)
        if (k == key) return Fail();  // duplicate keys: yaml-cpp decides
      keys.push_back(key);
      std::string_view rest = t.substr(after + 1);
      size_t i = rest.find_first_not_of(' ');
      rest = i == std::string_view::npos ? std::string_view() : rest.substr(i);
      YAML::Node value = Value(rest, indent, /*in_sequence=*/false);
      if (!ok_) break;
      map.force_insert(Scalar(std::move(key), plain_key), value);
    }
    return map;
  }

  YAML::Node Sequence(int indent) {
    YAML::Node seq(YAML::NodeType::Sequence);
    seq.SetTag("?");
    while (ok_) {
      SkipBlank();
      if (pos_ >= lines_.size() || lines_[pos_].indent < indent) break;
      Line& line = lines_[pos_];
      if (line.indent > indent || !IsDash(line.text)) {
        if (line.indent > indent) return Fail();
        break;  // the next key of a mapping at this indentation
      }
      std::string_view rest = line.text.substr(1);
      size_t i = rest.find_first_not_of(' ');
      rest = i == std::string_view::npos ? std::string_view() : rest.substr(i);
      if (!rest.empty() && rest[0] != '#' && (IsDash(rest) || StartsMapping(rest))) {
        // `- key: value` or `- - x`: the item's block starts on this line,
        // at the column after the dash.
        line.indent += 1 + static_cast<int>(i);
        line.text = rest;
        seq.push_back(Block(line.indent));
      } else {
        seq.push_back(Value(rest, indent, /*in_sequence=*/true));
      }
    }
    return seq;
  }

  // Whether a plain scalar may start this way in block context.
  static bool PlainStart(std::string_view s) {
    if (s.empty()) return false;
    switch (s[0]) {
      case '[': case ']': case '{': case '}': case ',': case '#': case '&': case '*': case '!': case '|':
      case '>': case '\'': case '"': case '%': case '@': case '`':
        return false;
      case '-': case '?': case ':':
        return s.size() > 1 && s[1] != ' ';
      default:
        return true;
    }
  }

  // `key: ...` or `key:` with a plain key.
  static bool StartsMapping(std::string_view s) {
    if (!PlainStart(s)) return false;
    size_t c = s.find(':');
    while (c != std::string_view::npos) {
      if (c + 1 == s.size() || s[c + 1] == ' ') return s.substr(0, c).find(" #") == std::string_view::npos;
      c = s.find(':', c + 1);
    }
    return false;
  }

  // A quoted scalar at the start of `s`: its text, and the index after the
  // closing quote. False when it does not close on this line or uses an
  // escape outside the common ones.
  static bool Quoted(std::string_view s, std::string* out, size_t* end) {
    const char q = s[0];
    out->clear();
    for (size_t i = 1; i < s.size(); ++i) {
      const char c = s[i];
      if (q == '\'') {
        if (c != '\'') {
          out->push_back(c);
          continue;
        }
        if (i + 1 < s.size() && s[i + 1] == '\'') {
          out->push_back('\'');
          ++i;
          continue;
        }
        *end = i + 1;
        return true;
      }
      if (c == '"') {
        *end = i + 1;
        return true;
      }
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (++i >= s.size()) return false;
      switch (s[i]) {
        case '\\': out->push_back('\\'); break;
        case '"': out->push_back('"'); break;
        case '/': out->push_back('/'); break;
        case 'n': out->push_back('\n'); break;
        case 't': out->push_back('\t'); break;
        case 'r': out->push_back('\r'); break;
        case '0': out->push_back('\0'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'x':
        case 'u': {
          const size_t n = s[i] == 'x' ? 2 : 4;
          if (i + n >= s.size()) return false;
          uint32_t cp = 0;
          for (size_t k = 1; k <= n; ++k) {
            const int h = HexValue(s[i + k]);
            if (h < 0) return false;
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          if (cp >= 0xD800 && cp < 0xE000) return false;  // surrogates: leave to yaml-cpp
          PutUtf8(cp, out);
          i += n;
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  // A scalar or one-line flow collection on the rest of a line.
  YAML::Node Inline(std::string_view s) {
    if (s[0] == '"' || s[0] == '\'') {
      std::string text;
      size_t end;
      if (!Quoted(s, &text, &end) || !OnlyComment(s.substr(end))) return Fail();
      return Scalar(std::move(text), false);
    }
    if (s[0] == '[' || s[0] == '{') return Flow(s);
    if (!PlainStart(s)) return Fail();
    size_t comment = s.find(" #");
    std::string_view v = s.substr(0, comment);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (v.find(": ") != std::string_view::npos || v.back() == ':' || v.find('\t') != std::string_view::npos)
      return Fail();
    return Scalar(std::string(v), true);
  }

  // `[a, 'b']` or `{k: v, k2: v2}` of scalars, closing on this line.
  YAML::Node Flow(std::string_view s) {
    const bool is_map = s[0] == '{';
    const char close = is_map ? '}' : ']';
    YAML::Node node(is_map ? YAML::NodeType::Map : YAML::NodeType::Sequence);
    node.SetTag("?");
    std::vector<std::string> keys;
    size_t i = 1;
    auto skip = [&] {
      while (i < s.size() && s[i] == ' ') ++i;
    };
    // One scalar item, up to `,`, `close` or (for keys) `:`.
    auto item = [&](bool key, std::string* text, bool* plain) {
      skip();
      if (i >= s.size()) return false;
      if (s[i] == '"' || s[i] == '\'') {
        size_t end;
        if (!Quoted(s.substr(i), text, &end)) return false;
        i += end;
        *plain = false;
        skip();
        return true;
      }
      const size_t start = i;
      while (i < s.size() && s[i] != ',' && s[i] != close && !(key && s[i] == ':')) {
        const char c = s[i];
        if (c == '[' || c == ']' || c == '{' || c == '}' || c == '#' || c == '&' || c == '*' || c == '!' ||
            c == '|' || c == '>' || c == '"' || c == '\'' || c == '%' || c == '@' || c == '`' || c == '?' ||
            c == '\t' || (c == ':' && (i + 1 >= s.size() || s[i + 1] == ' ' || s[i + 1] == ',')))
          return false;
        if (c == '-' && i == start && (i + 1 >= s.size() || s[i + 1] == ' ')) return false;
        ++i;
      }
      std::string_view v = s.substr(start, i - start);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      if (v.empty()) return false;
      *text = std::string(v);
      *plain = true;
      return true;
    };
    skip();
    if (i < s.size() && s[i] == close) {
      ++i;
    } else {
      while (true) {
        std::string text;
        bool plain;
        if (!item(is_map, &text, &plain)) return Fail();
        if (is_map) {
          if (i >= s.size() || s[i] != ':' || !plain || IsNullText(text)) return Fail();
          for (const std::string& k : keys)
            if (k == text) return Fail();
          keys.push_back(text);
          ++i;
          std::string value;
          bool value_plain;
          if (!item(false, &value, &value_plain)) return Fail();
          node.force_insert(Scalar(std::move(text), true), Scalar(std::move(value), value_plain));
        } else {
          node.push_back(Scalar(std::move(text), plain));
        }
        if (i >= s.size()) return Fail();
        if (s[i] == close) {
          ++i;
          break;
        }
        if (s[i] != ',') return Fail();
        ++i;
      }
    }
    if (!OnlyComment(s.substr(i))) return Fail();
    return node;
  }

  // `|` or `>` (with `-` or `+`) and the lines after it indented more than
  // `parent`.
  YAML::Node BlockScalar(std::string_view header, int parent) {
    const bool folded = header[0] == '>';
    char chomp = ' ';
    size_t h = 1;
    if (h < header.size() && (header[h] == '-' || header[h] == '+')) chomp = header[h++];
    if (!OnlyComment(header.substr(h)) && h < header.size()) return Fail();
    const size_t first = pos_ + 1;
    // The content's indentation: that of its first non-empty line.
    size_t k = first;
    while (k < lines_.size() && lines_[k].text.empty()) ++k;
    if (k >= lines_.size() || lines_[k].indent <= parent) return Fail();  // empty: leave to yaml-cpp
    const int content = lines_[k].indent;
    std::vector<std::string_view> body;
    for (k = first; k < lines_.size(); ++k) {
      const Line& l = lines_[k];
      if (l.text.empty()) {
        if (l.indent > content) return Fail();  // spaces beyond the indentation are content
        body.emplace_back();
        continue;
      }
      if (l.indent < content) break;
      std::string_view raw = raw_[k].substr(static_cast<size_t>(content));
      if (folded && (raw[0] == ' ' || raw[0] == '\t')) return Fail();  // more-indented lines keep breaks
      body.push_back(raw);
    }
    // Trailing empty lines are not content; the scan ends at the next
    // structure line (or the end).
    size_t trailing = 0;
    while (!body.empty() && body.back().empty()) {
      body.pop_back();
      ++trailing;
    }
    pos_ = k;
    std::string text;
    size_t empties = 0;
    for (size_t b = 0; b < body.size(); ++b) {
      if (body[b].empty()) {
        ++empties;
        continue;
      }
      if (b > 0) {
        if (!folded) {
          text.append(empties + 1, '\n');
        } else if (empties > 0) {
          text.append(empties, '\n');
        } else {
          text.push_back(' ');
        }
      }
      empties = 0;
      text.append(body[b]);
    }
    if (chomp != '-') text.push_back('\n');
    if (chomp == '+') text.append(trailing, '\n');
    SkipBlank();
    if (pos_ < lines_.size() && lines_[pos_].indent > parent) return Fail();
    return Scalar(std::move(text), false);
  }

  std::vector<Line> lines_;
  std::vector<std::string_view> raw_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

std::optional<YAML::Node> LoadYamlSubset(std::string_view text) {
  // Byte-order marks, carriage returns, tabs and NULs: yaml-cpp's rules.
  if (text.substr(0, 3) == "\xEF\xBB\xBF" || text.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos)
    return std::nullopt;
  Reader reader(text);
  return reader.Document();
}

bool SameYamlTree(const YAML::Node& a, const YAML::Node& b, std::string* where) {
  if (a.Type() != b.Type() || a.Tag() != b.Tag()) {
    *where = "kind or tag differs at `" + (a.IsScalar() ? a.Scalar() : std::string()) + "` (tags `" + a.Tag() +
             "`, `" + b.Tag() + "`)";
    return false;
  }
  if (a.IsScalar() && a.Scalar() != b.Scalar()) {
    *where = "`" + a.Scalar() + "` vs `" + b.Scalar() + "`";
    return false;
  }
  if (a.IsSequence() || a.IsMap()) {
    if (a.size() != b.size()) {
      *where = "sizes differ";
      return false;
    }
    auto i = a.begin();
    auto j = b.begin();
    for (; i != a.end(); ++i, ++j) {
      const bool same = a.IsMap() ? SameYamlTree(i->first, j->first, where) && SameYamlTree(i->second, j->second, where)
                                  : SameYamlTree(*i, *j, where);
      if (!same) return false;
    }
  }
  return true;
}

}  // namespace vigil::sigma_internal
