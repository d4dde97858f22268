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
// sub-block scales with vpdpwssd. q4_0, q8_0, f16 and f32 also have multi-row kernels (kRowsQ,
// kRowsF, kRowsF32 rows x up to 8 tokens; pp tok/s of a 5632 x 2048 ggml_matmul_bench product at 1
// thread, loaded machine: q4_0 +15%, q8_0 +11%, f16 +37%; f32 at 128 tokens 1400 -> 3700). Long
// prompts use packed q4_0 / q8_0 kernels instead (16 rows a group, one row per lane; see "Packed
// q4_0 / q8_0").
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_* idiom.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <array>

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
// (scale at 0, m at 2). The group's bytes come in two registers: a = bytes 0..63 and b = the group's
// last 32 bytes (from 4 * kBytes - 32; no load reaches past the group). Entry w of a vpermt2w result
// takes word idx[w] of (a, b), indices 32.. picking from b. The quants come out in the activations'
// kInter4 order: byte p of the result is byte 4(p/16) + p%4 of block (p/4)%4.
// With kInter4 = false, the kQuad16 order instead: byte p is byte p%16 of block p/16, and the
// scale words are laid out for lanes 4i..4i+3 of block i.
template <int kBytes, int kQs, bool kInter4>
struct QuadIdx {
  alignas(64) int16_t qs[32];
  alignas(64) int16_t d[32];  // word l (< 16): the scale of lane l's block; 16 + l: its m field
  static constexpr int kBStart = 4 * kBytes - 32;
  static constexpr int16_t word(int byte) { return (int16_t)(byte < 64 ? byte / 2 : 32 + (byte - kBStart) / 2); }
  constexpr QuadIdx() : qs{}, d{} {
    for (int w = 0; w < 32; ++w) {
      const int p = 2 * w;
      const int i = kInter4 ? (p / 4) % 4 : p / 16, jj = kInter4 ? 4 * (p / 16) + p % 4 : p % 16;
      qs[w] = word(kBytes * i + kQs + jj);
    }
    for (int l = 0; l < 16; ++l) {
      const int i = kInter4 ? l % 4 : l / 4;
      d[l] = word(kBytes * i);
      d[16 + l] = word(kBytes * i + 2);
    }
  }
};
template <int kBytes, int kQs, bool kInter4>
inline constexpr QuadIdx<kBytes, kQs, kInter4> kQuadIdx{};

inline __m512 lo_halves(__m512i words) {  // words 0..15 (f16) -> 16 floats
  return _mm512_cvtph_ps(_mm512_castsi512_si256(words));
}
inline __m512 hi_halves(__m512i words) {  // words 16..31 (f16) -> 16 floats
  return _mm512_cvtph_ps(_mm512_extracti64x4_epi64(words, 1));
}
// Four per-block values broadcast to the 16 lanes of a group (lane l: block l % 4).
inline __m512 bcast4(const float* p) { return _mm512_broadcast_f32x4(_mm_load_ps(p)); }
inline __m512i bcast4(const int32_t* p) {
  return _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(p)));
}

// ---- 32-blocks: q4_0, q4_1, q5_0, q5_1, q8_0 ------------------------------------------------------------
// Activations in kInter4 order (kQuad16 for q5_0/q5_1), 4 lanes per block. vpdpbusd needs one unsigned operand: the weights
// go in unsigned (q, or q8 + 128 for q8_0) and the accumulators start at the bias lanes, which take
// the offset back out (-8, -16 or -128 times the block's activation sum, a quarter per lane).

enum class Q32 { k4_0, k4_1, k5_0, k5_1 };

template <Q32 kT>
struct Q32Traits;
template <>
struct Q32Traits<Q32::k4_0> { static constexpr int kBytes = 18, kQs = 2, kQh = 0; static constexpr bool kMin = false; };
template <>
struct Q32Traits<Q32::k4_1> { static constexpr int kBytes = 20, kQs = 4, kQh = 0; static constexpr bool kMin = true; };
template <>
struct Q32Traits<Q32::k5_0> { static constexpr int kBytes = 22, kQs = 6, kQh = 2; static constexpr bool kMin = false; };
template <>
struct Q32Traits<Q32::k5_1> { static constexpr int kBytes = 24, kQs = 8, kQh = 4; static constexpr bool kMin = true; };

