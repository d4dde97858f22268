// Shared helpers of the reference NN family (nn*.cc): compute types, input checks, and the
// sliding-window geometry (kernel, strides, dilations, pads, auto_pad) of Conv and the pools.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "core/shape.h"
#include "kernels/kernel.h"
#include "kernels/reference/dispatch.h"

namespace edgeai::kernels::ref::nn {

// Kernels of the family (one per ONNX op), defined in nn_conv.cc, nn_pool.cc, nn_matmul.cc,
// nn_einsum.cc and nn_sample.cc; nn.cc lists them in the family's table.
Status conv(KernelContext& ctx);
Status conv_transpose(KernelContext& ctx);
Status col2im(KernelContext& ctx);
Status max_pool(KernelContext& ctx);
Status average_pool(KernelContext& ctx);
Status lp_pool(KernelContext& ctx);
Status global_average_pool(KernelContext& ctx);
Status global_max_pool(KernelContext& ctx);
Status global_lp_pool(KernelContext& ctx);
Status max_unpool(KernelContext& ctx);
Status max_roi_pool(KernelContext& ctx);
Status roi_align(KernelContext& ctx);
Status matmul(KernelContext& ctx);
Status gemm(KernelContext& ctx);
Status det(KernelContext& ctx);
Status einsum(KernelContext& ctx);
Status grid_sample(KernelContext& ctx);

// The type float arithmetic runs in: double for f64, float for f32/f16/bf16.
template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <typename T>
inline constexpr bool kIsFloat =
    std::is_floating_point_v<T> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

template <typename A, typename T>
inline A load(T v) {
  if constexpr (std::is_same_v<T, Half>) return static_cast<A>(half_to_float(v.bits));
  else if constexpr (std::is_same_v<T, BFloat16>) return static_cast<A>(bf16_to_float(v.bits));
  else return static_cast<A>(v);
}
template <typename T, typename A>
inline T store(A v) {
  if constexpr (std::is_same_v<T, Half>) return Half{float_to_half(static_cast<float>(v))};
  else if constexpr (std::is_same_v<T, BFloat16>) return BFloat16{float_to_bf16(static_cast<float>(v))};
  else return static_cast<T>(v);
}

// The elements of `t` (dtype T) as A: the tensor's own memory when T is A, else a converted copy
// held in `buf`.
template <typename A, typename T>
const A* as_acc(const Tensor& t, std::vector<A>& buf) {
  if constexpr (std::is_same_v<A, T>) {
    return t.data<T>();
  } else {
    const T* p = t.data<T>();
    buf.resize(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) buf[i] = load<A>(p[i]);
    return buf.data();
  }
}

// Writes `n` values of A into `dst` as T.
template <typename T, typename A>
void store_all(const A* src, int64_t n, T* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = store<T>(src[i]);
}

// Checks the input count is in [lo, hi], inputs [0, required) are present, and every present
// input is a tensor.
Status check_inputs(const KernelContext& ctx, int lo, int hi, int required);
// Input i has a float dtype (f16, bf16, f32, f64).
Status check_float(const KernelContext& ctx, int i);
// Inputs a and b share a dtype.
Status check_same_dtype(const KernelContext& ctx, int a, int b);
std::string dtype_str(DType t);
std::string ints_str(std::span<const int64_t> v);

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };
Result<AutoPad> read_auto_pad(const KernelContext& ctx);

// The largest kernel extent, stride, dilation or pad accepted (keeps the arithmetic on them far
// from overflow).
inline constexpr int64_t kMaxWindowValue = int64_t(1) << 31;

// Sliding-window geometry over the spatial dims of one op.
struct Window {
  int nd = 0;
  Shape in;                   // input spatial dims
  Shape kernel;               // kernel (or block) dims
  std::vector<int64_t> strides, dilations;
  std::vector<int64_t> pad_begin, pad_end;
  Shape out;                  // output spatial dims
  int64_t extent(int d) const { return dilations[d] * (kernel[d] - 1) + 1; }
};

// Reads strides, dilations (when `allow_dilations`), pads and auto_pad for a Conv/pool-like op
// over input spatial dims `in` with kernel dims `kernel`, validates them and computes the output
// dims. `ceil_mode` rounds the output size up (pools, opset 10+). `pad_less_than_kernel` rejects
// pads not smaller than the kernel extent (pools; a window must overlap the input).
Result<Window> make_window(const KernelContext& ctx, const Shape& in, const Shape& kernel,
                           bool allow_dilations, bool ceil_mode, bool pad_less_than_kernel);

// Reads an ints attribute of length `n` (or `def` repeated when absent); checks each value is in
// [lo, hi].
Result<std::vector<int64_t>> read_ints(const KernelContext& ctx, std::string_view name, int n,
                                       int64_t def, int64_t lo, int64_t hi);

// Range of kernel taps j in [0, k) with 0 <= start + j * dil < in: [*j_lo, *j_hi) (empty when
// j_lo >= j_hi).
inline void valid_taps(int64_t start, int64_t k, int64_t dil, int64_t in, int64_t* j_lo, int64_t* j_hi) {
  int64_t lo = start < 0 ? (-start + dil - 1) / dil : 0;
  int64_t hi = start >= in ? 0 : (in - 1 - start) / dil + 1;
  *j_lo = lo;
  *j_hi = hi < k ? hi : k;
}

// Range of positions x in [0, n) with 0 <= x * stride + off < in: [*lo, *hi).
inline void valid_positions(int64_t off, int64_t stride, int64_t n, int64_t in, int64_t* lo, int64_t* hi) {
  // x >= ceil(-off / stride); x <= floor((in - 1 - off) / stride)
  int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t h;
  if (in - 1 - off < 0) h = 0;
  else h = (in - 1 - off) / stride + 1;
  *lo = l;
  *hi = h < n ? h : n;
  if (*hi < *lo) *hi = *lo;
}

// Checked product of dims for sizes the kernels allocate themselves.
Result<int64_t> checked_size(std::span<const int64_t> dims);

}  // namespace edgeai::kernels::ref::nn
