// Placeholder for `edgeai pipeline` (issue 7), replaced by its implementation.
#include "commands.h"

namespace edgeai::cli {

Command add_pipeline(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("pipeline", "Run or validate an edge pipeline (sensor -> model -> action) (not implemented yet)");
  cmd->allow_extras();
  return [] { return fail("edgeai pipeline is not implemented yet (issue 7)"); };
}

}  // namespace edgeai::cli
