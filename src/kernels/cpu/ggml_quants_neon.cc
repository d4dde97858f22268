// GGML block-format dot products for aarch64 NEON with the dot-product extension (built with
// -march=armv8.2-a+dotprod+fp16; ggml_matmul calls these only when the CPU reports asimddp).
// Activations in natural order. sdot takes signed bytes on both sides, so the weights are brought
// to their signed values (q - 8, q - 16, q6 - 32) in registers and no bias terms are needed.
#include <arm_neon.h>

#include "kernels/cpu/ggml_tile_dispatch.h"
#include "kernels/ggml_quants_impl.h"

namespace edgeai::kernels::ggml {
namespace {

inline float h2f(const uint8_t* p) {
  __fp16 h;
  __builtin_memcpy(&h, p, 2);
  return (float)h;
}

// 0x10 in byte j where bit j of the 16 bits at p (little-endian) is set.
inline uint8x16_t fifth_bits16(uint16_t bits) {
  static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t v = vcombine_u8(vdup_n_u8((uint8_t)(bits & 0xFF)), vdup_n_u8((uint8_t)(bits >> 8)));
  return vandq_u8(vtstq_u8(v, vld1q_u8(kBit)), vdupq_n_u8(0x10));
}

// ---- 32-blocks ---------------------------------------------------------------------------------------------

enum class Q32 { k4_0, k4_1, k5_0, k5_1, k8_0 };

template <Q32 kT, int NT>
void q32_tile(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  constexpr int kB = kT == Q32::k4_0 ? 18 : kT == Q32::k4_1 ? 20 : kT == Q32::k5_0 ? 22 : kT == Q32::k5_1 ? 24 : 34;
  constexpr int kQs = kT == Q32::k4_0 ? 2 : kT == Q32::k4_1 ? 4 : kT == Q32::k5_0 ? 6 : kT == Q32::k5_1 ? 8 : 2;
  constexpr bool kMin = kT == Q32::k4_1 || kT == Q32::k5_1;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 32;
  float32x4_t acc[NT];
  float accm[NT];
  for (int t = 0; t < NT; ++t) acc[t] = vdupq_n_f32(0.0f), accm[t] = 0.0f;
  const uint8x16_t m4 = vdupq_n_u8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * kB;
    __builtin_prefetch(blk + 1024);
    int8x16_t w0, w1;
    if constexpr (kT == Q32::k8_0) {
      w0 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + kQs));
      w1 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + kQs + 16));
    } else {
      const uint8x16_t raw = vld1q_u8(blk + kQs);
      uint8x16_t lo = vandq_u8(raw, m4), hi = vshrq_n_u8(raw, 4);
      if constexpr (kT == Q32::k5_0 || kT == Q32::k5_1) {
        uint32_t qh;
        __builtin_memcpy(&qh, blk + kQs - 4, 4);
        lo = vorrq_u8(lo, fifth_bits16((uint16_t)(qh & 0xFFFF)));
        hi = vorrq_u8(hi, fifth_bits16((uint16_t)(qh >> 16)));
      }
      w0 = vreinterpretq_s8_u8(lo);
      w1 = vreinterpretq_s8_u8(hi);
      if constexpr (kT == Q32::k4_0) {
        w0 = vsubq_s8(w0, vdupq_n_s8(8)), w1 = vsubq_s8(w1, vdupq_n_s8(8));
      } else if constexpr (kT == Q32::k5_0) {
        w0 = vsubq_s8(w0, vdupq_n_s8(16)), w1 = vsubq_s8(w1, vdupq_n_s8(16));
      }
    }
    const float dw = h2f(blk);
    float mw = 0.0f;
    if constexpr (kMin) mw = h2f(blk + 2);
    for (int t = 0; t < NT; ++t) {
      const int8_t* xq = tp.qs(t, L) + b * 32;
      int32x4_t s = vdotq_s32(vdupq_n_s32(0), w0, vld1q_s8(xq));
      s = vdotq_s32(s, w1, vld1q_s8(xq + 16));
      acc[t] = vfmaq_n_f32(acc[t], vcvtq_f32_s32(s), dw * tp.d(t, L)[b]);
      if constexpr (kMin) accm[t] += mw * tp.msum(t, L)[b];
    }
  }
  for (int t = 0; t < NT; ++t) y[t * ys] = vaddvq_f32(acc[t]) + accm[t];
}

