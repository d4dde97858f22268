// The direct convolution kernel (conv_direct_impl.h) for AVX512.
#include "kernels/cpu/conv_direct_impl.h"
#include "kernels/cpu/simd_avx512.h"

namespace edgeai::kernels::cpu {

void f32_conv_direct_avx512(const ConvDirectArgs& a) { ConvDirectImpl<VecAvx512, 24>::run(a); }

}  // namespace edgeai::kernels::cpu
