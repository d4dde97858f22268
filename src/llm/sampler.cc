#include "llm/sampler.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <unordered_map>

namespace edgeai::llm {

std::string SamplerParams::validate() const {
  if (!std::isfinite(temperature)) return "temperature must be a finite number";
  if (!(top_p > 0.0f) || !std::isfinite(top_p)) return "top-p must be in (0, 1]";
  if (!(min_p >= 0.0f) || min_p > 1.0f) return "min-p must be in [0, 1]";
  if (!(repeat_penalty > 0.0f) || !std::isfinite(repeat_penalty)) return "repeat penalty must be positive";
  if (!std::isfinite(frequency_penalty) || !std::isfinite(presence_penalty)) return "penalties must be finite";
  if (penalty_last_n < 0) return "the penalty window must be >= 0";
  return "";
}

Pcg32::Pcg32(uint64_t seed, uint64_t stream) {
  inc_ = (stream << 1u) | 1u;
  state_ = 0;
  next();
  state_ += seed;
  next();
}

uint32_t Pcg32::next() {
  uint64_t old = state_;
  state_ = old * 6364136223846793005ULL + inc_;
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

double Pcg32::uniform() {
  uint64_t hi = next() >> 5, lo = next() >> 6;  // 27 + 26 bits
  return ((double)hi * 67108864.0 + (double)lo) / 9007199254740992.0;
}

Sampler::Sampler(const SamplerParams& params, kernels::cpu::ScaledExpFn exp)
    : params_(params), rng_(params.seed), exp_(exp ? exp : kernels::cpu::scaled_exp_scalar) {}

void Sampler::reset(uint64_t seed) {
  params_.seed = seed;
  rng_ = Pcg32(seed);
  recent_.clear();
}

void Sampler::accept(int32_t token) {
  if (params_.penalty_last_n <= 0) return;
  recent_.push_back(token);
  while ((int32_t)recent_.size() > params_.penalty_last_n) recent_.pop_front();
}

void Sampler::apply_penalties(std::span<const float> logits) {
  const int32_t n = (int32_t)logits.size();
  logits_.resize(n);
  for (int32_t i = 0; i < n; ++i) logits_[i] = std::isnan(logits[i]) ? -INFINITY : logits[i];
  const bool any = params_.repeat_penalty != 1.0f || params_.frequency_penalty != 0.0f ||
                   params_.presence_penalty != 0.0f;
  if (!any || recent_.empty()) return;
  std::unordered_map<int32_t, int32_t> counts;
  for (int32_t t : recent_) {
    if (t >= 0 && t < n) counts[t]++;
  }
  for (const auto& [id, c] : counts) {
    float& l = logits_[id];
    if (params_.repeat_penalty != 1.0f) l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    l -= (float)c * params_.frequency_penalty + (c > 0 ? params_.presence_penalty : 0.0f);
  }
}

namespace {
// Most likely first; equal logits: lower id first (deterministic).
bool better(float la, int32_t ia, float lb, int32_t ib) { return la > lb || (la == lb && ia < ib); }

float logit_of_key(uint64_t key) {
  const uint32_t o = ~(uint32_t)(key >> 32);
  return std::bit_cast<float>((o & 0x80000000u) ? (o & 0x7fffffffu) : ~o);
}
}  // namespace

uint64_t sampler_order_key(float logit, int32_t id) {
  uint32_t bits = logit == 0.0f ? 0u : std::bit_cast<uint32_t>(logit);  // -0 sorts as +0
  const uint32_t ordered = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);  // ascending with the float
  return ((uint64_t)~ordered << 32) | (uint32_t)id;
}

void Sampler::sort_candidates(size_t k) {
  keys_.resize(cands_.size());
  for (size_t i = 0; i < cands_.size(); ++i) keys_[i] = sampler_order_key(cands_[i].logit, cands_[i].id);
  if (k < keys_.size()) {
    std::partial_sort(keys_.begin(), keys_.begin() + (std::ptrdiff_t)k, keys_.end());
    keys_.resize(k);
  } else {
    std::sort(keys_.begin(), keys_.end());
  }
  cands_.resize(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) cands_[i] = {logit_of_key(keys_[i]), (int32_t)(uint32_t)keys_[i]};
}

void Sampler::exp_into_probs(const float* x, float mx, float temp) {
  exp_(x, (int64_t)probs_.size(), mx, temp, probs_.data());
}

void Sampler::filter_and_soften() {
  cands_.resize(logits_.size());
  for (size_t i = 0; i < logits_.size(); ++i) cands_[i] = {logits_[i], (int32_t)i};
  auto cmp = [](const Cand& a, const Cand& b) { return better(a.logit, a.id, b.logit, b.id); };
  const SamplerParams& p = params_;
  if (p.temperature <= 0.0f) {
    auto best = std::min_element(cands_.begin(), cands_.end(), cmp);
    Cand c = *best;
    cands_.assign(1, c);
    probs_.assign(1, 1.0f);
    return;
  }
  sort_candidates(p.top_k > 0 ? (size_t)p.top_k : cands_.size());
  // Softmax of the (untempered) logits for top-p and min-p, as llama.cpp orders them.
  auto softmax = [&](float temp) {
    probs_.resize(cands_.size());
    scratch_.resize(cands_.size());
    for (size_t i = 0; i < cands_.size(); ++i) scratch_[i] = cands_[i].logit;
    exp_into_probs(scratch_.data(), cands_[0].logit, temp);
    double sum = 0.0;
    for (float e : probs_) sum += e;  // in order: the draws depend on its last bit
    for (float& v : probs_) v = (float)(v / sum);
  };
  if (std::isinf(cands_[0].logit) && cands_[0].logit < 0) {  // every logit -inf: keep the first
    cands_.resize(1);
    probs_.assign(1, 1.0f);
    return;
  }
  if (p.top_p >= 1.0f && p.min_p <= 0.0f) {  // no filter reads the untempered probabilities
    softmax(p.temperature);
    return;
  }
  softmax(1.0f);
  if (p.top_p < 1.0f) {
    double cum = 0.0;
    size_t keep = cands_.size();
    for (size_t i = 0; i < cands_.size(); ++i) {
      cum += probs_[i];
      if (cum >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
    cands_.resize(keep);
    probs_.resize(keep);
  }
  if (p.min_p > 0.0f) {
    const float threshold = probs_[0] * p.min_p;
    size_t keep = 1;
    while (keep < cands_.size() && probs_[keep] >= threshold) ++keep;
    cands_.resize(keep);
  }
  softmax(p.temperature);
}

std::vector<TokenProb> Sampler::distribution(std::span<const float> logits) {
  if (logits.empty()) return {};
  apply_penalties(logits);
  filter_and_soften();
  std::vector<TokenProb> out(cands_.size());
  for (size_t i = 0; i < cands_.size(); ++i) out[i] = {cands_[i].id, probs_[i]};
  return out;
}

int32_t Sampler::draw_unfiltered() {
  const float temp = params_.temperature;
  const size_t n = logits_.size();
  float mx = -INFINITY;
  for (float l : logits_) mx = std::max(mx, l);
  if (mx == -INFINITY) return 0;  // every logit -inf: the first, as the sorted path keeps
  probs_.resize(n);
  if (mx == INFINITY) {  // +inf logits share the mass; the others get none
    for (size_t i = 0; i < n; ++i) probs_[i] = logits_[i] == INFINITY ? 1.0f : 0.0f;
  } else {
    exp_into_probs(logits_.data(), mx, temp);  // -inf logits get 0
  }
  cum_.resize(n);
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    sum += probs_[i];
    cum_[i] = sum;
  }
  // The draw is the first token whose running sum passes u. The running sums never decrease, and
  // the first one past u is a token of nonzero probability (a zero adds nothing): the token a
  // walk over the nonzero ones would stop at.
  const double u = rng_.uniform() * sum;
  const auto past = std::upper_bound(cum_.begin(), cum_.end(), u);
  if (past != cum_.end()) return (int32_t)(past - cum_.begin());
  for (size_t i = n; i-- > 0;)  // u rounded up to the sum: the last token of nonzero probability
    if (probs_[i] > 0.0f) return (int32_t)i;
  return 0;
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (logits.empty()) return -1;
  apply_penalties(logits);
  const SamplerParams& p = params_;
  if (p.temperature > 0.0f && (p.top_k <= 0 || (size_t)p.top_k >= logits_.size()) && p.top_p >= 1.0f && p.min_p <= 0.0f) {
    return draw_unfiltered();
  }
  filter_and_soften();
  if (cands_.size() == 1) return cands_[0].id;
  const double u = rng_.uniform();
  double cum = 0.0;
  for (size_t i = 0; i < cands_.size(); ++i) {
    cum += probs_[i];
    if (u < cum) return cands_[i].id;
  }
  return cands_.back().id;
}

}  // namespace edgeai::llm
