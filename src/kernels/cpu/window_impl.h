// Depthwise convolution and 2-D pooling over NCHW planes, written once over the vector-ops
// abstraction (simd_portable.h); instantiated by each ISA's ukernels_<isa>.cc. Include only from
// those files.
//
// Both copy each input plane into `sw` zero- (or -inf-) padded "phase planes": phase f holds the
// padded columns f, f + sw, f + 2 sw, ... so that the tap (ky, kx) of every output column is a
// contiguous run of one phase plane and a window step of any stride is a plain vector load.
#pragma once

#include <cstdint>

#include "kernels/cpu/simd_math.h"
#include "kernels/cpu/ukernels.h"

namespace edgeai::kernels::cpu {

template <class V>
struct WindowImpl {
  using F = typename V::F;
  static constexpr int L = V::kLanes;

  struct Planes {
    int64_t hp, wq;  // rows and columns of each phase plane
  };
  static Planes planes(const ConvGeom& g) {
    Planes p;
    p.hp = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1;
    const int64_t ow_round = (g.ow + L - 1) / L * L;
    const int64_t cmax = (ow_round - 1) * g.sw + (g.kw - 1) * g.dw;  // last padded column read
    p.wq = cmax / g.sw + 1;
    return p;
  }
  static int64_t scratch_floats(const ConvGeom& g) {
    const Planes p = planes(g);
    return g.sw * p.hp * p.wq;
  }

  // Fills the phase planes of one input plane x (h x w); `pad` outside.
  static void build(const ConvGeom& g, const Planes& p, const float* x, float pad, float* s) {
    const int64_t sw = g.sw;
    const F pv = V::set1(pad);
    for (int64_t r = 0; r < p.hp; ++r) {
      const int64_t iy = r - g.ph;
      const bool row_in = iy >= 0 && iy < g.h;
      const float* xr = row_in ? x + iy * g.w : nullptr;
      if (sw == 1) {
        float* d = s + r * p.wq;
        if (!row_in) {
          int64_t i = 0;
          for (; i + L <= p.wq; i += L) V::store(d + i, pv);
          for (; i < p.wq; ++i) d[i] = pad;
          continue;
        }
        // columns c: c - pw in [0, w)
        const int64_t lo = g.pw < p.wq ? g.pw : p.wq;
        int64_t hi = g.pw + g.w;
        if (hi > p.wq) hi = p.wq;
        for (int64_t i = 0; i < lo; ++i) d[i] = pad;
        const float* src = xr + (lo - g.pw);
        float* dd = d + lo;
        const int64_t cnt = hi - lo;
        int64_t t = 0;
        for (; t + L <= cnt; t += L) V::store(dd + t, V::load(src + t));
        for (; t < cnt; ++t) dd[t] = src[t];
        for (int64_t i = hi > lo ? hi : lo; i < p.wq; ++i) d[i] = pad;
      } else {
        for (int64_t f = 0; f < sw; ++f) {
          float* d = s + (f * p.hp + r) * p.wq;
          for (int64_t i = 0; i < p.wq; ++i) {
            const int64_t ix = i * sw + f - g.pw;
            d[i] = (row_in && ix >= 0 && ix < g.w) ? xr[ix] : pad;
          }
        }
      }
    }
  }

  // Output plane from built phase planes: depthwise conv with weights w (kh x kw).
  template <int KH, int KW>
  static void dw_plane(const ConvGeom& g, const Planes& p, const float* s, const float* w, float bias,
                       const Activation& act, float* y) {
    const int64_t kh = KH ? KH : g.kh, kw = KW ? KW : g.kw;
    constexpr int kMaxTaps = 25;
    const int64_t taps = kh * kw;
    // Offset of each tap in the phase planes (relative to row oy*sh, column ox).
    int64_t off[kMaxTaps];
    F wv[kMaxTaps];
    for (int64_t ky = 0; ky < kh; ++ky) {
      for (int64_t kx = 0; kx < kw; ++kx) {
        const int64_t c = kx * g.dw;
        off[ky * kw + kx] = ((c % g.sw) * p.hp + ky * g.dh) * p.wq + c / g.sw;
        wv[ky * kw + kx] = V::set1(w[ky * kw + kx]);
      }
    }
    const F bv = V::set1(bias);
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const float* row = s + oy * g.sh * p.wq;
      float* yr = y + oy * g.ow;
      for (int64_t ox = 0; ox < g.ow; ox += L) {
        const float* base = row + ox;
        F acc = bv;
        if constexpr (KH != 0) {
          for (int t = 0; t < KH * KW; ++t) acc = V::fmadd(wv[t], V::load(base + off[t]), acc);
        } else {
          for (int64_t t = 0; t < taps; ++t) acc = V::fmadd(wv[t], V::load(base + off[t]), acc);
        }
        acc = Math<V>::apply1(act, acc);
        if (ox + L <= g.ow) V::store(yr + ox, acc);
        else V::store(yr + ox, acc, V::mask(static_cast<int>(g.ow - ox)));
      }
    }
  }

