// The int8 GEMM on activation rows (qmatmul.cc), behind QLinearMatMul and MatMulInteger with
// constant weights and the classifier Gemm that passes/fuse_qdq.cc makes a 1x1 QLinearConv of rows:
//   y[r * m + i] = requant_i(sum_k x[r * ldx + kk] * W[i][kk])   for rows r of X, features i,
// W prepacked once as qgemm.h's A (m x k), requantized per feature exactly as QGemmBlock. Each
// row of X is one column of qgemm.h's B: rows are packed straight into B's layout (a row's bytes
// k .. k + 3 are one quad), and the [features][rows] result is transposed into row-major Y.
// Portable header.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "edgeai/status.h"
#include "kernels/cpu/qgemm.h"

namespace edgeai::kernels::cpu {

struct QRowsGemm {
  const QGemmKernels* qk = nullptr;
  const int8_t* a = nullptr;  // qgemm_pack_a of W (m x k)
  int64_t m = 0, k = 0;
  const int32_t* corr = nullptr;  // [m], as QGemmBlock's (bias - zx * sum_k W[i][k])
  const float* mult = nullptr;    // [m]
  int32_t zy = 0, qmin = 0, qmax = 255;
  bool mult_below_one = false;
  // 0x80 where X holds s8 values: each byte is read as x + 128 (u8), so corr must use zx + 128.
  uint8_t x_flip = 0;
  // Y holds the int32 sums acc + corr[i] (MatMulInteger) instead of requantized bytes.
  bool int32_out = false;
};

// Y (rows x m, row-major, row r at y + r * m: bytes, or int32 with int32_out) from X (rows x k, row
// r at x + r * ldx) on the pool's threads (the calling thread alone for small products). Fails only
// when scratch memory cannot be allocated. Results do not depend on the thread count.
Status qgemm_rows(const QRowsGemm& p, const uint8_t* x, int64_t ldx, int64_t rows, void* y, ThreadPool& pool);

// Rows [0, n) of X (row r at x + r * ldx, k bytes, each ^ flip) into B's layout with kq quads:
// columns past n and depth past k are zero.
void qpack_rows(const uint8_t* x, int64_t ldx, int64_t n, int64_t k, int64_t kq, uint8_t flip, uint8_t* dst);

// dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols: bytes, or 32-bit words.
void qtranspose_bytes(const uint8_t* src, int64_t lds, int64_t rows, int64_t cols, uint8_t* dst, int64_t ldd);
void qtranspose_words(const int32_t* src, int64_t lds, int64_t rows, int64_t cols, int32_t* dst, int64_t ldd);

}  // namespace edgeai::kernels::cpu
