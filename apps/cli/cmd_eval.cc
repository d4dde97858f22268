// Placeholder for `edgeai eval` (issue 4), replaced by its implementation.
#include "commands.h"

namespace edgeai::cli {

Command add_eval(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("eval", "Compare a model against a reference model on data: agreement, accuracy, error (not implemented yet)");
  cmd->allow_extras();
  return [] { return fail("edgeai eval is not implemented yet (issue 4)"); };
}

}  // namespace edgeai::cli
