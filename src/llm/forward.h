// The transformer layers of a language model over a batch of rows, shared by Context (one
// sequence) and BatchContext (rows of several sequences): embeddings, then per layer RMSNorm,
// Q/K/V projections (+ biases), RoPE at each row's own position, attention (the caller's: it
// owns the KV cache), output projection, gated FFN (SiLU or GELU-tanh) with the residuals; then
// the final norm and the logits. Every projection goes through kernels::ggml_matmul, which
// threads over rows.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

#include "core/env.h"
#include "edgeai/status.h"
#include "llm/model.h"

namespace edgeai::kernels::cpu {
struct UKernels;
}

namespace edgeai::llm {

// Attention scores sc[0, len) (q.k) to softmax weights in place: times scale, soft-capped when
// cap > 0 (cap * tanh(s / cap)), then the CPU's vector softmax in f32. Context and BatchContext
// both use it.
void attention_softmax(const kernels::cpu::UKernels& uk, float* sc, int64_t len, float scale, float cap);

class ForwardPass {
 public:
  ForwardPass(const Model& model, Env& env) : model_(model), env_(env) {}

  // Scratch for up to n_batch rows; n_ctx selects the RoPE frequency factors. Throws
  // std::bad_alloc.
  void allocate(int64_t n_ctx, int64_t n_batch);

  // Attention of layer il: called when q (n x n_embd_q), k and v (n x n_embd_k / n_embd_v) hold
  // the rows' projections with RoPE applied; stores K/V in the caller's cache and writes att
  // (n x n_head * head_dim_v).
  using Attention = std::function<Status(int64_t il)>;

  // Runs tokens[t] at positions[t] (t < n <= n_batch) through every layer; the hidden states are
  // left in x.
  Status layers(std::span<const int32_t> tokens, std::span<const int64_t> positions, const Attention& attend);
  // xn row i = the final norm of x row rows[i].
  void final_norm(std::span<const int64_t> rows);
  // logits (m x n_vocab) of the first m rows of xn, with the final soft-cap.
  Status logits(int64_t m, float* out);

  // Per-row scratch, n_batch rows each.
  std::vector<float> x, xn, q, k, v, att;

 private:
  Status matmul(const WeightView& w, const float* in, int64_t rows, float* out);
  // Several projections of the same input (Q/K/V, gate/up): the input is quantized once per
  // weight type and all their rows are split over the pool together.
  Status matmul_many(std::initializer_list<std::pair<const WeightView&, float*>> ws, const float* in, int64_t rows);
  void rope(float* v, int64_t n_heads, int64_t n) const;
  // rope_cos_ / rope_sin_ rows for the positions. A position's values (below n_ctx) are computed
  // once per ForwardPass (a context's or a lane's) and kept: a decode step copies them.
  void rope_tables(std::span<const int64_t> positions);

  const Model& model_;
  Env& env_;
  int64_t n_ctx_ = 0;
  std::vector<float> qkv_, proj_, gate_, up_, rope_cos_, rope_sin_;
  std::vector<double> rope_inv_freq_;             // per rotated pair
  std::vector<float> rope_pos_cos_, rope_pos_sin_;  // positions [0, rope_pos_ready_), half values each
  int64_t rope_pos_ready_ = 0;
};

}  // namespace edgeai::llm
