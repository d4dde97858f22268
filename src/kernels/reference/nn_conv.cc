// Reference Conv, ConvTranspose and Col2Im. Conv runs as im2col + a row-parallel GEMM (a direct
// loop when each group has one input channel, as in depthwise conv); ConvTranspose and Col2Im
// scatter-add each kernel tap into their output planes.
#include <algorithm>
#include <cstring>

#include "kernels/reference/nn_internal.h"

namespace edgeai::kernels::ref::nn {
namespace {

// A kernel tap maps an iteration position p (over `iter` dims) to a position over `bound` dims:
//   b_d = p_d * strides_d - pad_begin_d + tap_d * dilations_d.
// Conv iterates output positions and reads the input (bound); ConvTranspose and Col2Im iterate
// input positions and write the output (bound).
struct TapGeom {
  int nd = 0;
  Shape iter, bound;
  std::vector<int64_t> strides, dilations, pad_begin;
  std::vector<int64_t> bound_strides;  // row-major strides of `bound`

  void finish() { bound_strides = shape_strides(bound); }
};

// Calls fn(p, len, x0, base) for each row segment of the flat iteration range [p0, p1): p is the
// flat index of the segment's first position, len its length, x0 its last-dim coordinate, and
// base the flat offset of the mapped row in `bound` (-1 when the row's leading coordinates fall
// outside `bound`). The last-dim coordinate x maps to base + x * s + off (see last_dim()).
template <typename F>
void for_each_row(const TapGeom& g, const int64_t* tap, int64_t p0, int64_t p1, F&& fn) {
  const int nd = g.nd;
  const int64_t w = g.iter[nd - 1];
  int64_t p = p0;
  while (p < p1) {
    const int64_t row = p / w;
    const int64_t x0 = p % w;
    const int64_t len = std::min(w - x0, p1 - p);
    int64_t base = 0;
    int64_t r = row;
    for (int d = nd - 2; d >= 0; --d) {
      const int64_t o = r % g.iter[d];
      r /= g.iter[d];
      const int64_t b = o * g.strides[d] - g.pad_begin[d] + tap[d] * g.dilations[d];
      if (b < 0 || b >= g.bound[d]) {
        base = -1;
        break;
      }
      base += b * g.bound_strides[d];
    }
    fn(p, len, x0, base);
    p += len;
  }
}

// For the last dim and a tap: offset `off` with b = x * s + off, and the range [lo, hi) of x with
// b inside `bound`.
struct LastDim {
  int64_t s, off, lo, hi;
};
inline LastDim last_dim(const TapGeom& g, const int64_t* tap) {
  const int d = g.nd - 1;
  LastDim l;
  l.s = g.strides[d];
  l.off = tap[d] * g.dilations[d] - g.pad_begin[d];
  valid_positions(l.off, l.s, g.iter[d], g.bound[d], &l.lo, &l.hi);
  return l;
}

// Multi-index of flat kernel tap `k` over dims `kernel`.
inline void tap_index(const Shape& kernel, int64_t k, int64_t* tap) {
  for (int d = static_cast<int>(kernel.size()) - 1; d >= 0; --d) {
    tap[d] = k % kernel[d];
    k /= kernel[d];
  }
}

constexpr int kMaxNd = 8;  // spatial dims supported by the fixed-size tap buffers

// ---------------------------------------------------------------------------------------------
// Conv

template <typename A>
struct ConvArgs {
  const A* x;
  const A* w;
  const A* b;  // may be null
  A* y;
  int64_t n, c, m, group;
  TapGeom geom;  // iter = output spatial, bound = input spatial
  Shape kernel;
};

// y[m, p] += sum_k w[m, k] * col[k, p] for m in [m0, m1), p in [0, tp); rows of col are `ldc`
// apart, rows of y `ldy` apart. k-blocked so a block of col stays in cache across rows m.
template <typename A>
void gemm_rows(const A* w, int64_t K, const A* col, int64_t ldc, int64_t tp, A* y, int64_t ldy,
               int64_t m0, int64_t m1) {
  constexpr int64_t kKB = 128;
  for (int64_t kb = 0; kb < K; kb += kKB) {
    const int64_t ke = std::min(K, kb + kKB);
    for (int64_t m = m0; m < m1; ++m) {
      A* yr = y + m * ldy;
      const A* wr = w + m * K;
      for (int64_t k = kb; k < ke; ++k) {
        const A wv = wr[k];
        const A* cr = col + k * ldc;
        for (int64_t p = 0; p < tp; ++p) yr[p] += wv * cr[p];
      }
    }
  }
}

template <typename A>
void conv_compute(KernelContext& ctx, const ConvArgs<A>& a) {
  const TapGeom& g = a.geom;
  const int64_t in_sp = shape_numel(g.bound), out_sp = shape_numel(g.iter);
  const int64_t kprod = shape_numel(a.kernel);
  const int64_t cg = a.c / a.group, mg = a.m / a.group;
  const int64_t K = cg * kprod;
  ThreadPool& pool = ctx.pool();

  // Bias first: every path accumulates into y.
  for (int64_t n = 0; n < a.n; ++n) {
    for (int64_t m = 0; m < a.m; ++m) {
      A* yp = a.y + (n * a.m + m) * out_sp;
      const A bv = a.b ? a.b[m] : A(0);
      for (int64_t p = 0; p < out_sp; ++p) yp[p] = bv;
    }
  }
  if (out_sp == 0 || K == 0) return;

  if (cg == 1) {
    // One input channel per group (depthwise and its multipliers): direct loop per output plane.
    pool.parallel_for(a.n * a.m, 1, [&](int64_t q0, int64_t q1) {
      int64_t tap[kMaxNd];
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t n = q / a.m, m = q % a.m;
        const int64_t gi = m / mg;
        const A* xp = a.x + (n * a.c + gi) * in_sp;
        const A* wp = a.w + m * kprod;
        A* yp = a.y + q * out_sp;
        for (int64_t k = 0; k < kprod; ++k) {
          tap_index(a.kernel, k, tap);
          const A wv = wp[k];
          const LastDim l = last_dim(g, tap);
          for_each_row(g, tap, 0, out_sp, [&](int64_t p, int64_t len, int64_t x0, int64_t base) {
            if (base < 0) return;
            const int64_t lo = std::max(l.lo, x0), hi = std::min(l.hi, x0 + len);
            if (lo >= hi) return;
            // Offsets into the rows, valid for x in [lo, hi).
            A* yr = yp + (p - x0) + lo;
            const A* xr = xp + (base + l.off + lo * l.s);
            const int64_t cnt = hi - lo;
            if (l.s == 1) {
              for (int64_t i = 0; i < cnt; ++i) yr[i] += wv * xr[i];
            } else {
              for (int64_t i = 0; i < cnt; ++i) yr[i] += wv * xr[i * l.s];
            }
          });
        }
      }
    });
    return;
  }

