// Reference elementwise kernels, part 1: the family's table, shared checks, and the unary math,
// logic and activation ops. Binary/variadic ops are in elementwise_binary.cc, Cast in cast.cc.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/reference/elementwise_common.h"
#include "kernels/reference/registry.h"

namespace edgeai::kernels::ref {
namespace ew {

std::string mask_names(DTypeMask m) {
  std::string s;
  for (unsigned i = 0; i < 32; ++i) {
    if (!(m & (DTypeMask(1) << i))) continue;
    if (!s.empty()) s += ", ";
    s += std::string(dtype_name(static_cast<DType>(i)));
  }
  return s;
}

Status check_inputs(const KernelContext& ctx, int lo, int hi, int required) {
  int n = ctx.num_inputs();
  if (n < lo || n > hi) {
    std::string want = lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
    return ctx.error("expected " + want + " inputs, got " + std::to_string(n));
  }
  for (int i = 0; i < required; ++i) {
    if (!ctx.has_input(i)) return ctx.error("input " + std::to_string(i) + " is required but absent");
    if (!ctx.input_value(i).is_tensor()) return ctx.error("input " + std::to_string(i) + " must be a tensor");
  }
  for (int i = required; i < n; ++i) {
    if (ctx.has_input(i) && !ctx.input_value(i).is_tensor())
      return ctx.error("input " + std::to_string(i) + " must be a tensor");
  }
  return ok_status();
}

Status check_dtype(const KernelContext& ctx, int i, DTypeMask allowed) {
  DType t = ctx.input(i).dtype();
  if (!(bit(t) & allowed)) {
    return ctx.error("input " + std::to_string(i) + " has dtype " + std::string(dtype_name(t)) +
                     ", expected one of: " + mask_names(allowed));
  }
  return ok_status();
}

Status check_same_dtype(const KernelContext& ctx, int a, int b) {
  DType ta = ctx.input(a).dtype(), tb = ctx.input(b).dtype();
  if (ta != tb) {
    return ctx.error("inputs " + std::to_string(a) + " and " + std::to_string(b) +
                     " must have the same dtype, got " + std::string(dtype_name(ta)) + " and " +
                     std::string(dtype_name(tb)));
  }
  return ok_status();
}

namespace {

// Applies f elementwise to input 0 (dtype in `allowed`, which must be a subset of kNumeric),
// writing an output of the same dtype and shape. f takes and returns Arith<T>.
template <typename F>
Status unary_same(KernelContext& ctx, DTypeMask allowed, F&& f) {
  RETURN_IF_ERROR(check_inputs(ctx, 1, 1, 1));
  RETURN_IF_ERROR(check_dtype(ctx, 0, allowed));
  if (!ctx.is_output_used(0)) return ok_status();
  const Tensor& x = ctx.input(0);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.shape()));
  const int64_t n = x.numel();
  return visit_numeric(x.dtype(), [&]<typename T>() {
    const T* in = x.data<T>();
    T* out = y->data<T>();
    for (int64_t i = 0; i < n; ++i) out[i] = store<T>(static_cast<Arith<T>>(f(load<T>(in[i]))));
    return ok_status();
  });
}

// Float-only unary ops: f is instantiated for float and double only.
template <typename F>
Status unary_float(KernelContext& ctx, F&& f) {
  RETURN_IF_ERROR(check_inputs(ctx, 1, 1, 1));
  RETURN_IF_ERROR(check_dtype(ctx, 0, kFloatTypes));
  if (!ctx.is_output_used(0)) return ok_status();
  const Tensor& x = ctx.input(0);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.shape()));
  const int64_t n = x.numel();
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* in = x.data<T>();
    T* out = y->data<T>();
    for (int64_t i = 0; i < n; ++i) out[i] = store<T>(static_cast<Arith<T>>(f(load<T>(in[i]))));
    return ok_status();
  });
}

