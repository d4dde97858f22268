// Picks the scaled exp for the CPU and checks it against the C library's own expf (libm_expf.h).
#include "kernels/cpu/libm_expf.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

namespace edgeai::kernels::cpu {

void scaled_exp_scalar(const float* x, int64_t n, float mx, float temp, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::isinf(x[i]) ? 0.0f : std::exp((x[i] - mx) / temp);
}

bool scaled_exp_matches_libm(ScaledExpFn fn) {
  // Every 2^16-th float from -110 to 0 (17,000 inputs: every binade, and the subnormal results
  // from -87.3 down), one in 2^17 of [-1, 0] (8,000: the most common inputs), the edges glibc
  // treats apart, the specials, and the only two floats on which glibc 2.36's plain build of
  // expf rounds otherwise than its FMA build (an exhaustive search); two scalings (mx, temp)
  // through the sampler's float operations.
  std::vector<float> x;
  const uint32_t lo = std::bit_cast<uint32_t>(-110.0f);
  for (uint32_t b = 0x80000000u; b <= lo; b += 1u << 16) x.push_back(std::bit_cast<float>(b));
  for (uint32_t b = 0x80000000u; b <= 0xbf800000u; b += 1u << 17) x.push_back(std::bit_cast<float>(b));
  for (float e : {-0x1.9fe368p6f, -0x1.9d1d9ep6f, -88.0f, -87.33655f, 0.0f, 88.0f, 88.7f, 100.0f}) {
    for (int d = -2; d <= 2; ++d) x.push_back(std::bit_cast<float>(std::bit_cast<uint32_t>(e) + (uint32_t)d));
  }
  x.insert(x.end(), {-INFINITY, INFINITY, NAN, -0x1p-149f, 1e-30f, -1e-30f, -0x1.f8cbb2p+5f, 0x1.04845ep+5f});
  const float scales[][2] = {{0.0f, 1.0f}, {3.5f, 0.8f}};
  std::vector<float> want(x.size()), got(x.size());
  for (const auto& [mx, temp] : scales) {
    scaled_exp_scalar(x.data(), (int64_t)x.size(), mx, temp, want.data());
    // Odd offsets and lengths: the vector versions' tails too.
    for (int64_t off : {0, 3}) {
      const int64_t n = (int64_t)x.size() - off;
      std::memset(got.data(), 0, got.size() * sizeof(float));
      fn(x.data() + off, n, mx, temp, got.data() + off);
      if (std::memcmp(got.data() + off, want.data() + off, (size_t)n * sizeof(float)) != 0) return false;
    }
  }
  return true;
}

ScaledExpFn scaled_exp_for(const CpuFeatures& cpu) {
#if defined(__x86_64__)
  // glibc's expf ifunc runs its FMA build where AVX2 and FMA are usable; the self-check catches
  // any other expf (another C library, the plain build).
  // Each version's self-check runs once per process (the C library does not change under it).
  if (cpu.avx512f && cpu.avx512vl && cpu.fma && cpu.avx2) {
    static const bool avx512_ok = scaled_exp_matches_libm(scaled_exp_glibc_avx512);
    if (avx512_ok) return scaled_exp_glibc_avx512;
  }
  if (cpu.avx2 && cpu.fma) {
    static const bool avx2_ok = scaled_exp_matches_libm(scaled_exp_glibc_avx2);
    if (avx2_ok) return scaled_exp_glibc_avx2;
  }
#endif
  return scaled_exp_scalar;
}

}  // namespace edgeai::kernels::cpu
