// edgeai quantize IN OUT --type TYPE [--threads N] [--pure]: weight-only quantization. For a GGUF
// language model (IN ends in .gguf) every 2-D weight matrix is re-encoded in a GGML block format
// with llama.cpp's reference quantizers (so the bytes are what llama-quantize writes without an
// importance matrix); norms, biases and other 1-D tensors stay as they are, metadata is copied and
// general.file_type set. As llama.cpp does by default, output.weight (or token_embd.weight when
// the model ties them) takes q6_K for k-quant and 4/5-bit targets; --pure gives it TYPE too.
// Rows whose length is not a multiple of 256 fall back as in llama.cpp (q4_K -> q5_0, q5_K ->
// q5_1, q6_K -> q8_0); a tensor whose rows fit no block is kept as it is. An .onnx IN goes to the
// ONNX int8 quantizer (cmd_quantize_onnx.cc).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "core/ggml_type.h"
#include "core/thread_pool.h"
#include "formats/gguf/gguf.h"
#include "kernels/ggml_quants.h"
#include "quantize_onnx.h"

namespace edgeai::cli {

namespace {

using formats::GgufFile;
using formats::GgufValue;
using formats::GgufWriter;

constexpr uint32_t T(GgmlType t) { return static_cast<uint32_t>(t); }

uint32_t type_by_name(const std::string& name) {
  for (uint32_t t = 0; t < 64; ++t) {
    const GgmlTypeInfo* i = ggml_type_info(t);
    if (i && name == i->name) return t;
  }
  return ~0u;
}

// llama.cpp's llama_ftype for a model "mostly" of this type (single-type k-quant files are the
// _S variants).
uint32_t file_type_of(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: return 0;
    case GgmlType::kF16: return 1;
    case GgmlType::kQ4_0: return 2;
    case GgmlType::kQ4_1: return 3;
    case GgmlType::kQ8_0: return 7;
    case GgmlType::kQ5_0: return 8;
    case GgmlType::kQ5_1: return 9;
    case GgmlType::kQ4_K: return 14;
    case GgmlType::kQ5_K: return 16;
    case GgmlType::kQ6_K: return 18;
    case GgmlType::kBF16: return 32;
    default: return 0;
  }
}

bool is_block_type(uint32_t type) { return ggml_type_info(type) && ggml_type_info(type)->block_size > 1; }

// llama.cpp's rule for which tensors are quantized (llama_model_quantize_impl).
bool quantizable(const formats::GgufTensorInfo& t) {
  const std::string& n = t.name;
  if (!ends_with(n, "weight") || t.dims.size() < 2) return false;
  for (const char* skip : {"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight", "shortconv.conv.weight",
                           "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
                           "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
                           "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
                           "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
                           "time_mix_lerp_fused.weight", "attn_rel_b.weight"}) {
    if (n.find(skip) != std::string::npos) return false;
  }
  return n != "position_embd.weight" && n != "token_types.weight";
}

// The type a quantizable tensor gets.
uint32_t target_type(const formats::GgufTensorInfo& t, uint32_t type, bool pure, bool has_output) {
  const int64_t row = t.dims[0];
  uint32_t target = type;
  const bool is_output = t.name == "output.weight" || (!has_output && t.name == "token_embd.weight");
  if (!pure && is_output && is_block_type(type) && type != T(GgmlType::kQ8_0)) target = T(GgmlType::kQ6_K);
  if (is_block_type(target) && ggml_type_info(target)->block_size == 256 && row % 256 != 0) {
    switch (static_cast<GgmlType>(target)) {  // llama.cpp's fallbacks for rows that fit no super-block
      case GgmlType::kQ4_K: target = T(GgmlType::kQ5_0); break;
      case GgmlType::kQ5_K: target = T(GgmlType::kQ5_1); break;
      default: target = T(GgmlType::kQ8_0); break;
    }
  }
  if (ggml_row_bytes(target, row) < 0) return t.type;  // rows fit no block: keep
  return target;
}

std::string dims_str(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? " x " : "") + std::to_string(d[i]);
  return s + "]";
}

