// llm::Sampler on hand-made logits. Oracle: the definitions (llama.cpp's order and penalty
// rules), computed by hand for each case.
#include "llm/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <random>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/cpu_features.h"

namespace edgeai::llm {
namespace {

SamplerParams off() {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  return p;
}

std::set<int32_t> ids(const std::vector<TokenProb>& d) {
  std::set<int32_t> s;
  for (auto& t : d) s.insert(t.id);
  return s;
}

// logits: softmax -> p = {0.5, 0.25, 0.125, 0.0625, 0.0625} for ids {3, 0, 4, 1, 2}
const std::vector<float> kLogits = {std::log(0.25f), std::log(0.0625f), std::log(0.0625f), std::log(0.5f),
                                    std::log(0.125f)};

TEST(LlmSampler, GreedyIsArgmaxWithLowestIdOnTies) {
  SamplerParams p = off();
  p.temperature = 0;
  Sampler s(p);
  EXPECT_EQ(s.sample(kLogits), 3);
  std::vector<float> tie = {1, 5, 5, 2};
  EXPECT_EQ(s.sample(tie), 1);
  auto d = s.distribution(tie);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, 1);
  EXPECT_FLOAT_EQ(d[0].p, 1.0f);
}

TEST(LlmSampler, FullDistributionIsSoftmax) {
  Sampler s(off());
  auto d = s.distribution(kLogits);
  ASSERT_EQ(d.size(), 5u);
  std::vector<int32_t> order{3, 0, 4, 1, 2};
  std::vector<float> probs{0.5f, 0.25f, 0.125f, 0.0625f, 0.0625f};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(d[i].id, order[i]);
    EXPECT_NEAR(d[i].p, probs[i], 1e-6);
  }
}

TEST(LlmSampler, TopK) {
  SamplerParams p = off();
  p.top_k = 2;
  Sampler s(p);
  auto d = s.distribution(kLogits);
  EXPECT_EQ(ids(d), (std::set<int32_t>{3, 0}));
  EXPECT_NEAR(d[0].p, 2.0 / 3.0, 1e-6);  // renormalized 0.5 / 0.75
}

TEST(LlmSampler, TopP) {
  SamplerParams p = off();
  p.top_p = 0.7f;  // 0.5 < 0.7 <= 0.75: keeps the two most likely
  Sampler s(p);
  EXPECT_EQ(ids(s.distribution(kLogits)), (std::set<int32_t>{3, 0}));
  p.top_p = 0.8f;  // 0.75 < 0.8 <= 0.875
  Sampler s2(p);
  EXPECT_EQ(ids(s2.distribution(kLogits)), (std::set<int32_t>{3, 0, 4}));
  p.top_p = 0.1f;  // at least one survives
  Sampler s3(p);
  EXPECT_EQ(ids(s3.distribution(kLogits)), (std::set<int32_t>{3}));
}

TEST(LlmSampler, MinP) {
  SamplerParams p = off();
  p.min_p = 0.25f;  // threshold 0.125: keeps 0.5, 0.25, 0.125
  Sampler s(p);
  EXPECT_EQ(ids(s.distribution(kLogits)), (std::set<int32_t>{3, 0, 4}));
  p.min_p = 0.26f;
  Sampler s2(p);
  EXPECT_EQ(ids(s2.distribution(kLogits)), (std::set<int32_t>{3, 0}));
}

TEST(LlmSampler, TemperatureSharpensAndFlattens) {
  SamplerParams p = off();
  p.temperature = 0.5f;  // p ~ p^2: 0.25, 0.0625, ... normalized by 0.25+0.0625+0.015625+2*0.00390625
  Sampler s(p);
  auto d = s.distribution(kLogits);
  const double z = 0.25 + 0.0625 + 0.015625 + 2 * 0.00390625;
  EXPECT_NEAR(d[0].p, 0.25 / z, 1e-5);
  p.temperature = 2.0f;
  Sampler s2(p);
  EXPECT_LT(s2.distribution(kLogits)[0].p, 0.5f);
}

