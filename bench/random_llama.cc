// random_llama: writes a llama-architecture GGUF with seeded random weights, for speed
// measurements on a realistic shape without downloading a model. Defaults are TinyLlama-1.1B's
// shape (hidden 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632, vocabulary 32000). Weights are
// written with edgeai's own GGUF writer, quantized by the same reference quantizers as
// `edgeai quantize` (llama.cpp's layouts), so llama.cpp loads the file too.
//
// usage: random_llama OUT.gguf [--type f32|f16|q8_0|q4_0|...] [--layers N] [--hidden N] [--ffn N]
//                      [--heads N] [--kv-heads N] [--vocab N] [--ctx N] [--seed N]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>
#include <algorithm>

#include "core/dtype.h"
#include "core/ggml_type.h"
#include "core/thread_pool.h"
#include "formats/gguf/gguf.h"
#include "kernels/ggml_quants.h"

using namespace edgeai;

namespace {

struct Shape {
  int64_t layers = 22, hidden = 2048, ffn = 5632, heads = 32, kv_heads = 4, vocab = 32000, ctx = 2048;
};

// xorshift64*: fast, seeded; values uniform in [-a, a] (random weights only need the right shape
// and a sane scale for the speed of the kernels).
struct Rng {
  uint64_t s;
  float next(float a) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    const uint64_t r = s * 2685821657736338717ull;
    return a * (static_cast<float>(r >> 40) / static_cast<float>(1ull << 23) - 1.0f);
  }
};

uint32_t type_by_name(const std::string& name) {
  for (uint32_t t = 0; t < 64; ++t) {
    const GgmlTypeInfo* i = ggml_type_info(t);
    if (i && name == i->name) return t;
  }
  return ~0u;
}

