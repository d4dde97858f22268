// Placeholder for `edgeai serve` (issue 6), replaced by its implementation.
#include "commands.h"

namespace edgeai::cli {

Command add_serve(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("serve", "Serve language and ONNX models over an OpenAI-compatible HTTP API (not implemented yet)");
  cmd->allow_extras();
  return [] { return fail("edgeai serve is not implemented yet (issue 6)"); };
}

}  // namespace edgeai::cli
