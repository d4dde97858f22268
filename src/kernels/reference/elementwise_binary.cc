// Reference elementwise kernels, part 2: broadcasting binary ops (arithmetic, comparison, logic,
// bitwise), Where, PRelu, and the variadic Max/Min/Sum/Mean.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/reference/elementwise_common.h"

namespace edgeai::kernels::ref::ew {
namespace {

// Runs po[i] = f(pa[ia], pb[ib]) over the broadcast of a and b into y (raw storage types), with
// fast paths for equal shapes and scalar operands.
template <typename TA, typename TB, typename TO, typename F>
void broadcast_binary(const Tensor& a, const Tensor& b, Tensor* y, F&& f) {
  const TA* pa = a.data<TA>();
  const TB* pb = b.data<TB>();
  TO* po = y->data<TO>();
  const int64_t n = y->numel();
  const Shape& so = y->shape();
  if (a.shape() == so && b.shape() == so) {
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
  } else if (a.numel() == 1 && b.shape() == so) {
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[0], pb[i]);
  } else if (b.numel() == 1 && a.shape() == so) {
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[0]);
  } else {
    for_each_broadcast<2>(so, {&a.shape(), &b.shape()},
                          [&](int64_t o, int64_t ia, int64_t ib) { po[o] = f(pa[ia], pb[ib]); });
  }
}

Result<Shape> broadcast_of(const KernelContext& ctx, const Shape& a, const Shape& b) {
  auto r = broadcast_shapes(a, b);
  if (!r.ok()) return ctx.error(r.status().message());
  return std::move(r).value();
}

// Two inputs of one dtype in `allowed`; output of that dtype; f works on Arith<T> values.
// `err` is set by f to report an error (division by zero) after the loop.
template <typename F>
Status same_type_binary(KernelContext& ctx, DTypeMask allowed, F&& f) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 2, 2));
  RETURN_IF_ERROR(check_dtype(ctx, 0, allowed));
  RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  if (!ctx.is_output_used(0)) return ok_status();
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  ASSIGN_OR_RETURN(Shape shape, broadcast_of(ctx, a.shape(), b.shape()));
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, a.dtype(), shape));
  return visit_numeric(a.dtype(), [&]<typename T>() {
    broadcast_binary<T, T, T>(a, b, y, [&](T u, T v) { return store<T>(f(load<T>(u), load<T>(v))); });
    return ok_status();
  });
}

// Two inputs of one dtype; bool output. f takes Arith<T> (or std::string / uint8_t for bool).
template <bool kStrings = false, typename F>
Status compare_binary(KernelContext& ctx, DTypeMask allowed, F&& f) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 2, 2));
  RETURN_IF_ERROR(check_dtype(ctx, 0, allowed));
  RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  if (!ctx.is_output_used(0)) return ok_status();
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  ASSIGN_OR_RETURN(Shape shape, broadcast_of(ctx, a.shape(), b.shape()));
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kBool, shape));
  return visit_copyable(a.dtype(), [&]<typename T>() {
    if constexpr (std::is_same_v<T, std::string>) {
      if constexpr (kStrings) {
        broadcast_binary<T, T, bool>(a, b, y, [&](const T& u, const T& v) { return f(u, v); });
      }
    } else {
      broadcast_binary<T, T, bool>(a, b, y, [&](T u, T v) { return f(load<T>(u), load<T>(v)); });
    }
    return ok_status();
  });
}

template <typename A>
bool is_int_min_div_minus_one(A a, A b) {
  if constexpr (std::is_signed_v<A> && std::is_integral_v<A>) {
    return a == std::numeric_limits<A>::min() && b == A(-1);
  }
  return false;
}

}  // namespace

// --- arithmetic -----------------------------------------------------------------------------

Status add(KernelContext& ctx) {
  return same_type_binary(ctx, kNumeric, [](auto a, auto b) {
    using A = decltype(a);
    if constexpr (std::is_floating_point_v<A>) return a + b;
    else return wrap_add<A>(a, b);
  });
}

Status sub(KernelContext& ctx) {
  return same_type_binary(ctx, kNumeric, [](auto a, auto b) {
    using A = decltype(a);
    if constexpr (std::is_floating_point_v<A>) return a - b;
    else return wrap_sub<A>(a, b);
  });
}

Status mul(KernelContext& ctx) {
  return same_type_binary(ctx, kNumeric, [](auto a, auto b) {
    using A = decltype(a);
    if constexpr (std::is_floating_point_v<A>) return a * b;
    else return wrap_mul<A>(a, b);
  });
}

