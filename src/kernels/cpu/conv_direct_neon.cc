// The direct convolution kernel (conv_direct_impl.h) for NEON.
#include "kernels/cpu/conv_direct_impl.h"
#include "kernels/cpu/simd_neon.h"

namespace edgeai::kernels::cpu {

void f32_conv_direct_neon(const ConvDirectArgs& a) { ConvDirectImpl<VecNeon, 24>::run(a); }

}  // namespace edgeai::kernels::cpu
