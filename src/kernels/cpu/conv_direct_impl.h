// The direct convolution kernel (conv_direct.h), written once over the vector-ops abstraction
// (simd_portable.h); instantiated by conv_direct_<isa>.cc. Include only from those files.
//
// A block is MB output channels x NV vectors of output positions: MB * NV accumulators, each
// step (input channel c, tap t) loads NV input vectors from the phase planes at the tap's offset
// and adds them times MB broadcast weights. Channels go in blocks of kMaxMB, then 4, 2, 1 for the
// rest; positions in blocks of NV vectors, then one vector at a time. Every output lane sees the
// same sequence of operations however the rows are split, so results do not depend on threads.
#pragma once

#include <cstdint>

#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/simd_math.h"
#include "kernels/cpu/window_impl.h"

namespace edgeai::kernels::cpu {

// kRegs: vector registers the accumulators may take (24 of 32, 12 of 16).
template <class V, int kRegs>
struct ConvDirectImpl {
  using F = typename V::F;
  using M = Math<V>;
  static constexpr int L = V::kLanes;
  static constexpr int kMaxMB = kRegs >= 24 ? 8 : 4;
  static constexpr int nv_for(int mb) { return kRegs / mb > 6 ? 6 : kRegs / mb; }

  // acc[i * NV + j] = act(bias[m0 + i] + sum over (c, t) of w * planes at position f + j L).
  template <int MB, int NV>
  __attribute__((always_inline)) static void compute(const ConvDirectArgs& a, int64_t m0, int64_t f,
                                                     F (&acc)[MB * NV]) {
    for (int i = 0; i < MB; ++i) {
      const F b = a.bias ? V::set1(a.bias[m0 + i]) : V::zero();
      for (int j = 0; j < NV; ++j) acc[i * NV + j] = b;
    }
    const float* w = a.w + m0;
    for (int64_t c = 0; c < a.c; ++c) {
      const float* base = a.planes + c * a.plane_stride + f;
      for (int64_t t = 0; t < a.taps; ++t, w += a.m) {
        const float* p = base + a.tap_off[t];
        F x[NV];
        for (int j = 0; j < NV; ++j) x[j] = V::load(p + j * L);
        for (int i = 0; i < MB; ++i) {
          const F wv = V::set1(w[i]);
          for (int j = 0; j < NV; ++j) acc[i * NV + j] = V::fmadd(wv, x[j], acc[i * NV + j]);
        }
      }
    }
    M::template apply<MB * NV>(a.act, acc);
  }

  // Row mode: output row oy of channels [m0, m0 + MB) in vectors of its own columns (the last
  // one masked).
  template <int MB>
  static void row(const ConvDirectArgs& a, int64_t m0, int64_t oy) {
    constexpr int NV = nv_for(MB);
    const int64_t plane = a.oh * a.ow;
    {
      float* y = a.y + m0 * plane + oy * a.ow;
      int64_t ox = 0;
      for (; ox + NV * L <= a.ow; ox += NV * L) {
        F acc[MB * NV];
        compute<MB, NV>(a, m0, oy * a.wq + ox, acc);
        for (int i = 0; i < MB; ++i) {
          for (int j = 0; j < NV; ++j) V::store(y + i * plane + ox + j * L, acc[i * NV + j]);
        }
      }
      for (; ox < a.ow; ox += L) {
        F acc[MB];
        compute<MB, 1>(a, m0, oy * a.wq + ox, acc);
        if (ox + L <= a.ow) {
          for (int i = 0; i < MB; ++i) V::store(y + i * plane + ox, acc[i]);
        } else {
          const typename V::Mask mk = V::mask(static_cast<int>(a.ow - ox));
          for (int i = 0; i < MB; ++i) V::store(y + i * plane + ox, acc[i], mk);
        }
      }
    }
  }

  // Flat mode: positions [r0 wq, (r1 - 1) wq + ow) of the flattened planes in blocks, each block
  // through a small buffer into the output rows it covers (the pitch's columns past ow dropped).
  template <int MB, int NV>
  static void flat_block(const ConvDirectArgs& a, int64_t m0, int64_t f, int64_t f_end) {
    F acc[MB * NV];
    compute<MB, NV>(a, m0, f, acc);
    alignas(64) float buf[MB * NV * L];
    for (int k = 0; k < MB * NV; ++k) V::store(buf + k * L, acc[k]);
    const int64_t plane = a.oh * a.ow, n = f_end - f < NV * L ? f_end - f : NV * L;
    for (int64_t q = 0; q < n;) {
      const int64_t oy = (f + q) / a.wq, ox = (f + q) % a.wq;
      int64_t run = a.wq - ox;  // positions left in this pitch row
      if (run > n - q) run = n - q;
      if (ox < a.ow) {
        const int64_t cnt = run < a.ow - ox ? run : a.ow - ox;
        // In vectors (a call to memmove costs more at these lengths).
        float* dst = a.y + m0 * plane + oy * a.ow + ox;
        for (int i = 0; i < MB; ++i) WindowImpl<V>::copy(buf + i * NV * L + q, dst + i * plane, cnt);
      }
      q += run;
    }
  }
  // The last block takes the r <= NV vectors left in one pass (not one vector at a time: a pass
  // of one vector loads as much as it multiplies).
  template <int MB, int R>
  static void flat_rest(const ConvDirectArgs& a, int64_t m0, int64_t f, int64_t f_end, int r) {
    if constexpr (R > 0) {
      if (r == R) flat_block<MB, R>(a, m0, f, f_end);
      else flat_rest<MB, R - 1>(a, m0, f, f_end, r);
    }
  }
  template <int MB>
  static void flat(const ConvDirectArgs& a, int64_t m0) {
    constexpr int NV = nv_for(MB);
    const int64_t f_end = (a.r1 - 1) * a.wq + a.ow;
    int64_t f = a.r0 * a.wq;
    for (; f + NV * L <= f_end; f += NV * L) flat_block<MB, NV>(a, m0, f, f_end);
    if (f < f_end) flat_rest<MB, NV>(a, m0, f, f_end, static_cast<int>((f_end - f + L - 1) / L));
  }

  // Channels in blocks of kMaxMB, then 4, 2, 1: fn.template operator()<MB>(m0).
  template <class Fn>
  static void channel_blocks(int64_t m, Fn&& fn) {
    int64_t m0 = 0;
    for (; m0 + kMaxMB <= m; m0 += kMaxMB) fn.template operator()<kMaxMB>(m0);
    if (kMaxMB > 4 && m0 + 4 <= m) {
      fn.template operator()<4>(m0);
      m0 += 4;
    }
    if (m0 + 2 <= m) {
      fn.template operator()<2>(m0);
      m0 += 2;
    }
    if (m0 < m) fn.template operator()<1>(m0);
  }

  static void run(const ConvDirectArgs& a) {
    if (a.r0 >= a.r1) return;
    if (a.flat) {
      channel_blocks(a.m, [&]<int MB>(int64_t m0) { flat<MB>(a, m0); });
      return;
    }
    // Row by row, all channels: the row's input stays in L1 across the channel blocks.
    for (int64_t oy = a.r0; oy < a.r1; ++oy) {
      channel_blocks(a.m, [&]<int MB>(int64_t m0) { row<MB>(a, m0, oy); });
    }
  }
};

}  // namespace edgeai::kernels::cpu
