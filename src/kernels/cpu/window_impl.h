// Depthwise convolution and 2-D pooling over NCHW planes, written once over the vector-ops
// abstraction (simd_portable.h); instantiated by each ISA's ukernels_<isa>.cc. Include only from
// those files.
//
// Each input plane is first copied into sh x sw zero- (or -inf-) padded "phase planes": phase
// (fy, fx) holds padded rows fy, fy + sh, ... and columns fx, fx + sw, ... (a stride-2 plane is
// deinterleaved with vector permutes). Then every tap (ky, kx) of output (oy, ox) reads phase
// plane ((ky dh) % sh, (kx dw) % sw) at row oy + (ky dh) / sh, column ox + (kx dw) / sw: any
// stride and dilation become plain vector loads at a fixed offset per tap. Output rows of at
// least 4 vectors are computed row by row, straight into the output; narrower planes (7x7,
// 14x14) are computed over the flattened phase planes (row pitch wq, the few columns past ow
// discarded) so that the vectors stay full. Four independent accumulators hide FMA latency.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/simd_math.h"
#include "kernels/cpu/ukernels.h"

namespace edgeai::kernels::cpu {

template <class V>
struct WindowImpl {
  using F = typename V::F;
  static constexpr int L = V::kLanes;
  static constexpr int U = 4;            // independent accumulators
  static constexpr int kMaxTaps = 25;    // taps held in registers / offset tables

  static constexpr int kMaxStride = static_cast<int>(kMaxWindowStride);  // callers check

  struct Planes {
    int64_t hq = 0, wq = 0;  // rows and columns of each phase plane
    int64_t size = 0;        // floats per phase plane, slack included
    int64_t count = 1;       // sh * sw
    bool flat = false;
    // Columns [col_lo, col_hi) of column phase fx that lie inside the input.
    int64_t col_lo[kMaxStride], col_hi[kMaxStride];
  };
  static Planes planes(const ConvGeom& g) {
    Planes p;
    const int64_t hp = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1;
    const int64_t wp = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
    p.hq = (hp + g.sh - 1) / g.sh;
    p.wq = (wp + g.sw - 1) / g.sw;
    p.flat = g.ow < U * L;
    // Row mode: rows and planes start on whole vectors (aligned loads; see dw_run_shift).
    if (!p.flat) p.wq = (p.wq + L - 1) / L * L;
    // Reads run up to a group of U vectors past the last output (and a row of taps below it).
    p.size = (p.hq * p.wq + U * L + p.wq + L - 1) / L * L;
    p.count = g.sh * g.sw;
    for (int64_t fx = 0; fx < g.sw && fx < kMaxStride; ++fx) valid_cols(g, p, fx, &p.col_lo[fx], &p.col_hi[fx]);
    return p;
  }
  // Flat mode's output buffer (oh rows of pitch wq).
  static int64_t flat_out_floats(const ConvGeom& g, const Planes& p) { return p.flat ? g.oh * p.wq + U * L : 0; }
  static int64_t scratch_floats(const ConvGeom& g) {
    const Planes p = planes(g);
    return p.count * p.size + flat_out_floats(g, p);
  }

  static void fill(float* d, int64_t n, float v) {
    for (int64_t i = 0; i < n; ++i) d[i] = v;
  }

  // Columns j of a phase plane with padded column j * sw + fx inside the input: [*lo, *hi).
  static void valid_cols(const ConvGeom& g, const Planes& p, int64_t fx, int64_t* lo, int64_t* hi) {
    const int64_t a = g.pw - fx;  // j * sw >= a
    int64_t l = a > 0 ? (a + g.sw - 1) / g.sw : 0;
    const int64_t b = g.w - 1 + g.pw - fx;  // j * sw <= b
    int64_t h = b < 0 ? 0 : b / g.sw + 1;
    if (h > p.wq) h = p.wq;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
  }

  // Fills all phase planes with `pad`: once per call, as the padding is the same for every
  // plane and build() writes only the input's own positions.
  static void fill_pad(const Planes& p, float pad, float* s) {
    const int64_t n = p.count * p.size;
    const F pv = V::set1(pad);
    int64_t i = 0;
    for (; i + L <= n; i += L) V::store(s + i, pv);
    fill(s + i, n - i, pad);
  }

  // Rows [*i0, *i1) of row phase fy that lie inside the input: 0 <= i * sh + fy - ph < h.
  static void valid_rows(const ConvGeom& g, const Planes& p, int64_t fy, int64_t* i0, int64_t* i1) {
    const int64_t a = g.ph - fy;
    *i0 = a > 0 ? (a + g.sh - 1) / g.sh : 0;
    const int64_t b = g.h - 1 + g.ph - fy;
    *i1 = b < 0 ? 0 : b / g.sh + 1;
    if (*i1 > p.hq) *i1 = p.hq;
  }

  // Row i of every column phase of row phase fy from input row xr (inside the input).
  static void build_row(const ConvGeom& g, const Planes& p, const float* xr, int64_t fy, int64_t i, float* s) {
    if (g.sw == 2) {
      build_row2(g, p, xr, s + (fy * 2) * p.size + i * p.wq, s + (fy * 2 + 1) * p.size + i * p.wq);
      return;
    }
    for (int64_t fx = 0; fx < g.sw; ++fx) {
      const int64_t lo = p.col_lo[fx], cnt = p.col_hi[fx] - lo;
      float* d = s + (fy * g.sw + fx) * p.size + i * p.wq + lo;
      const float* src = xr + (lo * g.sw + fx - g.pw);
      if (g.sw == 1) {
        int64_t t = 0;
        for (; t + L <= cnt; t += L) V::store(d + t, V::load(src + t));
        if (t < cnt) {
          const typename V::Mask m = V::mask(static_cast<int>(cnt - t));
          V::store(d + t, V::load(src + t, m), m);
        }
      } else {
        for (int64_t t = 0; t < cnt; ++t) d[t] = src[t * g.sw];
      }
    }
  }

  // Copies one input plane x (h x w) into the phase planes (padding as fill_pad left it).
  static void build(const ConvGeom& g, const Planes& p, const float* x, float* s) {
    for (int64_t fy = 0; fy < g.sh; ++fy) {
      int64_t i0, i1;
      valid_rows(g, p, fy, &i0, &i1);
      for (int64_t i = i0; i < i1; ++i) build_row(g, p, x + (i * g.sh + fy - g.ph) * g.w, fy, i, s);
    }
  }

  // n pad values from d, in vectors (the last masked).
  static void fill_run(float* d, int64_t n, F pv) {
    int64_t i = 0;
    for (; i + L <= n; i += L) V::store(d + i, pv);
    if (i < n) V::store(d + i, pv, V::mask(static_cast<int>(n - i)));
  }

  // Rows [r0, r1) (of hq) of every phase plane of one input plane x, padding included, and the
  // slack after the last row when r1 == hq: each float written once (fill_pad then build writes
  // the planes twice: the stem's 3 x 224 x 224 input, 7% of its conv). Rows of different ranges
  // are independent, so threads can take ranges of one plane.
  static void build_rows(const ConvGeom& g, const Planes& p, const float* x, float* s, int64_t r0, int64_t r1,
                         float pad) {
    const F pv = V::set1(pad);
    for (int64_t fy = 0; fy < g.sh; ++fy) {
      int64_t i0, i1;
      valid_rows(g, p, fy, &i0, &i1);
      for (int64_t i = r0; i < r1; ++i) {
        const bool inside = i >= i0 && i < i1;
        for (int64_t fx = 0; fx < g.sw; ++fx) {
          float* row = s + (fy * g.sw + fx) * p.size + i * p.wq;
          const int64_t lo = inside ? p.col_lo[fx] : p.wq, hi = inside ? p.col_hi[fx] : p.wq;
          fill_run(row, lo, pv);
          fill_run(row + hi, p.wq - hi, pv);
        }
        if (inside) build_row(g, p, x + (i * g.sh + fy - g.ph) * g.w, fy, i, s);
      }
    }
    if (r1 >= p.hq) {
      for (int64_t ph = 0; ph < p.count; ++ph) fill_run(s + ph * p.size + p.hq * p.wq, p.size - p.hq * p.wq, pv);
    }
  }

