// The AVX-512 VNNI int8 GEMM (qgemm.h): vpdpbusd multiplies 4 u8 activations by 4 s8 weights and
// adds into an int32 lane. Register tile: 8 weight rows (broadcast) x 3 vectors of 16 columns = 24
// accumulators; the requantization (float, round half to even, saturation) runs in registers.
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/qgemm.h"

namespace edgeai::kernels::cpu {
namespace {

// 16 requantized values (see qgemm.h) as bytes. kClamp: clamp the scaled values to +-1e9 before
// rounding (needed only where a multiplier is 1 or more: beyond int32 the conversion is undefined).
template <bool kClamp = true>
inline __m128i requant16(__m512i acc, int32_t corr, float mult, int32_t zy, int32_t qmin, int32_t qmax) {
  __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc, _mm512_set1_epi32(corr))), _mm512_set1_ps(mult));
  if (kClamp) v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-1e9f)), _mm512_set1_ps(1e9f));
  __m512i r = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_add_epi32(r, _mm512_set1_epi32(zy));
  r = _mm512_min_epi32(_mm512_max_epi32(r, _mm512_set1_epi32(qmin)), _mm512_set1_epi32(qmax));
  return _mm512_cvtepi32_epi8(r);
}

inline __mmask16 tail_mask(int64_t cols) {
  return cols >= 16 ? __mmask16(0xffff) : __mmask16((1u << cols) - 1);
}

inline void store_row(const QGemmBlock& g, __m512i acc, int64_t i, int64_t j, int cols) {
  if (g.y32) {
    _mm512_mask_storeu_epi32(g.y32 + i * g.ldy + j, tail_mask(cols), _mm512_add_epi32(acc, _mm512_set1_epi32(g.corr[i])));
    return;
  }
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

constexpr int kPrefetchA = 1024;  // bytes ahead in the weight panel (32 quads)

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
    _mm_prefetch(reinterpret_cast<const char*>(aq) + kPrefetchA, _MM_HINT_T0);
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

inline __m256i dpbusd(__m256i acc, __m256i b, __m256i a) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(b), "v"(a));
  return acc;
}

// The last C (1-4) columns of one panel, its 8 weight rows as the lanes of a ymm: per quad one
// 32-byte load of the panel and one broadcast of each column's 4 bytes (a 16-column tile would
// multiply 16 columns for these few). U accumulators per column (quads q, q + 1, ... q + U - 1),
// C * U >= 8 chains so that the vpdpbusd latency is hidden (one column was latency-bound); the
// sums are integers, their order changes nothing.
// The columns' quads are read at bq[q * bs + c]: bs = 16 in the packed block, or C where the
// caller copied them together (the block's lines hold 16 columns: C of them read from L2 per
// panel is 16 / C times the bytes).
template <int C>
void tail_cols(const QGemmBlock& g, const int8_t* a, const int32_t* bq, int64_t bs, int64_t i0, int rows, int64_t j0) {
  constexpr int U = C <= 2 ? 8 / C : 4;
  __m256i acc[C][U];
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) acc[c][u] = _mm256_setzero_si256();
  }
  int64_t q = 0;
  for (; q + U <= g.kq; q += U) {
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + (q + u) * kQMR * 4));
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[c][u] = dpbusd(acc[c][u], _mm256_set1_epi32(bq[(q + u) * bs + c]), av);
    }
  }
  for (; q < g.kq; ++q) {
    const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + q * kQMR * 4));
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) acc[c][0] = dpbusd(acc[c][0], _mm256_set1_epi32(bq[q * bs + c]), av);
  }
  // Requantized as requant16, each lane with its row's correction and multiplier.
  const __mmask16 rm = static_cast<__mmask16>((1u << rows) - 1);
  const __m512i corr = _mm512_maskz_loadu_epi32(rm, g.corr + i0);
  const __m512 mult = _mm512_maskz_loadu_ps(rm, g.mult + i0);
  alignas(16) uint8_t out[16];
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
    __m256i total = acc[c][0];
