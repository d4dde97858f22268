// Reference kernels for reductions (Reduce*, ArgMax/ArgMin), CumSum and TopK, and the table of
// the whole reduce family (softmax and normalizations in normalization.cc, losses in loss.cc).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kernels/reference/dispatch.h"
#include "kernels/reference/reduce_internal.h"
#include "kernels/reference/registry.h"

namespace edgeai::kernels::ref {
namespace {

using reduce_detail::alloc_output;
using reduce_detail::axis_in_range;
using reduce_detail::cast_from_f64;
using reduce_detail::expect_numeric;
using reduce_detail::is_nan;
using reduce_detail::key_of;
using reduce_detail::required_input;

// Calls f(input_flat_index, output_offset) for every element of a tensor of shape `dims` in
// row-major order, where output_offset = sum(index[d] * ostride[d]) (ostride 0 on reduced axes).
template <typename F>
void walk_reduce(const Shape& dims, const std::vector<int64_t>& ostride, F&& f) {
  const int64_t n = shape_numel(dims);
  const int r = static_cast<int>(dims.size());
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, off);
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < dims[d]) {
        off += ostride[d];
        break;
      }
      off -= ostride[d] * (dims[d] - 1);
      idx[d] = 0;
    }
  }
}

enum class ReduceOp { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// Sum, mean, product, sum of squares and L1 of integers are computed exactly in wrapping 64-bit
// arithmetic (two's complement, like the integer types themselves).
constexpr bool exact_int_op(ReduceOp op) {
  return op == ReduceOp::kSum || op == ReduceOp::kMean || op == ReduceOp::kProd ||
         op == ReduceOp::kSumSquare || op == ReduceOp::kL1;
}

template <typename T>
Status reduce_typed(const Tensor& x, ReduceOp op, const Shape& keep_shape,
                    const std::vector<int64_t>& ostride, int64_t count, Tensor& out) {
  const T* xd = x.data<T>();
  T* yd = out.data<T>();
  const int64_t on = out.numel();
  const Shape& dims = x.shape();

  if constexpr (std::is_integral_v<T>) {
    if (exact_int_op(op)) {
      std::vector<uint64_t> acc(on, op == ReduceOp::kProd ? 1u : 0u);
      walk_reduce(dims, ostride, [&](int64_t i, int64_t o) {
        const uint64_t v = static_cast<uint64_t>(xd[i]);  // modular for negative values
        switch (op) {
          case ReduceOp::kProd: acc[o] *= v; break;
          case ReduceOp::kSumSquare: acc[o] += v * v; break;
          case ReduceOp::kL1:
            acc[o] += (std::is_signed_v<T> && xd[i] < 0) ? uint64_t(0) - v : v;
            break;
          default: acc[o] += v; break;
        }
      });
      for (int64_t o = 0; o < on; ++o) {
        if (op == ReduceOp::kMean) {
          if (count == 0) {
            yd[o] = T(0);
          } else if constexpr (std::is_signed_v<T>) {
            yd[o] = static_cast<T>(static_cast<int64_t>(acc[o]) / count);
          } else {
            yd[o] = static_cast<T>(acc[o] / static_cast<uint64_t>(count));
          }
        } else {
          yd[o] = static_cast<T>(acc[o]);
        }
      }
      return ok_status();
    }
  }

  if (op == ReduceOp::kMax || op == ReduceOp::kMin) {
    using K = decltype(key_of(T{}));
    const bool is_max = op == ReduceOp::kMax;
    K init;
    if constexpr (std::is_floating_point_v<K>) {
      init = is_max ? -std::numeric_limits<K>::infinity() : std::numeric_limits<K>::infinity();
    } else {
      init = is_max ? std::numeric_limits<K>::lowest() : std::numeric_limits<K>::max();
    }
    std::vector<K> acc(on, init);
    walk_reduce(dims, ostride, [&](int64_t i, int64_t o) {
      const K v = key_of(xd[i]);
      if (is_nan(v) || (is_max ? v > acc[o] : v < acc[o])) acc[o] = v;  // NaN propagates
    });
    for (int64_t o = 0; o < on; ++o) {
      if constexpr (std::is_same_v<K, T>) {
        yd[o] = acc[o];
      } else {
        yd[o] = from_f64<T>(acc[o]);
      }
    }
    return ok_status();
  }

  // Everything else in double.
  std::vector<double> acc(on, op == ReduceOp::kProd ? 1.0 : 0.0);
  std::vector<double> shift;
  if (op == ReduceOp::kLogSumExp) {
    shift.assign(on, -std::numeric_limits<double>::infinity());
    walk_reduce(dims, ostride, [&](int64_t i, int64_t o) {
      const double v = to_f64(xd[i]);
      if (std::isnan(v) || v > shift[o]) shift[o] = v;
    });
    for (double& s : shift) {
      if (!std::isfinite(s)) s = 0.0;  // all -inf (or empty): log(0) = -inf; +inf/NaN propagate
    }
  }
  walk_reduce(dims, ostride, [&](int64_t i, int64_t o) {
    const double v = to_f64(xd[i]);
    switch (op) {
      case ReduceOp::kProd: acc[o] *= v; break;
      case ReduceOp::kL1: acc[o] += std::fabs(v); break;
      case ReduceOp::kL2:
      case ReduceOp::kSumSquare: acc[o] += v * v; break;
      case ReduceOp::kLogSumExp: acc[o] += std::exp(v - shift[o]); break;
      default: acc[o] += v; break;  // sum, mean, log-sum
    }
  });
  for (int64_t o = 0; o < on; ++o) {
    double r = acc[o];
    switch (op) {
      case ReduceOp::kMean: r = r / static_cast<double>(count); break;  // empty: NaN
      case ReduceOp::kL2: r = std::sqrt(r); break;
      case ReduceOp::kLogSum: r = std::log(r); break;
      case ReduceOp::kLogSumExp: r = std::log(r) + shift[o]; break;
      default: break;
    }
    yd[o] = cast_from_f64<T>(r);
  }
  return ok_status();
}

Status reduce_generic(KernelContext& ctx, ReduceOp op) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "data"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_numeric(ctx, x, "data"));
  const int rank = x.rank();

  // axes: an attribute, or from ReduceSum-13 (other Reduce* 18) an optional input, which brings
  // noop_with_empty_axes.
  const bool axes_as_input = ctx.opset() >= (op == ReduceOp::kSum ? 13 : 18);
  std::vector<int64_t> axes;
  if (axes_as_input && ctx.has_input(1)) {
    ASSIGN_OR_RETURN(const Tensor* ap, required_input(ctx, 1, "axes"));
    if (ap->dtype() != DType::kI64 && ap->dtype() != DType::kI32) {
      return ctx.error("axes must be an int64 tensor, got " + std::string(dtype_name(ap->dtype())));
    }
    if (ap->rank() > 1) {
      return ctx.error("axes must be 1-D, got shape " + shape_str(ap->shape()));
    }
    axes = ap->to_int64_vector();
  } else {
    axes = ctx.attr_ints("axes");
  }
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  const bool noop = axes_as_input && ctx.attr_int("noop_with_empty_axes", 0) != 0;

  if (axes.empty() && noop) {  // identity
    ctx.set_output(0, x);
    return ok_status();
  }
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(int ax, axis_in_range(ctx, a, rank, "axes value"));
    if (reduced[ax]) return ctx.error("axes lists axis " + std::to_string(ax) + " twice");
    reduced[ax] = true;
  }

  Shape keep_shape = x.shape();
  Shape out_shape;
  for (int d = 0; d < rank; ++d) {
    if (reduced[d]) {
      keep_shape[d] = 1;
      if (keepdims) out_shape.push_back(1);
    } else {
      out_shape.push_back(x.dim(d));
    }
  }
  std::vector<int64_t> ostride = shape_strides(keep_shape);
  for (int d = 0; d < rank; ++d) {
    if (reduced[d]) ostride[d] = 0;
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * out, alloc_output(ctx, 0, x.dtype(), out_shape));
  // Elements per output (0 for an empty-set reduction); no overflow: x's size was checked.
  const int64_t count = out->numel() == 0 ? 0 : x.numel() / out->numel();
  return visit_numeric(x.dtype(), [&]<typename T>() {
    return reduce_typed<T>(x, op, keep_shape, ostride, count, *out);
  });
}