  // One input row into the two column phases of stride 2 by vector deinterleaving, the last
  // vector masked.
  static void build_row2(const ConvGeom& g, const Planes& p, const float* xr, float* e, float* o) {
    const int64_t lo0 = p.col_lo[0], hi0 = p.col_hi[0], lo1 = p.col_lo[1], hi1 = p.col_hi[1];
    int64_t lo = lo0 > lo1 ? lo0 : lo1;
    const int64_t hi = hi0 > hi1 ? hi0 : hi1;
    for (int64_t j = lo0; j < lo && j < hi0; ++j) e[j] = xr[2 * j - g.pw];
    for (int64_t j = lo1; j < lo && j < hi1; ++j) o[j] = xr[2 * j + 1 - g.pw];
    for (int64_t j = lo; j < hi; j += L) {
      const float* src = xr + (2 * j - g.pw);
      const int64_t avail = g.w - (2 * j - g.pw);  // floats left in the row from src
      F a, b, ev, od;
      if (avail >= 2 * L) {
        a = V::load(src);
        b = V::load(src + L);
      } else {
        a = V::load(src, V::mask(static_cast<int>(avail < L ? avail : L)));
        b = V::load(src + L, V::mask(static_cast<int>(avail > L ? avail - L : 0)));
      }
      V::deinterleave2(a, b, &ev, &od);
      const int64_t ne = hi0 - j, no = hi1 - j;
      if (ne >= L) V::store(e + j, ev);
      else if (ne > 0) V::store(e + j, ev, V::mask(static_cast<int>(ne)));
      if (no >= L) V::store(o + j, od);
      else if (no > 0) V::store(o + j, od, V::mask(static_cast<int>(no)));
    }
  }

  // The phase planes of `n` planes, plane c at out + c * stride (stride >= count * size).
  static void phase_planes(const ConvGeom& g, const float* x, int64_t n, float* out, int64_t stride) {
    const Planes p = planes(g);
    for (int64_t c = 0; c < n; ++c) build_rows(g, p, x + c * g.h * g.w, out + c * stride, 0, p.hq, 0.0f);
  }
  static void phase_plane_rows(const ConvGeom& g, const float* x, float* out, int64_t r0, int64_t r1) {
    build_rows(g, planes(g), x, out, r0, r1, 0.0f);
  }
  static void phase_geometry(const ConvGeom& g, int64_t* wq, int64_t* hq, int64_t* size) {
    const Planes p = planes(g);
    *wq = p.wq;
    *hq = p.hq;
    *size = p.size;
  }

  static void phase_tap_offsets(const ConvGeom& g, int64_t* off) {
    const Planes p = planes(g);
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      for (int64_t kx = 0; kx < g.kw; ++kx) off[ky * g.kw + kx] = tap_offset(g, p, ky, kx);
    }
  }

  // Offset of tap (ky, kx) in the phase planes.
  static int64_t tap_offset(const ConvGeom& g, const Planes& p, int64_t ky, int64_t kx) {
    const int64_t r = ky * g.dh, c = kx * g.dw;
    return ((r % g.sh) * g.sw + (c % g.sw)) * p.size + (r / g.sh) * p.wq + c / g.sw;
  }

  // The NU accumulators of the group at q into dst[q, min(q + NU L, n)), clamped to [lo, hi]
  // when kAct is 1.
  template <int NU, int kAct>
  __attribute__((always_inline)) static void store_group(F* acc, float* dst, int64_t q, int64_t n, F lo, F hi) {
    if (q + NU * L <= n) {
#pragma GCC unroll 4
      for (int u = 0; u < NU; ++u) {
        if constexpr (kAct == 1) acc[u] = V::min(hi, V::max(lo, acc[u]));
        V::store(dst + q + u * L, acc[u]);
      }
    } else {
      for (int u = 0; u < NU && q + u * L < n; ++u) {
        if constexpr (kAct == 1) acc[u] = V::min(hi, V::max(lo, acc[u]));
        const int64_t r = n - (q + u * L);
        if (r >= L) V::store(dst + q + u * L, acc[u]);
        else V::store(dst + q + u * L, acc[u], V::mask(static_cast<int>(r)));
      }
    }
  }

