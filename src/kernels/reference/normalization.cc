// Reference kernels for Softmax, LogSoftmax, Hardmax and the normalizations (BatchNormalization,
// InstanceNormalization, LayerNormalization, GroupNormalization, LpNormalization,
// MeanVarianceNormalization, LRN). Statistics are computed in double, two-pass (mean, then the
// centered variance). Listed in reduce.cc's table.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reference/dispatch.h"
#include "kernels/reference/reduce_internal.h"

namespace edgeai::kernels::ref {
namespace {

using reduce_detail::alloc_output;
using reduce_detail::axis_in_range;
using reduce_detail::cast_from_f64;
using reduce_detail::expect_float;
using reduce_detail::required_input;
using reduce_detail::to_doubles;

int64_t prod(const Shape& dims, int from, int to) {
  int64_t p = 1;
  for (int d = from; d < to; ++d) p *= dims[d];
  return p;
}

// Writes doubles into a float tensor of any float dtype.
Status write_doubles(Tensor& t, const std::vector<double>& v) {
  return visit_float(t.dtype(), [&]<typename T>() {
    T* d = t.data<T>();
    for (size_t i = 0; i < v.size() && static_cast<int64_t>(i) < t.numel(); ++i) {
      d[i] = from_f64<T>(v[i]);
    }
    return ok_status();
  });
}

// A float parameter tensor (scale, bias, mean, ...) holding exactly `count` values.
Result<std::vector<double>> param(const KernelContext& ctx, int i, std::string_view name,
                                  int64_t count, bool must_be_1d) {
  ASSIGN_OR_RETURN(const Tensor* p, required_input(ctx, i, name));
  RETURN_IF_ERROR(expect_float(ctx, *p, name));
  if (p->numel() != count || (must_be_1d && p->rank() != 1)) {
    return ctx.error(std::string(name) + " must have " + (must_be_1d ? "shape [" : "") +
                     std::to_string(count) + (must_be_1d ? "]" : " elements") + ", got shape " +
                     shape_str(p->shape()));
  }
  return to_doubles(*p);
}

// ---- Softmax, LogSoftmax, Hardmax ----

enum class SoftKind { kSoftmax, kLogSoftmax, kHardmax };

Status softmax_like(KernelContext& ctx, SoftKind kind) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "input"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_float(ctx, x, "input"));
  const int rank = x.rank();
  int64_t outer, n, inner;
  if (ctx.opset() >= 13) {  // along one axis, default the last
    ASSIGN_OR_RETURN(int axis, axis_in_range(ctx, ctx.attr_int("axis", -1), rank));
    outer = prod(x.shape(), 0, axis);
    n = x.dim(axis);
    inner = prod(x.shape(), axis + 1, rank);
  } else {  // input coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])], default axis 1
    const int64_t a0 = ctx.attr_int("axis", 1);
    const int64_t a = a0 < 0 ? a0 + rank : a0;
    if (a < 0 || a > rank) {
      return ctx.error("axis " + std::to_string(a0) + " is out of range [" +
                       std::to_string(-rank) + ", " + std::to_string(rank) + "] for rank " +
                       std::to_string(rank));
    }
    outer = prod(x.shape(), 0, static_cast<int>(a));
    n = prod(x.shape(), static_cast<int>(a), rank);
    inner = 1;
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * out, alloc_output(ctx, 0, x.dtype(), x.shape()));
  if (n == 0) return ok_status();
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    T* yd = out->data<T>();
    std::vector<double> e(kind == SoftKind::kHardmax ? 0 : n);  // exp(x - max) along the axis
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t in = 0; in < inner; ++in) {
        const int64_t base = o * n * inner + in;
        // The first maximum (NaN never compares greater).
        double m = to_f64(xd[base]);
        int64_t mi = 0;
        for (int64_t k = 1; k < n; ++k) {
          const double v = to_f64(xd[base + k * inner]);
          if (v > m || (std::isnan(m) && !std::isnan(v))) {
            m = v;
            mi = k;
          }
        }
        if (kind == SoftKind::kHardmax) {
          yd[base + mi * inner] = from_f64<T>(1.0);  // the rest stays zero
          continue;
        }
        double sum = 0.0;
        for (int64_t k = 0; k < n; ++k) {
          e[k] = std::exp(to_f64(xd[base + k * inner]) - m);
          sum += e[k];
        }
        if (kind == SoftKind::kSoftmax) {
          const double inv = 1.0 / sum;
          for (int64_t k = 0; k < n; ++k) yd[base + k * inner] = from_f64<T>(e[k] * inv);
        } else {
          const double lse = m + std::log(sum);
          for (int64_t k = 0; k < n; ++k) {
            const int64_t at = base + k * inner;
            yd[at] = from_f64<T>(to_f64(xd[at]) - lse);
          }
        }
      }
    }
    return ok_status();
  });
}