int quantize_gguf(const std::string& in, const std::string& out, const std::string& type_name, int threads,
                  bool pure) {
  const uint32_t type = type_by_name(type_name);
  if (type == ~0u) return fail("quantize: unknown --type " + type_name);
  if (in == out) return fail("quantize: OUT must be another file than IN (" + in + ")");
  auto t_start = std::chrono::steady_clock::now();
  auto opened = GgufFile::open(in);
  if (!opened.ok()) return fail(opened.status().message());
  const GgufFile& f = **opened;

  GgufWriter w;
  if (f.alignment() != 32) {
    Status st = w.set_alignment(static_cast<uint32_t>(f.alignment()));
    if (!st.ok()) return fail(in + ": " + st.message());
  }
  // Metadata: general.architecture first (as llama.cpp writes it), the rest in key order.
  if (const GgufValue* arch = f.find("general.architecture")) w.set("general.architecture", *arch);
  for (const auto& [key, value] : f.metadata()) {
    if (key == "general.architecture" || key == "general.file_type" || key == "general.quantization_version" ||
        key == "general.alignment") {
      continue;
    }
    w.set(key, value);
  }

  const bool has_output = f.tensor("output.weight") != nullptr;
  ThreadPool pool(threads > 0 ? threads : 1);
  const auto& tensors = f.tensors();
  int64_t bytes_in = 0, bytes_out = 0;
  int n_quantized = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const formats::GgufTensorInfo& t = tensors[i];
    bytes_in += t.n_bytes;
    uint32_t target = t.type;
    if (quantizable(t)) target = target_type(t, type, pure, has_output);
    // Only types we can read are converted; anything else is copied.
    const bool readable = kernels::ggml_type_supported(t.type) || t.type == T(GgmlType::kQ8_1);
    if (!readable) target = t.type;
    const GgmlTypeInfo* src_info = ggml_type_info(t.type);
    const GgmlTypeInfo* dst_info = ggml_type_info(target);
    Status st;
    int64_t n_out = t.n_bytes;
    if (target == t.type) {
      st = w.add_tensor_view(t.name, t.dims, t.type, std::span<const uint8_t>(t.data, t.n_bytes));
    } else {
      const int64_t row = t.dims[0];
      const int64_t rows = t.n_elements / row;
      const int64_t src_row = ggml_row_bytes(t.type, row), dst_row = ggml_row_bytes(target, row);
      std::vector<uint8_t> data(rows * dst_row);
      // In slices of about 4M values, so that the f32 copy stays small.
      const int64_t slice = std::max<int64_t>(1, (int64_t{1} << 22) / row);
      std::vector<float> buf(std::min(rows, slice) * row);
      for (int64_t r0 = 0; r0 < rows && st.ok(); r0 += slice) {
        const int64_t nr = std::min(slice, rows - r0);
        for (int64_t r = 0; r < nr; ++r) {
          kernels::ggml_dequantize_row(t.type, t.data + (r0 + r) * src_row, buf.data() + r * row, row);
        }
        st = kernels::ggml_quantize_rows(pool, target, buf.data(), data.data() + r0 * dst_row, nr, row);
      }
      n_out = static_cast<int64_t>(data.size());
      if (st.ok()) st = w.add_tensor(t.name, t.dims, target, std::move(data));
      ++n_quantized;
    }
    if (!st.ok()) return fail(in + ": tensor '" + t.name + "': " + st.message());
    bytes_out += n_out;
    std::fprintf(stderr, "[%4zu/%4zu] %-36s %-5s -> %-5s %-18s %9.2f MiB -> %9.2f MiB\n", i + 1, tensors.size(),
                 t.name.c_str(), src_info ? src_info->name : "?", dst_info ? dst_info->name : "?",
                 dims_str(t.dims).c_str(), t.n_bytes / 1048576.0, n_out / 1048576.0);
  }
  w.set_u32("general.quantization_version", 2);
  w.set_u32("general.file_type", file_type_of(type));
  Status st = w.write(out);
  if (!st.ok()) return fail(out + ": " + st.message());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("quantized %s -> %s (%s): %d of %zu tensors converted, tensor data %.2f MiB -> %.2f MiB (%.2fx "
              "smaller), %.1f s\n",
              in.c_str(), out.c_str(), type_name.c_str(), n_quantized, tensors.size(), bytes_in / 1048576.0,
              bytes_out / 1048576.0, bytes_out > 0 ? (double)bytes_in / bytes_out : 0.0, secs);
  return 0;
}

}  // namespace

Command add_quantize_gguf(CLI::App& app) {
  struct Opts {
    std::string input, output, type;
    int threads = 0;
    bool pure = false;
    QuantizeOnnxArgs onnx;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("quantize", "Quantize a model (GGUF: GGML block formats; ONNX: int8 static QDQ or dynamic)");
  sub->add_option("input", o->input, "model to quantize (.gguf or .onnx)")->required();
  sub->add_option("output", o->output, "file to write")->required();
  sub->add_option("--type", o->type, "GGUF weight type: q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k f16 bf16 f32")
      ->check(CLI::IsMember({"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k", "f16", "bf16", "f32"}));
  sub->add_option("--threads,-t", o->threads, "threads (default: one per core for GGUF, 1 for ONNX)");
  sub->add_flag("--pure", o->pure, "give output.weight TYPE too (default: q6_K, as llama.cpp)");
  add_quantize_onnx_options(sub, o->onnx);
  return [o]() -> int {
    if (ends_with(o->input, ".gguf")) {
      if (o->type.empty()) return fail("quantize: a GGUF model needs --type");
      int threads = o->threads > 0 ? o->threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      return quantize_gguf(o->input, o->output, o->type, threads, o->pure);
    }
    if (ends_with(o->input, ".onnx")) {
      if (!o->type.empty()) return fail("quantize: --type is for GGUF models; ONNX models are quantized to int8");
      if (o->threads > 0) o->onnx.threads = o->threads;
      return quantize_onnx(o->input, o->output, o->onnx);
    }
    return fail("quantize: " + o->input + ": not a .gguf or .onnx model");
  };
}

}  // namespace edgeai::cli
