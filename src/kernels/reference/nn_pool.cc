// Reference pooling kernels: MaxPool (with Indices), AveragePool, LpPool, their Global* forms,
// MaxUnpool, MaxRoiPool and RoiAlign. Each (image, channel) plane is one parallel task.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/reference/nn_internal.h"

namespace edgeai::kernels::ref::nn {
namespace {

constexpr int kMaxNd = 8;

// Checks X (rank 3.. with N, C first) and reads the window of a pool op: kernel_shape
// (required), strides, pads, auto_pad, dilations and ceil_mode.
Result<Window> pool_window(const KernelContext& ctx, const Tensor& x, bool allow_ceil) {
  if (x.rank() < 3 || x.rank() > kMaxNd + 2) {
    return ctx.error("X must have rank 3.." + std::to_string(kMaxNd + 2) + " (N, C, spatial...), got shape " +
                     shape_str(x.shape()));
  }
  const int nd = x.rank() - 2;
  if (!ctx.has_attr("kernel_shape")) return ctx.error("attribute kernel_shape is required");
  Shape kernel = ctx.attr_ints("kernel_shape");
  if (static_cast<int>(kernel.size()) != nd) {
    return ctx.error("kernel_shape " + ints_str(kernel) + " must have " + std::to_string(nd) +
                     " values for X of shape " + shape_str(x.shape()));
  }
  const int64_t ceil_mode = allow_ceil ? ctx.attr_int("ceil_mode", 0) : 0;
  if (ceil_mode != 0 && ceil_mode != 1) return ctx.error("ceil_mode must be 0 or 1, got " + std::to_string(ceil_mode));
  Shape in(x.shape().begin() + 2, x.shape().end());
  return make_window(ctx, in, kernel, true, ceil_mode == 1, true);
}

Shape pooled_shape(const Tensor& x, const Window& w) {
  Shape s{x.dim(0), x.dim(1)};
  s.insert(s.end(), w.out.begin(), w.out.end());
  return s;
}

// Visits the input offsets (row-major, within one plane) of the window at output position `o`.
template <typename F>
void for_each_tap(const Window& w, const std::vector<int64_t>& in_strides, const int64_t* o, F&& visit) {
  const int nd = w.nd;
  int64_t lo[kMaxNd], hi[kMaxNd], st[kMaxNd], j[kMaxNd];
  for (int d = 0; d < nd; ++d) {
    st[d] = o[d] * w.strides[d] - w.pad_begin[d];
    valid_taps(st[d], w.kernel[d], w.dilations[d], w.in[d], &lo[d], &hi[d]);
    if (lo[d] >= hi[d]) return;
    j[d] = lo[d];
  }
  while (true) {
    int64_t off = 0;
    for (int d = 0; d < nd; ++d) off += (st[d] + j[d] * w.dilations[d]) * in_strides[d];
    visit(off);
    int d = nd - 1;
    for (; d >= 0; --d) {
      if (++j[d] < hi[d]) break;
      j[d] = lo[d];
    }
    if (d < 0) return;
  }
}

// Number of window taps inside the padded input (count_include_pad) or inside the input.
int64_t window_count(const Window& w, const int64_t* o, bool include_pad) {
  int64_t count = 1;
  for (int d = 0; d < w.nd; ++d) {
    int64_t st = o[d] * w.strides[d] - w.pad_begin[d];
    int64_t lo, hi;
    if (include_pad) {
      valid_taps(st + w.pad_begin[d], w.kernel[d], w.dilations[d], w.in[d] + w.pad_begin[d] + w.pad_end[d], &lo, &hi);
    } else {
      valid_taps(st, w.kernel[d], w.dilations[d], w.in[d], &lo, &hi);
    }
    count *= std::max<int64_t>(0, hi - lo);
  }
  return count;
}

// Calls fn(plane, out_flat, o) for every output position of every (image, channel) plane, in
// parallel over planes.
template <typename F>
void for_each_output(KernelContext& ctx, int64_t planes, const Window& w, F&& fn) {
  const int64_t out_sp = shape_numel(w.out);
  if (out_sp == 0) return;
  ctx.pool().parallel_for(planes, 1, [&](int64_t q0, int64_t q1) {
    int64_t o[kMaxNd];
    for (int64_t q = q0; q < q1; ++q) {
      for (int d = 0; d < w.nd; ++d) o[d] = 0;
      for (int64_t p = 0; p < out_sp; ++p) {
        fn(q, p, o);
        for (int d = w.nd - 1; d >= 0; --d) {
          if (++o[d] < w.out[d]) break;
          o[d] = 0;
        }
      }
    }
  });
}

template <typename T>
T lowest_value() {
  if constexpr (kIsFloat<T>) return store<T>(-std::numeric_limits<float>::infinity());
  else return std::numeric_limits<T>::lowest();
}

enum class PoolKind { kAverage, kLp };

// AveragePool and LpPool (and their dilated, ceil-mode, padded forms).
Status avg_or_lp_pool(KernelContext& ctx, PoolKind kind) {
  RETURN_IF_ERROR(check_inputs(ctx, 1, 1, 1));
  RETURN_IF_ERROR(check_float(ctx, 0));
  const Tensor& x = ctx.input(0);
  ASSIGN_OR_RETURN(Window w, pool_window(ctx, x, true));
  const int64_t include_pad = ctx.attr_int("count_include_pad", 0);
  if (include_pad != 0 && include_pad != 1) return ctx.error("count_include_pad must be 0 or 1");
  const int64_t p = kind == PoolKind::kLp ? ctx.attr_int("p", 2) : 1;
  if (p < 1) return ctx.error("p must be >= 1, got " + std::to_string(p));
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), pooled_shape(x, w)));
  const std::vector<int64_t> in_strides = shape_strides(w.in);
  const int64_t in_sp = shape_numel(w.in), out_sp = shape_numel(w.out);
  return visit_float(x.dtype(), [&]<typename T>() {
    using A = Acc<T>;
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    for_each_output(ctx, x.dim(0) * x.dim(1), w, [&](int64_t q, int64_t pos, const int64_t* o) {
      const T* xp = xd + q * in_sp;
      A sum = 0;
      if (kind == PoolKind::kAverage) {
        for_each_tap(w, in_strides, o, [&](int64_t off) { sum += load<A>(xp[off]); });
        const int64_t count = window_count(w, o, include_pad == 1);
        yd[q * out_sp + pos] = store<T>(count > 0 ? sum / static_cast<A>(count) : A(0));
      } else {
        for_each_tap(w, in_strides, o, [&](int64_t off) {
          A v = std::abs(load<A>(xp[off]));
          sum += p == 1 ? v : p == 2 ? v * v : static_cast<A>(std::pow(v, static_cast<A>(p)));
        });
        A r = p == 1 ? sum : p == 2 ? std::sqrt(sum) : static_cast<A>(std::pow(sum, A(1) / static_cast<A>(p)));
        yd[q * out_sp + pos] = store<T>(r);
      }
    });
    return ok_status();
  });
}