  // im2col + GEMM per (image, group), tiled over output positions.
  bool pointwise = kprod == 1;
  for (int d = 0; d < g.nd; ++d) {
    if (g.strides[d] != 1 || g.pad_begin[d] != 0 || g.iter[d] != g.bound[d]) pointwise = false;
  }
  const int64_t budget = int64_t(1) << 20;  // elements of one col tile
  const int64_t tp_max = std::min<int64_t>(out_sp, std::clamp<int64_t>(budget / K, 16, 512));
  std::vector<A> col;
  if (!pointwise) col.resize(static_cast<size_t>(K * tp_max));
  for (int64_t n = 0; n < a.n; ++n) {
    for (int64_t gi = 0; gi < a.group; ++gi) {
      const A* xg = a.x + (n * a.c + gi * cg) * in_sp;
      const A* wg = a.w + gi * mg * K;
      A* yg = a.y + (n * a.m + gi * mg) * out_sp;
      for (int64_t p0 = 0; p0 < out_sp; p0 += tp_max) {
        const int64_t p1 = std::min(out_sp, p0 + tp_max), tp = p1 - p0;
        const A* cp;
        int64_t ldc;
        if (pointwise) {
          cp = xg + p0;
          ldc = in_sp;
        } else {
          pool.parallel_for(K, 16, [&](int64_t k0, int64_t k1) {
            int64_t tap[kMaxNd];
            for (int64_t k = k0; k < k1; ++k) {
              const int64_t ci = k / kprod;
              tap_index(a.kernel, k % kprod, tap);
              const A* xc = xg + ci * in_sp;
              A* dst = col.data() + k * tp;
              const LastDim l = last_dim(g, tap);
              for_each_row(g, tap, p0, p1, [&](int64_t p, int64_t len, int64_t x0, int64_t base) {
                A* d = dst + (p - p0);  // d[i] is position x0 + i
                if (base < 0) {
                  for (int64_t i = 0; i < len; ++i) d[i] = A(0);
                  return;
                }
                const int64_t lo = std::clamp(l.lo, x0, x0 + len), hi = std::clamp(l.hi, lo, x0 + len);
                for (int64_t x = x0; x < lo; ++x) d[x - x0] = A(0);
                if (lo < hi) {
                  A* dr = d + (lo - x0);
                  const A* xr = xc + (base + l.off + lo * l.s);
                  const int64_t cnt = hi - lo;
                  if (l.s == 1) {
                    for (int64_t i = 0; i < cnt; ++i) dr[i] = xr[i];
                  } else {
                    for (int64_t i = 0; i < cnt; ++i) dr[i] = xr[i * l.s];
                  }
                }
                for (int64_t x = hi; x < x0 + len; ++x) d[x - x0] = A(0);
              });
            }
          });
          cp = col.data();
          ldc = tp;
        }
        pool.parallel_for(mg, 1, [&](int64_t m0, int64_t m1) {
          gemm_rows(wg, K, cp, ldc, tp, yg + p0, out_sp, m0, m1);
        });
      }
    }
  }
}

template <typename T>
Status conv_typed(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b,
                  int64_t group, const Window& win, Tensor* y) {
  using A = Acc<T>;
  std::vector<A> xb, wb, bb, yb;
  ConvArgs<A> a;
  a.x = as_acc<A, T>(x, xb);
  a.w = as_acc<A, T>(w, wb);
  a.b = b ? as_acc<A, T>(*b, bb) : nullptr;
  if constexpr (std::is_same_v<A, T>) {
    a.y = y->data<T>();
  } else {
    yb.assign(static_cast<size_t>(y->numel()), A(0));
    a.y = yb.data();
  }
  a.n = x.dim(0);
  a.c = x.dim(1);
  a.m = w.dim(0);
  a.group = group;
  a.kernel = win.kernel;
  a.geom.nd = win.nd;
  a.geom.iter = win.out;
  a.geom.bound = win.in;
  a.geom.strides = win.strides;
  a.geom.dilations = win.dilations;
  a.geom.pad_begin = win.pad_begin;
  a.geom.finish();
  conv_compute(ctx, a);
  if constexpr (!std::is_same_v<A, T>) store_all(a.y, y->numel(), y->data<T>());
  return ok_status();
}

// Checks X (rank >= 3), its weight W and optional bias B shared by Conv and ConvTranspose.
Status check_conv_inputs(const KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 3, 2));
  RETURN_IF_ERROR(check_float(ctx, 0));
  RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  if (x.rank() < 3 || x.rank() > kMaxNd + 2) {
    return ctx.error("X must have rank 3.." + std::to_string(kMaxNd + 2) + " (N, C, spatial...), got shape " +
                     shape_str(x.shape()));
  }
  if (w.rank() != x.rank()) {
    return ctx.error("W must have the rank of X (" + std::to_string(x.rank()) + "), got shape " +
                     shape_str(w.shape()));
  }
  if (ctx.has_input(2)) RETURN_IF_ERROR(check_same_dtype(ctx, 0, 2));
  return ok_status();
}