// Float input, bool output.
template <typename F>
Status unary_float_pred(KernelContext& ctx, F&& f) {
  RETURN_IF_ERROR(check_inputs(ctx, 1, 1, 1));
  RETURN_IF_ERROR(check_dtype(ctx, 0, kFloatTypes));
  if (!ctx.is_output_used(0)) return ok_status();
  const Tensor& x = ctx.input(0);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kBool, x.shape()));
  const int64_t n = x.numel();
  return visit_float(x.dtype(), [&]<typename T>() {
    const T* in = x.data<T>();
    bool* out = y->data<bool>();
    for (int64_t i = 0; i < n; ++i) out[i] = f(load<T>(in[i]));
    return ok_status();
  });
}

// Round half to even, independent of the floating-point environment's rounding mode.
template <typename F>
F round_half_even(F x) {
  if (!std::isfinite(x)) return x;
  F r = std::round(x);  // half away from zero
  if (std::fabs(x - std::trunc(x)) == F(0.5)) r = F(2) * std::round(x / F(2));
  return r;
}

template <typename F>
F stable_softplus(F x) {
  return x > F(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

template <typename F>
F stable_sigmoid(F x) {
  if (x >= F(0)) return F(1) / (F(1) + std::exp(-x));
  F e = std::exp(x);
  return e / (F(1) + e);
}

// --- math -----------------------------------------------------------------------------------

Status abs_op(KernelContext& ctx) {
  return unary_same(ctx, kNumeric, [](auto x) {
    using A = decltype(x);
    if constexpr (std::is_floating_point_v<A>) return std::fabs(x);
    else if constexpr (std::is_unsigned_v<A>) return x;
    else return x < 0 ? wrap_neg<A>(x) : x;
  });
}

Status neg(KernelContext& ctx) {
  return unary_same(ctx, kFloatTypes | kSignedInts, [](auto x) {
    using A = decltype(x);
    if constexpr (std::is_floating_point_v<A>) return -x;
    else return wrap_neg<A>(x);
  });
}

Status sign(KernelContext& ctx) {
  return unary_same(ctx, kNumeric, [](auto x) {
    using A = decltype(x);
    if constexpr (std::is_floating_point_v<A>) {
      if (std::isnan(x)) return x;
      return x > A(0) ? A(1) : (x < A(0) ? A(-1) : A(0));
    } else if constexpr (std::is_unsigned_v<A>) {
      return static_cast<A>(x > 0 ? 1 : 0);
    } else {
      return static_cast<A>(x > 0 ? 1 : (x < 0 ? -1 : 0));
    }
  });
}

Status reciprocal(KernelContext& ctx) {
  return unary_float(ctx, [](auto x) { return decltype(x)(1) / x; });
}
Status floor_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::floor(x); }); }
Status ceil_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::ceil(x); }); }
Status round_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return round_half_even(x); }); }
Status sqrt_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::sqrt(x); }); }
Status exp_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::exp(x); }); }
Status log_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::log(x); }); }
Status sin_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::sin(x); }); }
Status cos_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::cos(x); }); }
Status tan_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::tan(x); }); }
Status asin_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::asin(x); }); }
Status acos_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::acos(x); }); }
Status atan_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::atan(x); }); }
Status sinh_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::sinh(x); }); }
Status cosh_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::cosh(x); }); }
Status tanh_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::tanh(x); }); }
Status asinh_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::asinh(x); }); }
Status acosh_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::acosh(x); }); }
Status atanh_op(KernelContext& ctx) { return unary_float(ctx, [](auto x) { return std::atanh(x); }); }

// Erf takes floats and (since opset 9) integers; integers are computed in double.
Status erf_op(KernelContext& ctx) {
  return unary_same(ctx, kNumeric, [](auto x) {
    using A = decltype(x);
    if constexpr (std::is_floating_point_v<A>) {
      return std::erf(x);
    } else {
      double e = std::erf(static_cast<double>(x));
      return static_cast<A>(e > 0.5 ? 1 : (e < -0.5 ? -1 : 0));  // erf(n) rounds to 0 or +-1
    }
  });
}

