#include "detect/sigma/internal/yaml_subset.h"

#include <cstdint>
#include <string>
#include <vector>

#include "common/json_escape.h"

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

// After a value: nothing, or a comment.
bool OnlyComment(std::string_view rest) {
  size_t i = rest.find_first_not_of(' ');
  if (i == std::string_view::npos) return true;
  return rest[i] == '#' && i > 0;
}

class Reader {
 public:
  explicit Reader(std::string_view text) : final_newline_(!text.empty() && text.back() == '\n') {
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
      // Tabs separate like spaces in places this reader does not look.
      if (line.indent > indent || IsDash(line.text) || line.text.find('\t') != std::string_view::npos) return Fail();
      std::string_view t = line.text;
      std::string key;
      bool plain_key = true;
      size_t after;  // index of the ':' after the key
      if (t[0] == '"' || t[0] == '\'') {
        size_t end;
        if (!Quoted(t, &key, &end)) return Fail();
        if (end >= t.size() || t[end] != ':' || (end + 1 < t.size() && t[end + 1] != ' ')) return Fail();
        plain_key = false;
        after = end;
      } else {
        after = t.find(':');
        while (after != std::string_view::npos && after + 1 < t.size() && t[after + 1] != ' ') after = t.find(':', after + 1);
        if (after == std::string_view::npos) return Fail();
        key = std::string(t.substr(0, after));
        while (!key.empty() && key.back() == ' ') key.pop_back();
        if (IsNullText(key) || !KeyText(key)) return Fail();
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
      if (line.text.find('\t') != std::string_view::npos) return Fail();
      if (line.indent > indent || !IsDash(line.text)) {
        if (line.indent > indent) return Fail();
        break;  // the next key of a mapping at this indentation
      }
      std::string_view rest = line.text.substr(1);
      size_t i = rest.find_first_not_of(' ');
      rest = i == std::string_view::npos ? std::string_view() : rest.substr(i);
      if (IsDash(rest)) return Fail();  // `- - x`: left to yaml-cpp
      if (!rest.empty() && rest[0] != '#' && StartsMapping(rest)) {
        // `- key: value`: the item's mapping starts on this line, at the
        // column after the dash.
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

  // A plain key as rules write them: field names, modifiers, words; any
  // other key is left to yaml-cpp.
  static bool KeyText(std::string_view k) {
    if (k.empty()) return false;
    const char f = k.front();
    if (!((f >= 'a' && f <= 'z') || (f >= 'A' && f <= 'Z') || (f >= '0' && f <= '9') || f == '_' || f == '$'))
      return false;
    for (char c : k) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == '|' || c == '-' || c == '/' || c == '@' || c == '$' || c == ' ';
      if (!ok) return false;
    }
    return true;
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
            const int h = json_internal::HexValue(s[i + k]);
            if (h < 0) return false;
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          if (cp >= 0xD800 && cp < 0xE000) return false;  // surrogates: leave to yaml-cpp
          json_internal::AppendUtf8(out, cp);
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
      while (i < s.size() && s[i] != ',' && s[i] != close && !(key && s[i] == ':' && i + 1 < s.size() && s[i + 1] == ' ')) {
        const char c = s[i];
        // Indicators, and any other colon (flow plain scalars may hold
        // one; yaml-cpp's reading of them is its own).
        if (c == '[' || c == ']' || c == '{' || c == '}' || c == '#' || c == '&' || c == '*' || c == '!' ||
            c == '|' || c == '>' || c == '"' || c == '\'' || c == '%' || c == '@' || c == '`' || c == '?' ||
            c == '\t' || c == ':')
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
          if (i >= s.size() || s[i] != ':' || !plain || IsNullText(text) || !KeyText(text)) return Fail();
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
    // Leading empty lines (and an empty scalar) are left to yaml-cpp.
    if (k >= lines_.size() || lines_[k].text.empty() || lines_[k].indent <= parent) return Fail();
    const int content = lines_[k].indent;
    std::vector<std::string_view> body;
    for (k = first; k < lines_.size(); ++k) {
      const Line& l = lines_[k];
      if (l.text.empty()) {
        if (l.indent > 0 && l.indent != content) return Fail();  // spaces on an empty line: left to yaml-cpp
        body.emplace_back();
        continue;
      }
      if (l.indent < content) break;
      std::string_view raw = raw_[k].substr(static_cast<size_t>(content));
      if (folded && (raw[0] == ' ' || raw[0] == '\t')) return Fail();  // more-indented lines keep breaks
      body.push_back(raw);
    }
    // A block scalar ending the text without a line break: left to yaml-cpp.
    if (k == lines_.size() && !final_newline_) return Fail();
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

  const bool final_newline_;
  std::vector<Line> lines_;
  std::vector<std::string_view> raw_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Control characters other than line feed and tab, DEL, and what YAML 1.1
// reads as line breaks or a byte-order mark (NEL, U+2028, U+2029, U+FEFF):
// yaml-cpp's rules for them are its own.
// And text that is not UTF-8.
bool HasSpecialCharacters(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t n = (c & 0xE0) == 0xC0 && c >= 0xC2 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 && c <= 0xF4 ? 4 : 0;
      if (n == 0 || i + n > text.size()) return true;
      for (size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return true;
    }
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x85) return true;
    if (c == 0xE2 && text.substr(i, 3) >= "\xE2\x80\xA8" && text.substr(i, 3) <= "\xE2\x80\xA9") return true;
    if (c == 0xEF && text.substr(i, 3) == "\xEF\xBB\xBF") return true;
  }
  return false;
}

}  // namespace

std::optional<YAML::Node> LoadYamlSubset(std::string_view text) {
  if (HasSpecialCharacters(text)) return std::nullopt;
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
