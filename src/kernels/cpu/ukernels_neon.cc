// The AArch64 NEON kernel table: 8 x 12 GEMM tiles (24 of the 32 q registers accumulate).
#include "kernels/cpu/simd_neon.h"
#include "kernels/cpu/ukernels_impl.h"

namespace edgeai::kernels::cpu {

const UKernels& ukernels_neon() {
  static const UKernels k = make_ukernels<VecNeon, 8, 3>("neon", &f32_conv_direct_neon, &f32_sparse_gemm_neon);
  return k;
}

}  // namespace edgeai::kernels::cpu