template <int NT> void q4_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k4_0, NT>(k, w, a, y, ys); }
template <int NT> void q4_1_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k4_1, NT>(k, w, a, y, ys); }
template <int NT> void q5_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k5_0, NT>(k, w, a, y, ys); }
template <int NT> void q5_1_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k5_1, NT>(k, w, a, y, ys); }
template <int NT> void q8_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k8_0, NT>(k, w, a, y, ys); }

// ---- Float weights ------------------------------------------------------------------------------------------

enum class FW { kF32, kF16, kBF16 };

template <FW kT>
inline void load8(const uint8_t* w, int64_t i, float32x4_t* lo, float32x4_t* hi) {
  if constexpr (kT == FW::kF32) {
    *lo = vld1q_f32(reinterpret_cast<const float*>(w) + i);
    *hi = vld1q_f32(reinterpret_cast<const float*>(w) + i + 4);
  } else if constexpr (kT == FW::kF16) {
    const float16x8_t h = vld1q_f16(reinterpret_cast<const float16_t*>(w + 2 * i));
    *lo = vcvt_f32_f16(vget_low_f16(h));
    *hi = vcvt_high_f32_f16(h);
  } else {
    const uint16x8_t h = vld1q_u16(reinterpret_cast<const uint16_t*>(w + 2 * i));
    *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
    *hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
  }
}
template <FW kT>
inline float w_at(const uint8_t* w, int64_t i) {
  if constexpr (kT == FW::kF32) {
    return reinterpret_cast<const float*>(w)[i];
  } else if constexpr (kT == FW::kF16) {
    return h2f(w + 2 * i);
  } else {
    uint32_t u = (uint32_t)(w[2 * i] | (w[2 * i + 1] << 8)) << 16;
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
  }
}

// Activations 8 at a time from element i, and one at i: f16 (kF16, the layout of f16 weights) or f32.
template <FW kT, int NT>
inline void load_x8(const TokenPtrs<NT>& tp, const ActLayout& L, int t, int64_t i, float32x4_t* lo, float32x4_t* hi) {
  if constexpr (kT == FW::kF16) {
    const float16x8_t h = vld1q_f16(reinterpret_cast<const float16_t*>(tp.f16(t, L) + i));
    *lo = vcvt_f32_f16(vget_low_f16(h));
    *hi = vcvt_high_f32_f16(h);
  } else {
    *lo = vld1q_f32(tp.f32(t) + i);
    *hi = vld1q_f32(tp.f32(t) + i + 4);
  }
}
template <FW kT, int NT>
inline float x_at(const TokenPtrs<NT>& tp, const ActLayout& L, int t, int64_t i) {
  if constexpr (kT == FW::kF16) {
    return h2f(reinterpret_cast<const uint8_t*>(tp.f16(t, L) + i));
  } else {
    return tp.f32(t)[i];
  }
}

template <FW kT, int NT>
void float_tile(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  const TokenPtrs<NT> tp(a);
  const ActLayout& L = *a.layout;
  float32x4_t acc[2][NT];
  for (int t = 0; t < NT; ++t) acc[0][t] = acc[1][t] = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    float32x4_t lo, hi;
    load8<kT>(w, i, &lo, &hi);
    for (int t = 0; t < NT; ++t) {
      float32x4_t xlo, xhi;
      load_x8<kT>(tp, L, t, i, &xlo, &xhi);
      acc[0][t] = vfmaq_f32(acc[0][t], lo, xlo);
      acc[1][t] = vfmaq_f32(acc[1][t], hi, xhi);
    }
  }
  for (int t = 0; t < NT; ++t) {
    float r = vaddvq_f32(vaddq_f32(acc[0][t], acc[1][t]));
    for (int64_t j = i; j < k; ++j) r += w_at<kT>(w, j) * x_at<kT>(tp, L, t, j);
    y[t * ys] = r;
  }
}

