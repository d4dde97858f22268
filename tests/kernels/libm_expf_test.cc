// kernels::cpu scaled exp (libm_expf.h). Oracle: the C library's expf (std::exp on a float), bit
// for bit: the sampler's draws for a seed depend on every probability's last bit.
#include "kernels/cpu/libm_expf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/cpu/libm_expf_impl.h"  // glibc's constants (no intrinsics)

namespace edgeai::kernels::cpu {
namespace {

struct Variant {
  std::string name;
  ScaledExpFn fn;
};

// The vector versions this CPU runs.
std::vector<Variant> vector_variants() {
  std::vector<Variant> v;
#if defined(__x86_64__)
  const CpuFeatures cpu = detect_cpu_features();
  if (cpu.avx512f && cpu.avx512vl) v.push_back({"avx512", scaled_exp_glibc_avx512});
  if (cpu.avx2 && cpu.fma) v.push_back({"avx2", scaled_exp_glibc_avx2});
#endif
  return v;
}

// got vs the scalar definition over x (in chunks of odd lengths at odd offsets: the tails).
::testing::AssertionResult same_as_libm(ScaledExpFn fn, const std::vector<float>& x, float mx, float temp) {
  std::vector<float> want(x.size()), got(x.size(), -1.0f);
  scaled_exp_scalar(x.data(), (int64_t)x.size(), mx, temp, want.data());
  const int64_t n = (int64_t)x.size();
  for (int64_t i = 0, len = 1; i < n; i += len, len = len % 37 + 1) {
    fn(x.data() + i, std::min(len, n - i), mx, temp, got.data() + i);
  }
  for (int64_t i = 0; i < n; ++i) {
    if (std::bit_cast<uint32_t>(got[i]) != std::bit_cast<uint32_t>(want[i])) {
      return ::testing::AssertionFailure() << "x " << std::hexfloat << x[i] << " mx " << mx << " temp " << temp
                                           << ": got " << got[i] << ", std::exp " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(LibmExpf, VectorVersionsMatchStdExpBitForBit) {
  const auto variants = vector_variants();
  if (variants.empty()) GTEST_SKIP() << "no vector version on this CPU";
  // Every 64th float of [-110, 0] (17.5 million: every binade, the subnormal results below -87.3,
  // both underflow edges), every float within 4096 ulp of the edges glibc treats apart, and 4
  // million random bit patterns (positive, huge, NaN, inf too).
  std::vector<float> sweep;
  for (uint32_t b = 0x80000000u; b <= std::bit_cast<uint32_t>(-110.0f); b += 64) sweep.push_back(std::bit_cast<float>(b));
  for (float e : {-0x1.9fe368p6f, -0x1.9d1d9ep6f, -88.0f, 88.0f, 0x1.62e42ep6f}) {
    const uint32_t c = std::bit_cast<uint32_t>(e);
    for (uint32_t b = c - 4096; b <= c + 4096; ++b) sweep.push_back(std::bit_cast<float>(b));
  }
  for (float s : {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 0x1p-149f, -0x1p-149f, -FLT_MAX, FLT_MAX,
                  -0x1.f8cbb2p+5f, 0x1.04845ep+5f})  // the last two: glibc's plain and FMA builds differ
    sweep.push_back(s);
  std::mt19937 rng(7);
  std::vector<float> random(4 << 20);
  for (float& f : random) f = std::bit_cast<float>((uint32_t)rng());
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    EXPECT_TRUE(same_as_libm(v.fn, sweep, 0.0f, 1.0f));
    EXPECT_TRUE(same_as_libm(v.fn, random, 0.0f, 1.0f));
  }
}

TEST(LibmExpf, ScaledInputsMatchStdExpBitForBit) {
  const auto variants = vector_variants();
  if (variants.empty()) GTEST_SKIP() << "no vector version on this CPU";
  // Logits as a sampler sees them: a spread around the maximum, -inf and +inf ones, and
  // temperatures that put many below glibc's underflow edges.
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 6.0f);
  for (int round = 0; round < 200; ++round) {
    std::vector<float> l(1 + rng() % 3000);
    for (float& f : l) f = nd(rng) * (round % 5 == 0 ? 30.0f : 1.0f);
    l[rng() % l.size()] = -INFINITY;
    if (round % 7 == 0) l[rng() % l.size()] = INFINITY;
    float mx = -INFINITY;
    for (float f : l)
      if (std::isfinite(f)) mx = std::max(mx, f);
    const float temps[] = {0.8f, 1.0f, 0.05f, 2.5f, 0.3f, 1e-3f};
    for (const Variant& v : variants) {
      SCOPED_TRACE(v.name);
      ASSERT_TRUE(same_as_libm(v.fn, l, mx, temps[round % 6]));
    }
  }
}

// glibc's expf as its plain (non-FMA) build computes it: r = x * 32/ln2 - k rounded twice. Over
// all 2^32 floats it rounds otherwise than the FMA build on two only (-0x1.f8cbb2p+5 and
// 0x1.04845ep+5); the self-check must still tell it apart from the FMA build the vector versions
// reproduce.
void plain_glibc_scaled_exp(const float* x, int64_t n, float mx, float temp, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    const float xs = (x[i] - mx) / temp;
    if (std::isinf(x[i]) || !(xs < 88.0f) || xs < -0x1.9d1d9ep6f) {
      y[i] = std::isinf(x[i]) ? 0.0f : std::exp(xs);
      continue;
    }
    using namespace glibc_expf;
    volatile double z = kInvLn2N * (double)xs;  // rounded, not fused
    volatile double kd = z + kShift;
    const uint64_t ki = std::bit_cast<uint64_t>((double)kd);
    const double k = kd - kShift;
    const double r = z - k;
    const double s = std::bit_cast<double>(kTable[ki % 32] + (ki << 47));
    volatile double p = kC0 * r;
    volatile double q = kC2 * r;
    volatile double r2 = r * r;
    volatile double pz = (p + kC1) * r2;
    y[i] = (float)((pz + (q + 1.0)) * s);
  }
}

// A correctly rounded expf (as the CORE-MATH functions of newer C libraries are).
void rounded_scaled_exp(const float* x, int64_t n, float mx, float temp, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::isinf(x[i]) ? 0.0f : (float)std::exp((double)((x[i] - mx) / temp));
}

TEST(LibmExpf, SelfCheckRejectsAnotherExpf) {
  EXPECT_TRUE(scaled_exp_matches_libm(scaled_exp_scalar));
  for (const Variant& v : vector_variants()) {
    EXPECT_TRUE(scaled_exp_matches_libm(v.fn)) << v.name;
  }
  const CpuFeatures cpu = detect_cpu_features();
#if defined(__x86_64__) && defined(__GLIBC__)
  if (cpu.avx2 && cpu.fma) {
    // This process's expf is glibc's FMA build: the check must tell its plain build and a
    // correctly rounded expf apart from it, and the vector version is the one picked.
    EXPECT_FALSE(scaled_exp_matches_libm(plain_glibc_scaled_exp));
    EXPECT_FALSE(scaled_exp_matches_libm(rounded_scaled_exp));
    EXPECT_NE(scaled_exp_for(cpu), scaled_exp_scalar);
  }
  CpuFeatures none = cpu;
  none.avx2 = none.fma = none.avx512f = false;
  EXPECT_EQ(scaled_exp_for(none), scaled_exp_scalar);
#else
  // Other targets (aarch64: glibc's expf there may be either build) have no vector version.
  (void)plain_glibc_scaled_exp;
  (void)rounded_scaled_exp;
  EXPECT_EQ(scaled_exp_for(cpu), scaled_exp_scalar);
#endif
}

}  // namespace
}  // namespace edgeai::kernels::cpu
