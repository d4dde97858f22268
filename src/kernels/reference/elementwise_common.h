// Shared helpers of the elementwise kernel family (elementwise*.cc, cast.cc): compute types for
// f16/bf16, dtype checks, saturating conversions and an allocation-free broadcasting loop.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>

#include "core/shape.h"
#include "kernels/kernel.h"
#include "kernels/reference/dispatch.h"

namespace edgeai::kernels::ref::ew {

// The type arithmetic runs in: f16/bf16 compute in float, every other type in itself.
template <typename T>
struct ArithOf { using type = T; };
template <>
struct ArithOf<Half> { using type = float; };
template <>
struct ArithOf<BFloat16> { using type = float; };
template <typename T>
using Arith = typename ArithOf<T>::type;

template <typename T>
inline Arith<T> load(T v) {
  if constexpr (std::is_same_v<T, Half>) return half_to_float(v.bits);
  else if constexpr (std::is_same_v<T, BFloat16>) return bf16_to_float(v.bits);
  else return v;
}
template <typename T>
inline T store(Arith<T> v) {
  if constexpr (std::is_same_v<T, Half>) return Half{float_to_half(v)};
  else if constexpr (std::is_same_v<T, BFloat16>) return BFloat16{float_to_bf16(v)};
  else return v;
}

template <typename T>
inline constexpr bool kIsFloat = std::is_floating_point_v<Arith<T>>;

// Converts a floating value to integer type I without undefined behaviour: NaN gives 0, values
// out of range saturate, the rest truncate toward zero.
template <typename I, typename F>
inline I saturate_cast(F v) {
  static_assert(std::is_integral_v<I>);
  if (std::isnan(v)) return 0;
  constexpr double lo = static_cast<double>(std::numeric_limits<I>::min());
  // 2^bits (exact in double); anything >= it is out of range.
  constexpr double hi_excl = std::is_signed_v<I> ? -lo : 2.0 * (static_cast<double>(std::numeric_limits<I>::max() / 2) + 1.0);
  double d = static_cast<double>(v);
  if (d <= lo) return std::numeric_limits<I>::min();
  if (d >= hi_excl) return std::numeric_limits<I>::max();
  return static_cast<I>(d);
}

// Wrapping integer arithmetic (signed overflow is undefined in C++; ONNX runtimes wrap).
template <typename T>
inline T wrap_add(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <typename T>
inline T wrap_sub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}
template <typename T>
inline T wrap_mul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  // Promote narrow unsigned types through unsigned int so the product cannot overflow int.
  using W = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;
  return static_cast<T>(static_cast<U>(static_cast<W>(static_cast<U>(a)) * static_cast<W>(static_cast<U>(b))));
}
template <typename T>
inline T wrap_neg(T a) {
  return wrap_sub<T>(T(0), a);
}

// Bit sets of dtypes, for checks.
using DTypeMask = uint32_t;
constexpr DTypeMask bit(DType t) { return DTypeMask(1) << static_cast<unsigned>(t); }
constexpr DTypeMask kFloatTypes = bit(DType::kF32) | bit(DType::kF64) | bit(DType::kF16) | bit(DType::kBF16);
constexpr DTypeMask kSignedInts = bit(DType::kI8) | bit(DType::kI16) | bit(DType::kI32) | bit(DType::kI64);
constexpr DTypeMask kUnsignedInts = bit(DType::kU8) | bit(DType::kU16) | bit(DType::kU32) | bit(DType::kU64);
constexpr DTypeMask kIntTypes = kSignedInts | kUnsignedInts;
constexpr DTypeMask kNumeric = kFloatTypes | kIntTypes;
constexpr DTypeMask kBoolType = bit(DType::kBool);
constexpr DTypeMask kStringType = bit(DType::kString);
constexpr DTypeMask kAllTypes = kNumeric | kBoolType | kStringType;

std::string mask_names(DTypeMask m);

// Checks the input count is within [lo, hi] and that the first `required` inputs are present.
Status check_inputs(const KernelContext& ctx, int lo, int hi, int required);
// Checks input i's dtype is in `allowed`.
Status check_dtype(const KernelContext& ctx, int i, DTypeMask allowed);
// Checks inputs a and b have the same dtype.
Status check_same_dtype(const KernelContext& ctx, int a, int b);

