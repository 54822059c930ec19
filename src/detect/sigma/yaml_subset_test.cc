#include "detect/sigma/internal/yaml_subset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vigil::sigma_internal {
namespace {

// The subset's tree for `text` equals yaml-cpp's; false when the subset
// declines it.
bool Agrees(const std::string& text, std::string* where) {
  std::optional<YAML::Node> fast = LoadYamlSubset(text);
  if (!fast) return false;
  YAML::Node slow;
  try {
    slow = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    ADD_FAILURE() << "the subset read what yaml-cpp rejects (" << e.what() << "):\n" << text;
    return true;
  }
  EXPECT_TRUE(SameYamlTree(*fast, slow, where)) << *where << "\n" << text;
  return true;
}

TEST(YamlSubset, ReadsWhatYamlCppReads) {
  const char* cases[] = {
      "title: Plain\nid: 1\nlevel: high\n",
      "---\na: 'it''s'\nb: \"q\\\"\\n\\t\\u00e9\\x41\"\nc: ~\nd:\ne: null\nf: NULL\ng: 'null'\n",
      "tags:\n- a\n- b # comment\nnext: x\n",
      "tags:\n  - a\n  -   b\n# between\nk: v #c\n",
      "detection:\n  sel:\n    - eventSource: a\n      eventName: [X, 'y', \"z\"]\n    - k: {product: aws, service: 'x'}\n  "
      "condition: sel\n",
      "d: |\n  line one\n    indented\n\n  after blank\n\nk: v\n",
      "d: |-\n  strip\n\n\nk: v\n",
      "d: |+\n  keep\n\n\nk: v\n",
      "d: >\n  folded\n  lines\n\n  para\nk: v\n",
      "d: >-\n  folded strip\n  x\n",
      "e: []\nf: {}\ng: [~, 1.5, -3, 'a b']\n",
      "s:\n  -\n    - nested\n    - seq\n  -\n    a: 1\n",
      "url: http://example.com/a:b\nwin: C:\\Windows\\x.exe\nq: '#not a comment'\n",
      "k: v\n\n\n",
      "block: |\n  # not a comment\n  x: y\nz: 1\n",
  };
  for (const char* c : cases) {
    std::string where;
    EXPECT_TRUE(Agrees(c, &where)) << "declined:\n" << c;
  }
}

// Outside the subset: left to yaml-cpp (which may read it or reject it).
TEST(YamlSubset, DeclinesTheRest) {
  const char* cases[] = {
      "a: &x 1\nb: *x\n",
      "a: !!str 1\n",
      "a: plain\n  continued\n",
      "a: 'multi\n  line'\n",
      "a: [1, [2]]\n",
      "a: 1\na: 2\n",
      "? complex\n: key\n",
      "a:\r\n  b: 1\r\n",
      "a: b: c\n",
      "- top level sequence\n",
      "a:\n\t- tab\n",
      "tit Con:\toe:\n",  // found by the fuzzer: a tab after a colon separates
      "a: |\n  \n   b\n",    // found by the fuzzer: spaces on a leading empty line
      "|key: x\n",           // found by the fuzzer: an indicator starting a key
      "a: |\n  no final line break",  // found by the fuzzer
      "'k':x\n",                      // found by the fuzzer: a quoted key without a space
      "a: \xFF\n",
      "l: {product:a ws}\n",  // found by the fuzzer: a colon inside a flow scalar
      "t:\n- - - x\n",           // found by the fuzzer
      "a: |2\n   x\n",
      "a: >\n  x\n    more indented\n",
      "%YAML 1.2\n---\na: 1\n",
      "a: \"\\q\"\n",
      "",
  };
  for (const char* c : cases) EXPECT_FALSE(LoadYamlSubset(c).has_value()) << c;
}

// Every rule file shipped and every file of the reference Sigma corpus:
// where the subset reads one, it reads what yaml-cpp reads; and it reads
// most shipped rules (the point of it).
TEST(YamlSubset, AgreesOnEveryRuleFile) {
  size_t shipped = 0, shipped_read = 0, corpus = 0, corpus_read = 0;
  for (const auto& [dir, total, read] :
       {std::tuple<std::string, size_t*, size_t*>{std::string(VIGIL_SOURCE_DIR) + "/rules", &shipped, &shipped_read},
        std::tuple<std::string, size_t*, size_t*>{std::string(VIGIL_SHARED_DATA) + "/sigma", &corpus, &corpus_read}}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".yml" && ext != ".yaml")) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string text = ss.str();
      if (text.find("\n---") != std::string::npos) continue;  // several documents: not this reader's
      // Rule tests files are checked for agreement but not counted: they
      // carry logs, in whatever YAML their authors wrote.
      const bool counted = entry.path().string().find(".tests.") == std::string::npos;
      *total += counted;
      std::string where;
      SCOPED_TRACE(entry.path().string());
      if (Agrees(text, &where) && counted) ++*read;
    }
  }
  std::printf("yaml subset read %zu of %zu shipped rule files, %zu of %zu corpus files\n", shipped_read, shipped,
              corpus_read, corpus);
  EXPECT_GT(shipped, 100u);
  EXPECT_GT(shipped_read * 10, shipped * 9);
  EXPECT_GT(corpus, 100u);
}

}  // namespace
}  // namespace vigil::sigma_internal
