// Per-row scalar helpers of the language-model forward passes (Context and BatchContext), kept
// in one place so both compute bit-identical values.
#pragma once

#include <cmath>
#include <cstdint>

namespace edgeai::llm {

// out = x / rms(x) * w over one row of n values (the sum of squares in double, as llama.cpp's
// reference does).
inline void rms_norm(const float* x, const float* w, float* out, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += (double)x[i] * x[i];
  const float scale = 1.0f / std::sqrt((float)(sum / (double)n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

inline float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + 0.044715f * x * x)));
}

}  // namespace edgeai::llm
