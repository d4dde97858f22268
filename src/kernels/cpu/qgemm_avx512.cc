// The AVX-512 VNNI int8 GEMM (qgemm.h): vpdpbusd multiplies 4 u8 activations by 4 s8 weights and
// adds into an int32 lane. Register tile: 8 weight rows (broadcast) x 3 vectors of 16 columns = 24
// accumulators; the requantization (double, round half to even, saturation) runs in registers.
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/qgemm.h"

namespace edgeai::kernels::cpu {
namespace {

// 16 requantized values (see qgemm.h) as bytes. kClamp: clamp the scaled values to +-1e9 before
// rounding (needed only where a multiplier is 1 or more: beyond int32 the conversion is undefined).
template <bool kClamp = true>
inline __m128i requant16(__m512i acc, int32_t corr, double mult, int32_t zy, int32_t qmin, int32_t qmax) {
  const __m512i t = _mm512_add_epi32(acc, _mm512_set1_epi32(corr));
  const __m512d m = _mm512_set1_pd(mult);
  __m512d lo = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(t)), m);
  __m512d hi = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(t, 1)), m);
  if (kClamp) {
    const __m512d lo_lim = _mm512_set1_pd(-1e9), hi_lim = _mm512_set1_pd(1e9);
    lo = _mm512_min_pd(_mm512_max_pd(lo, lo_lim), hi_lim);
    hi = _mm512_min_pd(_mm512_max_pd(hi, lo_lim), hi_lim);
  }
  const __m256i l = _mm512_cvt_roundpd_epi32(lo, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256i h = _mm512_cvt_roundpd_epi32(hi, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512i r = _mm512_inserti64x4(_mm512_castsi256_si512(l), h, 1);
  r = _mm512_add_epi32(r, _mm512_set1_epi32(zy));
  r = _mm512_min_epi32(_mm512_max_epi32(r, _mm512_set1_epi32(qmin)), _mm512_set1_epi32(qmax));
  return _mm512_cvtepi32_epi8(r);
}

inline __mmask16 tail_mask(int64_t cols) {
  return cols >= 16 ? __mmask16(0xffff) : __mmask16((1u << cols) - 1);
}

inline void store_row(const QGemmBlock& g, __m512i acc, int64_t i, int64_t j, int cols) {
  const __m128i v = g.mult_below_one ? requant16<false>(acc, g.corr[i], g.mult[i], g.zy, g.qmin, g.qmax)
                                     : requant16<true>(acc, g.corr[i], g.mult[i], g.zy, g.qmin, g.qmax);
  _mm_mask_storeu_epi8(g.y + i * g.ldy + j, tail_mask(cols), v);
}

// acc += u8(b) . s8(a) per 4 bytes. Inline asm: GCC 12 copies the accumulator around the
// intrinsic (one extra move per vpdpbusd), which halves the kernel's speed.
inline __m512i dpbusd(__m512i acc, __m512i b, __m512i a) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(b), "v"(a));
  return acc;
}

// One tile: rows [i0, i0 + rows) of panel `a`, columns [j0, j0 + cols) from NV blocks at b.
template <int NV>
inline void tile(const QGemmBlock& g, const int8_t* a, const uint8_t* b, int64_t i0, int rows, int64_t j0,
                 int64_t cols) {
  const int64_t bstride = g.kq * 64;
  __m512i acc[kQMR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < kQMR; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_si512();
  }
  const int64_t kq = g.kq;
  for (int64_t q = 0; q < kq; ++q) {
    __m512i bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_si512(b + v * bstride + q * 64);
    const int32_t* aq = reinterpret_cast<const int32_t*>(a + q * kQMR * 4);
#pragma GCC unroll 8
    for (int i = 0; i < kQMR; ++i) {
      const __m512i av = _mm512_set1_epi32(aq[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = dpbusd(acc[i][v], bv[v], av);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < kQMR; ++i) {
    if (i >= rows) break;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const int64_t c = cols - v * 16;
      if (c > 0) store_row(g, acc[i][v], i0 + i, j0 + v * 16, static_cast<int>(std::min<int64_t>(c, 16)));
    }
  }
}

void gemm_avx512vnni(const QGemmBlock& g) {
  const int64_t panel_bytes = g.kq * kQMR * 4, bstride = g.kq * 64;
  for (int64_t j0 = 0; j0 < g.n;) {
    const int64_t left = g.n - j0;
    const int nv = left > 32 ? 3 : left > 16 ? 2 : 1;
    const int64_t cols = std::min<int64_t>(left, nv * 16);
    const uint8_t* b = g.b + (j0 / 16) * bstride;
    for (int64_t i0 = 0; i0 < g.m; i0 += kQMR) {
      const int8_t* a = g.a + (i0 / kQMR) * panel_bytes;
      const int rows = static_cast<int>(std::min<int64_t>(kQMR, g.m - i0));
      if (nv == 3) tile<3>(g, a, b, i0, rows, j0, cols);
      else if (nv == 2) tile<2>(g, a, b, i0, rows, j0, cols);
      else tile<1>(g, a, b, i0, rows, j0, cols);
    }
    j0 += cols;
  }
}

void pack_b_avx512(const uint8_t* src, int64_t ld, int64_t k, int64_t n, int64_t kq, uint8_t* dst) {
  qgemm_portable().pack_b(src, ld, k, n, kq, dst);
}

void u8_to_f32_avx512(const uint8_t* x, int64_t n, int32_t zx, float* y) {
  const __m512 z = _mm512_set1_ps(static_cast<float>(zx));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, x + i));
    _mm512_mask_storeu_ps(y + i, m, _mm512_sub_ps(_mm512_cvtepi32_ps(v), z));
  }
}