// The fifth bits of four q5 blocks as byte masks in kQuad16 order: bits 16i..16i+15 of lo (hi) are
// the low (high) 16 bits of block i's qh.
inline void q5_high_masks(const uint8_t* wp, int kB, int kQh, uint64_t* lo, uint64_t* hi) {
  uint64_t ml = 0, mh = 0;
  for (int i = 0; i < 4; ++i) {
    uint32_t qh;
    __builtin_memcpy(&qh, wp + i * kB + kQh, 4);
    ml |= (uint64_t)(qh & 0xFFFF) << (16 * i);
    mh |= (uint64_t)(qh >> 16) << (16 * i);
  }
  *lo = ml;
  *hi = mh;
}

// Four per-block values repeated to lanes 4i..4i+3 (kQuad16 lanes).
inline __m512 rep4(const float* p) {
  alignas(64) static constexpr int32_t kIdx[16] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
  return _mm512_permutexvar_ps(_mm512_load_si512(kIdx), _mm512_castps128_ps512(_mm_load_ps(p)));
}
inline __m512i rep4(const int32_t* p) {
  alignas(64) static constexpr int32_t kIdx[16] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
  return _mm512_permutexvar_epi32(_mm512_load_si512(kIdx),
                                  _mm512_castsi128_si512(_mm_load_si128(reinterpret_cast<const __m128i*>(p))));
}

// NR weight rows (row i at w + i * ws, its results at y + i) against NT tokens; each row's sums
// are formed in the same order whatever NR is, so that any NR gives the same bits.
template <Q32 kT, int NR, int NT>
void q32_tile(int64_t k, const uint8_t* w, int64_t ws, const Acts& a, float* y, int64_t ys) {
  using Tr = Q32Traits<kT>;
  constexpr int kB = Tr::kBytes;
  constexpr bool kInter4 = Tr::kQh == 0;  // q5 types: kQuad16, whose fifth-bit masks are cheap
  using Idx = QuadIdx<kB, Tr::kQs, kInter4>;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 32;
  const __m512i idx_qs = _mm512_load_si512(kQuadIdx<kB, Tr::kQs, kInter4>.qs);
  const __m512i idx_d = _mm512_load_si512(kQuadIdx<kB, Tr::kQs, kInter4>.d);
  auto lanes_f = [](const float* p) { return kInter4 ? bcast4(p) : rep4(p); };
  auto lanes_i = [](const int32_t* p) { return kInter4 ? bcast4(p) : rep4(p); };
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  const __m512i c16 = _mm512_set1_epi8(0x10);
  __m512 acc[NR][NT];
  for (int i = 0; i < NR; ++i)
    for (int t = 0; t < NT; ++t) acc[i][t] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    __m512i lo[NR], hi[NR], dm[NR];
    __m512 dw[NR];
    for (int i = 0; i < NR; ++i) {
      const uint8_t* wp = w + i * ws + b * kB;
      _mm_prefetch(reinterpret_cast<const char*>(wp + 2048), _MM_HINT_T0);
      if constexpr (kB > 16) _mm_prefetch(reinterpret_cast<const char*>(wp + 2048 + 64), _MM_HINT_T0);
      const __m512i A = _mm512_loadu_si512(wp);
      const __m512i B =
          _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + Idx::kBStart)));
      const __m512i q = _mm512_permutex2var_epi16(A, idx_qs, B);
      lo[i] = _mm512_and_si512(q, m4);
      hi[i] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
      if constexpr (Tr::kQh != 0) {
        uint64_t mlo, mhi;
        q5_high_masks(wp, kB, Tr::kQh, &mlo, &mhi);
        lo[i] = _mm512_mask_add_epi8(lo[i], _cvtu64_mask64(mlo), lo[i], c16);
        hi[i] = _mm512_mask_add_epi8(hi[i], _cvtu64_mask64(mhi), hi[i], c16);
      }
      dm[i] = _mm512_permutex2var_epi16(A, idx_d, B);
      dw[i] = lo_halves(dm[i]);
    }
    for (int t = 0; t < NT; ++t) {
      const int8_t* xq = tp.qs(t, L) + b * 32;
      const __m512i x0 = _mm512_load_si512(xq), x1 = _mm512_load_si512(xq + 64);
      const __m512i s0 = Tr::kMin ? _mm512_setzero_si512() : lanes_i(tp.bias(t, L) + b);
      const __m512 dx = lanes_f(tp.d(t, L) + b);
      for (int i = 0; i < NR; ++i) {
        __m512i s = _mm512_dpbusd_epi32(s0, lo[i], x0);
        s = _mm512_dpbusd_epi32(s, hi[i], x1);
        acc[i][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw[i], dx), acc[i][t]);
        if constexpr (Tr::kMin) acc[i][t] = _mm512_fmadd_ps(hi_halves(dm[i]), lanes_f(tp.msum(t, L) + b), acc[i][t]);
      }
    }
  }
  // A last group of 1..3 blocks (natural order): one block at a time in 128-bit registers.
  for (; b < nb; ++b) {
    for (int i = 0; i < NR; ++i) {
      const uint8_t* blk = w + i * ws + b * kB;
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + Tr::kQs));
      __m128i lo = _mm_and_si128(raw, _mm512_castsi512_si128(m4));
      __m128i hi = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm512_castsi512_si128(m4));
      if constexpr (Tr::kQh != 0) {
        uint32_t qh;
        __builtin_memcpy(&qh, blk + Tr::kQh, 4);
        lo = _mm_mask_add_epi8(lo, _cvtu32_mask16(qh & 0xFFFF), lo, _mm512_castsi512_si128(c16));
        hi = _mm_mask_add_epi8(hi, _cvtu32_mask16(qh >> 16), hi, _mm512_castsi512_si128(c16));
      }
      const __m128 dw = _mm_set1_ps(h2f(ld16(blk)));
      for (int t = 0; t < NT; ++t) {
        const int8_t* xq = tp.qs(t, L) + b * 32;
        __m128i s = Tr::kMin ? _mm_setzero_si128() : _mm_set1_epi32(tp.bias(t, L)[b]);
        s = _mm_dpbusd_epi32(s, lo, _mm_load_si128(reinterpret_cast<const __m128i*>(xq)));
        s = _mm_dpbusd_epi32(s, hi, _mm_load_si128(reinterpret_cast<const __m128i*>(xq + 16)));
        __m128 v = _mm_mul_ps(_mm_cvtepi32_ps(s), _mm_mul_ps(dw, _mm_set1_ps(tp.d(t, L)[b])));
        if constexpr (Tr::kMin) v = _mm_fmadd_ps(_mm_set1_ps(h2f(ld16(blk + 2))), _mm_set1_ps(tp.msum(t, L)[b]), v);
        acc[i][t] = _mm512_add_ps(acc[i][t], _mm512_zextps128_ps512(v));
      }
    }
  }
  for (int i = 0; i < NR; ++i)
    for (int t = 0; t < NT; ++t) y[i + t * ys] = _mm512_reduce_add_ps(acc[i][t]);
}

