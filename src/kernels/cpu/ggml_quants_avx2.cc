// GGML block-format dot products for AVX2 + FMA + F16C (built with -mavx2 -mfma -mf16c; called only
// when the CPU has all three). Activations in natural order; one 32-block per 256-bit register
// (8 int32 lanes a block), products with vpmaddubsw (unsigned weights x signed activations; q8_0
// takes the sign of its weights over to the activations) and vpmaddwd. With 16 registers a tile
// handles up to 4 tokens at a time; larger tiles run in slices of 4 over the same (cached) row.
#include <immintrin.h>

#include "kernels/cpu/ggml_tile_dispatch.h"
#include "kernels/ggml_quants_impl.h"

namespace edgeai::kernels::ggml {
namespace {

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }
inline uint16_t ld16(const uint8_t* p) {
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}
inline __m256i load256(const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
// 16 nibbles -> 32 values 0..15: low nibbles (elements 0..15), then high nibbles (16..31).
inline __m256i nibbles(const uint8_t* p) {
  const __m128i raw = load128(p);
  const __m128i m4 = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m4), _mm_and_si128(raw, m4));
}
// 32 bits -> 32 bytes, 0x10 where the bit is set (the fifth bit of q5 values).
inline __m256i fifth_bits(const uint8_t* p) {
  uint32_t x;
  __builtin_memcpy(&x, p, 4);
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuf);
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_and_si256(_mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1)), _mm256_set1_epi8(0x10));
}
inline __m256i dot_u8_s8(__m256i u, __m256i s) {  // 8 int32 sums of 4 products each
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Slices a tile of up to 8 tokens into kernels of at most 4.
#define EDGEAI_GGML_TILE4(name)                                                                 \
  void name(int64_t k, const void* w, const Acts& a, int nt, float* y, int64_t ys) {           \
    const uint8_t* wb = static_cast<const uint8_t*>(w);                                        \
    for (int t0 = 0; t0 < nt; t0 += 4) {                                                        \
      Acts s = a;                                                                               \
      s.base = a.base + t0 * a.stride;                                                          \
      switch (nt - t0 >= 4 ? 4 : nt - t0) {                                                     \
        case 1: name##_n<1>(k, wb, s, y + t0 * ys, ys); break;                                  \
        case 2: name##_n<2>(k, wb, s, y + t0 * ys, ys); break;                                  \
        case 3: name##_n<3>(k, wb, s, y + t0 * ys, ys); break;                                  \
        default: name##_n<4>(k, wb, s, y + t0 * ys, ys); break;                                 \
      }                                                                                         \
    }                                                                                           \
  }

// ---- 32-blocks --------------------------------------------------------------------------------------------

enum class Q32 { k4_0, k4_1, k5_0, k5_1, k8_0 };

template <Q32 kT, int NT>
void q32_tile(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  constexpr int kB = kT == Q32::k4_0 ? 18 : kT == Q32::k4_1 ? 20 : kT == Q32::k5_0 ? 22 : kT == Q32::k5_1 ? 24 : 34;
  constexpr bool kMin = kT == Q32::k4_1 || kT == Q32::k5_1;
  constexpr bool kBias = kT == Q32::k4_0 || kT == Q32::k5_0;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 32;
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w + b * kB;
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1536), _MM_HINT_T0);
    __m256i q;
    if constexpr (kT == Q32::k4_0) q = nibbles(blk + 2);
    if constexpr (kT == Q32::k4_1) q = nibbles(blk + 4);
    if constexpr (kT == Q32::k5_0) q = _mm256_or_si256(nibbles(blk + 6), fifth_bits(blk + 2));
    if constexpr (kT == Q32::k5_1) q = _mm256_or_si256(nibbles(blk + 8), fifth_bits(blk + 4));
    __m256i sgn;
    if constexpr (kT == Q32::k8_0) {
      sgn = load256(blk + 2);
      q = _mm256_sign_epi8(sgn, sgn);  // |w|
    }
    const __m256 dw = _mm256_set1_ps(h2f(ld16(blk)));
    __m256 mw;
    if constexpr (kMin) mw = _mm256_set1_ps(h2f(ld16(blk + 2)));
    for (int t = 0; t < NT; ++t) {
      __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(tp.qs(t, L) + b * 32));
      if constexpr (kT == Q32::k8_0) x = _mm256_sign_epi8(x, sgn);
      __m256i s = dot_u8_s8(q, x);
      if constexpr (kBias) s = _mm256_add_epi32(s, _mm256_set1_epi32(tp.bias(t, L)[b]));
      const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_broadcast_ss(tp.d(t, L) + b));
      acc[t] = _mm256_fmadd_ps(v, dw, acc[t]);
      if constexpr (kMin) acc[t] = _mm256_fmadd_ps(mw, _mm256_broadcast_ss(tp.msum(t, L) + b), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) y[t * ys] = hsum(acc[t]);
}

