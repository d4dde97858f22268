// The AVX2 int8 kernels (qgemm.h) for CPUs without AVX-512 VNNI. AVX2 has no exact u8 x s8 dot
// product: vpmaddubsw adds two u8 x s8 products in int16 and saturates (255 * 127 * 2 > 32767), so
// both operands are widened to int16 and vpmaddwd adds pairs of int16 products into int32 lanes
// (exact). GEMM: each weight panel is widened once per call (int16, on the stack), a row's quad is
// one 64-bit broadcast, 4 columns of a block (16 bytes) widened are one vector whose lane pairs
// hold each column's two half-quad sums; tile 8 rows x 4 columns (8 accumulators).
// Depthwise: the plane copied with its padding (qdw_impl.h); vpshufb makes each lane a pair of taps
// of one kernel row, vpmaddwd multiplies them by the pair's weights. Requantization as
// qgemm_requant (float multiply, round half to even, clamp); QuantizeLinear, DequantizeLinear,
// QLinearAdd and the float lookup 8 values at a time. Packing and byte lookups are the portable ones.
// GEMM ~2.8x, depthwise 1.7-3.4x the time of the AVX-512 VNNI kernels and 13-33x faster than the
// portable C++; whole models only a little faster than float (src/compress/quantize/hardware.cc).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/qdw_impl.h"
#include "kernels/cpu/qgemm.h"

namespace edgeai::kernels::cpu {
namespace {

// 8 requantized values (see qgemm.h) as int32 in [qmin, qmax]. kClamp as in qgemm_avx512.cc.
template <bool kClamp>
inline __m256i requant8(__m256i acc, __m256i corr, __m256 mult, int32_t zy, int32_t qmin, int32_t qmax) {
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc, corr)), mult);
  if (kClamp) v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-1e9f)), _mm256_set1_ps(1e9f));
  const __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(zy));  // MXCSR: half to even
  return _mm256_min_epi32(_mm256_max_epi32(r, _mm256_set1_epi32(qmin)), _mm256_set1_epi32(qmax));
}

// Values already in [qmin, qmax] (inside [-128, 255]) as their bytes: signed or unsigned narrowing.
inline __m256i narrow16(__m256i a, __m256i b, bool is_signed) {
  return is_signed ? _mm256_packs_epi16(a, b) : _mm256_packus_epi16(a, b);
}

inline __m256i bcast128(__m128i v) { return _mm256_inserti128_si256(_mm256_castsi128_si256(v), v, 1); }

constexpr int64_t kWideQuads = 1024;  // weight quads widened at a time: 64 KB of stack

// Quads [0, nq) of a weight panel (8 rows x 4 bytes each) as int16, in the same order.
inline void widen_panel(const int8_t* a, int64_t nq, int16_t* w) {
  for (int64_t q = 0; q < 2 * nq; ++q) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 16 * q));
    _mm256_store_si256(reinterpret_cast<__m256i*>(w + 16 * q), _mm256_cvtepi8_epi16(v));
  }
}

// acc += v in place. Inline asm: with the intrinsic GCC 12 copies each accumulator once per step
// (8 extra moves per 17 operations) and spills one of them.
inline __m256i add_to(__m256i acc, __m256i v) {
  asm("vpaddd %1, %0, %0" : "+x"(acc) : "x"(v));
  return acc;
}

// acc[r] += rows r of the widened panel times 4 columns (their quads at b + q * 64), quads [0, nq).
// Lane 2c of acc[r] sums the first two depth steps of each quad of column c, lane 2c + 1 the last two.
inline void accumulate(const int16_t* aw, const uint8_t* b, int64_t nq, __m256i (&acc)[kQMR]) {
  for (int64_t q = 0; q < nq; ++q) {
    const __m256i bv = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + q * 64)));
    const int16_t* aq = aw + q * 32;
