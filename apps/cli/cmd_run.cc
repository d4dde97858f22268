#include "commands.h"

namespace edgeai::cli {

Command add_run(CLI::App& app) {
  app.add_subcommand("run", "(not yet)");
  return [] { return fail("not implemented yet"); };
}

}  // namespace edgeai::cli