Status div(KernelContext& ctx) {
  bool by_zero = false;
  Status st = same_type_binary(ctx, kNumeric, [&by_zero](auto a, auto b) {
    using A = decltype(a);
    if constexpr (std::is_floating_point_v<A>) {
      return a / b;
    } else {
      if (b == A(0)) {
        by_zero = true;
        return A(0);
      }
      if (is_int_min_div_minus_one(a, b)) return a;  // wraps
      return static_cast<A>(a / b);
    }
  });
  RETURN_IF_ERROR(st);
  if (by_zero) return ctx.error("integer division by zero");
  return ok_status();
}

Status mod(KernelContext& ctx) {
  const int64_t fmod = ctx.attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1) return ctx.error("attribute 'fmod' must be 0 or 1, got " + std::to_string(fmod));
  RETURN_IF_ERROR(check_inputs(ctx, 2, 2, 2));
  if (fmod == 0 && dtype_is_float(ctx.input(0).dtype())) {
    return ctx.error("floating-point Mod requires fmod=1, got fmod=0");
  }
  bool by_zero = false;
  Status st = same_type_binary(ctx, kNumeric, [&by_zero, fmod](auto a, auto b) {
    using A = decltype(a);
    if constexpr (std::is_floating_point_v<A>) {
      return std::fmod(a, b);
    } else {
      if (b == A(0)) {
        by_zero = true;
        return A(0);
      }
      if (is_int_min_div_minus_one(a, b)) return A(0);
      A r = static_cast<A>(a % b);
      if constexpr (std::is_signed_v<A>) {
        if (fmod == 0 && r != 0 && ((r < 0) != (b < 0))) r = static_cast<A>(r + b);
      }
      return r;
    }
  });
  RETURN_IF_ERROR(st);
  if (by_zero) return ctx.error("integer modulo by zero");
  return ok_status();
}

namespace {

// Integer power with wrapping; exponent may be any integer.
template <typename A, typename E>
bool int_pow(A base, E e, A* out) {
  if constexpr (std::is_signed_v<E>) {
    if (e < 0) {
      if (base == A(0)) return false;
      if (base == A(1)) *out = A(1);
      else if constexpr (std::is_signed_v<A>) {
        if (base == A(-1)) *out = (e % 2 == 0) ? A(1) : A(-1);
        else *out = A(0);
      } else {
        *out = A(0);
      }
      return true;
    }
  }
  using UE = std::make_unsigned_t<E>;
  UE ue = static_cast<UE>(e);
  A result = A(1), b = base;
  while (ue) {
    if (ue & 1u) result = wrap_mul<A>(result, b);
    ue >>= 1;
    if (ue) b = wrap_mul<A>(b, b);
  }
  *out = result;
  return true;
}

}  // namespace

// Pow: from opset 12 base and exponent may have different dtypes; the output has the base's.
Status pow(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 2, 2));
  RETURN_IF_ERROR(check_dtype(ctx, 0, ctx.opset() >= 12 ? kNumeric : kFloatTypes));
  RETURN_IF_ERROR(check_dtype(ctx, 1, ctx.opset() >= 12 ? kNumeric : kFloatTypes));
  if (ctx.opset() < 12) RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  if (!ctx.is_output_used(0)) return ok_status();
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  ASSIGN_OR_RETURN(Shape shape, broadcast_of(ctx, a.shape(), b.shape()));
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, a.dtype(), shape));
  // The exponent is widened once to f64 (float exponents) or i64 (integer exponents), so only
  // the base's dtype multiplies the instantiations (12 x 2 loops instead of 12 x 12: this file
  // took minutes to compile before).
  const bool e_float = dtype_is_float(b.dtype());
  ASSIGN_OR_RETURN(Tensor e_wide, Tensor::create(e_float ? DType::kF64 : DType::kI64, b.shape()));
  for (int64_t i = 0; i < b.numel(); ++i) {
    if (e_float) e_wide.data<double>()[i] = b.get_double(i);
    else e_wide.data<int64_t>()[i] = b.get_int(i);
  }
  bool zero_neg = false;
  auto run = [&]<typename TA, typename TB>() {
    using A = Arith<TA>;
    broadcast_binary<TA, TB, TA>(a, e_wide, y, [&](TA u, TB e) -> TA {
      const A x = load<TA>(u);
      A r = A(0);
      if constexpr (std::is_floating_point_v<A>) {
        r = static_cast<A>(std::pow(static_cast<double>(x), static_cast<double>(e)));
      } else if constexpr (std::is_floating_point_v<TB>) {
        r = saturate_cast<A>(std::pow(static_cast<double>(x), e));
      } else {
        if (!int_pow<A, TB>(x, e, &r)) zero_neg = true;
      }
      return store<TA>(r);
    });
  };
  RETURN_IF_ERROR(visit_numeric(a.dtype(), [&]<typename TA>() {
    if (e_float) run.template operator()<TA, double>();
    else run.template operator()<TA, int64_t>();
    return ok_status();
  }));
  if (zero_neg) return ctx.error("integer 0 raised to a negative power");
  return ok_status();
}