template <int NT> void q4_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k4_0, NT>(k, w, a, y, ys); }
template <int NT> void q4_1_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k4_1, NT>(k, w, a, y, ys); }
template <int NT> void q5_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k5_0, NT>(k, w, a, y, ys); }
template <int NT> void q5_1_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k5_1, NT>(k, w, a, y, ys); }
template <int NT> void q8_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k8_0, NT>(k, w, a, y, ys); }

// ---- Float weights ------------------------------------------------------------------------------------------

enum class FW { kF32, kF16, kBF16 };

template <FW kT>
inline __m256 load_w(const uint8_t* w, int64_t i) {
  if constexpr (kT == FW::kF32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + i);
  } else if constexpr (kT == FW::kF16) {
    return _mm256_cvtph_ps(load128(w + 2 * i));
  } else {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(w + 2 * i)), 16));
  }
}
template <FW kT>
inline float w_at(const uint8_t* w, int64_t i) {
  if constexpr (kT == FW::kF32) {
    return reinterpret_cast<const float*>(w)[i];
  } else if constexpr (kT == FW::kF16) {
    return h2f(ld16(w + 2 * i));
  } else {
    uint32_t u = (uint32_t)ld16(w + 2 * i) << 16;
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
  }
}

// Activations 8 at a time from element i, and one at i: f16 (kF16, the layout of f16 weights) or f32.
template <FW kT, int NT>
inline __m256 load_x(const TokenPtrs<NT>& tp, const ActLayout& L, int t, int64_t i) {
  if constexpr (kT == FW::kF16) {
    return _mm256_cvtph_ps(load128(tp.f16(t, L) + i));
  } else {
    return _mm256_loadu_ps(tp.f32(t) + i);
  }
}
template <FW kT, int NT>
inline float x_at(const TokenPtrs<NT>& tp, const ActLayout& L, int t, int64_t i) {
  if constexpr (kT == FW::kF16) {
    return h2f(tp.f16(t, L)[i]);
  } else {
    return tp.f32(t)[i];
  }
}

template <FW kT, int NT>
void float_tile(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  constexpr int U = NT >= 3 ? 1 : (NT == 2 ? 2 : 4);
  const TokenPtrs<NT> tp(a);
  const ActLayout& L = *a.layout;
  __m256 acc[U][NT];
  for (int u = 0; u < U; ++u)
    for (int t = 0; t < NT; ++t) acc[u][t] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 * U <= k; i += 8 * U) {
    for (int u = 0; u < U; ++u) {
      const __m256 wv = load_w<kT>(w, i + 8 * u);
      for (int t = 0; t < NT; ++t) acc[u][t] = _mm256_fmadd_ps(wv, load_x<kT>(tp, L, t, i + 8 * u), acc[u][t]);
    }
  }
  for (; i + 8 <= k; i += 8) {
    const __m256 wv = load_w<kT>(w, i);
    for (int t = 0; t < NT; ++t) acc[0][t] = _mm256_fmadd_ps(wv, load_x<kT>(tp, L, t, i), acc[0][t]);
  }
  for (int t = 0; t < NT; ++t) {
    __m256 s = acc[0][t];
    for (int u = 1; u < U; ++u) s = _mm256_add_ps(s, acc[u][t]);
    float r = hsum(s);
    for (int64_t j = i; j < k; ++j) r += w_at<kT>(w, j) * x_at<kT>(tp, L, t, j);
    y[t * ys] = r;
  }
}

