// GGML block-format dot products for AVX-512 (F, BW, VL, DQ) with VNNI. Built with -mavx512f/bw/
// vl/dq/vnni; ggml_matmul calls these only when the CPU has all of them.
//
// Every kernel computes one weight row against a tile of NT tokens: it unpacks each weight block
// into registers once and takes it through all the tokens. The 4- and 5-bit 32-blocks go four at a
// time: one 64-byte load plus a word permute (vpermt2w) gathers the four blocks' nibbles into one
// register and another gathers their f16 scales, and the activations come in the matching "quad"
// order (ggml_quants_impl.h), so that vpdpbusd multiplies unsigned weights by signed activations
// with no sign fix-up; the weights' offset (-8, -16) is folded into the accumulator's start value
// (bias lanes prepared with the activations). k-quants multiply with vpmaddubsw and apply their
// sub-block scales with vpdpwssd.
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_* idiom.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
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

// Word-permute indices for four consecutive blocks of kBytes bytes whose quants start at byte kQs
// (and scale at 0, m at 2). The group's bytes come in two registers: a = bytes 0..63 and b = the
// group's last 32 bytes (bytes 4 * kBytes - 32 ..; no load reaches past the group). Entry i of a
// vpermt2w result takes word idx[i] of (a, b), indices 32.. picking from b.
template <int kBytes, int kQs>
struct QuadIdx {
  alignas(64) int16_t qs[32];  // the 16 quant bytes of each block, block-major
  alignas(64) int16_t d[32];   // words 4i..4i+3: block i's scale; 16 + 4i..: its m field
  static constexpr int kBStart = 4 * kBytes - 32;
  static constexpr int16_t word(int byte) { return (int16_t)(byte < 64 ? byte / 2 : 32 + (byte - kBStart) / 2); }
  constexpr QuadIdx() : qs{}, d{} {
    for (int i = 0; i < 4; ++i) {
      for (int w = 0; w < 8; ++w) qs[8 * i + w] = word(kBytes * i + kQs + 2 * w);
      for (int j = 0; j < 4; ++j) {
        d[4 * i + j] = word(kBytes * i);
        d[16 + 4 * i + j] = word(kBytes * i + 2);
      }
    }
  }
};
template <int kBytes, int kQs>
inline constexpr QuadIdx<kBytes, kQs> kQuadIdx{};

inline __m512 hsum_pair_to_scale(__m512i words) {  // words 0..15 (f16) -> 16 floats
  return _mm512_cvtph_ps(_mm512_castsi512_si256(words));
}
inline __m512 hi_scale(__m512i words) {  // words 16..31 (f16) -> 16 floats
  return _mm512_cvtph_ps(_mm512_extracti64x4_epi64(words, 1));
}

// ---- 32-blocks in quad order: q4_0, q4_1, q5_0, q5_1 -----------------------------------------------

enum class Q32 { k4_0, k4_1, k5_0, k5_1 };

template <Q32 kT>
struct Q32Traits;
template <>
struct Q32Traits<Q32::k4_0> { static constexpr int kBytes = 18, kQs = 2; static constexpr bool kMin = false, kHigh = false; };
template <>
struct Q32Traits<Q32::k4_1> { static constexpr int kBytes = 20, kQs = 4; static constexpr bool kMin = true, kHigh = false; };
template <>
struct Q32Traits<Q32::k5_0> { static constexpr int kBytes = 22, kQs = 6; static constexpr bool kMin = false, kHigh = true; };
template <>
struct Q32Traits<Q32::k5_1> { static constexpr int kBytes = 24, kQs = 8; static constexpr bool kMin = true, kHigh = true; };