int usage() {
  std::fprintf(stderr,
               "usage: random_llama OUT.gguf [--type f16] [--layers 22] [--hidden 2048] [--ffn 5632]\n"
               "                    [--heads 32] [--kv-heads 4] [--vocab 32000] [--ctx 2048] [--seed 1]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return usage();
  const std::string out = argv[1];
  Shape s;
  std::string type_name = "f16";
  uint64_t seed = 1;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (a == "--type") type_name = v;
    else if (a == "--layers") s.layers = std::atoll(v);
    else if (a == "--hidden") s.hidden = std::atoll(v);
    else if (a == "--ffn") s.ffn = std::atoll(v);
    else if (a == "--heads") s.heads = std::atoll(v);
    else if (a == "--kv-heads") s.kv_heads = std::atoll(v);
    else if (a == "--vocab") s.vocab = std::atoll(v);
    else if (a == "--ctx") s.ctx = std::atoll(v);
    else if (a == "--seed") seed = std::strtoull(v, nullptr, 10);
    else return usage();
  }
  const uint32_t wtype = type_by_name(type_name);
  if (wtype == ~0u || !kernels::ggml_type_supported(wtype)) {
    std::fprintf(stderr, "random_llama: unknown or unsupported type '%s'\n", type_name.c_str());
    return 2;
  }
  if (s.layers < 1 || s.hidden < 32 || s.ffn < 32 || s.heads < 1 || s.kv_heads < 1 || s.vocab < 259 ||
      s.hidden % s.heads != 0 || s.heads % s.kv_heads != 0) {
    std::fprintf(stderr, "random_llama: inconsistent shape\n");
    return 2;
  }
  const int64_t head_dim = s.hidden / s.heads, kv_dim = head_dim * s.kv_heads;

  formats::GgufWriter g;
  g.set_string("general.architecture", "llama");
  g.set_string("general.name", "random-llama-" + std::to_string(s.layers) + "x" + std::to_string(s.hidden));
  g.set_u32("llama.context_length", static_cast<uint32_t>(s.ctx));
  g.set_u32("llama.embedding_length", static_cast<uint32_t>(s.hidden));
  g.set_u32("llama.feed_forward_length", static_cast<uint32_t>(s.ffn));
  g.set_u32("llama.block_count", static_cast<uint32_t>(s.layers));
  g.set_u32("llama.attention.head_count", static_cast<uint32_t>(s.heads));
  g.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(s.kv_heads));
  g.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(head_dim));
  g.set_f32("llama.rope.freq_base", 10000.0f);
  g.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  g.set_u32("llama.vocab_size", static_cast<uint32_t>(s.vocab));
  // A SentencePiece-style vocabulary: <unk> <s> </s>, the 256 byte tokens, then plain pieces.
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  tokens.reserve(s.vocab);
  tokens.push_back("<unk>"), types.push_back(2);
  tokens.push_back("<s>"), types.push_back(3);
  tokens.push_back("</s>"), types.push_back(3);
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf), types.push_back(6);
  }
  for (int64_t i = tokens.size(); i < s.vocab; ++i) tokens.push_back("\xE2\x96\x81t" + std::to_string(i)), types.push_back(1);
  for (int64_t i = 0; i < s.vocab; ++i) scores.push_back(i < 259 ? 0.0f : -static_cast<float>(i));
  g.set_string("tokenizer.ggml.model", "llama");
  g.set_string_array("tokenizer.ggml.tokens", std::move(tokens));
  g.set_f32_array("tokenizer.ggml.scores", std::move(scores));
  g.set_i32_array("tokenizer.ggml.token_type", std::move(types));
  g.set_u32("tokenizer.ggml.unknown_token_id", 0);
  g.set_u32("tokenizer.ggml.bos_token_id", 1);
  g.set_u32("tokenizer.ggml.eos_token_id", 2);

  ThreadPool pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  Rng rng{seed * 0x9E3779B97F4A7C15ull + 1};
  int64_t total_bytes = 0;
  auto add = [&](const std::string& name, int64_t cols, int64_t rows, bool norm, uint32_t type) -> bool {
    std::vector<float> w(static_cast<size_t>(cols * rows));
    const float a = norm ? 0.0f : 1.7f / std::sqrt(static_cast<float>(cols));  // uniform, std ~ 1/sqrt(cols)
    for (float& x : w) x = norm ? 1.0f : rng.next(a);
    const int64_t row_bytes = ggml_row_bytes(type, cols);
    if (row_bytes < 0) {
      std::fprintf(stderr, "random_llama: %s: %lld columns do not fit %s blocks\n", name.c_str(), (long long)cols,
                   ggml_type_info(type)->name);
      return false;
    }
    std::vector<uint8_t> bytes(static_cast<size_t>(row_bytes * rows));
    Status st = kernels::ggml_quantize_rows(pool, type, w.data(), bytes.data(), rows, cols);
    if (st.ok()) st = g.add_tensor(name, rows == 1 ? std::vector<int64_t>{cols} : std::vector<int64_t>{cols, rows},
                                   type, std::move(bytes));
    if (!st.ok()) {
      std::fprintf(stderr, "random_llama: %s: %s\n", name.c_str(), st.message().c_str());
      return false;
    }
    total_bytes += row_bytes * rows;
    return true;
  };
  const uint32_t f32 = static_cast<uint32_t>(GgmlType::kF32);
  bool ok = add("token_embd.weight", s.hidden, s.vocab, false, wtype);
  for (int64_t l = 0; ok && l < s.layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    ok = add(p + "attn_norm.weight", s.hidden, 1, true, f32) && add(p + "attn_q.weight", s.hidden, s.hidden, false, wtype) &&
         add(p + "attn_k.weight", s.hidden, kv_dim, false, wtype) && add(p + "attn_v.weight", s.hidden, kv_dim, false, wtype) &&
         add(p + "attn_output.weight", s.hidden, s.hidden, false, wtype) && add(p + "ffn_norm.weight", s.hidden, 1, true, f32) &&
         add(p + "ffn_gate.weight", s.hidden, s.ffn, false, wtype) && add(p + "ffn_down.weight", s.ffn, s.hidden, false, wtype) &&
         add(p + "ffn_up.weight", s.hidden, s.ffn, false, wtype);
    std::fprintf(stderr, "\rrandom_llama: layer %lld/%lld", (long long)(l + 1), (long long)s.layers);
  }
  std::fprintf(stderr, "\n");
  ok = ok && add("output_norm.weight", s.hidden, 1, true, f32) && add("output.weight", s.hidden, s.vocab, false, wtype);
  if (!ok) return 1;
  Status st = g.write(out);
  if (!st.ok()) {
    std::fprintf(stderr, "random_llama: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("%s: %s, %lld layers, hidden %lld, ffn %lld, heads %lld/%lld, vocab %lld, %.1f MB of tensors\n", out.c_str(),
              type_name.c_str(), (long long)s.layers, (long long)s.hidden, (long long)s.ffn, (long long)s.heads,
              (long long)s.kv_heads, (long long)s.vocab, total_bytes / 1e6);
  return 0;
}
