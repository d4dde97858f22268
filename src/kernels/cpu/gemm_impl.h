// The f32 GEMM micro-kernels and packing routines, written once over the vector-ops abstraction
// (simd_portable.h) and instantiated by each ISA's ukernels_<isa>.cc. See ukernels.h for the
// operand layouts. Include only from those files.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/cpu/simd_math.h"
#include "kernels/cpu/ukernels.h"

namespace edgeai::kernels::cpu {

// V: vector type; kMR x (kNV * lanes) register tile.
template <class V, int kMR, int kNV>
struct GemmImpl {
  using F = typename V::F;
  static constexpr int L = V::kLanes;
  static constexpr int kNR = kNV * L;
  // col_tail's independent accumulator sets over k for NC columns (so that few columns are not
  // bound by the multiply-add latency); kXSets for tile's extra column.
  static constexpr int col_sets(int nc) {
    return nc * (kMR / V::Half::kLanes) >= 4 ? 1 : 4 / (nc * (kMR / V::Half::kLanes));
  }
  static constexpr int kXSets = col_sets(1);

  // One tile of MR rows and NV vectors of columns (the last partial when kTail; `nr` columns in
  // all). a: A panel (stride kMR per k); b: B panel (ldb per k).
  //
  // kX: the tile also computes one extra column, read at bx (ldb apart per k, like b): the lone
  // column past the last full tile (n = 49 on 7x7 planes) costs a few Half-width multiply-adds
  // per k here instead of a pass of its own over the whole depth (col_tail<1>, 12% of such a
  // GEMM). Its sums are formed exactly as col_tail<1> forms them (XS sets over k mod XS, added
  // in order), so a column's result does not depend on which of the two computed it.
  template <int MR, int NV, bool kTail, bool kX = false>
  static void tile(const GemmBlock& blk, const float* a, const float* b, float* c, int64_t i0, int64_t j0, int nr,
                   const float* bx = nullptr) {
    using H = typename V::Half;
    constexpr int XH = kX ? kMR / H::kLanes : 1;
    F acc[MR * NV];
    typename H::F accx[kXSets][1][XH];
#pragma GCC unroll 32
    for (int i = 0; i < MR * NV; ++i) acc[i] = V::zero();
    if constexpr (kX) {
#pragma GCC unroll 4
      for (int s = 0; s < kXSets; ++s) {
#pragma GCC unroll 4
        for (int r = 0; r < XH; ++r) accx[s][0][r] = H::zero();
      }
    }
    const typename V::Mask m = V::mask(kTail ? nr - (NV - 1) * L : L);
    const int64_t ldb = blk.ldb;
    auto step = [&](int s) __attribute__((always_inline)) {
      F bv[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) bv[j] = (kTail && j == NV - 1) ? V::load(b + j * L, m) : V::load(b + j * L);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const F av = V::set1(a[i]);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[i * NV + j] = V::fmadd(av, bv[j], acc[i * NV + j]);
      }
      if constexpr (kX) {
        const typename H::F xv = H::set1(*bx);
#pragma GCC unroll 4
        for (int r = 0; r < XH; ++r) accx[s][0][r] = H::fmadd(H::load(a + r * H::kLanes), xv, accx[s][0][r]);
        bx += ldb;
      }
      a += kMR;
      b += ldb;
    };
    int64_t k = 0;
    if constexpr (kX) {
      for (; k + kXSets <= blk.kc; k += kXSets) {
#pragma GCC unroll 4
        for (int s = 0; s < kXSets; ++s) step(s);
      }
    }
    for (; k < blk.kc; ++k) step(0);
    if constexpr (kX) {
      float t[kMR];
      sum_sets<1, XH, kXSets>(accx, t);
      col_epilogue<1>(blk, t, c + nr, i0, j0 + nr, MR);
    }
    // The epilogue works on a copy of one row at a time, so that `acc` never escapes and stays
    // in registers.
    const int64_t ldc = blk.ldc;
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      F row[NV];
      float* cr = c + i * ldc;
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        row[j] = acc[i * NV + j];
        if (blk.accumulate) row[j] = V::add(row[j], (kTail && j == NV - 1) ? V::load(cr + j * L, m) : V::load(cr + j * L));
      }
      if (blk.last) {
        if (blk.bias) {
          const float* bp = blk.bias + (i0 + i) * blk.bias_rs + j0 * blk.bias_cs;
          if (blk.bias_cs == 0) {
            const F bb = V::set1(*bp);
            for (int j = 0; j < NV; ++j) row[j] = V::add(row[j], bb);
          } else {
            for (int j = 0; j < NV; ++j) {
              row[j] = V::add(row[j], (kTail && j == NV - 1) ? V::load(bp + j * L, m) : V::load(bp + j * L));
            }
          }
        }
        if (blk.res) {
          const float* rp = blk.res + (i0 + i) * blk.ld_res + j0;
#pragma GCC unroll 4
          for (int j = 0; j < NV; ++j) {
            row[j] = V::add(row[j], (kTail && j == NV - 1) ? V::load(rp + j * L, m) : V::load(rp + j * L));
          }
        }
        if (blk.act.kind == ActKind::kRelu) {
#pragma GCC unroll 4
          for (int j = 0; j < NV; ++j) row[j] = V::max(V::zero(), row[j]);
        } else if (blk.act.kind == ActKind::kClip) {
          const F lo = V::set1(blk.act.alpha), hi = V::set1(blk.act.beta);
#pragma GCC unroll 4
          for (int j = 0; j < NV; ++j) row[j] = V::min(hi, V::max(lo, row[j]));
        }
      }
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        if (kTail && j == NV - 1) V::store(cr + j * L, row[j], m);
        else V::store(cr + j * L, row[j]);
      }
    }
  }

  // Relu and Clip are applied in registers; costlier activations run over each finished strip
  // of rows (still in cache) in long vector loops, so that the accumulators are never spilled
  // around them.
  static bool act_in_registers(const Activation& a) {
    return a.kind == ActKind::kNone || a.kind == ActKind::kRelu || a.kind == ActKind::kClip;
  }
  __attribute__((noinline)) static void activate_rows(float* c, int64_t ldc, int rows, int64_t n,
                                                       const Activation& act) {
    for (int i = 0; i < rows; ++i) Math<V>::map(act, c + i * ldc, c + i * ldc, n);
  }

  // A tail of nr <= 4 columns: vectors run down the kMR rows of the A panel (Half lanes) and
  // the B values are broadcast, so a single column costs kMR / Half lanes multiply-adds per k
  // instead of a whole masked row-vector per row.
  template <int NC>
  static void col_tail(const GemmBlock& blk, const float* a, const float* b, float* c, int64_t i0, int64_t j0, int mr) {
    using H = typename V::Half;
    constexpr int HL = H::kLanes, NH = kMR / HL;
    static_assert(kMR % HL == 0, "Half lanes divide the tile rows");
    constexpr int S = col_sets(NC);
    typename H::F acc[S][NC][NH];
#pragma GCC unroll 4
    for (int s = 0; s < S; ++s) {
#pragma GCC unroll 4
      for (int j = 0; j < NC; ++j) {
#pragma GCC unroll 4
        for (int r = 0; r < NH; ++r) acc[s][j][r] = H::zero();
      }
    }
    const int64_t ldb = blk.ldb;
    auto step = [&](int s) {
      typename H::F av[NH];
#pragma GCC unroll 4
      for (int r = 0; r < NH; ++r) av[r] = H::load(a + r * HL);
#pragma GCC unroll 4
      for (int j = 0; j < NC; ++j) {
        const typename H::F bj = H::set1(b[j]);
#pragma GCC unroll 4
        for (int r = 0; r < NH; ++r) acc[s][j][r] = H::fmadd(av[r], bj, acc[s][j][r]);
      }
      a += kMR;
      b += ldb;
    };
    int64_t k = 0;
    for (; k + S <= blk.kc; k += S) {
#pragma GCC unroll 4
      for (int s = 0; s < S; ++s) step(s);
    }
    for (; k < blk.kc; ++k) step(0);
    float t[NC * kMR];
    sum_sets<NC, NH, S>(acc, t);
    col_epilogue<NC>(blk, t, c, i0, j0, mr);
  }

  // Column j's sums for the kMR rows into t[j * kMR ...]: the S sets added in order.
  template <int NC, int NH, int S, class HF>
  static void sum_sets(const HF (&acc)[S][NC][NH], float* t) {
    using H = typename V::Half;
    constexpr int HL = H::kLanes;
    float part[S * HL];
#pragma GCC unroll 4
    for (int j = 0; j < NC; ++j) {
#pragma GCC unroll 4
      for (int r = 0; r < NH; ++r) {
#pragma GCC unroll 4
        for (int s = 0; s < S; ++s) H::store(part + s * HL, acc[s][j][r]);
        for (int l = 0; l < HL; ++l) {
          float sum = part[l];
          for (int s = 1; s < S; ++s) sum += part[s * HL + l];
          t[j * kMR + r * HL + l] = sum;
        }
      }
    }
  }

  // Epilogue of NC columns of mr rows whose sums are t[j * kMR + r], down each column: the rows'
  // values gathered into vectors (one activation per L rows, not per row), then scattered back
  // to C (c: the first column's top row).
  template <int NC>
  static void col_epilogue(const GemmBlock& blk, const float* t, float* c, int64_t i0, int64_t j0, int mr) {
    for (int j = 0; j < NC; ++j) {
      for (int r0 = 0; r0 < mr; r0 += L) {
        const int nrow = mr - r0 < L ? mr - r0 : L;
        float col[L] = {};
        float* cj = c + j;
        for (int r = 0; r < nrow; ++r) col[r] = t[j * kMR + r0 + r];
        if (blk.accumulate) {
          for (int r = 0; r < nrow; ++r) col[r] += cj[(r0 + r) * blk.ldc];
        }
        if (blk.last) {
          if (blk.bias) {
            const float* bp = blk.bias + (i0 + r0) * blk.bias_rs + (j0 + j) * blk.bias_cs;
            for (int r = 0; r < nrow; ++r) col[r] += bp[r * blk.bias_rs];
          }
          if (blk.res) {
            const float* rp = blk.res + (i0 + r0) * blk.ld_res + j0 + j;
            for (int r = 0; r < nrow; ++r) col[r] += rp[r * blk.ld_res];
          }
          if (blk.act.kind != ActKind::kNone && act_in_registers(blk.act)) {
            V::store(col, Math<V>::apply1(blk.act, V::load(col)));
          }
        }
        for (int r = 0; r < nrow; ++r) cj[(r0 + r) * blk.ldc] = col[r];
      }
    }
  }
  static void dispatch_col_tail(const GemmBlock& blk, const float* a, const float* b, float* c, int64_t i0,
                                int64_t j0, int nr, int mr) {
    switch (nr) {
      case 1: return col_tail<1>(blk, a, b, c, i0, j0, mr);
      case 2: return col_tail<2>(blk, a, b, c, i0, j0, mr);
      case 3: return col_tail<3>(blk, a, b, c, i0, j0, mr);
      default: return col_tail<4>(blk, a, b, c, i0, j0, mr);
    }
  }

  // The tiles of one MR-row strip.
  template <int MR, int NV>
  static void strip_nv(const GemmBlock& blk, const float* a, const float* b, float* c, int64_t i0, int64_t j0, int nr) {
    if (nr == NV * L) tile<MR, NV, false>(blk, a, b, c, i0, j0, nr);
    else tile<MR, NV, true>(blk, a, b, c, i0, j0, nr);
  }
  template <int MR, int NV>
  static void dispatch_nv(const GemmBlock& blk, const float* a, const float* b, float* c, int64_t i0, int64_t j0, int nr) {
    if (nr > (NV - 1) * L) strip_nv<MR, NV>(blk, a, b, c, i0, j0, nr);
    else if constexpr (NV > 1) dispatch_nv<MR, NV - 1>(blk, a, b, c, i0, j0, nr);
  }
  template <int MR>
  static void strip(const GemmBlock& blk, const float* a, int64_t i0) {
    float* c = blk.c + i0 * blk.ldc;
    for (int64_t j0 = 0, q = 0; j0 < blk.nc; j0 += kNR, ++q) {
      const int nr = static_cast<int>(blk.nc - j0 < kNR ? blk.nc - j0 : kNR);
      const float* b = blk.b + q * blk.b_panel_stride;
      if (nr == kNR && blk.nc - j0 == kNR + 1) {  // a lone column left: with this tile
        tile<MR, kNV, false, true>(blk, a, b, c + j0, i0, j0, nr, blk.b + (q + 1) * blk.b_panel_stride);
        break;
      }
      if (nr == kNR) tile<MR, kNV, false>(blk, a, b, c + j0, i0, j0, nr);
      else if (nr <= 4 && nr < L) dispatch_col_tail(blk, a, b, c + j0, i0, j0, nr, MR);
      else dispatch_nv<MR, kNV>(blk, a, b, c + j0, i0, j0, nr);
    }
    if (blk.last && !act_in_registers(blk.act)) activate_rows(c, blk.ldc, MR, blk.nc, blk.act);
  }
  template <int MR>
  static void dispatch_mr(const GemmBlock& blk, const float* a, int64_t i0, int mr) {
    if (mr == MR) strip<MR>(blk, a, i0);
    else if constexpr (MR > 1) dispatch_mr<MR - 1>(blk, a, i0, mr);
  }

  static void gemm_block(const GemmBlock& blk) {
    for (int64_t i0 = 0, p = 0; i0 < blk.mc; i0 += kMR, ++p) {
      const int mr = static_cast<int>(blk.mc - i0 < kMR ? blk.mc - i0 : kMR);
      dispatch_mr<kMR>(blk, blk.a + p * blk.a_panel_stride, i0, mr);
    }
  }

  static void pack_a(const float* a, int64_t rs, int64_t cs, int64_t m, int64_t k0, int64_t kc, float* dst) {
    for (int64_t i0 = 0; i0 < m; i0 += kMR, dst += kc * kMR) {
      const int64_t mr = m - i0 < kMR ? m - i0 : kMR;
      for (int64_t i = 0; i < mr; ++i) {
        const float* src = a + (i0 + i) * rs + k0 * cs;
        if (cs == 1) {
          for (int64_t k = 0; k < kc; ++k) dst[k * kMR + i] = src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) dst[k * kMR + i] = src[k * cs];
        }
      }
      for (int64_t i = mr; i < kMR; ++i) {
        for (int64_t k = 0; k < kc; ++k) dst[k * kMR + i] = 0.0f;
      }
    }
  }

  // Copies n (<= kNR) floats of a row into a panel row, zero-filling to kNR.
  static void copy_row(const float* src, int64_t n, float* dst) {
    int64_t j = 0;
    for (; j + L <= n; j += L) V::store(dst + j, V::load(src + j));
    if (j < n) {
      V::store(dst + j, V::load(src + j, V::mask(static_cast<int>(n - j))));
      j += L;
    }
    for (; j < kNR; j += L) V::store(dst + j, V::zero());
  }

  static void pack_b(const float* b, int64_t rs, int64_t cs, int64_t k0, int64_t kc, int64_t n, float* dst) {
    for (int64_t j0 = 0; j0 < n; j0 += kNR, dst += kc * kNR) {
      const int64_t nr = n - j0 < kNR ? n - j0 : kNR;
      if (cs == 1) {
        for (int64_t k = 0; k < kc; ++k) copy_row(b + (k0 + k) * rs + j0, nr, dst + k * kNR);
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          for (int64_t j = nr; j < kNR; ++j) dst[k * kNR + j] = 0.0f;
        }
        for (int64_t j = 0; j < nr; ++j) {
          const float* src = b + (j0 + j) * cs + k0 * rs;
          for (int64_t k = 0; k < kc; ++k) dst[k * kNR + j] = src[k * rs];
        }
      }
    }
  }

  static void zero_run(float* d, int64_t n) {
    for (int64_t i = 0; i < n; ++i) d[i] = 0.0f;
  }

  // im2col columns [n0, n0 + n) of rows [k0, k0 + kc) from phase planes: each row is runs of
  // one output row each, plain copies (the planes hold the padding).
  static void pack_b_im2col(const Im2colPlanes& p, int64_t k0, int64_t kc, int64_t n0, int64_t n, float* dst) {
    const int64_t taps = p.kh * p.kw;
    for (int64_t j0 = 0; j0 < n; j0 += kNR, dst += kc * kNR) {
      const int64_t nr = n - j0 < kNR ? n - j0 : kNR;
      const int64_t oy0 = (n0 + j0) / p.ow, ox0 = (n0 + j0) % p.ow;
      for (int64_t kk = 0; kk < kc; ++kk) {
        const int64_t k = k0 + kk;
        const float* src = p.planes + (k / taps) * p.plane_stride + p.tap_off[k % taps];
        float* d = dst + kk * kNR;
        int64_t j = 0, oy = oy0, ox = ox0;
        while (j < nr) {
          const int64_t seg = nr - j < p.ow - ox ? nr - j : p.ow - ox;
          const float* s = src + oy * p.wq + ox;
          int64_t t = 0;
          for (; t + L <= seg; t += L) V::store(d + j + t, V::load(s + t));
          if (t < seg) {
            const typename V::Mask m = V::mask(static_cast<int>(seg - t));
            V::store(d + j + t, V::load(s + t, m), m);
          }
          j += seg;
          ox = 0;
          ++oy;
        }
        zero_run(d + nr, kNR - nr);
      }
    }
  }
};

}  // namespace edgeai::kernels::cpu
