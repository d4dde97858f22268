// The aarch64 int8 GEMM kernels (qgemm.h), both exact, tile 8 weight rows x 8 columns with the rows
// as lanes (two int32x4 accumulators per column, 16 in all):
//   - qgemm_neon (every aarch64): the weight panel widened once per call to int16, each depth step's
//     8 rows one int16x8; smlal by a lane of the widened activations (u8 -> s16) adds 4 products;
//   - qgemm_neon_dotprod (ARMv8.2 dotprod, checked at run time): sdot by a lane adds 4 rows' quads
//     times one column's quad. sdot is s8 x s8: the activations become x - 128 (x ^ 0x80) and each
//     row gets back 128 * sum(w) (summed from the panel per call); integer sums, exact.
// Requantization as qgemm_requant (float multiply, round half to even, clamp). Depthwise with smlal
// by each tap's weight; QuantizeLinear and DequantizeLinear 8 values at a time; the rest (packing,
// lookups, add) is portable.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/qdw_impl.h"
#include "kernels/cpu/qgemm.h"

namespace edgeai::kernels::cpu {
namespace {

constexpr int kCols = 8;               // columns per tile
constexpr int64_t kWideQuads = 1024;   // weight quads widened at a time: 64 KB of stack

// 4 requantized values (qgemm.h) as int32 in [qmin, qmax]; clamp: the multiplier may be >= 1.
inline int32x4_t requant4(int32x4_t acc, int32x4_t corr, float32x4_t mult, bool clamp, int32_t zy, int32_t qmin,
                          int32_t qmax) {
  float32x4_t v = vmulq_f32(vcvtq_f32_s32(vaddq_s32(acc, corr)), mult);
  if (clamp) v = vminq_f32(vmaxq_f32(v, vdupq_n_f32(-1e9f)), vdupq_n_f32(1e9f));
  const int32x4_t r = vaddq_s32(vcvtnq_s32_f32(v), vdupq_n_s32(zy));  // round half to even
  return vminq_s32(vmaxq_s32(r, vdupq_n_s32(qmin)), vdupq_n_s32(qmax));
}

// 8 values (int32 in [qmin, qmax], inside [-128, 255]) as their low bytes.
inline uint8x8_t low_bytes(int32x4_t lo, int32x4_t hi) {
  return vreinterpret_u8_s8(vmovn_s16(vcombine_s16(vmovn_s32(lo), vmovn_s32(hi))));
}

// The per-row requantization constants of one panel (rows 0-3 and 4-7).
struct PanelEpilogue {
  int32x4_t corr[2];
  float32x4_t mult[2];
  PanelEpilogue(const QGemmBlock& g, int64_t i0, int rows, const int32_t* extra) {
    int32_t c[kQMR] = {};
    float m[kQMR] = {};
    for (int r = 0; r < rows; ++r) {
      c[r] = g.corr[i0 + r] + (extra ? extra[r] : 0);
      m[r] = g.mult[i0 + r];
    }
    for (int h = 0; h < 2; ++h) {
      corr[h] = vld1q_s32(c + 4 * h);
      mult[h] = vld1q_f32(m + 4 * h);
    }
  }

  // acc[c][h]: column c, rows 4h .. 4h + 3; rows [i0, i0 + rows) x columns [j, j + cols) of y.
  void store(const QGemmBlock& g, const int32x4_t (&acc)[kCols][2], int64_t i0, int rows, int64_t j, int cols) const {
    if (g.y32) {
      int32_t sums[kCols][kQMR];  // [column][row]
      for (int c = 0; c < kCols; ++c) {
        vst1q_s32(sums[c], vaddq_s32(acc[c][0], corr[0]));
        vst1q_s32(sums[c] + 4, vaddq_s32(acc[c][1], corr[1]));
      }
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) g.y32[(i0 + r) * g.ldy + j + c] = sums[c][r];
      }
      return;
    }
    uint8_t out[kCols][kQMR];  // [column][row]
    for (int c = 0; c < kCols; ++c) {
      const bool clamp = !g.mult_below_one;
      vst1_u8(out[c], low_bytes(requant4(acc[c][0], corr[0], mult[0], clamp, g.zy, g.qmin, g.qmax),
                                requant4(acc[c][1], corr[1], mult[1], clamp, g.zy, g.qmin, g.qmax)));
    }
    for (int r = 0; r < rows; ++r) {
      uint8_t* y = g.y + (i0 + r) * g.ldy + j;
      for (int c = 0; c < cols; ++c) y[c] = out[c][r];
    }
  }
};

