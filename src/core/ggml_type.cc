#include "core/ggml_type.h"

namespace edgeai {

const GgmlTypeInfo* ggml_type_info(uint32_t type) {
  // Block sizes and bytes from the GGML block layouts (QK4_0 = 32, QK_K = 256, ...).
  static const GgmlTypeInfo kF32{"f32", 1, 4}, kF16{"f16", 1, 2}, kQ4_0{"q4_0", 32, 18},
      kQ4_1{"q4_1", 32, 20}, kQ5_0{"q5_0", 32, 22}, kQ5_1{"q5_1", 32, 24}, kQ8_0{"q8_0", 32, 34},
      kQ8_1{"q8_1", 32, 36}, kQ2_K{"q2_k", 256, 84}, kQ3_K{"q3_k", 256, 110}, kQ4_K{"q4_k", 256, 144},
      kQ5_K{"q5_k", 256, 176}, kQ6_K{"q6_k", 256, 210}, kQ8_K{"q8_k", 256, 292}, kI8{"i8", 1, 1},
      kI16{"i16", 1, 2}, kI32{"i32", 1, 4}, kI64{"i64", 1, 8}, kF64{"f64", 1, 8}, kBF16{"bf16", 1, 2};
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: return &kF32;
    case GgmlType::kF16: return &kF16;
    case GgmlType::kQ4_0: return &kQ4_0;
    case GgmlType::kQ4_1: return &kQ4_1;
    case GgmlType::kQ5_0: return &kQ5_0;
    case GgmlType::kQ5_1: return &kQ5_1;
    case GgmlType::kQ8_0: return &kQ8_0;
    case GgmlType::kQ8_1: return &kQ8_1;
    case GgmlType::kQ2_K: return &kQ2_K;
    case GgmlType::kQ3_K: return &kQ3_K;
    case GgmlType::kQ4_K: return &kQ4_K;
    case GgmlType::kQ5_K: return &kQ5_K;
    case GgmlType::kQ6_K: return &kQ6_K;
    case GgmlType::kQ8_K: return &kQ8_K;
    case GgmlType::kI8: return &kI8;
    case GgmlType::kI16: return &kI16;
    case GgmlType::kI32: return &kI32;
    case GgmlType::kI64: return &kI64;
    case GgmlType::kF64: return &kF64;
    case GgmlType::kBF16: return &kBF16;
  }
  return nullptr;
}

int64_t ggml_row_bytes(uint32_t type, int64_t n) {
  const GgmlTypeInfo* t = ggml_type_info(type);
  if (!t || n < 0 || n % t->block_size != 0) return -1;
  return n / t->block_size * t->block_bytes;
}

}  // namespace edgeai
