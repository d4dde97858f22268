// GGML tensor types (block-quantized weights as stored in GGUF files), shared by the GGUF
// format code and the quantized kernels.
#pragma once

#include <cstdint>

namespace edgeai {

// GGML tensor types by their on-disk numbers (ggml_type). Only the ones edgeai computes are named;
// others are reported as unsupported by name "type <n>".
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28, kBF16 = 30,
};

struct GgmlTypeInfo {
  const char* name;      // "q4_0"
  int64_t block_size;    // elements per block (1 for plain types)
  int64_t block_bytes;   // bytes per block
};
// Null when edgeai does not know the type.
const GgmlTypeInfo* ggml_type_info(uint32_t type);
// Bytes of a row of `n` elements; -1 when n is not a multiple of the block size or type unknown.
int64_t ggml_row_bytes(uint32_t type, int64_t n);

}  // namespace edgeai