template <int NT> void q4_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k4_0, 1, NT>(k, w, 0, a, y, ys); }
template <int NT> void q4_1_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k4_1, 1, NT>(k, w, 0, a, y, ys); }
template <int NT> void q5_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k5_0, 1, NT>(k, w, 0, a, y, ys); }
template <int NT> void q5_1_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k5_1, 1, NT>(k, w, 0, a, y, ys); }
template <int NR, int NT> void q4_0_rows_n(int64_t k, const uint8_t* w, int64_t ws, const Acts& a, float* y, int64_t ys) { q32_tile<Q32::k4_0, NR, NT>(k, w, ws, a, y, ys); }

// q8_0: four blocks (136 bytes) as two registers of the kInter4 order, built from four 32-byte loads
// with two dword permutes; scales gathered from two 64-byte loads.
struct Q8Idx {
  alignas(64) int32_t r0[16], r1[16];  // dword permutes of ([blk0 | blk1], [blk2 | blk3])
  alignas(64) int16_t d[32];
  constexpr Q8Idx() : r0{}, r1{}, d{} {
    for (int u = 0; u < 16; ++u) {
      const int i = u % 4, dw = u / 4;
      r0[u] = (i >= 2 ? 16 : 0) + 8 * (i % 2) + dw;
      r1[u] = r0[u] + 4;
    }
    for (int l = 0; l < 32; ++l) d[l] = (int16_t)(17 * (l % 4));
  }
};
inline constexpr Q8Idx kQ8Idx{};

