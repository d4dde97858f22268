#include "commands.h"

namespace edgeai::cli {

Command add_demo(CLI::App& app) {
  app.add_subcommand("demo", "(not yet)");
  return [] { return fail("not implemented yet"); };
}

}  // namespace edgeai::cli