template <Q32 kT, int NT>
void q32_tile(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  using Tr = Q32Traits<kT>;
  constexpr int kB = Tr::kBytes;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 32;
  const __m512i idx_qs = _mm512_load_si512(kQuadIdx<kB, Tr::kQs>.qs);
  const __m512i idx_d = _mm512_load_si512(kQuadIdx<kB, Tr::kQs>.d);
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i c16 = _mm512_set1_epi8(0x10);
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    const uint8_t* wp = w + b * kB;
    const __m512i A = _mm512_loadu_si512(wp);
    const __m512i B = _mm512_zextsi256_si512(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + QuadIdx<kB, Tr::kQs>::kBStart)));
    const __m512i q = _mm512_permutex2var_epi16(A, idx_qs, B);
    __m512i lo = _mm512_and_si512(q, m4);
    __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
    if constexpr (Tr::kHigh) {
      constexpr int kQh = kB == 22 ? 2 : 4;
      uint64_t mlo = 0, mhi = 0;
      for (int i = 0; i < 4; ++i) {
        uint32_t qh;
        __builtin_memcpy(&qh, wp + i * kB + kQh, 4);
        mlo |= (uint64_t)(qh & 0xFFFF) << (16 * i);
        mhi |= (uint64_t)(qh >> 16) << (16 * i);
      }
      lo = _mm512_mask_add_epi8(lo, _cvtu64_mask64(mlo), lo, c16);
      hi = _mm512_mask_add_epi8(hi, _cvtu64_mask64(mhi), hi, c16);
    }
    const __m512i dm = _mm512_permutex2var_epi16(A, idx_d, B);
    const __m512 dw = hsum_pair_to_scale(dm);
    for (int t = 0; t < NT; ++t) {
      const int8_t* xq = tp.qs(t, L) + b * 32;
      __m512i s;
      if constexpr (Tr::kMin) {
        s = _mm512_setzero_si512();
      } else {
        s = _mm512_load_si512(tp.bl(t, L) + b * 4);
      }
      s = _mm512_dpbusd_epi32(s, lo, _mm512_load_si512(xq));
      s = _mm512_dpbusd_epi32(s, hi, _mm512_load_si512(xq + 64));
      const __m512 dd = _mm512_mul_ps(dw, _mm512_load_ps(tp.dl(t, L) + b * 4));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), dd, acc[t]);
      if constexpr (Tr::kMin) acc[t] = _mm512_fmadd_ps(hi_scale(dm), _mm512_load_ps(tp.ml(t, L) + b * 4), acc[t]);
    }
  }
  // The last group, G = 1..3 blocks: one 32-block at a time in 128-bit registers.
  const int64_t G = nb - b;
  for (int64_t i = 0; i < G; ++i) {
    const uint8_t* blk = w + (b + i) * kB;
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + Tr::kQs));
    __m128i lo = _mm_and_si128(raw, _mm512_castsi512_si128(m4));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm512_castsi512_si128(m4));
    if constexpr (Tr::kHigh) {
      uint32_t qh;
      __builtin_memcpy(&qh, blk + (kB == 22 ? 2 : 4), 4);
      lo = _mm_mask_add_epi8(lo, _cvtu32_mask16(qh & 0xFFFF), lo, _mm512_castsi512_si128(c16));
      hi = _mm_mask_add_epi8(hi, _cvtu32_mask16(qh >> 16), hi, _mm512_castsi512_si128(c16));
    }
    const float dw = h2f(ld16(blk));
    for (int t = 0; t < NT; ++t) {
      const int8_t* xq = tp.qs(t, L) + b * 32;
      __m128i s;
      if constexpr (Tr::kMin) {
        s = _mm_setzero_si128();
      } else {
        s = _mm_load_si128(reinterpret_cast<const __m128i*>(tp.bl(t, L) + (b + i) * 4));
      }
      s = _mm_dpbusd_epi32(s, lo, _mm_load_si128(reinterpret_cast<const __m128i*>(xq + 16 * i)));
      s = _mm_dpbusd_epi32(s, hi, _mm_load_si128(reinterpret_cast<const __m128i*>(xq + 16 * (G + i))));
      __m128 v = _mm_mul_ps(_mm_cvtepi32_ps(s), _mm_mul_ps(_mm_set1_ps(dw), _mm_load_ps(tp.dl(t, L) + (b + i) * 4)));
      if constexpr (Tr::kMin) {
        v = _mm_fmadd_ps(_mm_set1_ps(h2f(ld16(blk + 2))), _mm_load_ps(tp.ml(t, L) + (b + i) * 4), v);
      }
      acc[t] = _mm512_add_ps(acc[t], _mm512_zextps128_ps512(v));
    }
  }
  for (int t = 0; t < NT; ++t) y[t * ys] = _mm512_reduce_add_ps(acc[t]);
}