enum class GlobalKind { kAverage, kMax, kLp };

Status global_pool(KernelContext& ctx, GlobalKind kind) {
  RETURN_IF_ERROR(check_inputs(ctx, 1, 1, 1));
  RETURN_IF_ERROR(check_float(ctx, 0));
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.error("X must have rank >= 2 (N, C, spatial...), got shape " + shape_str(x.shape()));
  const int64_t p = kind == GlobalKind::kLp ? ctx.attr_int("p", 2) : 1;
  if (p < 1) return ctx.error("p must be >= 1, got " + std::to_string(p));
  Shape out_shape = x.shape();
  for (int d = 2; d < x.rank(); ++d) out_shape[d] = 1;
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out_shape));
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t sp = planes == 0 ? 0 : x.numel() / planes;
  return visit_float(x.dtype(), [&]<typename T>() {
    using A = Acc<T>;
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    ctx.pool().parallel_for(planes, 1, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        const T* xp = xd + q * sp;
        A r = 0;
        if (kind == GlobalKind::kAverage) {
          for (int64_t i = 0; i < sp; ++i) r += load<A>(xp[i]);
          r = sp > 0 ? r / static_cast<A>(sp) : std::numeric_limits<A>::quiet_NaN();
        } else if (kind == GlobalKind::kMax) {
          r = -std::numeric_limits<A>::infinity();
          for (int64_t i = 0; i < sp; ++i) r = std::max(r, load<A>(xp[i]));
        } else {
          for (int64_t i = 0; i < sp; ++i) {
            A v = std::abs(load<A>(xp[i]));
            r += p == 1 ? v : p == 2 ? v * v : static_cast<A>(std::pow(v, static_cast<A>(p)));
          }
          r = p == 1 ? r : p == 2 ? std::sqrt(r) : static_cast<A>(std::pow(r, A(1) / static_cast<A>(p)));
        }
        yd[q] = store<T>(r);
      }
    });
    return ok_status();
  });
}