  // Generic depthwise conv for any kernel (one tap at a time, no tap limit).
  static void dw_plane_any(const ConvGeom& g, const Planes& p, const float* s, const float* w, float bias,
                           const Activation& act, float* y) {
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      float* yr = y + oy * g.ow;
      for (int64_t ox = 0; ox < g.ow; ox += L) {
        F acc = V::set1(bias);
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t c = kx * g.dw;
            const float* src = s + ((c % g.sw) * p.hp + oy * g.sh + ky * g.dh) * p.wq + c / g.sw + ox;
            acc = V::fmadd(V::set1(w[ky * g.kw + kx]), V::load(src), acc);
          }
        }
        acc = Math<V>::apply1(act, acc);
        if (ox + L <= g.ow) V::store(yr + ox, acc);
        else V::store(yr + ox, acc, V::mask(static_cast<int>(g.ow - ox)));
      }
    }
  }

  static void dwconv(const DwConvArgs& a) {
    const ConvGeom& g = *a.g;
    const Planes p = planes(g);
    const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow, taps = g.kh * g.kw;
    for (int64_t c = a.c0; c < a.c1; ++c) {
      build(g, p, a.x + c * in_sp, 0.0f, a.scratch);
      const float* w = a.w + c * taps;
      const float b = a.bias ? a.bias[c] : 0.0f;
      float* y = a.y + c * out_sp;
      if (g.kh == 3 && g.kw == 3) dw_plane<3, 3>(g, p, a.scratch, w, b, a.act, y);
      else if (g.kh == 5 && g.kw == 5) dw_plane<5, 5>(g, p, a.scratch, w, b, a.act, y);
      else if (taps <= 25) dw_plane<0, 0>(g, p, a.scratch, w, b, a.act, y);
      else dw_plane_any(g, p, a.scratch, w, b, a.act, y);
    }
  }

  // Max or average pooling of `nplanes` planes; scratch holds pool_scratch_floats(g).
  static void pool2d(const ConvGeom& g, const float* x, float* y, int64_t nplanes, bool is_max, bool count_pad,
                     float* scratch) {
    const Planes p = planes(g);
    const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow;
    const float pad = is_max ? -__builtin_inff() : 0.0f;
    // Average without counting pads: divisor = valid rows x valid columns, separable.
    float* colcnt = scratch + scratch_floats(g);
    const int64_t ow_round = (g.ow + L - 1) / L * L;
    for (int64_t ox = 0; ox < ow_round; ++ox) {
      int64_t n = 0;
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = ox * g.sw - g.pw + kx * g.dw;
        if (ix >= 0 && ix < g.w) ++n;
      }
      colcnt[ox] = static_cast<float>(n);
    }
    for (int64_t c = 0; c < nplanes; ++c) {
      build(g, p, x + c * in_sp, pad, scratch);
      float* yp = y + c * out_sp;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        int64_t rows = 0;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
          if (iy >= 0 && iy < g.h) ++rows;
        }
        const F rowsv = V::set1(static_cast<float>(rows));
        const F inv_all = V::set1(1.0f / static_cast<float>(g.kh * g.kw));
        float* yr = yp + oy * g.ow;
        for (int64_t ox = 0; ox < g.ow; ox += L) {
          F acc = V::set1(pad);
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t cc = kx * g.dw;
              const float* src = scratch + ((cc % g.sw) * p.hp + oy * g.sh + ky * g.dh) * p.wq + cc / g.sw + ox;
              const F v = V::load(src);
              acc = is_max ? V::max(acc, v) : V::add(acc, v);
            }
          }
          if (!is_max) {
            acc = count_pad ? V::mul(acc, inv_all) : V::div(acc, V::mul(rowsv, V::load(colcnt + ox)));
          }
          if (ox + L <= g.ow) V::store(yr + ox, acc);
          else V::store(yr + ox, acc, V::mask(static_cast<int>(g.ow - ox)));
        }
      }
    }
  }
  static int64_t pool_scratch_floats(const ConvGeom& g) { return scratch_floats(g) + (g.ow + L - 1) / L * L; }
};

}  // namespace edgeai::kernels::cpu