// --- predicates and logic -------------------------------------------------------------------

Status isnan_op(KernelContext& ctx) {
  return unary_float_pred(ctx, [](auto x) { return std::isnan(x); });
}

Status isinf_op(KernelContext& ctx) {
  const bool neg = ctx.attr_int("detect_negative", 1) != 0;
  const bool pos = ctx.attr_int("detect_positive", 1) != 0;
  return unary_float_pred(ctx, [&](auto x) {
    return std::isinf(x) && ((x > 0 && pos) || (x < 0 && neg));
  });
}

Status not_op(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 1, 1, 1));
  RETURN_IF_ERROR(check_dtype(ctx, 0, kBoolType));
  if (!ctx.is_output_used(0)) return ok_status();
  const Tensor& x = ctx.input(0);
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kBool, x.shape()));
  const uint8_t* in = x.data<uint8_t>();
  bool* out = y->data<bool>();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = in[i] == 0;
  return ok_status();
}

Status bitwise_not(KernelContext& ctx) {
  return unary_same(ctx, kIntTypes, [](auto x) {
    using A = decltype(x);
    if constexpr (std::is_integral_v<A>) return static_cast<A>(~x);
    else return x;  // not instantiated for the allowed dtypes
  });
}

// --- activations ----------------------------------------------------------------------------

Status relu(KernelContext& ctx) {
  // Opset 14 adds signed integers.
  DTypeMask allowed = ctx.opset() >= 14 ? (kFloatTypes | kSignedInts) : kFloatTypes;
  return unary_same(ctx, allowed, [](auto x) {
    using A = decltype(x);
    if constexpr (std::is_floating_point_v<A>) return std::isnan(x) ? x : std::max(x, A(0));
    else return std::max(x, A(0));
  });
}

Status check_finite_attr(const KernelContext& ctx, const char* name, float v) {
  if (!std::isfinite(v)) return ctx.error(std::string("attribute '") + name + "' must be finite, got " + std::to_string(v));
  return ok_status();
}

Status leaky_relu(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.01f);
  return unary_float(ctx, [alpha](auto x) {
    using A = decltype(x);
    return x >= A(0) ? x : A(alpha) * x;
  });
}

Status elu(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  return unary_float(ctx, [alpha](auto x) {
    using A = decltype(x);
    return x >= A(0) ? x : A(alpha) * std::expm1(x);
  });
}

Status selu(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.67326319217681884765625f);
  const float gamma = ctx.attr_float("gamma", 1.05070102214813232421875f);
  return unary_float(ctx, [alpha, gamma](auto x) {
    using A = decltype(x);
    return x > A(0) ? A(gamma) * x : A(gamma) * (A(alpha) * std::exp(x) - A(alpha));
  });
}

Status celu(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  if (alpha == 0.0f) return ctx.error("attribute 'alpha' must be nonzero");
  return unary_float(ctx, [alpha](auto x) {
    using A = decltype(x);
    A a(alpha);
    return std::max(A(0), x) + std::min(A(0), a * std::expm1(x / a));
  });
}

Status sigmoid(KernelContext& ctx) {
  return unary_float(ctx, [](auto x) { return stable_sigmoid(x); });
}

Status hard_sigmoid(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 0.2f);
  const float beta = ctx.attr_float("beta", 0.5f);
  return unary_float(ctx, [alpha, beta](auto x) {
    using A = decltype(x);
    return std::max(A(0), std::min(A(1), A(alpha) * x + A(beta)));
  });
}

Status hard_swish(KernelContext& ctx) {
  return unary_float(ctx, [](auto x) {
    using A = decltype(x);
    return x * std::max(A(0), std::min(A(1), x / A(6) + A(0.5)));
  });
}

