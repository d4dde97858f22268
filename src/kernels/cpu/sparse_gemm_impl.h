// The sparse-weight GEMM kernel (sparse_gemm.h) as a template over the vector type V (simd_*.h)
// and a gather G (G::gather(base, idx): lane i = base[idx[i]], V::kLanes indices), instantiated
// once per ISA in sparse_gemm_<isa>.cc. Portable header: the intrinsics are in V and G.
#pragma once

#include <cstdint>

#include "kernels/cpu/sparse_gemm.h"

namespace edgeai::kernels::cpu {

template <class V, class G>
struct SparseGemmImpl {
  using F = typename V::F;
  static constexpr int L = V::kLanes;
  static constexpr int kU = 4;  // accumulator vectors per row and column block

  // One row times a vector (N = 1, B's column contiguous): two vector accumulators over the
  // nonzeros, gathered, then a scalar tail.
  static float row_dot(const float* val, const int32_t* col, int64_t nnz, const float* b) {
    F acc0 = V::zero(), acc1 = V::zero();
    int64_t p = 0;
    for (; p + 2 * L <= nnz; p += 2 * L) {
      acc0 = V::fmadd(V::load(val + p), G::gather(b, col + p), acc0);
      acc1 = V::fmadd(V::load(val + p + L), G::gather(b, col + p + L), acc1);
    }
    if (p + L <= nnz) {
      acc0 = V::fmadd(V::load(val + p), G::gather(b, col + p), acc0);
      p += L;
    }
    float s = V::reduce_add(V::add(acc0, acc1));
    for (; p < nnz; ++p) s += val[p] * b[col[p]];
    return s;
  }

  // Columns [j0, j0 + U vectors) of one row; `m` masks the last vector when tail.
  template <int U, bool kTail>
  static void row_block(const float* val, const int32_t* col, int64_t nnz, const float* b, int64_t ldb,
                        float bias, float* out, typename V::Mask m) {
    F acc[U];
    for (int u = 0; u < U; ++u) acc[u] = V::set1(bias);
    for (int64_t p = 0; p < nnz; ++p) {
      const F w = V::set1(val[p]);
      const float* br = b + int64_t(col[p]) * ldb;
      for (int u = 0; u < U; ++u) {
        const F x = kTail && u == U - 1 ? V::load(br + u * L, m) : V::load(br + u * L);
        acc[u] = V::fmadd(w, x, acc[u]);
      }
    }
    for (int u = 0; u < U; ++u) {
      if (kTail && u == U - 1) V::store(out + u * L, acc[u], m);
      else V::store(out + u * L, acc[u]);
    }
  }

  static void run(const SparseGemmArgs& a) {
    const SparseWeights& w = *a.w;
    for (int64_t r = a.r0; r < a.r1; ++r) {
      const int64_t p0 = w.row_ptr[r], nnz = w.row_ptr[r + 1] - p0;
      const float* val = w.val.data() + p0;
      const int32_t* col = w.col.data() + p0;
      const float bias = a.bias ? a.bias[r] : 0.0f;
      float* out = a.out + r * a.ldo;
      if (a.n == 1) {
        if (a.ldb == 1) {
          out[0] = row_dot(val, col, nnz, a.b) + bias;
        } else {
          float s = 0.0f;
          for (int64_t p = 0; p < nnz; ++p) s += val[p] * a.b[int64_t(col[p]) * a.ldb];
          out[0] = s + bias;
        }
        continue;
      }
      int64_t j = 0;
      const typename V::Mask full = V::mask(L);
      for (; j + kU * L <= a.n; j += kU * L) row_block<kU, false>(val, col, nnz, a.b + j, a.ldb, bias, out + j, full);
      // The last 1-4 vectors in one pass over the nonzeros.
      const int64_t rest = a.n - j;
      if (rest == 0) continue;
      const int nv = static_cast<int>((rest + L - 1) / L);
      const bool tail = rest % L != 0;
      const typename V::Mask m = tail ? V::mask(static_cast<int>(rest % L)) : full;
      const float* b = a.b + j;
      switch (nv * 2 + tail) {
        case 2: row_block<1, false>(val, col, nnz, b, a.ldb, bias, out + j, m); break;
        case 3: row_block<1, true>(val, col, nnz, b, a.ldb, bias, out + j, m); break;
        case 4: row_block<2, false>(val, col, nnz, b, a.ldb, bias, out + j, m); break;
        case 5: row_block<2, true>(val, col, nnz, b, a.ldb, bias, out + j, m); break;
        case 6: row_block<3, false>(val, col, nnz, b, a.ldb, bias, out + j, m); break;
        case 7: row_block<3, true>(val, col, nnz, b, a.ldb, bias, out + j, m); break;
        default: row_block<4, true>(val, col, nnz, b, a.ldb, bias, out + j, m); break;
      }
    }
  }
};

}  // namespace edgeai::kernels::cpu
