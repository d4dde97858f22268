// Token sampling: penalties over the last N tokens, then top-k, top-p, min-p, temperature and a
// seeded draw (llama.cpp's default order). temperature <= 0 is greedy. The random generator is
// the sampler's own (PCG32), so the same seed gives the same tokens on every run and platform.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "kernels/cpu/libm_expf.h"

namespace edgeai::llm {

struct SamplerParams {
  float temperature = 0.8f;     // <= 0: greedy (argmax after penalties)
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off; > 1 pushes seen tokens down (llama.cpp's rule)
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int32_t penalty_last_n = 64;  // how many recent tokens the penalties look at; 0 = off
  uint64_t seed = 0;

  // Empty when valid; otherwise names the bad value.
  std::string validate() const;
};

// PCG32 (O'Neill): small, fast, and the same sequence everywhere.
class Pcg32 {
 public:
  explicit Pcg32(uint64_t seed, uint64_t stream = 0x14057b7ef767814fULL);
  uint32_t next();
  double uniform();  // [0, 1) with 53 random bits

 private:
  uint64_t state_ = 0, inc_ = 0;
};

struct TokenProb {
  int32_t id;
  float p;
};

// The sampler's candidate order as one integer: sorting keys ascending puts the larger logit
// first and, for equal logits (-0 == +0), the lower id first, exactly as comparing (logit, id)
// does. The logit must not be NaN (the sampler maps NaN to -inf first); id must be >= 0.
uint64_t sampler_order_key(float logit, int32_t id);

class Sampler {
 public:
  // exp: the softmax's exp (kernels::cpu::scaled_exp_for(cpu), which gives std::exp's floats bit
  // for bit, so that a seed draws the same tokens with any); null: std::exp.
  explicit Sampler(const SamplerParams& params, kernels::cpu::ScaledExpFn exp = nullptr);

  // Picks the next token from n_vocab logits; does not record it (call accept()). Without
  // filters the draw walks the candidates in id order, else in distribution() order.
  int32_t sample(std::span<const float> logits);
  // Records a token in the penalty window (prompt tokens too, if the caller wants them penalized).
  void accept(int32_t token);
  void reset(uint64_t seed);
  // The candidates that survive every filter, with their probabilities after temperature,
  // most likely first (ties: lower id first). Greedy gives the one argmax token with p = 1.
  std::vector<TokenProb> distribution(std::span<const float> logits);
  const SamplerParams& params() const { return params_; }

 private:
  struct Cand {
    float logit;
    int32_t id;
  };
  void apply_penalties(std::span<const float> logits);  // logits_ := the logits after penalties
  void filter_and_soften();  // cands_ from logits_, filtered, and probs_
  void sort_candidates(size_t k);  // cands_ := the k best, in order
  // The draw when no filter cuts the candidates (top-k off or >= n_vocab, top-p 1, min-p 0,
  // temperature > 0): softmax of logit / T in id order and one seeded draw, without sorting;
  // the same distribution as the sorted path, though a seed picks other tokens than it would.
  int32_t draw_unfiltered();


  // probs_[i] = std::exp((x[i] - mx) / temp) (0 for infinite x[i]) over x[0, probs_.size()).
  void exp_into_probs(const float* x, float mx, float temp);

  SamplerParams params_;
  Pcg32 rng_;
  kernels::cpu::ScaledExpFn exp_;
  std::deque<int32_t> recent_;
  std::vector<float> logits_;  // by id, NaN as -inf, penalized
  std::vector<Cand> cands_;
  std::vector<uint64_t> keys_;
  std::vector<float> probs_, scratch_;
  std::vector<double> cum_;  // the draw's running sums of probs_
};

}  // namespace edgeai::llm
