// One sequence's state over a Model: the KV cache (f32 or f16, sized to the context asked for)
// and the scratch of the forward pass. eval() runs a batch of tokens at positions [pos, pos+n)
// and leaves the logits of the last token (or of every token when asked).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/env.h"
#include "edgeai/status.h"
#include "llm/forward.h"
#include "llm/model.h"

namespace edgeai::llm {

class Context {
 public:
  // Allocates the KV cache and scratch (Model::estimate_memory says how much, beforehand).
  // The model and the env must outlive the context.
  static Result<std::unique_ptr<Context>> create(const Model& model, Env& env, const ContextOptions& opts = {});
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Runs tokens at positions [pos, pos + tokens.size()). pos may be below n_past() to rewind (the
  // cache after pos is dropped) but not above it. Batches longer than n_batch are split.
  // Checks token ids and the context bound first; on error nothing has changed.
  Status eval(std::span<const int32_t> tokens, int64_t pos, bool all_logits = false);
  // Same, appending at n_past().
  Status append(std::span<const int32_t> tokens, bool all_logits = false) { return eval(tokens, n_past_, all_logits); }

  // Logits of the last evaluated token (n_vocab values).
  std::span<const float> logits() const;
  // Logits of token i of the last eval(..., all_logits = true).
  std::span<const float> logits_at(int64_t i) const;
  int64_t n_logit_rows() const { return n_logit_rows_; }

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_batch() const { return n_batch_; }
  void clear() { n_past_ = 0; n_logit_rows_ = 0; }
  // Forgets the cache after the first n tokens (the logits stay until the next eval).
  void truncate(int64_t n) { n_past_ = std::clamp<int64_t>(n, 0, n_past_); }
  const Model& model() const { return model_; }
  Env& env() const { return env_; }

 private:
  Context(const Model& model, Env& env) : model_(model), env_(env), fwd_(model, env) {}
  Status forward(const int32_t* tokens, int64_t n, int64_t pos, bool all_logits, float* logits_out);
  Status attention(int64_t il, int64_t n, int64_t pos);
  void store_kv(int64_t il, int64_t n, int64_t pos);

  const Model& model_;
  Env& env_;
  int64_t n_ctx_ = 0;
  int64_t n_batch_ = 0;
  KvType kv_type_ = KvType::kF32;
  int64_t n_past_ = 0;
  int n_slots_ = 1;  // pool threads

  // KV cache: per layer and KV head, n_ctx rows of head_dim_k (K) and head_dim_v (V) values.
  std::vector<float> k_f32_, v_f32_;
  std::vector<uint16_t> k_f16_, v_f16_;

  ForwardPass fwd_;  // the layers and their scratch (n_batch rows)
  // Attention scratch: scores, query rows of one KV group, f16 values converted to f32.
  std::vector<float> scores_, vconv_, qrows_;
  std::vector<float> logits_;
  int64_t n_logit_rows_ = 0;
};

}  // namespace edgeai::llm
