// The sparse-weight GEMM kernel (sparse_gemm_impl.h) for NEON (no gather instruction: lane loads).
#include "kernels/cpu/simd_neon.h"
#include "kernels/cpu/sparse_gemm_impl.h"

namespace edgeai::kernels::cpu {
namespace {
struct GatherNeon {
  static float32x4_t gather(const float* b, const int32_t* idx) {
    const float v[4] = {b[idx[0]], b[idx[1]], b[idx[2]], b[idx[3]]};
    return vld1q_f32(v);
  }
};
}  // namespace

void f32_sparse_gemm_neon(const SparseGemmArgs& a) { SparseGemmImpl<VecNeon, GatherNeon>::run(a); }

}  // namespace edgeai::kernels::cpu
