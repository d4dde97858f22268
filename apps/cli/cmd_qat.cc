// edgeai qat: quantization-aware training (not implemented yet).
#include "commands.h"

namespace edgeai::cli {

Command add_qat(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("qat", "Quantization-aware training to int8 QDQ (not implemented yet)");
  cmd->allow_extras();
  return [] { return fail("edgeai qat is not implemented yet (issue 8)"); };
}

}  // namespace edgeai::cli
