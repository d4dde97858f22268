// Block-quantized (GGML) weight formats: row conversion and the matrix products that language
// models spend their time in. The reference versions are the numerical specification; the
// dispatcher picks the AVX-512 / AVX2 / NEON kernel for the CPU at hand.
#pragma once

#include <cstdint>
#include <span>

#include "core/cpu_features.h"
#include "core/ggml_type.h"
#include "core/thread_pool.h"
#include "edgeai/status.h"

namespace edgeai::kernels {

// Whether edgeai can compute with weights of this type (dequantize and ggml_matmul).
bool ggml_type_supported(uint32_t type);

// n must be a multiple of the type's block size (a partial last block is left unwritten).
void ggml_dequantize_row(uint32_t type, const void* src, float* dst, int64_t n);
// Quantizes `rows` rows of n floats into rows of ggml_row_bytes(type, n) bytes, byte for byte as
// llama.cpp's reference quantizers (quantize_row_*_ref; no importance matrix). Errors: unknown or
// non-quantizable type, n not a multiple of the block size.
Status ggml_quantize_rows(uint32_t type, const float* src, void* dst, int64_t rows, int64_t n);
// The same, rows split over the pool (the bytes do not depend on the thread count).
Status ggml_quantize_rows(ThreadPool& pool, uint32_t type, const float* src, void* dst, int64_t rows, int64_t n);

// y[t * rows + r] = sum_k W[r][k] * x[t * k + ...] for t < n_tokens, r < rows: W is `rows` rows
// of `k` weights stored in `wtype` (ggml_row_bytes(wtype, k) bytes each, row-major), x is
// n_tokens x k f32, y is n_tokens x rows f32. Splits rows over the pool; deterministic for a
// given thread count. Activations may be quantized internally (as llama.cpp does) — the
// reference does the same, so fast kernels are checked against it.
//
// Activations: q4_0/q4_1/q5_0/q5_1/q8_0 weights take x quantized to int8 blocks of 32 (llama.cpp's
// q8_0 rounding), k-quants take x quantized to Q8_K (blocks of 256), f32/f16/bf16 weights take x
// as f32. Errors: unsupported wtype, k not a multiple of the block size, negative sizes.
Status ggml_matmul(const CpuFeatures& cpu, ThreadPool& pool, uint32_t wtype, const void* w, int64_t rows,
                   int64_t k, const float* x, int64_t n_tokens, float* y);

// One product of ggml_matmul's: `rows` weight rows of type `wtype` at `w`, results to `y`
// (n_tokens x rows).
struct MatmulOperand {
  uint32_t wtype;
  const void* w;
  int64_t rows;
  float* y;
};
// ggml_matmul of several weight matrices (same row length k) with the same activations x, e.g.
// the Q, K and V projections of one layer: the activations are quantized once per weight type,
// and the rows of all the matrices are split over the pool in one go. Each y is bit for bit what
// ggml_matmul gives for its matrix alone. Errors as ggml_matmul's, for any operand.
Status ggml_matmul_many(const CpuFeatures& cpu, ThreadPool& pool, std::span<const MatmulOperand> ops, int64_t k,
                        const float* x, int64_t n_tokens);

// Which kernels ggml_matmul uses on this CPU: "avx512-vnni", "avx2", "neon-dotprod" or "reference".
const char* ggml_matmul_isa(const CpuFeatures& cpu);

}  // namespace edgeai::kernels
