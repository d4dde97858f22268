// Reference Cast and CastLike: every pair of numeric, bool and string dtypes.
//  - float -> integer: truncates toward zero; NaN gives 0 and out-of-range values saturate (the
//    spec leaves these undefined; we only promise no undefined behaviour).
//  - integer -> narrower integer wraps (two's complement), like numpy's astype.
//  - float -> bf16 truncates the low mantissa bits (NaN stays NaN): the ONNX 1.12 conformance
//    data (test_cast_FLOAT_to_BFLOAT16) and ONNX Runtime of that era do this; f16 rounds to nearest
//    even. Text -> bf16 rounds to nearest even so that bf16 -> string -> bf16 round-trips.
//  - number -> string: the shortest text that reads back to the same value ("0.1", "1e-05",
//    "42"); NaN/Inf as "NaN", "INF", "-INF"; bool as "1"/"0".
//  - string -> number: decimal or scientific text, "+INF"/"INF"/"-INF"/"NaN" in any case, a
//    fraction truncated for integer targets, "true"/"false" for bool. Other text is an error.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "kernels/reference/elementwise_common.h"

namespace edgeai::kernels::ref::ew {
namespace {

// Bool storage, read as a byte so that a byte other than 0/1 is never read as bool.
struct Bool8 {
  uint8_t v;
};
static_assert(sizeof(Bool8) == sizeof(bool));

template <typename F>
Status visit_cast_type(DType t, F&& f) {
  switch (t) {
    case DType::kBool: return f.template operator()<Bool8>();
    case DType::kString: return f.template operator()<std::string>();
    default: return visit_numeric(t, std::forward<F>(f));
  }
}

inline uint16_t float_to_bf16_trunc(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet NaN
  return static_cast<uint16_t>(x >> 16);
}

// --- number -> string -----------------------------------------------------------------------

// double -> float without undefined behaviour: finite values beyond float's range become +-inf.
inline float narrow_to_float(double d) {
  constexpr double kLimit = 0x1.ffffffp+127;  // FLT_MAX + half an ulp: rounds to inf
  if (d >= kLimit) return std::numeric_limits<float>::infinity();
  if (d <= -kLimit) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(d);
}

template <typename F>
std::string special_to_string(F v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "INF" : "-INF";
}

template <typename F>
std::string shortest(F v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

// Shortest decimal that converts back to the same 16-bit float.
template <typename H>
std::string half_to_string(H h) {
  float f = load<H>(h);
  if (!std::isfinite(f)) return special_to_string(f);
  for (int prec = 1; prec <= 9; ++prec) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific, prec - 1);
    float back = 0;
    std::from_chars(buf, r.ptr, back);
    if (store<H>(back).bits == h.bits) {
      // Re-print the rounded value in the same style as f32/f64 (plain where shorter).
      return shortest(static_cast<double>(back));
    }
  }
  return shortest(f);
}

template <typename S>
std::string to_text(const S& s) {
  if constexpr (std::is_same_v<S, std::string>) {
    return s;
  } else if constexpr (std::is_same_v<S, Bool8>) {
    return s.v ? "1" : "0";
  } else if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
    return half_to_string(s);
  } else if constexpr (std::is_floating_point_v<S>) {
    if (!std::isfinite(s)) return special_to_string(s);
    return shortest(s);
  } else {
    return std::to_string(s);
  }
}

