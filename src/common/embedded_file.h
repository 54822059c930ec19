// Data files built into the binary (cmake/embed_files.cmake writes the
// functions that return them), so vigil runs with no files around it.
#pragma once

#include <string_view>
#include <vector>

namespace vigil {

struct EmbeddedFile {
  std::string_view name;      // file name, e.g. "vpcflow.yaml"
  std::string_view contents;  // static storage
};

}  // namespace vigil