template <int NR, int NT>
void q8_0_rows_n(int64_t k, const uint8_t* w, int64_t ws, const Acts& a, float* y, int64_t ys) {
  constexpr int kB = 34;
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 32;
  const __m512i flip = _mm512_set1_epi8((char)0x80);
  const __m512i i0 = _mm512_load_si512(kQ8Idx.r0), i1 = _mm512_load_si512(kQ8Idx.r1);
  const __m512i idx_d = _mm512_load_si512(kQ8Idx.d);
  auto y32 = [](const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
  __m512 acc[NR][NT];
  for (int i = 0; i < NR; ++i)
    for (int t = 0; t < NT; ++t) acc[i][t] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 4 <= nb; b += 4) {
    __m512i q0[NR], q1[NR];
    __m512 dw[NR];
    for (int i = 0; i < NR; ++i) {
      const uint8_t* wp = w + i * ws + b * kB;
      _mm_prefetch(reinterpret_cast<const char*>(wp + 2048), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(wp + 2048 + 64), _MM_HINT_T0);
      const __m512i z01 = _mm512_inserti64x4(_mm512_castsi256_si512(y32(wp + 2)), y32(wp + kB + 2), 1);
      const __m512i z23 = _mm512_inserti64x4(_mm512_castsi256_si512(y32(wp + 2 * kB + 2)), y32(wp + 3 * kB + 2), 1);
      q0[i] = _mm512_xor_si512(flip, _mm512_permutex2var_epi32(z01, i0, z23));
      q1[i] = _mm512_xor_si512(flip, _mm512_permutex2var_epi32(z01, i1, z23));
      dw[i] = lo_halves(_mm512_permutex2var_epi16(_mm512_loadu_si512(wp), idx_d, _mm512_loadu_si512(wp + 64)));
    }
    for (int t = 0; t < NT; ++t) {
      const int8_t* xq = tp.qs(t, L) + b * 32;
      const __m512i x0 = _mm512_load_si512(xq), x1 = _mm512_load_si512(xq + 64);
      const __m512i s0 = bcast4(tp.bias(t, L) + b);
      const __m512 dx = bcast4(tp.d(t, L) + b);
      for (int i = 0; i < NR; ++i) {
        __m512i s = _mm512_dpbusd_epi32(s0, q0[i], x0);
        s = _mm512_dpbusd_epi32(s, q1[i], x1);
        acc[i][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw[i], dx), acc[i][t]);
      }
    }
  }
  for (; b < nb; ++b) {  // natural order, 4 lanes a block in a 128-bit register
    for (int i = 0; i < NR; ++i) {
      const uint8_t* blk = w + i * ws + b * kB;
      const __m128i f = _mm512_castsi512_si128(flip);
      const __m128i q0 = _mm_xor_si128(f, _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2)));
      const __m128i q1 = _mm_xor_si128(f, _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 18)));
      const __m128 dw = _mm_set1_ps(h2f(ld16(blk)));
      for (int t = 0; t < NT; ++t) {
        const int8_t* xq = tp.qs(t, L) + b * 32;
        __m128i s = _mm_dpbusd_epi32(_mm_set1_epi32(tp.bias(t, L)[b]), q0,
                                     _mm_load_si128(reinterpret_cast<const __m128i*>(xq)));
        s = _mm_dpbusd_epi32(s, q1, _mm_load_si128(reinterpret_cast<const __m128i*>(xq + 16)));
        const __m128 v = _mm_mul_ps(_mm_cvtepi32_ps(s), _mm_mul_ps(dw, _mm_set1_ps(tp.d(t, L)[b])));
        acc[i][t] = _mm512_add_ps(acc[i][t], _mm512_zextps128_ps512(v));
      }
    }
  }
  for (int i = 0; i < NR; ++i)
    for (int t = 0; t < NT; ++t) y[i + t * ys] = _mm512_reduce_add_ps(acc[i][t]);
}
template <int NT> void q8_0_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { q8_0_rows_n<1, NT>(k, w, 0, a, y, ys); }

// ---- Packed q4_0 / q8_0 (prompts) -----------------------------------------------------------------
// A group of 16 rows per block: their 16 f16 scales (32 bytes), then 8 vectors W_j (64 bytes each)
// whose lane r holds row r's values 4j..4j+3 as unsigned bytes (q4_0: the nibbles 0..15; q8_0:
// q + 128). Each token's block is then 8 vpdpbusd of W_j by its dword j broadcast, leaving row r's
// integer dot product in lane r, and one convert, multiply and multiply-add scale all 16 rows (the
// unpacked multi-row kernels spend those three on one row's 4 blocks). The weights' offset comes
// from the bias lanes (4 per block in this table's activations: their sum, 4 x bias, is the whole
// -off * block sum).
constexpr int kPackRows = 16;
constexpr int kPackBlockBytes = 32 + 8 * 64;