// f32 rows, kRowsF32 at a time (rows of a small model: k of 64 to a few hundred), NT <= 4 tokens.
// Row i and token t sum exactly as float_tile<kF32, NT> does (the same U accumulators, tails and
// hsum), but each token's activations are loaded once for both rows, and the per-(row, token)
// horizontal sums, which at such k cost as much as the products, are done together (hsums). Two
// rows: the accumulators of more would not fit the 16 registers.
constexpr int kRowsF32 = 2;

// out[v] = hsum(v[v]) for N <= 8 vectors, bit for bit: the same pairs added (lane j + lane j+4,
// then j + j+2, then 0 + 1), 2 to 8 vectors at a time. Step 1 puts vectors 2q, 2q+1 in the two
// halves of p[q]; step 2 interleaves p[2m], p[2m+1]; after step 3 lane 4h + 2j + m holds vector
// 4m + 2j + h.
template <int N>
__attribute__((always_inline)) inline void hsums(const __m256 (&v)[N], float* out) {
  static_assert(N >= 1 && N <= 8);
  constexpr int N1 = (N + 1) / 2, N2 = (N1 + 1) / 2;
  __m256 p[N1], r[2];
  _Pragma("GCC unroll 8") for (int q = 0; q < N1; ++q) {
    const __m256 a = v[2 * q], b = v[2 * q + 1 < N ? 2 * q + 1 : 2 * q];
    p[q] = _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
  }
  _Pragma("GCC unroll 8") for (int m = 0; m < 2; ++m) {
    const __m256 c = p[2 * m < N1 ? 2 * m : 0], d = p[2 * m + 1 < N1 ? 2 * m + 1 : 2 * m < N1 ? 2 * m : 0];
    r[m] = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
    if (N2 == 1) {
      r[1] = r[0];
      break;
    }
  }
  alignas(32) float l[8];
  _mm256_store_ps(l, _mm256_add_ps(_mm256_unpacklo_ps(r[0], r[1]), _mm256_unpackhi_ps(r[0], r[1])));
  _Pragma("GCC unroll 8") for (int i = 0; i < N; ++i) out[i] = l[4 * (i % 2) + 2 * ((i / 2) % 2) + i / 4];
}

template <int NT>
void f32_rows_part(int64_t k, const float* const* wr, const float* const* xs, float* y, int64_t ys) {
  constexpr int NR = kRowsF32, U = NT >= 3 ? 1 : (NT == 2 ? 2 : 4);
  static_assert(NT >= 1 && NT <= 4);
  __m256 acc[U][NR][NT];
  _Pragma("GCC unroll 8") for (int u = 0; u < U; ++u)
    _Pragma("GCC unroll 8") for (int i = 0; i < NR; ++i)
      _Pragma("GCC unroll 8") for (int t = 0; t < NT; ++t) acc[u][i][t] = _mm256_setzero_ps();
  int64_t e = 0;
  for (; e + 8 * U <= k; e += 8 * U) {
    _Pragma("GCC unroll 8") for (int u = 0; u < U; ++u) {
      __m256 wv[NR];
      _Pragma("GCC unroll 8") for (int i = 0; i < NR; ++i) wv[i] = _mm256_loadu_ps(wr[i] + e + 8 * u);
      _Pragma("GCC unroll 8") for (int t = 0; t < NT; ++t) {
        const __m256 xv = _mm256_loadu_ps(xs[t] + e + 8 * u);
        _Pragma("GCC unroll 8") for (int i = 0; i < NR; ++i) acc[u][i][t] = _mm256_fmadd_ps(wv[i], xv, acc[u][i][t]);
      }
    }
  }
  for (; e + 8 <= k; e += 8) {
    __m256 wv[NR];
    _Pragma("GCC unroll 8") for (int i = 0; i < NR; ++i) wv[i] = _mm256_loadu_ps(wr[i] + e);
    _Pragma("GCC unroll 8") for (int t = 0; t < NT; ++t) {
      const __m256 xv = _mm256_loadu_ps(xs[t] + e);
      _Pragma("GCC unroll 8") for (int i = 0; i < NR; ++i) acc[0][i][t] = _mm256_fmadd_ps(wv[i], xv, acc[0][i][t]);
    }
  }
  __m256 s[NR * NT];  // vector i * NT + t
  _Pragma("GCC unroll 8") for (int i = 0; i < NR; ++i) {
    _Pragma("GCC unroll 8") for (int t = 0; t < NT; ++t) {
      __m256 v = acc[0][i][t];
      _Pragma("GCC unroll 8") for (int u = 1; u < U; ++u) v = _mm256_add_ps(v, acc[u][i][t]);
      s[i * NT + t] = v;
    }
  }
  float r[NR * NT];
  hsums(s, r);
  for (int i = 0; i < NR; ++i) {
    for (int t = 0; t < NT; ++t) {
      float v = r[i * NT + t];
      for (int64_t j = e; j < k; ++j) v += wr[i][j] * xs[t][j];
      y[i + t * ys] = v;
    }
  }
}

