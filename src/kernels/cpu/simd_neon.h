// The vector-ops abstraction over AArch64 NEON (4 floats). Include only from *_neon.cc files. See
// simd_portable.h for the meaning of each function.
#pragma once

#include <arm_neon.h>

#include <cstdint>

namespace edgeai::kernels::cpu {

struct VecNeon {
  using Half = VecNeon;
  using F = float32x4_t;
  using Mask = int;
  static constexpr int kLanes = 4;

  static F zero() { return vdupq_n_f32(0.0f); }
  static F set1(float v) { return vdupq_n_f32(v); }
  static F load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, F v) { vst1q_f32(p, v); }
  static Mask mask(int n) { return n; }
  static F load(const float* p, Mask n) {
    float t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return vld1q_f32(t);
  }
  static void store(float* p, F v, Mask n) {
    float t[4];
    vst1q_f32(t, v);
    for (int i = 0; i < n; ++i) p[i] = t[i];
  }
  static F keep(F v, Mask n) {
    const uint32_t idx[4] = {0, 1, 2, 3};
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vcltq_u32(vld1q_u32(idx), vdupq_n_u32(n))));
  }
  static F load_window(const float* row, int64_t col, int64_t n) {
    float t[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; ++i) {
      if (col + i >= 0 && col + i < n) t[i] = row[col + i];
    }
    return vld1q_f32(t);
  }
  static F load_strided(const float* p, int64_t stride, int n) {
    float t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; ++i) t[i] = p[i * stride];
    return vld1q_f32(t);
  }

  static void deinterleave2(F a, F b, F* even, F* odd) {
    *even = vuzp1q_f32(a, b);
    *odd = vuzp2q_f32(a, b);
  }

  static void transpose(F* r) {  // 4 x 4, row i in r[i], in place
    const F t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
    const F t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
    r[0] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[1] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
    r[2] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[3] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
  }
  static void load_transposed(const float* p, int64_t stride, F* r) {
    for (int j = 0; j < 4; ++j) r[j] = load(p + j * stride);
    transpose(r);
  }
  static void interleave2(F e, F o, F* lo, F* hi) {
    *lo = vzip1q_f32(e, o);
    *hi = vzip2q_f32(e, o);
  }

  static F add(F a, F b) { return vaddq_f32(a, b); }
  static F sub(F a, F b) { return vsubq_f32(a, b); }
  static F mul(F a, F b) { return vmulq_f32(a, b); }
  static F div(F a, F b) { return vdivq_f32(a, b); }
  static F rcp(F a) {  // 8-bit estimate, three Newton steps
    F r = vrecpeq_f32(a);
    r = vmulq_f32(r, vrecpsq_f32(a, r));
    r = vmulq_f32(r, vrecpsq_f32(a, r));
    return vmulq_f32(r, vrecpsq_f32(a, r));
  }
  static F fmadd(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static F max(F a, F b) { return vmaxq_f32(a, b); }
  static F min(F a, F b) { return vminq_f32(a, b); }
  static F sqrt(F a) { return vsqrtq_f32(a); }
  static F abs(F a) { return vabsq_f32(a); }
  static F neg(F a) { return vnegq_f32(a); }
  static F copysign(F a, F s) { return vbslq_f32(vdupq_n_u32(0x80000000u), s, a); }
  static F round(F a) { return vrndnq_f32(a); }
  static F pow2i(F n) {
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23));
  }
  static constexpr bool kFastShift = true;
  template <int k>
  static F shift(F lo, F hi) {
    if constexpr (k == 0) return lo;
    else return vextq_f32(lo, hi, k);
  }
  static F scalef(F a, F n) {  // in two steps, so that 2^n need not be representable
    const F h = round(mul(n, set1(0.5f)));
    return mul(mul(a, pow2i(h)), pow2i(sub(n, h)));
  }
  static F select_lt(F a, F b, F x, F y) { return vbslq_f32(vcltq_f32(a, b), x, y); }
  static float reduce_add(F a) { return vaddvq_f32(a); }
  static float reduce_max(F a) { return vmaxvq_f32(a); }
};

}  // namespace edgeai::kernels::cpu
