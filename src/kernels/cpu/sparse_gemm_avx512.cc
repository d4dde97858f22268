// The sparse-weight GEMM kernel (sparse_gemm_impl.h) for AVX-512.
#include "kernels/cpu/simd_avx512.h"
#include "kernels/cpu/sparse_gemm_impl.h"

namespace edgeai::kernels::cpu {
namespace {
struct GatherAvx512 {
  static __m512 gather(const float* b, const int32_t* idx) {
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), 0xFFFF, _mm512_loadu_si512(idx), b, 4);
  }
};
}  // namespace

void f32_sparse_gemm_avx512(const SparseGemmArgs& a) { SparseGemmImpl<VecAvx512, GatherAvx512>::run(a); }

}  // namespace edgeai::kernels::cpu
