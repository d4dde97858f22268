// Elementwise ops, Softmax and LayerNorm rows, written once over the vector-ops abstraction
// (simd_portable.h); instantiated by each ISA's ukernels_<isa>.cc. Include only from those files.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cpu/simd_math.h"
#include "kernels/cpu/ukernels.h"

namespace edgeai::kernels::cpu {

template <class V>
struct EltwiseImpl {
  using F = typename V::F;
  using M = Math<V>;
  static constexpr int L = V::kLanes;

  // y[i] = f(x[i]) for a vector function f, 4 registers at a time, masked tail.
  template <class Fn>
  static void map(const float* x, float* y, int64_t n, Fn f) {
    int64_t i = 0;
    for (; i + 4 * L <= n; i += 4 * L) {
      F v[4] = {V::load(x + i), V::load(x + i + L), V::load(x + i + 2 * L), V::load(x + i + 3 * L)};
      f(v);
      for (int j = 0; j < 4; ++j) V::store(y + i + j * L, v[j]);
    }
    for (; i < n; i += L) {
      const int r = n - i < L ? static_cast<int>(n - i) : L;
      const typename V::Mask m = V::mask(r);
      F v1[1] = {V::load(x + i, m)};
      F v[4] = {v1[0], v1[0], v1[0], v1[0]};
      f(v);
      V::store(y + i, v[0], m);
    }
  }

  static void activation(const float* x, float* y, int64_t n, const Activation& act) { M::map(act, x, y, n); }
  static void bias_activation(float* y, int64_t n, float b, const Activation& act) {
    const F bv = V::set1(b);
    map(y, y, n, [&](F(&v)[4]) {
      for (int j = 0; j < 4; ++j) v[j] = V::add(v[j], bv);
      M::template apply<4>(act, v);
    });
  }
  static void scale_bias_activation(const float* x, float* y, int64_t n, float s, float b, const Activation& act) {
    const F sv = V::set1(s), bv = V::set1(b);
    map(x, y, n, [&](F(&v)[4]) {
      for (int j = 0; j < 4; ++j) v[j] = V::fmadd(v[j], sv, bv);
      M::template apply<4>(act, v);
    });
  }
  static void erf(const float* x, float* y, int64_t n) {
    map(x, y, n, [](F(&v)[4]) {
      for (int j = 0; j < 4; ++j) v[j] = M::erf(v[j]);
    });
  }
  static void exp(const float* x, float* y, int64_t n) {
    map(x, y, n, [](F(&v)[4]) {
      for (int j = 0; j < 4; ++j) v[j] = M::exp(v[j]);
    });
  }

  static void blend_rows(const float* const* rows, const float* w, int k, float* y, int64_t n) {
    int64_t i = 0;
    const F w0 = V::set1(w[0]);
    for (; i + 2 * L <= n; i += 2 * L) {
      F a = V::mul(w0, V::load(rows[0] + i)), b = V::mul(w0, V::load(rows[0] + i + L));
      for (int j = 1; j < k; ++j) {
        const F wj = V::set1(w[j]);
        a = V::fmadd(wj, V::load(rows[j] + i), a);
        b = V::fmadd(wj, V::load(rows[j] + i + L), b);
      }
      V::store(y + i, a);
      V::store(y + i + L, b);
    }
    for (; i < n; i += L) {
      const typename V::Mask m = V::mask(n - i < L ? static_cast<int>(n - i) : L);
      F a = V::mul(w0, V::load(rows[0] + i, m));
      for (int j = 1; j < k; ++j) a = V::fmadd(V::set1(w[j]), V::load(rows[j] + i, m), a);
      V::store(y + i, a, m);
    }
  }

  template <int kOp>
  static F op(F a, F b) {
    if constexpr (kOp == kBinAdd) return V::add(a, b);
    else if constexpr (kOp == kBinSub) return V::sub(a, b);
    else if constexpr (kOp == kBinMul) return V::mul(a, b);
    else if constexpr (kOp == kBinDiv) return V::div(a, b);
    else if constexpr (kOp == kBinMax) return V::max(b, a);
    else return V::min(b, a);
  }
  template <int kOp>
  static void binary_op(const float* x, int64_t xs, const float* y, int64_t ys, float* z, int64_t n) {
    int64_t i = 0;
    if (xs && ys) {
      for (; i + 2 * L <= n; i += 2 * L) {
        V::store(z + i, op<kOp>(V::load(x + i), V::load(y + i)));
        V::store(z + i + L, op<kOp>(V::load(x + i + L), V::load(y + i + L)));
      }
      for (; i < n; i += L) {
        const typename V::Mask m = V::mask(n - i < L ? static_cast<int>(n - i) : L);
        V::store(z + i, op<kOp>(V::load(x + i, m), V::load(y + i, m)), m);
      }
    } else if (ys) {
      const F a = V::set1(*x);
      for (; i + L <= n; i += L) V::store(z + i, op<kOp>(a, V::load(y + i)));
      if (i < n) {
        const typename V::Mask m = V::mask(static_cast<int>(n - i));
        V::store(z + i, op<kOp>(a, V::load(y + i, m)), m);
      }
    } else if (xs) {
      const F b = V::set1(*y);
      for (; i + L <= n; i += L) V::store(z + i, op<kOp>(V::load(x + i), b));
      if (i < n) {
        const typename V::Mask m = V::mask(static_cast<int>(n - i));
        V::store(z + i, op<kOp>(V::load(x + i, m), b), m);
      }
    } else {
      const F r = op<kOp>(V::set1(*x), V::set1(*y));
      for (; i + L <= n; i += L) V::store(z + i, r);
      if (i < n) V::store(z + i, r, V::mask(static_cast<int>(n - i)));
    }
  }
  static void binary(int o, const float* x, int64_t xs, const float* y, int64_t ys, float* z, int64_t n) {
    switch (o) {
      case kBinAdd: return binary_op<kBinAdd>(x, xs, y, ys, z, n);
      case kBinSub: return binary_op<kBinSub>(x, xs, y, ys, z, n);
      case kBinMul: return binary_op<kBinMul>(x, xs, y, ys, z, n);
      case kBinDiv: return binary_op<kBinDiv>(x, xs, y, ys, z, n);
      case kBinMax: return binary_op<kBinMax>(x, xs, y, ys, z, n);
      default: return binary_op<kBinMin>(x, xs, y, ys, z, n);
    }
  }

