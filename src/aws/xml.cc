#include "aws/xml.h"

#include <cstdint>

#include "common/json_escape.h"  // UTF-8 and hex helpers shared with the JSON reader

namespace vigil::aws {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  Result<XmlElement> Document() {
    VIGIL_RETURN_IF_ERROR(SkipMisc());
    if (!Peek('<')) return Error("expected a root element");
    XmlElement root;
    VIGIL_RETURN_IF_ERROR(Element(&root, 1));
    VIGIL_RETURN_IF_ERROR(SkipMisc());
    if (pos_ != in_.size()) return Error("content after the root element");
    return root;
  }

 private:
  Status Error(std::string_view what) const {
    return Status::InvalidArgument("XML at byte " + std::to_string(pos_) + ": " + std::string(what));
  }
  bool Peek(char c) const { return pos_ < in_.size() && in_[pos_] == c; }
  bool StartsWith(std::string_view s) const { return in_.substr(pos_).starts_with(s); }
  static bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
  static bool IsNameChar(char c) {
    return !(IsSpace(c) || c == '<' || c == '>' || c == '/' || c == '=' || c == '"' || c == '\'' || c == '&');
  }
  void SkipSpace() {
    while (pos_ < in_.size() && IsSpace(in_[pos_])) ++pos_;
  }

  // Skips up to and including `end`.
  Status SkipPast(std::string_view end, std::string_view what) {
    size_t at = in_.find(end, pos_);
    if (at == std::string_view::npos) return Error("unterminated " + std::string(what));
    pos_ = at + end.size();
    return Status::Ok();
  }

  // Whitespace, comments and processing instructions outside the root.
  Status SkipMisc() {
    for (;;) {
      SkipSpace();
      if (StartsWith("<?")) {
        VIGIL_RETURN_IF_ERROR(SkipPast("?>", "processing instruction"));
      } else if (StartsWith("<!--")) {
        VIGIL_RETURN_IF_ERROR(SkipPast("-->", "comment"));
      } else if (StartsWith("<!")) {
        return Error("DOCTYPE and markup declarations are not accepted");
      } else {
        return Status::Ok();
      }
    }
  }

  Result<std::string> Name() {
    size_t start = pos_;
    while (pos_ < in_.size() && IsNameChar(in_[pos_])) ++pos_;
    if (pos_ == start) return Error("expected a name");
    return std::string(in_.substr(start, pos_ - start));
  }

  // At '&': decodes one reference into *out.
  Status Reference(std::string* out) {
    size_t semi = in_.find(';', pos_);
    if (semi == std::string_view::npos || semi - pos_ > 12) return Error("unterminated entity reference");
    std::string_view ref = in_.substr(pos_ + 1, semi - pos_ - 1);
    if (ref == "lt") {
      out->push_back('<');
    } else if (ref == "gt") {
      out->push_back('>');
    } else if (ref == "amp") {
      out->push_back('&');
    } else if (ref == "quot") {
      out->push_back('"');
    } else if (ref == "apos") {
      out->push_back('\'');
    } else if (ref.size() >= 2 && ref[0] == '#') {
      bool hex = ref[1] == 'x';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty()) return Error("empty character reference");
      uint32_t cp = 0;
      for (char c : digits) {
        int d = json_internal::HexValue(c);
        if (d < 0 || d >= (hex ? 16 : 10)) return Error("bad character reference &" + std::string(ref) + ";");
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
        if (cp > 0x10FFFF) return Error("character reference out of range");
      }
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return Error("character reference out of range");
      json_internal::AppendUtf8(out, cp);
    } else {
      return Error("unknown entity &" + std::string(ref) + ";");
    }
    pos_ = semi + 1;
    return Status::Ok();
  }

  // At '<' of a start tag.
  Status Element(XmlElement* e, int depth) {
    if (depth > kMaxXmlDepth) return Error("elements nested too deeply");
    ++pos_;
    VIGIL_ASSIGN_OR_RETURN(e->name, Name());
    // Attributes: skipped, quoted values honoured.
    for (;;) {
      SkipSpace();
      if (pos_ >= in_.size()) return Error("unterminated start tag <" + e->name + ">");
      char c = in_[pos_];
      if (c == '/') {
        if (!StartsWith("/>")) return Error("bad empty-element tag");
        pos_ += 2;
        return Status::Ok();
      }
      if (c == '>') {
        ++pos_;
        break;
      }
      VIGIL_ASSIGN_OR_RETURN(std::string attr, Name());
      SkipSpace();
      if (!Peek('=')) return Error("attribute " + attr + " without a value");
      ++pos_;
      SkipSpace();
      if (!Peek('"') && !Peek('\'')) return Error("unquoted attribute value");
      char quote = in_[pos_++];
      size_t end = in_.find(quote, pos_);
      if (end == std::string_view::npos) return Error("unterminated attribute value");
      pos_ = end + 1;
    }
    // Content.
    for (;;) {
      if (pos_ >= in_.size()) return Error("element <" + e->name + "> is not closed");
      char c = in_[pos_];
      if (c == '&') {
        VIGIL_RETURN_IF_ERROR(Reference(&e->text));
      } else if (c != '<') {
        e->text.push_back(c);
        ++pos_;
      } else if (StartsWith("</")) {
        pos_ += 2;
        VIGIL_ASSIGN_OR_RETURN(std::string name, Name());
        if (name != e->name) return Error("</" + name + "> closes <" + e->name + ">");
        SkipSpace();
        if (!Peek('>')) return Error("bad end tag");
        ++pos_;
        return Status::Ok();
      } else if (StartsWith("<!--")) {
        VIGIL_RETURN_IF_ERROR(SkipPast("-->", "comment"));
      } else if (StartsWith("<![CDATA[")) {
        size_t start = pos_ + 9;
        size_t end = in_.find("]]>", start);
        if (end == std::string_view::npos) return Error("unterminated CDATA section");
        e->text.append(in_.substr(start, end - start));
        pos_ = end + 3;
      } else if (StartsWith("<?")) {
        VIGIL_RETURN_IF_ERROR(SkipPast("?>", "processing instruction"));
      } else if (StartsWith("<!")) {
        return Error("markup declaration inside an element");
      } else {
        e->children.emplace_back();
        VIGIL_RETURN_IF_ERROR(Element(&e->children.back(), depth + 1));
      }
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

const XmlElement* XmlElement::Child(std::string_view child_name) const {
  for (const XmlElement& c : children) {
    if (c.name == child_name) return &c;
  }
  return nullptr;
}

std::string_view XmlElement::ChildText(std::string_view child_name) const {
  const XmlElement* c = Child(child_name);
  return c == nullptr ? std::string_view() : std::string_view(c->text);
}

Result<XmlElement> ParseXml(std::string_view xml) { return Reader(xml).Document(); }

}  // namespace vigil::aws