#pragma GCC unroll 8
    for (int u = 1; u < U; ++u) total = _mm256_add_epi32(total, acc[c][u]);
    const __m512i sum = _mm512_castsi256_si512(total);
    if (g.y32) {
      alignas(64) int32_t o[16];
      _mm512_store_si512(o, _mm512_add_epi32(sum, corr));
      for (int i = 0; i < rows; ++i) g.y32[(i0 + i) * g.ldy + j0 + c] = o[i];
      continue;
    }
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(sum, corr)), mult);
    if (!g.mult_below_one) v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-1e9f)), _mm512_set1_ps(1e9f));
    __m512i r = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_add_epi32(r, _mm512_set1_epi32(g.zy));
    r = _mm512_min_epi32(_mm512_max_epi32(r, _mm512_set1_epi32(g.qmin)), _mm512_set1_epi32(g.qmax));
    _mm_store_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtepi32_epi8(r));
    for (int i = 0; i < rows; ++i) g.y[(i0 + i) * g.ldy + j0 + c] = out[i];
  }
}

// Panel by panel (its weights read once, from L1 for every tile), the columns in tiles of 48, 32 or
// 16, a last partial block of 1-4 columns through tail_cols.
void gemm_avx512vnni(const QGemmBlock& g) {
  const int64_t panel_bytes = g.kq * kQMR * 4, bstride = g.kq * 64;
  const int64_t rem = g.n % 16, n_tiles = (rem > 0 && rem <= 4) ? g.n - rem : g.n;
  // The tail columns' quads copied together once for all panels (where they fit on the stack).
  constexpr int64_t kTailWords = 4096;
  int32_t tail_copy[kTailWords];
  const int64_t tc = g.n - n_tiles;
  const int32_t* tail_b = reinterpret_cast<const int32_t*>(g.b + (n_tiles / 16) * bstride);
  int64_t tail_bs = 16;
  if (tc > 0 && tc * g.kq <= kTailWords && g.m > kQMR) {
    for (int64_t q = 0; q < g.kq; ++q) {
      for (int64_t c = 0; c < tc; ++c) tail_copy[q * tc + c] = tail_b[q * 16 + c];
    }
    tail_b = tail_copy;
    tail_bs = tc;
  }
  for (int64_t i0 = 0; i0 < g.m; i0 += kQMR) {
    const int8_t* a = g.a + (i0 / kQMR) * panel_bytes;
    const int rows = static_cast<int>(std::min<int64_t>(kQMR, g.m - i0));
    for (int64_t j0 = 0; j0 < n_tiles;) {
      const int64_t left = n_tiles - j0;
      const int nv = left > 32 ? 3 : left > 16 ? 2 : 1;
      const int64_t cols = std::min<int64_t>(left, nv * 16);
      const uint8_t* b = g.b + (j0 / 16) * bstride;
      if (nv == 3) tile<3>(g, a, b, i0, rows, j0, cols);
      else if (nv == 2) tile<2>(g, a, b, i0, rows, j0, cols);
      else tile<1>(g, a, b, i0, rows, j0, cols);
      j0 += cols;
    }
    switch (tc) {
      case 0: break;
      case 1: tail_cols<1>(g, a, tail_b, tail_bs, i0, rows, n_tiles); break;
      case 2: tail_cols<2>(g, a, tail_b, tail_bs, i0, rows, n_tiles); break;
      case 3: tail_cols<3>(g, a, tail_b, tail_bs, i0, rows, n_tiles); break;
      default: tail_cols<4>(g, a, tail_b, tail_bs, i0, rows, n_tiles); break;
    }
  }
}

// Four rows of 64 columns (one per depth step of a quad) as quad q of nb <= 4 consecutive blocks
// (block b at d + b * bstride): the byte interleave within 128-bit lanes gives lane L the quads of
// block L, then a 4 x 4 transpose of the lanes makes each block's 64 bytes one vector.
inline void store_quads4(uint8_t* d, int64_t bstride, int64_t nb, __m512i r0, __m512i r1, __m512i r2, __m512i r3) {
  const __m512i a = _mm512_unpacklo_epi8(r0, r1), b = _mm512_unpackhi_epi8(r0, r1);
  const __m512i c = _mm512_unpacklo_epi8(r2, r3), e = _mm512_unpackhi_epi8(r2, r3);
  const __m512i o0 = _mm512_unpacklo_epi16(a, c), o1 = _mm512_unpackhi_epi16(a, c);  // columns 0-3, 4-7 of each lane
  const __m512i o2 = _mm512_unpacklo_epi16(b, e), o3 = _mm512_unpackhi_epi16(b, e);  // 8-11, 12-15
  const __m512i t0 = _mm512_shuffle_i64x2(o0, o1, 0x44), t1 = _mm512_shuffle_i64x2(o2, o3, 0x44);  // lanes 0, 1
  const __m512i t2 = _mm512_shuffle_i64x2(o0, o1, 0xee), t3 = _mm512_shuffle_i64x2(o2, o3, 0xee);  // lanes 2, 3
  _mm512_storeu_si512(d, _mm512_shuffle_i64x2(t0, t1, 0x88));
  if (nb > 1) _mm512_storeu_si512(d + bstride, _mm512_shuffle_i64x2(t0, t1, 0xdd));
  if (nb > 2) _mm512_storeu_si512(d + 2 * bstride, _mm512_shuffle_i64x2(t2, t3, 0x88));
  if (nb > 3) _mm512_storeu_si512(d + 3 * bstride, _mm512_shuffle_i64x2(t2, t3, 0xdd));
}

