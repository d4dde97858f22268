// The C library's expf, vectorized bit for bit, for the sampler's softmax (llm/sampler.cc): a
// seed's draws depend on every probability's last bit, so a faster exp must give exactly the
// floats std::exp gives. glibc (2.27 on) computes expf with ARM's optimized-routines algorithm
// in double: x * 32 / ln 2 = k + r (k rounded to an integer by adding 1.5 * 2^52), 2^(k / 32) from
// a 32-entry table and the exponent bits, times a degree-3 polynomial in r, rounded to float once.
// On x86-64 glibc runs the build of it compiled with FMA (__expf_fma) where the CPU has AVX2 and
// FMA: the vector versions here do the same double operations, fused where that build fuses them
// (objdump -d libm.so.6), in the same order, so every lane rounds as the scalar call does.
// Portable header: no intrinsics.
#pragma once

#include <cstdint>

#include "core/cpu_features.h"

namespace edgeai::kernels::cpu {

// y[i] = 0 where x[i] is +-inf, else std::exp((x[i] - mx) / temp) (float operations), i < n.
using ScaledExpFn = void (*)(const float* x, int64_t n, float mx, float temp, float* y);

// The scalar definition: std::exp per element.
void scaled_exp_scalar(const float* x, int64_t n, float mx, float temp, float* y);
#if defined(__x86_64__)
// glibc's __expf_fma, 8 lanes (AVX-512) and 4 lanes (AVX2 + FMA). Lanes whose scaled input is
// >= 88 or NaN (never, for logits minus their maximum) take std::exp.
void scaled_exp_glibc_avx512(const float* x, int64_t n, float mx, float temp, float* y);
void scaled_exp_glibc_avx2(const float* x, int64_t n, float mx, float temp, float* y);
#endif

// The fastest of the above that gives std::exp's floats bit for bit in this process: a vector
// version where the CPU has it and it matches std::exp on a self-check of a few thousand inputs
// (a C library other than glibc, or glibc's non-FMA build, fails it), else scaled_exp_scalar.
// The check (some tens of microseconds) runs once per process for each vector version.
ScaledExpFn scaled_exp_for(const CpuFeatures& cpu);

// The self-check: whether fn gives std::exp's floats for every one of its inputs.
bool scaled_exp_matches_libm(ScaledExpFn fn);

}  // namespace edgeai::kernels::cpu
