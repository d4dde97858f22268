// Block-quantized (GGML) weight formats: row conversion and the matrix products that language
// models spend their time in. The reference versions are the numerical specification; the
// dispatcher picks the AVX-512 / AVX2 / NEON kernel for the CPU at hand.
#pragma once

#include <cstdint>

#include "core/cpu_features.h"
#include "core/ggml_type.h"
#include "core/thread_pool.h"
#include "edgeai/status.h"

namespace edgeai::kernels {

// Whether edgeai can compute with weights of this type (dequantize and ggml_matmul).
bool ggml_type_supported(uint32_t type);

// n must be a multiple of the type's block size.
void ggml_dequantize_row(uint32_t type, const void* src, float* dst, int64_t n);
Status ggml_quantize_rows(uint32_t type, const float* src, void* dst, int64_t rows, int64_t n);

// y[t * rows + r] = sum_k W[r][k] * x[t * k + ...] for t < n_tokens, r < rows: W is `rows` rows
// of `k` weights stored in `wtype` (ggml_row_bytes(wtype, k) bytes each, row-major), x is
// n_tokens x k f32, y is n_tokens x rows f32. Splits rows over the pool; deterministic for a
// given thread count. Activations may be quantized internally (as llama.cpp does) — the
// reference does the same, so fast kernels are checked against it.
Status ggml_matmul(const CpuFeatures& cpu, ThreadPool& pool, uint32_t wtype, const void* w, int64_t rows,
                   int64_t k, const float* x, int64_t n_tokens, float* y);

}  // namespace edgeai::kernels