// The kernel dims from W's spatial dims, checked against a kernel_shape attribute.
Result<Shape> weight_kernel(const KernelContext& ctx, const Tensor& w) {
  Shape kernel(w.shape().begin() + 2, w.shape().end());
  for (int64_t k : kernel) {
    if (k < 1) return ctx.error("W has an empty kernel: shape " + shape_str(w.shape()));
  }
  if (ctx.has_attr("kernel_shape")) {
    std::vector<int64_t> ks = ctx.attr_ints("kernel_shape");
    if (ks != kernel) {
      return ctx.error("kernel_shape " + ints_str(ks) + " does not match W's spatial dims " + shape_str(kernel));
    }
  }
  return kernel;
}

Status check_bias(const KernelContext& ctx, int64_t m) {
  if (!ctx.has_input(2)) return ok_status();
  const Tensor& b = ctx.input(2);
  if (b.rank() != 1 || b.dim(0) != m) {
    return ctx.error("B must have shape [" + std::to_string(m) + "] (output channels), got " + shape_str(b.shape()));
  }
  return ok_status();
}

// ---------------------------------------------------------------------------------------------
// ConvTranspose and Col2Im: scatter-add.

// dst[bound] += wv * src[iter] for one tap.
template <typename A>
void scatter_tap(const TapGeom& g, const int64_t* tap, A wv, const A* src, int64_t n_iter, A* dst) {
  const LastDim l = last_dim(g, tap);
  for_each_row(g, tap, 0, n_iter, [&](int64_t p, int64_t len, int64_t x0, int64_t base) {
    if (base < 0) return;
    const int64_t lo = std::max(l.lo, x0), hi = std::min(l.hi, x0 + len);
    if (lo >= hi) return;
    const A* sr = src + (p - x0) + lo;
    A* dr = dst + (base + l.off + lo * l.s);
    const int64_t cnt = hi - lo;
    if (l.s == 1) {
      for (int64_t i = 0; i < cnt; ++i) dr[i] += wv * sr[i];
    } else {
      for (int64_t i = 0; i < cnt; ++i) dr[i * l.s] += wv * sr[i];
    }
  });
}

