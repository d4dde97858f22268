// Runs the `edgeai` binary (EDGEAI_CLI) from a test: exit status, whether a signal ended it, its
// stdout, and stdout followed by stderr. Optional text is fed to its standard input.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace edgeai::testing {

struct CmdResult {
  int exit_code = -1;
  bool signaled = false;
  std::string out;  // stdout
  std::string all;  // stdout, then stderr
};

inline CmdResult run_cli(const std::string& args, const std::string& stdin_text = "") {
  static std::atomic<int> counter{0};
  const std::filesystem::path base = std::filesystem::temp_directory_path() /
                                     ("edgeai_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  const std::string in = base.string() + ".in", err = base.string() + ".err";
  std::string cmd = std::string(EDGEAI_CLI) + " " + args + " 2> " + err;
  if (!stdin_text.empty()) {
    std::ofstream(in, std::ios::binary) << stdin_text;
    cmd += " < " + in;
  }
  CmdResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int st = pclose(p);
    r.signaled = WIFSIGNALED(st);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  std::ifstream e(err, std::ios::binary);
  r.all = r.out + std::string(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  std::error_code ec;
  std::filesystem::remove(in, ec);
  std::filesystem::remove(err, ec);
  return r;
}

}  // namespace edgeai::testing