  // dst[0, n) where output q reads src[q + off[t]] for tap t. Weights, offsets and bounds are
  // copied into locals first: a vector store may alias any object in memory, so values read
  // through pointers would be reloaded after every store.
  template <int KH, int KW, int kAct>
  static void dw_run(const float* src, float* dst, int64_t n, const float* w, const int64_t* off_in, int taps_rt,
                     float bias, float lo_f, float hi_f) {
    constexpr int kTaps = KH * KW;
    const int taps = kTaps ? kTaps : taps_rt;
    F wv[kTaps ? kTaps : kMaxTaps];
    int64_t off[kTaps ? kTaps : kMaxTaps];
#pragma GCC unroll 25
    for (int t = 0; t < (kTaps ? kTaps : taps); ++t) {
      wv[t] = V::set1(w[t]);
      off[t] = off_in[t];
    }
    const F bv = V::set1(bias), lo = V::set1(lo_f), hi = V::set1(hi_f);
    // Groups of U vectors; the last group's loads run into the planes' slack and only its
    // vectors inside [0, n) are stored.
    for (int64_t q = 0; q < n; q += U * L) {
      F acc[U];
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) acc[u] = bv;
      const float* b = src + q;
      if constexpr (kTaps != 0) {
#pragma GCC unroll 25
        for (int t = 0; t < kTaps; ++t) {
#pragma GCC unroll 4
          for (int u = 0; u < U; ++u) acc[u] = V::fmadd(wv[t], V::load(b + off[t] + u * L), acc[u]);
        }
      } else {
        for (int t = 0; t < taps; ++t) {
#pragma GCC unroll 4
          for (int u = 0; u < U; ++u) acc[u] = V::fmadd(wv[t], V::load(b + off[t] + u * L), acc[u]);
        }
      }
      store_group<U, kAct>(acc, dst, q, n, lo, hi);
    }
  }

  // Row mode with stride SW (1 or 2), dilation 1 and vector-aligned rows: the taps of one
  // kernel row and column phase read the same aligned vectors shifted by 0, 1, 2, ... lanes, so
  // each group loads U + 1 (or a few more) aligned vectors and shifts them in registers
  // (unaligned loads split cache lines). off[t]: the offset of tap t, as dw_run.
  template <int KH, int KW, int SW, int kAct>
  static void dw_run_shift(const float* src, float* dst, int64_t n, const float* w, const int64_t* off, float bias,
                           float lo_f, float hi_f) {
    F wv[KH * KW];
    int64_t base[KH * SW];  // aligned offset of group (ky, fx): tap (ky, fx) minus its shift
#pragma GCC unroll 25
    for (int t = 0; t < KH * KW; ++t) wv[t] = V::set1(w[t]);
#pragma GCC unroll 10
    for (int ky = 0; ky < KH; ++ky) {
#pragma GCC unroll 2
      for (int fx = 0; fx < SW && fx < KW; ++fx) base[ky * SW + fx] = off[ky * KW + fx];
    }
    const F bv = V::set1(bias), lo = V::set1(lo_f), hi = V::set1(hi_f);
    for (int64_t q = 0; q < n; q += U * L) {
      F acc[U];
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) acc[u] = bv;
#pragma GCC unroll 5
      for (int ky = 0; ky < KH; ++ky) {
#pragma GCC unroll 2
        for (int fx = 0; fx < SW && fx < KW; ++fx) {
          const float* b = src + q + base[ky * SW + fx];
          constexpr int NA = U + 1 + ((KW - 1) / SW) / L;  // shifts may pass whole vectors
          F a[NA];
#pragma GCC unroll 8
          for (int u = 0; u < NA; ++u) a[u] = V::load(b + u * L);
          shift_taps<KW, SW, 0>(ky, fx, wv, a, acc);
        }
      }
      store_group<U, kAct>(acc, dst, q, n, lo, hi);
    }
  }
  // Taps kx = fx + SW * C of kernel row ky (shift C), for C from C0 while kx < KW, over NU
  // accumulators.
  template <int KW, int SW, int C, int NU = U>
  static void shift_taps(int ky, int fx, const F* wv, const F* a, F* acc) {
    if (fx + SW * C >= KW) return;
    const F wt = wv[ky * KW + fx + SW * C];
    constexpr int kq = C / L, kr = C % L;
#pragma GCC unroll 4
    for (int u = 0; u < NU; ++u) acc[u] = V::fmadd(wt, V::template shift<kr>(a[u + kq], a[u + kq + 1]), acc[u]);
    if constexpr (C + 1 < KW) shift_taps<KW, SW, C + 1, NU>(ky, fx, wv, a, acc);
  }

  // Column stride 2 (dilation 1, 3x3 or 5x5) straight from the input rows, without phase
  // planes: each group of NU output vectors loads 2 (NU + 1) input vectors per kernel row from
  // the window's left edge and deinterleaves them in registers into e[j] = x[2 j - pw] and
  // o[j] = x[2 j + 1 - pw]; tap kx then reads e or o (kx even or odd) shifted by kx / 2 lanes
  // (shift_taps). Columns outside the row load as zeros (load_window, at the row's two ends
  // only); kernel rows above or below the input are skipped (their taps would add zeros). Any
  // row stride, dilation and padding. Copying the plane into phase planes first was most of a
  // stride-2 plane's time (the input is 4x the output).
  static bool direct_s2(const ConvGeom& g) {
    return V::kFastShift && g.sw == 2 && g.dw == 1 && ((g.kh == 3 && g.kw == 3) || (g.kh == 5 && g.kw == 5));
  }

  // e[u] and o[u] (u < NA): the even and the odd columns of row xr from column c0 + 2 L u, zero
  // outside [0, wd).
  template <int NA>
  __attribute__((always_inline)) static void load_s2(const float* xr, int64_t c0, int64_t wd, F* e, F* o) {
#pragma GCC unroll 8
    for (int u = 0; u < NA; ++u) {
      const int64_t col = c0 + 2 * L * u;
      F a, b;
      if (col >= 0 && col + 2 * L <= wd) {
        a = V::load(xr + col);
        b = V::load(xr + col + L);
      } else {
        a = V::load_window(xr, col, wd);
        b = V::load_window(xr, col + L, wd);
      }
      V::deinterleave2(a, b, &e[u], &o[u]);
    }
  }

  // The loop of the column-stride-2 kernels (dw_plane_s2, max_plane_s2): for each group of NU
  // output vectors of each output row, the accumulators start at `init`, take tap(ky, e, o, acc)
  // for each window row ky inside the input (e, o: load_s2 of that row from the window's left
  // edge), and go to store(acc, output row, q).
  template <int KH, int NU, int NA, class Tap, class Store>
  __attribute__((always_inline)) static void s2_rows(const ConvGeom& g, const float* x, F init, Tap tap,
                                                     Store store) {
    const int64_t h = g.h, wd = g.w, ow = g.ow;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const int64_t iy0 = oy * g.sh - g.ph;
      for (int64_t q = 0; q < ow; q += NU * L) {
        F acc[NU];
#pragma GCC unroll 4
        for (int u = 0; u < NU; ++u) acc[u] = init;
        const int64_t c0 = 2 * q - g.pw;
#pragma GCC unroll 5
        for (int ky = 0; ky < KH; ++ky) {
          const int64_t iy = iy0 + ky * g.dh;
          if (iy < 0 || iy >= h) continue;
          F e[NA], o[NA];
          load_s2<NA>(x + iy * wd, c0, wd, e, o);
          tap(ky, e, o, acc);
        }
        store(acc, oy, q);
      }
    }
  }

  template <int KH, int KW, int NU, int kAct>
  static void dw_plane_s2(const ConvGeom& g, const float* x, const float* w, float bias, float lo_f, float hi_f,
                          float* y) {
    F wv[KH * KW];
#pragma GCC unroll 25
    for (int t = 0; t < KH * KW; ++t) wv[t] = V::set1(w[t]);
    const F lo = V::set1(lo_f), hi = V::set1(hi_f);
    constexpr int NA = NU + 1 + ((KW - 1) / 2) / L;  // shifts may pass whole vectors
    s2_rows<KH, NU, NA>(
        g, x, V::set1(bias),
        [&](int ky, const F* e, const F* o, F* acc) __attribute__((always_inline)) {
          shift_taps<KW, 2, 0, NU>(ky, 0, wv, e, acc);
          shift_taps<KW, 2, 0, NU>(ky, 1, wv, o, acc);
        },
        [&](F* acc, int64_t oy, int64_t q) __attribute__((always_inline)) {
          store_group<NU, kAct>(acc, y + oy * g.ow, q, g.ow, lo, hi);
        });
  }

  template <int KH, int KW, int NU>
  static void dw_plane_s2_act(const ConvGeom& g, const float* x, const float* w, float bias, const Activation& act,
                              float* y) {
    if (act.kind == ActKind::kNone) {
      dw_plane_s2<KH, KW, NU, 0>(g, x, w, bias, 0.0f, 0.0f, y);
    } else if (act.kind == ActKind::kRelu) {
      dw_plane_s2<KH, KW, NU, 1>(g, x, w, bias, 0.0f, __builtin_inff(), y);
    } else if (act.kind == ActKind::kClip) {
      dw_plane_s2<KH, KW, NU, 1>(g, x, w, bias, act.alpha, act.beta, y);
    } else {
      dw_plane_s2<KH, KW, NU, 0>(g, x, w, bias, 0.0f, 0.0f, y);
      activate(y, g.oh * g.ow, act);
    }
  }

  // Groups of 4 output vectors, or 2 when a row holds no more (28-wide rows).
  static void dw_direct_s2(const DwConvArgs& a) {
    const ConvGeom& g = *a.g;
    if constexpr (V::kFastShift) {
      const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow, taps = g.kh * g.kw;
      const bool narrow = g.ow <= 2 * L;
      for (int64_t c = a.c0; c < a.c1; ++c) {
        const float* x = a.x + c * in_sp;
        const float* w = a.w + c * taps;
        const float b = a.bias ? a.bias[c] : 0.0f;
        float* y = a.y + c * out_sp;
        if (g.kh == 3) {
          if (narrow) dw_plane_s2_act<3, 3, 2>(g, x, w, b, a.act, y);
          else dw_plane_s2_act<3, 3, 4>(g, x, w, b, a.act, y);
        } else {
          if (narrow) dw_plane_s2_act<5, 5, 2>(g, x, w, b, a.act, y);
          else dw_plane_s2_act<5, 5, 4>(g, x, w, b, a.act, y);
        }
      }
    }
  }

  // kAct: 0 none, 1 clamp to [alpha, beta] in registers, 2 a separate pass over the plane.
  template <int KH, int KW, int kAct>
  static void dw_plane(const ConvGeom& g, const Planes& p, const int64_t* off, const float* s, const float* w,
                       float bias, const Activation& act, float* y, float* flat_out) {
    const int taps = static_cast<int>(g.kh * g.kw);
    const float lo = kAct == 1 ? act.alpha : 0.0f, hi = kAct == 1 ? act.beta : 0.0f;
    if (!p.flat) {
      if constexpr (V::kFastShift && KH != 0) {
        if (g.dw == 1 && (g.sw == 1 || g.sw == 2)) {
          for (int64_t oy = 0; oy < g.oh; ++oy) {
            if (g.sw == 1) dw_run_shift<KH, KW, 1, kAct>(s + oy * p.wq, y + oy * g.ow, g.ow, w, off, bias, lo, hi);
            else dw_run_shift<KH, KW, 2, kAct>(s + oy * p.wq, y + oy * g.ow, g.ow, w, off, bias, lo, hi);
          }
          if constexpr (kAct == 2) activate(y, g.oh * g.ow, act);
          return;
        }
      }
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        dw_run<KH, KW, kAct>(s + oy * p.wq, y + oy * g.ow, g.ow, w, off, taps, bias, lo, hi);
      }
    } else {
      // Over the flattened planes (pitch wq), then the ow valid columns of each row.
      dw_run<KH, KW, kAct>(s, flat_out, g.oh * p.wq, w, off, taps, bias, lo, hi);
      for (int64_t oy = 0; oy < g.oh; ++oy) copy(flat_out + oy * p.wq, y + oy * g.ow, g.ow);
    }
    if constexpr (kAct == 2) activate(y, g.oh * g.ow, act);
  }

  static void copy(const float* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + L <= n; i += L) V::store(dst + i, V::load(src + i));
    if (i < n) {
      const typename V::Mask m = V::mask(static_cast<int>(n - i));
      V::store(dst + i, V::load(src + i, m), m);
    }
  }

  __attribute__((noinline)) static void activate(float* y, int64_t n, const Activation& act) {
    Math<V>::map(act, y, y, n);
  }

  // Generic depthwise conv for more taps than the offset table holds.
  static void dw_plane_any(const ConvGeom& g, const Planes& p, const float* s, const float* w, float bias,
                           const Activation& act, float* y, float* flat_out) {
    auto run = [&](const float* src, float* dst, int64_t n) {
      for (int64_t q = 0; q < n; q += L) {
        F acc = V::set1(bias);
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            acc = V::fmadd(V::set1(w[ky * g.kw + kx]), V::load(src + q + tap_offset(g, p, ky, kx)), acc);
          }
        }
        if (q + L <= n) V::store(dst + q, acc);
        else V::store(dst + q, acc, V::mask(static_cast<int>(n - q)));
      }
    };
    if (!p.flat) {
      for (int64_t oy = 0; oy < g.oh; ++oy) run(s + oy * p.wq, y + oy * g.ow, g.ow);
    } else {
      run(s, flat_out, g.oh * p.wq);
      for (int64_t oy = 0; oy < g.oh; ++oy) copy(flat_out + oy * p.wq, y + oy * g.ow, g.ow);
    }
    if (act.kind != ActKind::kNone) activate(y, g.oh * g.ow, act);
  }

  template <int KH, int KW>
  static void dw_plane_act(const ConvGeom& g, const Planes& p, const int64_t* off, const float* s, const float* w,
                           float bias, const Activation& act, float* y, float* flat_out) {
    if (act.kind == ActKind::kNone) {
      dw_plane<KH, KW, 0>(g, p, off, s, w, bias, act, y, flat_out);
    } else if (act.kind == ActKind::kRelu || act.kind == ActKind::kClip) {
      Activation clamp = act;
      if (act.kind == ActKind::kRelu) {
        clamp.alpha = 0.0f;
        clamp.beta = __builtin_inff();
      }
      dw_plane<KH, KW, 1>(g, p, off, s, w, bias, clamp, y, flat_out);
    } else {
      dw_plane<KH, KW, 2>(g, p, off, s, w, bias, act, y, flat_out);
    }
  }

  // Small planes (14x14, 7x7: rows of a fraction of a vector) run L channels at a time,
  // transposed (L x L register transposes) so that one vector holds one position of L channels:
  // no lanes idle on short rows, aligned loads, one weight vector per tap.
  // With 16 lanes, larger planes too while a block's scratch (padded input and output of L
  // channels) stays within L2: 56x56 and 28x28 planes, stride 2 from 56x56 included, run 20-35%
  // faster than by rows (AVX-512); beyond that (112x112) the plane paths below. On AVX2 the rows
  // stay faster for stride 1 (56x56 3x3: 202 us by rows, 325 us in blocks).
  static constexpr int64_t kChannelBlockMaxFloats = int64_t(1) << 17;  // 512 KiB
  // Planes larger still (112x112) run in bands of output rows whose scratch fits, where the
  // rows kernel (channel_rows) runs and the row stride is 1 (32x112x112 3x3: 155 -> 146 us;
  // stride 2 from 112x112 in bands: 175 -> 205 us, so it keeps the rows from the input).
  static bool channel_blocks(const ConvGeom& g) {
    return g.kh * g.kw <= kMaxTaps &&
           (g.oh * g.ow <= 256 || (L >= 16 && channel_block_floats(g) <= kChannelBlockMaxFloats));
  }
  static bool rows_kernel(const ConvGeom& g) {
    return g.dh == 1 && g.dw == 1 && g.ow >= U && (g.sw == 1 || g.sw == 2) &&
           ((g.kh == 3 && g.kw == 3) || (g.kh == 5 && g.kw == 5));
  }
  // Scratch of a block for bands of `rows` output rows: padded input rows, output, weights, bias.
  static int64_t block_floats(const ConvGeom& g, int64_t rows) {
    const int64_t hp = (rows - 1) * g.sh + (g.kh - 1) * g.dh + 1, wp = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
    return (hp * wp + (rows * g.ow + L) + g.kh * g.kw + 1) * L;
  }
  // Output rows per band: the whole plane, or halved until a band's scratch fits.
  static int64_t band_rows(const ConvGeom& g) {
    int64_t r = g.oh;
    if (L < 16 || !rows_kernel(g) || g.sh != 1) return r;
    while (r > 1 && block_floats(g, r) > kChannelBlockMaxFloats) r = (r + 1) / 2;
    return r;
  }
  static int64_t channel_block_floats(const ConvGeom& g) { return block_floats(g, band_rows(g)); }
  static int64_t dw_block_channels(const ConvGeom& g) { return channel_blocks(g) ? L : 0; }
  // In bands, the rows a band's output replaces are those the next band keeps from t (row
  // stride 1, and no more top padding than the window reaches below its output row).
  static bool dw_in_place(const ConvGeom& g) {
    return channel_blocks(g) && g.oh == g.h && g.ow == g.w &&
           (band_rows(g) >= g.oh || (g.sh == 1 && g.ph <= (g.kh - 1) * g.dh));
  }
  static int64_t dw_scratch_floats(const ConvGeom& g) {
    const int64_t a = scratch_floats(g), b = channel_blocks(g) ? channel_block_floats(g) : 0;
    return a > b ? a : b;
  }

  template <int KH, int KW>
  static void dw_channels(const DwConvArgs& a, int64_t cb, int nc, float* s) {
    const ConvGeom& g = *a.g;
    const int64_t kh = KH ? KH : g.kh, kw = KW ? KW : g.kw;
    const int taps = static_cast<int>(kh * kw);
    const int64_t R = band_rows(g);
    const int64_t hp = (R - 1) * g.sh + (kh - 1) * g.dh + 1, wp = (g.ow - 1) * g.sw + (kw - 1) * g.dw + 1;
    float* t = s;                      // [hp][wp][L] padded input rows of a band (pad columns zero)
    float* o = t + hp * wp * L;        // [R * ow rounded up to L][L] output of a band
    float* wt = o + (R * g.ow + L) * L;  // [taps][L] weights
    float* bt = wt + taps * L;         // [L] bias
    const float* wb = wt;              // the block's weights: prepared (w_blocks) or gathered here
    if (a.w_blocks && cb % L == 0) {
      wb = a.w_blocks + cb * taps;
    } else {
      for (int tp = 0; tp < taps; ++tp) {
        for (int j = 0; j < L; ++j) wt[tp * L + j] = j < nc ? a.w[(cb + j) * taps + tp] : 0.0f;
      }
    }
    for (int j = 0; j < L; ++j) bt[j] = j < nc && a.bias ? a.bias[cb + j] : 0.0f;
    int64_t off[kMaxTaps];
    F wv[KH * KW ? KH * KW : kMaxTaps];
    for (int64_t ky = 0; ky < kh; ++ky) {
      for (int64_t kx = 0; kx < kw; ++kx) off[ky * kw + kx] = (ky * g.dh * wp + kx * g.dw) * L;
    }
#pragma GCC unroll 25
    for (int tp = 0; tp < (KH * KW ? KH * KW : kMaxTaps); ++tp) wv[tp] = tp < taps ? V::load(wb + tp * L) : V::zero();
    const F bv = V::load(bt);
    const bool clamp = a.act.kind == ActKind::kRelu || a.act.kind == ActKind::kClip;
    const F lo = V::set1(a.act.kind == ActKind::kClip ? a.act.alpha : 0.0f);
    const F hi = V::set1(a.act.kind == ActKind::kClip ? a.act.beta : __builtin_inff());
    const int64_t oy_end = a.oy1 < 0 || a.oy1 > g.oh ? g.oh : a.oy1;
    // Bands after the first keep the padded rows they share with the band before (its last
    // rows, already transposed in t) and fill only the rows after them: fewer transposes, and a
    // depthwise conv writing over its input (dw_in_place) still finds the input rows its output
    // rows have replaced.
    int64_t prev_iy0 = 0, prev_rows = 0;
    for (int64_t oy0 = a.oy0; oy0 < oy_end; oy0 += R) {
      ConvGeom gb = g;  // the band
      gb.oh = oy_end - oy0 < R ? oy_end - oy0 : R;
      const int64_t iy0 = oy0 * g.sh - g.ph, rows = (gb.oh - 1) * g.sh + (kh - 1) * g.dh + 1;
      int64_t keep = oy0 > a.oy0 ? prev_iy0 + prev_rows - iy0 : 0;
      keep = keep < 0 ? 0 : (keep > rows ? rows : keep);
      if (keep > 0) std::memmove(t, t + (iy0 - prev_iy0) * wp * L, sizeof(float) * keep * wp * L);
      prev_iy0 = iy0;
      prev_rows = rows;
      if (a.pw_w) expand_block_rows(a, cb, iy0 + keep, rows - keep, wp, t + keep * wp * L);
      else fill_block_rows(a, cb, nc, iy0 + keep, rows - keep, wp, t + keep * wp * L);
      bool done = false;
      if constexpr (KH * KW != 0) {
        if (rows_kernel(g)) {
          if (g.sw == 1) channel_rows<KH, KW, 1>(gb, t, wp, wv, bv, clamp, lo, hi, o);
          else channel_rows<KH, KW, 2>(gb, t, wp, wv, bv, clamp, lo, hi, o);
          done = true;
        }
      }
      if (!done) channel_taps<KH, KW>(gb, t, wp, off, taps, wv, bv, clamp, lo, hi, o);
      const int64_t npos = gb.oh * g.ow;
      if (!clamp && a.act.kind != ActKind::kNone) activate(o, npos * L, a.act);
      // The band's positions [0, npos) by rows: those of the call's first top_rows rows, [0, q1),
      // to y_top, of its last bottom_rows rows, [q2, npos), to y_bottom, the others to y.
      const int64_t plane = g.oh * g.ow, base = oy0 * g.ow;
      const int64_t top_end = (a.oy0 + a.top_rows) * g.ow, bottom_begin = (oy_end - a.bottom_rows) * g.ow;
      const int64_t q1 = std::clamp<int64_t>(top_end - base, 0, npos);
      const int64_t q2 = std::clamp<int64_t>(bottom_begin - base, q1, npos);
      const int64_t top_plane = a.top_rows * g.ow, bottom_plane = a.bottom_rows * g.ow;
      if (q1 > 0) store_block(o, 0, q1, nc, a.y_top + (cb - a.c0) * top_plane + base - a.oy0 * g.ow, top_plane);
      store_block(o, q1, q2, nc, a.y + cb * plane + base, plane);
      if (npos > q2) {
        store_block(o, q2, npos, nc, a.y_bottom + (cb - a.c0) * bottom_plane + base - bottom_begin, bottom_plane);
      }
    }
  }

  // Positions [q0, q1) of a band's output o (one vector of L channels per position) into nc
  // planes: channel j's position q at y + j * plane + q.
  static void store_block(const float* o, int64_t q0, int64_t q1, int nc, float* y, int64_t plane) {
    for (int64_t p0 = q0; p0 < q1; p0 += L) {
      const int n = static_cast<int>(q1 - p0 < L ? q1 - p0 : L);
      F blk[L];
      V::load_transposed(o + p0 * L, L, blk);
      const typename V::Mask m = V::mask(n);
      for (int j = 0; j < nc; ++j) V::store(y + j * plane + p0, blk[j], m);
    }
  }

  // Zeroes what fill_block_rows never writes: the pad columns of every padded row (they stay
  // zero for every block and band) and the output's tail (read, not stored, by the last
  // transpose). Not the whole scratch: 416 KiB for a 56x56 plane, 8% of its time.
  static void zero_block_pads(const ConvGeom& g, float* s) {
    const int64_t R = band_rows(g);
    const int64_t hp = (R - 1) * g.sh + (g.kh - 1) * g.dh + 1, wp = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1;
    const int64_t wcopy = g.w + g.pw <= wp ? g.w : wp - g.pw;
    const int64_t left = g.pw < wp ? g.pw : wp, right = wcopy > 0 ? left + wcopy : left;
    for (int64_t r = 0; r < hp; ++r) {
      fill(s + r * wp * L, left * L, 0.0f);
      fill(s + (r * wp + right) * L, (wp - right) * L, 0.0f);
    }
    fill(s + (hp * wp + R * g.ow) * L, L * L, 0.0f);
  }

  // Padded rows [0, rows) of a band (input rows iy0 + r; rows outside the input zeroed) of
  // channels [cb, cb + nc), transposed into t (pitch wp positions of L channels). Pad columns are
  // never written (zeroed once by the caller). A whole block's whole vectors of columns are
  // transposed by the loads (load_transposed: 144 x 56 x 56 3x3, 169 -> 165 us), and so are its
  // columns past the last whole vector except where those loads would leave the plane (its last
  // rows); the rest (those, and a partial block) loads masked and transposes.
  static void fill_block_rows(const DwConvArgs& a, int64_t cb, int nc, int64_t iy0, int64_t rows, int64_t wp,
                              float* t) {
    const ConvGeom& g = *a.g;
    const int64_t wcopy = g.w + g.pw <= wp ? g.w : wp - g.pw;  // input columns the window reads
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t iy = iy0 + r;
      float* tr = t + (r * wp + g.pw) * L;
      if (iy < 0 || iy >= g.h) {
        for (int64_t i = 0; i < wcopy; ++i) V::store(tr + i * L, V::zero());
        continue;
      }
      int64_t ix0 = 0;
      if (nc == L) {  // whole vectors of L channels: the loads transpose
        for (; ix0 + L <= wcopy; ix0 += L) {
          F blk[L];
          V::load_transposed(a.x + (cb * g.h + iy) * g.w + ix0, g.h * g.w, blk);
#pragma GCC unroll 16
          for (int k = 0; k < L; ++k) V::store(tr + (ix0 + k) * L, blk[k]);
        }
        // The columns past the last whole vector (8 of a 56-wide row, all of a 14-wide one):
        // the same loads, reading on into the plane's next rows while they stay inside the
        // plane; only the n columns of this row are stored. A masked load and a transpose per
        // channel instead was a fifth of the fill (144 x 56 x 56: 11 of 49 us).
        for (; ix0 < wcopy && iy * g.w + ix0 + L <= g.h * g.w; ix0 += L) {
          const int n = static_cast<int>(wcopy - ix0 < L ? wcopy - ix0 : L);
          F blk[L];
          V::load_transposed(a.x + (cb * g.h + iy) * g.w + ix0, g.h * g.w, blk);
#pragma GCC unroll 16
          for (int k = 0; k < L; ++k) {
            if (k < n) V::store(tr + (ix0 + k) * L, blk[k]);
          }
        }
      }
      for (; ix0 < wcopy; ix0 += L) {
        const int n = static_cast<int>(wcopy - ix0 < L ? wcopy - ix0 : L);
        const typename V::Mask m = V::mask(n);
        F blk[L];
        for (int j = 0; j < L; ++j) blk[j] = j < nc ? V::load(a.x + ((cb + j) * g.h + iy) * g.w + ix0, m) : V::zero();
        V::transpose(blk);
        // Unrolled with a test per vector: a loop to n becomes a memcpy of the stack copy.
#pragma GCC unroll 16
        for (int k = 0; k < L; ++k) {
          if (k < n) V::store(tr + (ix0 + k) * L, blk[k]);
        }
      }
    }
  }

  // fill_block_rows for a depthwise conv whose input is a 1x1 conv's output (DwConvArgs::pw_w):
  // that output, for the band's rows inside the input and the columns the window reads, is
  // computed here in the transposed layout itself, one vector of L channels per position: a
  // tile of P positions takes, for each input channel k, the block's weight vector of k times
  // each position's X[k] (broadcast), read from the tile's packed copy (pw_x: the P positions
  // of each channel one after another, so one stream, instead of pw_c rows of the plane each
  // step). The positions of the rows inside the input are one run of X (rows are contiguous),
  // so tiles cross row ends and a 7x7 plane is 7 tiles of 7. P: whichever of a few sizes
  // computes the fewest positions (pw_tile_size).
  static int64_t tiled(int64_t n, int64_t p) { return (n + p - 1) / p * p; }
  static int64_t pw_tile_size(int64_t positions) {
    const int64_t sizes[3] = {L >= 16 ? 14 : 7, L >= 16 ? 12 : 6, L >= 16 ? 7 : 4};
    int64_t best = sizes[0];
    for (int64_t p : sizes) {
      if (tiled(positions, p) < tiled(positions, best)) best = p;
    }
    return best;
  }

  template <int P>
  static void pw_tiles(const DwConvArgs& a, const float* wb, F bv, int64_t p0, int64_t p1, int64_t iy0, int64_t wp,
                       int64_t wcopy, float* t) {
    const ConvGeom& g = *a.g;
    const int64_t kc = a.pw_c;
    for (int64_t j = p0 / P; j * P < p1; ++j) {
      const float* xp = a.pw_x + j * kc * P;
      F acc[P];
#pragma GCC unroll 16
      for (int u = 0; u < P; ++u) acc[u] = bv;
      for (int64_t k = 0; k < kc; ++k) {
        const F wv = V::load(wb + k * L);
#pragma GCC unroll 16
        for (int u = 0; u < P; ++u) acc[u] = V::fmadd(V::set1(xp[k * P + u]), wv, acc[u]);
      }
      Math<V>::template apply<P>(a.pw_act, acc);
      const int64_t q0 = j * P;
      int64_t iy = q0 / g.w, ix = q0 - iy * g.w;
#pragma GCC unroll 16
      for (int u = 0; u < P; ++u) {
        if (q0 + u >= p0 && q0 + u < p1 && ix < wcopy) V::store(t + ((iy - iy0) * wp + g.pw + ix) * L, acc[u]);
        if (++ix == g.w) {
          ix = 0;
          ++iy;
        }
      }
    }
  }

  static void expand_block_rows(const DwConvArgs& a, int64_t cb, int64_t iy0, int64_t rows, int64_t wp, float* t) {
    const ConvGeom& g = *a.g;
    const int64_t wcopy = g.w + g.pw <= wp ? g.w : wp - g.pw;
    const float* wb = a.pw_w + cb * a.pw_c;  // block cb / L: [pw_c][L]
    const F bv = a.pw_bias ? V::load(a.pw_bias + cb) : V::zero();
    for (int64_t r = 0; r < rows; ++r) {  // rows outside the input: zeros
      const int64_t iy = iy0 + r;
      if (iy >= 0 && iy < g.h) continue;
      float* tr = t + (r * wp + g.pw) * L;
      for (int64_t i = 0; i < wcopy; ++i) V::store(tr + i * L, V::zero());
    }
    const int64_t y0 = iy0 < 0 ? 0 : iy0, y1 = iy0 + rows > g.h ? g.h : iy0 + rows;
    if (y0 >= y1 || wcopy <= 0) return;
    const int64_t p0 = y0 * g.w, p1 = y1 * g.w;
    switch (a.pw_tile) {
      case 14: return pw_tiles<14>(a, wb, bv, p0, p1, iy0, wp, wcopy, t);
      case 12: return pw_tiles<12>(a, wb, bv, p0, p1, iy0, wp, wcopy, t);
      case 7: return pw_tiles<7>(a, wb, bv, p0, p1, iy0, wp, wcopy, t);
      case 6: return pw_tiles<6>(a, wb, bv, p0, p1, iy0, wp, wcopy, t);
      default: return pw_tiles<4>(a, wb, bv, p0, p1, iy0, wp, wcopy, t);
    }
  }

  // The generic multiply-adds of a band (any dilation and stride; taps from the offset table).
  template <int KH, int KW>
  static void channel_taps(const ConvGeom& g, const float* t, int64_t wp, const int64_t* off, int taps, const F* wv,
                           F bv, bool clamp, F lo, F hi, float* o) {
    const int64_t npos = g.oh * g.ow;
    for (int64_t q = 0; q < npos; q += U) {
      const float* base[U];
      F acc[U];
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        const int64_t pos = q + u < npos ? q + u : npos - 1;
        base[u] = t + ((pos / g.ow) * g.sh * wp + (pos % g.ow) * g.sw) * L;
        acc[u] = bv;
      }
#pragma GCC unroll 25
      for (int tp = 0; tp < (KH * KW ? KH * KW : taps); ++tp) {
#pragma GCC unroll 4
        for (int u = 0; u < U; ++u) acc[u] = V::fmadd(wv[tp], V::load(base[u] + off[tp]), acc[u]);
      }
      for (int u = 0; u < U && q + u < npos; ++u) {
        F v = acc[u];
        if (clamp) v = V::min(hi, V::max(lo, v));
        V::store(o + (q + u) * L, v);
      }
    }
  }

  // The channel blocks' multiply-adds for dilation 1 and column stride SW: U positions of one
  // output row at a time, so that every load is at a compile-time displacement from the group's
  // base and its kernel row (no divisions, no offset table). A row's last group overlaps the one
  // before when U does not divide ow: those outputs are computed again, identically. Each output
  // sums its taps in the same order as the generic loop.
  template <int KH, int KW, int SW>
  static void channel_rows(const ConvGeom& g, const float* t, int64_t wp, const F* wv_in, F bv, bool clamp, F lo,
                           F hi, float* o) {
    F wv[KH * KW];
#pragma GCC unroll 25
    for (int tp = 0; tp < KH * KW; ++tp) wv[tp] = wv_in[tp];
    const int64_t row = wp * L;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const float* trow = t + oy * g.sh * row;
      float* orow = o + oy * g.ow * L;
      for (int64_t ox = 0; ox < g.ow; ox += U) {
        const int64_t x0 = ox + U <= g.ow ? ox : g.ow - U;
        const float* b = trow + x0 * SW * L;
        F acc[U];
#pragma GCC unroll 4
        for (int u = 0; u < U; ++u) acc[u] = bv;
#pragma GCC unroll 5
        for (int ky = 0; ky < KH; ++ky) {
          const float* r = b + ky * row;
#pragma GCC unroll 5
          for (int kx = 0; kx < KW; ++kx) {
#pragma GCC unroll 4
            for (int u = 0; u < U; ++u) acc[u] = V::fmadd(wv[ky * KW + kx], V::load(r + (u * SW + kx) * L), acc[u]);
          }
        }
#pragma GCC unroll 4
        for (int u = 0; u < U; ++u) {
          F v = acc[u];
          if (clamp) v = V::min(hi, V::max(lo, v));
          V::store(orow + (x0 + u) * L, v);
        }
      }
    }
  }

  static void dwconv(const DwConvArgs& a) {
    const ConvGeom& g = *a.g;
    if (channel_blocks(g)) {
      zero_block_pads(g, a.scratch);
      for (int64_t cb = a.c0; cb < a.c1; cb += L) {
        const int nc = static_cast<int>(a.c1 - cb < L ? a.c1 - cb : L);
        if (g.kh == 3 && g.kw == 3) dw_channels<3, 3>(a, cb, nc, a.scratch);
        else if (g.kh == 5 && g.kw == 5) dw_channels<5, 5>(a, cb, nc, a.scratch);
        else dw_channels<0, 0>(a, cb, nc, a.scratch);
      }
      return;
    }
    if (direct_s2(g)) {
      dw_direct_s2(a);
      return;
    }
    const Planes p = planes(g);
    const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow, taps = g.kh * g.kw;
    float* flat_out = a.scratch + p.count * p.size;
    int64_t off[kMaxTaps];
    if (taps <= kMaxTaps) {
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        for (int64_t kx = 0; kx < g.kw; ++kx) off[ky * g.kw + kx] = tap_offset(g, p, ky, kx);
      }
    }
    fill_pad(p, 0.0f, a.scratch);
    for (int64_t c = a.c0; c < a.c1; ++c) {
      build(g, p, a.x + c * in_sp, a.scratch);
      const float* w = a.w + c * taps;
      const float b = a.bias ? a.bias[c] : 0.0f;
      float* y = a.y + c * out_sp;
      if (g.kh == 3 && g.kw == 3) dw_plane_act<3, 3>(g, p, off, a.scratch, w, b, a.act, y, flat_out);
      else if (g.kh == 5 && g.kw == 5) dw_plane_act<5, 5>(g, p, off, a.scratch, w, b, a.act, y, flat_out);
      else if (taps <= kMaxTaps) dw_plane_act<0, 0>(g, p, off, a.scratch, w, b, a.act, y, flat_out);
      else dw_plane_any(g, p, a.scratch, w, b, a.act, y, flat_out);
    }
  }

  // Pools: the same phase planes, padded with -inf (max) or 0 (average).
  static int64_t pool_scratch_floats(const ConvGeom& g) {
    const Planes p = planes(g);
    return scratch_floats(g) + g.oh * p.wq + U * L;  // + the average's divisors
  }

  // dst[0, n) = max (or mean, dividing by dv) of src[q + off[t]] over the taps, U vectors at a
  // time (independent chains); offsets copied to locals (see dw_run). KT: taps known at compile
  // time (0: `taps`).
  template <bool kMax, int KT>
  static void pool_run(const float* src, const float* dv, float* dst, int64_t n, const int64_t* off_in, int taps_rt) {
    const int taps = KT ? KT : taps_rt;
    int64_t off[KT ? KT : kMaxTaps * 8];
#pragma GCC unroll 9
    for (int t = 0; t < taps; ++t) off[t] = off_in[t];
    for (int64_t q = 0; q < n; q += U * L) {
      F acc[U];
      const float* b = src + q;
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) acc[u] = V::load(b + off[0] + u * L);
#pragma GCC unroll 9
      for (int t = 1; t < taps; ++t) {
#pragma GCC unroll 4
        for (int u = 0; u < U; ++u) {
          const F v = V::load(b + off[t] + u * L);
          acc[u] = kMax ? V::max(acc[u], v) : V::add(acc[u], v);
        }
      }
      for (int u = 0; u < U && q + u * L < n; ++u) {
        F v = acc[u];
        if (!kMax) v = V::div(v, V::load(dv + q + u * L));
        const int64_t r = n - (q + u * L);
        if (r >= L) V::store(dst + q + u * L, v);
        else V::store(dst + q + u * L, v, V::mask(static_cast<int>(r)));
      }
    }
  }

  template <bool kMax, int KT>
  static void pool_plane(const ConvGeom& g, const Planes& p, const float* s, const int64_t* off, int taps,
                         const float* div, float* y, float* flat_out) {
    if (!p.flat) {
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        pool_run<kMax, KT>(s + oy * p.wq, div + oy * p.wq, y + oy * g.ow, g.ow, off, taps);
      }
    } else {
      pool_run<kMax, KT>(s, div, flat_out, g.oh * p.wq, off, taps);
      for (int64_t oy = 0; oy < g.oh; ++oy) copy(flat_out + oy * p.wq, y + oy * g.ow, g.ow);
    }
  }

  // MaxPool with column stride 2, dilation 1 and a 2x2 or 3x3 window straight from the input
  // rows, as dw_plane_s2 (no phase planes: their copy of the input, 4x the output, was half of a
  // 3x3 stride-2 pool's time): each group of NU output vectors loads 2 (NU + 1) input vectors
  // per window row and deinterleaves them; taps kx = 0, 1, 2 are e, o and e shifted by a lane.
  // Window rows outside the input are skipped. Columns outside it load as zeros (load_window),
  // so the outputs whose window crosses the left or right border are computed again, by taps
  // inside the input only.
  static bool direct_max_s2(const ConvGeom& g) {
    return V::kFastShift && g.sw == 2 && g.dw == 1 && g.dh == 1 && g.kh == g.kw && (g.kw == 2 || g.kw == 3);
  }

  template <int K, int NU>
  static void max_plane_s2(const ConvGeom& g, const float* x, float* y) {
    const F ninf = V::set1(-__builtin_inff());
    s2_rows<K, NU, NU + 1>(
        g, x, ninf,
        [&](int, const F* e, const F* o, F* acc) __attribute__((always_inline)) {
#pragma GCC unroll 4
          for (int u = 0; u < NU; ++u) {
            acc[u] = V::max(acc[u], e[u]);
            acc[u] = V::max(acc[u], o[u]);
            if constexpr (K == 3) acc[u] = V::max(acc[u], V::template shift<1>(e[u], e[u + 1]));
          }
        },
        [&](F* acc, int64_t oy, int64_t q) __attribute__((always_inline)) {
          store_group<NU, 0>(acc, y + oy * g.ow, q, g.ow, ninf, ninf);
        });
    const int64_t h = g.h, wd = g.w, ow = g.ow;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      float* yr = y + oy * ow;
      const int64_t iy0 = oy * g.sh - g.ph;
      // Windows across the left or right border: again from the taps inside the input.
      auto edge = [&](int64_t ox) {
        float m = -__builtin_inff();
        for (int64_t ky = 0; ky < K; ++ky) {
          const int64_t iy = iy0 + ky;
          if (iy < 0 || iy >= h) continue;
          for (int64_t kx = 0; kx < K; ++kx) {
            const int64_t ix = 2 * ox - g.pw + kx;
            if (ix >= 0 && ix < wd) m = x[iy * wd + ix] > m ? x[iy * wd + ix] : m;
          }
        }
        yr[ox] = m;
      };
      for (int64_t ox = 0; ox < ow && 2 * ox - g.pw < 0; ++ox) edge(ox);
      for (int64_t ox = ow - 1; ox >= 0 && 2 * ox - g.pw + K > wd; --ox) edge(ox);
    }
  }

  template <int K>
  static void max_planes_s2(const ConvGeom& g, const float* x, float* y, int64_t nplanes) {
    const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow;
    for (int64_t c = 0; c < nplanes; ++c) {
      if (g.ow <= L) max_plane_s2<K, 1>(g, x + c * in_sp, y + c * out_sp);
      else if (g.ow <= 2 * L) max_plane_s2<K, 2>(g, x + c * in_sp, y + c * out_sp);
      else max_plane_s2<K, 4>(g, x + c * in_sp, y + c * out_sp);
    }
  }

  // AveragePool 2x2 at stride 2 without padding, every window inside the input (2 ow <= w,
  // 2 oh <= h: no divisor but 4), straight from the input rows as max_plane_s2 (densenet's
  // transitions; the phase planes cost 3x the pool itself there).
  static bool direct_avg_s2(const ConvGeom& g) {
    return V::kFastShift && g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.dh == 1 && g.dw == 1 &&
           g.ph == 0 && g.pw == 0 && 2 * g.ow <= g.w && 2 * g.oh <= g.h;
  }

  template <int NU>
  static void avg_plane_s2(const ConvGeom& g, const float* x, float* y) {
    const F quarter = V::set1(0.25f);
    s2_rows<2, NU, NU>(
        g, x, V::zero(),
        [&](int, const F* e, const F* o, F* acc) __attribute__((always_inline)) {
#pragma GCC unroll 4
          for (int u = 0; u < NU; ++u) acc[u] = V::add(acc[u], V::add(e[u], o[u]));
        },
        [&](F* acc, int64_t oy, int64_t q) __attribute__((always_inline)) {
#pragma GCC unroll 4
          for (int u = 0; u < NU; ++u) acc[u] = V::mul(acc[u], quarter);
          store_group<NU, 0>(acc, y + oy * g.ow, q, g.ow, quarter, quarter);
        });
  }

  static void pool2d(const ConvGeom& g, const float* x, float* y, int64_t nplanes, bool is_max, bool count_pad,
                     float* scratch) {
    if constexpr (V::kFastShift) {
      if (is_max && direct_max_s2(g)) {
        if (g.kw == 3) max_planes_s2<3>(g, x, y, nplanes);
        else max_planes_s2<2>(g, x, y, nplanes);
        return;
      }
      if (!is_max && direct_avg_s2(g)) {
        const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow;
        for (int64_t c = 0; c < nplanes; ++c) {
          if (g.ow <= L) avg_plane_s2<1>(g, x + c * in_sp, y + c * out_sp);
          else if (g.ow <= 2 * L) avg_plane_s2<2>(g, x + c * in_sp, y + c * out_sp);
          else avg_plane_s2<4>(g, x + c * in_sp, y + c * out_sp);
        }
        return;
      }
    }
    const Planes p = planes(g);
    const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow;
    const int64_t taps = g.kh * g.kw;
    if (taps > kMaxTaps * 8) {
      pool2d_any(g, p, x, y, nplanes, is_max, count_pad, scratch);
      return;
    }
    int64_t off[kMaxTaps * 8];
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      for (int64_t kx = 0; kx < g.kw; ++kx) off[ky * g.kw + kx] = tap_offset(g, p, ky, kx);
    }
    float* flat_out = scratch + p.count * p.size;
    float* div = flat_out + flat_out_floats(g, p);
    if (!is_max) fill_divisors(g, p, count_pad, div);
    fill_pad(p, is_max ? -__builtin_inff() : 0.0f, scratch);
    for (int64_t c = 0; c < nplanes; ++c) {
      build(g, p, x + c * in_sp, scratch);
      const int nt = static_cast<int>(taps);
      float* yc = y + c * out_sp;
      if (is_max && taps == 9) pool_plane<true, 9>(g, p, scratch, off, nt, div, yc, flat_out);
      else if (is_max) pool_plane<true, 0>(g, p, scratch, off, nt, div, yc, flat_out);
      else if (taps == 9) pool_plane<false, 9>(g, p, scratch, off, nt, div, yc, flat_out);
      else pool_plane<false, 0>(g, p, scratch, off, nt, div, yc, flat_out);
    }
  }

  // Average divisors at q = oy * wq + ox: the window's taps (inside the input unless count_pad).
  static void fill_divisors(const ConvGeom& g, const Planes& p, bool count_pad, float* div) {
    const int64_t n = g.oh * p.wq + U * L;
    for (int64_t q = 0; q < n; ++q) {
      const int64_t oy = q / p.wq, ox = q % p.wq;
      int64_t rows = 0, cols = 0;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
        if (count_pad || (iy >= 0 && iy < g.h)) ++rows;
      }
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = ox * g.sw - g.pw + kx * g.dw;
        if (count_pad || (ix >= 0 && ix < g.w)) ++cols;
      }
      div[q] = rows * cols > 0 ? static_cast<float>(rows * cols) : 1.0f;
    }
  }

  static void pool2d_any(const ConvGeom& g, const Planes& p, const float* x, float* y, int64_t nplanes, bool is_max,
                         bool count_pad, float* scratch) {
    float* flat_out = scratch + p.count * p.size;
    float* div = flat_out + flat_out_floats(g, p);
    if (!is_max) fill_divisors(g, p, count_pad, div);
    const float pad = is_max ? -__builtin_inff() : 0.0f;
    const int64_t in_sp = g.h * g.w, out_sp = g.oh * g.ow;
    fill_pad(p, pad, scratch);
    for (int64_t c = 0; c < nplanes; ++c) {
      build(g, p, x + c * in_sp, scratch);
      auto run = [&](const float* src, const float* dv, float* dst, int64_t n) {
        for (int64_t q = 0; q < n; q += L) {
          F acc = V::set1(pad);
          for (int64_t ky = 0; ky < g.kh; ++ky) {
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const F v = V::load(src + q + tap_offset(g, p, ky, kx));
              acc = is_max ? V::max(acc, v) : V::add(acc, v);
            }
          }
          if (!is_max) acc = V::div(acc, V::load(dv + q));
          if (q + L <= n) V::store(dst + q, acc);
          else V::store(dst + q, acc, V::mask(static_cast<int>(n - q)));
        }
      };
      float* yp = y + c * out_sp;
      if (!p.flat) {
        for (int64_t oy = 0; oy < g.oh; ++oy) run(scratch + oy * p.wq, div + oy * p.wq, yp + oy * g.ow, g.ow);
      } else {
        run(scratch, div, flat_out, g.oh * p.wq);
        for (int64_t oy = 0; oy < g.oh; ++oy) copy(flat_out + oy * p.wq, yp + oy * g.ow, g.ow);
      }
    }
  }
};

}  // namespace edgeai::kernels::cpu
