// Runs the `edgeai` binary (EDGEAI_CLI) from a test: exit status, whether a signal ended it, and
// its output (stdout, plus stderr unless `with_stderr` is false).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace edgeai::testing {

struct CmdResult {
  int exit_code = -1;
  bool signaled = false;
  std::string output;
};

inline CmdResult run_cli(const std::string& args, bool with_stderr = true) {
  std::string cmd = std::string(EDGEAI_CLI) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  CmdResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.signaled = WIFSIGNALED(st);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace edgeai::testing