#pragma GCC unroll 8
    for (int r = 0; r < kQMR; ++r) {
      const __m256i av = _mm256_broadcastq_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(aq + 4 * r)));
      acc[r] = add_to(acc[r], _mm256_madd_epi16(bv, av));
    }
  }
}

// The per-row requantization constants of one panel, lanes as the epilogue pairs rows: vector p
// holds row 2p in lanes 0-3 and row 2p + 1 in lanes 4-7.
struct PanelEpilogue {
  __m256i corr[4];
  __m256 mult[4];
  PanelEpilogue(const QGemmBlock& g, int64_t i0, int rows) {
    alignas(32) int32_t c[kQMR] = {};
    alignas(32) float m[kQMR] = {};
    for (int r = 0; r < rows; ++r) {
      c[r] = g.corr[i0 + r];
      m[r] = g.mult[i0 + r];
    }
    for (int p = 0; p < 4; ++p) {
      corr[p] = _mm256_setr_epi32(c[2 * p], c[2 * p], c[2 * p], c[2 * p], c[2 * p + 1], c[2 * p + 1], c[2 * p + 1],
                                  c[2 * p + 1]);
      mult[p] = _mm256_setr_ps(m[2 * p], m[2 * p], m[2 * p], m[2 * p], m[2 * p + 1], m[2 * p + 1], m[2 * p + 1],
                               m[2 * p + 1]);
    }
  }

  // Rows [i0, i0 + rows) x columns [j, j + cols) of y from the 8 x 4 tile's accumulators.
  template <bool kClamp>
  void store(const QGemmBlock& g, const __m256i (&acc)[kQMR], int64_t i0, int rows, int64_t j, int cols) const {
    if (g.y32) {  // the sums: rows 2p and 2p + 1 in the halves of vector p
      for (int p = 0; 2 * p < rows; ++p) {
        const __m256i h = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[2 * p], acc[2 * p + 1]), 0xd8);
        alignas(32) int32_t o[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(o), _mm256_add_epi32(h, corr[p]));
        for (int r = 2 * p; r < std::min(rows, 2 * p + 2); ++r) {
          std::memcpy(g.y32 + (i0 + r) * g.ldy + j, o + (r & 1) * 4, static_cast<size_t>(cols) * 4);
        }
      }
      return;
    }
    __m256i t[4];
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p) {
      // [r0c0 r0c1 r1c0 r1c1 | r0c2 r0c3 r1c2 r1c3] -> [r0c0..r0c3 | r1c0..r1c3]
      const __m256i h = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[2 * p], acc[2 * p + 1]), 0xd8);
      t[p] = requant8<kClamp>(h, corr[p], mult[p], g.zy, g.qmin, g.qmax);
    }
    // Words [r0 r2 | r1 r3] and [r4 r6 | r5 r7]; bytes [r0 r2 r4 r6 | r1 r3 r5 r7], 4 per row.
    const __m256i bytes = narrow16(_mm256_packs_epi32(t[0], t[1]), _mm256_packs_epi32(t[2], t[3]), g.qmin < 0);
    alignas(32) uint8_t out[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(out), bytes);
    for (int r = 0; r < rows; ++r) {
      const uint8_t* src = out + (r & 1) * 16 + (r >> 1) * 4;
      uint8_t* dst = g.y + (i0 + r) * g.ldy + j;
      if (cols == 4) std::memcpy(dst, src, 4);
      else std::memcpy(dst, src, static_cast<size_t>(cols));
    }
  }
};