// --- string -> number -----------------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// For digits that from_chars found out of range: whether the magnitude is huge (else tiny).
bool decimal_overflows(std::string_view body) {
  size_t e = body.find_first_of("eE");
  std::string_view mant = body.substr(0, e);
  int64_t exp10 = 0;
  if (e != std::string_view::npos) {
    std::string_view ex = body.substr(e + 1);
    if (!ex.empty() && ex[0] == '+') ex.remove_prefix(1);
    auto r = std::from_chars(ex.data(), ex.data() + ex.size(), exp10);
    if (r.ec == std::errc::result_out_of_range) return !ex.empty() && ex[0] != '-';
  }
  // Decimal magnitude of the mantissa: digits before the point from the first nonzero digit,
  // or minus the zeros after the point.
  size_t dot = mant.find('.');
  std::string_view ip = mant.substr(0, dot);
  size_t nz = ip.find_first_not_of('0');
  int64_t mag = 0;
  if (nz != std::string_view::npos) {
    mag = static_cast<int64_t>(ip.size() - nz);
  } else if (dot != std::string_view::npos) {
    std::string_view fp = mant.substr(dot + 1);
    size_t fnz = fp.find_first_not_of('0');
    if (fnz == std::string_view::npos) return false;
    mag = -static_cast<int64_t>(fnz);
  }
  return mag + std::clamp<int64_t>(exp10, -(int64_t(1) << 40), int64_t(1) << 40) > 0;
}

// Parses a float type F (float or double) from text; false when it is not a number.
template <typename F>
bool parse_float(std::string_view s, F* out) {
  s = trim(s);
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (iequals(body, "inf") || iequals(body, "infinity")) {
    *out = negative ? -std::numeric_limits<F>::infinity() : std::numeric_limits<F>::infinity();
    return true;
  }
  if (iequals(body, "nan")) {
    *out = std::numeric_limits<F>::quiet_NaN();
    return true;
  }
  if (body.empty() || body[0] == '+' || body[0] == '-') return false;
  F v = 0;
  auto r = std::from_chars(body.data(), body.data() + body.size(), v);
  if (r.ptr != body.data() + body.size()) return false;
  if (r.ec == std::errc::result_out_of_range) {
    v = decimal_overflows(body) ? std::numeric_limits<F>::infinity() : F(0);
  } else if (r.ec != std::errc()) {
    return false;
  }
  *out = negative ? -v : v;
  return true;
}

template <typename I>
bool parse_int(std::string_view s, I* out) {
  s = trim(s);
  std::string_view body = s;
  if (!body.empty() && body[0] == '+') body.remove_prefix(1);
  if (!body.empty() && body[0] != '+') {
    // Exact integer text first (keeps 64-bit precision); wraps into I like a numeric cast.
    if constexpr (std::is_signed_v<I>) {
      int64_t v = 0;
      auto r = std::from_chars(body.data(), body.data() + body.size(), v);
      if (r.ec == std::errc() && r.ptr == body.data() + body.size()) {
        *out = static_cast<I>(v);
        return true;
      }
    } else {
      if (body[0] != '-') {
        uint64_t v = 0;
        auto r = std::from_chars(body.data(), body.data() + body.size(), v);
        if (r.ec == std::errc() && r.ptr == body.data() + body.size()) {
          *out = static_cast<I>(v);
          return true;
        }
      }
    }
  }
  // Otherwise a real number, truncated and saturated ("100.5" -> 100).
  double d = 0;
  if (!parse_float<double>(s, &d)) return false;
  *out = saturate_cast<I>(d);
  return true;
}

template <typename D>
bool parse_text(const std::string& s, D* out) {
  if constexpr (std::is_same_v<D, float> || std::is_same_v<D, double>) {
    return parse_float<D>(s, out);
  } else if constexpr (std::is_same_v<D, Half>) {
    float f;
    if (!parse_float<float>(s, &f)) return false;
    *out = Half{float_to_half(f)};
    return true;
  } else if constexpr (std::is_same_v<D, BFloat16>) {
    float f;
    if (!parse_float<float>(s, &f)) return false;
    *out = BFloat16{float_to_bf16(f)};  // text reads to the nearest value (round-trips)
    return true;
  } else if constexpr (std::is_same_v<D, Bool8>) {
    std::string_view t = trim(s);
    if (iequals(t, "true")) { out->v = 1; return true; }
    if (iequals(t, "false")) { out->v = 0; return true; }
    double d;
    if (!parse_float<double>(t, &d)) return false;
    out->v = d != 0 ? 1 : 0;
    return true;
  } else {
    return parse_int<D>(s, out);
  }
}

// --- number -> number -----------------------------------------------------------------------

