// The vector-ops abstraction over AVX2 + FMA (8 floats). Include only from *_avx2.cc files. See
// simd_portable.h for the meaning of each function.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace edgeai::kernels::cpu {

// 4 floats (xmm), the GEMM's narrow-column tail over the 4 rows of a register tile.
struct VecAvx2Half {
  using F = __m128;
  static constexpr int kLanes = 4;
  static F zero() { return _mm_setzero_ps(); }
  static F set1(float v) { return _mm_set1_ps(v); }
  static F load(const float* p) { return _mm_loadu_ps(p); }
  static void store(float* p, F v) { _mm_storeu_ps(p, v); }
  static F fmadd(F a, F b, F c) { return _mm_fmadd_ps(a, b, c); }
};

struct VecAvx2 {
  using Half = VecAvx2Half;
  using F = __m256;
  using Mask = __m256i;
  static constexpr int kLanes = 8;

  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static Mask mask(int n) {  // n in [0, 8]
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static F load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, F v, Mask m) { _mm256_maskstore_ps(p, m, v); }
  static F keep(F v, Mask m) { return _mm256_and_ps(v, _mm256_castsi256_ps(m)); }
  static F load_window(const float* row, int64_t col, int64_t n) {
    alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 8; ++i) {
      if (col + i >= 0 && col + i < n) t[i] = row[col + i];
    }
    return _mm256_load_ps(t);
  }
  static F load_strided(const float* p, int64_t stride, int n) {
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                           _mm256_set1_epi32(static_cast<int>(stride)));
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, idx, _mm256_castsi256_ps(mask(n)), 4);
  }

  static void deinterleave2(F a, F b, F* even, F* odd) {
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xd8));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xdd)), 0xd8));
  }

  static void transpose(F* r) {  // 8 x 8, row i in r[i], in place
    F t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 8; g += 4) {
      u[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
      u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xee);
      u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
      u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xee);
    }
    for (int k = 0; k < 4; ++k) {
      r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
      r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
    }
  }
  // r[c] = lanes j: p[j * stride + c] (c, j < 8): 8 rows read from memory, transposed. The loads
  // exchange the 128-bit halves (each register takes two rows' halves), leaving two in-lane
  // shuffle rounds: 16 shuffles instead of load + transpose()'s 24.
  static void load_transposed(const float* p, int64_t stride, F* r) {
#pragma GCC unroll 2
    for (int i = 0; i < 2; ++i) {  // columns 4i .. 4i + 3
      F q[4];  // q[j]: row j, then row j + 4, columns 4i .. 4i + 3
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const float* s = p + j * stride + 4 * i;
        q[j] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(s)), _mm_loadu_ps(s + 4 * stride), 1);
      }
      const F t0 = _mm256_unpacklo_ps(q[0], q[1]), t1 = _mm256_unpackhi_ps(q[0], q[1]);
      const F t2 = _mm256_unpacklo_ps(q[2], q[3]), t3 = _mm256_unpackhi_ps(q[2], q[3]);
      r[4 * i] = _mm256_shuffle_ps(t0, t2, 0x44);
      r[4 * i + 1] = _mm256_shuffle_ps(t0, t2, 0xee);
      r[4 * i + 2] = _mm256_shuffle_ps(t1, t3, 0x44);
      r[4 * i + 3] = _mm256_shuffle_ps(t1, t3, 0xee);
    }
  }
  static void interleave2(F e, F o, F* lo, F* hi) {
    const F a = _mm256_unpacklo_ps(e, o), b = _mm256_unpackhi_ps(e, o);  // e0 o0 e1 o1 | e4 o4 e5 o5 ...
    *lo = _mm256_permute2f128_ps(a, b, 0x20);
    *hi = _mm256_permute2f128_ps(a, b, 0x31);
  }

  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F rcp(F a) {  // 12-bit estimate, two Newton steps
    F r = _mm256_rcp_ps(a);
    r = _mm256_mul_ps(r, _mm256_fnmadd_ps(a, r, _mm256_set1_ps(2.0f)));
    return _mm256_mul_ps(r, _mm256_fnmadd_ps(a, r, _mm256_set1_ps(2.0f)));
  }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F sqrt(F a) { return _mm256_sqrt_ps(a); }
  static F abs(F a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static F neg(F a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static F copysign(F a, F s) {
    const F sign = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign, a), _mm256_and_ps(sign, s));
  }
  static F round(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F pow2i(F n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
  static constexpr bool kFastShift = false;  // unaligned loads instead
  template <int k>
  static F shift(F lo, F hi) {
    alignas(64) float t[2 * kLanes];
    store(t, lo);
    store(t + kLanes, hi);
    return load(t + k);
  }
  static F scalef(F a, F n) {  // in two steps, so that 2^n need not be representable
    const F h = round(mul(n, set1(0.5f)));
    return mul(mul(a, pow2i(h)), pow2i(sub(n, h)));
  }
  static F select_lt(F a, F b, F x, F y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ)); }

  static float reduce_add(F a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float reduce_max(F a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

}  // namespace edgeai::kernels::cpu