void requant_f32_avx512(const float* acc, int64_t n, int32_t corr, double mult, int32_t zy, int32_t qmin,
                        int32_t qmax, uint8_t* y) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i v = _mm512_cvttps_epi32(_mm512_maskz_loadu_ps(m, acc + i));
    _mm_mask_storeu_epi8(y + i, m, requant16(v, corr, mult, zy, qmin, qmax));
  }
}

void quantize_avx512(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax, uint8_t* y) {
  const __m512 s = _mm512_set1_ps(scale), lo = _mm512_set1_ps(-1e6f), hi = _mm512_set1_ps(1e6f);
  const __m512i z = _mm512_set1_epi32(zp), qlo = _mm512_set1_epi32(qmin), qhi = _mm512_set1_epi32(qmax);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(m, x + i), s);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    const __m512 c = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    __m512i r = _mm512_add_epi32(_mm512_cvt_roundps_epi32(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), z);
    r = _mm512_min_epi32(_mm512_max_epi32(r, qlo), qhi);
    r = _mm512_mask_blend_epi32(nan, r, z);
    _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(r));
  }
}

void dequantize_avx512(const uint8_t* x, int64_t n, bool is_signed, int32_t zp, float scale, float* y) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i z = _mm512_set1_epi32(zp);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m128i b = _mm_maskz_loadu_epi8(m, x + i);
    const __m512i v = is_signed ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, z)), s));
  }
}

// 16 outputs of a row at a time: each tap's 16 bytes widened to floats and multiplied-added
// (exact: the sums stay below 2^24).
template <bool kClamp>
void dwconv_avx512_impl(const QDwArgs& a) {
  const int64_t taps = a.kh * a.kw;
  int64_t off[64];
  __m512 wv[64];
  const bool small = taps <= 64;
  if (small) {
    for (int64_t ky = 0; ky < a.kh; ++ky) {
      for (int64_t kx = 0; kx < a.kw; ++kx) {
        const int64_t ty = ky * a.dh, tx = kx * a.dw, t = ky * a.kw + kx;
        off[t] = ((ty % a.s) * a.s + tx % a.s) * a.psize + (ty / a.s) * a.wq + tx / a.s;
        wv[t] = _mm512_set1_ps(a.w[t]);
      }
    }
  }
  int64_t oy0 = 0;
  if (small && a.s == 1 && a.dh == 1 && a.dw == 1) {
    // Four output rows at a time: each input row is widened once per column offset and serves
    // every output row whose window holds it.
    constexpr int kRows = 4;
    for (; oy0 + kRows <= a.oh; oy0 += kRows) {
      for (int64_t ox = 0; ox < a.ow; ox += 16) {
        const __mmask16 m = tail_mask(a.ow - ox);
        __m512 acc[kRows];
#pragma GCC unroll 4
        for (int j = 0; j < kRows; ++j) acc[j] = _mm512_setzero_ps();
        for (int64_t r = 0; r < a.kh + kRows - 1; ++r) {
          const uint8_t* row = a.x + (oy0 + r) * a.wq + ox;
          for (int64_t kx = 0; kx < a.kw; ++kx) {
            const __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, row + kx)));
#pragma GCC unroll 4
            for (int j = 0; j < kRows; ++j) {
              const int64_t ky = r - j;
              if (ky >= 0 && ky < a.kh) acc[j] = _mm512_fmadd_ps(v, wv[ky * a.kw + kx], acc[j]);
            }
          }
        }
#pragma GCC unroll 4
        for (int j = 0; j < kRows; ++j) {
          _mm_mask_storeu_epi8(a.y + (oy0 + j) * a.ow + ox, m,
                               requant16<kClamp>(_mm512_cvttps_epi32(acc[j]), a.corr, a.mult, a.zy, a.qmin, a.qmax));
        }
      }
    }
  }
  for (int64_t oy = oy0; oy < a.oh; ++oy) {
    for (int64_t ox = 0; ox < a.ow; ox += 16) {
      const __mmask16 m = tail_mask(a.ow - ox);
      const uint8_t* base = a.x + oy * a.wq + ox;
      __m512 acc = _mm512_setzero_ps();
      for (int64_t t = 0; t < taps; ++t) {
        int64_t o;
        __m512 w;
        if (small) {
          o = off[t];
          w = wv[t];
        } else {
          const int64_t ty = (t / a.kw) * a.dh, tx = (t % a.kw) * a.dw;
          o = ((ty % a.s) * a.s + tx % a.s) * a.psize + (ty / a.s) * a.wq + tx / a.s;
          w = _mm512_set1_ps(a.w[t]);
        }
        const __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, base + o)));
        acc = _mm512_fmadd_ps(v, w, acc);
      }
      _mm_mask_storeu_epi8(a.y + oy * a.ow + ox, m,
                           requant16<kClamp>(_mm512_cvttps_epi32(acc), a.corr, a.mult, a.zy, a.qmin, a.qmax));
    }
  }
}