template <bool kClamp>
void gemm_panels(const QGemmBlock& g) {
  const int64_t bstride = g.kq * 64, nvec = (g.n + 3) / 4;
  alignas(32) int16_t wide[kWideQuads * 32];
  auto b_of = [&](int64_t v) { return g.b + (v / 4) * bstride + (v % 4) * 16; };  // vector v: columns 4v..
  for (int64_t i0 = 0; i0 < g.m; i0 += kQMR) {
    const int8_t* a = g.a + (i0 / kQMR) * g.kq * kQMR * 4;
    const int rows = static_cast<int>(std::min<int64_t>(kQMR, g.m - i0));
    const PanelEpilogue ep(g, i0, rows);
    if (g.kq <= kWideQuads) {
      widen_panel(a, g.kq, wide);
      for (int64_t v = 0; v < nvec; ++v) {
        __m256i acc[kQMR];
        for (auto& x : acc) x = _mm256_setzero_si256();
        accumulate(wide, b_of(v), g.kq, acc);
        ep.store<kClamp>(g, acc, i0, rows, 4 * v, static_cast<int>(std::min<int64_t>(4, g.n - 4 * v)));
      }
      continue;
    }
    // Deep panels: the depth in slices of kWideQuads, the sums of a group of column vectors kept
    // between slices.
    constexpr int64_t kGroup = 16;
    alignas(32) int32_t part[kGroup][kQMR][8];
    for (int64_t v0 = 0; v0 < nvec; v0 += kGroup) {
      const int64_t nv = std::min(kGroup, nvec - v0);
      for (int64_t q0 = 0; q0 < g.kq; q0 += kWideQuads) {
        const int64_t nq = std::min(kWideQuads, g.kq - q0);
        widen_panel(a + q0 * kQMR * 4, nq, wide);
        for (int64_t v = v0; v < v0 + nv; ++v) {
          __m256i acc[kQMR];
          for (int r = 0; r < kQMR; ++r) {
            acc[r] = q0 == 0 ? _mm256_setzero_si256()
                             : _mm256_load_si256(reinterpret_cast<const __m256i*>(part[v - v0][r]));
          }
          accumulate(wide, b_of(v) + q0 * 64, nq, acc);
          if (q0 + nq < g.kq) {
            for (int r = 0; r < kQMR; ++r) _mm256_store_si256(reinterpret_cast<__m256i*>(part[v - v0][r]), acc[r]);
          } else {
            ep.store<kClamp>(g, acc, i0, rows, 4 * v, static_cast<int>(std::min<int64_t>(4, g.n - 4 * v)));
          }
        }
      }
    }
  }
}

void gemm_avx2(const QGemmBlock& g) {
  if (g.mult_below_one) gemm_panels<false>(g);
  else gemm_panels<true>(g);
}

// 8 values (int32 in [qmin, qmax]) as bytes at y.
inline void store8(__m256i v, bool is_signed, uint8_t* y, int64_t n) {
  const __m256i w = _mm256_packs_epi32(v, v);  // [0-3 0-3 | 4-7 4-7]
  const __m256i b = narrow16(w, w, is_signed);
  const __m128i r = _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
  if (n >= 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y), r);
  } else {
    alignas(16) uint8_t out[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(out), r);
    std::memcpy(y, out, static_cast<size_t>(n));
  }
}

void quantize_avx2(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax, uint8_t* y) {
  const __m256 s = _mm256_set1_ps(scale), lo = _mm256_set1_ps(-1e6f), hi = _mm256_set1_ps(1e6f);
  const __m256i z = _mm256_set1_epi32(zp), qlo = _mm256_set1_epi32(qmin), qhi = _mm256_set1_epi32(qmax);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
    const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    const __m256 c = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(c), z);
    r = _mm256_min_epi32(_mm256_max_epi32(r, qlo), qhi);
    r = _mm256_blendv_epi8(r, z, _mm256_castps_si256(nan));
    store8(r, qmin < 0, y + i, 8);
  }
  if (i < n) qgemm_portable().quantize(x + i, n - i, scale, zp, qmin, qmax, y + i);
}

void dequantize_avx2(const uint8_t* x, int64_t n, bool is_signed, int32_t zp, float scale, float* y) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i z = _mm256_set1_epi32(zp);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + i));
    const __m256i v = is_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)), s));
  }
  if (i < n) qgemm_portable().dequantize(x + i, n - i, is_signed, zp, scale, y + i);
}