template <typename T>
Status conv_transpose_typed(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b,
                            int64_t group, const TapGeom& g, const Shape& kernel, Tensor* y) {
  using A = Acc<T>;
  std::vector<A> xb, wb, bb, yb;
  const A* xa = as_acc<A, T>(x, xb);
  const A* wa = as_acc<A, T>(w, wb);
  const A* ba = b ? as_acc<A, T>(*b, bb) : nullptr;
  A* ya;
  if constexpr (std::is_same_v<A, T>) {
    ya = y->data<T>();
  } else {
    yb.assign(static_cast<size_t>(y->numel()), A(0));
    ya = yb.data();
  }
  const int64_t n_img = x.dim(0), c = x.dim(1), cg = c / group;
  const int64_t mg = w.dim(1), m = mg * group;
  const int64_t in_sp = shape_numel(g.iter), out_sp = shape_numel(g.bound);
  const int64_t kprod = shape_numel(kernel);
  ctx.pool().parallel_for(n_img * m, 1, [&](int64_t q0, int64_t q1) {
    int64_t tap[kMaxNd];
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t n = q / m, mo = q % m;
      const int64_t gi = mo / mg, ml = mo % mg;
      A* yp = ya + q * out_sp;
      const A bv = ba ? ba[mo] : A(0);
      for (int64_t p = 0; p < out_sp; ++p) yp[p] = bv;
      if (in_sp == 0 || out_sp == 0) continue;
      for (int64_t ci = gi * cg; ci < (gi + 1) * cg; ++ci) {
        const A* xp = xa + (n * c + ci) * in_sp;
        const A* wp = wa + (ci * mg + ml) * kprod;
        for (int64_t k = 0; k < kprod; ++k) {
          tap_index(kernel, k, tap);
          scatter_tap(g, tap, wp[k], xp, in_sp, yp);
        }
      }
    }
  });
  if constexpr (!std::is_same_v<A, T>) store_all(ya, y->numel(), y->data<T>());
  return ok_status();
}

}  // namespace

Status conv(KernelContext& ctx) {
  RETURN_IF_ERROR(check_conv_inputs(ctx));
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const int64_t group = ctx.attr_int("group", 1);
  const int64_t c = x.dim(1), m = w.dim(0);
  if (group < 1) return ctx.error("group must be >= 1, got " + std::to_string(group));
  if (c % group != 0 || w.dim(1) != c / group) {
    return ctx.error("X has " + std::to_string(c) + " channels but W has " + std::to_string(w.dim(1)) +
                     " input channels per group with group = " + std::to_string(group) + " (W shape " +
                     shape_str(w.shape()) + ")");
  }
  if (m % group != 0) {
    return ctx.error("W's output channels " + std::to_string(m) + " are not divisible by group " +
                     std::to_string(group));
  }
  RETURN_IF_ERROR(check_bias(ctx, m));
  ASSIGN_OR_RETURN(Shape kernel, weight_kernel(ctx, w));
  Shape in(x.shape().begin() + 2, x.shape().end());
  ASSIGN_OR_RETURN(Window win, make_window(ctx, in, kernel, true, false, false));
  Shape out_shape{x.dim(0), m};
  out_shape.insert(out_shape.end(), win.out.begin(), win.out.end());
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out_shape));
  const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  return visit_float(x.dtype(), [&]<typename T>() { return conv_typed<T>(ctx, x, w, b, group, win, y); });
}