// Caffe's MaxRoiPool rounding of an ROI coordinate (finite, checked by the caller).
int64_t round_coord(double v) { return static_cast<int64_t>(std::llround(std::clamp(v, -1e15, 1e15))); }

}  // namespace

Status max_pool(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 1, 1, 1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() == DType::kBool || x.dtype() == DType::kString) {
    return ctx.error("X has dtype " + dtype_str(x.dtype()) + ", expected a float or 8-bit integer type");
  }
  ASSIGN_OR_RETURN(Window w, pool_window(ctx, x, true));
  const int64_t storage_order = ctx.attr_int("storage_order", 0);
  if (storage_order != 0 && storage_order != 1) {
    return ctx.error("storage_order must be 0 or 1, got " + std::to_string(storage_order));
  }
  const bool want_y = ctx.is_output_used(0);
  const bool want_i = ctx.num_outputs() > 1 && ctx.is_output_used(1);
  if (!want_y && !want_i) return ok_status();
  const Shape out_shape = pooled_shape(x, w);
  Tensor* y = nullptr;
  int64_t* idx = nullptr;
  if (want_y) {
    ASSIGN_OR_RETURN(y, ctx.allocate_output(0, x.dtype(), out_shape));
  }
  if (want_i) {
    ASSIGN_OR_RETURN(Tensor * it, ctx.allocate_output(1, DType::kI64, out_shape));
    idx = it->data<int64_t>();
  }
  const std::vector<int64_t> in_strides = shape_strides(w.in);
  const int64_t in_sp = shape_numel(w.in), out_sp = shape_numel(w.out);
  return visit_numeric(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    T* yd = y ? y->data<T>() : nullptr;
    for_each_output(ctx, x.dim(0) * x.dim(1), w, [&](int64_t q, int64_t pos, const int64_t* o) {
      const T* xp = xd + q * in_sp;
      int64_t best_off = -1;
      if constexpr (kIsFloat<T>) {
        float best = -std::numeric_limits<float>::infinity();
        for_each_tap(w, in_strides, o, [&](int64_t off) {
          float v = load<float>(xp[off]);
          if (best_off < 0 || v > best) {
            best = v;
            best_off = off;
          }
        });
      } else {
        T best = std::numeric_limits<T>::lowest();
        for_each_tap(w, in_strides, o, [&](int64_t off) {
          if (best_off < 0 || xp[off] > best) {
            best = xp[off];
            best_off = off;
          }
        });
      }
      if (yd) yd[q * out_sp + pos] = best_off >= 0 ? xp[best_off] : lowest_value<T>();
      if (idx) {
        int64_t v = -1;
        if (best_off >= 0) {
          v = best_off;
          if (storage_order == 1) {  // column-major over the spatial dims
            v = 0;
            int64_t rem = best_off, mul = 1;
            int64_t coord[kMaxNd];
            for (int d = w.nd - 1; d >= 0; --d) {
              coord[d] = rem % w.in[d];
              rem /= w.in[d];
            }
            for (int d = 0; d < w.nd; ++d) {
              v += coord[d] * mul;
              mul *= w.in[d];
            }
          }
          v += q * in_sp;
        }
        idx[q * out_sp + pos] = v;
      }
    });
    return ok_status();
  });
}

Status average_pool(KernelContext& ctx) { return avg_or_lp_pool(ctx, PoolKind::kAverage); }
Status lp_pool(KernelContext& ctx) { return avg_or_lp_pool(ctx, PoolKind::kLp); }
Status global_average_pool(KernelContext& ctx) { return global_pool(ctx, GlobalKind::kAverage); }
Status global_max_pool(KernelContext& ctx) { return global_pool(ctx, GlobalKind::kMax); }
Status global_lp_pool(KernelContext& ctx) { return global_pool(ctx, GlobalKind::kLp); }