// The value of a non-string source as float/double or as an integer.
template <typename S>
inline auto numeric_value(S s) {
  if constexpr (std::is_same_v<S, Bool8>) return static_cast<uint8_t>(s.v ? 1 : 0);
  else return load<S>(s);
}

template <typename V>
inline float to_float(V v) {
  if constexpr (std::is_same_v<V, double>) return narrow_to_float(v);
  else return static_cast<float>(v);
}

template <typename D, typename S>
inline D convert(S s) {
  auto v = numeric_value(s);  // float, double or an integer type
  using V = decltype(v);
  if constexpr (std::is_same_v<D, Bool8>) {
    return Bool8{static_cast<uint8_t>(v != V(0) ? 1 : 0)};  // NaN != 0: true
  } else if constexpr (std::is_same_v<D, Half>) {
    return Half{float_to_half(to_float(v))};
  } else if constexpr (std::is_same_v<D, BFloat16>) {
    return BFloat16{float_to_bf16_trunc(to_float(v))};
  } else if constexpr (std::is_same_v<D, float>) {
    return to_float(v);
  } else if constexpr (std::is_floating_point_v<D>) {
    return static_cast<D>(v);
  } else if constexpr (std::is_floating_point_v<V>) {
    return saturate_cast<D>(v);
  } else {
    return static_cast<D>(v);  // integer -> integer: modular
  }
}

Status cast_tensor(KernelContext& ctx, const Tensor& x, DType to) {
  if (!ctx.is_output_used(0)) return ok_status();
  if (to == x.dtype()) {
    ctx.set_output(0, x);  // same storage; the output is never written
    return ok_status();
  }
  ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, to, x.shape()));
  const int64_t n = x.numel();
  bool bad_text = false;
  int64_t bad_index = 0;
  RETURN_IF_ERROR(visit_cast_type(x.dtype(), [&]<typename S>() {
    return visit_cast_type(to, [&]<typename D>() {
      const S* in = x.data<S>();
      D* out = y->data<D>();
      if constexpr (std::is_same_v<S, D>) {
        for (int64_t i = 0; i < n; ++i) out[i] = in[i];
      } else if constexpr (std::is_same_v<D, std::string>) {
        for (int64_t i = 0; i < n; ++i) out[i] = to_text(in[i]);
      } else if constexpr (std::is_same_v<S, std::string>) {
        for (int64_t i = 0; i < n; ++i) {
          if (!parse_text<D>(in[i], &out[i])) {
            bad_text = true;
            bad_index = i;
            break;
          }
        }
      } else {
        for (int64_t i = 0; i < n; ++i) out[i] = convert<D>(in[i]);
      }
      return ok_status();
    });
  }));
  if (bad_text) {
    std::string s = x.data<std::string>()[bad_index];
    if (s.size() > 40) s = s.substr(0, 40) + "...";
    return ctx.error("element " + std::to_string(bad_index) + " (\"" + s + "\") is not a number of type " +
                     std::string(dtype_name(to)));
  }
  return ok_status();
}

}  // namespace

Status cast(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 1, 1, 1));
  RETURN_IF_ERROR(check_dtype(ctx, 0, kAllTypes));
  if (!ctx.has_attr("to")) return ctx.error("attribute 'to' is required");
  const int64_t to_code = ctx.attr_int("to", 0);
  DType to = DType::kUndefined;
  if (to_code > 0 && to_code < 1000) to = dtype_from_onnx(static_cast<int>(to_code));
  if (to == DType::kUndefined || !(bit(to) & kAllTypes)) {
    return ctx.unsupported_error("attribute 'to' = " + std::to_string(to_code) +
                                 " is not a supported tensor element type");
  }
  return cast_tensor(ctx, ctx.input(0), to);
}

Status cast_like(KernelContext& ctx) {
  RETURN_IF_ERROR(check_inputs(ctx, 2, 2, 2));
  RETURN_IF_ERROR(check_dtype(ctx, 0, kAllTypes));
  RETURN_IF_ERROR(check_dtype(ctx, 1, kAllTypes));
  return cast_tensor(ctx, ctx.input(0), ctx.input(1).dtype());
}

}  // namespace edgeai::kernels::ref::ew
