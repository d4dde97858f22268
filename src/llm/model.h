// Small language models read from GGUF files: llama (also Mistral, SmolLM, TinyLlama), qwen2,
// phi3, gemma and gemma2. A Model holds the hyperparameters and views of the weights, which stay
// in the file's read-only mapping; a Context (context.h) holds one conversation's KV cache and
// scratch and runs the forward pass.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edgeai/status.h"
#include "formats/gguf/gguf.h"

namespace edgeai::llm {

enum class Arch { kLlama, kQwen2, kPhi3, kGemma, kGemma2 };

// How RoPE pairs the dimensions of a head: kNormal rotates adjacent pairs (x[2i], x[2i+1]), the
// GGUF llama layout (llama.cpp's converter permutes HF q/k weights into it); kNeox rotates
// (x[i], x[i + n_rot/2]), as qwen2, phi3 and gemma are stored.
enum class RopeStyle { kNormal, kNeox };

enum class KvType { kF32, kF16 };

struct Hparams {
  Arch arch = Arch::kLlama;
  std::string arch_name;       // general.architecture
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;     // <arch>.context_length
  int64_t n_ctx_orig = 0;      // <arch>.rope.scaling.original_context_length (phi3 LongRoPE)
  int64_t n_embd = 0;
  int64_t n_ff = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;      // <arch>.attention.key_length, default n_embd / n_head
  int64_t head_dim_v = 0;      // <arch>.attention.value_length
  int64_t n_rot = 0;           // <arch>.rope.dimension_count, default head_dim_k
  RopeStyle rope_style = RopeStyle::kNormal;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;    // 1 / linear scaling factor
  float rope_attn_factor = 1.0f;   // multiplies rotated q and k (phi3 LongRoPE)
  float norm_eps = 1e-5f;
  float attn_scale = 0.0f;         // multiplies q.k; 1/sqrt(head_dim_k) by default
  float attn_softcap = 0.0f;       // gemma2: scores = c * tanh(scores / c); 0 = off
  float final_softcap = 0.0f;      // gemma2: logits = c * tanh(logits / c); 0 = off
  float embd_scale = 1.0f;         // gemma: sqrt(n_embd)
  int64_t sliding_window = 0;      // 0 = every layer attends to the whole context
  bool swa_even_layers_only = false;  // gemma2: layers 0, 2, 4, ... use the window
  bool ffn_gelu = false;           // gemma: GELU (tanh) gate instead of SiLU
  bool post_norms = false;         // gemma2: RMSNorm after attention and after the FFN

  int64_t n_embd_q() const { return n_head * head_dim_k; }
  int64_t n_embd_k() const { return n_head_kv * head_dim_k; }
  int64_t n_embd_v() const { return n_head_kv * head_dim_v; }
  bool layer_uses_window(int64_t il) const {
    return sliding_window > 0 && (!swa_even_layers_only || il % 2 == 0);
  }
};

// A weight matrix in the mapping: `rows` rows of `cols` values of GGML type `type`.
struct WeightView {
  const void* data = nullptr;
  uint32_t type = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t bytes = 0;
  bool present() const { return data != nullptr; }
};

struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  std::vector<float> attn_post_norm, ffn_post_norm;  // gemma2
  WeightView wq, wk, wv, wqkv, wo;                   // wqkv: phi3 fused (q rows, k rows, v rows)
  std::vector<float> bq, bk, bv;                     // qwen2; empty when absent
  WeightView ffn_gate, ffn_up, ffn_down;             // phi3: ffn_up holds gate rows then up rows
};

struct ContextOptions {
  int64_t n_ctx = 0;     // 0: min(4096, training context)
  int64_t n_batch = 512; // tokens per forward step (prompt processing)
  KvType kv_type = KvType::kF32;
  // Keep logits for every token of a batch up to n_ctx (perplexity): n_ctx x n_vocab floats,
  // allocated up front. Otherwise eval(all_logits = true) allocates them on first use.
  bool logits_all = false;
};

// Bytes a run needs, known before anything is allocated.
struct MemoryEstimate {
  int64_t weights = 0;   // mapped tensor data the forward pass reads
  int64_t kv_cache = 0;
  int64_t scratch = 0;   // activations, logits, attention scores
  int64_t n_ctx = 0;     // the context these figures are for
  int64_t total() const { return weights + kv_cache + scratch; }
};

class Model {
 public:
  // Opens, maps and validates: architecture, hyperparameters, and every tensor's presence,
  // type and shape. Errors name the file and the tensor or key.
  static Result<std::unique_ptr<Model>> load(const std::string& path);
  // Same, from a file already opened (the caller shares it with the tokenizer).
  static Result<std::unique_ptr<Model>> from_gguf(std::shared_ptr<const formats::GgufFile> file);
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const Hparams& hparams() const { return hp_; }
  const formats::GgufFile& gguf() const { return *file_; }
  std::shared_ptr<const formats::GgufFile> gguf_shared() const { return file_; }
  const std::string& path() const { return file_->path(); }

  // The context length a ContextOptions resolves to.
  int64_t resolve_n_ctx(const ContextOptions& opts) const;
  MemoryEstimate estimate_memory(const ContextOptions& opts) const;
  // Human summary: "llama, 5 layers, 64 embd, 8/4 heads, 512 vocab, f32".
  std::string describe() const;

  // Weights (read by Context).
  const WeightView& token_embd() const { return token_embd_; }
  const WeightView& output() const { return output_; }
  const std::vector<float>& output_norm() const { return output_norm_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
  // RoPE frequency divisors (n_rot / 2 values, or empty): llama3's rope_freqs, or phi3's
  // LongRoPE short factors, long ones when the context exceeds the original context length.
  const std::vector<float>& rope_factors(int64_t n_ctx) const {
    return n_ctx > hp_.n_ctx_orig && !rope_long_.empty() ? rope_long_ : rope_short_;
  }
  int64_t weight_bytes() const { return weight_bytes_; }

 private:
  Model() = default;
  Status init();
  Status read_hparams();
  Status bind_weights();

  std::shared_ptr<const formats::GgufFile> file_;
  Hparams hp_;
  WeightView token_embd_, output_;
  std::vector<float> output_norm_;
  std::vector<float> rope_short_, rope_long_;
  std::vector<LayerWeights> layers_;
  int64_t weight_bytes_ = 0;
};

const char* arch_name(Arch arch);

}  // namespace edgeai::llm
