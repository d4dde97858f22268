// Several sequences over one Model, decoded together: each slot has its own KV cache (f32), and
// one eval() runs a batch of rows from any slots through the forward pass, so every weight matrix
// is read once for all of them (kernels::ggml_matmul over the rows), while each row attends only
// to its own slot's cache. A decode step of N sequences is one row per slot; a prompt is many
// rows of one slot (causal within the slot, as Context does). The server (apps/serve) uses it for
// --parallel N; a single slot gives the same tokens as Context (tests/llm/batch_test.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/env.h"
#include "edgeai/status.h"
#include "llm/forward.h"
#include "llm/model.h"

namespace edgeai::llm {

struct BatchOptions {
  int64_t n_ctx = 0;    // per slot; 0: min(4096, training context)
  int64_t n_slots = 1;
  int64_t n_batch = 512;  // rows per forward pass (longer evals are split)
};

struct BatchRow {
  int32_t slot = 0;
  int32_t token = 0;
  int64_t pos = 0;
  bool logits = false;  // keep this row's logits
};

class BatchContext {
 public:
  static Result<std::unique_ptr<BatchContext>> create(const Model& model, Env& env, const BatchOptions& opts);
  BatchContext(const BatchContext&) = delete;
  BatchContext& operator=(const BatchContext&) = delete;

  // Runs the rows. Within a slot, rows must come in order with consecutive positions, the first
  // at or below the slot's n_past (lower rewinds the slot). Checks slots, token ids, positions and
  // the context bound first; on error nothing has changed.
  Status eval(std::span<const BatchRow> rows);
  // Logits of the i-th row that asked for them in the last eval (n_vocab values).
  std::span<const float> logits(int64_t i) const;
  int64_t n_logit_rows() const { return n_logit_rows_; }

  // Embedding of a text: the mean over its tokens of the final hidden state (after the output
  // norm), computed in `slot` from an empty cache (the slot is left cleared).
  Status embed(int32_t slot, std::span<const int32_t> tokens, std::vector<float>* out);

  int64_t n_past(int32_t slot) const { return n_past_[slot]; }
  void clear(int32_t slot) { n_past_[slot] = 0; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_slots() const { return (int64_t)n_past_.size(); }
  int64_t n_batch() const { return n_batch_; }
  const Model& model() const { return model_; }

 private:
  BatchContext(const Model& model, Env& env) : model_(model), env_(env), fwd_(model, env) {}
  Status forward(std::span<const BatchRow> rows, bool hidden_only);
  void attention(int64_t il, std::span<const BatchRow> rows);

  const Model& model_;
  Env& env_;
  int64_t n_ctx_ = 0;
  int64_t n_batch_ = 0;
  int n_threads_ = 1;
  std::vector<int64_t> n_past_;
  // Per slot, per layer and KV head: K transposed (head_dim_k rows of n_ctx positions) and V
  // (n_ctx rows of head_dim_v values).
  std::vector<float> k_, v_;
  ForwardPass fwd_;  // the layers and their scratch (n_batch rows)
  std::vector<float> scores_;  // attention scores, one n_ctx row per query head of a group per thread
  std::vector<int64_t> singles_, positions_, keep_;  // per-eval scratch, kept to avoid allocating per step
  std::vector<int32_t> tokens_;
  std::vector<float> logits_;
  int64_t n_logit_rows_ = 0;
};

}  // namespace edgeai::llm
