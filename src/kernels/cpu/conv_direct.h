// Direct convolution for convs with few input channels (C_in <= kConvDirectMaxChannels, group 1):
// LeNet's 1 -> 6 5x5, the digits CNN's 1 -> 16 3x3, the 3 -> 32 3x3 stride-2 stems of
// mobilenet_v2 / efficientnet_b0; and for small planes (below). With so few input channels
// im2col + GEMM spends its time packing a K = C kh kw <= 100-row matrix and in tile edges;
// here each output vector (columns of
// one output row, or of the flattened phase planes for narrow planes) is accumulated straight
// from the input's phase planes (window_impl.h: padding and strides resolved, every tap a vector
// load at a fixed offset) times broadcast weights, a block of output channels at a time, with
// the bias and activation applied in registers. Portable header: no intrinsics.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "edgeai/status.h"
#include "kernels/cpu/activation.h"
#include "kernels/cpu/ukernels.h"

namespace edgeai::kernels::cpu {

// Taken for any plane with up to kConvDirectMaxChannels input channels, and for small output
// planes (<= kConvDirectSmallPlane positions: the digits CNN's 8x8 and 4x4, LeNet's 10x10) with
// more channels when the weights are few (<= kConvDirectMaxWeights floats) and the kernel is not
// 1x1: there im2col + GEMM spends more time packing and in tile edges than multiplying.
inline constexpr int64_t kConvDirectMaxChannels = 4;
inline constexpr int64_t kConvDirectSmallPlane = 128;
inline constexpr int64_t kConvDirectMaxWeights = 32768;

// One call of an ISA's direct kernel: output rows [r0, r1) of one image, all channels.
struct ConvDirectArgs {
  const float* planes = nullptr;  // phase planes of input channel c at planes + c * plane_stride
  int64_t plane_stride = 0;
  int64_t c = 0, taps = 0;        // input channels, kh * kw
  const int64_t* tap_off = nullptr;
  int64_t wq = 0;                 // phase plane pitch
  int64_t oh = 0, ow = 0;
  bool flat = false;              // rows computed over the flattened planes (narrow rows)
  const float* w = nullptr;       // [c * taps + t][m]
  int64_t m = 0;
  const float* bias = nullptr;    // null when none
  Activation act;
  float* y = nullptr;             // [m][oh][ow]
  int64_t r0 = 0, r1 = 0;
};
using ConvDirectFn = void (*)(const ConvDirectArgs& a);

void f32_conv_direct_portable(const ConvDirectArgs& a);
#if defined(__x86_64__) || defined(_M_X64)
void f32_conv_direct_avx2(const ConvDirectArgs& a);
void f32_conv_direct_avx512(const ConvDirectArgs& a);
#endif
#if defined(__aarch64__)
void f32_conv_direct_neon(const ConvDirectArgs& a);
#endif

// A conv's direct-path state, built at preparation.
struct ConvDirect {
  ConvDirectFn fn = nullptr;  // null: the conv does not take this path
  int64_t m = 0, c = 0, kh = 1, kw = 1;
  std::vector<float> w;       // [c * kh * kw][m]

  bool ready() const { return fn != nullptr; }
};

// The direct path for a conv with weights wd [m][c][kh][kw] (group 1), on the ISA of `uk`; an
// empty state when it takes no plane of it (more channels and weights than above, or 1x1).
ConvDirect prepare_conv_direct(const UKernels& uk, const float* wd, int64_t m, int64_t c, int64_t kh, int64_t kw);

// Whether the direct path takes this run: it is faster than im2col + GEMM with few output
// channels or small planes (the GEMM's wide tiles win on large planes of 32 channels: 4 -> 32
// 3x3 on 56x56 ran 10% slower direct, the 3 -> 32 stride-2 stem on 224x224 within 3%), and its
// scratch (phase planes of every input channel of n_img images) stays under cap floats.
bool conv_direct_takes(const ConvDirect& d, const UKernels& uk, const ConvGeom& g, int64_t n_img, int64_t cap);

// y = act(conv(x) + bias) for n_img images x [n][c][h][w] into y [n][m][oh][ow] (g.c = c).
Status conv_direct(const ConvDirect& d, const UKernels& uk, ThreadPool& pool, const ConvGeom& g, const float* x,
                   int64_t n_img, const float* bias, const Activation& act, float* y);

}  // namespace edgeai::kernels::cpu