Status reduce_sum(KernelContext& ctx) { return reduce_generic(ctx, ReduceOp::kSum); }
Status reduce_mean(KernelContext& ctx) { return reduce_generic(ctx, ReduceOp::kMean); }
Status reduce_max(KernelContext& ctx) { return reduce_generic(ctx, ReduceOp::kMax); }
Status reduce_min(KernelContext& ctx) { return reduce_generic(ctx, ReduceOp::kMin); }
Status reduce_prod(KernelContext& ctx) { return reduce_generic(ctx, ReduceOp::kProd); }
Status reduce_l1(KernelContext& ctx) { return reduce_generic(ctx, ReduceOp::kL1); }
Status reduce_l2(KernelContext& ctx) { return reduce_generic(ctx, ReduceOp::kL2); }
Status reduce_log_sum(KernelContext& ctx) { return reduce_generic(ctx, ReduceOp::kLogSum); }
Status reduce_log_sum_exp(KernelContext& ctx) { return reduce_generic(ctx, ReduceOp::kLogSumExp); }
Status reduce_sum_square(KernelContext& ctx) { return reduce_generic(ctx, ReduceOp::kSumSquare); }

// Splits a shape around `axis` into outer * n * inner.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisSplit split_at(const Shape& dims, int axis) {
  AxisSplit s;
  for (int d = 0; d < static_cast<int>(dims.size()); ++d) {
    if (d < axis) s.outer *= dims[d];
    else if (d == axis) s.n = dims[d];
    else s.inner *= dims[d];
  }
  return s;
}