Status max_unpool(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 3, 2));
  RETURN_IF_ERROR(check_float(ctx, 0));
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  if (ind.dtype() != DType::kI64) return ctx.error("I must be int64, got " + dtype_str(ind.dtype()));
  if (ind.shape() != x.shape()) {
    return ctx.error("I must have the shape of X " + shape_str(x.shape()) + ", got " + shape_str(ind.shape()));
  }
  if (x.rank() < 3 || x.rank() > kMaxNd + 2) {
    return ctx.error("X must have rank 3.." + std::to_string(kMaxNd + 2) + ", got shape " + shape_str(x.shape()));
  }
  const int nd = x.rank() - 2;
  if (!ctx.has_attr("kernel_shape")) return ctx.error("attribute kernel_shape is required");
  Shape kernel = ctx.attr_ints("kernel_shape");
  if (static_cast<int>(kernel.size()) != nd) {
    return ctx.error("kernel_shape " + ints_str(kernel) + " must have " + std::to_string(nd) + " values");
  }
  for (int64_t k : kernel) {
    if (k < 1 || k > kMaxWindowValue) return ctx.error("kernel_shape " + ints_str(kernel) + " must be positive");
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> strides, read_ints(ctx, "strides", nd, 1, 1, kMaxWindowValue));
  ASSIGN_OR_RETURN(std::vector<int64_t> pads, read_ints(ctx, "pads", 2 * nd, 0, 0, kMaxWindowValue));
  // Indices address the inferred output (as MaxPool's input); a given output_shape places that
  // inferred output at its origin, cropped or zero-padded (the ONNX reference's behaviour).
  Shape inferred{x.dim(0), x.dim(1)};
  for (int d = 0; d < nd; ++d) {
    if (x.dim(d + 2) > 0 && strides[d] > (int64_t(1) << 50) / x.dim(d + 2)) {
      return ctx.error("strides " + ints_str(strides) + " are too large for X of shape " + shape_str(x.shape()));
    }
    int64_t v = (x.dim(d + 2) - 1) * strides[d] + kernel[d] - pads[d] - pads[d + nd];
    if (v < 0) return ctx.error("inferred output dim " + std::to_string(d) + " is negative: " + std::to_string(v));
    inferred.push_back(v);
  }
  Shape out_shape = inferred;
  if (ctx.has_input(2)) {
    const Tensor& os = ctx.input(2);
    if (!dtype_is_integer(os.dtype()) || os.rank() != 1 || os.numel() != x.rank()) {
      return ctx.error("output_shape must be a 1-D integer tensor of " + std::to_string(x.rank()) +
                       " values, got " + dtype_str(os.dtype()) + " " + shape_str(os.shape()));
    }
    out_shape = os.to_int64_vector();
    for (int64_t v : out_shape) {
      if (v < 0) return ctx.error("output_shape " + ints_str(out_shape) + " has a negative dim");
    }
  }
  ASSIGN_OR_RETURN(int64_t inf_n, checked_size(inferred));
  ASSIGN_OR_RETURN(int64_t out_n, checked_size(out_shape));
  (void)out_n;
  const int64_t* id = ind.data<int64_t>();
  for (int64_t i = 0; i < ind.numel(); ++i) {
    if (id[i] < 0 || id[i] >= inf_n) {
      return ctx.error("index " + std::to_string(id[i]) + " at I[" + std::to_string(i) +
                       "] is outside the unpooled tensor of " + std::to_string(inf_n) + " elements " +
                       shape_str(inferred));
    }
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out_shape));
  const bool same = out_shape == inferred;
  const std::vector<int64_t> out_strides = shape_strides(out_shape);
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (same) {
        yd[id[i]] = xd[i];
        continue;
      }
      int64_t rem = id[i], off = 0;
      bool inside = true;
      for (int d = x.rank() - 1; d >= 0; --d) {
        const int64_t coord = rem % inferred[d];
        rem /= inferred[d];
        if (coord >= out_shape[d]) inside = false;
        off += coord * out_strides[d];
      }
      if (inside) yd[off] = xd[i];
    }
    return ok_status();
  });
}