// kF16 activations: FCVTN rounds to nearest even under the default FPCR (no flush to zero), as
// float_to_half does.
void to_f16_neon(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float16x8_t h = vcombine_f16(vcvt_f16_f32(vld1q_f32(x + i)), vcvt_f16_f32(vld1q_f32(x + i + 4)));
    vst1q_u16(out + i, vreinterpretq_u16_f16(h));
  }
  for (; i < n; ++i) {
    const float16_t h = (float16_t)x[i];
    __builtin_memcpy(out + i, &h, 2);
  }
}

template <int NT> void f32_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kF32, NT>(k, w, a, y, ys); }
template <int NT> void f16_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kF16, NT>(k, w, a, y, ys); }
template <int NT> void bf16_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kBF16, NT>(k, w, a, y, ys); }

// ---- k-quants -------------------------------------------------------------------------------------------------

// Sum of the 32 products of two 32-byte runs.
inline int32_t dot32(int8x16_t a0, int8x16_t a1, const int8_t* x) {
  return vaddvq_s32(vdotq_s32(vdotq_s32(vdupq_n_s32(0), a0, vld1q_s8(x)), a1, vld1q_s8(x + 16)));
}

template <bool kFive, int NT>
void k4_tile(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  constexpr int kB = kFive ? 176 : 144;
  constexpr int kQs = kFive ? 48 : 16;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 256;
  const uint8x16_t m4 = vdupq_n_u8(0x0F);
  float acc[NT] = {};
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* blk = w + i * kB;
    __builtin_prefetch(blk + 1024);
    __builtin_prefetch(blk + 1024 + 64);
    __builtin_prefetch(blk + 1024 + 128);
    uint32_t sm[4];
    unpack_k4_scales(blk + 4, sm);
    const uint8_t* sc = reinterpret_cast<const uint8_t*>(sm);
    const uint8_t* mn = sc + 8;
    int32_t sumi[NT] = {}, summ[NT] = {};
    for (int t = 0; t < NT; ++t) {
      const int16_t* bs = tp.bsums(t, L) + i * 16;
      for (int j = 0; j < 8; ++j) summ[t] += mn[j] * (bs[2 * j] + bs[2 * j + 1]);
    }
    uint8x16_t h0, h1;
    if constexpr (kFive) h0 = vld1q_u8(blk + 16), h1 = vld1q_u8(blk + 32);
    for (int j = 0; j < 4; ++j) {
      const uint8x16_t r0 = vld1q_u8(blk + kQs + 32 * j), r1 = vld1q_u8(blk + kQs + 32 * j + 16);
      uint8x16_t l0 = vandq_u8(r0, m4), l1 = vandq_u8(r1, m4), u0 = vshrq_n_u8(r0, 4), u1 = vshrq_n_u8(r1, 4);
      if constexpr (kFive) {
        const uint8x16_t bl = vdupq_n_u8((uint8_t)(1 << (2 * j))), bh = vdupq_n_u8((uint8_t)(2 << (2 * j)));
        const uint8x16_t c16 = vdupq_n_u8(0x10);
        l0 = vorrq_u8(l0, vandq_u8(vtstq_u8(h0, bl), c16));
        l1 = vorrq_u8(l1, vandq_u8(vtstq_u8(h1, bl), c16));
        u0 = vorrq_u8(u0, vandq_u8(vtstq_u8(h0, bh), c16));
        u1 = vorrq_u8(u1, vandq_u8(vtstq_u8(h1, bh), c16));
      }
      for (int t = 0; t < NT; ++t) {
        const int8_t* xq = tp.qs(t, L) + i * 256 + 64 * j;
        sumi[t] += sc[2 * j] * dot32(vreinterpretq_s8_u8(l0), vreinterpretq_s8_u8(l1), xq);
        sumi[t] += sc[2 * j + 1] * dot32(vreinterpretq_s8_u8(u0), vreinterpretq_s8_u8(u1), xq + 32);
      }
    }
    const float dw = h2f(blk), dmin = h2f(blk + 2);
    for (int t = 0; t < NT; ++t) {
      const float dx = tp.d(t, L)[i];
      acc[t] += (dw * dx) * (float)sumi[t] - (dmin * dx) * (float)summ[t];
    }
  }
  for (int t = 0; t < NT; ++t) y[t * ys] = acc[t];
}