// ArgMax / ArgMin. NaN counts as the extreme (like numpy): the first NaN wins.
Status arg_extreme(KernelContext& ctx, bool is_max) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "data"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_numeric(ctx, x, "data"));
  ASSIGN_OR_RETURN(int axis, axis_in_range(ctx, ctx.attr_int("axis", 0), x.rank()));
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  const bool last = ctx.opset() >= 12 && ctx.attr_int("select_last_index", 0) != 0;
  if (x.dim(axis) == 0) {
    return ctx.error("cannot take the index of the extreme over axis " + std::to_string(axis) +
                     " of size 0 (data shape " + shape_str(x.shape()) + ")");
  }
  Shape out_shape;
  for (int d = 0; d < x.rank(); ++d) {
    if (d != axis) out_shape.push_back(x.dim(d));
    else if (keepdims) out_shape.push_back(1);
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * out, alloc_output(ctx, 0, DType::kI64, out_shape));
  const AxisSplit s = split_at(x.shape(), axis);
  int64_t* yd = out->data<int64_t>();
  return visit_numeric(x.dtype(), [&]<typename T>() {
    const T* xd = x.data<T>();
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t in = 0; in < s.inner; ++in) {
        const T* p = xd + o * s.n * s.inner + in;
        auto best = key_of(p[0]);
        int64_t bi = 0;
        for (int64_t k = 1; k < s.n; ++k) {
          const auto v = key_of(p[k * s.inner]);
          bool take;
          if (is_nan(v) || is_nan(best)) {
            take = is_nan(v) && (!is_nan(best) || last);
          } else if (is_max) {
            take = last ? v >= best : v > best;
          } else {
            take = last ? v <= best : v < best;
          }
          if (take) {
            best = v;
            bi = k;
          }
        }
        yd[o * s.inner + in] = bi;
      }
    }
    return ok_status();
  });
}

Status arg_max(KernelContext& ctx) { return arg_extreme(ctx, true); }
Status arg_min(KernelContext& ctx) { return arg_extreme(ctx, false); }

Status cum_sum(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "x"));
  ASSIGN_OR_RETURN(const Tensor* ap, required_input(ctx, 1, "axis"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_numeric(ctx, x, "x"));
  ASSIGN_OR_RETURN(int64_t axis_v, reduce_detail::scalar_int(ctx, *ap, "axis"));
  ASSIGN_OR_RETURN(int axis, axis_in_range(ctx, axis_v, x.rank()));
  const bool exclusive = ctx.attr_int("exclusive", 0) != 0;
  const bool reverse = ctx.attr_int("reverse", 0) != 0;
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * out, alloc_output(ctx, 0, x.dtype(), x.shape()));
  const AxisSplit s = split_at(x.shape(), axis);
  return visit_numeric(x.dtype(), [&]<typename T>() {
    // Integers sum in wrapping 64-bit arithmetic, floats in double.
    using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;
    const T* xd = x.data<T>();
    T* yd = out->data<T>();
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t in = 0; in < s.inner; ++in) {
        const int64_t base = o * s.n * s.inner + in;
        Acc acc = 0;
        for (int64_t j = 0; j < s.n; ++j) {
          const int64_t k = reverse ? s.n - 1 - j : j;
          const int64_t at = base + k * s.inner;
          Acc v;
          if constexpr (std::is_integral_v<T>) v = static_cast<Acc>(xd[at]);
          else v = to_f64(xd[at]);
          if (!exclusive) acc += v;
          if constexpr (std::is_integral_v<T>) yd[at] = static_cast<T>(acc);
          else yd[at] = from_f64<T>(acc);
          if (exclusive) acc += v;
        }
      }
    }
    return ok_status();
  });
}

