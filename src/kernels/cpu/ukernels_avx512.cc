// The AVX-512 kernel table: 8 x 48 GEMM tiles (24 of the 32 zmm registers accumulate).
#include "kernels/cpu/simd_avx512.h"
#include "kernels/cpu/ukernels_impl.h"

namespace edgeai::kernels::cpu {

const UKernels& ukernels_avx512() {
  static const UKernels k = make_ukernels<VecAvx512, 8, 3>("avx512", &f32_conv_direct_avx512, &f32_sparse_gemm_avx512);
  return k;
}

}  // namespace edgeai::kernels::cpu