template <bool kQ8>
void pack_rows_q32(int64_t k, const void* w, int64_t ws, uint8_t* dst) {
  constexpr int kB = kQ8 ? 34 : 18;
  const int64_t nb = k / 32;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* out = dst + b * kPackBlockBytes;
    for (int r = 0; r < kPackRows; ++r) {
      const uint8_t* blk = static_cast<const uint8_t*>(w) + r * ws + b * kB;
      __builtin_memcpy(out + 2 * r, blk, 2);
      alignas(16) uint8_t v[32];
      const __m128i flip = _mm_set1_epi8((char)0x80);
      if constexpr (kQ8) {
        _mm_store_si128(reinterpret_cast<__m128i*>(v), _mm_xor_si128(flip, _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2))));
        _mm_store_si128(reinterpret_cast<__m128i*>(v + 16),
                        _mm_xor_si128(flip, _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 18))));
      } else {
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
        const __m128i m4 = _mm_set1_epi8(0x0F);
        _mm_store_si128(reinterpret_cast<__m128i*>(v), _mm_and_si128(raw, m4));
        _mm_store_si128(reinterpret_cast<__m128i*>(v + 16), _mm_and_si128(_mm_srli_epi16(raw, 4), m4));
      }
      for (int j = 0; j < 8; ++j) __builtin_memcpy(out + 32 + 64 * j + 4 * r, v + 4 * j, 4);
    }
  }
}

// Blocks [b0, b1) of a packed group against NT tokens; dword j of a block's activations is kStep
// bytes after dword j - 1 (16 in a kInter4 group of four blocks, 4 in natural order).
template <int NT, int kStep>
inline void packed_blocks(const uint8_t* pw, const ActLayout& L, const TokenPtrs<NT>& tp, int64_t nb, int64_t b0,
                          int64_t b1, __m512 (&acc)[NT]) {
  for (int64_t b = b0; b < b1; ++b) {
    const uint8_t* blk = pw + b * kPackBlockBytes;
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
    __m512i wv[8];
    for (int j = 0; j < 8; ++j) wv[j] = _mm512_loadu_si512(blk + 32 + 64 * j);
    const int64_t pos = act_pos(L.order, nb, b, 0);
    for (int t = 0; t < NT; ++t) {
      const uint8_t* xq = reinterpret_cast<const uint8_t*>(tp.qs(t, L)) + pos;
      __m512i s = _mm512_slli_epi32(_mm512_set1_epi32(tp.bias(t, L)[b]), 2);
      for (int j = 0; j < 8; ++j) {
        int32_t xd;
        __builtin_memcpy(&xd, xq + kStep * j, 4);
        s = _mm512_dpbusd_epi32(s, wv[j], _mm512_set1_epi32(xd));
      }
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(tp.d(t, L)[b])), acc[t]);
    }
  }
}

template <int NT>
void q32_packed_n(int64_t k, const uint8_t* pw, const Acts& a, float* y, int64_t ys) {
  const ActLayout& L = *a.layout;
  const TokenPtrs<NT> tp(a);
  const int64_t nb = k / 32;
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  const int64_t full = L.order == ActOrder::kNatural ? 0 : nb / 4 * 4;  // blocks in kInter4 groups
  packed_blocks<NT, 16>(pw, L, tp, nb, 0, full, acc);
  packed_blocks<NT, 4>(pw, L, tp, nb, full, nb, acc);
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(y + t * ys, acc[t]);
}

