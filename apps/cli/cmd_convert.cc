// edgeai convert CHECKPOINT.bin OUT.gguf --tokenizer TOKENIZER.bin [--type f32|f16]: a llama2.c
// checkpoint and its tokenizer to a llama-architecture GGUF.
// edgeai convert MODEL.onnx OUT.onnx [--external-data [FILE]] [--alignment N]: the same ONNX model
// rewritten, its large weights in an external-data file at aligned offsets (so that `--mmap` uses
// every one in place) or, without --external-data, all in the model file.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "core/ggml_type.h"
#include "formats/llama2c/llama2c.h"
#include "formats/onnx/onnx_export.h"
#include "formats/onnx/onnx_import.h"

namespace edgeai::cli {

namespace {

struct ConvertOptions {
  std::string input, tokenizer, output, type = "f32", name;
  std::string external_data;  // "" with the flag given: OUT's file name + ".data"
  bool external = false;
  int64_t alignment = formats::OnnxExportOptions{}.external_data_alignment;
  int64_t min_bytes = formats::OnnxExportOptions{}.external_data_min_bytes;
};

int convert_onnx(const ConvertOptions& o) {
  if (!o.tokenizer.empty()) return fail("--tokenizer is for llama2.c checkpoints, not ONNX models");
  if (!ends_with(o.output, ".onnx")) return fail(o.output + ": the output of an ONNX model must be an .onnx file");
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(o.output, ec) && fs::equivalent(o.input, o.output, ec)) {
    return fail("the output is the input file: write to another file (the input's weights may be in use)");
  }
  auto t0 = std::chrono::steady_clock::now();
  auto m = formats::load_onnx(o.input);
  if (!m.ok()) return fail(m.status().message());
  formats::OnnxExportOptions eo;
  eo.producer_name = m->producer.empty() ? "edgeai" : m->producer;
  eo.ir_version = m->ir_version;
  if (o.external) {
    eo.external_data = o.external_data.empty() ? fs::path(o.output).filename().string() + ".data" : o.external_data;
    eo.external_data_alignment = o.alignment;
    eo.external_data_min_bytes = o.min_bytes;
  }
  Status st = formats::save_onnx(*m->graph, o.output, eo);
  if (!st.ok()) return fail(st.message());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double weights_mb = m->graph->parameter_bytes() / 1e6;
  if (o.external) {
    const fs::path data = fs::path(o.output).parent_path() / eo.external_data;
    std::printf("wrote %s (%.2f MB) and %s (%.2f MB): initializers of %lld bytes or more at offsets aligned to "
                "%lld bytes, %.2f MB of weights in all, in %.2f s\n",
                o.output.c_str(), fs::file_size(o.output, ec) / 1e6, data.string().c_str(),
                fs::file_size(data, ec) / 1e6, (long long)o.min_bytes, (long long)o.alignment, weights_mb, secs);
  } else {
    std::printf("wrote %s (%.2f MB, %.2f MB of weights in the file) in %.2f s\n", o.output.c_str(),
                fs::file_size(o.output, ec) / 1e6, weights_mb, secs);
  }
  return 0;
}

int convert_llama2c(const ConvertOptions& o) {
  if (o.tokenizer.empty()) return fail("--tokenizer is required for a llama2.c checkpoint (e.g. tok512.bin)");
  if (o.external) return fail("--external-data is for ONNX models");
  formats::Llama2cConvertOptions opt;
  opt.type = static_cast<uint32_t>(o.type == "f16" ? GgmlType::kF16 : GgmlType::kF32);
  opt.name = o.name;
  std::fprintf(stderr, "converting %s + %s -> %s (%s)\n", o.input.c_str(), o.tokenizer.c_str(), o.output.c_str(),
               o.type.c_str());
  auto t0 = std::chrono::steady_clock::now();
  auto r = formats::convert_llama2c_to_gguf(o.input, o.tokenizer, o.output, opt);
  if (!r.ok()) return fail(r.status().message());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& c = r->config;
  std::printf("wrote %s: llama, %lld parameters in %zu tensors (%s), dim %d, hidden %d, %d layers, "
              "%d/%d heads, vocab %d, context %d, %s classifier, %.2f MB in %.2f s\n",
              o.output.c_str(), (long long)r->parameters, r->tensors, o.type.c_str(), c.dim, c.hidden_dim,
              c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.seq_len,
              c.shared_classifier ? "shared" : "separate", r->file_bytes / 1e6, secs);
  return 0;
}

}  // namespace

Command add_convert(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  auto* sub = app.add_subcommand(
      "convert", "Convert a llama2.c checkpoint (+ its tokenizer) to a GGUF model, or rewrite an ONNX model with "
                 "its weights in an aligned external-data file (for --mmap)");
  sub->add_option("input", o->input, "llama2.c checkpoint (e.g. stories260K.bin) or ONNX model")->required();
  sub->add_option("output", o->output, "GGUF file to write (from a checkpoint) or ONNX file (from an ONNX model)")
      ->required();
  auto* l2c = "llama2.c checkpoints";
  sub->add_option("--tokenizer", o->tokenizer, "llama2.c tokenizer file (e.g. tok512.bin); required")->group(l2c);
  sub->add_option("--type", o->type, "weight type of the matrices: f32 or f16 (norms stay f32)")
      ->check(CLI::IsMember({"f32", "f16"}))
      ->group(l2c);
  sub->add_option("--name", o->name, "general.name (default: the checkpoint's file name)")->group(l2c);
  auto* onnx = "ONNX models";
  sub->add_flag("--external-data{}", o->external_data,
                "Write the weights to this file beside OUT (default: OUT's name + .data), each at an aligned offset, "
                "so that --mmap uses every one in place. Without it, every weight goes into OUT")
      ->expected(0, 1)
      ->group(onnx);
  sub->add_option("--alignment", o->alignment, "Offset alignment of each external weight in bytes (a power of two)")
      ->capture_default_str()
      ->group(onnx);
  sub->add_option("--min-bytes", o->min_bytes, "Smaller initializers stay in the model file")
      ->capture_default_str()
      ->group(onnx);
  return [o, sub]() -> int {
    o->external = sub->count("--external-data") > 0;
    if (ends_with(o->input, ".onnx")) return convert_onnx(*o);
    return convert_llama2c(*o);
  };
}

}  // namespace edgeai::cli