inline __mmask64 tail_mask64(int64_t cols) { return cols >= 64 ? ~__mmask64(0) : (__mmask64(1) << cols) - 1; }

// 64 columns (4 blocks) at a time: one masked 64-byte load per row.
void pack_b_avx512(const uint8_t* src, int64_t ld, int64_t k, int64_t n, int64_t kq, uint8_t* dst) {
  const int64_t bstride = kq * 64, full_quads = k / 4;
  for (int64_t j = 0; j < n; j += 64) {
    const __mmask64 m = tail_mask64(n - j);
    const int64_t nb = std::min<int64_t>(4, (n - j + 15) / 16);
    uint8_t* d = dst + (j / 16) * bstride;
    const uint8_t* s = src + j;
    int64_t q = 0;
    for (; q < full_quads; ++q, s += 4 * ld) {
      store_quads4(d + q * 64, bstride, nb, _mm512_maskz_loadu_epi8(m, s), _mm512_maskz_loadu_epi8(m, s + ld),
                   _mm512_maskz_loadu_epi8(m, s + 2 * ld), _mm512_maskz_loadu_epi8(m, s + 3 * ld));
    }
    if (q < kq) {  // rows past k are zero
      __m512i r[4];
      for (int i = 0; i < 4; ++i) r[i] = 4 * q + i < k ? _mm512_maskz_loadu_epi8(m, s + i * ld) : _mm512_setzero_si512();
      store_quads4(d + q * 64, bstride, nb, r[0], r[1], r[2], r[3]);
    }
  }
}

// Four 16-byte rows (one per depth step of a quad) as one block quad: column c's 4 bytes at 4 * c.
inline void store_quad(uint8_t* d, __m128i r0, __m128i r1, __m128i r2, __m128i r3) {
  const __m128i a = _mm_unpacklo_epi8(r0, r1), b = _mm_unpackhi_epi8(r0, r1);
  const __m128i c = _mm_unpacklo_epi8(r2, r3), e = _mm_unpackhi_epi8(r2, r3);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_unpacklo_epi16(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 16), _mm_unpackhi_epi16(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 32), _mm_unpacklo_epi16(b, e));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 48), _mm_unpackhi_epi16(b, e));
}

// The k rows of one group of columns in quads, as B's layout wants them: row r = 4q + i is channel
// r / taps at tap r % taps, read by load(that channel's plane + the tap's offset, tap); rows past k
// are zero; store(q, the quad's 4 rows).
template <typename V, typename Load, typename Store>
inline void pack_rows(const QPackConvArgs& p, const int64_t* off, Load&& load, Store&& store) {
  const int64_t plane = p.h * p.w, full_quads = p.k / 4;
  const uint8_t* xc = p.x;
  int t = 0;
  auto row = [&]() {
    const V v = load(xc + off[t], t);
    if (++t == p.taps) {
      t = 0;
      xc += plane;
    }
    return v;
  };
  int64_t q = 0;
  for (; q < full_quads; ++q) {
    const V r0 = row(), r1 = row(), r2 = row(), r3 = row();
    store(q, r0, r1, r2, r3);
  }
  if (q < p.kq) {
    V r[4];
    for (int i = 0; i < 4; ++i) r[i] = 4 * q + i < p.k ? row() : V{};
    store(q, r[0], r[1], r[2], r[3]);
  }
}

// Bit l of m moved to bit 2l (a lane mask of 16 words as the mask of their low bytes).
inline uint32_t even_bits(uint32_t m) {
  m = (m | (m << 8)) & 0x00ff00ffu;
  m = (m | (m << 4)) & 0x0f0f0f0fu;
  m = (m | (m << 2)) & 0x33333333u;
  return (m | (m << 1)) & 0x55555555u;
}

