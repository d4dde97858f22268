// Dense math the backward passes share: a GEMM on the CPU kernels' packed f32 driver,
// im2col / col2im for 2-D convolution geometry, and the reduction of a broadcast gradient back to
// an input's shape. Internal to src/compress.
#pragma once

#include <cstdint>

#include "core/env.h"
#include "core/tensor.h"
#include "edgeai/status.h"

namespace edgeai::compress::train {

// C[M,N] (row stride ldc) = op(A) op(B) (+ C when accumulate); op(A) is A[M,K] (row-major, row
// stride lda) or, with ta, A stored as [K,M]; likewise B [K,N] or, with tb, [N,K].
Status sgemm(const CpuFeatures& cpu, ThreadPool* pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
             const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
             bool accumulate);

// 2-D window geometry (Conv, pools). 1-D ops use h = oh = kh = 1.
struct Geom2d {
  int64_t c = 0, h = 0, w = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0;
};

// cols[(ci*kh + i)*kw + j][oy*ow + ox] = x[ci][oy*sh - ph + i*dh][ox*sw - pw + j*dw] (0 outside).
void im2col(const Geom2d& g, const float* x, float* cols);
// The adjoint: x[...] += cols[...].
void col2im_add(const Geom2d& g, const float* cols, float* x);

// Sums `grad` (of shape `from`, a broadcast of `to`) over the broadcast axes into a tensor of
// shape `to`.
Result<Tensor> reduce_to_shape(const Tensor& grad, const Shape& to);

// Element-wise a += b (same element count).
void add_into(Tensor& a, const Tensor& b);

}  // namespace edgeai::compress::train
