// Internals of the GGML block formats shared by the reference kernels, the per-ISA kernels, the
// ggml_matmul driver and their tests: the on-disk block layouts, the quantized-activation layout
// that the dot products read, and the per-ISA kernel tables. Not a public header.
//
// Activations (what llama.cpp calls vec_dot_type). ggml_matmul quantizes each token's f32
// activations once per call into the form the weight type's dot product wants:
//   q4_0 q4_1 q5_0 q5_1 q8_0  -> Q8 blocks of 32 (ActKind::kQ8_32): int8 values with one f16
//       scale per 32, computed as llama.cpp's x86 quantize_row_q8_0 does (x * 127/amax rounded
//       half to even, scale f16(amax/127)), so on x86 the int8 values are the very ones llama.cpp
//       multiplies (its scalar reference, 1/d rounded half away, differs at rare near-ties).
//       Unlike llama.cpp (which gives q4_1/q5_1 a q8_1 whose block sum is stored as an f16 of
//       d*sum), we keep the exact integer sum of each block; the minimum term of q4_1/q5_1 is then
//       m * d * sum with no extra rounding.
//   q2_K .. q6_K              -> Q8_K (ActKind::kQ8_K): llama.cpp's quantize_row_q8_K, an f32
//       scale per 256 and the sums of each 16 (bsums).
//   f16                       -> f16 (ActKind::kF16): each value rounded to nearest even, as
//       llama.cpp's vec_dot_type for f16 weights; the kernels widen both operands to f32 in
//       registers and add the products (exact in f32) in f32. A token's activations then take
//       half the bytes, which matters in generation: a matrix-vector product re-reads them from
//       L1 for every weight row, and with f32 activations those loads (two bytes per weight byte)
//       compete with the weight lines arriving from memory. Zen 4, 1 thread, loaded machine,
//       ggml_matmul_bench medians of 3 alternating runs: 5632x2048 17.4 -> 19.9 GB/s, 2048x5632
//       14.5 -> 18.1 GB/s; prompts (pp512, multi-row kernel) 2340 -> 3710 tok/s.
//   f32 bf16                  -> f32 as given (ActKind::kF32); llama.cpp rounds activations to
//       bf16 for bf16 weights, we do not.
// The integer part of each block's dot product is exact in every kernel; kernels differ from the
// reference only in the order in which the per-block f32 terms are added.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/thread_pool.h"
#include "edgeai/status.h"
#include "kernels/ggml_quants.h"

namespace edgeai::kernels::ggml {

inline constexpr int kQK = 32;    // block of the 32-element types (QK4_0 .. QK8_1)
inline constexpr int kQKK = 256;  // super-block of the k-quants (QK_K)

// ---- On-disk blocks (ggml-common.h layouts; f16 fields kept as raw bits) ------------------------
struct BlockQ4_0 { uint16_t d; uint8_t qs[16]; };
struct BlockQ4_1 { uint16_t d, m; uint8_t qs[16]; };
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ8_0 { uint16_t d; int8_t qs[32]; };
struct BlockQ8_1 { uint16_t d, s; int8_t qs[32]; };
struct BlockQ2_K { uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin; };
struct BlockQ3_K { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; };
struct BlockQ4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct BlockQ5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct BlockQ6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };
struct BlockQ8_K { float d; int8_t qs[256]; int16_t bsums[16]; };
static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);

// The 6-bit scale and min of sub-block j (0..7) of a q4_K/q5_K block (get_scale_min_k4).
inline void scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

// ---- Quantized activations ----------------------------------------------------------------------
enum class ActKind { kNone, kF32, kF16, kQ8_32, kQ8_K };
ActKind act_kind(uint32_t wtype);