Status softplus(KernelContext& ctx) {
  return unary_float(ctx, [](auto x) { return stable_softplus(x); });
}

Status softsign(KernelContext& ctx) {
  return unary_float(ctx, [](auto x) {
    using A = decltype(x);
    return x / (A(1) + std::fabs(x));
  });
}

Status thresholded_relu(KernelContext& ctx) {
  const float alpha = ctx.attr_float("alpha", 1.0f);
  return unary_float(ctx, [alpha](auto x) {
    using A = decltype(x);
    return x > A(alpha) ? x : A(0);
  });
}

Status mish(KernelContext& ctx) {
  return unary_float(ctx, [](auto x) { return x * std::tanh(stable_softplus(x)); });
}

Status gelu(KernelContext& ctx) {
  const std::string approx = ctx.attr_string("approximate", "none");
  if (approx != "none" && approx != "tanh") {
    return ctx.error("attribute 'approximate' must be \"none\" or \"tanh\", got \"" + approx + "\"");
  }
  const bool use_tanh = approx == "tanh";
  return unary_float(ctx, [use_tanh](auto x) {
    using A = decltype(x);
    if (use_tanh) {
      const A k = static_cast<A>(0.79788456080286535587989211986876);  // sqrt(2/pi)
      return A(0.5) * x * (A(1) + std::tanh(k * (x + A(0.044715) * x * x * x)));
    }
    return A(0.5) * x * (A(1) + std::erf(x * static_cast<A>(0.70710678118654752440084436210485)));
  });
}

// Shrink accepts every numeric dtype; integers are computed in double and converted back.
Status shrink(KernelContext& ctx) {
  const float bias = ctx.attr_float("bias", 0.0f);
  const float lambd = ctx.attr_float("lambd", 0.5f);
  RETURN_IF_ERROR(check_finite_attr(ctx, "bias", bias));
  RETURN_IF_ERROR(check_finite_attr(ctx, "lambd", lambd));
  return unary_same(ctx, kNumeric, [bias, lambd](auto x) {
    using A = decltype(x);
    if constexpr (std::is_floating_point_v<A>) {
      if (x < A(-lambd)) return x + A(bias);
      if (x > A(lambd)) return x - A(bias);
      return A(0);
    } else {
      double d = static_cast<double>(x);
      double r = d < -lambd ? d + bias : (d > lambd ? d - bias : 0.0);
      return saturate_cast<A>(r);
    }
  });
}

// Clip: attributes min/max before opset 11, optional scalar inputs from opset 11 (integers from
// opset 12). Results follow numpy.clip: min(max(x, lo), hi).
Status clip(KernelContext& ctx) {
  if (ctx.opset() < 11) {
    RETURN_IF_ERROR(check_inputs(ctx, 1, 1, 1));
    RETURN_IF_ERROR(check_dtype(ctx, 0, kFloatTypes));
    const float lo = ctx.attr_float("min", -std::numeric_limits<float>::infinity());
    const float hi = ctx.attr_float("max", std::numeric_limits<float>::infinity());
    if (std::isnan(lo) || std::isnan(hi)) return ctx.error("attributes 'min' and 'max' must not be NaN");
    return unary_float(ctx, [lo, hi](auto x) {
      using A = decltype(x);
      return std::min(std::max(x, A(lo)), A(hi));
    });
  }
  RETURN_IF_ERROR(check_inputs(ctx, 1, 3, 1));
  RETURN_IF_ERROR(check_dtype(ctx, 0, ctx.opset() >= 12 ? kNumeric : kFloatTypes));
  const Tensor& x = ctx.input(0);
  for (int i = 1; i <= 2; ++i) {
    if (!ctx.has_input(i)) continue;
    RETURN_IF_ERROR(check_same_dtype(ctx, 0, i));
    if (ctx.input(i).numel() != 1) {
      return ctx.error(std::string(i == 1 ? "min" : "max") + " must be a scalar, got shape " +
                       shape_str(ctx.input(i).shape()));
    }
  }
  if (!ctx.is_output_used(0)) return ok_status();
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.shape()));
  return visit_numeric(x.dtype(), [&]<typename T>() {
    using A = Arith<T>;
    const bool has_lo = ctx.has_input(1), has_hi = ctx.has_input(2);
    const A lo = has_lo ? load<T>(ctx.input(1).data<T>()[0]) : A(0);
    const A hi = has_hi ? load<T>(ctx.input(2).data<T>()[0]) : A(0);
    const T* in = x.data<T>();
    T* out = y->data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      A v = load<T>(in[i]);
      if (has_lo) v = std::max(v, lo);
      if (has_hi) v = std::min(v, hi);
      out[i] = store<T>(v);
    }
    return ok_status();
  });
}

}  // namespace
}  // namespace ew