  static float row_max(const float* x, int64_t n) {
    F m = V::set1(-__builtin_inff());
    int64_t i = 0;
    for (; i + L <= n; i += L) m = V::max(m, V::load(x + i));
    float r = V::reduce_max(m);
    for (; i < n; ++i) r = x[i] > r ? x[i] : r;
    return r;
  }

  // exp(x[i] - max x) into y[i] (when `store`; y may be x); returns their sum, the max in *mx.
  static float exp_shifted(const float* x, float* y, int64_t n, bool store, float* mx) {
    *mx = row_max(x, n);
    const F mv = V::set1(*mx);
    F sum = V::zero();
    int64_t i = 0;
    for (; i + L <= n; i += L) {
      const F e = M::exp(V::sub(V::load(x + i), mv));
      sum = V::add(sum, e);
      if (store) V::store(y + i, e);
    }
    if (i < n) {
      const typename V::Mask m = V::mask(static_cast<int>(n - i));
      const F e = V::keep(M::exp(V::sub(V::load(x + i, m), mv)), m);
      sum = V::add(sum, e);
      if (store) V::store(y + i, e, m);
    }
    return V::reduce_add(sum);
  }

  static void softmax(const float* x, float* y, int64_t rows, int64_t n, bool log) {
    for (int64_t r = 0; r < rows; ++r, x += n, y += n) {
      float mx;
      const float s = exp_shifted(x, y, n, !log, &mx);
      if (log) {
        const F sub = V::set1(mx + std::log(s));
        int64_t j = 0;
        for (; j + L <= n; j += L) V::store(y + j, V::sub(V::load(x + j), sub));
        if (j < n) {
          const typename V::Mask m = V::mask(static_cast<int>(n - j));
          V::store(y + j, V::sub(V::load(x + j, m), sub), m);
        }
      } else {
        const F inv = V::set1(1.0f / s);
        int64_t j = 0;
        for (; j + L <= n; j += L) V::store(y + j, V::mul(V::load(y + j), inv));
        if (j < n) {
          const typename V::Mask m = V::mask(static_cast<int>(n - j));
          V::store(y + j, V::mul(V::load(y + j, m), inv), m);
        }
      }
    }
  }

  static void layer_norm(const float* x, float* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                         float eps) {
    for (int64_t r = 0; r < rows; ++r, x += n, y += n) {
      F s = V::zero();
      int64_t i = 0;
      for (; i + L <= n; i += L) s = V::add(s, V::load(x + i));
      if (i < n) s = V::add(s, V::load(x + i, V::mask(static_cast<int>(n - i))));
      const float mean = V::reduce_add(s) / static_cast<float>(n);
      const F mv = V::set1(mean);
      F q = V::zero();
      for (i = 0; i + L <= n; i += L) {
        const F d = V::sub(V::load(x + i), mv);
        q = V::fmadd(d, d, q);
      }
      if (i < n) {
        const typename V::Mask m = V::mask(static_cast<int>(n - i));
        const F d = V::keep(V::sub(V::load(x + i, m), mv), m);
        q = V::fmadd(d, d, q);
      }
      const float var = V::reduce_add(q) / static_cast<float>(n);
      const F rstd = V::set1(1.0f / std::sqrt(var + eps));
      for (i = 0; i + L <= n; i += L) {
        F v = V::mul(V::sub(V::load(x + i), mv), rstd);
        v = bias ? V::fmadd(v, V::load(scale + i), V::load(bias + i)) : V::mul(v, V::load(scale + i));
        V::store(y + i, v);
      }
      if (i < n) {
        const typename V::Mask m = V::mask(static_cast<int>(n - i));
        F v = V::mul(V::sub(V::load(x + i, m), mv), rstd);
        v = bias ? V::fmadd(v, V::load(scale + i, m), V::load(bias + i, m)) : V::mul(v, V::load(scale + i, m));
        V::store(y + i, v, m);
      }
    }
  }

  static void global_avg(const float* x, float* y, int64_t planes, int64_t n) {
    for (int64_t p = 0; p < planes; ++p, x += n) {
      F s0 = V::zero(), s1 = V::zero();
      int64_t i = 0;
      for (; i + 2 * L <= n; i += 2 * L) {
        s0 = V::add(s0, V::load(x + i));
        s1 = V::add(s1, V::load(x + i + L));
      }
      for (; i + L <= n; i += L) s0 = V::add(s0, V::load(x + i));
      if (i < n) s1 = V::add(s1, V::load(x + i, V::mask(static_cast<int>(n - i))));
      y[p] = V::reduce_add(V::add(s0, s1)) / static_cast<float>(n);
    }
  }
};

}  // namespace edgeai::kernels::cpu
