// Internal: a fast reader for the plain YAML that rule files are written in.
//
// yaml-cpp spends about 600k instructions on a 20-line rule file, most of
// it in its scanner's regular expressions: loading 1,000 rules cost more than
// detecting over 20k events. LoadYamlSubset reads the common subset directly
// into the same YAML::Node tree yaml-cpp would build: block mappings and
// sequences (a sequence may sit at its key's indentation; `- key: value`
// opens a mapping), plain, single- and double-quoted scalars on one line,
// one-line flow sequences and mappings of scalars, literal and folded block
// scalars (`|`, `>`, with `-`/`+` chomping), comments and a leading `---`.
// Plain `~`, `null`, `Null`, `NULL` and empty values are null nodes; scalar
// tags are "?" (plain) and "!" (quoted), as yaml-cpp sets them.
//
// Anything else (anchors, aliases, tags, multi-line plain or quoted
// scalars, nested flow collections, explicit keys, duplicate keys, tabs in
// indentation, carriage returns, directives, errors) returns nullopt, and the
// caller loads the text with yaml-cpp: the subset never decides what a
// document means differently. Tests compare both readers on every rule file
// in the repository and the reference Sigma corpus.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>

namespace vigil::sigma_internal {

// The document `text` holds (one document), or nullopt when it is outside
// the subset.
std::optional<YAML::Node> LoadYamlSubset(std::string_view text);

// Whether two trees are the same: kinds, tags, text, keys in order. On a
// difference, `where` says where (for the tests and the fuzzer that hold the
// subset to yaml-cpp).
bool SameYamlTree(const YAML::Node& a, const YAML::Node& b, std::string* where);

}  // namespace vigil::sigma_internal
