// Shared helpers of the tensor kernel family (tensor.cc, indexing.cc, resize.cc): storage-type
// dispatch for data movement, a strided copy, input checks and safe conversions.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "core/shape.h"
#include "core/tensor.h"
#include "kernels/kernel.h"
#include "kernels/reference/dispatch.h"

namespace edgeai::kernels::ref::tensor_ops {

// Data movement does not care what the bytes mean: visit by element size (strings by value).
template <typename F>
Status visit_storage(DType t, F&& f) {
  if (t == DType::kString) return f.template operator()<std::string>();
  if (t == DType::kUndefined) return dtype_not_supported(t);
  switch (dtype_size(t)) {
    case 1: return f.template operator()<uint8_t>();
    case 2: return f.template operator()<uint16_t>();
    case 4: return f.template operator()<uint32_t>();
    case 8: return f.template operator()<uint64_t>();
    default: return dtype_not_supported(t);
  }
}

template <typename T>
inline void copy_n(const T* src, int64_t n, T* dst) {
  if (n <= 0) return;
  if constexpr (std::is_trivially_copyable_v<T>) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(T));
  } else {
    std::copy(src, src + n, dst);
  }
}

// out (row-major over `shape`) [i0..ik] = in[base + sum_k i_k * strides[k]]. Strides may be 0
// (broadcast) or negative (reversed slices). Adjacent dims that are contiguous are merged and
// the innermost run is copied with memcpy when its stride is 1.
template <typename T>
void strided_copy(const T* in, int64_t base, const Shape& shape, const std::vector<int64_t>& strides,
                  T* out) {
  for (int64_t d : shape) {
    if (d == 0) return;
  }
  Shape s;
  std::vector<int64_t> st;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1) continue;
    if (!s.empty() && st.back() == strides[k] * shape[k]) {
      s.back() *= shape[k];
      st.back() = strides[k];
    } else {
      s.push_back(shape[k]);
      st.push_back(strides[k]);
    }
  }
  if (s.empty()) {
    out[0] = in[base];
    return;
  }
  const size_t r = s.size();
  const int64_t inner = s[r - 1], istride = st[r - 1];
  int64_t outer = 1;
  for (size_t k = 0; k + 1 < r; ++k) outer *= s[k];
  std::vector<int64_t> idx(r, 0);
  int64_t off = base;
  for (int64_t o = 0; o < outer; ++o) {
    const T* src = in + off;
    if (istride == 1) {
      copy_n(src, inner, out);
    } else if (istride == 0) {
      std::fill(out, out + inner, *src);
    } else {
      for (int64_t j = 0; j < inner; ++j) out[j] = src[j * istride];
    }
    out += inner;
    for (size_t k = r - 1; k-- > 0;) {
      if (++idx[k] < s[k]) {
        off += st[k];
        break;
      }
      off -= st[k] * (s[k] - 1);
      idx[k] = 0;
    }
  }
}

inline Status strided_copy_tensor(const Tensor& in, int64_t base, const Shape& shape,
                                  const std::vector<int64_t>& strides, Tensor& out) {
  return visit_storage(in.dtype(), [&]<typename T>() {
    strided_copy(in.data<T>(), base, shape, strides, out.data<T>());
    return ok_status();
  });
}

// Copies all elements of `in` into `out` (same dtype and element count).
inline Status copy_tensor(const Tensor& in, Tensor& out) {
  return visit_storage(in.dtype(), [&]<typename T>() {
    copy_n(in.data<T>(), in.numel(), out.data<T>());
    return ok_status();
  });
}

// A required input that must be present.
inline Status require_input(const KernelContext& ctx, int i, std::string_view what) {
  if (!ctx.has_input(i)) {
    return ctx.error("input " + std::to_string(i) + " (" + std::string(what) + ") is required");
  }
  return ok_status();
}

// Reads an integer tensor (shape, axes, pads, indices lists) as int64.
inline Result<std::vector<int64_t>> read_ints(const KernelContext& ctx, const Tensor& t,
                                              std::string_view what) {
  if (!dtype_is_integer(t.dtype())) {
    return ctx.error(std::string(what) + " must be an integer tensor, got " +
                     std::string(dtype_name(t.dtype())));
  }
  if (t.rank() > 1) {
    return ctx.error(std::string(what) + " must be a 1-D tensor, got shape " + shape_str(t.shape()));
  }
  return t.to_int64_vector();
}

// One element of a scalar-like (rank 0 or a single element) tensor.
inline Status require_scalar(const KernelContext& ctx, const Tensor& t, std::string_view what) {
  if (t.numel() != 1) {
    return ctx.error(std::string(what) + " must hold exactly one element, got shape " +
                     shape_str(t.shape()));
  }
  return ok_status();
}

// Safe conversion of a double into any element type: integers saturate (NaN -> 0) and truncate
// toward zero, bool is "non-zero", strings are empty.
template <typename T>
inline T cast_double(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0.0;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return std::string();
  } else if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return 0;
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::min());
    constexpr double hi_excl =
        std::is_signed_v<T> ? -lo : 2.0 * (static_cast<double>(std::numeric_limits<T>::max() / 2) + 1.0);
    if (v <= lo) return std::numeric_limits<T>::min();
    if (v >= hi_excl) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return from_f64<T>(v);
  }
}

template <typename T>
inline double value_to_double(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? 1.0 : 0.0;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return 0.0;
  } else {
    return to_f64<T>(v);
  }
}

// Checked a * b for non-negative sizes.
inline bool mul_overflows(int64_t a, int64_t b, int64_t limit = int64_t(1) << 40) {
  return a != 0 && b > limit / a;
}

// Clamps a double into int64 range (NaN -> 0).
inline int64_t double_to_i64(double v) { return cast_double<int64_t>(v); }

}  // namespace edgeai::kernels::ref::tensor_ops

namespace edgeai::kernels::ref {

// Kernels defined in indexing.cc and resize.cc, registered in tensor.cc's table.
Status gather(KernelContext& ctx);
Status gather_elements(KernelContext& ctx);
Status gather_nd(KernelContext& ctx);
Status scatter_elements(KernelContext& ctx);
Status scatter_nd(KernelContext& ctx);
Status nonzero(KernelContext& ctx);
Status one_hot(KernelContext& ctx);
Status compress(KernelContext& ctx);
Status unique(KernelContext& ctx);
Status reverse_sequence(KernelContext& ctx);
Status resize(KernelContext& ctx);
Status upsample(KernelContext& ctx);

}  // namespace edgeai::kernels::ref