// Visits every type by the type its elements are copied as: bool as uint8_t (so hostile bytes
// are never read as bool), strings as std::string, the rest as in visit_numeric.
template <typename F>
Status visit_copyable(DType t, F&& f) {
  switch (t) {
    case DType::kBool: return f.template operator()<uint8_t>();
    case DType::kString: return f.template operator()<std::string>();
    default: return visit_numeric(t, std::forward<F>(f));
  }
}

// Calls f(out_index, offset_0, ..., offset_{N-1}) for every element of `out` in row-major order,
// where offset_k is the element of input k (with shape ins[k], broadcastable to out). No heap
// allocation per element; the innermost dimension runs as a plain loop.
template <size_t N, typename F>
void for_each_broadcast(const Shape& out, const std::array<const Shape*, N>& ins, F&& f) {
  const int64_t total = shape_numel(out);
  if (total == 0) return;
  const size_t r = out.size();
  if (r == 0) {
    std::apply([&](auto... z) { f(int64_t(0), z...); }, std::array<int64_t, N>{});
    return;
  }
  // Per input and axis, the stride in elements (0 where the input is broadcast along the axis).
  constexpr size_t kMaxRankInline = 16;
  std::array<std::array<int64_t, kMaxRankInline>, N> st_small{};
  std::vector<std::array<int64_t, N>> st_big;
  const bool small = r <= kMaxRankInline;
  if (!small) st_big.assign(r, std::array<int64_t, N>{});
  for (size_t k = 0; k < N; ++k) {
    const Shape& s = *ins[k];
    size_t off = r - s.size();
    int64_t stride = 1;
    for (size_t i = r; i-- > 0;) {
      int64_t v = 0;
      if (i >= off) {
        int64_t d = s[i - off];
        v = d == 1 ? 0 : stride;
        stride *= d;
      }
      if (small) st_small[k][i] = v;
      else st_big[i][k] = v;
    }
  }
  auto stride_of = [&](size_t k, size_t axis) -> int64_t {
    return small ? st_small[k][axis] : st_big[axis][k];
  };
  const int64_t inner = out[r - 1];
  std::array<int64_t, N> inner_st{};
  for (size_t k = 0; k < N; ++k) inner_st[k] = stride_of(k, r - 1);
  std::array<int64_t, N> base{};
  std::vector<int64_t> idx(r, 0);
  int64_t o = 0;
  const int64_t outer = total / inner;
  for (int64_t n = 0; n < outer; ++n) {
    for (int64_t j = 0; j < inner; ++j, ++o) {
      std::array<int64_t, N> offs;
      for (size_t k = 0; k < N; ++k) offs[k] = base[k] + j * inner_st[k];
      std::apply([&](auto... z) { f(o, z...); }, offs);
    }
    for (size_t axis = r - 1; axis-- > 0;) {
      ++idx[axis];
      for (size_t k = 0; k < N; ++k) base[k] += stride_of(k, axis);
      if (idx[axis] < out[axis]) break;
      for (size_t k = 0; k < N; ++k) base[k] -= stride_of(k, axis) * out[axis];
      idx[axis] = 0;
    }
  }
}

// The kernels of the family that live outside elementwise.cc.
Status add(KernelContext& ctx);
Status sub(KernelContext& ctx);
Status mul(KernelContext& ctx);
Status div(KernelContext& ctx);
Status pow(KernelContext& ctx);
Status mod(KernelContext& ctx);
Status logical_and(KernelContext& ctx);
Status logical_or(KernelContext& ctx);
Status logical_xor(KernelContext& ctx);
Status equal(KernelContext& ctx);
Status greater(KernelContext& ctx);
Status greater_or_equal(KernelContext& ctx);
Status less(KernelContext& ctx);
Status less_or_equal(KernelContext& ctx);
Status bit_shift(KernelContext& ctx);
Status bitwise_and(KernelContext& ctx);
Status bitwise_or(KernelContext& ctx);
Status bitwise_xor(KernelContext& ctx);
Status where(KernelContext& ctx);
Status max(KernelContext& ctx);
Status min(KernelContext& ctx);
Status sum(KernelContext& ctx);
Status mean(KernelContext& ctx);
Status prelu(KernelContext& ctx);
Status cast(KernelContext& ctx);
Status cast_like(KernelContext& ctx);

}  // namespace edgeai::kernels::ref::ew
