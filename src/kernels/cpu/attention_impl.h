// The attention of one query row over one KV head's cache (UKernels::attention; the argument
// layout is in ukernels.h), written once over the vector-ops abstraction (simd_portable.h);
// instantiated by each ISA's ukernels_<isa>.cc. Include only from those files.
//
// The keys are stored transposed (one row of positions per dimension), so that the scores of
// L positions are one vector and each dimension one multiply-add into it: no horizontal sum per
// position, whatever the head size (a head of 8 is half an AVX-512 register). The query heads
// that share the KV head (grouped-query attention) read each key vector once. The values stay
// row-major: the output of a head is a sum of value rows, each one multiply-add per vector.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cpu/eltwise_impl.h"
#include "kernels/cpu/simd_math.h"
#include "kernels/cpu/ukernels.h"

namespace edgeai::kernels::cpu {

template <class V>
struct AttentionImpl {
  static constexpr int L = V::kLanes;
  using F = typename V::F;

  static void attention(const AttentionArgs& a) {
    const int64_t n = a.hi - a.lo;
    if (n <= 0) {
      for (int64_t i = 0; i < a.n_q * a.hd_v; ++i) a.out[i] = 0.0f;
      return;
    }
    for (int64_t h0 = 0; h0 < a.n_q; h0 += 4) {
      switch (a.n_q - h0) {
        case 1: scores<1>(a, h0, n); break;
        case 2: scores<2>(a, h0, n); break;
        case 3: scores<3>(a, h0, n); break;
        default: scores<4>(a, h0, n); break;
      }
    }
    constexpr bool kPairs = requires(F w) { V::spread_pair(w, 0); };
    float inv[4];
    for (int64_t h = 0; h < a.n_q; ++h) {
      float* s = a.scores + h * n;
      if (a.cap > 0.0f) {
        for (int64_t j = 0; j < n; ++j) s[j] = a.cap * std::tanh(s[j] * a.scale / a.cap);
      }
      float mx;
      inv[h % 4] = 1.0f / EltwiseImpl<V>::exp_shifted(s, s, n, true, &mx);
      if constexpr (kPairs) {
        if (2 * a.hd_v == L) {  // heads of half a vector: up to 4 heads together, once their weights are in
          if (h % 4 == 3 || h + 1 == a.n_q) {
            const int64_t h0 = h - h % 4;
            switch (h - h0) {
              case 0: value_pairs<1>(a, h0, n, inv); break;
              case 1: value_pairs<2>(a, h0, n, inv); break;
              case 2: value_pairs<3>(a, h0, n, inv); break;
              default: value_pairs<4>(a, h0, n, inv); break;
            }
          }
          continue;
        }
      }
      values(a, s, n, inv[h % 4], a.out + h * a.hd_v);
    }
  }

 private:
  // Scores of query heads [h0, h0 + NH) into a.scores + h * n: the raw dot products when a.cap > 0
  // (the soft-cap then reads them), else times a.scale. Two vectors of positions at a time, so
  // that 2 * NH multiply-add chains are in flight.
  template <int NH>
  static void scores(const AttentionArgs& a, int64_t h0, int64_t n) {
    const float* q = a.q + h0 * a.hd_k;
    const float* kt = a.kt + a.lo;
    float* s = a.scores + h0 * n;
    const F scale = V::set1(a.cap > 0.0f ? 1.0f : a.scale);
    int64_t j = 0;
    for (; j + 2 * L <= n; j += 2 * L) {
      F acc[2][NH];
      for (int b = 0; b < 2; ++b)
        for (int h = 0; h < NH; ++h) acc[b][h] = V::zero();
      for (int64_t d = 0; d < a.hd_k; ++d) {
        const float* kr = kt + d * a.ld_kt + j;
        const F k0 = V::load(kr), k1 = V::load(kr + L);
        for (int h = 0; h < NH; ++h) {
          const F qv = V::set1(q[h * a.hd_k + d]);
          acc[0][h] = V::fmadd(qv, k0, acc[0][h]);
          acc[1][h] = V::fmadd(qv, k1, acc[1][h]);
        }
      }
      for (int h = 0; h < NH; ++h) {
        V::store(s + h * n + j, V::mul(acc[0][h], scale));
        V::store(s + h * n + j + L, V::mul(acc[1][h], scale));
      }
    }
    for (; j < n; j += L) {
      const int r = n - j < L ? static_cast<int>(n - j) : L;
      const typename V::Mask m = V::mask(r);
      F acc[NH];
      for (int h = 0; h < NH; ++h) acc[h] = V::zero();
      for (int64_t d = 0; d < a.hd_k; ++d) {
        const F kv = V::load(kt + d * a.ld_kt + j, m);
        for (int h = 0; h < NH; ++h) acc[h] = V::fmadd(V::set1(q[h * a.hd_k + d]), kv, acc[h]);
      }
      for (int h = 0; h < NH; ++h) V::store(s + h * n + j, V::mul(acc[h], scale), m);
    }
  }