std::span<const KernelEntry> elementwise_kernels() {
  using namespace ew;
  static const KernelEntry kTable[] = {
      // Unary math.
      {"", "Abs", abs_op},
      {"", "Neg", neg},
      {"", "Reciprocal", reciprocal},
      {"", "Floor", floor_op},
      {"", "Ceil", ceil_op},
      {"", "Round", round_op},
      {"", "Sign", sign},
      {"", "Sqrt", sqrt_op},
      {"", "Exp", exp_op},
      {"", "Log", log_op},
      {"", "Erf", erf_op},
      {"", "Sin", sin_op},
      {"", "Cos", cos_op},
      {"", "Tan", tan_op},
      {"", "Asin", asin_op},
      {"", "Acos", acos_op},
      {"", "Atan", atan_op},
      {"", "Sinh", sinh_op},
      {"", "Cosh", cosh_op},
      {"", "Tanh", tanh_op},
      {"", "Asinh", asinh_op},
      {"", "Acosh", acosh_op},
      {"", "Atanh", atanh_op},
      {"", "IsNaN", isnan_op},
      {"", "IsInf", isinf_op},
      {"", "Not", not_op},
      {"", "BitwiseNot", bitwise_not},
      // Activations.
      {"", "Relu", relu},
      {"", "LeakyRelu", leaky_relu},
      {"", "Elu", elu},
      {"", "Selu", selu},
      {"", "Celu", celu},
      {"", "Sigmoid", sigmoid},
      {"", "HardSigmoid", hard_sigmoid},
      {"", "HardSwish", hard_swish},
      {"", "Softplus", softplus},
      {"", "Softsign", softsign},
      {"", "ThresholdedRelu", thresholded_relu},
      {"", "Shrink", shrink},
      {"", "PRelu", prelu},
      {"", "Mish", mish},
      {"", "Gelu", gelu},
      {"", "Clip", clip},
      // Binary and variadic (elementwise_binary.cc).
      {"", "Add", add},
      {"", "Sub", sub},
      {"", "Mul", mul},
      {"", "Div", div},
      {"", "Pow", pow},
      {"", "Mod", mod},
      {"", "And", logical_and},
      {"", "Or", logical_or},
      {"", "Xor", logical_xor},
      {"", "Equal", equal},
      {"", "Greater", greater},
      {"", "GreaterOrEqual", greater_or_equal},
      {"", "Less", less},
      {"", "LessOrEqual", less_or_equal},
      {"", "BitShift", bit_shift},
      {"", "BitwiseAnd", bitwise_and},
      {"", "BitwiseOr", bitwise_or},
      {"", "BitwiseXor", bitwise_xor},
      {"", "Where", where},
      {"", "Max", max},
      {"", "Min", min},
      {"", "Sum", sum},
      {"", "Mean", mean},
      // Conversions (cast.cc).
      {"", "Cast", cast},
      {"", "CastLike", cast_like},
  };
  return std::span<const KernelEntry>(kTable);
}

}  // namespace edgeai::kernels::ref
