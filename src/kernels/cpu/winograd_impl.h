// Winograd F(2x2, 3x3) input and output transforms, written once over the vector-ops
// abstraction (simd_portable.h); instantiated by each ISA's ukernels_<isa>.cc. Include only from
// those files.
//
// Tiles are numbered flat, f = ty * wq + tx, over the stride-2 phase planes of the padded input
// (window_impl.h), so that the 4x4 input patch of every tile is 16 plain vector loads at fixed
// offsets and L consecutive tiles transform at once; the columns tx >= tiles per row are
// computed and dropped.
#pragma once

#include <cstdint>

#include "kernels/cpu/simd_math.h"
#include "kernels/cpu/ukernels.h"

namespace edgeai::kernels::cpu {

template <class V, int kNR>
struct WinogradImpl {
  using F = typename V::F;
  static constexpr int L = V::kLanes;
  static_assert(kNR % L == 0, "GEMM panels hold whole vectors");

  // V_xi = B^T d B for the tiles [f0, f0 + nb) of every channel, written as the GEMM's packed B
  // operand: xi at v + xi * v_stride, panel q at + q * c * NR, channel ch at + ch * NR.
  static void input(const WinogradIn& a) {
    const int64_t wq = a.wq;
    for (int64_t ch = 0; ch < a.c; ++ch) {
      const float* p00 = a.planes + ch * a.plane_stride;
      const float* p01 = p00 + a.plane_size;
      const float* p10 = p01 + a.plane_size;
      const float* p11 = p10 + a.plane_size;
      for (int64_t f = 0; f < a.nb; f += L) {
        const int64_t b = a.f0 + f;
        F d[4][4];
        d[0][0] = V::load(p00 + b);
        d[0][1] = V::load(p01 + b);
        d[0][2] = V::load(p00 + b + 1);
        d[0][3] = V::load(p01 + b + 1);
        d[1][0] = V::load(p10 + b);
        d[1][1] = V::load(p11 + b);
        d[1][2] = V::load(p10 + b + 1);
        d[1][3] = V::load(p11 + b + 1);
        d[2][0] = V::load(p00 + b + wq);
        d[2][1] = V::load(p01 + b + wq);
        d[2][2] = V::load(p00 + b + wq + 1);
        d[2][3] = V::load(p01 + b + wq + 1);
        d[3][0] = V::load(p10 + b + wq);
        d[3][1] = V::load(p11 + b + wq);
        d[3][2] = V::load(p10 + b + wq + 1);
        d[3][3] = V::load(p11 + b + wq + 1);
        F t[4][4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          t[0][k] = V::sub(d[0][k], d[2][k]);
          t[1][k] = V::add(d[1][k], d[2][k]);
          t[2][k] = V::sub(d[2][k], d[1][k]);
          t[3][k] = V::sub(d[1][k], d[3][k]);
        }
        float* out = a.v + (f / kNR) * a.c * kNR + ch * kNR + f % kNR;
#pragma GCC unroll 4
        for (int i = 0; i < 4; ++i) {
          V::store(out + (i * 4 + 0) * a.v_stride, V::sub(t[i][0], t[i][2]));
          V::store(out + (i * 4 + 1) * a.v_stride, V::add(t[i][1], t[i][2]));
          V::store(out + (i * 4 + 2) * a.v_stride, V::sub(t[i][2], t[i][1]));
          V::store(out + (i * 4 + 3) * a.v_stride, V::sub(t[i][1], t[i][3]));
        }
      }
    }
  }

  // Y = A^T M A (+ bias, activation) for the tiles [f0, f0 + nb) of channels [0, m): the two
  // output rows of tile f at y0 / y1 + ch * y_stride + 2 f (row pitch 2 wq).
  static void output(const WinogradOut& a) {
    for (int64_t ch = 0; ch < a.m; ++ch) {
      const F bv = V::set1(a.bias ? a.bias[ch] : 0.0f);
      const float* mp = a.mbuf + ch * a.ldm;
      float* y0 = a.y0 + ch * a.y_stride + 2 * a.f0;
      float* y1 = a.y1 + ch * a.y_stride + 2 * a.f0;
      for (int64_t f = 0; f < a.nb; f += L) {
        F m[4][4];
#pragma GCC unroll 16
        for (int xi = 0; xi < 16; ++xi) m[xi / 4][xi % 4] = V::load(mp + xi * a.m_stride + f);
        F s0[4], s1[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          s0[j] = V::add(V::add(m[0][j], m[1][j]), m[2][j]);
          s1[j] = V::sub(V::sub(m[1][j], m[2][j]), m[3][j]);
        }
        F y[4] = {V::add(V::add(V::add(s0[0], s0[1]), s0[2]), bv), V::add(V::sub(V::sub(s0[1], s0[2]), s0[3]), bv),
                  V::add(V::add(V::add(s1[0], s1[1]), s1[2]), bv), V::add(V::sub(V::sub(s1[1], s1[2]), s1[3]), bv)};
        Math<V>::template apply<4>(a.act, y);
        F lo, hi;
        V::interleave2(y[0], y[1], &lo, &hi);
        V::store(y0 + 2 * f, lo);
        V::store(y0 + 2 * f + L, hi);
        V::interleave2(y[2], y[3], &lo, &hi);
        V::store(y1 + 2 * f, lo);
        V::store(y1 + 2 * f + L, hi);
      }
    }
  }
};

}  // namespace edgeai::kernels::cpu