// ---- BatchNormalization ----

Status batch_norm_impl(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "X"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_float(ctx, x, "X"));
  if (x.rank() < 2) {
    return ctx.error("X must have rank >= 2 (N x C x ...), got shape " + shape_str(x.shape()));
  }
  const int64_t N = x.dim(0), C = x.dim(1);
  const int64_t inner = prod(x.shape(), 2, x.rank());
  // spatial=0 (opsets 7-8): statistics per channel and position, parameters of shape [C, D...].
  const bool spatial = ctx.opset() >= 9 || ctx.attr_int("spatial", 1) != 0;
  const int64_t slots = spatial ? C : C * inner;
  ASSIGN_OR_RETURN(std::vector<double> scale, param(ctx, 1, "scale", slots, spatial));
  ASSIGN_OR_RETURN(std::vector<double> bias, param(ctx, 2, "B", slots, spatial));
  ASSIGN_OR_RETURN(std::vector<double> mean, param(ctx, 3, "input_mean", slots, spatial));
  ASSIGN_OR_RETURN(std::vector<double> var, param(ctx, 4, "input_var", slots, spatial));
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  const double momentum = ctx.attr_float("momentum", 0.9f);
  // Opset 14+: training_mode; before, the training outputs' presence (and, before 7, is_test=0).
  const bool training = ctx.opset() >= 14
                            ? ctx.attr_int("training_mode", 0) != 0
                            : ctx.num_outputs() > 1 &&
                                  (ctx.opset() >= 7 || ctx.attr_int("is_test", 0) == 0);
  // Element (n, c, i) uses slot c (spatial) or c * inner + i.
  auto slot_of = [&](int64_t c, int64_t i) { return spatial ? c : c * inner + i; };

  std::vector<double> bmean, bvar;  // batch statistics (training)
  if (training) {
    bmean.assign(slots, 0.0);
    bvar.assign(slots, 0.0);
    const double cnt = static_cast<double>(N) * static_cast<double>(spatial ? inner : 1);
    RETURN_IF_ERROR(visit_float(x.dtype(), [&]<typename T>() {
      const T* xd = x.data<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < inner; ++i) bmean[slot_of(c, i)] += to_f64(xd[(n * C + c) * inner + i]);
      for (double& m : bmean) m /= cnt;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t s = slot_of(c, i);
            const double d = to_f64(xd[(n * C + c) * inner + i]) - bmean[s];
            bvar[s] += d * d;
          }
      for (double& v : bvar) v /= cnt;  // population variance
      return ok_status();
    }));
  }
  const std::vector<double>& use_mean = training ? bmean : mean;
  const std::vector<double>& use_var = training ? bvar : var;

  if (ctx.is_output_used(0)) {
    ASSIGN_OR_RETURN(Tensor * y, alloc_output(ctx, 0, x.dtype(), x.shape()));
    std::vector<double> a(slots);
    for (int64_t s = 0; s < slots; ++s) a[s] = scale[s] / std::sqrt(use_var[s] + eps);
    RETURN_IF_ERROR(visit_float(x.dtype(), [&]<typename T>() {
      const T* xd = x.data<T>();
      T* yd = y->data<T>();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t at = (n * C + c) * inner + i;
            const int64_t s = slot_of(c, i);
            yd[at] = from_f64<T>((to_f64(xd[at]) - use_mean[s]) * a[s] + bias[s]);
          }
      return ok_status();
    }));
  }

  // Running statistics: the updated ones in training, the inputs unchanged otherwise.
  std::vector<double> run_mean = mean, run_var = var;
  if (training) {
    for (int64_t s = 0; s < slots; ++s) {
      run_mean[s] = mean[s] * momentum + bmean[s] * (1.0 - momentum);
      run_var[s] = var[s] * momentum + bvar[s] * (1.0 - momentum);
    }
  }
  const Tensor& mean_in = ctx.input(3);
  const Tensor& var_in = ctx.input(4);
  // Opset 14+: (Y, running_mean, running_var); before: (Y, mean, var, saved_mean, saved_var).
  const std::vector<double>* extra[4] = {&run_mean, &run_var, &use_mean, &use_var};
  const Tensor* like[4] = {&mean_in, &var_in, &mean_in, &var_in};
  const int max_out = ctx.opset() >= 14 ? 3 : 5;
  for (int o = 1; o < std::min(ctx.num_outputs(), max_out); ++o) {
    if (!ctx.is_output_used(o)) continue;
    ASSIGN_OR_RETURN(Tensor * t, alloc_output(ctx, o, like[o - 1]->dtype(), like[o - 1]->shape()));
    RETURN_IF_ERROR(write_doubles(*t, *extra[o - 1]));
  }
  return ok_status();
}

