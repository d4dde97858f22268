// Vectorized float math written once over the vector-ops abstraction (simd_portable.h): exp,
// sigmoid, tanh, erf, GELU, and the activations of activation.h. Accuracy: a few ulp (relative
// error ~2e-7) for exp, sigmoid and erfc; tanh and erf ~3e-7 relative.
// Included by the per-ISA translation units only; every function is a template over V so that the
// instantiations of different ISAs never merge.
#pragma once

#include "kernels/cpu/activation.h"

namespace edgeai::kernels::cpu {

template <class V>
struct Math {
  using F = typename V::F;

  // e^x: Cody-Waite range reduction and the Cephes degree-6 polynomial; the scale 2^n
  // (V::scalef) keeps results in the subnormal range and up to FLT_MAX right.
  static F exp(F x) {
    x = V::min(V::set1(89.0f), V::max(V::set1(-104.0f), x));  // NaN passes through
    const F n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
    F r = V::fmadd(n, V::set1(-0.693359375f), x);
    r = V::fmadd(n, V::set1(2.12194440e-4f), r);
    F p = V::set1(1.9875691500e-4f);
    p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
    p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
    p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
    p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
    p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
    p = V::fmadd(p, V::mul(r, r), V::add(r, V::set1(1.0f)));
    return V::scalef(p, n);
  }

  // 1 / (1 + e^-x). e^-x is 2^t, t = -x log2(e) clamped to [-150, 125] (so that the
  // reciprocal's operand stays finite; the result there, below 2e-38, is then slightly too large
  // instead of subnormal): 2^n (V::scalef) times 2^f, f = t - n in [-1/2, 1/2], by a degree-5
  // polynomial (relative error 1.9e-7). The rounding of t adds up to |t| 2^-25 ln 2 relative
  // error to e^-x, which reaches the result only where e^-x is large, that is where the result
  // is small (x = -12: 6e-7; x = -87: 5e-6). Four multiply-adds fewer than exp(): SiLU and
  // Sigmoid run on the multiply-add ports (efficientnet_b0 applies SiLU to 6 million values).
  static F sigmoid(F x) {
    const F t = V::min(V::set1(125.0f), V::max(V::set1(-150.0f), V::mul(x, V::set1(-1.44269504088896341f))));
    const F n = V::round(t);
    const F f = V::sub(t, n);
    F p = V::set1(1.3264719163998961e-3f);
    p = V::fmadd(p, f, V::set1(9.671513922512531e-3f));
    p = V::fmadd(p, f, V::set1(5.550733953714371e-2f));
    p = V::fmadd(p, f, V::set1(2.4022242426872253e-1f));
    p = V::fmadd(p, f, V::set1(6.931470036506653e-1f));
    p = V::fmadd(p, f, V::set1(1.0f));
    return V::rcp(V::add(V::set1(1.0f), V::scalef(p, n)));
  }

  static F silu(F x) { return V::mul(x, sigmoid(x)); }

  // tanh: an odd polynomial (Cephes tanhf) for |x| < 0.625, else 1 - 2 / (e^{2|x|} + 1).
  static F tanh(F x) {
    const F ax = V::abs(x);
    const F z = V::mul(x, x);
    F p = V::set1(-5.70498872745e-3f);
    p = V::fmadd(p, z, V::set1(2.06390887954e-2f));
    p = V::fmadd(p, z, V::set1(-5.37397155531e-2f));
    p = V::fmadd(p, z, V::set1(1.33314422036e-1f));
    p = V::fmadd(p, z, V::set1(-3.33332819422e-1f));
    const F small = V::fmadd(V::mul(p, z), x, x);
    const F one = V::set1(1.0f);
    const F e = exp(V::add(ax, ax));
    const F big = V::copysign(V::sub(one, V::div(V::set1(2.0f), V::add(e, one))), x);
    return V::select_lt(ax, V::set1(0.625f), small, big);
  }

  // erfc(t) for t >= 0 with relative error < 1.2e-7 (Numerical Recipes' erfcc Chebyshev fit).
  static F erfc_nonneg(F t) {
    const F u = V::div(V::set1(1.0f), V::fmadd(V::set1(0.5f), t, V::set1(1.0f)));
    F p = V::set1(0.17087277f);
    p = V::fmadd(p, u, V::set1(-0.82215223f));
    p = V::fmadd(p, u, V::set1(1.48851587f));
    p = V::fmadd(p, u, V::set1(-1.13520398f));
    p = V::fmadd(p, u, V::set1(0.27886807f));
    p = V::fmadd(p, u, V::set1(-0.18628806f));
    p = V::fmadd(p, u, V::set1(0.09678418f));
    p = V::fmadd(p, u, V::set1(0.37409196f));
    p = V::fmadd(p, u, V::set1(1.00002368f));
    p = V::fmadd(p, u, V::set1(-1.26551223f));
    return V::mul(u, exp(V::sub(p, V::mul(t, t))));
  }

  // erf: the Taylor series for |x| < 0.5, 1 - erfc(|x|) (with the sign of x) beyond.
  static F erf(F x) {
    const F ax = V::abs(x);
    const F z = V::mul(x, x);
    // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320 + x^13/9360)
    F p = V::set1(1.0f / 9360.0f);
    p = V::fmadd(p, z, V::set1(-1.0f / 1320.0f));
    p = V::fmadd(p, z, V::set1(1.0f / 216.0f));
    p = V::fmadd(p, z, V::set1(-1.0f / 42.0f));
    p = V::fmadd(p, z, V::set1(1.0f / 10.0f));
    p = V::fmadd(p, z, V::set1(-1.0f / 3.0f));
    p = V::fmadd(p, z, V::set1(1.0f));
    const F small = V::mul(V::mul(p, x), V::set1(1.12837916709551257f));
    const F big = V::copysign(V::sub(V::set1(1.0f), erfc_nonneg(ax)), x);
    return V::select_lt(ax, V::set1(0.5f), small, big);
  }

