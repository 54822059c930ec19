// Runs the `vigil` binary under test (VIGIL_BINARY) and captures its stdout,
// for the end-to-end tests that check the CLI contract.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace vigil::testing {

struct CmdResult {
  int exit_code = -1;
  std::string out;  // stdout only; stderr is discarded
};

inline CmdResult Vigil(const std::string& args) {
  std::string cmd = std::string(VIGIL_BINARY) + " " + args + " 2>/dev/null";
  CmdResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace vigil::testing