void dwconv_avx512(const QDwArgs& a) {
  if (a.mult_below_one) dwconv_avx512_impl<false>(a);
  else dwconv_avx512_impl<true>(a);
}

// 64 bytes at a time: the table as 16 rows of 16 bytes; vpshufb looks up the low nibble in each
// row (broadcast to the four lanes) and the row whose index is the high nibble is kept.
void lut_u8_avx512(const uint8_t* x, int64_t n, const uint8_t* table, uint8_t* y) {
  __m512i rows[16];
  for (int r = 0; r < 16; ++r) {
    rows[r] = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table + 16 * r)));
  }
  const __m512i lo_nib = _mm512_set1_epi8(0x0f);
  for (int64_t i = 0; i < n; i += 64) {
    const __mmask64 m = n - i >= 64 ? ~__mmask64(0) : (__mmask64(1) << (n - i)) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(m, x + i);
    const __m512i lo = _mm512_and_si512(v, lo_nib);
    const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo_nib);
    __m512i r = _mm512_shuffle_epi8(rows[0], lo);
#pragma GCC unroll 15
    for (int t = 1; t < 16; ++t) {
      const __mmask64 sel = _mm512_cmpeq_epi8_mask(hi, _mm512_set1_epi8(static_cast<char>(t)));
      r = _mm512_mask_shuffle_epi8(r, sel, rows[t], lo);
    }
    _mm512_mask_storeu_epi8(y + i, m, r);
  }
}

void lut_f32_avx512(const uint8_t* x, int64_t n, const float* table, float* y) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i idx = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, x + i));
    _mm512_mask_storeu_ps(y + i, m, _mm512_i32gather_ps(idx, table, 4));
  }
}

// The float steps with explicit rounding: the compiler may not fuse them into one FMA.
void add_avx512(const uint8_t* a, const uint8_t* b, int64_t n, const QAddArgs& p, uint8_t* y) {
  constexpr int kRn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m512 sa = _mm512_set1_ps(p.sa), sb = _mm512_set1_ps(p.sb), sc = _mm512_set1_ps(p.sc);
  const __m512 lo = _mm512_set1_ps(-1e6f), hi = _mm512_set1_ps(1e6f);
  const __m512i za = _mm512_set1_epi32(p.za), zb = _mm512_set1_epi32(p.zb), zc = _mm512_set1_epi32(p.zc);
  const __m512i qlo = _mm512_set1_epi32(p.qmin), qhi = _mm512_set1_epi32(p.qmax);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i va = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, a + i)), za);
    const __m512i vb = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, b + i)), zb);
    const __m512 fa = _mm512_mul_round_ps(_mm512_cvtepi32_ps(va), sa, kRn);
    const __m512 fb = _mm512_mul_round_ps(_mm512_cvtepi32_ps(vb), sb, kRn);
    const __m512 v = _mm512_div_round_ps(_mm512_add_round_ps(fa, fb, kRn), sc, kRn);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    const __m512 c = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    __m512i r = _mm512_add_epi32(_mm512_cvt_roundps_epi32(c, kRn), zc);
    r = _mm512_min_epi32(_mm512_max_epi32(r, qlo), qhi);
    r = _mm512_mask_blend_epi32(nan, r, zc);
    _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(r));
  }
}

}  // namespace

const QGemmKernels& qgemm_avx512vnni() {
  static const QGemmKernels k{"avx512vnni",       &gemm_avx512vnni,  &pack_b_avx512,     &u8_to_f32_avx512,
                              &requant_f32_avx512, &quantize_avx512, &dequantize_avx512, &dwconv_avx512,
                              &lut_u8_avx512,     &lut_f32_avx512,    &add_avx512};
  return k;
}

}  // namespace edgeai::kernels::cpu