  // 0.5 x erfc(-x / sqrt 2), computed so that it keeps its relative accuracy for negative x.
  static F gelu(F x) {
    const F t = V::mul(V::abs(x), V::set1(0.70710678118654752f));
    const F e = erfc_nonneg(t);
    const F c = V::select_lt(x, V::zero(), e, V::sub(V::set1(2.0f), e));
    return V::mul(V::mul(V::set1(0.5f), x), c);
  }

  static F gelu_tanh(F x) {
    const F x3 = V::mul(V::mul(x, x), x);
    const F inner = V::mul(V::set1(0.79788456080286536f), V::fmadd(V::set1(0.044715f), x3, x));
    return V::mul(V::mul(V::set1(0.5f), x), V::add(V::set1(1.0f), tanh(inner)));
  }

  static F hard_sigmoid(F x, float alpha, float beta) {
    return V::min(V::set1(1.0f), V::max(V::zero(), V::fmadd(x, V::set1(alpha), V::set1(beta))));
  }

  // Applies `a` to each of the n registers of v. NaN inputs stay NaN for Relu/Clip (max/min take
  // the register operand second).
  template <int N>
  static void apply(const Activation& a, F (&v)[N]) {
    switch (a.kind) {
      case ActKind::kNone:
        return;
      case ActKind::kRelu:
        for (int i = 0; i < N; ++i) v[i] = V::max(V::zero(), v[i]);
        return;
      case ActKind::kClip: {
        const F lo = V::set1(a.alpha), hi = V::set1(a.beta);
        for (int i = 0; i < N; ++i) v[i] = V::min(hi, V::max(lo, v[i]));
        return;
      }
      case ActKind::kLeakyRelu: {
        const F al = V::set1(a.alpha);
        for (int i = 0; i < N; ++i) v[i] = V::select_lt(v[i], V::zero(), V::mul(v[i], al), v[i]);
        return;
      }
      case ActKind::kHardSigmoid:
        for (int i = 0; i < N; ++i) v[i] = hard_sigmoid(v[i], a.alpha, a.beta);
        return;
      case ActKind::kHardSwish:  // x * clamp(x / 6 + 1/2, 0, 1), the reference's exact float steps
        for (int i = 0; i < N; ++i) {
          const F h = V::add(V::div(v[i], V::set1(6.0f)), V::set1(0.5f));
          v[i] = V::mul(v[i], V::min(V::set1(1.0f), V::max(V::zero(), h)));
        }
        return;
      case ActKind::kSigmoid:
        for (int i = 0; i < N; ++i) v[i] = sigmoid(v[i]);
        return;
      case ActKind::kSiLU:
        for (int i = 0; i < N; ++i) v[i] = silu(v[i]);
        return;
      case ActKind::kTanh:
        for (int i = 0; i < N; ++i) v[i] = tanh(v[i]);
        return;
      case ActKind::kGelu:
        for (int i = 0; i < N; ++i) v[i] = gelu(v[i]);
        return;
      case ActKind::kGeluTanh:
        for (int i = 0; i < N; ++i) v[i] = gelu_tanh(v[i]);
        return;
    }
  }

  // y[0, n) = act(x[0, n)) (y may be x): one switch, then a tight loop per kind.
  template <ActKind K>
  static F one(const Activation& a, F x) {
    if constexpr (K == ActKind::kSigmoid) return sigmoid(x);
    else if constexpr (K == ActKind::kSiLU) return silu(x);
    else if constexpr (K == ActKind::kTanh) return tanh(x);
    else if constexpr (K == ActKind::kGelu) return gelu(x);
    else if constexpr (K == ActKind::kGeluTanh) return gelu_tanh(x);
    else return apply1(a, x);
  }
  template <ActKind K>
  static void map_kind(const Activation& a, const float* x, float* y, int64_t n) {
    constexpr int L = V::kLanes;
    int64_t i = 0;
    for (; i + 2 * L <= n; i += 2 * L) {
      const F v0 = one<K>(a, V::load(x + i)), v1 = one<K>(a, V::load(x + i + L));
      V::store(y + i, v0);
      V::store(y + i + L, v1);
    }
    for (; i < n; i += L) {
      const typename V::Mask m = V::mask(n - i < L ? static_cast<int>(n - i) : L);
      V::store(y + i, one<K>(a, V::load(x + i, m)), m);
    }
  }
  static void map(const Activation& a, const float* x, float* y, int64_t n) {
    switch (a.kind) {
      case ActKind::kSigmoid: return map_kind<ActKind::kSigmoid>(a, x, y, n);
      case ActKind::kSiLU: return map_kind<ActKind::kSiLU>(a, x, y, n);
      case ActKind::kTanh: return map_kind<ActKind::kTanh>(a, x, y, n);
      case ActKind::kGelu: return map_kind<ActKind::kGelu>(a, x, y, n);
      case ActKind::kGeluTanh: return map_kind<ActKind::kGeluTanh>(a, x, y, n);
      default: return map_kind<ActKind::kNone>(a, x, y, n);
    }
  }

  static F apply1(const Activation& a, F x) {
    F v[1] = {x};
    apply<1>(a, v);
    return v[0];
  }
};

}  // namespace edgeai::kernels::cpu
