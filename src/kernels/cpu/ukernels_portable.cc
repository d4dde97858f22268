// The portable kernel table (4-float vector extension: SSE2 on x86-64, ASIMD on AArch64) and the
// choice of table for a CPU.
#include "kernels/cpu/simd_portable.h"
#include "kernels/cpu/ukernels_impl.h"

namespace edgeai::kernels::cpu {

const UKernels& ukernels_portable() {
  static const UKernels k = make_ukernels<VecPortable, 4, 2>("portable", &f32_conv_direct_portable, &f32_sparse_gemm_portable);
  return k;
}

const UKernels& ukernels_for(const CpuFeatures& cpu) {
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx2 && cpu.fma) return ukernels_avx512();
  if (cpu.avx2 && cpu.fma && cpu.f16c) return ukernels_avx2();
#endif
#if defined(__aarch64__)
  if (cpu.neon) return ukernels_neon();
#endif
  return ukernels_portable();
}

}  // namespace edgeai::kernels::cpu