Status conv_transpose(KernelContext& ctx) {
  RETURN_IF_ERROR(check_conv_inputs(ctx));
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const int nd = x.rank() - 2;
  const int64_t group = ctx.attr_int("group", 1);
  const int64_t c = x.dim(1);
  if (group < 1) return ctx.error("group must be >= 1, got " + std::to_string(group));
  if (w.dim(0) != c || c % group != 0) {
    return ctx.error("W must have shape [C, M/group, k...] with C = " + std::to_string(c) +
                     " divisible by group = " + std::to_string(group) + ", got W shape " + shape_str(w.shape()));
  }
  if (w.dim(1) > (int64_t(1) << 40) / group) return ctx.error("W's output channels are too large");
  const int64_t m = w.dim(1) * group;
  RETURN_IF_ERROR(check_bias(ctx, m));
  ASSIGN_OR_RETURN(Shape kernel, weight_kernel(ctx, w));
  TapGeom g;
  g.nd = nd;
  g.iter.assign(x.shape().begin() + 2, x.shape().end());
  ASSIGN_OR_RETURN(g.strides, read_ints(ctx, "strides", nd, 1, 1, kMaxWindowValue));
  ASSIGN_OR_RETURN(g.dilations, read_ints(ctx, "dilations", nd, 1, 1, kMaxWindowValue));
  ASSIGN_OR_RETURN(std::vector<int64_t> out_pad, read_ints(ctx, "output_padding", nd, 0, 0, kMaxWindowValue));
  ASSIGN_OR_RETURN(AutoPad ap, read_auto_pad(ctx));
  std::vector<int64_t> pads(2 * nd, 0);
  if (ap == AutoPad::kNotSet) {
    ASSIGN_OR_RETURN(pads, read_ints(ctx, "pads", 2 * nd, 0, 0, kMaxWindowValue));
  }
  std::vector<int64_t> out_shape_attr;
  if (ctx.has_attr("output_shape")) {
    out_shape_attr = ctx.attr_ints("output_shape");
    // Either the spatial dims or the whole shape (N, C, spatial...): use the trailing dims.
    if (static_cast<int>(out_shape_attr.size()) != nd && static_cast<int>(out_shape_attr.size()) != nd + 2) {
      return ctx.error("output_shape " + ints_str(out_shape_attr) + " must have " + std::to_string(nd) +
                       " spatial dims");
    }
    out_shape_attr.erase(out_shape_attr.begin(), out_shape_attr.end() - nd);
    for (int64_t v : out_shape_attr) {
      if (v < 0 || v > (int64_t(1) << 40)) return ctx.error("output_shape " + ints_str(out_shape_attr) + " is out of range");
    }
  }
  g.pad_begin.assign(nd, 0);
  g.bound.assign(nd, 0);
  for (int d = 0; d < nd; ++d) {
    const int64_t ext = g.dilations[d] * (kernel[d] - 1) + 1;
    const int64_t in = g.iter[d];
    if (in > 0 && g.strides[d] > (int64_t(1) << 50) / in) {
      return ctx.error("strides " + ints_str(g.strides) + " are too large for input dims " + shape_str(g.iter));
    }
    const int64_t full = g.strides[d] * (in - 1) + out_pad[d] + ext;
    if (!out_shape_attr.empty() || ap == AutoPad::kSameUpper || ap == AutoPad::kSameLower) {
      const int64_t out = !out_shape_attr.empty() ? out_shape_attr[d] : in * g.strides[d];
      const int64_t total = std::max<int64_t>(0, full - out);
      g.pad_begin[d] = ap == AutoPad::kSameLower ? total - total / 2 : total / 2;
      g.bound[d] = out;
    } else if (ap == AutoPad::kValid) {
      g.bound[d] = full;
    } else {
      g.pad_begin[d] = pads[d];
      g.bound[d] = full - pads[d] - pads[d + nd];
    }
    if (g.bound[d] < 0) {
      return ctx.error("output spatial dim " + std::to_string(d) + " would be " + std::to_string(g.bound[d]) +
                       " (input " + std::to_string(in) + ", pads " + ints_str(pads) + ")");
    }
  }
  g.finish();
  Shape out_shape{x.dim(0), m};
  out_shape.insert(out_shape.end(), g.bound.begin(), g.bound.end());
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out_shape));
  const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  return visit_float(x.dtype(),
                     [&]<typename T>() { return conv_transpose_typed<T>(ctx, x, w, b, group, g, kernel, y); });
}