void lut_f32_avx2(const uint8_t* x, int64_t n, const float* table, float* y) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + i)));
    _mm256_storeu_ps(y + i, _mm256_i32gather_ps(table, idx, 4));
  }
  for (; i < n; ++i) y[i] = table[x[i]];
}

// The value as rounded to float: an empty asm the compiler cannot see through, so that it does not
// fuse the product into the next addition (-ffp-contract=fast would make one FMA of the two).
inline __m256 rounded(__m256 v) {
  asm("" : "+x"(v));
  return v;
}

// QLinearAdd as the reference (qgemm.h QAddArgs): both products rounded, their sum rounded, then divided.
// kBounded (QAddArgs::bounded): no NaN and nothing to clamp before rounding.
template <bool kBounded>
void add_loop(const uint8_t* a, const uint8_t* b, int64_t n, const QAddArgs& p, uint8_t* y) {
  const __m256 sa = _mm256_set1_ps(p.sa), sb = _mm256_set1_ps(p.sb), sc = _mm256_set1_ps(p.sc);
  const __m256 lo = _mm256_set1_ps(-1e6f), hi = _mm256_set1_ps(1e6f);
  const __m256i za = _mm256_set1_epi32(p.za), zb = _mm256_set1_epi32(p.zb), zc = _mm256_set1_epi32(p.zc);
  const __m256i qlo = _mm256_set1_epi32(p.qmin), qhi = _mm256_set1_epi32(p.qmax);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    auto bytes8 = [](const uint8_t* p) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)); };
    const __m256i va = _mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes8(a + i)), za);
    const __m256i vb = _mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes8(b + i)), zb);
    const __m256 fa = rounded(_mm256_mul_ps(_mm256_cvtepi32_ps(va), sa));
    const __m256 fb = rounded(_mm256_mul_ps(_mm256_cvtepi32_ps(vb), sb));
    const __m256 v = _mm256_div_ps(rounded(_mm256_add_ps(fa, fb)), sc);
    __m256i r;
    if constexpr (kBounded) {
      r = _mm256_add_epi32(_mm256_cvtps_epi32(v), zc);
      r = _mm256_min_epi32(_mm256_max_epi32(r, qlo), qhi);
    } else {
      const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
      r = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi)), zc);
      r = _mm256_min_epi32(_mm256_max_epi32(r, qlo), qhi);
      r = _mm256_blendv_epi8(r, zc, _mm256_castps_si256(nan));
    }
    store8(r, p.qmin < 0, y + i, 8);
  }
  if (i < n) qgemm_portable().add(a + i, b + i, n - i, p, y + i);
}

void add_avx2(const uint8_t* a, const uint8_t* b, int64_t n, const QAddArgs& p, uint8_t* y) {
  if (p.bounded) add_loop<true>(a, b, n, p, y);
  else add_loop<false>(a, b, n, p, y);
}

// Depthwise. Output columns in tiles of 8 (lanes 0-3 from the buffer at the tile's first column,
// lanes 4-7 from 4 * sw columns on: one 16-byte load each); a pair of taps (kx, kx + 1) of a kernel
// row is one vpshufb of the loads at kx * dw (lane i: bytes i * sw and i * sw + dw, zero-extended),
// the pair's two weights one int16 pair, vpmaddwd the two products.
constexpr int64_t kDwBufBytes = int64_t(64) << 10;
constexpr int kDwMaxPairs = 32;  // kh * ceil(kw / 2)

// The vpshufb pattern of a pair of taps (or, lone, of one tap: the second word 0).
inline __m256i dw_pattern(int64_t sw, int64_t dw, bool lone) {
  alignas(16) int8_t p[16];
  for (int i = 0; i < 4; ++i) {
    p[4 * i] = static_cast<int8_t>(i * sw);
    p[4 * i + 1] = -1;
    p[4 * i + 2] = lone ? -1 : static_cast<int8_t>(i * sw + dw);
    p[4 * i + 3] = -1;
  }
  return bcast128(_mm_load_si128(reinterpret_cast<const __m128i*>(p)));
}

