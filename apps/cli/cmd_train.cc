// Placeholders for `edgeai train|prune|distill|qat` (issue 8), replaced by their implementations.
#include "commands.h"

namespace edgeai::cli {

namespace {
Command placeholder(CLI::App& app, const char* verb, const char* what) {
  CLI::App* cmd = app.add_subcommand(verb, std::string(what) + " (not implemented yet)");
  cmd->allow_extras();
  return [verb] { return fail(std::string("edgeai ") + verb + " is not implemented yet (issue 8)"); };
}
}  // namespace

Command add_train(CLI::App& app) { return placeholder(app, "train", "Train an ONNX model on data"); }
Command add_prune(CLI::App& app) { return placeholder(app, "prune", "Prune an ONNX model and fine-tune it"); }
Command add_distill(CLI::App& app) { return placeholder(app, "distill", "Distill a teacher model into a student"); }
Command add_qat(CLI::App& app) { return placeholder(app, "qat", "Quantization-aware training to int8 QDQ"); }

}  // namespace edgeai::cli
