// edgeai: run, compress, serve and deploy models on small devices.
#include <cstdio>
#include <exception>
#include <vector>

#include "commands.h"

namespace edgeai::cli {
int fail(const std::string& msg) {
  std::fprintf(stderr, "edgeai: error: %s\n", msg.c_str());
  return 1;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace edgeai::cli

int main(int argc, char** argv) {
  using namespace edgeai::cli;
  CLI::App app{"edgeai: run, compress and serve AI models on small devices, offline."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "edgeai 0.1.0");
  std::vector<std::pair<CLI::App*, Command>> commands;
  auto add = [&](Command (*f)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    Command c = f(app);
    auto subs = app.get_subcommands({});
    if (subs.size() > before) commands.emplace_back(subs.back(), std::move(c));
  };
  add(add_info);
  add(add_run);
  add(add_onnx_test);
  add(add_demo);
  add(add_compare);
  add(add_generate);
  add(add_chat);
  add(add_perplexity);
  add(add_bench);
  add(add_convert);
  add(add_tokenize);
  add(add_quantize_gguf);
  add(add_eval);
  add(add_serve);
  add(add_pipeline);
  add(add_train);
  add(add_prune);
  add(add_distill);
  add(add_qat);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, cmd] : commands) {
      if (sub->parsed()) return cmd();
    }
  } catch (const std::exception& e) {
    return fail(std::string("internal error: ") + e.what());
  }
  return 1;
}