template <int NT> void q4_K_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { k4_tile<false, NT>(k, w, a, y, ys); }
template <int NT> void q5_K_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { k4_tile<true, NT>(k, w, a, y, ys); }

template <int NT>
void q6_K_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  constexpr int kB = 210;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 256;
  const uint8x16_t m4 = vdupq_n_u8(0x0F), m3 = vdupq_n_u8(0x03);
  const int8x16_t c32 = vdupq_n_s8(32);
  float acc[NT] = {};
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* blk = w + i * kB;
    for (int l = 0; l < 4; ++l) __builtin_prefetch(blk + 1024 + 64 * l);
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
    int32_t sumi[NT] = {};
    for (int n = 0; n < 2; ++n) {
      const uint8_t* ql = blk + 64 * n;
      const uint8_t* qh = blk + 128 + 32 * n;
      for (int half = 0; half < 2; ++half) {  // 16 of the 32 bytes of each run
        const uint8x16_t a0 = vld1q_u8(ql + 16 * half), a1 = vld1q_u8(ql + 32 + 16 * half);
        const uint8x16_t h = vld1q_u8(qh + 16 * half);
        // Elements 128n + 16*half + {0, 32, 64, 96} + l.
        const int8x16_t q[4] = {
            vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(a0, m4), vshlq_n_u8(vandq_u8(h, m3), 4))), c32),
            vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(a1, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 2), m3), 4))), c32),
            vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(a0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 4), m3), 4))), c32),
            vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(a1, 4), vshlq_n_u8(vshrq_n_u8(h, 6), 4))), c32)};
        for (int g = 0; g < 4; ++g) {
          const int e = 128 * n + 32 * g + 16 * half;  // first element of these 16
          const int scale = sc[e / 16];
          for (int t = 0; t < NT; ++t) {
            const int8_t* xq = tp.qs(t, L) + i * 256 + e;
            sumi[t] += scale * vaddvq_s32(vdotq_s32(vdupq_n_s32(0), q[g], vld1q_s8(xq)));
          }
        }
      }
    }
    const float dw = h2f(blk + 208);
    for (int t = 0; t < NT; ++t) acc[t] += (dw * tp.d(t, L)[i]) * (float)sumi[t];
  }
  for (int t = 0; t < NT; ++t) y[t * ys] = acc[t];
}

EDGEAI_GGML_TILE(q4_0)
EDGEAI_GGML_TILE(q4_1)
EDGEAI_GGML_TILE(q5_0)
EDGEAI_GGML_TILE(q5_1)
EDGEAI_GGML_TILE(q8_0)
EDGEAI_GGML_TILE(f32)
EDGEAI_GGML_TILE(f16)
EDGEAI_GGML_TILE(bf16)
EDGEAI_GGML_TILE(q4_K)
EDGEAI_GGML_TILE(q5_K)
EDGEAI_GGML_TILE(q6_K)

constexpr KernelTable kTable = [] {
  KernelTable t{"neon-dotprod", {}, {}, {}};
  t.tile[0] = f32;
  t.tile[1] = f16;
  t.tile[2] = q4_0;
  t.tile[3] = q4_1;
  t.tile[6] = q5_0;
  t.tile[7] = q5_1;
  t.tile[8] = q8_0;
  t.tile[12] = q4_K;
  t.tile[13] = q5_K;
  t.tile[14] = q6_K;
  t.tile[30] = bf16;
  t.to_f16 = to_f16_neon;
  return t;
}();

}  // namespace

const KernelTable& neon_kernels() { return kTable; }

}  // namespace edgeai::kernels::ggml