template <int NT> void q4_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k4_0, NT>(k, w, a, y, ys); }
template <int NT> void q4_1_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k4_1, NT>(k, w, a, y, ys); }
template <int NT> void q5_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k5_0, NT>(k, w, a, y, ys); }
template <int NT> void q5_1_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k5_1, NT>(k, w, a, y, ys); }

// ---- q8_0: natural order, two blocks per register ------------------------------------------------------
// vpdpbusd needs one unsigned operand: it multiplies w + 128 (w xor 0x80) by the activations, and the
// bias lanes (-16 * sum per lane, 8 lanes a block) take the 128 * sum back out.

template <int NT>
void q8_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  constexpr int kB = 34;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 32;
  const __m512i flip = _mm512_set1_epi8((char)0x80);
  alignas(64) static constexpr int16_t kIdx[32] = {0,  0,  0,  0,  0,  0,  0,  0,  17, 17, 17, 17, 17, 17, 17, 17,
                                                   34, 34, 34, 34, 34, 34, 34, 34, 51, 51, 51, 51, 51, 51, 51, 51};
  const __m512i idx = _mm512_load_si512(kIdx);
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    const uint8_t* wp = w + b * kB;
    const __m512i q01 = _mm512_xor_si512(
        flip, _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 2))),
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + kB + 2)), 1));
    const __m512i q23 = _mm512_xor_si512(
        flip,
        _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 2 * kB + 2))),
                           _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 3 * kB + 2)), 1));
    const __m512i dm = _mm512_permutex2var_epi16(_mm512_loadu_si512(wp), idx, _mm512_loadu_si512(wp + 64));
    const __m512 d01 = hsum_pair_to_scale(dm), d23 = hi_scale(dm);
    for (int t = 0; t < NT; ++t) {
      const int8_t* xq = tp.qs(t, L) + b * 32;
      const int32_t* bl = tp.bl(t, L) + b * 8;
      const float* dl = tp.dl(t, L) + b * 8;
      __m512i s0 = _mm512_dpbusd_epi32(_mm512_load_si512(bl), q01, _mm512_load_si512(xq));
      __m512i s1 = _mm512_dpbusd_epi32(_mm512_load_si512(bl + 16), q23, _mm512_load_si512(xq + 64));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0), _mm512_mul_ps(d01, _mm512_load_ps(dl)), acc[t]);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), _mm512_mul_ps(d23, _mm512_load_ps(dl + 16)), acc[t]);
    }
  }
  for (; b < nb; ++b) {
    const uint8_t* blk = w + b * kB;
    const __m256i q = _mm256_xor_si256(_mm512_castsi512_si256(flip),
                                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2)));
    const __m256 dw = _mm256_set1_ps(h2f(ld16(blk)));
    for (int t = 0; t < NT; ++t) {
      __m256i s = _mm256_dpbusd_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(tp.bl(t, L) + b * 8)), q,
                                      _mm256_load_si256(reinterpret_cast<const __m256i*>(tp.qs(t, L) + b * 32)));
      const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_load_ps(tp.dl(t, L) + b * 8)));
      acc[t] = _mm512_add_ps(acc[t], _mm512_zextps256_ps512(v));
    }
  }
  for (int t = 0; t < NT; ++t) y[t * ys] = _mm512_reduce_add_ps(acc[t]);
}