// The byte-mask bits of lanes [0, n) of a block (lane l at bit l, or at bit 2l for column stride 2,
// whose loads are of 16-bit words), n <= 16.
template <int kSw>
inline uint32_t lane_bits(int64_t n) {
  const uint32_t m = n >= 16 ? 0xffffu : (1u << n) - 1;
  return kSw == 2 ? even_bits(m) : m;
}

// Per block of 16 columns: the runs of lanes in one output row ("segments": lane l of segment s
// reads base[s] + l * sw + the row's offset; runs whose bases agree are one segment) and one lane
// mask per tap (which columns read inside the plane). Every row is then one masked load per
// segment (sw 2: 32 bytes, the even ones kept by vpmovwb); padding lanes take zx, lanes past n 0.
// Masked-off bytes are not read, so a load may start before or end past its plane.
template <int kSw>
void pack_b_conv_blocks(const QPackConvArgs& p, uint8_t* dst) {
  constexpr int kMaxSegs = 17;
  const int64_t blocks = (p.n + 15) / 16;
  int64_t off[kQPackMaxTaps], base[kMaxSegs];
  uint32_t masks[kQPackMaxTaps], segm[kMaxSegs];
  for (int t = 0; t < p.taps; ++t) off[t] = int64_t(p.dy[t]) * p.w + p.dx[t];
  const __m128i zxv = _mm_set1_epi8(static_cast<char>(p.zx));
  const __m512i hv = _mm512_set1_epi32(static_cast<int32_t>(p.h)), wv = _mm512_set1_epi32(static_cast<int32_t>(p.w));
  alignas(64) int32_t iy[16], ix[16];
  uint32_t lanes[17];  // the mask bits of lanes [0, n)
  for (int n = 0; n <= 16; ++n) lanes[n] = lane_bits<kSw>(n);
  for (int64_t jb = 0; jb < blocks; ++jb) {
    const int64_t j = p.j0 + jb * 16;
    const __mmask16 colm = tail_mask(p.n - jb * 16);
    int64_t oy = j / p.ow, ox = j % p.ow;
    const __m128i fill = _mm_maskz_mov_epi8(colm, zxv);
    uint8_t* d = dst + jb * p.kq * 64;
    auto store = [&](int64_t q, __m128i r0, __m128i r1, __m128i r2, __m128i r3) { store_quad(d + q * 64, r0, r1, r2, r3); };
    if (ox + 16 <= p.ow) {  // the block inside one output row: one segment, masks from lane ranges
      const int64_t y0 = oy * p.sh, x0 = ox * kSw, b0 = y0 * p.w + x0;
      const uint32_t cm = kSw == 2 ? even_bits(colm) : colm;
      for (int t = 0; t < p.taps; ++t) {
        const int64_t yy = y0 + p.dy[t], sx = x0 + p.dx[t];  // lane l reads column sx + l * kSw
        const int64_t lo = std::min<int64_t>(16, sx >= 0 ? 0 : (kSw - 1 - sx) / kSw);
        const int64_t hi = std::clamp<int64_t>((p.w - sx + kSw - 1) / kSw, 0, 16);
        masks[t] = (yy >= 0 && yy < p.h && hi > lo) ? lanes[hi] & ~lanes[lo] & cm : 0;
      }
      if (kSw == 1) {
        pack_rows<__m128i>(
            p, off, [&](const uint8_t* xr, int t) { return _mm_mask_loadu_epi8(fill, masks[t], xr + b0); }, store);
      } else {
        const __m256i fill16 = _mm256_cvtepu8_epi16(fill);
        pack_rows<__m128i>(
            p, off,
            [&](const uint8_t* xr, int t) {
              return _mm256_cvtepi16_epi8(_mm256_mask_loadu_epi8(fill16, masks[t], xr + b0));
            },
            store);
      }
      continue;
    }
    int nseg = 0;
    for (int l = 0; l < 16; ++l) {
      iy[l] = static_cast<int32_t>(oy * p.sh);
      ix[l] = static_cast<int32_t>(ox * kSw);
      const int64_t b = iy[l] * p.w + ix[l] - int64_t(l) * kSw;
      if (nseg == 0 || base[nseg - 1] != b) base[nseg++] = b, segm[nseg - 1] = 0;
      segm[nseg - 1] |= 1u << l;
      if (++ox == p.ow) {
        ox = 0;
        ++oy;
      }
    }
    const __m512i iyv = _mm512_load_si512(iy), ixv = _mm512_load_si512(ix);
    for (int t = 0; t < p.taps; ++t) {  // unsigned compares: 0 <= iy + dy < h and 0 <= ix + dx < w
      const __mmask16 in_rows = _mm512_mask_cmplt_epu32_mask(colm, _mm512_add_epi32(iyv, _mm512_set1_epi32(p.dy[t])), hv);
      const __mmask16 m = _mm512_mask_cmplt_epu32_mask(in_rows, _mm512_add_epi32(ixv, _mm512_set1_epi32(p.dx[t])), wv);
      masks[t] = kSw == 2 ? even_bits(m) : m;
    }
    if (kSw == 2) {
      for (int sg = 0; sg < nseg; ++sg) segm[sg] = even_bits(segm[sg]);
    }
    pack_rows<__m128i>(
        p, off,
        [&](const uint8_t* xr, int t) {
          if (kSw == 1) {
            __m128i v = fill;
            for (int sg = 0; sg < nseg; ++sg) v = _mm_mask_loadu_epi8(v, masks[t] & segm[sg], xr + base[sg]);
            return v;
          }
          __m256i w = _mm256_cvtepu8_epi16(fill);
          for (int sg = 0; sg < nseg; ++sg) w = _mm256_mask_loadu_epi8(w, masks[t] & segm[sg], xr + base[sg]);
          return _mm256_cvtepi16_epi8(w);
        },
        store);
  }
}