// ---- every aarch64: widened weights, smlal by lane ----

// Quads [0, nq) of a weight panel as int16, depth step t of quad q (8 rows) at w + (q * 4 + t) * 8.
void widen_panel(const int8_t* a, int64_t nq, int16_t* w) {
  for (int64_t q = 0; q < nq; ++q) {
    const int8x8x4_t v = vld4_s8(a + q * 32);  // v.val[t]: step t of rows 0-7
    for (int t = 0; t < 4; ++t) vst1q_s16(w + (q * 4 + t) * 8, vmovl_s8(v.val[t]));
  }
}

// acc += the widened panel's quads [0, nq) times 8 columns (two vectors of 4 at b and b + 16).
void accumulate_mlal(const int16_t* aw, const uint8_t* b, int64_t nq, int32x4_t (&acc)[kCols][2]) {
  for (int64_t q = 0; q < nq; ++q) {
    int16x8_t a[4];
    for (int t = 0; t < 4; ++t) a[t] = vld1q_s16(aw + (q * 4 + t) * 8);
    int16x8_t x[4];  // x[v]: columns 2v, 2v + 1 (4 steps each)
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t bv = vld1q_u8(b + q * 64 + 16 * h);
      x[2 * h] = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(bv)));
      x[2 * h + 1] = vreinterpretq_s16_u16(vmovl_high_u8(bv));
    }
#define EDGEAI_QMLAL(C, T)                                                                  \
  acc[C][0] = vmlal_laneq_s16(acc[C][0], vget_low_s16(a[T]), x[(C) / 2], ((C) % 2) * 4 + (T)); \
  acc[C][1] = vmlal_high_laneq_s16(acc[C][1], a[T], x[(C) / 2], ((C) % 2) * 4 + (T));
#define EDGEAI_QMLAL_COL(C) EDGEAI_QMLAL(C, 0) EDGEAI_QMLAL(C, 1) EDGEAI_QMLAL(C, 2) EDGEAI_QMLAL(C, 3)
    EDGEAI_QMLAL_COL(0) EDGEAI_QMLAL_COL(1) EDGEAI_QMLAL_COL(2) EDGEAI_QMLAL_COL(3)
    EDGEAI_QMLAL_COL(4) EDGEAI_QMLAL_COL(5) EDGEAI_QMLAL_COL(6) EDGEAI_QMLAL_COL(7)
#undef EDGEAI_QMLAL_COL
#undef EDGEAI_QMLAL
  }
}

// ---- dotprod: sdot by lane on the packed weights ----

void accumulate_sdot(const int8_t* a, const uint8_t* b, int64_t nq, int32x4_t (&acc)[kCols][2]) {
  const uint8x16_t flip = vdupq_n_u8(0x80);
  for (int64_t q = 0; q < nq; ++q) {
    const int8x16_t a0 = vld1q_s8(a + q * 32), a1 = vld1q_s8(a + q * 32 + 16);  // rows 0-3, 4-7
    const int8x16_t x0 = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(b + q * 64), flip));       // columns 0-3
    const int8x16_t x1 = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(b + q * 64 + 16), flip));  // columns 4-7
#define EDGEAI_QSDOT(C, X, L)                            \
  acc[C][0] = vdotq_laneq_s32(acc[C][0], a0, X, L); \
  acc[C][1] = vdotq_laneq_s32(acc[C][1], a1, X, L);
    EDGEAI_QSDOT(0, x0, 0) EDGEAI_QSDOT(1, x0, 1) EDGEAI_QSDOT(2, x0, 2) EDGEAI_QSDOT(3, x0, 3)
    EDGEAI_QSDOT(4, x1, 0) EDGEAI_QSDOT(5, x1, 1) EDGEAI_QSDOT(6, x1, 2) EDGEAI_QSDOT(7, x1, 3)
#undef EDGEAI_QSDOT
  }
}

// 128 * (sum of each row's weights) of one panel: what x ^ 0x80 = x - 128 took away.
void flip_correction(const int8_t* a, int64_t kq, int32_t* extra) {
  int32x4_t s0 = vdupq_n_s32(0), s1 = vdupq_n_s32(0);
  const int8x16_t ones = vdupq_n_s8(1);
  for (int64_t q = 0; q < kq; ++q) {
    s0 = vdotq_s32(s0, vld1q_s8(a + q * 32), ones);
    s1 = vdotq_s32(s1, vld1q_s8(a + q * 32 + 16), ones);
  }
  vst1q_s32(extra, vshlq_n_s32(s0, 7));
  vst1q_s32(extra + 4, vshlq_n_s32(s1, 7));
}

