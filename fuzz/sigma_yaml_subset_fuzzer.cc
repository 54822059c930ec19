// Holds the rule files' fast YAML reader to yaml-cpp: whatever bytes the
// subset reader accepts, yaml-cpp must read too, into the same tree. (It may
// decline anything; yaml-cpp then decides.)
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "detect/sigma/internal/yaml_subset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::optional<YAML::Node> fast = vigil::sigma_internal::LoadYamlSubset(text);
  if (!fast) return 0;
  YAML::Node slow;
  try {
    slow = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::fprintf(stderr, "subset read what yaml-cpp rejects: %s\n", e.what());
    std::abort();
  }
  std::string where;
  if (!vigil::sigma_internal::SameYamlTree(*fast, slow, &where)) {
    std::fprintf(stderr, "trees differ: %s\n", where.c_str());
    std::abort();
  }
  return 0;
}
