// The vector-ops abstraction over AVX-512F (16 floats). Include only from *_avx512.cc files.
// Every ISA's vector type offers the same static functions, so that kernels are written once as
// templates over it (see simd_portable.h for the list and their meaning).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace edgeai::kernels::cpu {

// 8 floats (ymm), the GEMM's narrow-column tail over the 8 rows of a register tile. A type of
// its own (not VecAvx2) so that no inline function is compiled with two ISAs' flags.
struct VecAvx512Half {
  using F = __m256;
  static constexpr int kLanes = 8;
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
};

struct VecAvx512 {
  using Half = VecAvx512Half;
  using F = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;

  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static Mask mask(int n) { return static_cast<Mask>((uint32_t(1) << n) - 1); }  // n in [0, 16]
  static F load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, F v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static F keep(F v, Mask m) { return _mm512_maskz_mov_ps(m, v); }  // lanes past the mask zeroed
  // Lane i: row[col + i] where 0 <= col + i < n, else 0; one masked load (masked-off lanes are
  // not read).
  static F load_window(const float* row, int64_t col, int64_t n) {
    const int64_t lo = col < 0 ? -col : 0, hi = n - col < 16 ? n - col : 16;
    if (hi <= lo) return zero();
    return _mm512_maskz_loadu_ps(static_cast<Mask>(mask(static_cast<int>(hi)) & ~mask(static_cast<int>(lo))), row + col);
  }
  // Every `stride`-th float from p (lanes >= n are zero).
  static F load_strided(const float* p, int64_t stride, int n) {
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(static_cast<int>(stride)));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask(n), idx, p, 4);
  }

  // The even and the odd lanes of the 32 floats a, b.
  static void deinterleave2(F a, F b, F* even, F* odd) {
    *even = _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
    *odd = _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
  }

  // r[0..16) as a 16 x 16 matrix (row i in r[i]) transposed in place.
  static void transpose(F* r) {
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2) {  // pairs of rows interleaved within 128-bit lanes
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 16; g += 4) {  // u[g + k]: column 4q + k of rows g..g+3 in lane q
      const __m512d a0 = _mm512_castps_pd(t[g]), a1 = _mm512_castps_pd(t[g + 1]);
      const __m512d b0 = _mm512_castps_pd(t[g + 2]), b1 = _mm512_castps_pd(t[g + 3]);
      u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, b0));
      u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, b0));
      u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, b1));
      u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, b1));
    }
    for (int k = 0; k < 4; ++k) {  // gather lane q of the four row groups into row 4q + k
      const __m512 v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x44), v2 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xee);
      const __m512 v3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x44);
      const __m512 v4 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xee);
      r[k] = _mm512_shuffle_f32x4(v1, v3, 0x88);
      r[4 + k] = _mm512_shuffle_f32x4(v1, v3, 0xdd);
      r[8 + k] = _mm512_shuffle_f32x4(v2, v4, 0x88);
      r[12 + k] = _mm512_shuffle_f32x4(v2, v4, 0xdd);
    }
  }

  // r[c] = lanes j: p[j * stride + c] (c, j < 16): 16 rows of 16 floats read from memory,
  // transposed. For each half of the columns (8h .. 8h + 7), register i holds row i in its low
  // 256 bits and row i + 8 in its high ones (a 256-bit load and a 256-bit insert), and two 8x8
  // transposes run side by side within the halves: unpack, shuffle, then one masked 128-bit lane
  // shuffle per output: 48 shuffles and 16 inserts per 16x16, where four rows' 128-bit quarters
  // per register took 48 inserts and 32 unpacks (on Zen 4 a 512-bit shuffle or 128-bit insert
  // issues about once a cycle). Transposes alone, 144 channels x 56 x 56 into and out of
  // channel blocks: 37.9 -> 33.3 us and 37.6 -> 35.8 us; 144 x 28 x 28 in, 8.3 -> 6.2 us.
  static void load_transposed(const float* p, int64_t stride, F* r) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      F v[8];  // v[i]: row i, columns 8h .. 8h + 7 | row i + 8, the same columns
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const float* s = p + i * stride + 8 * h;
        const F lo = _mm512_zextps256_ps512(_mm256_loadu_ps(s));  // (zext: -Wmaybe-uninitialized)
        v[i] = _mm512_insertf32x8(lo, _mm256_loadu_ps(s + 8 * stride), 1);
      }
      F t[8], u[8];
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
      }
      // u[4q + c], 128-bit lane l: column c (l even) or c + 4 (l odd) of rows 4q .. 4q + 3 (l < 2)
      // or 8 + 4q .. 8 + 4q + 3 (l >= 2).