TEST(LlmSampler, RepetitionPenaltyFollowsLlamaCppRule) {
  SamplerParams p = off();
  p.temperature = 0;
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  std::vector<float> l = {2.0f, 1.5f, -1.0f};
  EXPECT_EQ(s.sample(l), 0);
  s.accept(0);  // 2.0 / 2 = 1.0 < 1.5
  EXPECT_EQ(s.sample(l), 1);
  // Negative logits are multiplied: -1 * 2 = -2.
  SamplerParams q = off();
  q.repeat_penalty = 2.0f;
  Sampler t(q);
  t.accept(2);
  auto d = t.distribution(l);
  float p2 = 0;
  for (auto& x : d)
    if (x.id == 2) p2 = x.p;
  const double z = std::exp(2.0) + std::exp(1.5) + std::exp(-2.0);
  EXPECT_NEAR(p2, std::exp(-2.0) / z, 1e-6);
}

TEST(LlmSampler, FrequencyAndPresencePenalties) {
  SamplerParams p = off();
  p.temperature = 0;
  p.frequency_penalty = 0.4f;
  Sampler s(p);
  std::vector<float> l = {1.0f, 0.5f};
  s.accept(0);
  EXPECT_EQ(s.sample(l), 0);  // 1.0 - 0.4 = 0.6 > 0.5
  s.accept(0);
  EXPECT_EQ(s.sample(l), 1);  // 1.0 - 0.8 = 0.2 < 0.5
  SamplerParams q = off();
  q.temperature = 0;
  q.presence_penalty = 0.6f;
  Sampler t(q);
  t.accept(0);
  EXPECT_EQ(t.sample(l), 1);  // 0.4 < 0.5, however often it was seen
}

TEST(LlmSampler, PenaltyWindowForgetsOldTokens) {
  SamplerParams p = off();
  p.temperature = 0;
  p.repeat_penalty = 10.0f;
  p.penalty_last_n = 2;
  Sampler s(p);
  std::vector<float> l = {3.0f, 1.0f, 0.5f, 0.1f};
  s.accept(0);
  EXPECT_EQ(s.sample(l), 1);
  s.accept(2);
  s.accept(3);  // 0 left the window of 2
  EXPECT_EQ(s.sample(l), 0);
}

TEST(LlmSampler, SameSeedSameTokensOtherSeedOtherTokens) {
  std::vector<float> l(100);
  for (int i = 0; i < 100; ++i) l[i] = std::sin(i * 0.7f);
  auto draw = [&](uint64_t seed) {
    SamplerParams p = off();
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(l));
    return out;
  };
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
  // Draws follow the distribution: frequencies close to the probabilities.
  SamplerParams p = off();
  p.seed = 7;
  Sampler s(p);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) counts[s.sample(kLogits)]++;
  EXPECT_NEAR(counts[3] / (double)n, 0.5, 0.02);
  EXPECT_NEAR(counts[4] / (double)n, 0.125, 0.02);
}

TEST(LlmSampler, Pcg32KnownSequence) {
  // Same seed, same stream: identical; different seeds diverge at once.
  Pcg32 a(1), b(1), c(2);
  for (int i = 0; i < 10; ++i) {
    uint32_t x = a.next();
    EXPECT_EQ(x, b.next());
    (void)c;
  }
  Pcg32 d(1);
  double u = d.uniform();
  EXPECT_GE(u, 0.0);
  EXPECT_LT(u, 1.0);
}

TEST(LlmSampler, HostileLogitsAndParams) {
  SamplerParams p = off();
  Sampler s(p);
  EXPECT_EQ(s.sample({}), -1);
  std::vector<float> nan = {NAN, 1.0f, NAN};
  EXPECT_EQ(s.sample(nan), 1);
  std::vector<float> ninf = {-INFINITY, -INFINITY};
  int32_t t = s.sample(ninf);
  EXPECT_TRUE(t == 0 || t == 1);
  SamplerParams bad = off();
  bad.top_p = 0;
  EXPECT_FALSE(bad.validate().empty());
  bad = off();
  bad.repeat_penalty = -1;
  EXPECT_FALSE(bad.validate().empty());
  bad = off();
  bad.min_p = 2;
  EXPECT_FALSE(bad.validate().empty());
  EXPECT_TRUE(off().validate().empty());
}