Status max_roi_pool(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 2, 2));
  RETURN_IF_ERROR(check_float(ctx, 0));
  RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  const Tensor& x = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  if (x.rank() != 4) return ctx.error("X must have shape [N, C, H, W], got " + shape_str(x.shape()));
  if (rois.rank() != 2 || rois.dim(1) != 5) {
    return ctx.error("rois must have shape [num_rois, 5], got " + shape_str(rois.shape()));
  }
  if (!ctx.has_attr("pooled_shape")) return ctx.error("attribute pooled_shape is required");
  ASSIGN_OR_RETURN(std::vector<int64_t> pooled, read_ints(ctx, "pooled_shape", 2, 1, 1, kMaxWindowValue));
  const double scale = ctx.attr_float("spatial_scale", 1.0f);
  if (!std::isfinite(scale)) return ctx.error("spatial_scale must be finite");
  const int64_t n_img = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const int64_t r = rois.dim(0), ph_n = pooled[0], pw_n = pooled[1];
  // ROI geometry: batch index and rounded corners (x1, y1, x2, y2).
  std::vector<int64_t> geo(static_cast<size_t>(r) * 5);
  for (int64_t i = 0; i < r; ++i) {
    double v[5];
    for (int j = 0; j < 5; ++j) {
      v[j] = rois.get_double(i * 5 + j);
      if (!std::isfinite(v[j])) return ctx.error("roi " + std::to_string(i) + " has a non-finite value");
    }
    if (v[0] < 0 || v[0] >= static_cast<double>(n_img)) {
      return ctx.error("roi " + std::to_string(i) + " has batch index " + std::to_string(v[0]) + ", X has " +
                       std::to_string(n_img) + " images");
    }
    geo[i * 5] = static_cast<int64_t>(v[0]);
    for (int j = 1; j < 5; ++j) geo[i * 5 + j] = round_coord(v[j] * scale);
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), Shape{r, c, ph_n, pw_n}));
  return visit_float(x.dtype(), [&]<typename T>() {
    using A = Acc<T>;
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    ctx.pool().parallel_for(r * c, 1, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        const int64_t ri = q / c, ci = q % c;
        const int64_t* g = &geo[ri * 5];
        const int64_t sw = g[1], sh = g[2], ew = g[3], eh = g[4];
        const int64_t roi_h = std::max<int64_t>(eh - sh + 1, 1), roi_w = std::max<int64_t>(ew - sw + 1, 1);
        const double bin_h = static_cast<double>(roi_h) / static_cast<double>(ph_n);
        const double bin_w = static_cast<double>(roi_w) / static_cast<double>(pw_n);
        const T* xp = xd + (g[0] * c + ci) * h * wd;
        T* yp = yd + q * ph_n * pw_n;
        for (int64_t ph = 0; ph < ph_n; ++ph) {
          int64_t hs = static_cast<int64_t>(std::floor(ph * bin_h)) + sh;
          int64_t he = static_cast<int64_t>(std::ceil((ph + 1) * bin_h)) + sh;
          hs = std::clamp<int64_t>(hs, 0, h);
          he = std::clamp<int64_t>(he, 0, h);
          for (int64_t pw = 0; pw < pw_n; ++pw) {
            int64_t ws = static_cast<int64_t>(std::floor(pw * bin_w)) + sw;
            int64_t we = static_cast<int64_t>(std::ceil((pw + 1) * bin_w)) + sw;
            ws = std::clamp<int64_t>(ws, 0, wd);
            we = std::clamp<int64_t>(we, 0, wd);
            A best = 0;
            if (he > hs && we > ws) {
              best = -std::numeric_limits<A>::infinity();
              for (int64_t yy = hs; yy < he; ++yy) {
                for (int64_t xx = ws; xx < we; ++xx) best = std::max(best, load<A>(xp[yy * wd + xx]));
              }
            }
            yp[ph * pw_n + pw] = store<T>(best);
          }
        }
      }
    });
    return ok_status();
  });
}