// ---- InstanceNormalization, GroupNormalization ----

// Normalizes each (n, g) block of `len` consecutive elements (a group of channels times the
// spatial size) and applies per-channel affine: y = (x - mean) / sqrt(var + eps) * s[c] + b[c],
// where block element j is in channel g * (len / inner) + j / inner.
Status normalize_blocks(const Tensor& x, Tensor& y, int64_t blocks_per_n, int64_t inner,
                        int64_t chans_per_block, const std::vector<double>& scale,
                        const std::vector<double>& bias, double eps) {
  const int64_t N = x.dim(0);
  const int64_t len = chans_per_block * inner;
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    T* yd = y.data<T>();
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t g = 0; g < blocks_per_n; ++g) {
        const int64_t base = (n * blocks_per_n + g) * len;
        if (len == 0) continue;
        double mean = 0.0;
        for (int64_t j = 0; j < len; ++j) mean += to_f64(xd[base + j]);
        mean /= static_cast<double>(len);
        double var = 0.0;
        for (int64_t j = 0; j < len; ++j) {
          const double d = to_f64(xd[base + j]) - mean;
          var += d * d;
        }
        var /= static_cast<double>(len);
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t cc = 0; cc < chans_per_block; ++cc) {
          const int64_t c = g * chans_per_block + cc;
          const double a = inv * scale[c];
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t at = base + cc * inner + i;
            yd[at] = from_f64<T>((to_f64(xd[at]) - mean) * a + bias[c]);
          }
        }
      }
    }
    return ok_status();
  });
}

Status instance_norm_impl(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "input"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_float(ctx, x, "input"));
  if (x.rank() < 2) {
    return ctx.error("input must have rank >= 2 (N x C x ...), got shape " + shape_str(x.shape()));
  }
  const int64_t C = x.dim(1);
  ASSIGN_OR_RETURN(std::vector<double> scale, param(ctx, 1, "scale", C, true));
  ASSIGN_OR_RETURN(std::vector<double> bias, param(ctx, 2, "B", C, true));
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, alloc_output(ctx, 0, x.dtype(), x.shape()));
  return normalize_blocks(x, *y, C, prod(x.shape(), 2, x.rank()), 1, scale, bias, eps);
}