void q32_packed(int64_t k, const uint8_t* pw, const Acts& a, int nt, float* y, int64_t ys) {
  switch (nt) {
    case 1: q32_packed_n<1>(k, pw, a, y, ys); break;
    case 2: q32_packed_n<2>(k, pw, a, y, ys); break;
    case 3: q32_packed_n<3>(k, pw, a, y, ys); break;
    case 4: q32_packed_n<4>(k, pw, a, y, ys); break;
    case 5: q32_packed_n<5>(k, pw, a, y, ys); break;
    case 6: q32_packed_n<6>(k, pw, a, y, ys); break;
    case 7: q32_packed_n<7>(k, pw, a, y, ys); break;
    default: q32_packed_n<8>(k, pw, a, y, ys); break;
  }
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

// Activations 16 at a time from element i: f16 (kF16, the layout of f16 weights) or f32.
template <FW kT, int NT>
inline __m512 load_x(const TokenPtrs<NT>& tp, const ActLayout& L, int t, int64_t i) {
  if constexpr (kT == FW::kF16) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(tp.f16(t, L) + i)));
  } else {
    return _mm512_loadu_ps(tp.f32(t) + i);
  }
}
template <FW kT, int NT>
inline __m512 load_x_masked(const TokenPtrs<NT>& tp, const ActLayout& L, int t, int64_t i, __mmask16 m) {
  if constexpr (kT == FW::kF16) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, tp.f16(t, L) + i));
  } else {
    return _mm512_maskz_loadu_ps(m, tp.f32(t) + i);
  }
}

template <FW kT, int NR, int NT>
void float_tile(int64_t k, const uint8_t* w, int64_t ws, const Acts& a, float* y, int64_t ys) {
  // Independent accumulators: U per (row, token) so that one token still has several FMA chains in
  // flight; U depends on NT only, so that every NR sums in the same order.
  constexpr int U = NT >= 4 ? 1 : (NT >= 2 ? 2 : 4);
  const TokenPtrs<NT> tp(a);
  const ActLayout& L = *a.layout;
  __m512 acc[U][NR][NT];
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < NR; ++i)
      for (int t = 0; t < NT; ++t) acc[u][i][t] = _mm512_setzero_ps();
  int64_t e = 0;
  for (; e + 16 * U <= k; e += 16 * U) {
    for (int u = 0; u < U; ++u) {
      __m512 wv[NR];
      for (int i = 0; i < NR; ++i) wv[i] = load_w<kT>(w + i * ws, e + 16 * u);
      for (int t = 0; t < NT; ++t) {
        const __m512 xv = load_x<kT>(tp, L, t, e + 16 * u);
        for (int i = 0; i < NR; ++i) acc[u][i][t] = _mm512_fmadd_ps(wv[i], xv, acc[u][i][t]);
      }
    }
  }
  for (; e < k; e += 16) {
    const __mmask16 m = k - e >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (k - e)) - 1);
    __m512 wv[NR];
    for (int i = 0; i < NR; ++i) wv[i] = load_w_masked<kT>(w + i * ws, e, m);
    for (int t = 0; t < NT; ++t) {
      const __m512 xv = load_x_masked<kT>(tp, L, t, e, m);
      for (int i = 0; i < NR; ++i) acc[0][i][t] = _mm512_fmadd_ps(wv[i], xv, acc[0][i][t]);
    }
  }
  for (int i = 0; i < NR; ++i) {
    for (int t = 0; t < NT; ++t) {
      __m512 s = acc[0][i][t];
      for (int u = 1; u < U; ++u) s = _mm512_add_ps(s, acc[u][i][t]);
      y[i + t * ys] = _mm512_reduce_add_ps(s);
    }
  }
}

template <int NT> void f32_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kF32, 1, NT>(k, w, 0, a, y, ys); }

