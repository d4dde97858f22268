// edgeai convert CHECKPOINT.bin --tokenizer TOKENIZER.bin OUT.gguf [--type f32|f16]:
// a llama2.c checkpoint and its tokenizer to a llama-architecture GGUF.
#include <chrono>
#include <cstdio>

#include "commands.h"
#include "core/ggml_type.h"
#include "formats/llama2c/llama2c.h"

namespace edgeai::cli {

Command add_convert(CLI::App& app) {
  struct Opts {
    std::string input, tokenizer, output, type = "f32", name;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("convert", "Convert a llama2.c checkpoint (+ its tokenizer) to a GGUF model");
  sub->add_option("checkpoint", o->input, "llama2.c checkpoint (e.g. stories260K.bin)")->required();
  sub->add_option("output", o->output, "GGUF file to write")->required();
  sub->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer file (e.g. tok512.bin)")->required();
  sub->add_option("--type", o->type, "weight type of the matrices: f32 or f16 (norms stay f32)")
      ->check(CLI::IsMember({"f32", "f16"}));
  sub->add_option("--name", o->name, "general.name (default: the checkpoint's file name)");
  return [o]() -> int {
    formats::Llama2cConvertOptions opt;
    opt.type = static_cast<uint32_t>(o->type == "f16" ? GgmlType::kF16 : GgmlType::kF32);
    opt.name = o->name;
    std::fprintf(stderr, "converting %s + %s -> %s (%s)\n", o->input.c_str(), o->tokenizer.c_str(),
                 o->output.c_str(), o->type.c_str());
    auto t0 = std::chrono::steady_clock::now();
    auto r = formats::convert_llama2c_to_gguf(o->input, o->tokenizer, o->output, opt);
    if (!r.ok()) return fail(r.status().message());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& c = r->config;
    std::printf("wrote %s: llama, %lld parameters in %zu tensors (%s), dim %d, hidden %d, %d layers, "
                "%d/%d heads, vocab %d, context %d, %s classifier, %.2f MB in %.2f s\n",
                o->output.c_str(), (long long)r->parameters, r->tensors, o->type.c_str(), c.dim,
                c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len,
                c.shared_classifier ? "shared" : "separate", r->file_bytes / 1e6, secs);
    return 0;
  };
}

}  // namespace edgeai::cli