// TopK: values and int64 indices of the k largest (or smallest) along axis, sorted; equal values
// keep the lower index first; NaN sorts above every number.
Status top_k(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* xp, required_input(ctx, 0, "X"));
  const Tensor& x = *xp;
  RETURN_IF_ERROR(expect_numeric(ctx, x, "X"));
  int64_t k;
  if (ctx.opset() >= 10) {
    ASSIGN_OR_RETURN(const Tensor* kp, required_input(ctx, 1, "K"));
    if (kp->dtype() != DType::kI64) {
      return ctx.error("K must be int64, got " + std::string(dtype_name(kp->dtype())));
    }
    ASSIGN_OR_RETURN(k, reduce_detail::scalar_int(ctx, *kp, "K"));
  } else {
    if (!ctx.has_attr("k")) return ctx.error("attribute k is required");
    k = ctx.attr_int("k", 0);
  }
  ASSIGN_OR_RETURN(int axis, axis_in_range(ctx, ctx.attr_int("axis", -1), x.rank()));
  const bool largest = ctx.opset() < 11 || ctx.attr_int("largest", 1) != 0;
  if (k < 0 || k > x.dim(axis)) {
    return ctx.error("k " + std::to_string(k) + " is out of range [0, " +
                     std::to_string(x.dim(axis)) + "] for axis " + std::to_string(axis) +
                     " of shape " + shape_str(x.shape()));
  }
  Shape out_shape = x.shape();
  out_shape[axis] = k;
  Tensor* values = nullptr;
  Tensor* indices = nullptr;
  if (ctx.is_output_used(0)) {
    ASSIGN_OR_RETURN(values, alloc_output(ctx, 0, x.dtype(), out_shape));
  }
  if (ctx.is_output_used(1)) {
    ASSIGN_OR_RETURN(indices, alloc_output(ctx, 1, DType::kI64, out_shape));
  }
  if (k == 0 || (!values && !indices)) return ok_status();
  const AxisSplit s = split_at(x.shape(), axis);
  return visit_numeric(x.dtype(), [&]<typename T>() {
    using K = decltype(key_of(T{}));
    const T* xd = x.data<T>();
    std::vector<K> row(s.n);
    std::vector<int64_t> order(s.n);
    // A strict total order: NaN above numbers, ties by index.
    auto above = [&](int64_t a, int64_t b) {
      const K va = row[a], vb = row[b];
      const bool na = is_nan(va), nb = is_nan(vb);
      if (na || nb) return na && !nb;
      return va > vb;
    };
    auto before = [&](int64_t a, int64_t b) {
      if (largest ? above(a, b) : above(b, a)) return true;
      if (largest ? above(b, a) : above(a, b)) return false;
      return a < b;
    };
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t in = 0; in < s.inner; ++in) {
        const int64_t base = o * s.n * s.inner + in;
        for (int64_t j = 0; j < s.n; ++j) row[j] = key_of(xd[base + j * s.inner]);
        std::iota(order.begin(), order.end(), int64_t(0));
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        const int64_t obase = o * k * s.inner + in;
        for (int64_t j = 0; j < k; ++j) {
          if (values) values->data<T>()[obase + j * s.inner] = xd[base + order[j] * s.inner];
          if (indices) indices->data<int64_t>()[obase + j * s.inner] = order[j];
        }
      }
    }
    return ok_status();
  });
}

}  // namespace

std::span<const KernelEntry> reduce_kernels() {
  static const KernelEntry kTable[] = {
      {"", "ReduceSum", reduce_sum},
      {"", "ReduceMean", reduce_mean},
      {"", "ReduceMax", reduce_max},
      {"", "ReduceMin", reduce_min},
      {"", "ReduceProd", reduce_prod},
      {"", "ReduceL1", reduce_l1},
      {"", "ReduceL2", reduce_l2},
      {"", "ReduceLogSum", reduce_log_sum},
      {"", "ReduceLogSumExp", reduce_log_sum_exp},
      {"", "ReduceSumSquare", reduce_sum_square},
      {"", "ArgMax", arg_max},
      {"", "ArgMin", arg_min},
      {"", "CumSum", cum_sum},
      {"", "TopK", top_k},
      {"", "Softmax", softmax},
      {"", "LogSoftmax", log_softmax},
      {"", "Hardmax", hardmax},
      {"", "BatchNormalization", batch_normalization},
      {"", "InstanceNormalization", instance_normalization},
      {"", "LayerNormalization", layer_normalization},
      {"", "GroupNormalization", group_normalization},
      {"", "LpNormalization", lp_normalization},
      {"", "MeanVarianceNormalization", mean_variance_normalization},
      {"", "LRN", lrn},
      {"", "NegativeLogLikelihoodLoss", negative_log_likelihood_loss},
      {"", "SoftmaxCrossEntropyLoss", softmax_cross_entropy_loss},
  };
  return kTable;
}

}  // namespace edgeai::kernels::ref