#pragma GCC unroll 2
      for (int q = 0; q < 2; ++q) {
        u[4 * q] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0x44);
        u[4 * q + 1] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0xee);
        u[4 * q + 2] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0x44);
        u[4 * q + 3] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0xee);
      }
      // Column c: lanes 0 and 2 of u[c] (rows 0-3, 8-11), lanes 0 and 2 of u[c + 4] into lanes 1
      // and 3 (rows 4-7, 12-15); column c + 4 likewise from lanes 1 and 3.
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        r[8 * h + c] = _mm512_mask_shuffle_f32x4(u[c], 0xf0f0, u[c + 4], u[c + 4], 0x80);
        r[8 * h + c + 4] = _mm512_mask_shuffle_f32x4(u[c + 4], 0x0f0f, u[c], u[c], 0x31);
      }
    }
  }

  // The inverse: lanes e0 o0 e1 o1 ... into lo (first 16) and hi (last 16).
  static void interleave2(F e, F o, F* lo, F* hi) {
    *lo = _mm512_permutex2var_ps(e, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), o);
    *hi = _mm512_permutex2var_ps(e, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), o);
  }

  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  // 1 / a to about 1 ulp (a 14-bit estimate and one Newton step); a finite and nonzero.
  static F rcp(F a) {
    const F r = _mm512_rcp14_ps(a);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(a, r, _mm512_set1_ps(2.0f)));
  }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }  // a * b + c
  // Lanes 0-7 = w[2p], lanes 8-15 = w[2p + 1] (p in [0, 8)): the weights of two consecutive
  // rows of 8 values (attention values of a head of 8, two positions a vector).
  static F spread_pair(F w, int p) {
    return _mm512_permutexvar_ps(_mm512_add_epi32(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                                  _mm512_set1_epi32(2 * p)),
                                 w);
  }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F sqrt(F a) { return _mm512_sqrt_ps(a); }
  static F abs(F a) { return _mm512_abs_ps(a); }
  static F neg(F a) { return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT32_MIN))); }
  // a with the sign of s.
  static F copysign(F a, F s) {
    const __m512i sign = _mm512_set1_epi32(INT32_MIN);
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(sign, _mm512_castps_si512(a)),
                                               _mm512_and_si512(sign, _mm512_castps_si512(s))));
  }
  static F round(F a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integral n in [-126, 127].
  static F pow2i(F n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
  }
  // Lanes [k, k + 16) of the 32 lanes lo, hi (0 <= k < 16): a shifted window of two aligned
  // loads. kFastShift: cheaper than an unaligned load that splits cache lines.
  static constexpr bool kFastShift = true;
  template <int k>
  static F shift(F lo, F hi) {
    return _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(hi), _mm512_castps_si512(lo), k));
  }
  // a * 2^n for integral n (any range: overflow to inf, subnormal results rounded).
  static F scalef(F a, F n) { return _mm512_scalef_ps(a, n); }
  // a < b ? x : y
  static F select_lt(F a, F b, F x, F y) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x); }

  // (GCC 12's _mm512_reduce_*_ps trip -Wmaybe-uninitialized; these are the same reductions.)
  static float reduce_add(F a) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a),
                                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float reduce_max(F a) {
    const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(a),
                                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

}  // namespace edgeai::kernels::cpu
