// Shared by the reduce family's files (reduce.cc, normalization.cc, loss.cc): the kernels that
// reduce.cc's table lists, and small helpers for axes, dtypes and conversions.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/reference/dispatch.h"

namespace edgeai::kernels::ref {

// normalization.cc
Status softmax(KernelContext& ctx);
Status log_softmax(KernelContext& ctx);
Status hardmax(KernelContext& ctx);
Status batch_normalization(KernelContext& ctx);
Status instance_normalization(KernelContext& ctx);
Status layer_normalization(KernelContext& ctx);
Status group_normalization(KernelContext& ctx);
Status lp_normalization(KernelContext& ctx);
Status mean_variance_normalization(KernelContext& ctx);
Status lrn(KernelContext& ctx);

// loss.cc
Status negative_log_likelihood_loss(KernelContext& ctx);
Status softmax_cross_entropy_loss(KernelContext& ctx);

namespace reduce_detail {

// Normalizes `axis` into [0, rank): the accepted range is [-rank, rank-1] (empty for rank 0).
inline Result<int> axis_in_range(const KernelContext& ctx, int64_t axis, int64_t rank,
                                 std::string_view what = "axis") {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    return ctx.error(std::string(what) + " " + std::to_string(axis) + " is out of range [" +
                     std::to_string(-rank) + ", " + std::to_string(rank - 1) + "] for rank " +
                     std::to_string(rank));
  }
  return static_cast<int>(a);
}

// Input i, present and a tensor; its name is used in the message when absent.
inline Result<const Tensor*> required_input(const KernelContext& ctx, int i, std::string_view name) {
  if (!ctx.has_input(i)) {
    return ctx.error("required input " + std::to_string(i) + " (" + std::string(name) +
                     ") is missing");
  }
  if (!ctx.input_value(i).is_tensor()) {
    return ctx.error("input " + std::to_string(i) + " (" + std::string(name) +
                     ") must be a tensor");
  }
  return &ctx.input(i);
}

inline Status expect_float(const KernelContext& ctx, const Tensor& t, std::string_view name) {
  if (!dtype_is_float(t.dtype())) {
    return ctx.error(std::string(name) + " must be a float tensor (f16/bf16/f32/f64), got " +
                     std::string(dtype_name(t.dtype())));
  }
  return ok_status();
}

inline Status expect_numeric(const KernelContext& ctx, const Tensor& t, std::string_view name) {
  if (!dtype_is_float(t.dtype()) && !dtype_is_integer(t.dtype())) {
    return ctx.error(std::string(name) + " must be a numeric tensor, got " +
                     std::string(dtype_name(t.dtype())));
  }
  return ok_status();
}

// Allocates output i, with the node named in any error.
inline Result<Tensor*> alloc_output(KernelContext& ctx, int i, DType dtype, const Shape& shape) {
  auto r = ctx.allocate_output(i, dtype, shape);
  if (!r.ok()) return ctx.error("output " + std::to_string(i) + ": " + r.status().message());
  return r.value();
}

// Every element of a numeric tensor as double (for small parameter tensors: scale, mean, ...).
inline std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  Status st = visit_numeric(t.dtype(), [&]<typename T>() {
    const T* d = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = to_f64(d[i]);
    return ok_status();
  });
  (void)st;  // callers check the dtype first
  return v;
}

// The value of an element as a type with ordinary comparisons: float for f16/bf16, itself
// otherwise.
template <typename T>
inline auto key_of(T v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return to_f32(v);
  } else {
    return v;
  }
}

template <typename K>
inline bool is_nan(K v) {
  if constexpr (std::is_floating_point_v<K>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

// double -> T; for integer T, NaN gives 0 and out-of-range values saturate (a plain cast would be
// undefined behaviour).
template <typename T>
inline T cast_from_f64(double v) {
  if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T(0);
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());  // may round up
    if (v <= lo) return std::numeric_limits<T>::lowest();
    if (v >= hi) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return from_f64<T>(v);
  }
}

// Reads an int tensor (int32/int64) holding one value (0-D or 1-element 1-D), e.g. CumSum's axis.
inline Result<int64_t> scalar_int(const KernelContext& ctx, const Tensor& t, std::string_view name) {
  if (t.dtype() != DType::kI32 && t.dtype() != DType::kI64) {
    return ctx.error(std::string(name) + " must be int32 or int64, got " +
                     std::string(dtype_name(t.dtype())));
  }
  if (t.rank() > 1 || t.numel() != 1) {
    return ctx.error(std::string(name) + " must hold exactly one value, got shape " +
                     shape_str(t.shape()));
  }
  return t.get_int(0);
}

}  // namespace reduce_detail
}  // namespace edgeai::kernels::ref
