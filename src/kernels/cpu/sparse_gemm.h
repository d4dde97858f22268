// Sparse-weight GEMM: out = act(W B + bias) where W (R x K) is a constant weight with most of its
// entries zero (edgeai prune --method magnitude / 2:4), stored once at preparation in CSR form
// (per row: the nonzero values and their column indices) so that the zeros are skipped. B
// (K x N) is dense and row-major; the kernel runs over N in vectors (a few registers of
// accumulators per row of W, one broadcast weight times one row of B per nonzero) and, for N = 1
// (a matrix times a vector: Gemm / MatMul with batch 1), over each row's nonzeros with gathers.
// Rows of W are split over the thread pool; each output sums its nonzeros in the same order
// whatever the split, so results do not depend on the thread count. Portable header: no
// intrinsics.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "edgeai/status.h"
#include "kernels/cpu/activation.h"
#include "kernels/cpu/ukernels.h"

namespace edgeai::kernels::cpu {

// The fraction of zeros from which the sparse kernel is used instead of the packed dense GEMM.
// Measured on a 2-core AMD EPYC (AVX-512), 1 thread, 7 alternating rounds, min (load 9-12):
// - Gemm / MatMul (their batch, the sparse kernel's N, is known only at run time and is 1 for
//   most edge models): the matrix-vector product gathers its inputs and the dense kernel streams
//   whole weight rows, so sparse pays only from 90% zeros: 784x512 at 80% zeros 32.1 us sparse
//   vs 21.3 dense (0.66x), at 90% 17.8 vs 21.3 (1.20x); 512x256 0.61x / 1.08x; 512x64 0.91x /
//   1.57x; batch 8, 784x512: 0.73x at 80%, 1.52x at 90%. (Four scalar accumulators instead of
//   gathers ran 1.6x slower still.)
// - Wide N (a conv's output plane: W is Cout x Cin kh kw times the im2col matrix) vectorizes over
//   N with one broadcast weight per nonzero: 32x144 by 64 columns 1.28x at 50% zeros, 2.06x at
//   70%; 64x576 by 196 0.67x at 50%, 1.11x at 70%, 1.70x at 80%.
// - Convs (sparse_conv_takes), against the direct kernel that small planes take otherwise (3x3,
//   pads 1, Relu): 16 -> 32 on 28x28 1.33x at 70% zeros (0.98x at 50%), 32 -> 64 on 14x14 1.11x
//   at 70%; on the digits CNN's 8x8 planes 0.94x at 70%, 1.12x at 80%; on its 4x4 planes 0.88x
//   at 80%, 1.01x at 90%. So 70% from 128 output positions, 80% from 64, else 90%.
inline constexpr double kSparseMinZeroFractionGemm = 0.9;
inline constexpr double kSparseMinZeroFractionWide = 0.7;

// W in CSR form: row r's nonzeros are val[row_ptr[r] .. row_ptr[r + 1]) at columns col[...].
struct SparseWeights {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> row_ptr;  // rows + 1
  std::vector<int32_t> col;
  std::vector<float> val;

  int64_t nnz() const { return static_cast<int64_t>(val.size()); }
};

// The zero fraction of W (element (r, k) at w[r * rs + k * cs]); 0 for an empty matrix.
double zero_fraction(const float* w, int64_t rs, int64_t cs, int64_t rows, int64_t cols);

// W (element (r, k) at w[r * rs + k * cs]) times `scale` in CSR form. Empty (rows == 0) when
// cols does not fit an int32 index.
SparseWeights sparse_pack(const float* w, int64_t rs, int64_t cs, int64_t rows, int64_t cols, float scale = 1.0f);

// One call of an ISA's kernel: rows [r0, r1) of out.
struct SparseGemmArgs {
  const SparseWeights* w = nullptr;
  const float* b = nullptr;  // (k, j) at b[k * ldb + j]
  int64_t ldb = 0;
  int64_t n = 0;             // columns of B and out
  float* out = nullptr;      // (r, j) at out[r * ldo + j]
  int64_t ldo = 0;
  const float* bias = nullptr;  // bias[r] per row of W; null when none
  Activation act;
  int64_t r0 = 0, r1 = 0;
};
using SparseGemmFn = void (*)(const SparseGemmArgs& a);

void f32_sparse_gemm_portable(const SparseGemmArgs& a);
#if defined(__x86_64__) || defined(_M_X64)
void f32_sparse_gemm_avx2(const SparseGemmArgs& a);
void f32_sparse_gemm_avx512(const SparseGemmArgs& a);
#endif
#if defined(__aarch64__)
void f32_sparse_gemm_neon(const SparseGemmArgs& a);
#endif

// out = act(W B + bias) for all rows of W with the kernel fn, on the pool's threads (pool may be
// null); the activation is uk's elementwise one, applied to each finished row.
void sparse_gemm(const UKernels& uk, SparseGemmFn fn, ThreadPool* pool, const SparseGemmArgs& a);

// A weight's sparse form when its zero fraction is at least min_zeros (else empty): what Gemm /
// MatMul / Conv prepare with their constant weights.
struct SparseChoice {
  SparseGemmFn fn = nullptr;
  SparseWeights w;
  double zeros = 0.0;  // the fraction of zeros

  bool ready() const { return fn != nullptr; }
};
SparseChoice prepare_sparse(const UKernels& uk, const float* w, int64_t rs, int64_t cs, int64_t rows, int64_t cols,
                            float scale = 1.0f, double min_zeros = kSparseMinZeroFractionGemm);

// Y (m x n, row-major) = act(X W + bias) for Gemm / MatMul with a constant weight W (k x n),
// whose transpose (n x k) is `w` (prepare_sparse). X is m x k row-major, or k x m row-major
// when trans_x. bias[j] per output column (null when none). Batch 1 runs the sparse matrix
// times the vector in place; more rows go through transposed scratch copies.
struct SparseMatMulArgs {
  const float* x = nullptr;
  bool trans_x = false;
  int64_t m = 0;
  const float* bias = nullptr;
  Activation act;
  float* y = nullptr;
};
Status sparse_matmul(const UKernels& uk, const SparseChoice& w, ThreadPool* pool, const SparseMatMulArgs& a);

// A group-1 conv with geometry g (g.c input channels) whose weights (Cout x c kh kw, prepared
// with kSparseMinZeroFractionWide) are `w`: y = act(conv(x) + bias) for n_img images, each the
// sparse weights times its im2col matrix (written row-major from the phase planes; a pointwise
// conv reads its input in place). sparse_conv_takes: whether the weights are sparse enough for
// the output plane (above) and the scratch stays within `cap` floats.
bool sparse_conv_takes(const UKernels& uk, const SparseChoice& w, const ConvGeom& g, int64_t cap);
Status sparse_conv(const UKernels& uk, const SparseChoice& w, ThreadPool* pool, const ConvGeom& g, const float* x,
                   int64_t n_img, const float* bias, const Activation& act, float* y);

}  // namespace edgeai::kernels::cpu
