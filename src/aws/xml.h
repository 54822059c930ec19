// A small XML reader for S3 API responses (ListObjectsV2 results, error
// documents): elements, text, CDATA, comments, the five predefined entities
// and numeric character references. It reads untrusted bytes from the
// network, so it never recurses without a depth limit, rejects DOCTYPE (no
// entity definitions, so no entity expansion) and reports malformed input as
// a Status naming the byte offset.
//
// Namespace prefixes stay part of element names; attributes are skipped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil::aws {

struct XmlElement {
  std::string name;
  std::string text;  // the element's own character data (entities decoded), concatenated
  std::vector<XmlElement> children;

  // The first child named `name`, or nullptr.
  const XmlElement* Child(std::string_view child_name) const;
  // The text of the first child named `name`, or "" when there is none.
  std::string_view ChildText(std::string_view child_name) const;
};

inline constexpr int kMaxXmlDepth = 32;

// Parses one document (one root element).
Result<XmlElement> ParseXml(std::string_view xml);

}  // namespace vigil::aws