Status group_norm_impl(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "X"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_float(ctx, x, "X"));
  if (x.rank() < 2) {
    return ctx.error("X must have rank >= 2 (N x C x ...), got shape " + shape_str(x.shape()));
  }
  if (!ctx.has_attr("num_groups")) return ctx.error("attribute num_groups is required");
  const int64_t G = ctx.attr_int("num_groups", 0);
  const int64_t C = x.dim(1);
  if (G <= 0 || C % G != 0) {
    return ctx.error("num_groups " + std::to_string(G) + " must be positive and divide the " +
                     std::to_string(C) + " channels");
  }
  // scale and bias: per group (opset 18) or per channel (opset 21); accept either.
  for (int i = 1; i <= 2; ++i) {
    ASSIGN_OR_RETURN(const Tensor* p, required_input(ctx, i, i == 1 ? "scale" : "bias"));
    if (p->rank() != 1 || (p->dim(0) != C && p->dim(0) != G)) {
      return ctx.error(std::string(i == 1 ? "scale" : "bias") + " must have shape [" +
                       std::to_string(C) + "] or [" + std::to_string(G) + "], got " +
                       shape_str(p->shape()));
    }
  }
  const int64_t scale_n = ctx.input(1).dim(0), bias_n = ctx.input(2).dim(0);
  ASSIGN_OR_RETURN(std::vector<double> s_in, param(ctx, 1, "scale", scale_n, true));
  ASSIGN_OR_RETURN(std::vector<double> b_in, param(ctx, 2, "bias", bias_n, true));
  const int64_t per = C / G;
  std::vector<double> scale(C), bias(C);
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = scale_n == C ? s_in[c] : s_in[c / per];
    bias[c] = bias_n == C ? b_in[c] : b_in[c / per];
  }
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, alloc_output(ctx, 0, x.dtype(), x.shape()));
  return normalize_blocks(x, *y, G, prod(x.shape(), 2, x.rank()), per, scale, bias, eps);
}

// ---- LayerNormalization ----

// Whether `p` broadcasts to `dims` (numpy rules, one direction).
bool broadcasts_to(const Shape& p, const Shape& dims) {
  if (p.size() > dims.size()) return false;
  const size_t off = dims.size() - p.size();
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != 1 && p[i] != dims[off + i]) return false;
  }
  return true;
}

// Whether `p` (leading ones aside) is exactly dims[axis:], so that element (row, col) uses p[col].
bool matches_tail(const Shape& p, const Shape& dims, int axis) {
  size_t lead = 0;
  const size_t tail = dims.size() - axis;
  while (p.size() - lead > tail && lead < p.size() && p[lead] == 1) ++lead;
  if (p.size() - lead != tail) return false;
  for (size_t i = 0; i < tail; ++i) {
    if (p[lead + i] != dims[axis + i]) return false;
  }
  return true;
}

