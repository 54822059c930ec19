// The mapping files as built into the binary (see vigil_embed_files).
#pragma once

#include <vector>

#include "common/embedded_file.h"

namespace vigil::ocsf::internal {

const std::vector<EmbeddedFile>& EmbeddedMappings();

}  // namespace vigil::ocsf::internal