// Columns in tiles of 8 (half a block), every panel; kDot: the sdot kernel.
template <bool kDot>
void gemm_tiles(const QGemmBlock& g) {
  const int64_t bstride = g.kq * 64, ntiles = (g.n + kCols - 1) / kCols;
  auto b_of = [&](int64_t t) { return g.b + (t / 2) * bstride + (t % 2) * 32; };  // tile t: columns 8t..
  alignas(16) int16_t wide[kDot ? 1 : kWideQuads * 32];
  for (int64_t i0 = 0; i0 < g.m; i0 += kQMR) {
    const int8_t* a = g.a + (i0 / kQMR) * g.kq * kQMR * 4;
    const int rows = static_cast<int>(std::min<int64_t>(kQMR, g.m - i0));
    int32_t extra[kQMR] = {};
    if (kDot) flip_correction(a, g.kq, extra);
    const PanelEpilogue ep(g, i0, rows, kDot ? extra : nullptr);
    // The depth in slices of kWideQuads (the mlal kernel's widened weights), the sums of one tile
    // kept between slices.
    const int64_t slice = kDot ? g.kq : kWideQuads;
    for (int64_t t = 0; t < ntiles; ++t) {
      int32x4_t acc[kCols][2];
      for (auto& c : acc) c[0] = c[1] = vdupq_n_s32(0);
      for (int64_t q0 = 0; q0 < g.kq; q0 += slice) {
        const int64_t nq = std::min(slice, g.kq - q0);
        if (kDot) {
          accumulate_sdot(a + q0 * 32, b_of(t) + q0 * 64, nq, acc);
        } else {
          if (t == 0 || g.kq > kWideQuads) widen_panel(a + q0 * 32, nq, wide);
          accumulate_mlal(wide, b_of(t) + q0 * 64, nq, acc);
        }
      }
      ep.store(g, acc, i0, rows, t * kCols, static_cast<int>(std::min<int64_t>(kCols, g.n - t * kCols)));
    }
  }
}

void gemm_neon(const QGemmBlock& g) { gemm_tiles<false>(g); }
void gemm_neon_dotprod(const QGemmBlock& g) { gemm_tiles<true>(g); }

void quantize_neon(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax, uint8_t* y) {
  const float32x4_t s = vdupq_n_f32(scale), lo = vdupq_n_f32(-1e6f), hi = vdupq_n_f32(1e6f);
  const int32x4_t z = vdupq_n_s32(zp), qlo = vdupq_n_s32(qmin), qhi = vdupq_n_s32(qmax);
  auto one = [&](const float* p) {
    const float32x4_t v = vdivq_f32(vld1q_f32(p), s);
    const uint32x4_t num = vceqq_f32(v, v);  // false for NaN
    int32x4_t r = vaddq_s32(vcvtnq_s32_f32(vminq_f32(vmaxq_f32(v, lo), hi)), z);  // round half to even
    r = vminq_s32(vmaxq_s32(r, qlo), qhi);
    return vbslq_s32(num, r, z);
  };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) vst1_u8(y + i, low_bytes(one(x + i), one(x + i + 4)));
  if (i < n) qgemm_portable().quantize(x + i, n - i, scale, zp, qmin, qmax, y + i);
}

void dequantize_neon(const uint8_t* x, int64_t n, bool is_signed, int32_t zp, float scale, float* y) {
  const float32x4_t s = vdupq_n_f32(scale);
  const int16x8_t z = vdupq_n_s16(static_cast<int16_t>(zp));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint8x8_t b = vld1_u8(x + i);
    const int16x8_t v = vsubq_s16(is_signed ? vmovl_s8(vreinterpret_s8_u8(b)) : vreinterpretq_s16_u16(vmovl_u8(b)), z);
    vst1q_f32(y + i, vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(v))), s));
    vst1q_f32(y + i + 4, vmulq_f32(vcvtq_f32_s32(vmovl_high_s16(v)), s));
  }
  if (i < n) qgemm_portable().dequantize(x + i, n - i, is_signed, zp, scale, y + i);
}