// Oracle: the (logit, id) comparison the sampler orders by (larger logit first, equal logits
// lower id first, -0 == +0). Random logits drawn from a few values so ties are common, with
// -0, +0, -inf, +inf, denormals and large magnitudes mixed in.
TEST(LlmSampler, OrderKeySortsLikeTheComparison) {
  const float pool[] = {0.0f, -0.0f, -INFINITY, INFINITY, 1.0f, -1.0f, 1e-40f, -1e-40f, 3.5f, -3.5f,
                        1e30f, -1e30f, 0.25f, std::nextafter(1.0f, 2.0f), std::nextafter(-1.0f, -2.0f)};
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const int n = 1 + (int)(rng() % 600);
    std::vector<float> l((size_t)n);
    for (float& v : l) v = rng() % 3 == 0 ? std::uniform_real_distribution<float>(-8, 8)(rng) : pool[rng() % 15];
    std::vector<int32_t> want((size_t)n);
    std::iota(want.begin(), want.end(), 0);
    std::shuffle(want.begin(), want.end(), rng);
    std::vector<int32_t> got = want;
    std::sort(want.begin(), want.end(), [&](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
    std::sort(got.begin(), got.end(), [&](int32_t a, int32_t b) {
      return sampler_order_key(l[a], a) < sampler_order_key(l[b], b);
    });
    ASSERT_EQ(got, want) << "round " << round;
  }
}

// The full distribution without top-p and min-p (the path that skips the untempered softmax):
// softmax of logit / T in the comparison order, checked against the definition.
TEST(LlmSampler, FullDistributionWithTemperatureAndTies) {
  SamplerParams p = off();
  p.temperature = 0.5f;
  Sampler s(p);
  const std::vector<float> l = {1.0f, -0.0f, 2.0f, 0.0f, 2.0f, -INFINITY};
  auto d = s.distribution(l);
  const std::vector<int32_t> order = {2, 4, 0, 1, 3, 5};
  ASSERT_EQ(d.size(), order.size());
  double sum = 0;
  for (float v : l) sum += std::isinf(v) ? 0.0 : std::exp((v - 2.0) / 0.5);
  for (size_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(d[i].id, order[i]);
    const float v = l[(size_t)order[i]];
    EXPECT_NEAR(d[i].p, std::isinf(v) ? 0.0 : std::exp((v - 2.0) / 0.5) / sum, 1e-6);
  }
}

// Without filters sample() draws in id order without sorting (draw_unfiltered); with top-k
// cutting nothing it takes the same path. Oracle: distribution() (the sorted path, checked
// against the definition above): draw frequencies within 4 standard errors of its probabilities;
// -inf logits are never drawn; +inf logits share all the mass.
TEST(LlmSampler, UnfilteredDrawFollowsTheDistribution) {
  const std::vector<float> l = {1.0f, -0.0f, 2.0f, 0.0f, 2.0f, -INFINITY, 0.5f};
  for (int32_t top_k : {0, 7, 100}) {
    SamplerParams p = off();
    p.temperature = 0.7f;
    p.top_k = top_k;
    p.seed = 11;
    Sampler s(p);
    const auto d = s.distribution(l);
    const int n = 40000;
    std::map<int32_t, int> counts;
    for (int i = 0; i < n; ++i) counts[s.sample(l)]++;
    EXPECT_EQ(counts.count(5), 0u);
    for (const TokenProb& t : d) {
      const double se = std::sqrt(t.p * (1 - t.p) / n);
      EXPECT_NEAR(counts[t.id] / (double)n, t.p, 4 * se + 1e-9) << "token " << t.id << ", top_k " << top_k;
    }
  }
  Sampler s(off());
  const std::vector<float> inf = {0.0f, INFINITY, 3.0f, INFINITY, -INFINITY};
  std::map<int32_t, int> counts;
  for (int i = 0; i < 2000; ++i) counts[s.sample(inf)]++;
  EXPECT_EQ(counts[1] + counts[3], 2000);
  EXPECT_GT(counts[1], 800);
  EXPECT_GT(counts[3], 800);
}

// The exp functions a sampler may be given: std::exp and the vector versions this CPU runs.
std::vector<std::pair<std::string, kernels::cpu::ScaledExpFn>> exp_variants() {
  std::vector<std::pair<std::string, kernels::cpu::ScaledExpFn>> v = {{"scalar", kernels::cpu::scaled_exp_scalar}};
#if defined(__x86_64__)
  const CpuFeatures cpu = detect_cpu_features();
  if (cpu.avx512f && cpu.avx512vl) v.push_back({"avx512", kernels::cpu::scaled_exp_glibc_avx512});
  if (cpu.avx2 && cpu.fma) v.push_back({"avx2", kernels::cpu::scaled_exp_glibc_avx2});
#endif
  v.push_back({"picked", kernels::cpu::scaled_exp_for(detect_cpu_features())});
  return v;
}

// Random logits as a model gives them, with -inf ones, ties and a wide spread.
std::vector<float> random_logits(std::mt19937& rng, size_t n, float spread) {
  std::normal_distribution<float> nd(0.0f, spread);
  std::vector<float> l(n);
  for (float& f : l) f = nd(rng);
  if (n > 2) {
    l[rng() % n] = -INFINITY;
    l[rng() % n] = l[rng() % n];
  }
  return l;
}

// The unfiltered draw before the sampler's exp was vectorized: std::exp per logit, then a walk
// over the tokens in id order. Oracle: a seed must draw the same tokens as it did then.
int32_t walk_draw(const std::vector<float>& l, float temp, Pcg32& rng) {
  float mx = -INFINITY;
  for (float v : l) mx = std::max(mx, v);
  if (mx == -INFINITY) return 0;
  std::vector<float> probs(l.size());
  double sum = 0.0;
  for (size_t i = 0; i < l.size(); ++i) {
    const float e = mx == INFINITY ? (l[i] == INFINITY ? 1.0f : 0.0f) : (std::isinf(l[i]) ? 0.0f : std::exp((l[i] - mx) / temp));
    probs[i] = e;
    sum += e;
  }
  const double u = rng.uniform() * sum;
  double cum = 0.0;
  int32_t last = 0;
  for (size_t i = 0; i < l.size(); ++i) {
    if (probs[i] <= 0.0f) continue;
    cum += probs[i];
    last = (int32_t)i;
    if (u < cum) return last;
  }
  return last;
}

TEST(LlmSampler, UnfilteredDrawsAreTheWalkOverStdExpWithEveryExp) {
  std::mt19937 rng(3);
  for (const auto& [name, fn] : exp_variants()) {
    SCOPED_TRACE(name);
    for (size_t n : {1, 2, 7, 33, 512, 1001}) {
      for (float temp : {0.8f, 0.05f, 1.7f}) {
        std::vector<float> l = random_logits(rng, n, n % 2 ? 3.0f : 12.0f);
        if (n == 33 && temp == 1.7f) l[5] = l[9] = INFINITY;  // +inf logits share the mass
        SamplerParams p = off();
        p.temperature = temp;
        p.seed = rng();
        Sampler s(p, fn);
        Pcg32 oracle(p.seed);
        for (int i = 0; i < 64; ++i) ASSERT_EQ(s.sample(l), walk_draw(l, temp, oracle)) << "n " << n << " draw " << i;
      }
    }
  }
}

TEST(LlmSampler, FilteredDrawsAndDistributionsAreTheSameWithEveryExp) {
  std::mt19937 rng(5);
  for (const auto& [name, fn] : exp_variants()) {
    SCOPED_TRACE(name);
    for (int round = 0; round < 24; ++round) {
      const std::vector<float> l = random_logits(rng, 1 + rng() % 700, round % 3 ? 4.0f : 20.0f);
      SamplerParams p;  // top-k 40, top-p 0.95, min-p 0.05
      if (round % 4 == 1) p.top_k = 0;
      if (round % 4 == 2) p.min_p = 0.0f;
      if (round % 4 == 3) p.top_p = 1.0f;
      p.temperature = round % 2 ? 0.8f : 0.1f;
      p.repeat_penalty = round % 5 == 0 ? 1.3f : 1.0f;
      p.seed = rng();
      Sampler a(p), b(p, fn);
      for (int i = 0; i < 16; ++i) {
        const auto da = a.distribution(l), db = b.distribution(l);
        ASSERT_EQ(da.size(), db.size());
        for (size_t j = 0; j < da.size(); ++j) {
          ASSERT_EQ(da[j].id, db[j].id);
          ASSERT_EQ(std::bit_cast<uint32_t>(da[j].p), std::bit_cast<uint32_t>(db[j].p));
        }
        const int32_t t = a.sample(l);
        ASSERT_EQ(t, b.sample(l)) << "round " << round << " draw " << i;
        a.accept(t);
        b.accept(t);
      }
    }
  }
}

}  // namespace
}  // namespace edgeai::llm