// --- logic and comparison -------------------------------------------------------------------

Status logical_and(KernelContext& ctx) {
  return compare_binary(ctx, kBoolType, [](auto a, auto b) { return a != 0 && b != 0; });
}
Status logical_or(KernelContext& ctx) {
  return compare_binary(ctx, kBoolType, [](auto a, auto b) { return a != 0 || b != 0; });
}
Status logical_xor(KernelContext& ctx) {
  return compare_binary(ctx, kBoolType, [](auto a, auto b) { return (a != 0) != (b != 0); });
}

Status equal(KernelContext& ctx) {
  // Bool and integers since opset 7, floats since 11, strings since 19.
  RETURN_IF_ERROR(check_inputs(ctx, 2, 2, 2));
  if (ctx.input(0).dtype() == DType::kBool) {
    return compare_binary(ctx, kBoolType, [](auto a, auto b) { return (a != 0) == (b != 0); });
  }
  return compare_binary<true>(ctx, kNumeric | kStringType,
                              [](const auto& a, const auto& b) { return a == b; });
}
Status greater(KernelContext& ctx) {
  return compare_binary(ctx, kNumeric, [](const auto& a, const auto& b) { return a > b; });
}
Status greater_or_equal(KernelContext& ctx) {
  return compare_binary(ctx, kNumeric, [](const auto& a, const auto& b) { return a >= b; });
}
Status less(KernelContext& ctx) {
  return compare_binary(ctx, kNumeric, [](const auto& a, const auto& b) { return a < b; });
}
Status less_or_equal(KernelContext& ctx) {
  return compare_binary(ctx, kNumeric, [](const auto& a, const auto& b) { return a <= b; });
}

// --- bitwise --------------------------------------------------------------------------------

Status bit_shift(KernelContext& ctx) {
  const std::string dir = ctx.attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT") {
    return ctx.error("attribute 'direction' must be \"LEFT\" or \"RIGHT\", got \"" + dir + "\"");
  }
  const bool left = dir == "LEFT";
  return same_type_binary(ctx, kUnsignedInts, [left](auto a, auto b) {
    using A = decltype(a);
    if constexpr (std::is_integral_v<A>) {
      if (b >= A(sizeof(A) * 8)) return A(0);
      uint64_t v = static_cast<uint64_t>(a);
      return static_cast<A>(left ? (v << b) : (v >> b));
    } else {
      return a;  // not instantiated for the allowed dtypes
    }
  });
}

template <typename Op>
Status bitwise(KernelContext& ctx, Op op) {
  return same_type_binary(ctx, kIntTypes, [op](auto a, auto b) {
    using A = decltype(a);
    if constexpr (std::is_integral_v<A>) return static_cast<A>(op(a, b));
    else return a;  // not instantiated for the allowed dtypes
  });
}
Status bitwise_and(KernelContext& ctx) { return bitwise(ctx, [](auto a, auto b) { return a & b; }); }
Status bitwise_or(KernelContext& ctx) { return bitwise(ctx, [](auto a, auto b) { return a | b; }); }
Status bitwise_xor(KernelContext& ctx) { return bitwise(ctx, [](auto a, auto b) { return a ^ b; }); }

// --- Where, PRelu ---------------------------------------------------------------------------

Status where(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 3, 3, 3));
  RETURN_IF_ERROR(check_dtype(ctx, 0, kBoolType));
  RETURN_IF_ERROR(check_same_dtype(ctx, 1, 2));
  if (!ctx.is_output_used(0)) return ok_status();
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& yv = ctx.input(2);
  ASSIGN_OR_RETURN(Shape s1, broadcast_of(ctx, x.shape(), yv.shape()));
  ASSIGN_OR_RETURN(Shape shape, broadcast_of(ctx, c.shape(), s1));
  ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), shape));
  return visit_copyable(x.dtype(), [&]<typename T>() {
    const uint8_t* pc = c.data<uint8_t>();
    const T* px = x.data<T>();
    const T* py = yv.data<T>();
    T* po = out->data<T>();
    for_each_broadcast<3>(shape, {&c.shape(), &x.shape(), &yv.shape()},
                          [&](int64_t o, int64_t ic, int64_t ix, int64_t iy) {
                            po[o] = pc[ic] ? px[ix] : py[iy];
                          });
    return ok_status();
  });
}