  // out[d] = inv * sum_j w[j] v[lo + j][d], a vector of dimensions at a time: full vectors, then
  // the narrower Half vectors where they cover the rest exactly (a head of 8 on AVX-512), else
  // one masked vector.
  static void values(const AttentionArgs& a, const float* w, int64_t n, float inv, float* out) {
    using H = typename V::Half;
    const int64_t hd = a.hd_v;
    const float* v = a.v + a.lo * hd;
    int64_t c = 0;
    for (; c + L <= hd; c += L) value_chunk<V>(v, hd, c, w, n, inv, out);
    if (c == hd) return;
    if ((hd - c) % H::kLanes == 0) {
      for (; c < hd; c += H::kLanes) value_chunk<H>(v, hd, c, w, n, inv, out);
      return;
    }
    const typename V::Mask m = V::mask(static_cast<int>(hd - c));
    F acc[4] = {V::zero(), V::zero(), V::zero(), V::zero()};
    int64_t j = 0;
    for (; j + 4 <= n; j += 4)
      for (int u = 0; u < 4; ++u) acc[u] = V::fmadd(V::set1(w[j + u]), V::load(v + (j + u) * hd + c, m), acc[u]);
    for (; j < n; ++j) acc[0] = V::fmadd(V::set1(w[j]), V::load(v + j * hd + c, m), acc[0]);
    V::store(out + c, V::mul(V::add(V::add(acc[0], acc[1]), V::add(acc[2], acc[3])), V::set1(inv)), m);
  }

  // Heads of half a vector (8 values on AVX-512): two positions' value rows are one vector load,
  // shared by the NH heads [h0, h0 + NH), each of which spreads its two weights over the halves
  // (V::spread_pair); 16 positions a round, the last ones masked. out = inv * (lower + upper half).
  template <int NH>
  static void value_pairs(const AttentionArgs& a, int64_t h0, int64_t n, const float* inv) {
    const int64_t hd = a.hd_v;
    const float* v = a.v + a.lo * hd;
    F acc[NH][2];
    for (int h = 0; h < NH; ++h) acc[h][0] = acc[h][1] = V::zero();
    int64_t j = 0;
    for (; j + L <= n; j += L) {
      F w[NH];
      for (int h = 0; h < NH; ++h) w[h] = V::load(a.scores + (h0 + h) * n + j);
      for (int p = 0; p < L / 2; ++p) {
        const F vv = V::load(v + (j + 2 * p) * hd);
        for (int h = 0; h < NH; ++h) acc[h][p & 1] = V::fmadd(V::spread_pair(w[h], p), vv, acc[h][p & 1]);
      }
    }
    if (j < n) {
      const int r = static_cast<int>(n - j);
      F w[NH];
      for (int h = 0; h < NH; ++h) w[h] = V::load(a.scores + (h0 + h) * n + j, V::mask(r));  // zero past n
      for (int p = 0; 2 * p < r; ++p) {
        const F vv = V::load(v + (j + 2 * p) * hd, V::mask(2 * p + 1 < r ? L : L / 2));
        for (int h = 0; h < NH; ++h) acc[h][0] = V::fmadd(V::spread_pair(w[h], p), vv, acc[h][0]);
      }
    }
    for (int h = 0; h < NH; ++h) {
      alignas(64) float t[L];
      V::store(t, V::add(acc[h][0], acc[h][1]));
      float* out = a.out + (h0 + h) * hd;
      for (int64_t d = 0; d < hd; ++d) out[d] = (t[d] + t[d + hd]) * inv[h];
    }
  }

  // out[c, c + W::kLanes) for W = V or V::Half (which offers only zero, set1, load, store and
  // fmadd: the sums are multiply-adds by 1), over four interleaved streams of positions.
  template <class W>
  static void value_chunk(const float* v, int64_t hd, int64_t c, const float* w, int64_t n, float inv, float* out) {
    typename W::F acc[4] = {W::zero(), W::zero(), W::zero(), W::zero()};
    int64_t j = 0;
    for (; j + 4 <= n; j += 4)
      for (int u = 0; u < 4; ++u) acc[u] = W::fmadd(W::set1(w[j + u]), W::load(v + (j + u) * hd + c), acc[u]);
    for (; j < n; ++j) acc[0] = W::fmadd(W::set1(w[j]), W::load(v + j * hd + c), acc[0]);
    const typename W::F one = W::set1(1.0f);
    const typename W::F sum = W::fmadd(W::fmadd(acc[3], one, acc[2]), one, W::fmadd(acc[1], one, acc[0]));
    W::store(out + c, W::fmadd(sum, W::set1(inv), W::zero()));
  }
};

}  // namespace edgeai::kernels::cpu
