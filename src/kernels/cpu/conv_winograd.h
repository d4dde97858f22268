// Winograd F(2x2, 3x3) for 3x3, stride-1, undilated, ungrouped f32 convolutions (conv.cc takes
// it where it does fewer multiply-adds than im2col + GEMM): 16 GEMMs of the transformed filters
// (packed once) by the transformed input tiles, between vectorized input and output transforms
// (winograd_impl.h). Output differs from direct convolution by float rounding only (the
// transforms' coefficients are 0, +-1/2 and +-1).
#pragma once

#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/ukernels.h"

namespace edgeai::kernels::cpu {

// U_xi = G g G^T of the weights w [m][c][3][3], xi = 0..15, each packed as a GEMM A operand.
std::vector<AlignedFloats> winograd_filters(const UKernels& uk, const float* w, int64_t m, int64_t c);

// Whether F(2x2, 3x3) pays for this geometry (g a 3x3 stride-1 undilated conv).
bool winograd_pays(const UKernels& uk, const ConvGeom& g);

// One image: x [c][h][w] into y [m][oh][ow].
Status winograd_conv(const UKernels& uk, ThreadPool& pool, const ConvGeom& g, const std::vector<AlignedFloats>& u,
                     int64_t m, const float* x, const float* bias, const Activation& act, float* y);

}  // namespace edgeai::kernels::cpu
