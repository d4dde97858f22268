// The direct convolution kernel (conv_direct_impl.h) for AVX2.
#include "kernels/cpu/conv_direct_impl.h"
#include "kernels/cpu/simd_avx2.h"

namespace edgeai::kernels::cpu {

void f32_conv_direct_avx2(const ConvDirectArgs& a) { ConvDirectImpl<VecAvx2, 12>::run(a); }

}  // namespace edgeai::kernels::cpu
