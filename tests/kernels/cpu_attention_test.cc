// UKernels::attention (kernels/cpu/attention_impl.h), the language models' attention of one query
// row over one KV head's cache. Oracle: the formula in ukernels.h evaluated in double (scores,
// soft-cap, softmax, weighted sum of the value rows). Every ISA's table, head sizes that fill, split
// and fall short of a vector (1 to 130), 1 to 5 query heads per KV head, position ranges from a
// single position to past two vectors of every ISA with a tail, a window (lo > 0), the soft-cap,
// and a key row pitch (ld_kt) wider than the range it reads.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/ukernels.h"
#include "kernels/cpu_test_util.h"

namespace edgeai::kernels::cpu {
namespace {

std::vector<double> reference(const AttentionArgs& a) {
  std::vector<double> out((size_t)(a.n_q * a.hd_v), 0.0);
  const int64_t n = a.hi - a.lo;
  for (int64_t h = 0; h < a.n_q; ++h) {
    std::vector<double> s((size_t)n);
    double mx = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
      double dot = 0.0;
      for (int64_t d = 0; d < a.hd_k; ++d) dot += (double)a.q[h * a.hd_k + d] * a.kt[d * a.ld_kt + a.lo + j];
      dot *= a.scale;
      if (a.cap > 0) dot = a.cap * std::tanh(dot / a.cap);
      s[(size_t)j] = dot;
      mx = std::max(mx, dot);
    }
    double sum = 0.0;
    for (double& v : s) sum += (v = std::exp(v - mx));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t d = 0; d < a.hd_v; ++d) out[(size_t)(h * a.hd_v + d)] += s[(size_t)j] / sum * a.v[(a.lo + j) * a.hd_v + d];
  }
  return out;
}

TEST(CpuAttention, MatchesReferenceOnEveryIsa) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  struct Case {
    int64_t hd_k, hd_v, n_q, lo, hi;
    float cap;
  };
  std::vector<Case> cases;
  for (int64_t hd : {1, 3, 8, 16, 24, 33, 64, 130})
    for (int64_t n_q : {1, 2, 5})
      for (int64_t hi : {1, 7, 16, 31, 33, 50, 67})
        cases.push_back({hd, hd, n_q, 0, hi, 0.0f});
  cases.push_back({8, 8, 2, 20, 67, 0.0f});   // window: positions [20, 67)
  cases.push_back({16, 16, 4, 3, 4, 0.0f});   // one position past the window start
  cases.push_back({8, 8, 2, 0, 45, 5.0f});    // soft-cap
  cases.push_back({24, 40, 3, 5, 70, 0.0f});  // keys and values of different sizes
  const int64_t ld = 80;                      // wider than any hi above
  for (const CpuFeatures& cpu : edgeai::testing::isa_variants()) {
    const UKernels& uk = ukernels_for(cpu);
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(uk.name) + ": hd " + std::to_string(c.hd_k) + "/" + std::to_string(c.hd_v) + ", " +
                   std::to_string(c.n_q) + " query heads, positions [" + std::to_string(c.lo) + ", " +
                   std::to_string(c.hi) + "), cap " + std::to_string(c.cap));
      std::vector<float> q((size_t)(c.n_q * c.hd_k)), kt((size_t)(c.hd_k * ld)), v((size_t)(ld * c.hd_v));
      for (float& x : q) x = nd(rng);
      for (float& x : kt) x = nd(rng);
      for (float& x : v) x = nd(rng);
      // Keys and values outside the range are poisoned: the kernel must not use them.
      for (int64_t j = 0; j < ld; ++j) {
        if (j >= c.lo && j < c.hi) continue;
        for (int64_t d = 0; d < c.hd_k; ++d) kt[(size_t)(d * ld + j)] = NAN;
        for (int64_t d = 0; d < c.hd_v; ++d) v[(size_t)(j * c.hd_v + d)] = NAN;
      }
      std::vector<float> scores((size_t)(c.n_q * (c.hi - c.lo)), NAN);
      std::vector<float> out((size_t)(c.n_q * c.hd_v), NAN);
      AttentionArgs a;
      a.q = q.data();
      a.n_q = c.n_q;
      a.hd_k = c.hd_k;
      a.hd_v = c.hd_v;
      a.kt = kt.data();
      a.ld_kt = ld;
      a.v = v.data();
      a.lo = c.lo;
      a.hi = c.hi;
      a.scale = 1.0f / std::sqrt((float)c.hd_k);
      a.cap = c.cap;
      a.scores = scores.data();
      a.out = out.data();
      uk.attention(a);
      const std::vector<double> want = reference(a);
      for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5 * (1.0 + std::fabs(want[i]))) << "output " << i;
    }
  }
}

}  // namespace
}  // namespace edgeai::kernels::cpu