Status roi_align(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 3, 3, 3));
  RETURN_IF_ERROR(check_float(ctx, 0));
  RETURN_IF_ERROR(check_float(ctx, 1));
  const Tensor& x = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  const Tensor& bi = ctx.input(2);
  if (x.rank() != 4) return ctx.error("X must have shape [N, C, H, W], got " + shape_str(x.shape()));
  if (rois.rank() != 2 || rois.dim(1) != 4) {
    return ctx.error("rois must have shape [num_rois, 4], got " + shape_str(rois.shape()));
  }
  if (!dtype_is_integer(bi.dtype()) || bi.rank() != 1 || bi.dim(0) != rois.dim(0)) {
    return ctx.error("batch_indices must be a 1-D integer tensor of " + std::to_string(rois.dim(0)) +
                     " values, got " + dtype_str(bi.dtype()) + " " + shape_str(bi.shape()));
  }
  std::string mode = ctx.attr_string("mode", "avg");
  if (mode != "avg" && mode != "max") return ctx.error("mode must be 'avg' or 'max', got '" + mode + "'");
  const bool is_max = mode == "max";
  std::string ctm = ctx.attr_string("coordinate_transformation_mode", ctx.opset() >= 16 ? "half_pixel" : "output_half_pixel");
  if (ctm != "half_pixel" && ctm != "output_half_pixel") {
    return ctx.error("coordinate_transformation_mode must be 'half_pixel' or 'output_half_pixel', got '" + ctm + "'");
  }
  const bool half_pixel = ctm == "half_pixel";
  const int64_t oh = ctx.attr_int("output_height", 1), ow = ctx.attr_int("output_width", 1);
  const int64_t sampling_ratio = ctx.attr_int("sampling_ratio", 0);
  const double scale = ctx.attr_float("spatial_scale", 1.0f);
  if (oh < 1 || ow < 1 || oh > kMaxWindowValue || ow > kMaxWindowValue) {
    return ctx.error("output_height and output_width must be positive, got " + std::to_string(oh) + ", " +
                     std::to_string(ow));
  }
  if (sampling_ratio < 0 || sampling_ratio > (1 << 12)) {
    return ctx.error("sampling_ratio must be in [0, 4096], got " + std::to_string(sampling_ratio));
  }
  if (!std::isfinite(scale)) return ctx.error("spatial_scale must be finite");
  const int64_t n_img = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), r = rois.dim(0);
  // Per ROI: start_h, start_w, bin_h, bin_w, grid_h, grid_w.
  struct RoiGeo {
    int64_t batch;
    double start_h, start_w, bin_h, bin_w;
    int64_t grid_h, grid_w;
  };
  std::vector<RoiGeo> geo(static_cast<size_t>(r));
  const double offset = half_pixel ? 0.5 : 0.0;
  double work = 0;
  for (int64_t i = 0; i < r; ++i) {
    const int64_t b = bi.get_int(i);
    if (b < 0 || b >= n_img) {
      return ctx.error("batch_indices[" + std::to_string(i) + "] = " + std::to_string(b) + " is outside [0, " +
                       std::to_string(n_img) + ")");
    }
    double v[4];
    for (int j = 0; j < 4; ++j) {
      v[j] = rois.get_double(i * 4 + j) * scale - offset;
      if (!std::isfinite(v[j]) || std::abs(v[j]) > 1e15) {
        return ctx.error("roi " + std::to_string(i) + " has a non-finite or huge coordinate");
      }
    }
    RoiGeo& g = geo[i];
    g.batch = b;
    g.start_w = v[0];
    g.start_h = v[1];
    double roi_w = v[2] - v[0], roi_h = v[3] - v[1];
    if (!half_pixel) {  // force malformed ROIs to be 1x1
      roi_w = std::max(roi_w, 1.0);
      roi_h = std::max(roi_h, 1.0);
    }
    g.bin_h = roi_h / static_cast<double>(oh);
    g.bin_w = roi_w / static_cast<double>(ow);
    double gh = sampling_ratio > 0 ? static_cast<double>(sampling_ratio) : std::ceil(roi_h / static_cast<double>(oh));
    double gw = sampling_ratio > 0 ? static_cast<double>(sampling_ratio) : std::ceil(roi_w / static_cast<double>(ow));
    gh = std::max(gh, 0.0);
    gw = std::max(gw, 0.0);
    if (gh * gw > static_cast<double>(int64_t(1) << 24)) {
      return ctx.error("roi " + std::to_string(i) + " needs " + std::to_string(gh * gw) +
                       " samples per bin; at most 2^24 are allowed");
    }
    g.grid_h = static_cast<int64_t>(gh);
    g.grid_w = static_cast<int64_t>(gw);
    work += gh * gw * static_cast<double>(oh) * static_cast<double>(ow) * static_cast<double>(c);
  }
  if (work > static_cast<double>(int64_t(1) << 40)) {
    return ctx.error("the ROIs need " + std::to_string(work) + " samples in all; at most 2^40 are allowed");
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), Shape{r, c, oh, ow}));
  if (h == 0 || wd == 0) return ok_status();  // every sample falls outside: zeros
  return visit_float(x.dtype(), [&]<typename T>() {
    using A = Acc<T>;
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    ctx.pool().parallel_for(r, 1, [&](int64_t r0, int64_t r1) {
      std::vector<A> acc(static_cast<size_t>(c));
      for (int64_t ri = r0; ri < r1; ++ri) {
        const RoiGeo& g = geo[ri];
        const int64_t count = std::max<int64_t>(g.grid_h * g.grid_w, 1);
        const T* xb = xd + g.batch * c * h * wd;
        for (int64_t ph = 0; ph < oh; ++ph) {
          for (int64_t pw = 0; pw < ow; ++pw) {
            std::fill(acc.begin(), acc.end(), A(0));
            bool first = true;
            for (int64_t iy = 0; iy < g.grid_h; ++iy) {
              double yy = g.start_h + ph * g.bin_h + (iy + 0.5) * g.bin_h / static_cast<double>(g.grid_h);
              for (int64_t ix = 0; ix < g.grid_w; ++ix) {
                double xx = g.start_w + pw * g.bin_w + (ix + 0.5) * g.bin_w / static_cast<double>(g.grid_w);
                int64_t pos[4] = {0, 0, 0, 0};
                A wt[4] = {0, 0, 0, 0};
                if (!(yy < -1.0 || yy > static_cast<double>(h) || xx < -1.0 || xx > static_cast<double>(wd))) {
                  double sy = std::max(yy, 0.0), sx = std::max(xx, 0.0);
                  int64_t y_lo = static_cast<int64_t>(sy), x_lo = static_cast<int64_t>(sx), y_hi, x_hi;
                  if (y_lo >= h - 1) {
                    y_hi = y_lo = h - 1;
                    sy = static_cast<double>(y_lo);
                  } else {
                    y_hi = y_lo + 1;
                  }
                  if (x_lo >= wd - 1) {
                    x_hi = x_lo = wd - 1;
                    sx = static_cast<double>(x_lo);
                  } else {
                    x_hi = x_lo + 1;
                  }
                  const double ly = sy - y_lo, lx = sx - x_lo, hy = 1.0 - ly, hx = 1.0 - lx;
                  pos[0] = y_lo * wd + x_lo;
                  pos[1] = y_lo * wd + x_hi;
                  pos[2] = y_hi * wd + x_lo;
                  pos[3] = y_hi * wd + x_hi;
                  wt[0] = static_cast<A>(hy * hx);
                  wt[1] = static_cast<A>(hy * lx);
                  wt[2] = static_cast<A>(ly * hx);
                  wt[3] = static_cast<A>(ly * lx);
                }
                for (int64_t ci = 0; ci < c; ++ci) {
                  const T* xp = xb + ci * h * wd;
                  if (!is_max) {
                    acc[ci] += wt[0] * load<A>(xp[pos[0]]) + wt[1] * load<A>(xp[pos[1]]) +
                               wt[2] * load<A>(xp[pos[2]]) + wt[3] * load<A>(xp[pos[3]]);
                  } else {
                    A v = std::max(std::max(wt[0] * load<A>(xp[pos[0]]), wt[1] * load<A>(xp[pos[1]])),
                                   std::max(wt[2] * load<A>(xp[pos[2]]), wt[3] * load<A>(xp[pos[3]])));
                    acc[ci] = first ? v : std::max(acc[ci], v);
                  }
                }
                first = false;
              }
            }
            for (int64_t ci = 0; ci < c; ++ci) {
              A v = is_max ? acc[ci] : acc[ci] / static_cast<A>(count);
              yd[((ri * c + ci) * oh + ph) * ow + pw] = store<T>(v);
            }
          }
        }
      }
    });
    return ok_status();
  });
}

}  // namespace edgeai::kernels::ref::nn
