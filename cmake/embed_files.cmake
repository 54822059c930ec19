# Writes OUT: a C++ file holding each mapping file (DIR/*.yaml) as a string
# (hex-escaped so no delimiter or encoding can break it).
file(GLOB FILES ${DIR}/*.yaml)
list(SORT FILES)
set(body "// Generated from src/ocsf/mappings/*.yaml by embed_mappings.cmake; do not edit.\n")
string(APPEND body "#include \"ocsf/internal/embedded.h\"\n\nnamespace vigil::ocsf::internal {\n\n")
string(APPEND body "const std::vector<EmbeddedFile>& EmbeddedMappings() {\n  static const std::vector<EmbeddedFile> files = {\n")
foreach(f IN LISTS FILES)
  get_filename_component(name ${f} NAME)
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
  # Split into lines of at most 40 bytes so compilers and diffs stay happy.
  string(REGEX REPLACE "((\\\\x[0-9a-f][0-9a-f]){40})" "\\1\"\n      \"" escaped "${escaped}")
  string(APPEND body "    {\"${name}\",\n      \"${escaped}\"},\n")
endforeach()
string(APPEND body "  };\n  return files;\n}\n\n}  // namespace vigil::ocsf::internal\n")
file(WRITE ${OUT} "${body}")