// Order of the int8 values of 32-block activations, as a kernel table asks for it (any order gives
// the same dot product; the order is the one the ISA's weight unpacking produces for free).
//   kNatural: element j of block b at 32b + j.
//   kInter4:  blocks in groups of four, the values of a group interleaved four bytes at a time:
//             element j of block 4g+i at 128g + 16(j/4) + 4i + j%4, so that int32 lane l of a
//             vector (four bytes, summed by vpdpbusd/vpmaddwd) belongs to block l % 4 and one
//             128-bit broadcast of four per-block scales covers every lane. A last group of fewer
//             than four blocks stays in natural order.
//   kQuad16:  blocks in groups of four, a group holding the first halves (elements 0..15) of its
//             blocks, then their second halves: element j of block 4g+i at 128g + 16i + j (j < 16)
//             or 128g + 64 + 16i + j - 16 (the order of 4-bit nibbles of four blocks loaded side by
//             side, with each block's fifth bits a contiguous 16-bit mask). Last group as kInter4.
enum class ActOrder : uint8_t { kNatural, kInter4, kQuad16 };
inline int64_t act_pos(ActOrder o, int64_t nb, int64_t b, int j) {
  if (o == ActOrder::kNatural || (b | 3) >= nb) return 32 * b + j;
  if (o == ActOrder::kInter4) return 128 * (b >> 2) + 16 * (j >> 2) + 4 * (b & 3) + (j & 3);
  return 128 * (b >> 2) + 64 * (j >> 4) + 16 * (b & 3) + (j & 15);
}

// Where each array of one token's activations lies in its slab (bytes from the slab's start; every
// array starts 64-byte aligned and the slab size `stride` is a multiple of 64).
//
// kQ8_32, nb = k/32 blocks:
//   qs    int8  [k]   the values in `order`
//   d     float [nb]  the scale (an f16 value, as llama.cpp's q8_0 stores it)
//   sum   int32 [nb]  the sum of the block's values
//   bias  int32 [nb]  -off * sum / lanes, off = 8 (q4_0), 16 (q5_0), 128 (q8_0), 0 otherwise: x86
//                     kernels dot unsigned weights (q, or q8 + 128) with the values and start each of
//                     a block's `lanes` int32 accumulator lanes at this
//   msum  float [nb]  d * sum / lanes: the lanes of q4_1/q5_1's minimum term (m * msum per lane)
// kQ8_K, nb = k/256:
//   qs int8 [k], d float [nb], bsums int16 [k/16] (sum of each 16 values)
// kF16: uint16 [k], the f16 bits of each value (float_to_half).
// kF32: the f32 row as given (no slab).
struct ActLayout {
  ActKind kind = ActKind::kNone;
  ActOrder order = ActOrder::kNatural;
  int lanes = 1;
  int64_t off_qs = 0, off_d = 0, off_sum = 0, off_bias = 0, off_msum = 0, off_bsums = 0;
  int64_t stride = 0;  // bytes per token
};
ActLayout act_layout(uint32_t wtype, int64_t k, ActOrder order = ActOrder::kNatural, int lanes = 1);

// Quantizes one token's activations `x` (k floats) into `slab` (layout.stride bytes, 64-aligned).
void quantize_acts(uint32_t wtype, const ActLayout& layout, const float* x, int64_t k, uint8_t* slab);
// Recomputes sum, bias, msum (kQ8_32) or bsums (kQ8_K) from qs and d; quantize_acts calls it, and
// tests use it to build activations with chosen values.
void finish_acts(uint32_t wtype, const ActLayout& layout, int64_t k, uint8_t* slab);

// The activations of a block of tokens: token t's slab at base + t * stride (for kF32, the f32 row
// of token t at base + t * stride).
struct Acts {
  const uint8_t* base = nullptr;
  int64_t stride = 0;
  const ActLayout* layout = nullptr;
};

// ---- Kernels --------------------------------------------------------------------------------------
// The most tokens one tile call handles: the kernel unpacks each weight block once and uses it for
// all of them.
inline constexpr int kMaxTileTokens = 8;
// y[t * y_stride] = (weight row `w`, k elements) . (token t) for t < nt <= kMaxTileTokens.
using TileFn = void (*)(int64_t k, const void* w, const Acts& acts, int nt, float* y, int64_t y_stride);

// The same for `rows[type]` consecutive weight rows at once (row i at w + i * w_stride, its results
// at y + i + t * y_stride): each token's activations are loaded once for all the rows. Each row's
// result is bit for bit the TileFn's, so that how rows fall into such groups (thread count, row
// block) does not change the output.
using TileRowsFn = void (*)(int64_t k, const void* w, int64_t w_stride, const Acts& acts, int nt, float* y,
                            int64_t y_stride);