// f32 rows, kRowsF32 at a time (rows of a small model: k of 64 to a few hundred). Row i and token t
// sum exactly as float_tile<kF32, 1, NT> does (the same U accumulators, tail and reduction tree),
// but the weights of 4 rows are loaded once for every token, and the per-(row, token) horizontal
// sums, which at such k cost as much as the products, are done together: reduce_lanes turns N <= 16
// vectors into one whose lanes hold their _mm512_reduce_add_ps sums (the same pairs added in the
// same order: j + j+8, then + j+4, then j + j^2, then lanes 0 + 1), about 3 instructions a sum
// instead of 10. Lane 4b + c of the result holds vector 4c + b. (T3, T6, T8 below: a vector's
// partial sums after the first, second and third of those adds.)
template <int N>
__attribute__((always_inline)) inline __m512 reduce_lanes(const __m512 (&v)[N]) {
  static_assert(N >= 1 && N <= 16);
  constexpr int N1 = (N + 1) / 2, N2 = (N1 + 1) / 2;
  __m512 w[N1], x[N2], y2[2];
  _Pragma("GCC unroll 16") for (int p = 0; p < N1; ++p) {  // blocks: [a.T3 lo, a.T3 hi, b.T3 lo, b.T3 hi]
    const __m512 a = v[2 * p], b = v[2 * p + 1 < N ? 2 * p + 1 : 2 * p];
    w[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  }
  _Pragma("GCC unroll 16") for (int q = 0; q < N2; ++q) {  // block j: T6 of vector 4q + j
    const __m512 c = w[2 * q], d = w[2 * q + 1 < N1 ? 2 * q + 1 : 2 * q];
    x[q] = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(c, d, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  // Block b: [T8 of vector 8r + b (lanes 0, 1), T8 of vector 8r + 4 + b (lanes 2, 3)].
  _Pragma("GCC unroll 16") for (int r = 0; r < 2; ++r) {
    const __m512 e = x[2 * r < N2 ? 2 * r : 0], f = x[2 * r + 1 < N2 ? 2 * r + 1 : 0];
    y2[r] = _mm512_add_ps(_mm512_shuffle_ps(e, f, _MM_SHUFFLE(1, 0, 1, 0)),
                          _mm512_shuffle_ps(e, f, _MM_SHUFFLE(3, 2, 3, 2)));
    if (N2 == 1) {
      y2[1] = y2[0];
      break;
    }
  }
  return _mm512_add_ps(_mm512_shuffle_ps(y2[0], y2[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_ps(y2[0], y2[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

constexpr int kRowsF32 = 4;

// kRowsF32 rows x NT (<= 4) tokens with U accumulators a (row, token), as float_tile sums them.
// The loops over them are unrolled explicitly: GCC 12 -O3 otherwise keeps more than 4 vectors of
// accumulators in memory.
#define EDGEAI_UNROLL _Pragma("GCC unroll 16")
template <int NT, int U>
void f32_rows_part(int64_t k, const uint8_t* w, int64_t ws, const float* const* xs, float* y, int64_t ys) {
  constexpr int NR = kRowsF32;
  static_assert(NT >= 1 && NT <= 4);
  const float* wr[NR];
  EDGEAI_UNROLL for (int i = 0; i < NR; ++i) wr[i] = reinterpret_cast<const float*>(w + i * ws);
  __m512 acc[U][NR][NT];
  EDGEAI_UNROLL for (int u = 0; u < U; ++u)
    EDGEAI_UNROLL for (int i = 0; i < NR; ++i)
      EDGEAI_UNROLL for (int t = 0; t < NT; ++t) acc[u][i][t] = _mm512_setzero_ps();
  int64_t e = 0;
  for (; e + 16 * U <= k; e += 16 * U) {
    EDGEAI_UNROLL for (int u = 0; u < U; ++u) {
      __m512 wv[NR];
      EDGEAI_UNROLL for (int i = 0; i < NR; ++i) wv[i] = _mm512_loadu_ps(wr[i] + e + 16 * u);
      EDGEAI_UNROLL for (int t = 0; t < NT; ++t) {
        const __m512 xv = _mm512_loadu_ps(xs[t] + e + 16 * u);
        EDGEAI_UNROLL for (int i = 0; i < NR; ++i) acc[u][i][t] = _mm512_fmadd_ps(wv[i], xv, acc[u][i][t]);
      }
    }
  }
  for (; e < k; e += 16) {
    const __mmask16 m = k - e >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (k - e)) - 1);
    __m512 wv[NR];
    EDGEAI_UNROLL for (int i = 0; i < NR; ++i) wv[i] = _mm512_maskz_loadu_ps(m, wr[i] + e);
    EDGEAI_UNROLL for (int t = 0; t < NT; ++t) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, xs[t] + e);
      EDGEAI_UNROLL for (int i = 0; i < NR; ++i) acc[0][i][t] = _mm512_fmadd_ps(wv[i], xv, acc[0][i][t]);
    }
  }
  __m512 s[NR * NT];  // vector i * NT + t
  EDGEAI_UNROLL for (int i = 0; i < NR; ++i) {
    EDGEAI_UNROLL for (int t = 0; t < NT; ++t) {
      __m512 v = acc[0][i][t];
      EDGEAI_UNROLL for (int u = 1; u < U; ++u) v = _mm512_add_ps(v, acc[u][i][t]);
      s[i * NT + t] = v;
    }
  }
  // Vector v's sum is in lane 4 (v % 4) + v / 4; token t's rows go to lanes 4t .. 4t + 3.
  alignas(64) static constexpr auto kIdx = [] {
    std::array<int32_t, 16> idx{};
    for (int t = 0; t < NT; ++t)
      for (int i = 0; i < NR; ++i) idx[4 * t + i] = 4 * ((i * NT + t) % 4) + (i * NT + t) / 4;
    return idx;
  }();
  const __m512 r = _mm512_permutexvar_ps(_mm512_load_si512(kIdx.data()), reduce_lanes(s));
  // (Written out: _mm512_extractf32x4_ps needs an immediate, which a loop's t is not at -O1.)
  _mm_storeu_ps(y, _mm512_castps512_ps128(r));
  if constexpr (NT > 1) _mm_storeu_ps(y + ys, _mm512_extractf32x4_ps(r, 1));
  if constexpr (NT > 2) _mm_storeu_ps(y + 2 * ys, _mm512_extractf32x4_ps(r, 2));
  if constexpr (NT > 3) _mm_storeu_ps(y + 3 * ys, _mm512_extractf32x4_ps(r, 3));
}
#undef EDGEAI_UNROLL

// float_tile's U for NT tokens; more than 4 tokens go 4 at a time (U is 1 from 4 tokens on).
template <int NR, int NT>
void f32_rows_n(int64_t k, const uint8_t* w, int64_t ws, const Acts& a, float* y, int64_t ys) {
  static_assert(NR == kRowsF32);
  const float* xs[NT];
  for (int t = 0; t < NT; ++t) xs[t] = reinterpret_cast<const float*>(a.base + t * a.stride);
  if constexpr (NT <= 3) {
    f32_rows_part<NT, NT >= 2 ? 2 : 4>(k, w, ws, xs, y, ys);
  } else {
    f32_rows_part<4, 1>(k, w, ws, xs, y, ys);
    if constexpr (NT > 4) f32_rows_part<NT - 4, 1>(k, w, ws, xs + 4, y + 4 * ys, ys);
  }
}
template <int NT> void f16_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kF16, 1, NT>(k, w, 0, a, y, ys); }
template <int NT> void bf16_n(int64_t k, const uint8_t* w, const Acts& a, float* y, int64_t ys) { float_tile<FW::kBF16, 1, NT>(k, w, 0, a, y, ys); }
template <int NR, int NT> void f16_rows_n(int64_t k, const uint8_t* w, int64_t ws, const Acts& a, float* y, int64_t ys) { float_tile<FW::kF16, NR, NT>(k, w, ws, a, y, ys); }

// kF16 activations: F16C rounds to nearest even (imm 0), as float_to_half does, subnormals included.
void to_f16_f16c(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) out[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

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

// Rows per multi-row kernel: the accumulators (rows x 8 tokens) and each row's unpacked weights
// must fit the 32 vector registers.
constexpr int kRowsQ = 2, kRowsF = 3;

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
EDGEAI_GGML_TILE_ROWS(q4_0_rows, kRowsQ)
EDGEAI_GGML_TILE_ROWS(q8_0_rows, kRowsQ)
EDGEAI_GGML_TILE_ROWS(f16_rows, kRowsF)
EDGEAI_GGML_TILE_ROWS(f32_rows, kRowsF32)

constexpr KernelTable kTable = [] {
  KernelTable t{"avx512-vnni", {}, {}, {}};
  for (int type : {2, 3, 6, 7, 8}) {
    t.order[type] = type == 6 || type == 7 ? ActOrder::kQuad16 : ActOrder::kInter4;
    t.lanes[type] = 4;
  }
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
  t.tile_rows[0] = f32_rows;
  t.tile_rows[1] = f16_rows;
  t.tile_rows[2] = q4_0_rows;
  t.tile_rows[8] = q8_0_rows;
  t.rows[0] = kRowsF32;
  t.rows_one_token_bytes[0] = 128 * 1024;
  t.rows[1] = kRowsF;
  t.rows[2] = t.rows[8] = kRowsQ;
  t.pack_rows[2] = pack_rows_q32<false>;
  t.pack_rows[8] = pack_rows_q32<true>;
  t.tile_packed[2] = t.tile_packed[8] = q32_packed;
  t.packed_rows[2] = t.packed_rows[8] = kPackRows;
  t.packed_block_bytes[2] = t.packed_block_bytes[8] = kPackBlockBytes;
  t.to_f16 = to_f16_f16c;
  return t;
}();

}  // namespace

const KernelTable& avx512_kernels() { return kTable; }

}  // namespace edgeai::kernels::ggml