// Output rows [oy0, oy0 + R) from the padded buffer (row py of the padded plane at buf + (py - py0) * wp).
template <int R, bool kClamp>
void dw_rows(const QDwArgs& a, const QDwRowList<R>& rl, const uint8_t* buf, int64_t py0, int64_t wp, int64_t oy0,
             const int32_t* wpair, int npair, __m256i pat_pair, __m256i pat_lone) {
  const bool lone_last = a.kw % 2 == 1;
  const __m256i corr = _mm256_set1_epi32(a.corr);
  const __m256 mult = _mm256_set1_ps(a.mult);
  const uint8_t* base = buf + (oy0 * a.sh - py0) * wp;
  for (int64_t ox = 0; ox < a.ow; ox += 8) {
    __m256i acc[R];
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) acc[j] = _mm256_setzero_si256();
    for (int e = 0; e < rl.n; ++e) {
      const uint8_t* row = base + rl.r[e] * wp + ox * a.sw;
      for (int p = 0; p < npair; ++p) {
        const uint8_t* s = row + 2 * p * a.dw;
        const __m256i v = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s))),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 4 * a.sw)), 1);
        const __m256i x = _mm256_shuffle_epi8(v, (lone_last && p == npair - 1) ? pat_lone : pat_pair);
#pragma GCC unroll 4
        for (int j = 0; j < R; ++j) {
          const int ky = rl.ky[e][j];
          if (ky >= 0) acc[j] = add_to(acc[j], _mm256_madd_epi16(x, _mm256_set1_epi32(wpair[ky * npair + p])));
        }
      }
    }
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) {
      store8(requant8<kClamp>(acc[j], corr, mult, a.zy, a.qmin, a.qmax), a.qmin < 0, a.y + (oy0 + j) * a.ow + ox,
             a.ow - ox);
    }
  }
}

// 3x3 kernels without dilation (every depthwise of the benchmark models), row stride SH: output
// rows [oy0, oy0 + 4) with every index known at compile time (the generic loop's per-row kernel-row
// lookups and branches cost more than its multiplies).
template <int SH, bool kClamp>
void dw_rows_3x3(const QDwArgs& a, const uint8_t* buf, int64_t py0, int64_t wp, int64_t oy0, const int32_t* wpair,
                 __m256i pat_pair, __m256i pat_lone) {
  constexpr int R = 4, kRows = (R - 1) * SH + 3;
  __m256i w[3][2];
#pragma GCC unroll 3
  for (int ky = 0; ky < 3; ++ky) {
    w[ky][0] = _mm256_set1_epi32(wpair[2 * ky]);
    w[ky][1] = _mm256_set1_epi32(wpair[2 * ky + 1]);
  }
  const __m256i corr = _mm256_set1_epi32(a.corr);
  const __m256 mult = _mm256_set1_ps(a.mult);
  const uint8_t* base = buf + (oy0 * SH - py0) * wp;
  for (int64_t ox = 0; ox < a.ow; ox += 8) {
    __m256i acc[R];
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) acc[j] = _mm256_setzero_si256();
#pragma GCC unroll 9
    for (int r = 0; r < kRows; ++r) {
      const uint8_t* row = base + r * wp + ox * a.sw;
#pragma GCC unroll 2
      for (int p = 0; p < 2; ++p) {
        const uint8_t* src = row + 2 * p * a.dw;
        const __m256i v = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src))),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 4 * a.sw)), 1);
        const __m256i x = _mm256_shuffle_epi8(v, p == 1 ? pat_lone : pat_pair);