// Stride 1 with the output width the input width (column j reads x + j + the row's offset): as
// pack_b_conv_blocks, 64 columns at a time, one masked 64-byte load per row.
void pack_b_conv_flat(const QPackConvArgs& p, uint8_t* dst) {
  const int64_t bstride = p.kq * 64;
  int64_t off[kQPackMaxTaps];
  __mmask64 masks[kQPackMaxTaps];
  for (int t = 0; t < p.taps; ++t) off[t] = int64_t(p.dy[t]) * p.w + p.dx[t];
  const __m512i zxv = _mm512_set1_epi8(static_cast<char>(p.zx));
  const __m512i hv = _mm512_set1_epi32(static_cast<int32_t>(p.h)), wv = _mm512_set1_epi32(static_cast<int32_t>(p.w));
  alignas(64) int32_t iy[64], ix[64];
  for (int64_t j = 0; j < p.n; j += 64) {
    const __mmask64 colm = tail_mask64(p.n - j);
    const int64_t nb = std::min<int64_t>(4, (p.n - j + 15) / 16);
    int64_t oy = (p.j0 + j) / p.w, ox = (p.j0 + j) % p.w;
    for (int l = 0; l < 64; ++l) {
      iy[l] = static_cast<int32_t>(oy);
      ix[l] = static_cast<int32_t>(ox);
      if (++ox == p.w) {
        ox = 0;
        ++oy;
      }
    }
    for (int t = 0; t < p.taps; ++t) {  // unsigned compares: 0 <= iy + dy < h and 0 <= ix + dx < w
      const __m512i dy = _mm512_set1_epi32(p.dy[t]), dx = _mm512_set1_epi32(p.dx[t]);
      __mmask64 m = 0;
      for (int b = 0; b < 4; ++b) {
        const __m512i yv = _mm512_add_epi32(_mm512_load_si512(iy + 16 * b), dy);
        const __m512i xv = _mm512_add_epi32(_mm512_load_si512(ix + 16 * b), dx);
        const __mmask16 in = _mm512_mask_cmplt_epu32_mask(_mm512_cmplt_epu32_mask(yv, hv), xv, wv);
        m |= __mmask64(in) << (16 * b);
      }
      masks[t] = m & colm;
    }
    const __m512i fill = _mm512_maskz_mov_epi8(colm, zxv);
    uint8_t* d = dst + (j / 16) * bstride;
    pack_rows<__m512i>(
        p, off, [&](const uint8_t* xr, int t) { return _mm512_mask_loadu_epi8(fill, masks[t], xr + p.j0 + j); },
        [&](int64_t q, __m512i r0, __m512i r1, __m512i r2, __m512i r3) {
          store_quads4(d + q * 64, bstride, nb, r0, r1, r2, r3);
        });
  }
}

