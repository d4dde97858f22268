#include "commands.h"

namespace edgeai::cli {

Command add_info(CLI::App& app) {
  app.add_subcommand("info", "(not yet)");
  return [] { return fail("not implemented yet"); };
}

}  // namespace edgeai::cli