Status col2im(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 3, 3, 3));
  const Tensor& x = ctx.input(0);
  const Tensor& img = ctx.input(1);
  const Tensor& blk = ctx.input(2);
  if (x.rank() != 3) return ctx.error("input must have shape [N, C*prod(block_shape), L], got " + shape_str(x.shape()));
  if (!dtype_is_integer(img.dtype()) || !dtype_is_integer(blk.dtype()) || img.rank() != 1 || blk.rank() != 1 ||
      img.numel() != blk.numel() || img.numel() < 1 || img.numel() > kMaxNd) {
    return ctx.error("image_shape and block_shape must be 1-D integer tensors of the same length (1.." +
                     std::to_string(kMaxNd) + "), got " + shape_str(img.shape()) + " and " + shape_str(blk.shape()));
  }
  const int nd = static_cast<int>(img.numel());
  Shape image = img.to_int64_vector(), block = blk.to_int64_vector();
  for (int d = 0; d < nd; ++d) {
    if (image[d] < 0 || image[d] > (int64_t(1) << 40)) return ctx.error("image_shape " + ints_str(image) + " is out of range");
    if (block[d] < 1 || block[d] > kMaxWindowValue) return ctx.error("block_shape " + ints_str(block) + " must be positive");
  }
  ASSIGN_OR_RETURN(Window win, make_window(ctx, image, block, true, false, false));
  const int64_t kprod = shape_numel(block);
  if (x.dim(1) % kprod != 0) {
    return ctx.error("input dim 1 (" + std::to_string(x.dim(1)) + ") is not a multiple of prod(block_shape) = " +
                     std::to_string(kprod));
  }
  const int64_t blocks = shape_numel(win.out);
  if (x.dim(2) != blocks) {
    return ctx.error("input has " + std::to_string(x.dim(2)) + " blocks (dim 2), but image " + ints_str(image) +
                     " with block " + ints_str(block) + " gives " + shape_str(win.out) + " = " + std::to_string(blocks));
  }
  const int64_t n_img = x.dim(0), c = x.dim(1) / kprod;
  Shape out_shape{n_img, c};
  out_shape.insert(out_shape.end(), image.begin(), image.end());
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out_shape));
  TapGeom g;
  g.nd = nd;
  g.iter = win.out;
  g.bound = image;
  g.strides = win.strides;
  g.dilations = win.dilations;
  g.pad_begin = win.pad_begin;
  g.finish();
  const int64_t out_sp = shape_numel(image);
  if (y->numel() == 0) return ok_status();
  return visit_numeric(x.dtype(), [&]<typename T>() {
    // Floats add in their compute type; integers wrap (through uint64).
    using A = std::conditional_t<kIsFloat<T>, Acc<T>, uint64_t>;
    std::vector<A> xb, yb(static_cast<size_t>(y->numel()), A(0));
    const A* xa = as_acc<A, T>(x, xb);
    ctx.pool().parallel_for(n_img * c, 1, [&](int64_t q0, int64_t q1) {
      int64_t tap[kMaxNd];
      for (int64_t q = q0; q < q1; ++q) {
        A* yp = yb.data() + q * out_sp;
        for (int64_t k = 0; k < kprod; ++k) {
          tap_index(block, k, tap);
          scatter_tap(g, tap, A(1), xa + (q * kprod + k) * blocks, blocks, yp);
        }
      }
    });
    store_all(yb.data(), y->numel(), y->data<T>());
    return ok_status();
  });
}

}  // namespace edgeai::kernels::ref::nn
