// glibc's expf (sysdeps/ieee754/flt-32/e_expf.c, ARM optimized-routines) in vector lanes, as its
// FMA build (__expf_fma) computes it; shared by libm_expf_avx512.cc and libm_expf_avx2.cc. Vec
// supplies the lane operations (see those files). No intrinsics here: the tests read the constants.
#pragma once

#include <cmath>
#include <cstdint>

namespace edgeai::kernels::cpu::glibc_expf {

// __exp2f_data (glibc 2.27 on): 2^(i/32) with i << 47 taken out of the bits, 32 / ln 2, the
// polynomial for 2^(r/32) and the rounding shift 1.5 * 2^52.
alignas(64) inline constexpr uint64_t kTable[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51, 0x3fef72b83c7d517b,
    0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1, 0x3fef06fe0a31b715, 0x3feef1a7373aa9cb,
    0x3feedea64c123422, 0x3feece086061892d, 0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429,
    0x3feea47eb03a5585, 0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d, 0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069, 0x3fef5818dcfba487, 0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da, 0x3fefd0765b6e4540};
inline constexpr double kInvLn2N = 0x1.71547652b82fep+5;
inline constexpr double kC0 = 0x1.c6af84b912394p-20, kC1 = 0x1.ebfce50fac4f3p-13, kC2 = 0x1.62e42ff0c52d6p-6;
inline constexpr double kShift = 0x1.8p+52;
// Below kUflow glibc returns 0 (__math_uflowf), below kMayUflow the smallest subnormal
// (__math_may_uflowf: 0x1.4p-75f squared); at or above kBig (and NaN) these kernels call
// std::exp (glibc: the same polynomial up to 0x1.62e42ep6f, then overflow; x + x for NaN).
inline constexpr float kUflow = -0x1.9fe368p6f, kMayUflow = -0x1.9d1d9ep6f, kBig = 88.0f;
inline constexpr float kMayUflowResult = 0x1p-149f;

// Lanes [i, i + Vec::kLanes) of scaled_exp (libm_expf.h); m: the lanes to compute (a tail).
template <class Vec>
inline void scaled_exp_lanes(const float* x, int64_t i, typename Vec::Mask m, typename Vec::F mx,
                             typename Vec::F temp, float* y, float mxs, float temps) {
  using F = typename Vec::F;
  using D = typename Vec::D;
  const F l = Vec::load(x + i, m);
  const F xs = Vec::div(Vec::sub(l, mx), temp);
  const D xd = Vec::to_double(xs);
  const D z = Vec::fmadd(Vec::dset1(kInvLn2N), xd, Vec::dset1(kShift));  // k + shift: rounds k
  const D kd = Vec::dsub(z, Vec::dset1(kShift));
  const D r = Vec::fmsub(Vec::dset1(kInvLn2N), xd, kd);
  const D s = Vec::scale_of(z);  // T[k % 32] + (k << 47)
  const D p = Vec::fmadd(Vec::dset1(kC0), r, Vec::dset1(kC1));
  const D r2 = Vec::dmul(r, r);
  const D q = Vec::fmadd(Vec::dset1(kC2), r, Vec::dset1(1.0));
  F e = Vec::to_float(Vec::dmul(Vec::fmadd(p, r2, q), s));
  e = Vec::select(Vec::lt(xs, Vec::set1(kMayUflow)), Vec::set1(kMayUflowResult), e);
  e = Vec::select(Vec::lt(xs, Vec::set1(kUflow)), Vec::zero(), e);
  e = Vec::select(Vec::is_inf(l), Vec::zero(), e);
  Vec::store(y + i, e, m);
  // Lanes at or above kBig, or NaN: the C library's own call.
  uint32_t big = Vec::bits(Vec::not_lt(xs, Vec::set1(kBig))) & Vec::bits(m);
  while (big) {
    const int j = __builtin_ctz(big);
    big &= big - 1;
    y[i + j] = std::isinf(x[i + j]) ? 0.0f : std::exp((x[i + j] - mxs) / temps);
  }
}

template <class Vec>
void scaled_exp(const float* x, int64_t n, float mx, float temp, float* y) {
  const typename Vec::F vmx = Vec::set1(mx), vt = Vec::set1(temp);
  int64_t i = 0;
  for (; i + Vec::kLanes <= n; i += Vec::kLanes) scaled_exp_lanes<Vec>(x, i, Vec::all(), vmx, vt, y, mx, temp);
  if (i < n) scaled_exp_lanes<Vec>(x, i, Vec::first(n - i), vmx, vt, y, mx, temp);
}

}  // namespace edgeai::kernels::cpu::glibc_expf