// Packed prompt kernels. PackRowsFn rewrites `packed_rows[type]` consecutive weight rows (row i at
// w + i * w_stride) into `dst` in the ISA's own layout (packed_block_bytes[type] bytes per 32-block
// of the group, all k/32 blocks); TilePackedFn computes such a group against a tile of tokens,
// group row i's results at y + i + t * y_stride. The layout lets each vector lane hold one row, so
// a block's f32 scaling is one multiply-add for all the group's rows; the price is the packing,
// repaid only when many token tiles pass over the packed rows, so ggml_matmul packs only for at
// least kPackMinTokens tokens. Results are those of the single-row kernel up to f32 rounding (the
// per-block terms are added in another order); which rows form a group depends on the row index
// only, so the output still does not depend on the thread count.
using PackRowsFn = void (*)(int64_t k, const void* w, int64_t w_stride, uint8_t* dst);
using TilePackedFn = void (*)(int64_t k, const uint8_t* packed, const Acts& acts, int nt, float* y,
                              int64_t y_stride);
inline constexpr int64_t kPackMinTokens = 2 * kMaxTileTokens;

struct KernelTable {
  const char* isa;
  TileFn tile[32];      // by GGML type number; null where this ISA has no kernel (the reference runs)
  ActOrder order[32];   // activation order each 32-block type's tile wants
  int8_t lanes[32];     // accumulator lanes per block over which its bias / minimum term is split
  TileRowsFn tile_rows[32] = {};  // optional multi-row kernels (prompts), null where there is none
  int8_t rows[32] = {};           // how many rows each tile_rows kernel takes
  // A single token takes the tile_rows kernel too for a matrix of at most this many bytes (0:
  // never): f32 rows of a small model, cached, whose horizontal sums cost as much as the products.
  // (Streamed from memory, several rows at once read slower than one row after another.)
  int32_t rows_one_token_bytes[32] = {};
  PackRowsFn pack_rows[32] = {};      // optional packed prompt kernels (see PackRowsFn)
  TilePackedFn tile_packed[32] = {};
  int8_t packed_rows[32] = {};           // rows per packed group
  int16_t packed_block_bytes[32] = {};   // bytes of a packed group per 32-block
  // Optional: out[i] = float_to_half(x[i]) for i < n (kF16 activations), bit for bit; null: the
  // reference quantize_acts.
  void (*to_f16)(const float* x, int64_t n, uint16_t* out) = nullptr;
};
const KernelTable& ref_kernels();
#if defined(__x86_64__) || defined(_M_X64)
const KernelTable& avx2_kernels();    // needs avx2 fma f16c
const KernelTable& avx512_kernels();  // needs avx512 f bw vl dq vnni, avx2 fma f16c
#endif
#if defined(__aarch64__)
const KernelTable& neon_kernels();  // needs asimd dotprod fp16
#endif

// ggml_matmul with a chosen kernel table (tests run every ISA the CPU has through this).
Status matmul_with(const KernelTable& kt, ThreadPool& pool, uint32_t wtype, const void* w, int64_t rows,
                   int64_t k, const float* x, int64_t n_tokens, float* y);
Status matmul_many_with(const KernelTable& kt, ThreadPool& pool, std::span<const MatmulOperand> ops, int64_t k,
                        const float* x, int64_t n_tokens);

// The activation layout a table's kernel for `wtype` reads.
inline ActLayout act_layout_for(const KernelTable& kt, uint32_t wtype, int64_t k) {
  if (wtype >= 32 || !kt.tile[wtype]) return act_layout(wtype, k);
  return act_layout(wtype, k, kt.order[wtype], kt.lanes[wtype] > 0 ? kt.lanes[wtype] : 1);
}

// Reference dot products of one weight row with one token (the numerical specification).
float dot_ref(uint32_t wtype, int64_t k, const void* w, const uint8_t* act, const ActLayout& layout);

}  // namespace edgeai::kernels::ggml