// Depthwise: output columns in tiles of 8 (two int32x4), from the padded plane (qdw_impl.h); per
// tap the 8 input bytes (stride 1: one load; stride 2: the even bytes of 16, vld2) widened to
// int16, smlal by the tap's weight; each input row's bytes serve every output row that reads it.
constexpr int64_t kDwBufBytes = int64_t(64) << 10;
constexpr int kDwMaxTaps = 64;

template <int R>
void dw_rows(const QDwArgs& a, const QDwRowList<R>& rl, const uint8_t* buf, int64_t py0, int64_t wp, int64_t oy0,
             const int16_t* w16) {
  const int32x4_t corr = vdupq_n_s32(a.corr);
  const float32x4_t mult = vdupq_n_f32(a.mult);
  const uint8_t* base = buf + (oy0 * a.sh - py0) * wp;
  for (int64_t ox = 0; ox < a.ow; ox += 8) {
    int32x4_t acc[R][2];
    for (auto& c : acc) c[0] = c[1] = vdupq_n_s32(0);
    for (int e = 0; e < rl.n; ++e) {
      const uint8_t* row = base + rl.r[e] * wp + ox * a.sw;
      for (int64_t kx = 0; kx < a.kw; ++kx) {
        const uint8_t* s = row + kx * a.dw;
        const int16x8_t x = vreinterpretq_s16_u16(vmovl_u8(a.sw == 1 ? vld1_u8(s) : vld2_u8(s).val[0]));
        for (int j = 0; j < R; ++j) {
          const int ky = rl.ky[e][j];
          if (ky < 0) continue;
          const int16_t w = w16[ky * a.kw + kx];
          acc[j][0] = vmlal_n_s16(acc[j][0], vget_low_s16(x), w);
          acc[j][1] = vmlal_high_n_s16(acc[j][1], x, w);
        }
      }
    }
    for (int j = 0; j < R; ++j) {
      const uint8x8_t y = low_bytes(requant4(acc[j][0], corr, mult, !a.mult_below_one, a.zy, a.qmin, a.qmax),
                                    requant4(acc[j][1], corr, mult, !a.mult_below_one, a.zy, a.qmin, a.qmax));
      uint8_t* dst = a.y + (oy0 + j) * a.ow + ox;
      if (a.ow - ox >= 8) {
        vst1_u8(dst, y);
      } else {
        uint8_t out[8];
        vst1_u8(out, y);
        std::memcpy(dst, out, static_cast<size_t>(a.ow - ox));
      }
    }
  }
}

void dwconv_neon(const QDwArgs& a) {
  const int64_t wp = (a.ow + 7) / 8 * 8 * a.sw + (a.kw - 1) * a.dw + 16;  // columns read: see dw_rows
  if ((a.sw != 1 && a.sw != 2) || a.kh * a.kw > kDwMaxTaps || ((a.kh - 1) * a.dh + 1) * wp > kDwBufBytes) {
    qgemm_portable().dwconv(a);
    return;
  }
  int16_t w16[kDwMaxTaps];
  for (int64_t t = 0; t < a.kh * a.kw; ++t) w16[t] = a.wt[t];
  QDwRowList<4> l4;
  QDwRowList<1> l1;
  const bool four = qdw_row_list<4>(a, &l4);
  qdw_row_list<1>(a, &l1);
  alignas(16) uint8_t buf[kDwBufBytes];
  qdw_padded_bands(a, wp, buf, kDwBufBytes, [&](int64_t py0, int64_t oy0, int64_t oy1) {
    int64_t oy = oy0;
    if (four) {
      for (; oy + 4 <= oy1; oy += 4) dw_rows<4>(a, l4, buf, py0, wp, oy, w16);
    }
    for (; oy < oy1; ++oy) dw_rows<1>(a, l1, buf, py0, wp, oy, w16);
  });
}

}  // namespace

const QGemmKernels& qgemm_neon() {
  static const QGemmKernels k = [] {
    QGemmKernels t = qgemm_portable();
    t.name = "neon";
    t.gemm = &gemm_neon;
    t.quantize = &quantize_neon;
    t.dwconv = &dwconv_neon;
    t.dequantize = &dequantize_neon;
    return t;
  }();
  return k;
}

const QGemmKernels& qgemm_neon_dotprod() {
  static const QGemmKernels k = [] {
    QGemmKernels t = qgemm_neon();
    t.name = "neon+dotprod";
    t.gemm = &gemm_neon_dotprod;
    return t;
  }();
  return k;
}

}  // namespace edgeai::kernels::cpu