#pragma GCC unroll 4
        for (int j = 0; j < R; ++j) {
          const int ky = r - j * SH;
          if (ky >= 0 && ky < 3) acc[j] = add_to(acc[j], _mm256_madd_epi16(x, w[ky][p]));
        }
      }
    }
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) {
      store8(requant8<kClamp>(acc[j], corr, mult, a.zy, a.qmin, a.qmax), a.qmin < 0, a.y + (oy0 + j) * a.ow + ox,
             a.ow - ox);
    }
  }
}

template <bool kClamp>
void dw_planes(const QDwArgs& a, uint8_t* buf, int64_t wp, const int32_t* wpair, int npair) {
  const __m256i pat_pair = dw_pattern(a.sw, a.dw, false), pat_lone = dw_pattern(a.sw, a.dw, true);
  QDwRowList<4> l4;
  QDwRowList<1> l1;
  const bool four = qdw_row_list<4>(a, &l4);
  qdw_row_list<1>(a, &l1);
  const bool k3x3 = a.kh == 3 && a.kw == 3 && a.dh == 1;
  qdw_padded_bands(a, wp, buf, kDwBufBytes, [&](int64_t py0, int64_t oy0, int64_t oy1) {
    int64_t oy = oy0;
    if (k3x3 && a.sh == 1) {
      for (; oy + 4 <= oy1; oy += 4) dw_rows_3x3<1, kClamp>(a, buf, py0, wp, oy, wpair, pat_pair, pat_lone);
    } else if (k3x3 && a.sh == 2) {
      for (; oy + 4 <= oy1; oy += 4) dw_rows_3x3<2, kClamp>(a, buf, py0, wp, oy, wpair, pat_pair, pat_lone);
    } else if (four) {
      for (; oy + 4 <= oy1; oy += 4) dw_rows<4, kClamp>(a, l4, buf, py0, wp, oy, wpair, npair, pat_pair, pat_lone);
    }
    for (; oy < oy1; ++oy) dw_rows<1, kClamp>(a, l1, buf, py0, wp, oy, wpair, npair, pat_pair, pat_lone);
  });
}

void dwconv_avx2(const QDwArgs& a) {
  const int npair = static_cast<int>((a.kw + 1) / 2);
  const int64_t wp = (a.ow + 7) / 8 * 8 * a.sw + (a.kw - 1) * a.dw + 16;  // columns read: see dw_rows
  if ((a.sw != 1 && a.sw != 2) || 3 * a.sw + a.dw > 15 || a.kh * npair > kDwMaxPairs ||
      ((a.kh - 1) * a.dh + 1) * wp > kDwBufBytes) {
    qgemm_portable().dwconv(a);
    return;
  }
  int32_t wpair[kDwMaxPairs];
  for (int64_t ky = 0; ky < a.kh; ++ky) {
    for (int p = 0; p < npair; ++p) {
      const int64_t k0 = 2 * p, k1 = 2 * p + 1;
      const uint16_t w0 = static_cast<uint16_t>(int16_t(a.wt[ky * a.kw + k0]));
      const uint16_t w1 = k1 < a.kw ? static_cast<uint16_t>(int16_t(a.wt[ky * a.kw + k1])) : 0;
      wpair[ky * npair + p] = static_cast<int32_t>(uint32_t(w0) | uint32_t(w1) << 16);
    }
  }
  alignas(32) uint8_t buf[kDwBufBytes];
  if (a.mult_below_one) dw_planes<false>(a, buf, wp, wpair, npair);
  else dw_planes<true>(a, buf, wp, wpair, npair);
}

}  // namespace

const QGemmKernels& qgemm_avx2() {
  static const QGemmKernels k = [] {
    QGemmKernels t = qgemm_portable();  // packing and byte lookups stay portable
    t.name = "avx2";
    t.gemm = &gemm_avx2;
    t.quantize = &quantize_avx2;
    t.dequantize = &dequantize_avx2;
    t.dwconv = &dwconv_avx2;
    t.lut_f32 = &lut_f32_avx2;
    t.add = &add_avx2;
    return t;
  }();
  return k;
}

}  // namespace edgeai::kernels::cpu