// PRelu: slope broadcasts unidirectionally to X; y = x < 0 ? slope * x : x.
Status prelu(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 2, 2));
  RETURN_IF_ERROR(check_dtype(ctx, 0, ctx.opset() >= 9 ? kNumeric : kFloatTypes));
  RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  const Tensor& x = ctx.input(0);
  const Tensor& slope = ctx.input(1);
  ASSIGN_OR_RETURN(Shape shape, broadcast_of(ctx, x.shape(), slope.shape()));
  if (shape != x.shape()) {
    return ctx.error("slope of shape " + shape_str(slope.shape()) +
                     " does not broadcast unidirectionally to X of shape " + shape_str(x.shape()));
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), shape));
  return visit_numeric(x.dtype(), [&]<typename T>() {
    broadcast_binary<T, T, T>(x, slope, y, [](T u, T v) {
      auto a = load<T>(u);
      auto s = load<T>(v);
      using A = decltype(a);
      if constexpr (std::is_floating_point_v<A>) return store<T>(a < A(0) ? s * a : a);
      else return a < A(0) ? wrap_mul<A>(s, a) : a;
    });
    return ok_status();
  });
}

// --- variadic -------------------------------------------------------------------------------

namespace {

// Folds the inputs (all of one dtype in `allowed`, broadcast together) with f on Arith<T>; then
// applies `finish(acc, count)` to every element.
template <typename F, typename G>
Status variadic(KernelContext& ctx, DTypeMask allowed, F&& f, G&& finish) {
  const int n = ctx.num_inputs();
  if (n < 1) return ctx.error("expected at least 1 input, got 0");
  RETURN_IF_ERROR(check_inputs(ctx, 1, n, n));
  RETURN_IF_ERROR(check_dtype(ctx, 0, allowed));
  Shape shape = ctx.input(0).shape();
  for (int i = 1; i < n; ++i) {
    RETURN_IF_ERROR(check_same_dtype(ctx, 0, i));
    ASSIGN_OR_RETURN(shape, broadcast_of(ctx, shape, ctx.input(i).shape()));
  }
  if (!ctx.is_output_used(0)) return ok_status();
  const DType dt = ctx.input(0).dtype();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, dt, shape));
  return visit_numeric(dt, [&]<typename T>() {
    T* po = y->data<T>();
    const Tensor& x0 = ctx.input(0);
    const T* p0 = x0.data<T>();
    for_each_broadcast<1>(shape, {&x0.shape()}, [&](int64_t o, int64_t i0) { po[o] = p0[i0]; });
    for (int k = 1; k < n; ++k) {
      const Tensor& xk = ctx.input(k);
      const T* pk = xk.data<T>();
      if (xk.shape() == shape) {
        for (int64_t o = 0; o < y->numel(); ++o) po[o] = store<T>(f(load<T>(po[o]), load<T>(pk[o])));
      } else {
        for_each_broadcast<1>(shape, {&xk.shape()}, [&](int64_t o, int64_t ik) {
          po[o] = store<T>(f(load<T>(po[o]), load<T>(pk[ik])));
        });
      }
    }
    for (int64_t o = 0; o < y->numel(); ++o) po[o] = store<T>(finish(load<T>(po[o]), n));
    return ok_status();
  });
}

template <typename A>
A nan_max(A a, A b) {
  if constexpr (std::is_floating_point_v<A>) {
    if (std::isnan(a)) return a;
    if (std::isnan(b)) return b;
  }
  return a < b ? b : a;
}
template <typename A>
A nan_min(A a, A b) {
  if constexpr (std::is_floating_point_v<A>) {
    if (std::isnan(a)) return a;
    if (std::isnan(b)) return b;
  }
  return b < a ? b : a;
}

}  // namespace

Status max(KernelContext& ctx) {
  return variadic(ctx, ctx.opset() >= 12 ? kNumeric : kFloatTypes,
                  [](auto a, auto b) { return nan_max(a, b); }, [](auto a, int) { return a; });
}
Status min(KernelContext& ctx) {
  return variadic(ctx, ctx.opset() >= 12 ? kNumeric : kFloatTypes,
                  [](auto a, auto b) { return nan_min(a, b); }, [](auto a, int) { return a; });
}
Status sum(KernelContext& ctx) {
  return variadic(ctx, kFloatTypes, [](auto a, auto b) { return a + b; }, [](auto a, int) { return a; });
}
Status mean(KernelContext& ctx) {
  return variadic(ctx, kFloatTypes, [](auto a, auto b) { return a + b; }, [](auto a, int n) {
    using A = decltype(a);
    if constexpr (std::is_floating_point_v<A>) return a / static_cast<A>(n);
    else return a;  // not instantiated for the allowed dtypes
  });
}

}  // namespace edgeai::kernels::ref::ew