Status layer_norm_impl(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "X"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_float(ctx, x, "X"));
  const int rank = x.rank();
  ASSIGN_OR_RETURN(int axis, axis_in_range(ctx, ctx.attr_int("axis", -1), rank));
  ASSIGN_OR_RETURN(const Tensor* sp, required_input(ctx, 1, "Scale"));
  RETURN_IF_ERROR(expect_float(ctx, *sp, "Scale"));
  const Tensor* bp = nullptr;
  if (ctx.has_input(2)) {
    ASSIGN_OR_RETURN(bp, required_input(ctx, 2, "B"));
    RETURN_IF_ERROR(expect_float(ctx, *bp, "B"));
  }
  for (const Tensor* p : {sp, bp}) {
    if (p && !broadcasts_to(p->shape(), x.shape())) {
      return ctx.error(std::string(p == sp ? "Scale" : "B") + " of shape " + shape_str(p->shape()) +
                       " does not broadcast to X of shape " + shape_str(x.shape()));
    }
  }
  const DType stash = dtype_from_onnx(static_cast<int>(ctx.attr_int("stash_type", 1)));
  if (!dtype_is_float(stash)) {
    return ctx.error("stash_type " + std::to_string(ctx.attr_int("stash_type", 1)) +
                     " is not a float type");
  }
  const double eps = ctx.attr_float("epsilon", 1e-5f);
  const int64_t rows = prod(x.shape(), 0, axis);
  const int64_t cols = prod(x.shape(), axis, rank);
  Shape stat_shape = x.shape();
  for (int d = axis; d < rank; ++d) stat_shape[d] = 1;

  Tensor* y = nullptr;
  Tensor* mean_out = nullptr;
  Tensor* inv_out = nullptr;
  if (ctx.is_output_used(0)) { ASSIGN_OR_RETURN(y, alloc_output(ctx, 0, x.dtype(), x.shape())); }
  if (ctx.is_output_used(1)) { ASSIGN_OR_RETURN(mean_out, alloc_output(ctx, 1, stash, stat_shape)); }
  if (ctx.is_output_used(2)) { ASSIGN_OR_RETURN(inv_out, alloc_output(ctx, 2, stash, stat_shape)); }

  const std::vector<double> scale = to_doubles(*sp);
  const std::vector<double> bias = bp ? to_doubles(*bp) : std::vector<double>{};
  const bool fast_s = matches_tail(sp->shape(), x.shape(), axis);
  const bool fast_b = !bp || matches_tail(bp->shape(), x.shape(), axis);
  std::vector<Shape> pshapes{sp->shape()};
  if (bp) pshapes.push_back(bp->shape());
  const BroadcastIndexer bidx(x.shape(), pshapes);
  std::vector<double> means(rows), invs(rows);

  RETURN_IF_ERROR(visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t base = r * cols;
      double mean = 0.0;
      for (int64_t c = 0; c < cols; ++c) mean += to_f64(xd[base + c]);
      mean = cols ? mean / static_cast<double>(cols) : 0.0;
      double var = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        const double d = to_f64(xd[base + c]) - mean;
        var += d * d;
      }
      var = cols ? var / static_cast<double>(cols) : 0.0;
      const double inv = 1.0 / std::sqrt(var + eps);
      means[r] = mean;
      invs[r] = inv;
      if (!y) continue;
      T* yd = y->data<T>();
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t at = base + c;
        const double s = scale[fast_s ? c : bidx.offset(0, at)];
        const double b = bp ? bias[fast_b ? c : bidx.offset(1, at)] : 0.0;
        yd[at] = from_f64<T>((to_f64(xd[at]) - mean) * inv * s + b);
      }
    }
    return ok_status();
  }));
  if (mean_out) RETURN_IF_ERROR(write_doubles(*mean_out, means));
  if (inv_out) RETURN_IF_ERROR(write_doubles(*inv_out, invs));
  return ok_status();
}

// ---- LpNormalization ----

Status lp_norm_impl(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "input"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_float(ctx, x, "input"));
  ASSIGN_OR_RETURN(int axis, axis_in_range(ctx, ctx.attr_int("axis", -1), x.rank()));
  const int64_t p = ctx.attr_int("p", 2);
  if (p != 1 && p != 2) return ctx.error("p must be 1 or 2, got " + std::to_string(p));
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, alloc_output(ctx, 0, x.dtype(), x.shape()));
  const int64_t outer = prod(x.shape(), 0, axis), n = x.dim(axis);
  const int64_t inner = prod(x.shape(), axis + 1, x.rank());
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t in = 0; in < inner; ++in) {
        const int64_t base = o * n * inner + in;
        double norm = 0.0;
        for (int64_t k = 0; k < n; ++k) {
          const double v = to_f64(xd[base + k * inner]);
          norm += p == 1 ? std::fabs(v) : v * v;
        }
        if (p == 2) norm = std::sqrt(norm);
        // A zero vector stays zero (the output is already zeroed).
        if (norm == 0.0) continue;
        for (int64_t k = 0; k < n; ++k) {
          const int64_t at = base + k * inner;
          yd[at] = from_f64<T>(to_f64(xd[at]) / norm);
        }
      }
    }
    return ok_status();
  });
}

// ---- MeanVarianceNormalization ----