void pack_b_conv_avx512(const QPackConvArgs& p, uint8_t* dst) {
  if (p.sw == 2) pack_b_conv_blocks<2>(p, dst);
  else if (p.sh == 1 && p.ow == p.w) pack_b_conv_flat(p, dst);
  else pack_b_conv_blocks<1>(p, dst);
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

// Depthwise, dilation 1, column stride kSw (1 or 2): 16 outputs of a row are 16 int32 lanes, and
// vpdpbusd adds 4 taps of a kernel row at once. Lane j needs the 4 input bytes from column
// ox * kSw + j * kSw + 4t (taps 4t .. 4t + 3, weights past kw are 0): one masked load of the row
// (columns outside the plane load as zx), then vpermd gives 128-bit lane L the 16 bytes from dword
// L * kSw and vpshufb picks each output's 4 bytes from them.
// The 4-byte windows of 4 outputs, in each 128-bit lane of v (the lane's 16 bytes start at the
// lane's first output column).
template <int kSw>
inline __m512i dw_pick(__m512i v) {
  const __m512i pat = kSw == 1 ? _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6))
                               : _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9));
  return _mm512_shuffle_epi8(v, pat);
}

template <int kSw>
inline __m512i dw_windows(__m512i v) {
  const __m512i idx = kSw == 1 ? _mm512_setr_epi32(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6)
                               : _mm512_setr_epi32(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9);
  return dw_pick<kSw>(_mm512_permutexvar_epi32(idx, v));
}

inline __mmask64 byte_range_mask(int64_t lo, int64_t hi) {  // bits [lo, hi) of 64, 0 <= lo < hi <= 64
  const __mmask64 below_hi = hi >= 64 ? ~__mmask64(0) : (__mmask64(1) << hi) - 1;
  return below_hi & ~((__mmask64(1) << lo) - 1);
}

constexpr int kDwMaxWords = 32;  // kh * ceil(kw / 4) weight words

// Output rows [oy0, oy0 + R): each input row's windows are built once and serve every output row
// whose window holds it (ky = r - j * sh).
template <int R, int kSw, bool kClamp>
void dw_rows(const QDwArgs& a, int64_t oy0, const int32_t* wq, int nwin) {
  constexpr int kNeed = 15 * kSw + 4;  // bytes one window load covers
  const __m512i zxv = _mm512_set1_epi8(static_cast<char>(a.zx));
  const int64_t rows_in = (R - 1) * a.sh + a.kh, iy0 = oy0 * a.sh - a.pt;
  for (int64_t ox = 0; ox < a.ow; ox += 16) {
    __m512i acc[R];
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) acc[j] = _mm512_setzero_si512();
    for (int t = 0; t < nwin; ++t) {
      const int64_t c0 = ox * kSw - a.pl + 4 * t;
      const int64_t lo = std::max<int64_t>(0, -c0), hi = std::min<int64_t>(kNeed, a.w - c0);
      const __mmask64 m = hi > lo ? byte_range_mask(lo, hi) : 0;
      for (int64_t r = 0; r < rows_in; ++r) {
        const int64_t iy = iy0 + r;
        const __m512i v = (iy >= 0 && iy < a.h && m) ? dw_windows<kSw>(_mm512_mask_loadu_epi8(zxv, m, a.x + iy * a.w + c0))
                                                     : zxv;
#pragma GCC unroll 4
        for (int j = 0; j < R; ++j) {
          const int64_t ky = r - j * a.sh;
          if (ky >= 0 && ky < a.kh) acc[j] = dpbusd(acc[j], v, _mm512_set1_epi32(wq[ky * nwin + t]));
        }
      }
    }
    const __mmask16 sm = tail_mask(a.ow - ox);
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) {
      _mm_mask_storeu_epi8(a.y + (oy0 + j) * a.ow + ox, sm, requant16<kClamp>(acc[j], a.corr, a.mult, a.zy, a.qmin, a.qmax));
    }
  }
}

// Rows of at most 8 outputs (7x7 planes): two output rows per vector, row 2v in lanes 0-7 and row
// 2v + 1 in lanes 8-15. The input rows they read, iy and iy + sh, are loaded into the low and high
// 256 bits, and the windows of lanes 8-15 come from the high half (dword 8 on).
template <int kSw>
inline __m512i dw_windows_pair(__m512i v) {
  const __m512i idx = kSw == 1 ? _mm512_setr_epi32(0, 1, 2, 3, 1, 2, 3, 4, 8, 9, 10, 11, 9, 10, 11, 12)
                               : _mm512_setr_epi32(0, 1, 2, 3, 2, 3, 4, 5, 8, 9, 10, 11, 10, 11, 12, 13);
  return dw_pick<kSw>(_mm512_permutexvar_epi32(idx, v));
}

