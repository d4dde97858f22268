// Several sequences over one Model, decoded together: each slot has its own KV cache (f32), and
// one eval() runs a batch of rows from any slots through the forward pass, so every weight matrix
// is read once for all of them (kernels::ggml_matmul over the rows), while each row attends only
// to its own slot's cache. A decode step of N sequences is one row per slot; a prompt is many
// rows of one slot (causal within the slot, as Context does). The server (apps/serve) uses it for
// --parallel N; a single slot gives the same tokens as Context (tests/llm/batch_test.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/env.h"
#include "edgeai/status.h"
#include "llm/forward.h"
#include "llm/model.h"

namespace edgeai::llm {

class PieceRunner;  // batch.cc: the helper threads of split steps

struct BatchOptions {
  int64_t n_ctx = 0;    // per slot; 0: min(4096, training context)
  int64_t n_slots = 1;
  int64_t n_batch = 512;  // rows per forward pass (longer evals are split)
  // Callers that may run eval_on()/embed() at once, each on its own lane (a one-thread
  // environment), over disjoint slots; 0: none (eval() only).
  int n_lanes = 0;
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
  // Whether every projection of the model over `rows` rows is too small for ggml_matmul to thread
  // (then a step of several slots on several threads gives each thread whole slots' rows).
  static bool too_small_to_thread(const Model& model, int64_t rows);
  ~BatchContext();
  BatchContext(const BatchContext&) = delete;
  BatchContext& operator=(const BatchContext&) = delete;

  // Runs the rows. Within a slot, rows must come in order with consecutive positions, the first
  // at or below the slot's n_past (lower rewinds the slot). Checks slots, token ids, positions and
  // the context bound first; on error nothing has changed.
  // on_logits (optional) is called with each logit row's index and logits as soon as they are
  // computed, on the thread that computed them: calls for different rows may run at once (a
  // split step), so it must touch nothing that another row's call touches.
  using LogitsFn = std::function<void(int64_t i, std::span<const float> logits)>;
  Status eval(std::span<const BatchRow> rows, const LogitsFn& on_logits = nullptr);
  // Logits of the i-th row that asked for them in the last eval (n_vocab values).
  std::span<const float> logits(int64_t i) const;
  // eval() on caller lane `lane` ([0, n_lanes)), whole on the calling thread, the logits to
  // on_logits only (logits() does not see them). Calls on different lanes may run at once when
  // their rows' slots are disjoint (no slot in two calls at a time).
  Status eval_on(int lane, std::span<const BatchRow> rows, const LogitsFn& on_logits);
  int64_t n_logit_rows() const { return n_logit_rows_; }

  // Embedding of a text: the mean over its tokens of the final hidden state (after the output
  // norm), computed in `slot` from an empty cache (the slot is left cleared).
  // lane >= 0: on that caller lane (as eval_on).
  Status embed(int32_t slot, std::span<const int32_t> tokens, std::vector<float>* out, int lane = -1);

  int64_t n_past(int32_t slot) const { return n_past_[slot]; }
  void clear(int32_t slot) { n_past_[slot] = 0; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_slots() const { return (int64_t)n_past_.size(); }
  int64_t n_batch() const { return n_batch_; }
  const Model& model() const { return model_; }

 private:
  // What a thread needs to run rows through the layers: the forward pass and its scratch
  // (n_batch rows), the attention scores, per-eval index scratch, and the environment whose pool
  // it uses.
  struct Lane {
    Env* env = nullptr;
    std::unique_ptr<Env> own_env;  // split steps' lanes: a one-thread pool each
    std::unique_ptr<ForwardPass> fwd;
    std::vector<float> scores;  // one n_ctx row per query head of a group, per pool thread
    std::vector<int32_t> tokens;
    std::vector<int64_t> positions, keep;
    std::vector<float> logits;  // caller lanes: the logits of an eval_on
  };
  BatchContext(const Model& model, Env& env);
  // Runs the rows on the lane; the logit rows go to `logits` in row order (logit row index
  // first_logit on), each then to on_logits when set.
  Status forward(Lane& lane, std::span<const BatchRow> rows, bool hidden_only, float* logits, int64_t first_logit = 0,
                 const LogitsFn& on_logits = nullptr);
  void attention(Lane& lane, int64_t il, std::span<const BatchRow> rows);
  // Whether a step's rows go to the threads as whole slots, one lane each (a model whose every
  // projection over the step's rows is too small for ggml_matmul to thread, and two slots at
  // least); then lane i runs rows [cuts[i], cuts[i + 1]).
  bool split(std::span<const BatchRow> rows, std::vector<size_t>* cuts) const;
  // main_'s forward pass and scratch, and logits_ (may throw std::bad_alloc); main_lane() makes
  // them on first use where create() did not (callers with lanes of their own).
  void allocate_main();
  Status main_lane();
  // The checks eval() makes before running anything.
  Status check(std::span<const BatchRow> rows) const;
  // After a failed forward pass: each slot's cache from its first row on is void.
  void rewind(std::span<const BatchRow> rows);

  const Model& model_;
  Env& env_;
  int64_t n_ctx_ = 0;
  int64_t n_batch_ = 0;
  int64_t largest_ = 0;  // the largest projection's multiply-adds per row
  std::vector<int64_t> n_past_;
  // Per slot, per layer and KV head: K transposed (head_dim_k rows of n_ctx positions) and V
  // (n_ctx rows of head_dim_v values).
  std::vector<float> k_, v_;
  Lane main_;                // every row of a step, on the caller's pool
  std::vector<Lane> lanes_;  // split steps (small models only)
  std::vector<Lane> callers_;  // eval_on's lanes
  std::unique_ptr<PieceRunner> runner_;  // lanes_.size() - 1 helper threads; declared after lanes_,
                                         // so that it is stopped first
  std::vector<size_t> cuts_;
  int unsplit_steps_ = 0;  // split steps left to run whole (see kUnsplitSteps)
  std::vector<float> logits_;
  int64_t n_logit_rows_ = 0;
};

}  // namespace edgeai::llm
