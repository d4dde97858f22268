// The sparse-weight GEMM kernel (sparse_gemm_impl.h) for AVX2.
#include "kernels/cpu/simd_avx2.h"
#include "kernels/cpu/sparse_gemm_impl.h"

namespace edgeai::kernels::cpu {
namespace {
struct GatherAvx2 {
  static __m256 gather(const float* b, const int32_t* idx) {
    return _mm256_i32gather_ps(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx)), 4);
  }
};
}  // namespace

void f32_sparse_gemm_avx2(const SparseGemmArgs& a) { SparseGemmImpl<VecAvx2, GatherAvx2>::run(a); }

}  // namespace edgeai::kernels::cpu