// Output row pairs [v0, v0 + R) (rows 2 v0 .. 2 (v0 + R) - 1, those below oh stored).
template <int R, int kSw, bool kClamp>
void dw_row_pairs(const QDwArgs& a, int64_t v0, const int32_t* wq, int nwin) {
  constexpr int kNeed = 7 * kSw + 4;  // bytes one half's windows cover
  const __m256i zxv = _mm256_set1_epi8(static_cast<char>(a.zx));
  const int64_t vs = 2 * a.sh, rows_in = (R - 1) * vs + a.kh, iy0 = 2 * v0 * a.sh - a.pt;
  auto load = [&](int64_t iy, __mmask32 m, int64_t c0) {
    return (iy >= 0 && iy < a.h && m) ? _mm256_mask_loadu_epi8(zxv, m, a.x + iy * a.w + c0) : zxv;
  };
  __m512i acc[R];
#pragma GCC unroll 4
  for (int j = 0; j < R; ++j) acc[j] = _mm512_setzero_si512();
  for (int t = 0; t < nwin; ++t) {
    const int64_t c0 = 4 * t - a.pl;
    const int64_t lo = std::max<int64_t>(0, -c0), hi = std::min<int64_t>(kNeed, a.w - c0);
    const __mmask32 m = hi > lo ? static_cast<__mmask32>(byte_range_mask(lo, hi)) : 0;
    for (int64_t r = 0; r < rows_in; ++r) {
      const int64_t iy = iy0 + r;
      const __m512i v = dw_windows_pair<kSw>(
          _mm512_inserti64x4(_mm512_castsi256_si512(load(iy, m, c0)), load(iy + a.sh, m, c0), 1));
#pragma GCC unroll 4
      for (int j = 0; j < R; ++j) {
        const int64_t ky = r - j * vs;
        if (ky >= 0 && ky < a.kh) acc[j] = dpbusd(acc[j], v, _mm512_set1_epi32(wq[ky * nwin + t]));
      }
    }
  }
  const __mmask16 sm = tail_mask(a.ow);
#pragma GCC unroll 4
  for (int j = 0; j < R; ++j) {
    const int64_t oy = 2 * (v0 + j);
    const __m128i y = requant16<kClamp>(acc[j], a.corr, a.mult, a.zy, a.qmin, a.qmax);
    _mm_mask_storeu_epi8(a.y + oy * a.ow, sm, y);
    if (oy + 1 < a.oh) _mm_mask_storeu_epi8(a.y + (oy + 1) * a.ow, sm, _mm_srli_si128(y, 8));
  }
}

template <int kSw, bool kClamp>
void dwconv_direct(const QDwArgs& a, const int32_t* wq, int nwin) {
  if (a.ow <= 8) {
    const int64_t pairs = (a.oh + 1) / 2;
    if (pairs == 4) {  // 7x7 and 8x8 planes: every input row loaded once
      dw_row_pairs<4, kSw, kClamp>(a, 0, wq, nwin);
      return;
    }
    int64_t v = 0;
    for (; v + 2 <= pairs; v += 2) dw_row_pairs<2, kSw, kClamp>(a, v, wq, nwin);
    for (; v < pairs; ++v) dw_row_pairs<1, kSw, kClamp>(a, v, wq, nwin);
    return;
  }
  int64_t oy = 0;
  for (; oy + 4 <= a.oh; oy += 4) dw_rows<4, kSw, kClamp>(a, oy, wq, nwin);
  for (; oy < a.oh; ++oy) dw_rows<1, kSw, kClamp>(a, oy, wq, nwin);
}