// Tokens 4 at a time, as EDGEAI_GGML_TILE4 slices them.
template <int NR, int NT>
void f32_rows_n(int64_t k, const uint8_t* w, int64_t ws, const Acts& a, float* y, int64_t ys) {
  static_assert(NR == kRowsF32);
  const float* wr[NR];
  for (int i = 0; i < NR; ++i) wr[i] = reinterpret_cast<const float*>(w + i * ws);
  const float* xs[NT];
  for (int t = 0; t < NT; ++t) xs[t] = reinterpret_cast<const float*>(a.base + t * a.stride);
  f32_rows_part<NT <= 4 ? NT : 4>(k, wr, xs, y, ys);
  if constexpr (NT > 4) f32_rows_part<NT - 4>(k, wr, xs + 4, y + 4 * ys, ys);
}

// kF16 activations: F16C rounds to nearest even (imm 0), as float_to_half does, subnormals included.
void to_f16_f16c(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) out[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

template <int NT> void f32_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kF32, NT>(k, w, a, y, ys); }
template <int NT> void f16_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kF16, NT>(k, w, a, y, ys); }
template <int NT> void bf16_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kBF16, NT>(k, w, a, y, ys); }

// ---- k-quants -------------------------------------------------------------------------------------------------

// q4_K / q5_K: chunk j of 64 values = the low nibbles (sub-block 2j) and high nibbles (2j+1) of 32
// bytes; sub-block scales applied by vpmaddwd, the minimum term through the bsums.
template <bool kFive, int NT>
void k4_tile(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  constexpr int kB = kFive ? 176 : 144;
  constexpr int kQs = kFive ? 48 : 16;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 256;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* blk = w + i * kB;
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1536), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1536 + 64), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(blk + 1536 + 128), _MM_HINT_T0);
    uint32_t sm[4];
    unpack_k4_scales(blk + 4, sm);
    const uint8_t* sc = reinterpret_cast<const uint8_t*>(sm);
    const __m128i m16 = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm + 2)));
    const __m256i mins = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
    __m256i hb;
    if constexpr (kFive) hb = load256(blk + 16);
    __m256i s[NT];
    for (int t = 0; t < NT; ++t) s[t] = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i raw = load256(blk + kQs + 32 * j);
      __m256i lo = _mm256_and_si256(raw, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
      if constexpr (kFive) {
        const __m256i one = _mm256_set1_epi8(1);
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * j), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * j + 1), one), 4));
      }
      const __m256i sc_lo = _mm256_set1_epi16(sc[2 * j]), sc_hi = _mm256_set1_epi16(sc[2 * j + 1]);
      for (int t = 0; t < NT; ++t) {
        const int8_t* xq = tp.qs(t, L) + i * 256 + 64 * j;
        const __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(xq)), sc_lo);
        const __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(xq + 32)), sc_hi);
        s[t] = _mm256_add_epi32(s[t], _mm256_add_epi32(plo, phi));
      }
    }
    const float dw = h2f(ld16(blk)), dmin = h2f(ld16(blk + 2));
    for (int t = 0; t < NT; ++t) {
      const float dx = tp.d(t, L)[i];
      const __m256i ms = _mm256_madd_epi16(load256(tp.bsums(t, L) + i * 16), mins);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[t]), _mm256_set1_ps(dw * dx), acc[t]);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ms), _mm256_set1_ps(-dmin * dx), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) y[t * ys] = hsum(acc[t]);
}