Status mvn_impl(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "X"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_float(ctx, x, "X"));
  const int rank = x.rank();
  std::vector<int64_t> axes =
      ctx.has_attr("axes") ? ctx.attr_ints("axes") : std::vector<int64_t>{0, 2, 3};
  std::vector<bool> reduced(rank, false);
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(int ax, axis_in_range(ctx, a, rank, "axes value"));
    if (reduced[ax]) return ctx.error("axes lists axis " + std::to_string(ax) + " twice");
    reduced[ax] = true;
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, alloc_output(ctx, 0, x.dtype(), x.shape()));
  Shape keep = x.shape();
  for (int d = 0; d < rank; ++d) {
    if (reduced[d]) keep[d] = 1;
  }
  std::vector<int64_t> ostride = shape_strides(keep);
  for (int d = 0; d < rank; ++d) {
    if (reduced[d]) ostride[d] = 0;
  }
  const int64_t stats = shape_numel(keep);
  const double count = stats == 0 ? 0.0 : static_cast<double>(x.numel() / stats);
  std::vector<double> mean(stats, 0.0), var(stats, 0.0);
  // Calls f(flat, stat_offset) over x in row-major order.
  auto walk = [&](auto&& f) {
    std::vector<int64_t> idx(rank, 0);
    int64_t off = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      f(i, off);
      for (int d = rank - 1; d >= 0; --d) {
        if (++idx[d] < x.dim(d)) {
          off += ostride[d];
          break;
        }
        off -= ostride[d] * (x.dim(d) - 1);
        idx[d] = 0;
      }
    }
  };
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    walk([&](int64_t i, int64_t o) { mean[o] += to_f64(xd[i]); });
    for (double& m : mean) m /= count;
    walk([&](int64_t i, int64_t o) {
      const double d = to_f64(xd[i]) - mean[o];
      var[o] += d * d;
    });
    for (double& v : var) v = std::sqrt(v / count) + 1e-9;  // the spec's function adds 1e-9
    walk([&](int64_t i, int64_t o) { yd[i] = from_f64<T>((to_f64(xd[i]) - mean[o]) / var[o]); });
    return ok_status();
  });
}

// ---- LRN ----

Status lrn_impl(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "X"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_float(ctx, x, "X"));
  if (x.rank() < 2) {
    return ctx.error("X must have rank >= 2 (N x C x ...), got shape " + shape_str(x.shape()));
  }
  if (!ctx.has_attr("size")) return ctx.error("attribute size is required");
  const int64_t size = ctx.attr_int("size", 0);
  if (size < 1) return ctx.error("size must be >= 1, got " + std::to_string(size));
  const double alpha = ctx.attr_float("alpha", 1e-4f);
  const double beta = ctx.attr_float("beta", 0.75f);
  const double bias = ctx.attr_float("bias", 1.0f);
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, alloc_output(ctx, 0, x.dtype(), x.shape()));
  const int64_t N = x.dim(0), C = x.dim(1), inner = prod(x.shape(), 2, x.rank());
  // Channels c - floor((size-1)/2) .. c + ceil((size-1)/2), clipped; summed with prefix sums.
  const int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  std::vector<double> prefix(C + 1);
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    T* yd = y->data<T>();
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = n * C * inner + i;
        prefix[0] = 0.0;
        for (int64_t c = 0; c < C; ++c) {
          const double v = to_f64(xd[base + c * inner]);
          prefix[c + 1] = prefix[c] + v * v;
        }
        for (int64_t c = 0; c < C; ++c) {
          const int64_t a = std::max<int64_t>(0, c - lo);
          const int64_t b = std::min<int64_t>(C - 1, c + std::min(hi, C));
          const double sq = prefix[b + 1] - prefix[a];
          const int64_t at = base + c * inner;
          yd[at] = from_f64<T>(to_f64(xd[at]) / std::pow(bias + alpha / size * sq, beta));
        }
      }
    }
    return ok_status();
  });
}

}  // namespace

Status softmax(KernelContext& ctx) { return softmax_like(ctx, SoftKind::kSoftmax); }
Status log_softmax(KernelContext& ctx) { return softmax_like(ctx, SoftKind::kLogSoftmax); }
Status hardmax(KernelContext& ctx) { return softmax_like(ctx, SoftKind::kHardmax); }
Status batch_normalization(KernelContext& ctx) { return batch_norm_impl(ctx); }
Status instance_normalization(KernelContext& ctx) { return instance_norm_impl(ctx); }
Status layer_normalization(KernelContext& ctx) { return layer_norm_impl(ctx); }
Status group_normalization(KernelContext& ctx) { return group_norm_impl(ctx); }
Status lp_normalization(KernelContext& ctx) { return lp_norm_impl(ctx); }
Status mean_variance_normalization(KernelContext& ctx) { return mvn_impl(ctx); }
Status lrn(KernelContext& ctx) { return lrn_impl(ctx); }

}  // namespace edgeai::kernels::ref