// ---- Float weights ----------------------------------------------------------------------------------------

enum class FW { kF32, kF16, kBF16 };

template <FW kT>
inline __m512 load_w(const uint8_t* w, int64_t i) {
  if constexpr (kT == FW::kF32) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(w) + i);
  } else if constexpr (kT == FW::kF16) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 2 * i)));
  } else {
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 2 * i))), 16));
  }
}
template <FW kT>
inline __m512 load_w_masked(const uint8_t* w, int64_t i, __mmask16 m) {
  if constexpr (kT == FW::kF32) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(w) + i);
  } else if constexpr (kT == FW::kF16) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + 2 * i));
  } else {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, w + 2 * i)), 16));
  }
}

template <FW kT, int NT>
void float_tile(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  // Independent accumulators: U per token so that one token still has several FMA chains in flight.
  constexpr int U = NT >= 4 ? 1 : (NT >= 2 ? 2 : 4);
  const TokenPtrs<NT> tp(a);
  __m512 acc[U][NT];
  for (int u = 0; u < U; ++u)
    for (int t = 0; t < NT; ++t) acc[u][t] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 * U <= k; i += 16 * U) {
    for (int u = 0; u < U; ++u) {
      const __m512 wv = load_w<kT>(w, i + 16 * u);
      for (int t = 0; t < NT; ++t) acc[u][t] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(tp.f32(t) + i + 16 * u), acc[u][t]);
    }
  }
  for (; i < k; i += 16) {
    const __mmask16 m = k - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (k - i)) - 1);
    const __m512 wv = load_w_masked<kT>(w, i, m);
    for (int t = 0; t < NT; ++t) acc[0][t] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, tp.f32(t) + i), acc[0][t]);
  }
  for (int t = 0; t < NT; ++t) {
    __m512 s = acc[0][t];
    for (int u = 1; u < U; ++u) s = _mm512_add_ps(s, acc[u][t]);
    y[t * ys] = _mm512_reduce_add_ps(s);
  }
}

template <int NT> void f32_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kF32, NT>(k, w, a, y, ys); }
template <int NT> void f16_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kF16, NT>(k, w, a, y, ys); }
template <int NT> void bf16_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kBF16, NT>(k, w, a, y, ys); }

// ---- k-quants ------------------------------------------------------------------------------------------------

// q4_K and q5_K: 4 chunks of 64 values (sub-blocks 2j and 2j+1, the low and high nibbles of 32 bytes).
template <bool kFive, int NT>
void k4_tile(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  constexpr int kB = kFive ? 176 : 144;
  constexpr int kQs = kFive ? 48 : 16;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 256;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m512i c16 = _mm512_set1_epi8(0x10);
  alignas(64) static constexpr int16_t kScaleIdx[4][32] = {
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
      {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5},
      {6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}};
  // Mins for the 16 bsums: min j for bsums 2j and 2j+1.
  alignas(32) static constexpr int16_t kMinIdx[16] = {8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15};
  // q5_K: the high bit of chunk j's low (high) nibbles is bit 2j (2j+1) of qh.
  alignas(64) static constexpr uint8_t kHighBit[4][64] = {
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
       2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
      {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
       8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8},
      {16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
       32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32},
      {64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
       128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128}};
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* blk = w + i * kB;
    uint32_t sm[4];
    unpack_k4_scales(blk + 4, sm);
    const __m512i sm16 = _mm512_zextsi256_si512(
        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sm))));
    const __m256i mins = _mm256_permutexvar_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(kMinIdx)),
                                                  _mm512_castsi512_si256(sm16));
    __m512i q[4], sc[4];
    __m512i hb;
    if constexpr (kFive) hb = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16)));
    for (int j = 0; j < 4; ++j) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQs + 32 * j));
      q[j] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(raw, m4)),
                                _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4), 1);
      if constexpr (kFive) {
        const __mmask64 h = _mm512_test_epi8_mask(hb, _mm512_load_si512(kHighBit[j]));
        q[j] = _mm512_mask_add_epi8(q[j], h, q[j], c16);
      }
      sc[j] = _mm512_permutexvar_epi16(_mm512_load_si512(kScaleIdx[j]), sm16);
    }
    const __m512 dw = _mm512_set1_ps(h2f(ld16(blk)));
    const __m512 ndmin = _mm512_set1_ps(-h2f(ld16(blk + 2)));
    for (int t = 0; t < NT; ++t) {
      const int8_t* xq = tp.qs(t, L) + i * 256;
      __m512i s = _mm512_setzero_si512();
      for (int j = 0; j < 4; ++j) {
        s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(q[j], _mm512_load_si512(xq + 64 * j)), sc[j]);
      }
      const __m256i bs = _mm256_load_si256(reinterpret_cast<const __m256i*>(tp.bsums(t, L) + i * 16));
      const __m256i ms = _mm256_madd_epi16(bs, mins);
      const __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), dw,
                                       _mm512_mul_ps(_mm512_zextps256_ps512(_mm256_cvtepi32_ps(ms)), ndmin));
      acc[t] = _mm512_fmadd_ps(v, _mm512_set1_ps(tp.d(t, L)[i]), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) y[t * ys] = _mm512_reduce_add_ps(acc[t]);
}

