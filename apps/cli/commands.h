// The edgeai command's subcommands. Each registers itself on the CLI11 app and returns the
// function to run when it is chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace edgeai::cli {

using Command = std::function<int()>;

Command add_info(CLI::App& app);
Command add_run(CLI::App& app);
Command add_onnx_test(CLI::App& app);
Command add_demo(CLI::App& app);
Command add_compare(CLI::App& app);
Command add_generate(CLI::App& app);
Command add_chat(CLI::App& app);
Command add_perplexity(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_convert(CLI::App& app);
Command add_tokenize(CLI::App& app);
Command add_quantize_gguf(CLI::App& app);
Command add_eval(CLI::App& app);      // cmd_eval.cc (issue 4)
Command add_serve(CLI::App& app);     // cmd_serve.cc (issue 6)
Command add_pipeline(CLI::App& app);  // cmd_pipeline.cc (issue 7)
Command add_train(CLI::App& app);     // cmd_train.cc (issue 8): train, prune, distill, qat
Command add_prune(CLI::App& app);
Command add_distill(CLI::App& app);
Command add_qat(CLI::App& app);

// Model-format-specific halves of shared verbs (implemented beside the llm commands):
// `edgeai info MODEL.gguf` and `edgeai bench MODEL.gguf`.
int info_gguf(const std::string& path, bool json);
// `edgeai bench` (cmd_bench.cc) parses the options of both formats and calls this for GGUF.
// mmap / no_mmap: --mmap / --no-mmap (see LlmOptions).
int bench_gguf(const std::string& path, int prompt_tokens, int gen_tokens, int threads, int reps, bool json,
               bool mmap = false, bool no_mmap = false);

// Prints "edgeai: error: <msg>" to stderr and returns exit code 1.
int fail(const std::string& msg);
// Whether `s` ends with `suffix` (file extensions, tensor name endings).
bool ends_with(const std::string& s, const std::string& suffix);

}  // namespace edgeai::cli