template <int NT> void q4_K_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { k4_tile<false, NT>(k, w, a, y, ys); }
template <int NT> void q5_K_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { k4_tile<true, NT>(k, w, a, y, ys); }

// q6_K: values 0..63 in natural order, 32 at a time; the stored offset of 32 comes back as
// -32 * sum_g sc_g * bsum_g.
template <int NT>
void q6_K_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  constexpr int kB = 210;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 256;
  const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(0x03);
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* blk = w + i * kB;
    for (int l = 0; l < 4; ++l) _mm_prefetch(reinterpret_cast<const char*>(blk + 1536 + 64 * l), _MM_HINT_T0);
    const __m128i sc8 = load128(blk + 192);
    const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
    __m256i s[NT];
    for (int t = 0; t < NT; ++t) {
      // -32 * sum_g sc_g * bsum_g, as 8 lanes.
      const __m256i bias = _mm256_madd_epi16(load256(tp.bsums(t, L) + i * 16), sc16);
      s[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(bias, 5));
    }
    for (int n = 0; n < 2; ++n) {
      const __m256i l0 = load256(blk + 64 * n), l1 = load256(blk + 64 * n + 32);
      const __m256i h = load256(blk + 128 + 32 * n);
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m3), 4)),
          _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m3), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m3), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m3), 4))};
      for (int g = 0; g < 4; ++g) {
        // Elements 128n + 32g .. +31: scales 8n + 2g (first 16) and 8n + 2g + 1.
        const int8_t* scp = reinterpret_cast<const int8_t*>(blk + 192) + 8 * n + 2 * g;
        const __m256i scv = _mm256_set_m128i(_mm_set1_epi16(scp[1]), _mm_set1_epi16(scp[0]));
        for (int t = 0; t < NT; ++t) {
          const int8_t* xq = tp.qs(t, L) + i * 256 + 128 * n + 32 * g;
          s[t] = _mm256_add_epi32(s[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q[g], load256(xq)), scv));
        }
      }
    }
    const float dw = h2f(ld16(blk + 208));
    for (int t = 0; t < NT; ++t) {
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[t]), _mm256_set1_ps(dw * tp.d(t, L)[i]), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) y[t * ys] = hsum(acc[t]);
}

EDGEAI_GGML_TILE4(q4_0)
EDGEAI_GGML_TILE4(q4_1)
EDGEAI_GGML_TILE4(q5_0)
EDGEAI_GGML_TILE4(q5_1)
EDGEAI_GGML_TILE4(q8_0)
EDGEAI_GGML_TILE4(f32)
EDGEAI_GGML_TILE4(f16)
EDGEAI_GGML_TILE4(bf16)
EDGEAI_GGML_TILE4(q4_K)
EDGEAI_GGML_TILE4(q5_K)
EDGEAI_GGML_TILE4(q6_K)
EDGEAI_GGML_TILE_ROWS(f32_rows, kRowsF32)

constexpr KernelTable kTable = [] {
  KernelTable t{"avx2", {}, {}, {}};
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
  for (int type : {2, 3, 6, 7, 8}) t.lanes[type] = 8;  // natural order, one block per register
  t.tile_rows[0] = f32_rows;
  t.rows[0] = kRowsF32;
  t.rows_one_token_bytes[0] = 128 * 1024;  // as avx512's
  t.to_f16 = to_f16_f16c;
  return t;
}();

}  // namespace

const KernelTable& avx2_kernels() { return kTable; }

}  // namespace edgeai::kernels::ggml