template <int NT> void q4_K_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { k4_tile<false, NT>(k, w, a, y, ys); }
template <int NT> void q5_K_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { k4_tile<true, NT>(k, w, a, y, ys); }

// q6_K: values 0..63 (stored minus 32) unpacked into four registers of 64 in natural order; the -32
// comes back through the bsums: sum_g sc_g * (-32 * bsum_g), one vpdpwssd.
template <int NT>
void q6_K_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) {
  constexpr int kB = 210;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 256;
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i m30 = _mm512_set1_epi8(0x30);
  alignas(64) static constexpr int16_t kShl[32] = {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
                                                  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
  alignas(64) static constexpr int16_t kShr[32] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
  alignas(64) static constexpr int16_t kScaleIdx[4][32] = {
      {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
      {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
      {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
      {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15}};
  const __m512i shl = _mm512_load_si512(kShl), shr = _mm512_load_si512(kShr);
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* blk = w + i * kB;
    __m512i q[4], sc[4];
    for (int n = 0; n < 2; ++n) {
      const __m512i l = _mm512_loadu_si512(blk + 64 * n);
      const __m512i h = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * n)));
      q[2 * n] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_sllv_epi16(h, shl), m30));
      q[2 * n + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                     _mm512_and_si512(_mm512_srlv_epi16(h, shr), m30));
    }
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)));
    for (int j = 0; j < 4; ++j) sc[j] = _mm512_permutexvar_epi16(_mm512_load_si512(kScaleIdx[j]), _mm512_zextsi256_si512(sc16));
    const __m256i nsc32 = _mm256_slli_epi16(_mm256_sub_epi16(_mm256_setzero_si256(), sc16), 5);  // -32 * sc
    const __m512 dw = _mm512_set1_ps(h2f(ld16(blk + 208)));
    for (int t = 0; t < NT; ++t) {
      const int8_t* xq = tp.qs(t, L) + i * 256;
      const __m256i bs = _mm256_load_si256(reinterpret_cast<const __m256i*>(tp.bsums(t, L) + i * 16));
      __m512i s = _mm512_zextsi256_si512(_mm256_madd_epi16(bs, nsc32));
      for (int j = 0; j < 4; ++j) {
        s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(q[j], _mm512_load_si512(xq + 64 * j)), sc[j]);
      }
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(tp.d(t, L)[i])), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) y[t * ys] = _mm512_reduce_add_ps(acc[t]);
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
  KernelTable t{"avx512-vnni", {}};
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
  return t;
}();

}  // namespace

const KernelTable& avx512_kernels() { return kTable; }

}  // namespace edgeai::kernels::ggml
