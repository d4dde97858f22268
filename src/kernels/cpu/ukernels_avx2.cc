// The AVX2 + FMA kernel table: 4 x 24 GEMM tiles (12 of the 16 ymm registers accumulate).
#include "kernels/cpu/simd_avx2.h"
#include "kernels/cpu/ukernels_impl.h"

namespace edgeai::kernels::cpu {

const UKernels& ukernels_avx2() {
  static const UKernels k = make_ukernels<VecAvx2, 4, 3>("avx2", &f32_conv_direct_avx2, &f32_sparse_gemm_avx2);
  return k;
}

}  // namespace edgeai::kernels::cpu
