// Type dispatch for reference kernels: call a templated lambda with the C++ type of a DType.
//   return visit_numeric(t.dtype(), [&]<typename T>() { ... ; return ok_status(); });
// f16 and bf16 are visited as Half / BFloat16 storage types; use to_f32/from_f32 on them.
#pragma once

#include <cstdint>
#include <string>

#include "core/dtype.h"
#include "edgeai/status.h"

namespace edgeai::kernels::ref {

template <typename T>
inline float to_f32(T v) { return static_cast<float>(v); }
template <>
inline float to_f32<Half>(Half v) { return half_to_float(v.bits); }
template <>
inline float to_f32<BFloat16>(BFloat16 v) { return bf16_to_float(v.bits); }

// Converts a double to T (saturation is not applied; integer conversion truncates like C++).
template <typename T>
inline T from_f64(double v) { return static_cast<T>(v); }
template <>
inline Half from_f64<Half>(double v) { return Half{float_to_half(static_cast<float>(v))}; }
template <>
inline BFloat16 from_f64<BFloat16>(double v) { return BFloat16{float_to_bf16(static_cast<float>(v))}; }

template <typename T>
inline double to_f64(T v) { return static_cast<double>(v); }
template <>
inline double to_f64<Half>(Half v) { return half_to_float(v.bits); }
template <>
inline double to_f64<BFloat16>(BFloat16 v) { return bf16_to_float(v.bits); }

inline Status dtype_not_supported(DType t) {
  return unsupported("dtype " + std::string(dtype_name(t)) + " is not supported here");
}

// All numeric types including f16/bf16 and bool (as uint8_t... see visit_all for bool).
template <typename F>
Status visit_numeric(DType t, F&& f) {
  switch (t) {
    case DType::kF32: return f.template operator()<float>();
    case DType::kF64: return f.template operator()<double>();
    case DType::kF16: return f.template operator()<Half>();
    case DType::kBF16: return f.template operator()<BFloat16>();
    case DType::kI8: return f.template operator()<int8_t>();
    case DType::kU8: return f.template operator()<uint8_t>();
    case DType::kI16: return f.template operator()<int16_t>();
    case DType::kU16: return f.template operator()<uint16_t>();
    case DType::kI32: return f.template operator()<int32_t>();
    case DType::kU32: return f.template operator()<uint32_t>();
    case DType::kI64: return f.template operator()<int64_t>();
    case DType::kU64: return f.template operator()<uint64_t>();
    default: return dtype_not_supported(t);
  }
}

// Float types only (f16/bf16 as storage types).
template <typename F>
Status visit_float(DType t, F&& f) {
  switch (t) {
    case DType::kF32: return f.template operator()<float>();
    case DType::kF64: return f.template operator()<double>();
    case DType::kF16: return f.template operator()<Half>();
    case DType::kBF16: return f.template operator()<BFloat16>();
    default: return dtype_not_supported(t);
  }
}

// Every type by its storage: bool as bool, strings as std::string. For data movement ops.
template <typename F>
Status visit_all(DType t, F&& f) {
  switch (t) {
    case DType::kBool: return f.template operator()<bool>();
    case DType::kString: return f.template operator()<std::string>();
    default: return visit_numeric(t, std::forward<F>(f));
  }
}

}  // namespace edgeai::kernels::ref