void dwconv_avx512(const QDwArgs& a) {
  const int nwin = static_cast<int>((a.kw + 3) / 4);
  if (a.dh != 1 || a.dw != 1 || (a.sw != 1 && a.sw != 2) || a.kh * nwin > kDwMaxWords) {
    qgemm_portable().dwconv(a);
    return;
  }
  int32_t wq[kDwMaxWords];
  if (a.kh == 3 && a.kw == 3) {  // the common case, without the loops
    for (int ky = 0; ky < 3; ++ky) {
      const uint8_t* w = reinterpret_cast<const uint8_t*>(a.wt) + 3 * ky;
      wq[ky] = static_cast<int32_t>(uint32_t(w[0]) | uint32_t(w[1]) << 8 | uint32_t(w[2]) << 16);
    }
  } else {
    for (int64_t ky = 0; ky < a.kh; ++ky) {
      for (int t = 0; t < nwin; ++t) {
        uint32_t word = 0;
        for (int b = 0; b < 4; ++b) {
          const int64_t kx = 4 * t + b;
          const uint8_t v = kx < a.kw ? static_cast<uint8_t>(a.wt[ky * a.kw + kx]) : 0;
          word |= uint32_t(v) << (8 * b);
        }
        wq[ky * nwin + t] = static_cast<int32_t>(word);
      }
    }
  }
  if (a.sw == 1) {
    if (a.mult_below_one) dwconv_direct<1, false>(a, wq, nwin);
    else dwconv_direct<1, true>(a, wq, nwin);
  } else {
    if (a.mult_below_one) dwconv_direct<2, false>(a, wq, nwin);
    else dwconv_direct<2, true>(a, wq, nwin);
  }
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

// With VBMI: vpermt2b looks each byte up in half the table (128 bytes in two vectors), the top bit
// picks the half: 3 operations per 64 bytes (the function alone is built for VBMI).
__attribute__((target("avx512vbmi"))) void lut_u8_avx512vbmi(const uint8_t* x, int64_t n, const uint8_t* table,
                                                             uint8_t* y) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  for (int64_t i = 0; i < n; i += 64) {
    const __mmask64 m = n - i >= 64 ? ~__mmask64(0) : (__mmask64(1) << (n - i)) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(m, x + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, v, t1), hi = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_mask_storeu_epi8(y + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
  }
}

void lut_f32_avx512(const uint8_t* x, int64_t n, const float* table, float* y) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512i idx = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, x + i));
    _mm512_mask_storeu_ps(y + i, m, _mm512_i32gather_ps(idx, table, 4));
  }
}

// The float steps with explicit rounding: the compiler may not fuse them into one FMA. kBounded
// (QAddArgs::bounded): no NaN and nothing to clamp before rounding. kU8: the range ends at 255, the
// narrowing's unsigned saturation is the upper clamp.
template <bool kBounded, bool kU8>
void add_loop(const uint8_t* a, const uint8_t* b, int64_t n, const QAddArgs& p, uint8_t* y) {
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
    __mmask16 nan = 0;
    __m512i r;
    if constexpr (kBounded) {
      r = _mm512_add_epi32(_mm512_cvt_roundps_epi32(v, kRn), zc);
    } else {
      nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      const __m512 c = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
      r = _mm512_add_epi32(_mm512_cvt_roundps_epi32(c, kRn), zc);
    }
    r = _mm512_max_epi32(r, qlo);
    if constexpr (!kU8) r = _mm512_min_epi32(r, qhi);
    if constexpr (!kBounded) r = _mm512_mask_blend_epi32(nan, r, zc);
    _mm_mask_storeu_epi8(y + i, m, kU8 ? _mm512_cvtusepi32_epi8(r) : _mm512_cvtepi32_epi8(r));
  }
}

void add_avx512(const uint8_t* a, const uint8_t* b, int64_t n, const QAddArgs& p, uint8_t* y) {
  const bool u8 = p.qmax == 255;
  if (p.bounded) {
    if (u8) add_loop<true, true>(a, b, n, p, y);
    else add_loop<true, false>(a, b, n, p, y);
  } else {
    if (u8) add_loop<false, true>(a, b, n, p, y);
    else add_loop<false, false>(a, b, n, p, y);
  }
}

}  // namespace

const QGemmKernels& qgemm_avx512vnni() {
  static const QGemmKernels k{"avx512vnni",    &gemm_avx512vnni,   &pack_b_avx512,
                              &quantize_avx512, &dequantize_avx512, &dwconv_avx512,
                              &lut_u8_avx512,  &lut_f32_avx512,   &add_avx512,
                              &pack_b_conv_avx512};
  return k;
}

const QGemmKernels& qgemm_avx512vnni_vbmi() {
  static const QGemmKernels k = [] {
    QGemmKernels t = qgemm_avx512vnni();
    t.name = "avx512vnni+vbmi";
    t.lut_u8 = &lut_u8_avx512vbmi;
    return t;
  }();
  return k;
}

}  // namespace edgeai::kernels::cpu
